package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// The names of the members' price steps.
const (
	StepTierDiscount = "tier_discount"
	StepPoints       = "points"
)

// Attach plugs the members module into the orders service: the price
// steps tier_discount (before coupons when that step is there, else
// before shipping) and points (before shipping), so that the pipeline
// runs … → tier_discount → coupons → points → shipping whatever order
// the modules attach in, and the order hooks. Call it once at wiring,
// before serving.
func (s *Service) Attach(o *orders.Service) {
	before := "shipping"
	if slices.Contains(o.Pricing.Steps(), "coupons") {
		before = "coupons"
	}
	o.Pricing.InsertBefore(before, TierStep{s})
	o.Pricing.InsertBefore("shipping", PointsStep{s})
	o.AddLoyalty(s.Hooks())
}

// TierStep is the price step tier_discount: it refuses a guest or a member
// of a lower tier buying a style on member-only sale, takes the member's
// tier discount off every line, and waives delivery for tiers with free
// shipping.
type TierStep struct{ S *Service }

// Name implements orders.PriceStep.
func (TierStep) Name() string { return StepTierDiscount }

// Apply implements orders.PriceStep.
func (t TierStep) Apply(ctx context.Context, q *orders.Quote) error {
	s := t.S
	sales, err := s.activeSales(ctx)
	if err != nil {
		return err
	}
	level, tiers := -1, []Tier(nil)
	if q.Customer.MemberID != nil {
		if level, err = s.Level(ctx, *q.Customer.MemberID); err != nil {
			return err
		}
		if tiers, _, err = s.config(ctx); err != nil {
			return err
		}
	}
	if len(sales) > 0 {
		now := s.nowMilli()
		for i := range q.Lines {
			for _, sale := range sales {
				if sale.Style != q.Lines[i].SKU.StyleCode || now < sale.StartsAt.UnixMilli() || now >= sale.EndsAt.UnixMilli() {
					continue
				}
				field := fmt.Sprintf("lines[%d].sku", i)
				if level < 0 {
					return ErrMembersOnly.Withf("%s: style %s is on a member-only sale: sign in as a member", field, sale.Style).
						With("field", field).With("min_tier", sale.MinTier)
				}
				if level < sale.MinTier || !tiers[level].MemberSales {
					return ErrTierTooLow.Withf("%s: style %s is on a member-only sale from tier %s", field, sale.Style, tiers[sale.MinTier].Code).
						With("field", field).With("min_tier", sale.MinTier).With("tier", level)
				}
			}
		}
	}
	if level < 0 {
		return nil
	}
	tier := tiers[level]
	if pct := int64(tier.DiscountPct); pct > 0 {
		desc := fmt.Sprintf("%s member %d%% off", tier.Name, pct)
		for i := range q.Lines {
			l := &q.Lines[i]
			if off := l.Amount() * pct / 100; off > 0 {
				l.Adjust(StepTierDiscount, tier.Code, desc, -off)
			}
		}
	}
	if tier.FreeShipping {
		q.FreeShipping = tier.Name + " member"
	}
	return nil
}

// PointsStep is the price step points: points as part payment, worth
// redeem_points_per_yuan points a CNY, capped at redeem_cap_pct of the
// goods. Not enough points is 409 insufficient_points; more than the cap
// is 422 points_over_cap; both name the field points. The value is spread
// over the lines in proportion to their amounts. OrderPlaced spends the
// points in the order's transaction.
type PointsStep struct{ S *Service }

// Name implements orders.PriceStep.
func (PointsStep) Name() string { return StepPoints }

// Apply implements orders.PriceStep.
func (p PointsStep) Apply(ctx context.Context, q *orders.Quote) error {
	if q.Points <= 0 {
		return nil
	}
	s := p.S
	if q.Customer.MemberID == nil {
		return errs.E(errs.Invalid, "validation_failed", "customer.member_id: points need a member").With("field", "customer.member_id")
	}
	_, st, err := s.config(ctx)
	if err != nil {
		return err
	}
	id, err := s.resolve(ctx, *q.Customer.MemberID)
	if err != nil {
		return err
	}
	var balance int64
	if err := s.db.QueryRow(ctx, `SELECT points FROM members WHERE id = ?`, id).Scan(&balance); err != nil {
		return fmt.Errorf("members: balance of %d: %w", id, err)
	}
	if balance < q.Points {
		return ErrInsufficientPoints.Withf("points: member %d has %d points, not %d", id, balance, q.Points).With("field", "points").With("balance", balance)
	}
	var goods int64
	for i := range q.Lines {
		goods += q.Lines[i].Amount()
	}
	rate := int64(st.RedeemPointsPerYuan)
	value := q.Points * 100 / rate
	capFen := goods * int64(st.RedeemCapPct) / 100
	maxPoints := capFen * rate / 100
	if value > capFen {
		return ErrPointsOverCap.Withf("points: this order takes at most %d points (%d%% of %d fen of goods)", maxPoints, st.RedeemCapPct, goods).
			With("field", "points").With("max_points", maxPoints)
	}
	if value == 0 {
		return errs.E(errs.Invalid, "points_too_few", "points: %d points are worth less than 1 fen (%d points a CNY)", q.Points, rate).With("field", "points")
	}
	desc := strconv.FormatInt(q.Points, 10) + " points"
	spread(q, value, func(l *orders.QuoteLine, amount int64) { l.Adjust(StepPoints, "", desc, -amount) })
	return nil
}

// spread divides amount over the quote's lines in proportion to their
// amounts, with cumulative rounding so the parts add up exactly and no
// line gets more than it costs.
func spread(q *orders.Quote, amount int64, apply func(*orders.QuoteLine, int64)) {
	var total int64
	for i := range q.Lines {
		total += q.Lines[i].Amount()
	}
	if total <= 0 {
		return
	}
	var run, given int64
	for i := range q.Lines {
		l := &q.Lines[i]
		run += l.Amount()
		share := mulDiv(amount, run, total) - given
		if share > 0 {
			given += share
			apply(l, share)
		}
	}
}

// mulDiv is a×b/c rounded down for a, b ≥ 0 and c > 0 without overflow
// (the quotient must fit, as it does when b ≤ c or a×b is small).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(min(q, math.MaxInt64))
}

// ── orders.Loyalty ───────────────────────────────────────────────────────

// Hooks returns the members module's orders.Loyalty hooks.
func (s *Service) Hooks() orders.Loyalty { return hooks{s} }

type hooks struct{ s *Service }

var _ orders.Loyalty = hooks{}

func orderSource(id int64, what string) string {
	return "order:" + strconv.FormatInt(id, 10) + ":" + what
}

// OrderPlaced spends the points the quote applied, in the order's
// transaction: a balance spent meanwhile is 409 insufficient_points and
// the order rolls back.
func (h hooks) OrderPlaced(tx *db.Tx, o orders.OrderFacts, q *orders.Quote) error {
	applied := false
	for i := range q.Lines {
		for _, a := range q.Lines[i].Adjustments {
			applied = applied || (a.Step == StepPoints && a.Amount < 0)
		}
	}
	if !applied || q.Points <= 0 {
		return nil
	}
	m, err := h.s.apply(tx, nil, nil, move{member: o.MemberID, kind: KindSpendOrder, points: -q.Points, source: orderSource(o.ID, "spend"),
		order: o.ID, reason: "part payment of " + o.Number}, o.At)
	if err != nil {
		return err
	}
	var ledger any
	if m.ledger != 0 {
		ledger = m.ledger
	}
	// Exec, not Defer: OrderPaid may read the row in this transaction (an
	// order paid in full by points is settled at placing).
	_, err = tx.Exec(`INSERT INTO member_orders (order_id, member_id, points_spent, spend_ledger_id, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO NOTHING`, o.ID, o.MemberID, q.Points, ledger, o.At)
	return err
}

// OrderPaid awards the points (goods in CNY × earn rate × the tier's
// multiplier) and growth (goods in CNY × growth rate) of a paid order,
// once per order.
func (h hooks) OrderPaid(tx *db.Tx, o orders.OrderFacts) error {
	s := h.s
	tiers, st, err := s.config(tx.Context())
	if err != nil {
		return err
	}
	member, err := resolveTx(tx, o.MemberID)
	if err != nil {
		return err
	}
	var tier int
	if err := tx.QueryRow(`SELECT tier FROM members WHERE id = ?`, member).Scan(&tier); err != nil {
		return fmt.Errorf("members: tier of %d: %w", member, err)
	}
	goods := max(o.Goods, 0)
	points := mulDiv(goods, int64(st.EarnPointsPerYuan)*int64(tiers[tier].PointsMultiplier), 10_000)
	growth := mulDiv(goods, int64(st.GrowthPerYuan), 100)
	var got int64
	err = tx.QueryRow(`INSERT INTO member_orders (order_id, member_id, points_earned, growth_earned, base, paid_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO UPDATE SET points_earned = excluded.points_earned, growth_earned = excluded.growth_earned,
			base = excluded.base, paid_at = excluded.paid_at, updated_at = excluded.updated_at
		WHERE member_orders.paid_at IS NULL RETURNING order_id`, o.ID, o.MemberID, points, growth, o.Total, o.At, o.At).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // earned already
	}
	if err != nil {
		return fmt.Errorf("members: order %s paid: %w", o.Number, err)
	}
	if points == 0 && growth == 0 {
		return nil
	}
	_, err = s.apply(tx, tiers, st, move{member: member, kind: KindEarnOrder, points: points, growth: growth, source: orderSource(o.ID, "earn"),
		order: o.ID, reason: fmt.Sprintf("%s: %d fen of goods, %s ×%d%%", o.Number, goods, tiers[tier].Code, tiers[tier].PointsMultiplier)}, o.At)
	return err
}

// orderBook is a member order's loyalty record.
type orderBook struct {
	spent, spendLedger, returned int64
	earned, reversed, shortfall  int64
	growthEarned, growthReversed int64
	base, refunded               int64
	cancelled                    bool
}

func readBook(tx *db.Tx, order int64) (orderBook, bool, error) {
	var b orderBook
	var ledger, cancelled sql.NullInt64
	err := tx.QueryRow(`SELECT points_spent, spend_ledger_id, points_returned, points_earned, points_reversed, points_shortfall,
		growth_earned, growth_reversed, base, refunded, cancelled_at FROM member_orders WHERE order_id = ?`, order).Scan(
		&b.spent, &ledger, &b.returned, &b.earned, &b.reversed, &b.shortfall, &b.growthEarned, &b.growthReversed, &b.base, &b.refunded, &cancelled)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("members: order book %d: %w", order, err)
	}
	b.spendLedger, b.cancelled = ledger.Int64, cancelled.Valid
	return b, true, nil
}

// settle gives back spent points and takes back earned points and growth
// up to the targets (cumulative, so rounding never drifts), and stores
// the new state of the order's record.
func (h hooks) settle(tx *db.Tx, o orders.OrderFacts, b orderBook, returnTo, reverseTo, growthTo int64, what string) error {
	s := h.s
	tiers, st, err := s.config(tx.Context())
	if err != nil {
		return err
	}
	if give := returnTo - b.returned; give > 0 && b.spendLedger != 0 {
		if _, err := s.apply(tx, tiers, st, move{member: o.MemberID, kind: KindReturnOrder, points: give, source: orderSource(o.ID, what+":return"),
			order: o.ID, restore: b.spendLedger, reason: "points given back: " + what + " of " + o.Number}, o.At); err != nil {
			return err
		}
		b.returned = returnTo
	}
	take, takeGrowth := reverseTo-b.reversed-b.shortfall, growthTo-b.growthReversed
	if take > 0 || takeGrowth > 0 {
		m, err := s.apply(tx, tiers, st, move{member: o.MemberID, kind: KindReverseOrder, points: -max(take, 0), growth: -max(takeGrowth, 0),
			source: orderSource(o.ID, what+":reverse"), order: o.ID, clamp: true, reason: "earnings taken back: " + what + " of " + o.Number}, o.At)
		if err != nil {
			return err
		}
		b.reversed += -m.points
		b.shortfall += max(take, 0) + m.points
		b.growthReversed += -m.growth
	}
	var cancelled any
	if b.cancelled {
		cancelled = o.At
	}
	_, err = tx.Exec(`UPDATE member_orders SET points_returned = ?, points_reversed = ?, points_shortfall = ?, growth_reversed = ?, refunded = ?,
		cancelled_at = COALESCE(cancelled_at, ?), updated_at = ? WHERE order_id = ?`,
		b.returned, b.reversed, b.shortfall, b.growthReversed, b.refunded, cancelled, o.At, o.ID)
	return err
}

// OrderCancelled gives back all the points the order spent (into the lots
// they came from) and takes back everything it earned; a balance too low
// for the reversal goes to zero and the rest is recorded as a shortfall.
func (h hooks) OrderCancelled(tx *db.Tx, o orders.OrderFacts) error {
	b, ok, err := readBook(tx, o.ID)
	if err != nil || !ok || b.cancelled {
		return err
	}
	b.cancelled = true
	b.refunded = b.base
	return h.settle(tx, o, b, b.spent, b.earned, b.growthEarned, "cancel")
}

// OrderRefunded takes back earned points and growth and gives back spent
// points in proportion to the money refunded so far (amount more).
func (h hooks) OrderRefunded(tx *db.Tx, o orders.OrderFacts, amount int64) error {
	b, ok, err := readBook(tx, o.ID)
	if err != nil || !ok || b.cancelled || amount <= 0 {
		return err
	}
	base := b.base
	if base <= 0 {
		base = o.Paid
	}
	if base <= 0 {
		return nil
	}
	b.refunded = min(b.refunded+amount, base)
	what := "refund:" + strconv.FormatInt(b.refunded, 10)
	return h.settle(tx, o, b, mulDiv(b.spent, b.refunded, base), mulDiv(b.earned, b.refunded, base), mulDiv(b.growthEarned, b.refunded, base), what)
}

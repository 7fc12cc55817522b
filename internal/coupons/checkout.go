package coupons

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// StepName is the price step's name and the Step of its adjustments.
const StepName = "coupons"

// The service is the coupons price step and an orders loyalty hook.
var (
	_ orders.PriceStep = (*Service)(nil)
	_ orders.Loyalty   = (*Service)(nil)
)

// Attach plugs coupons into the orders service: the price step goes after
// the tier discount and before points (before shipping when neither is
// there yet; a module attached later keeps the order by inserting its step
// relative to "coupons"), and the order hooks are registered. Call it once
// at wiring, before serving.
func (s *Service) Attach(o *orders.Service) {
	steps := o.Pricing.Steps()
	before := "shipping"
	if slices.Contains(steps, "points") {
		before = "points"
	} else if i := slices.Index(steps, "tier_discount"); i >= 0 && i+1 < len(steps) {
		before = steps[i+1]
	}
	o.Pricing.InsertBefore(before, s)
	o.AddLoyalty(s)
}

// Name implements orders.PriceStep.
func (s *Service) Name() string { return StepName }

// usable checks that coupon c may be used by member at time at; the error
// is the reason it may not, naming field.
func usable(c Coupon, member int64, at time.Time, field string) error {
	switch {
	case c.MemberID != member:
		return ErrNotYours.Withf("%s: coupon %s belongs to another member", field, c.Code).With("field", field)
	case c.Status == Revoked:
		return ErrRevoked.Withf("%s: coupon %s was revoked", field, c.Code).With("field", field)
	case c.Status == Used:
		return ErrUsed.Withf("%s: coupon %s was used by another order", field, c.Code).With("field", field)
	case c.Status == Expired || !at.Before(c.ValidUntil):
		return ErrExpired.Withf("%s: coupon %s expired at %s", field, c.Code, c.ValidUntil.Format(time.RFC3339)).
			With("field", field).With("valid_until", c.ValidUntil)
	case at.Before(c.ValidFrom):
		return ErrNotStarted.Withf("%s: coupon %s is valid from %s", field, c.Code, c.ValidFrom.Format(time.RFC3339)).
			With("field", field).With("valid_from", c.ValidFrom)
	}
	return nil
}

// coupons reads coupons by code, keyed by code.
func (s *Service) coupons(ctx context.Context, codes []string) (map[string]Coupon, error) {
	args := make([]any, len(codes))
	for i, c := range codes {
		args[i] = c
	}
	cs, err := db.Collect(scanCoupon)(s.db.Query(ctx, `SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id
		WHERE c.code IN (?`+strings.Repeat(", ?", len(codes)-1)+`)`, args...))
	if err != nil {
		return nil, fmt.Errorf("coupons: read coupons: %w", err)
	}
	out := make(map[string]Coupon, len(cs))
	for _, c := range cs {
		out[c.Code] = c
	}
	return out, nil
}

// Apply implements orders.PriceStep: it checks the requested coupons and
// applies them to the quote (see the package comment for the rules). It
// only reads; OrderPlaced takes the coupons in the order's transaction.
func (s *Service) Apply(ctx context.Context, q *orders.Quote) error {
	if len(q.Coupons) == 0 {
		return nil
	}
	if q.Customer.MemberID == nil {
		return invalid("customer.member_id", "coupons need a member")
	}
	member := *q.Customer.MemberID
	// Codes are read out at tills: case and surrounding spaces do not count.
	codes := make([]string, len(q.Coupons))
	seen := map[string]bool{}
	for i, code := range q.Coupons {
		codes[i] = strings.ToUpper(strings.TrimSpace(code))
		if seen[codes[i]] {
			f := fmt.Sprintf("coupons[%d]", i)
			return errs.E(errs.Invalid, "duplicate", "%s: coupon %s is given twice", f, codes[i]).With("field", f)
		}
		seen[codes[i]] = true
	}
	found, err := s.coupons(ctx, codes)
	if err != nil {
		return err
	}
	now := s.now()
	cs := make([]Coupon, len(codes))
	var discount, shipping []int // indexes of non-stackable discount and free-shipping coupons
	for i, code := range codes {
		f := fmt.Sprintf("coupons[%d]", i)
		c, ok := found[code]
		if !ok {
			return ErrCouponNotFound.Withf("%s: no coupon %q", f, q.Coupons[i]).With("field", f)
		}
		if err := usable(c, member, now, f); err != nil {
			return err
		}
		switch {
		case c.Kind == FreeShipping:
			shipping = append(shipping, i)
		case !c.Stackable:
			discount = append(discount, i)
		}
		cs[i] = c
	}
	for _, idx := range [][]int{discount, shipping} {
		if len(idx) > 1 {
			f := fmt.Sprintf("coupons[%d]", idx[1])
			return ErrNotStackable.Withf("%s: coupon %s cannot be combined with coupon %s (one %s coupon per order)", f,
				cs[idx[1]].Code, cs[idx[0]].Code, map[bool]string{true: "free-shipping", false: "non-stackable discount"}[cs[idx[0]].Kind == FreeShipping]).
				With("field", f)
		}
	}
	// Thresholds are judged on the goods as the step found them.
	base := make([]int64, len(q.Lines))
	for j := range q.Lines {
		base[j] = q.Lines[j].Amount()
	}
	for i, c := range cs {
		f := fmt.Sprintf("coupons[%d]", i)
		var goods int64
		var inScope bool
		for j := range q.Lines {
			if c.covers(q.Lines[j].SKU.Category, q.Lines[j].SKU.StyleCode) {
				goods += base[j]
				inScope = true
			}
		}
		if !inScope {
			return ErrNotApplicable.Withf("%s: coupon %s applies to %s only; no line of the order does", f, c.Code, c.scopeText()).With("field", f)
		}
		if goods < c.MinSpend {
			return ErrThreshold.Withf("%s: coupon %s needs %d fen of eligible goods; the order has %d fen", f, c.Code, c.MinSpend, goods).
				With("field", f).With("threshold", c.MinSpend).With("goods_amount", goods)
		}
		if c.Kind == FreeShipping {
			if q.Mode != fulfilment.Standard && q.Mode != fulfilment.Instant {
				return ErrNotApplicable.Withf("%s: coupon %s waives delivery fees; a %s order has none", f, c.Code, q.Mode).With("field", f)
			}
			q.FreeShipping = "coupon " + c.Code
			q.Adjust(StepName, c.Code, c.Name+": "+c.describe(), 0)
			continue
		}
		applyDiscount(q, c)
	}
	return nil
}

// applyDiscount takes discount coupon c off the quote's eligible lines
// (as they cost now), spread in proportion.
func applyDiscount(q *orders.Quote, c Coupon) {
	var lines []int
	var amounts []int64
	var eligible int64
	for j := range q.Lines {
		l := &q.Lines[j]
		if c.covers(l.SKU.Category, l.SKU.StyleCode) {
			lines, amounts = append(lines, j), append(amounts, l.Amount())
			eligible += l.Amount()
		}
	}
	off := c.off(eligible)
	desc := c.Name + ": " + c.describe()
	for k, share := range spread(off, amounts) {
		if share > 0 {
			q.Lines[lines[k]].Adjust(StepName, c.Code, desc, -share)
		}
	}
}

// scopeText names a scope in messages.
func (t Terms) scopeText() string {
	switch t.Scope {
	case ScopeCategories:
		return "categories " + strings.Join(t.Categories, ", ")
	case ScopeStyles:
		return "styles " + strings.Join(t.Styles, ", ")
	}
	return "all goods"
}

// Applied lists the codes of the coupons a priced quote applied (its
// adjustments of step "coupons"), sorted.
func Applied(q *orders.Quote) []string {
	var codes []string
	for i := range q.Lines {
		for _, a := range q.Lines[i].Adjustments {
			if a.Step == StepName && a.Code != "" {
				codes = append(codes, a.Code)
			}
		}
	}
	for _, a := range q.Order {
		if a.Step == StepName && a.Code != "" {
			codes = append(codes, a.Code)
		}
	}
	return sortedUnique(codes)
}

type usedEvent struct {
	MemberID int64  `json:"member_id"`
	OrderID  int64  `json:"order_id"`
	Order    string `json:"order"`
}

// OrderPlaced implements orders.Loyalty: each coupon the quote applied is
// taken for the order by one conditional UPDATE (available → used, the
// member's, valid at the order's time). A coupon another order took first
// is a 409 with the reason, and the order rolls back.
func (s *Service) OrderPlaced(tx *db.Tx, o orders.OrderFacts, q *orders.Quote) error {
	codes := Applied(q)
	if len(codes) == 0 {
		return nil
	}
	for _, code := range codes { // sorted: concurrent orders lock in the same order
		res, err := tx.Exec(`UPDATE coupons SET status = 'used', order_id = ?, used_at = ?, updated_at = ?
			WHERE code = ? AND member_id = ? AND status = 'available' AND valid_from <= ? AND valid_until > ?`,
			o.ID, o.At, o.At, code, o.MemberID, o.At, o.At)
		if err != nil {
			return fmt.Errorf("coupons: use %s: %w", code, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			continue
		}
		f := fmt.Sprintf("coupons[%d]", max(0, slices.IndexFunc(q.Coupons, func(c string) bool { return strings.EqualFold(strings.TrimSpace(c), code) })))
		c, err := scanCoupon(tx.QueryRow(`SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id WHERE c.code = ?`, code))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrCouponNotFound.Withf("%s: no coupon %q", f, code).With("field", f)
		}
		if err != nil {
			return fmt.Errorf("coupons: use %s: %w", code, err)
		}
		if err := usable(c, o.MemberID, ms(o.At), f); err != nil {
			return err
		}
		return ErrUsed.Withf("%s: coupon %s was taken by another order", f, code).With("field", f) // not reached: the update would have matched
	}
	evs := make([]outbox.Event, len(codes))
	for i, code := range codes {
		evs[i] = outbox.Event{Topic: "coupons.used", Subject: code, Payload: usedEvent{MemberID: o.MemberID, OrderID: o.ID, Order: o.Number}}
	}
	return s.ob.AppendAll(tx, evs)
}

// OrderCancelled implements orders.Loyalty: the order's coupons are
// released — available again while still valid, else expired — with one
// statement.
func (s *Service) OrderCancelled(tx *db.Tx, o orders.OrderFacts) error {
	rows, err := tx.Query(`UPDATE coupons SET status = CASE WHEN valid_until > ? THEN 'available' ELSE 'expired' END,
			order_id = NULL, used_at = NULL, updated_at = ?
		WHERE order_id = ? AND status = 'used' RETURNING code, status`, o.At, o.At, o.ID)
	type released struct{ code, status string }
	rel, err := db.Collect(func(sc db.Scanner) (released, error) {
		var r released
		return r, sc.Scan(&r.code, &r.status)
	})(rows, err)
	if err != nil {
		return fmt.Errorf("coupons: release coupons of order %d: %w", o.ID, err)
	}
	evs := make([]outbox.Event, len(rel))
	for i, r := range rel {
		evs[i] = outbox.Event{Topic: "coupons.released", Subject: r.code,
			Payload: map[string]any{"member_id": o.MemberID, "order_id": o.ID, "order": o.Number, "status": r.status}}
	}
	return s.ob.AppendAll(tx, evs)
}

// OrderPaid implements orders.Loyalty; coupons earn nothing.
func (s *Service) OrderPaid(*db.Tx, orders.OrderFacts) error { return nil }

// OrderRefunded implements orders.Loyalty; a partial refund keeps the
// coupon used.
func (s *Service) OrderRefunded(*db.Tx, orders.OrderFacts, int64) error { return nil }

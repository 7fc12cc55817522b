package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Ledger kinds.
const (
	KindEarnOrder    = "earn_order"    // points and growth for a paid order
	KindReverseOrder = "reverse_order" // taken back on a refund, return or cancellation
	KindSpendOrder   = "spend_order"   // points as part payment
	KindReturnOrder  = "return_order"  // spent points given back on a refund or cancellation
	KindCheckIn      = "checkin"
	KindShare        = "share"
	KindBirthday     = "birthday"
	KindAdjust       = "adjust" // manual, by staff
	KindAward        = "award"  // by another module (AwardPointsTx)
	KindSpend        = "spend"  // by another module (SpendPointsTx: the points mall)
	KindExpire       = "expire"
	KindMergeIn      = "merge_in"
	KindMergeOut     = "merge_out"
	KindOpening      = "opening" // bulk loads
)

// move is one change of a member's points and growth: a credit (both ≥ 0)
// or a debit (both ≤ 0).
type move struct {
	member int64 // as given; a merged member's survivor is used
	kind   string
	points int64
	growth int64
	source string // unique per member: the move happens once
	order  int64  // 0: none
	reason string
	// credits: the lot's expiry (0: the settings' default); restore, when
	// set, gives the points back to the lots that debit row took them from
	// instead of opening a lot.
	expires int64
	restore int64
	// debits: take what there is (down to 0) instead of refusing.
	clamp bool
	// check-ins: the day claimed in the same UPDATE; points is the base
	// and the streak bonus is added (the streak is filled in).
	checkin *checkinDay
}

// checkinDay is a check-in's day and, once claimed, its streak.
type checkinDay struct {
	today, yesterday string
	streak           int
}

// moved is what a move did.
type moved struct {
	ledger      int64
	member      int64 // the member charged (the survivor of a merged one)
	points      int64 // as applied (a clamped debit may take less)
	growth      int64
	balance     int64
	growthAfter int64
	tierBefore  int
	tier        int
	dup         bool // the source had already been applied: nothing changed
}

func (m moved) entry(mv move, at int64, operator string) LedgerEntry {
	e := LedgerEntry{ID: m.ledger, Member: m.member, Kind: mv.kind, Points: m.points, Balance: m.balance, Growth: m.growth,
		GrowthAfter: m.growthAfter, Source: mv.source, Operator: operator, Reason: mv.reason, CreatedAt: msTime(at)}
	if mv.order != 0 {
		o := mv.order
		e.Order = &o
	}
	return e
}

// apply makes a move in tx: ONE conditional UPDATE of the member's
// balance (a debit never drives it below zero), the ledger row (whose
// unique source makes the move idempotent), and the lots: a credit opens
// one (or refills the lots of a debit it gives back), a debit consumes the
// earliest-expiring lots first. Reaching a tier's threshold upgrades the
// member in the same statement.
func (s *Service) apply(tx *db.Tx, tiers []Tier, st *Settings, mv move, at int64) (moved, error) {
	if len(mv.source) == 0 || len(mv.source) > 200 {
		return moved{}, fmt.Errorf("members: move %s: source must be 1..200 bytes", mv.kind)
	}
	var m moved
	var err error
	switch {
	case mv.points >= 0 && mv.growth >= 0:
		m, err = s.credit(tx, tiers, st, mv, at)
	case mv.points <= 0 && mv.growth <= 0:
		m, err = s.debit(tx, mv, at)
	default:
		return moved{}, fmt.Errorf("members: move %s: points and growth must change in the same direction", mv.kind)
	}
	if err != nil || m.dup || m.ledger == 0 {
		return m, err
	}
	if m.tier != m.tierBefore {
		if err := s.tierChanged(tx, m.member, m.tierBefore, m.tier, "growth", m.growthAfter, at); err != nil {
			return m, err
		}
	}
	return m, s.ob.Append(tx, "member.points_changed", strconv.FormatInt(m.member, 10), pointsChanged{
		Member: m.member, Kind: mv.kind, Points: m.points, Balance: m.balance, Growth: m.growth, Source: mv.source})
}

// pointsChanged is the payload of member.points_changed.
type pointsChanged struct {
	Member  int64  `json:"member"`
	Kind    string `json:"kind"`
	Points  int64  `json:"points"`
	Balance int64  `json:"balance"`
	Growth  int64  `json:"growth,omitempty"`
	Source  string `json:"source"`
}

// The tier of a credit: the highest level whose threshold the member's
// qualifying growth (growth − growth_base) reaches, never lower than now.
const creditGrowthSQL = `UPDATE members SET points = points + ?, growth = growth + ?, tier_before = tier,
	tier = CASE WHEN tier < 4 AND growth + ? - growth_base >= ? THEN 4
		WHEN tier < 3 AND growth + ? - growth_base >= ? THEN 3
		WHEN tier < 2 AND growth + ? - growth_base >= ? THEN 2
		WHEN tier < 1 AND growth + ? - growth_base >= ? THEN 1 ELSE tier END,
	updated_at = ?
	WHERE id = ? AND status = 'active'`

const creditSQL = `UPDATE members SET points = points + ?, tier_before = tier, updated_at = ?
	WHERE id = ? AND status = 'active'`

const insertLedgerSQL = `INSERT INTO points_ledger (member_id, kind, points, balance_after, growth, growth_after, source, order_id, operator, reason, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id, source) DO NOTHING`

// balanceCols are what a balance change reads back.
const balanceCols = `points, growth, tier_before, tier`

// changeMember runs a conditional UPDATE of member id (without RETURNING)
// and reads back the balances into m, or returns sql.ErrNoRows when no row
// matched. On PostgreSQL it is one statement with RETURNING; on SQLite,
// whose RETURNING buffers its rows and costs more than a second statement
// in process, it is the UPDATE and a read of the row by id.
func changeMember(tx *db.Tx, update string, id int64, m *moved, args ...any) error {
	return changeMemberStreak(tx, update, id, m, nil, args...)
}

// changeMemberStreak is changeMember reading the check-in streak too
// when streak is not nil.
func changeMemberStreak(tx *db.Tx, update string, id int64, m *moved, streak *int, args ...any) error {
	cols := balanceCols
	dest := []any{&m.balance, &m.growthAfter, &m.tierBefore, &m.tier}
	if streak != nil {
		cols += ", checkin_streak"
		dest = append(dest, streak)
	}
	if tx.Engine() == db.Postgres {
		return tx.QueryRow(update+` RETURNING `+cols, args...).Scan(dest...)
	}
	res, err := tx.Exec(update, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = sql.ErrNoRows
		}
		return err
	}
	return tx.QueryRow(`SELECT `+cols+` FROM members WHERE id = ?`, id).Scan(dest...)
}

// checkinSQL[n] is the check-in UPDATE for n streak bonuses: it claims
// the day (… WHERE checkin_day <> today), continues or restarts the
// streak, and adds the base points plus the bonus of the new streak,
// growth and the tier, in one statement.
var checkinSQL = func() (qs [11]string) {
	const streak = `(CASE WHEN checkin_day = ? THEN checkin_streak + 1 ELSE 1 END)`
	for n := range qs {
		var b strings.Builder
		b.WriteString(`UPDATE members SET points = points + ? + (CASE`)
		for range n {
			b.WriteString(` WHEN ` + streak + ` >= ? THEN ?`)
		}
		b.WriteString(` ELSE 0 END), growth = growth + ?, tier_before = tier,
	tier = CASE WHEN tier < 4 AND growth + ? - growth_base >= ? THEN 4
		WHEN tier < 3 AND growth + ? - growth_base >= ? THEN 3
		WHEN tier < 2 AND growth + ? - growth_base >= ? THEN 2
		WHEN tier < 1 AND growth + ? - growth_base >= ? THEN 1 ELSE tier END,
	checkin_streak = ` + streak + `, checkin_day = ?, updated_at = ?
	WHERE id = ? AND status = 'active' AND checkin_day <> ?`)
		qs[n] = b.String()
	}
	return qs
}()

// checkinArgs are the arguments of checkinSQL for the move.
func checkinArgs(tiers []Tier, st *Settings, mv move, member, at int64) (string, []any) {
	bs := st.StreakBonuses // sorted by days, at most 10
	c := mv.checkin
	args := make([]any, 0, 20+3*len(bs))
	args = append(args, mv.points)
	for i := len(bs) - 1; i >= 0; i-- { // the largest threshold first
		args = append(args, c.yesterday, bs[i].Days, bs[i].Points)
	}
	g := mv.growth
	args = append(args, g, g, tiers[4].GrowthThreshold, g, tiers[3].GrowthThreshold, g, tiers[2].GrowthThreshold, g, tiers[1].GrowthThreshold,
		c.yesterday, c.today, at, member, c.today)
	return checkinSQL[len(bs)], args
}

// insertOnce runs an INSERT … ON CONFLICT DO NOTHING (without RETURNING)
// and returns the new row's id, or sql.ErrNoRows when the row existed (as
// changeMember: RETURNING on PostgreSQL, the insert id on SQLite).
func insertOnce(tx *db.Tx, insert string, args ...any) (int64, error) {
	var id int64
	if tx.Engine() == db.Postgres {
		err := tx.QueryRow(insert+` RETURNING id`, args...).Scan(&id)
		return id, err
	}
	res, err := tx.Exec(insert, args...)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = sql.ErrNoRows
		}
		return 0, err
	}
	return res.LastInsertId()
}

func (s *Service) credit(tx *db.Tx, tiers []Tier, st *Settings, mv move, at int64) (moved, error) {
	m := moved{member: mv.member, points: mv.points, growth: mv.growth}
	for {
		var err error
		if mv.checkin != nil {
			q, args := checkinArgs(tiers, st, mv, m.member, at)
			err = changeMemberStreak(tx, q, m.member, &m, &mv.checkin.streak, args...)
			if err == nil {
				m.points = mv.points + st.streakBonus(mv.checkin.streak)
			} else if errors.Is(err, sql.ErrNoRows) {
				id, rerr := resolveTx(tx, m.member)
				if rerr != nil {
					return m, rerr
				}
				if id == m.member {
					return m, ErrCheckedIn.Withf("member %d has already checked in on %s", id, mv.checkin.today).With("day", mv.checkin.today)
				}
				m.member = id
				continue
			}
		} else if mv.growth > 0 {
			g := mv.growth
			err = changeMember(tx, creditGrowthSQL, m.member, &m, mv.points, g, g, tiers[4].GrowthThreshold, g, tiers[3].GrowthThreshold,
				g, tiers[2].GrowthThreshold, g, tiers[1].GrowthThreshold, at, m.member)
		} else {
			err = changeMember(tx, creditSQL, m.member, &m, mv.points, at, m.member)
		}
		if errors.Is(err, sql.ErrNoRows) {
			id, rerr := resolveTx(tx, m.member)
			if rerr != nil {
				return m, rerr
			}
			if id == m.member {
				return m, ErrNotFound.Withf("no active member %d", id)
			}
			m.member = id
			continue
		}
		if err != nil {
			return m, fmt.Errorf("members: credit %d: %w", m.member, err)
		}
		break
	}
	if err := s.ledger(tx, &m, mv, at); err != nil || m.dup {
		return m, err
	}
	if m.points == 0 {
		return m, nil
	}
	if mv.restore != 0 {
		return m, s.giveBack(tx, m, mv, st, at)
	}
	exp := mv.expires
	if exp == 0 {
		exp = st.expiry(msTime(at))
	}
	if err := openLot(tx, m.member, m.ledger, m.points, exp, at); err != nil {
		return m, err
	}
	return m, nil
}

// openLot adds points to the member's lot of that expiry, opening it if
// need be.
func openLot(tx *db.Tx, member, ledger, points, expires, at int64) error {
	if err := tx.Defer(`INSERT INTO points_lots (member_id, ledger_id, earned, remaining, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (member_id, expires_at) DO UPDATE SET earned = points_lots.earned + excluded.earned, remaining = points_lots.remaining + excluded.remaining`,
		member, ledger, points, points, expires, at); err != nil {
		return fmt.Errorf("members: lot: %w", err)
	}
	return nil
}

// ledger appends the move's row; a source already used marks m as a
// duplicate and undoes the balance change.
func (s *Service) ledger(tx *db.Tx, m *moved, mv move, at int64) error {
	var order any
	if mv.order != 0 {
		order = mv.order
	}
	var err error
	m.ledger, err = insertOnce(tx, insertLedgerSQL, m.member, mv.kind, m.points, m.balance, m.growth, m.growthAfter, mv.source, order,
		auth.Actor(tx.Context()), mv.reason, at)
	if errors.Is(err, sql.ErrNoRows) {
		m.dup = true
		_, err = tx.Exec(`UPDATE members SET points = points - ?, growth = growth - ?, tier = tier_before WHERE id = ?`, m.points, m.growth, m.member)
		if err != nil {
			return fmt.Errorf("members: undo duplicate %s: %w", mv.source, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("members: ledger %s: %w", mv.source, err)
	}
	return nil
}

const debitSQL = `UPDATE members SET points = points - ?, growth = growth - ?, tier_before = tier, updated_at = ?
	WHERE id = ? AND status = 'active' AND points >= ? AND growth >= ?`

func (s *Service) debit(tx *db.Tx, mv move, at int64) (moved, error) {
	m := moved{member: mv.member}
	n, g := -mv.points, -mv.growth
	for {
		if mv.clamp {
			lock := `SELECT points, growth FROM members WHERE id = ? AND status = 'active'`
			if tx.Engine() == db.Postgres {
				lock += ` FOR UPDATE`
			}
			var have, hg int64
			err := tx.QueryRow(lock, m.member).Scan(&have, &hg)
			if errors.Is(err, sql.ErrNoRows) {
				id, rerr := resolveTx(tx, m.member)
				if rerr != nil {
					return m, rerr
				}
				if id == m.member {
					return m, ErrNotFound.Withf("no active member %d", id)
				}
				m.member = id
				continue
			}
			if err != nil {
				return m, fmt.Errorf("members: debit %d: %w", m.member, err)
			}
			n, g = min(n, have), min(g, hg)
			if n == 0 && g == 0 {
				return m, nil // nothing to take: no row
			}
		}
		err := changeMember(tx, debitSQL, m.member, &m, n, g, at, m.member, n, g)
		if errors.Is(err, sql.ErrNoRows) {
			id, rerr := resolveTx(tx, m.member)
			if rerr != nil {
				return m, rerr
			}
			if id != m.member {
				m.member = id
				continue
			}
			// Not enough: unless this source was applied before, refuse.
			var have int64
			var used int
			err := tx.QueryRow(`SELECT points, (SELECT COUNT(*) FROM points_ledger WHERE member_id = ? AND source = ?) FROM members WHERE id = ?`,
				m.member, mv.source, m.member).Scan(&have, &used)
			if err != nil {
				return m, fmt.Errorf("members: debit %d: %w", m.member, err)
			}
			if used > 0 {
				m.dup = true
				return m, nil
			}
			return m, ErrInsufficientPoints.Withf("member %d has %d points, not %d", m.member, have, n).With("balance", have).With("field", "points")
		}
		if err != nil {
			return m, fmt.Errorf("members: debit %d: %w", m.member, err)
		}
		break
	}
	m.points, m.growth = -n, -g
	if err := s.ledger(tx, &m, mv, at); err != nil || m.dup || n == 0 {
		return m, err
	}
	return m, consume(tx, m.member, m.ledger, n)
}

// consume takes n points from member's lots, those that expire first
// first, and records which (points_debits). The member's row is already
// locked by the balance change, and its lots hold at least n points.
func consume(tx *db.Tx, member, ledger, n int64) error {
	if tx.Engine() == db.Postgres {
		// Two deferred statements (no round trip; they also see the lot
		// changes deferred before them in the transaction): the running
		// sums pick the lots, then the lots are lowered by what was taken.
		if err := tx.Defer(`INSERT INTO points_debits (ledger_id, lot_id, points)
			SELECT ?, id, CASE WHEN run <= ? THEN remaining ELSE ? - (run - remaining) END
			FROM (SELECT id, remaining, CAST(SUM(remaining) OVER (ORDER BY expires_at) AS BIGINT) AS run
			      FROM points_lots WHERE member_id = ? AND remaining > 0) w
			WHERE run - remaining < ?`, ledger, n, n, member, n); err != nil {
			return fmt.Errorf("members: consume lots: %w", err)
		}
		if err := tx.Defer(`UPDATE points_lots SET remaining = remaining - (SELECT d.points FROM points_debits d WHERE d.ledger_id = ? AND d.lot_id = points_lots.id)
			WHERE id IN (SELECT lot_id FROM points_debits WHERE ledger_id = ?)`, ledger, ledger); err != nil {
			return fmt.Errorf("members: consume lots: %w", err)
		}
		return nil
	}
	// SQLite, in process: read the member's few lots and lower them one by
	// one (cheaper than the window statements).
	type lot struct{ id, remaining int64 }
	ls, err := db.Collect(func(sc db.Scanner) (lot, error) {
		var l lot
		return l, sc.Scan(&l.id, &l.remaining)
	})(tx.Query(`SELECT id, remaining FROM points_lots WHERE member_id = ? AND remaining > 0 ORDER BY expires_at`, member))
	if err != nil {
		return fmt.Errorf("members: consume lots: %w", err)
	}
	ins := make([]byte, 0, 96)
	ins = append(ins, "INSERT INTO points_debits (ledger_id, lot_id, points) VALUES "...)
	var args []any
	for _, l := range ls {
		if n == 0 {
			break
		}
		take := min(n, l.remaining)
		n -= take
		if _, err := tx.Exec(`UPDATE points_lots SET remaining = remaining - ? WHERE id = ?`, take, l.id); err != nil {
			return fmt.Errorf("members: consume lot %d: %w", l.id, err)
		}
		if len(args) > 0 {
			ins = append(ins, ", "...)
		}
		ins = append(ins, "(?, ?, ?)"...)
		args = append(args, ledger, l.id, take)
	}
	if n > 0 {
		return fmt.Errorf("members: consume lots of %d: %d points more than its lots hold", member, n)
	}
	if _, err := tx.Exec(string(ins), args...); err != nil {
		return fmt.Errorf("members: record debits: %w", err)
	}
	return nil
}

// giveBack refills the lots that debit row mv.restore took points from,
// those expiring last first, with the move's points. Points whose lot has
// expired since go to the lot of the default expiry instead (the member
// could not use them).
func (s *Service) giveBack(tx *db.Tx, m moved, mv move, st *Settings, at int64) error {
	type debit struct{ lot, left, expires int64 }
	ds, err := db.Collect(func(sc db.Scanner) (debit, error) {
		var d debit
		return d, sc.Scan(&d.lot, &d.left, &d.expires)
	})(tx.Query(`SELECT d.lot_id, d.points - d.returned, l.expires_at FROM points_debits d JOIN points_lots l ON l.id = d.lot_id
		WHERE d.ledger_id = ? AND d.points > d.returned ORDER BY l.expires_at DESC, l.id DESC`, mv.restore))
	if err != nil {
		return fmt.Errorf("members: read debits: %w", err)
	}
	left, fresh := m.points, int64(0)
	for _, d := range ds {
		if left == 0 {
			break
		}
		n := min(left, d.left)
		left -= n
		if d.expires <= at {
			// The points stay taken from the expired lot and are issued
			// anew (each lot's books keep adding up).
			fresh += n
			continue
		}
		if err := tx.Defer(`UPDATE points_debits SET returned = returned + ? WHERE ledger_id = ? AND lot_id = ?`, n, mv.restore, d.lot); err != nil {
			return err
		}
		if err := tx.Defer(`UPDATE points_lots SET remaining = remaining + ? WHERE id = ?`, n, d.lot); err != nil {
			return err
		}
	}
	// Expired since, or more than the debit took (never by the hooks).
	if fresh += left; fresh > 0 {
		return openLot(tx, m.member, m.ledger, fresh, st.expiry(msTime(at)), at)
	}
	return nil
}

// tierChanged records a tier change of member and announces it.
func (s *Service) tierChanged(tx *db.Tx, member int64, from, to int, reason string, growth, at int64) error {
	if err := tx.Defer(`INSERT INTO member_tier_changes (member_id, from_tier, to_tier, reason, growth, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		member, from, to, reason, growth, at); err != nil {
		return fmt.Errorf("members: tier history: %w", err)
	}
	if err := tx.Defer(`UPDATE members SET tier_since = ? WHERE id = ?`, at, member); err != nil {
		return fmt.Errorf("members: tier since: %w", err)
	}
	return s.ob.Append(tx, "member.tier_changed", strconv.FormatInt(member, 10), map[string]any{
		"member": member, "from": from, "to": to, "reason": reason})
}

// ── the contract with coupons and campaigns ────────────────────────────

// AwardPointsTx credits points to a member in tx as one lot with the
// default expiry. It is idempotent by source: a source already credited to
// the member changes nothing and returns nil. A merged member's survivor
// is credited. An unknown member is ErrNotFound.
func (s *Service) AwardPointsTx(tx *db.Tx, memberID, points int64, source, reason string) error {
	if points <= 0 {
		return errs.E(errs.Invalid, "validation_failed", "points: must be positive, not %d", points).With("field", "points")
	}
	tiers, st, err := s.config(tx.Context())
	if err != nil {
		return err
	}
	_, err = s.apply(tx, tiers, st, move{member: memberID, kind: KindAward, points: points, source: source, reason: reason}, s.nowMilli())
	return err
}

// SpendPointsTx takes points from a member in tx, from the lots that
// expire first, with ONE conditional UPDATE of the balance: not enough
// points is ErrInsufficientPoints (409) and changes nothing. It is
// idempotent by source: a source already spent returns nil.
func (s *Service) SpendPointsTx(tx *db.Tx, memberID, points int64, source, reason string) error {
	if points <= 0 {
		return errs.E(errs.Invalid, "validation_failed", "points: must be positive, not %d", points).With("field", "points")
	}
	_, err := s.apply(tx, nil, nil, move{member: memberID, kind: KindSpend, points: -points, source: source, reason: reason}, s.nowMilli())
	return err
}

// Award credits points in a transaction of its own (see AwardPointsTx)
// and returns the ledger entry (Kind award).
func (s *Service) Award(ctx context.Context, memberID, points int64, source, reason string) (LedgerEntry, error) {
	if points <= 0 {
		return LedgerEntry{}, errs.E(errs.Invalid, "validation_failed", "points: must be positive, not %d", points).With("field", "points")
	}
	return s.move(ctx, move{member: memberID, kind: KindAward, points: points, source: source, reason: reason})
}

// Spend takes points in a transaction of its own (see SpendPointsTx) and
// returns the ledger entry (Kind spend).
func (s *Service) Spend(ctx context.Context, memberID, points int64, source, reason string) (LedgerEntry, error) {
	if points <= 0 {
		return LedgerEntry{}, errs.E(errs.Invalid, "validation_failed", "points: must be positive, not %d", points).With("field", "points")
	}
	return s.move(ctx, move{member: memberID, kind: KindSpend, points: -points, source: source, reason: reason})
}

// Adjust changes a member's points (and growth) by hand, with a reason;
// the operator is the caller. A deduction larger than the balance is
// ErrInsufficientPoints. With a source, the adjustment happens once.
func (s *Service) Adjust(ctx context.Context, memberID int64, in Adjustment) (LedgerEntry, error) {
	var v errs.Validator
	v.Check(in.Points != 0 || in.Growth != 0, "points", "required", "points or growth must change")
	v.Check(in.Points == 0 || in.Growth == 0 || (in.Points > 0) == (in.Growth > 0), "growth", "direction", "must change in the same direction as points")
	v.Range(in.Points, -10_000_000, 10_000_000, "points")
	v.Range(in.Growth, -10_000_000, 10_000_000, "growth")
	v.Required(in.Reason, "reason")
	v.Check(len(in.Reason) <= 500, "reason", "too_long", "must be at most 500 bytes")
	v.Check(len(in.Source) <= 100, "source", "too_long", "must be at most 100 bytes")
	if err := v.Err(); err != nil {
		return LedgerEntry{}, err
	}
	src := "adjust:" + in.Source
	if in.Source == "" {
		src = "adjust:" + randomRef()
	}
	return s.move(ctx, move{member: memberID, kind: KindAdjust, points: in.Points, growth: in.Growth, source: src, reason: in.Reason})
}

// move runs one move in a write of its own.
func (s *Service) move(ctx context.Context, mv move) (LedgerEntry, error) {
	tiers, st, err := s.config(ctx)
	if err != nil {
		return LedgerEntry{}, err
	}
	var e LedgerEntry
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.nowMilli()
		m, err := s.apply(tx, tiers, st, mv, at)
		if err != nil {
			return err
		}
		e = m.entry(mv, at, auth.Actor(ctx))
		if m.dup {
			e, err = s.entryBySource(tx, m.member, mv.source)
		}
		return err
	})
	return e, err
}

// entryBySource reads the ledger row of an earlier move with the source.
func (s *Service) entryBySource(tx *db.Tx, member int64, source string) (LedgerEntry, error) {
	e, err := scanEntry(tx.QueryRow(`SELECT `+ledgerCols+` FROM points_ledger WHERE member_id = ? AND source = ?`, member, source))
	if err != nil {
		return e, fmt.Errorf("members: read entry %s: %w", source, err)
	}
	return e, nil
}

const ledgerCols = `id, member_id, kind, points, balance_after, growth, growth_after, source, order_id, operator, reason, created_at`

func scanEntry(sc db.Scanner) (LedgerEntry, error) {
	var e LedgerEntry
	var order sql.NullInt64
	var at int64
	err := sc.Scan(&e.ID, &e.Member, &e.Kind, &e.Points, &e.Balance, &e.Growth, &e.GrowthAfter, &e.Source, &order, &e.Operator, &e.Reason, &at)
	if order.Valid {
		e.Order = &order.Int64
	}
	e.CreatedAt = msTime(at)
	return e, err
}

// Ledger pages through a member's ledger (and those of the members merged
// into it), newest first; cursor is the last id seen.
func (s *Service) Ledger(ctx context.Context, memberID int64, limit int, cursor string) ([]LedgerEntry, string, error) {
	ids, err := s.MemberIDs(ctx, memberID)
	if err != nil {
		return nil, "", err
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		if before, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return nil, "", errs.E(errs.Invalid, "validation_failed", "cursor: not a cursor of this list").With("field", "cursor")
		}
	}
	q, args := inList(`SELECT `+ledgerCols+` FROM points_ledger WHERE member_id IN (%s) AND id < ? ORDER BY id DESC LIMIT ?`, ids)
	es, err := db.Collect(scanEntry)(s.db.Query(ctx, q, append(args, before, limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("members: ledger of %d: %w", memberID, err)
	}
	next := ""
	if len(es) == limit {
		next = strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	return es, next, nil
}

// Lots lists a member's live lots, earliest expiry first (the order in
// which spends consume them).
func (s *Service) Lots(ctx context.Context, memberID int64) ([]Lot, error) {
	id, err := s.resolve(ctx, memberID)
	if err != nil {
		return nil, err
	}
	ls, err := db.Collect(func(sc db.Scanner) (Lot, error) {
		var l Lot
		var exp, at int64
		err := sc.Scan(&l.ID, &l.Earned, &l.Remaining, &l.Expired, &exp, &at)
		if exp != neverExpires {
			t := msTime(exp)
			l.ExpiresAt = &t
		}
		l.CreatedAt = msTime(at)
		return l, err
	})(s.db.Query(ctx, `SELECT id, earned, remaining, expired, expires_at, created_at FROM points_lots
		WHERE member_id = ? AND remaining > 0 ORDER BY expires_at`, id))
	if err != nil {
		return nil, fmt.Errorf("members: lots of %d: %w", id, err)
	}
	return ls, nil
}

// inList expands the %s of q into one placeholder per id.
func inList(q string, ids []int64) (string, []any) {
	ph := make([]byte, 0, 2*len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			ph = append(ph, ',')
		}
		ph = append(ph, '?')
		args[i] = id
	}
	return fmt.Sprintf(q, ph), args
}

// ── expiry ───────────────────────────────────────────────────────────────

// ExpirePoints zeroes the lots past their expiry (up to limit lots) and
// takes their points off the balances, one ledger row per lot (source
// expire:<lot>:<expired>), and returns how many lots expired. The expiry worker
// calls it every minute; it is safe on several instances.
func (s *Service) ExpirePoints(ctx context.Context, limit int) (int, error) {
	now := s.nowMilli()
	s.mu.Lock()
	from := s.swept - int64(time.Hour/time.Millisecond) // a margin for lots topped up at the boundary
	s.mu.Unlock()
	type due struct{ lot, member int64 }
	ds, err := db.Collect(func(sc db.Scanner) (due, error) {
		var d due
		return d, sc.Scan(&d.lot, &d.member)
	})(s.db.Query(ctx, `SELECT id, member_id FROM points_lots WHERE expires_at > ? AND expires_at <= ? AND remaining > 0 ORDER BY expires_at LIMIT ?`, from, now, limit))
	if err != nil {
		return 0, fmt.Errorf("members: due lots: %w", err)
	}
	byMember := map[int64]bool{}
	var order []int64
	for _, d := range ds {
		if !byMember[d.member] {
			byMember[d.member] = true
			order = append(order, d.member)
		}
	}
	expired := 0
	var errsSeen []error
	for _, member := range order {
		n := 0
		err := s.db.Write(ctx, func(tx *db.Tx) error {
			n = 0
			at := s.nowMilli()
			return s.expireMember(tx, member, at, &n)
		})
		if err != nil {
			errsSeen = append(errsSeen, err)
			continue
		}
		expired += n
	}
	if len(ds) < limit && len(errsSeen) == 0 {
		// Every lot due by now is swept; lots only ever get points for a
		// future expiry (give-backs to an expired lot open a new one).
		s.mu.Lock()
		s.swept = max(s.swept, now)
		s.mu.Unlock()
	}
	return expired, errors.Join(errsSeen...)
}

// expireMember expires member's due lots in tx.
func (s *Service) expireMember(tx *db.Tx, member, at int64, n *int) error {
	// Lock the member first (every change of a member's lots does), then
	// read its due lots.
	var balance int64
	err := tx.QueryRow(`UPDATE members SET updated_at = updated_at WHERE id = ? RETURNING points`, member).Scan(&balance)
	if err != nil {
		return fmt.Errorf("members: expire %d: %w", member, err)
	}
	type lot struct{ id, remaining, expired int64 }
	ls, err := db.Collect(func(sc db.Scanner) (lot, error) {
		var l lot
		return l, sc.Scan(&l.id, &l.remaining, &l.expired)
	})(tx.Query(`SELECT id, remaining, expired FROM points_lots WHERE member_id = ? AND expires_at <= ? AND remaining > 0 ORDER BY expires_at`, member, at))
	if err != nil {
		return fmt.Errorf("members: expire %d: %w", member, err)
	}
	for _, l := range ls {
		if _, err := tx.Exec(`UPDATE points_lots SET expired = expired + remaining, remaining = 0 WHERE id = ?`, l.id); err != nil {
			return fmt.Errorf("members: expire lot %d: %w", l.id, err)
		}
		balance -= l.remaining
		// Unique per lot and amount: a lot refilled by a refund expires again.
		src := "expire:" + strconv.FormatInt(l.id, 10) + ":" + strconv.FormatInt(l.expired+l.remaining, 10)
		if _, err := tx.Exec(`UPDATE members SET points = points - ?, updated_at = ? WHERE id = ?`, l.remaining, at, member); err != nil {
			return fmt.Errorf("members: expire lot %d: %w", l.id, err)
		}
		if err := tx.Defer(`INSERT INTO points_ledger (member_id, kind, points, balance_after, growth, growth_after, source, operator, reason, created_at)
			SELECT id, ?, ?, ?, 0, growth, ?, 'system', ?, ? FROM members WHERE id = ?`,
			KindExpire, -l.remaining, balance, src, "points expired", at, member); err != nil {
			return err
		}
		if err := s.ob.Append(tx, "member.points_changed", strconv.FormatInt(member, 10), pointsChanged{
			Member: member, Kind: KindExpire, Points: -l.remaining, Balance: balance, Source: src}); err != nil {
			return err
		}
		*n++
	}
	return nil
}

// ── audit of the books ───────────────────────────────────────────────────

// CheckLedger verifies every member's books: the balance equals the sum
// of its lots' remaining points and the sum of its ledger rows (points and
// growth), no balance is negative, and every lot's earned points are
// accounted for (remaining + expired + taken by debits − given back).
func (s *Service) CheckLedger(ctx context.Context) (LedgerReport, error) {
	var r LedgerReport
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN points < 0 THEN 1 ELSE 0 END), 0) FROM members`).Scan(&r.Members, &r.Negative); err != nil {
		return r, fmt.Errorf("members: check ledger: %w", err)
	}
	ids := func(q string) ([]int64, error) {
		return db.Collect(func(sc db.Scanner) (int64, error) {
			var v int64
			return v, sc.Scan(&v)
		})(s.db.Query(ctx, q))
	}
	var err error
	if r.LotMismatch, err = ids(`SELECT m.id FROM members m
		LEFT JOIN (SELECT member_id, SUM(remaining) AS s FROM points_lots GROUP BY member_id) l ON l.member_id = m.id
		WHERE m.points <> COALESCE(l.s, 0) ORDER BY m.id LIMIT 20`); err != nil {
		return r, fmt.Errorf("members: check lots: %w", err)
	}
	if r.LedgerMisfit, err = ids(`SELECT m.id FROM members m
		LEFT JOIN (SELECT member_id, SUM(points) AS p, SUM(growth) AS g FROM points_ledger GROUP BY member_id) l ON l.member_id = m.id
		WHERE m.points <> COALESCE(l.p, 0) OR m.growth <> COALESCE(l.g, 0) ORDER BY m.id LIMIT 20`); err != nil {
		return r, fmt.Errorf("members: check ledger: %w", err)
	}
	var badLots int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM points_lots l
		LEFT JOIN (SELECT lot_id, SUM(points - returned) AS taken FROM points_debits GROUP BY lot_id) d ON d.lot_id = l.id
		WHERE l.earned <> l.remaining + l.expired + COALESCE(d.taken, 0)`).Scan(&badLots); err != nil {
		return r, fmt.Errorf("members: check lots: %w", err)
	}
	r.Consistent = r.Negative == 0 && len(r.LotMismatch) == 0 && len(r.LedgerMisfit) == 0 && badLots == 0
	return r, nil
}

// sinceDays is the unix ms of now minus days.
func sinceDays(now time.Time, days int) int64 {
	return now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
}

package members

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Tiers returns the five tiers by level.
func (s *Service) Tiers(ctx context.Context) ([]Tier, error) {
	return s.readTiers(ctx)
}

// SetTiers replaces the tier table. Levels are 0..4 in order, level 0's
// threshold is 0 and thresholds rise with the level. Members move to a
// new tier as their growth next changes (upgrades) or at the next
// re-evaluation.
func (s *Service) SetTiers(ctx context.Context, in Tiers) ([]Tier, error) {
	var v errs.Validator
	if !v.Check(len(in.Tiers) == 5, "tiers", "count", "give the five tiers, levels 0 to 4") {
		return nil, v.Err()
	}
	codes := []string{}
	for i, t := range in.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		v.Check(t.Level == i, f+".level", "order", "levels must be 0, 1, 2, 3, 4 in order")
		v.Check(errs.ValidCode(t.Code), f+".code", "invalid_code", "must be a code of letters, digits, '.', '_' or '-'")
		v.Check(!slices.Contains(codes, t.Code), f+".code", "duplicate", "codes must differ")
		codes = append(codes, t.Code)
		v.Check(strings.TrimSpace(t.Name) != "" && len(t.Name) <= 32, f+".name", "required", "must be 1 to 32 bytes")
		if i == 0 {
			v.Check(t.GrowthThreshold == 0, f+".growth_threshold", "out_of_range", "level 0 starts at 0")
		} else {
			v.Check(t.GrowthThreshold > in.Tiers[i-1].GrowthThreshold, f+".growth_threshold", "order", "must be above the lower tier's")
		}
		v.Range(int64(t.DiscountPct), 0, 50, f+".discount_pct")
		v.Range(int64(t.PointsMultiplier), 100, 1000, f+".points_multiplier")
		v.Range(t.BirthdayPoints, 0, 1_000_000, f+".birthday_points")
		v.Check(t.BirthdayCoupon == "" || errs.ValidCode(t.BirthdayCoupon), f+".birthday_coupon", "invalid_code", "must be a coupon template code")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.nowMilli()
		// Codes are unique: move them aside first so that a swap works.
		if _, err := tx.Exec(`UPDATE member_tiers SET code = '~' || code`); err != nil {
			return err
		}
		for _, t := range in.Tiers {
			if _, err := tx.Exec(`UPDATE member_tiers SET code = ?, name = ?, growth_threshold = ?, discount_pct = ?, points_multiplier = ?,
				birthday_points = ?, birthday_coupon = ?, free_shipping = ?, priority_shipping = ?, member_sales = ?, updated_at = ? WHERE level = ?`,
				t.Code, strings.TrimSpace(t.Name), t.GrowthThreshold, t.DiscountPct, t.PointsMultiplier, t.BirthdayPoints, t.BirthdayCoupon,
				t.FreeShipping, t.PriorityShipping, t.MemberSales, at, t.Level); err != nil {
				return fmt.Errorf("members: set tier %d: %w", t.Level, err)
			}
		}
		return s.ob.Append(tx, "member.tiers_changed", "tiers", in.Tiers)
	})
	if err != nil {
		return nil, err
	}
	s.forget()
	return s.readTiers(ctx)
}

// Settings returns the loyalty settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	st, err := s.readSettings(ctx)
	if err != nil {
		return Settings{}, err
	}
	return *st, nil
}

// SetSettings replaces the loyalty settings (last_reevaluated_at is kept).
func (s *Service) SetSettings(ctx context.Context, in Settings) (Settings, error) {
	var v errs.Validator
	v.Range(int64(in.EarnPointsPerYuan), 0, 100, "earn_points_per_yuan")
	v.Range(int64(in.GrowthPerYuan), 0, 100, "growth_per_yuan")
	v.Range(int64(in.RedeemPointsPerYuan), 1, 100_000, "redeem_points_per_yuan")
	v.Range(int64(in.RedeemCapPct), 0, 100, "redeem_cap_pct")
	v.Range(int64(in.CheckinPoints), 0, 10_000, "checkin_points")
	v.Range(int64(in.CheckinGrowth), 0, 10_000, "checkin_growth")
	v.Range(int64(in.SharePoints), 0, 10_000, "share_points")
	v.Range(int64(in.ShareGrowth), 0, 10_000, "share_growth")
	v.Range(int64(in.ShareDailyCap), 0, 100, "share_daily_cap")
	v.OneOf(in.Expiry, "expiry", ExpiryEndOfFollowingYear, ExpiryDays, ExpiryNever)
	if in.ExpiryDays == 0 {
		in.ExpiryDays = 730
	}
	v.Range(int64(in.ExpiryDays), 1, 3650, "expiry_days")
	v.Range(int64(in.ReevaluateDays), 1, 3650, "reevaluate_days")
	v.Range(int64(in.GrowthWindowDays), 1, 3650, "growth_window_days")
	v.Check(len(in.StreakBonuses) <= 10, "streak_bonuses", "too_many", "at most 10 bonuses")
	for i, b := range in.StreakBonuses {
		v.Range(int64(b.Days), 2, 366, fmt.Sprintf("streak_bonuses[%d].days", i))
		v.Range(b.Points, 0, 10_000, fmt.Sprintf("streak_bonuses[%d].points", i))
	}
	if err := v.Err(); err != nil {
		return Settings{}, err
	}
	if in.StreakBonuses == nil {
		in.StreakBonuses = []StreakBonus{}
	}
	slices.SortFunc(in.StreakBonuses, func(a, b StreakBonus) int { return a.Days - b.Days })
	bonuses, _ := json.Marshal(in.StreakBonuses)
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE loyalty_settings SET earn_points_per_yuan = ?, growth_per_yuan = ?, redeem_points_per_yuan = ?, redeem_cap_pct = ?,
			checkin_points = ?, checkin_growth = ?, streak_bonuses = ?, share_points = ?, share_growth = ?, share_daily_cap = ?,
			expiry = ?, expiry_days = ?, reevaluate_days = ?, growth_window_days = ?, updated_at = ? WHERE id = 1`,
			in.EarnPointsPerYuan, in.GrowthPerYuan, in.RedeemPointsPerYuan, in.RedeemCapPct, in.CheckinPoints, in.CheckinGrowth, string(bonuses),
			in.SharePoints, in.ShareGrowth, in.ShareDailyCap, in.Expiry, in.ExpiryDays, in.ReevaluateDays, in.GrowthWindowDays, s.nowMilli()); err != nil {
			return fmt.Errorf("members: set settings: %w", err)
		}
		return s.ob.Append(tx, "member.settings_changed", "loyalty", in)
	})
	if err != nil {
		return Settings{}, err
	}
	s.forget()
	return s.Settings(ctx)
}

// ReevaluateIfDue runs Reevaluate when the settings' period has passed
// since the last run (the tier worker calls it hourly); ran reports
// whether it did.
func (s *Service) ReevaluateIfDue(ctx context.Context) (r ReevalResult, ran bool, err error) {
	st, err := s.readSettings(ctx)
	if err != nil {
		return r, false, err
	}
	if st.LastReevaluatedAt != nil && s.now().Before(st.LastReevaluatedAt.Add(time.Duration(st.ReevaluateDays)*24*time.Hour)) {
		return r, false, nil
	}
	r, err = s.Reevaluate(ctx)
	return r, err == nil, err
}

// Reevaluate re-evaluates every active member's tier on the growth earned
// in the settings' window (the member's and the merged members' ledgers,
// without merge transfers): members below their tier's threshold go down
// (the only way down), members above go up, and the window's start
// becomes the base of the qualifying growth until the next run. Each
// change is recorded with reason reevaluation.
func (s *Service) Reevaluate(ctx context.Context) (ReevalResult, error) {
	tiers, _, err := s.config(ctx)
	if err != nil {
		return ReevalResult{}, err
	}
	st, err := s.readSettings(ctx)
	if err != nil {
		return ReevalResult{}, err
	}
	now := s.now()
	from := sinceDays(now, st.GrowthWindowDays)
	r := ReevalResult{WindowFrom: msTime(from), At: now.UTC()}
	window := map[int64]int64{}
	rows, err := s.db.Query(ctx, `SELECT COALESCE(m.merged_into, m.id), SUM(l.growth) FROM points_ledger l JOIN members m ON m.id = l.member_id
		WHERE l.created_at >= ? AND l.growth <> 0 AND l.kind NOT IN ('merge_in', 'merge_out') GROUP BY COALESCE(m.merged_into, m.id)`, from)
	if err != nil {
		return r, fmt.Errorf("members: reevaluate: %w", err)
	}
	for rows.Next() {
		var id, g int64
		if err := rows.Scan(&id, &g); err != nil {
			rows.Close()
			return r, err
		}
		window[id] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	type change struct {
		id, growth, base int64
		from, to         int
	}
	var changes []change
	rows, err = s.db.Query(ctx, `SELECT id, tier, growth, growth_base FROM members WHERE status = 'active' ORDER BY id`)
	if err != nil {
		return r, fmt.Errorf("members: reevaluate: %w", err)
	}
	for rows.Next() {
		var c change
		var base int64
		if err := rows.Scan(&c.id, &c.from, &c.growth, &base); err != nil {
			rows.Close()
			return r, err
		}
		r.Members++
		w := min(max(window[c.id], 0), c.growth)
		c.base = c.growth - w
		c.to = tierFor(tiers, w)
		if c.to != c.from || c.base != base {
			changes = append(changes, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	at := now.UnixMilli()
	for start := 0; start < len(changes); start += 500 {
		part := changes[start:min(start+500, len(changes))]
		down, up := 0, 0
		err := s.db.InTx(ctx, func(tx *db.Tx) error {
			down, up = 0, 0
			for _, c := range part {
				// Guarded by growth: a member whose growth changed since the
				// read keeps its tier until the next run.
				res, err := tx.Exec(`UPDATE members SET tier = ?, tier_before = tier, growth_base = ?, updated_at = ? WHERE id = ? AND growth = ? AND status = 'active'`,
					c.to, c.base, at, c.id, c.growth)
				if err != nil {
					return fmt.Errorf("members: reevaluate %d: %w", c.id, err)
				}
				if n, _ := res.RowsAffected(); n == 0 || c.to == c.from {
					continue
				}
				if c.to < c.from {
					down++
				} else {
					up++
				}
				if err := s.tierChanged(tx, c.id, c.from, c.to, "reevaluation", c.growth-c.base, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return r, err
		}
		r.Downgraded += down
		r.Upgraded += up
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE loyalty_settings SET last_reevaluated_at = ? WHERE id = 1`, at)
		return err
	})
	s.forget()
	return r, err
}

// ── member-only sales ────────────────────────────────────────────────────

// CreateSale puts a style on member-only sale for members of min_tier and
// above (whose tier grants member sales) between starts_at and ends_at.
func (s *Service) CreateSale(ctx context.Context, in MemberSale) (MemberSale, error) {
	var v errs.Validator
	v.Check(errs.ValidCode(in.Style), "style", "invalid_code", "must be a style code")
	v.Range(int64(in.MinTier), 0, 4, "min_tier")
	v.Check(!in.StartsAt.IsZero(), "starts_at", "required", "is required")
	v.Check(in.EndsAt.After(in.StartsAt), "ends_at", "order", "must be after starts_at")
	if err := v.Err(); err != nil {
		return MemberSale{}, err
	}
	if s.styles != nil {
		if _, err := s.styles.GetStyle(ctx, in.Style); err != nil {
			if e, ok := errs.As(err); ok && e.Kind == errs.NotFound {
				return MemberSale{}, errs.E(errs.NotFound, "style_not_found", "style: no style %s", in.Style).With("field", "style")
			}
			return MemberSale{}, err
		}
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.nowMilli()
		in.CreatedAt = msTime(at)
		if err := tx.QueryRow(`INSERT INTO member_sales (style_code, min_tier, starts_at, ends_at, actor, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			in.Style, in.MinTier, in.StartsAt.UnixMilli(), in.EndsAt.UnixMilli(), auth.Actor(ctx), at).Scan(&in.ID); err != nil {
			return fmt.Errorf("members: create sale: %w", err)
		}
		return s.ob.Append(tx, "member.sale_created", in.Style, in)
	})
	if err != nil {
		return MemberSale{}, err
	}
	s.forget()
	in.StartsAt, in.EndsAt = in.StartsAt.UTC().Truncate(time.Millisecond), in.EndsAt.UTC().Truncate(time.Millisecond)
	return in, nil
}

// Sales lists the member-only sales not yet over, by start.
func (s *Service) Sales(ctx context.Context) ([]MemberSale, error) {
	out, err := db.Collect(func(sc db.Scanner) (MemberSale, error) {
		var m MemberSale
		var from, to, at int64
		err := sc.Scan(&m.ID, &m.Style, &m.MinTier, &from, &to, &at)
		m.StartsAt, m.EndsAt, m.CreatedAt = msTime(from), msTime(to), msTime(at)
		return m, err
	})(s.db.Query(ctx, `SELECT id, style_code, min_tier, starts_at, ends_at, created_at FROM member_sales WHERE ends_at > ? ORDER BY starts_at, id`, s.nowMilli()))
	if err != nil {
		return nil, fmt.Errorf("members: sales: %w", err)
	}
	return out, nil
}

// DeleteSale ends a member-only sale.
func (s *Service) DeleteSale(ctx context.Context, id int64) error {
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`DELETE FROM member_sales WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("no member-only sale %d", id)
		}
		return s.ob.Append(tx, "member.sale_deleted", strconv.FormatInt(id, 10), map[string]any{"id": id})
	})
	if err == nil {
		s.forget()
	}
	return err
}

// activeSales returns the member-only sales, cached for cacheTTL.
func (s *Service) activeSales(ctx context.Context) ([]MemberSale, error) {
	s.mu.Lock()
	if s.sales != nil && time.Since(s.salesAt) < cacheTTL {
		out := s.sales
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	out, err := s.Sales(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.sales, s.salesAt = out, time.Now()
	s.mu.Unlock()
	return out, nil
}

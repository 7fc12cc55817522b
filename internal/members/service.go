package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Network is what members need of the network module: store codes.
type Network interface {
	Location(ctx context.Context, code string) (network.Location, error)
	LocationByID(ctx context.Context, id int64) (network.Location, error)
}

// Styles is what member-only sales need of the catalog: that a style
// exists. Nil skips the check.
type Styles interface {
	GetStyle(ctx context.Context, code string) (catalog.Style, error)
}

// IssueCoupon issues one coupon of a template to a member in tx,
// idempotently by source (the coupons module's IssueTx, adapted at
// wiring).
type IssueCoupon func(tx *db.Tx, template string, memberID int64, source string) error

// Service runs members, tiers, points and growth.
type Service struct {
	db     *db.DB
	ob     *outbox.Outbox
	net    Network
	styles Styles
	now    func() time.Time
	issue  IssueCoupon
	merges []MergeHook

	mu       sync.Mutex
	tiers    []Tier // by level, cached
	settings *Settings
	cachedAt time.Time
	sales    []MemberSale
	salesAt  time.Time
	swept    int64 // ExpirePoints: no lot due up to this time (ms) has points left
}

// cacheTTL bounds how stale another instance's configuration change may
// be here.
const cacheTTL = 5 * time.Second

// NewService returns the members service. styles may be nil.
func NewService(d *db.DB, ob *outbox.Outbox, net Network, styles Styles, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, ob: ob, net: net, styles: styles, now: now}
}

// MergeHook moves what another module holds for member from to member
// into, inside the merge's transaction (the coupons module's MergeTx).
type MergeHook func(tx *db.Tx, from, into int64) error

// AddMergeHook registers a hook run by every merge. Call it at wiring,
// before serving.
func (s *Service) AddMergeHook(h MergeHook) { s.merges = append(s.merges, h) }

// SetCoupons gives the service the coupons module's issuing, for the
// tiers' birthday coupons. Call it at wiring, before serving.
func (s *Service) SetCoupons(issue IssueCoupon) { s.issue = issue }

func (s *Service) nowMilli() int64 { return s.now().UTC().UnixMilli() }

// day is the business day (Asia/Shanghai) of t.
func day(t time.Time) string { return t.In(network.Shanghai).Format(time.DateOnly) }

// msTime converts unix milliseconds to a UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func msPtr(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := msTime(ms.Int64)
	return &t
}

// neverExpires is the expiry of points that never expire.
const neverExpires = int64(1<<63 - 1)

// expiry is when points earned at t expire under the settings: always
// the last millisecond of a business day (Asia/Shanghai), so that the
// points a member earns on one day (or in one year) share a lot.
func (st *Settings) expiry(t time.Time) int64 {
	sh := t.In(network.Shanghai)
	switch st.Expiry {
	case ExpiryNever:
		return neverExpires
	case ExpiryDays:
		return time.Date(sh.Year(), sh.Month(), sh.Day()+st.ExpiryDays+1, 0, 0, 0, 0, network.Shanghai).UnixMilli() - 1
	}
	return time.Date(sh.Year()+2, 1, 1, 0, 0, 0, 0, network.Shanghai).UnixMilli() - 1
}

// ── configuration cache ─────────────────────────────────────────────────

// config returns the tiers and settings, cached for cacheTTL.
func (s *Service) config(ctx context.Context) ([]Tier, *Settings, error) {
	s.mu.Lock()
	if s.settings != nil && time.Since(s.cachedAt) < cacheTTL {
		t, st := s.tiers, s.settings
		s.mu.Unlock()
		return t, st, nil
	}
	s.mu.Unlock()
	tiers, err := s.readTiers(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.readSettings(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.tiers, s.settings, s.cachedAt = tiers, st, time.Now()
	s.mu.Unlock()
	return tiers, st, nil
}

// forget drops the cached configuration (after a local change).
func (s *Service) forget() {
	s.mu.Lock()
	s.settings, s.sales = nil, nil
	s.mu.Unlock()
}

func (s *Service) readTiers(ctx context.Context) ([]Tier, error) {
	ts, err := db.Collect(scanTier)(s.db.Query(ctx, `SELECT `+tierCols+` FROM member_tiers ORDER BY level`))
	if err != nil {
		return nil, fmt.Errorf("members: read tiers: %w", err)
	}
	if len(ts) != 5 {
		return nil, fmt.Errorf("members: %d tiers stored, want 5", len(ts))
	}
	return ts, nil
}

const tierCols = `level, code, name, growth_threshold, discount_pct, points_multiplier, birthday_points, birthday_coupon, free_shipping, priority_shipping, member_sales`

func scanTier(sc db.Scanner) (Tier, error) {
	var t Tier
	err := sc.Scan(&t.Level, &t.Code, &t.Name, &t.GrowthThreshold, &t.DiscountPct, &t.PointsMultiplier, &t.BirthdayPoints,
		&t.BirthdayCoupon, &t.FreeShipping, &t.PriorityShipping, &t.MemberSales)
	return t, err
}

func (s *Service) readSettings(ctx context.Context) (*Settings, error) {
	var st Settings
	var bonuses string
	var last sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT earn_points_per_yuan, growth_per_yuan, redeem_points_per_yuan, redeem_cap_pct, checkin_points, checkin_growth,
		streak_bonuses, share_points, share_growth, share_daily_cap, expiry, expiry_days, reevaluate_days, growth_window_days, last_reevaluated_at
		FROM loyalty_settings WHERE id = 1`).Scan(&st.EarnPointsPerYuan, &st.GrowthPerYuan, &st.RedeemPointsPerYuan, &st.RedeemCapPct,
		&st.CheckinPoints, &st.CheckinGrowth, &bonuses, &st.SharePoints, &st.ShareGrowth, &st.ShareDailyCap, &st.Expiry, &st.ExpiryDays,
		&st.ReevaluateDays, &st.GrowthWindowDays, &last)
	if err != nil {
		return nil, fmt.Errorf("members: read settings: %w", err)
	}
	if err := json.Unmarshal([]byte(bonuses), &st.StreakBonuses); err != nil {
		return nil, fmt.Errorf("members: streak bonuses: %w", err)
	}
	slices.SortFunc(st.StreakBonuses, func(a, b StreakBonus) int { return a.Days - b.Days })
	st.StreakBonuses = st.StreakBonuses[:min(len(st.StreakBonuses), 10)]
	st.LastReevaluatedAt = msPtr(last)
	return &st, nil
}

// tierFor is the level reached by qualifying growth q.
func tierFor(tiers []Tier, q int64) int {
	level := 0
	for _, t := range tiers {
		if q >= t.GrowthThreshold && t.Level > level {
			level = t.Level
		}
	}
	return level
}

// ── members ──────────────────────────────────────────────────────────────

// resolveTx returns the active member that id is or was merged into.
func resolveTx(tx *db.Tx, id int64) (int64, error) {
	var status string
	var into sql.NullInt64
	err := tx.QueryRow(`SELECT status, merged_into FROM members WHERE id = ?`, id).Scan(&status, &into)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound.Withf("no member %d", id)
	}
	if err != nil {
		return 0, fmt.Errorf("members: resolve %d: %w", id, err)
	}
	if into.Valid {
		return into.Int64, nil
	}
	return id, nil
}

// resolve is resolveTx on the read pool.
func (s *Service) resolve(ctx context.Context, id int64) (int64, error) {
	var into sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT merged_into FROM members WHERE id = ?`, id).Scan(&into)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound.Withf("no member %d", id)
	}
	if err != nil {
		return 0, fmt.Errorf("members: resolve %d: %w", id, err)
	}
	if into.Valid {
		return into.Int64, nil
	}
	return id, nil
}

// Resolve returns the member that id names now: id itself, or for a
// member merged since, the survivor; ok is false for no member.
func (s *Service) Resolve(ctx context.Context, id int64) (int64, bool, error) {
	v, err := s.resolve(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	return v, err == nil, err
}

// Exists reports whether id names a member (also one merged since: its
// points and tier are the survivor's).
func (s *Service) Exists(ctx context.Context, id int64) (bool, error) {
	_, err := s.resolve(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Level returns the member's tier level, 0 (regular) to 4 (diamond); a
// merged member's is its survivor's.
func (s *Service) Level(ctx context.Context, memberID int64) (int, error) {
	var tier int
	var into sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT tier, merged_into FROM members WHERE id = ?`, memberID).Scan(&tier, &into)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound.Withf("no member %d", memberID)
	}
	if err != nil {
		return 0, fmt.Errorf("members: level of %d: %w", memberID, err)
	}
	if into.Valid {
		return s.Level(ctx, into.Int64)
	}
	return tier, nil
}

// MemberIDs returns the member's own id followed by the ids of the
// members merged into it: the orders of all of them are the member's.
// A merged member's answer is its survivor's.
func (s *Service) MemberIDs(ctx context.Context, id int64) ([]int64, error) {
	id, err := s.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	ids, err := db.Collect(func(sc db.Scanner) (int64, error) {
		var v int64
		return v, sc.Scan(&v)
	})(s.db.Query(ctx, `SELECT id FROM members WHERE merged_into = ? ORDER BY id`, id))
	if err != nil {
		return nil, fmt.Errorf("members: merged ids of %d: %w", id, err)
	}
	return append([]int64{id}, ids...), nil
}

// validMobile reports whether s is a mainland China mobile number.
func validMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 2; i < 11; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package inventory

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Turnover report groupings (the by parameter).
const (
	BySKU      = "sku"
	ByStyle    = "style"
	ByCategory = "category"
	ByLocation = "location"
	ByChannel  = "channel"
)

// Lifecycle stages of a SKU, from the days since its style's launch
// measured against the lifecycle class (fashion 90, seasonal 180, classic
// 365 days).
const (
	StagePreLaunch     = "pre_launch"     // the launch date is after the period's end
	StageInSeason      = "in_season"      // 0 ≤ days since launch ≤ the class's days
	StagePastLifecycle = "past_lifecycle" // days since launch > the class's days
)

// Turnover alert codes.
const (
	AlertTurnoverAboveTarget = "turnover_above_target" // a row's turnover days exceed the target
	AlertNoSales             = "no_sales"              // a row holds stock but sold nothing in the period
	AlertWorseThanNetwork    = "worse_than_network"    // a location's or channel's turnover days exceed the network's
	AlertPastLifecycle       = "past_lifecycle"        // a SKU×location holds stock past its style's lifecycle
)

// Turnover report limits.
const (
	DefaultTurnoverTarget = 30  // days
	MaxTurnoverPeriodDays = 731 // the longest period a report covers
)

// TurnoverRequest selects a turnover report. Zero fields take defaults.
type TurnoverRequest struct {
	// By is the grouping: sku (default), style, category, location or channel.
	By string `query:"by" enum:"sku,style,category,location,channel" default:"sku"`
	// From and To bound the period [From, To); To defaults to now and From
	// to 30 days before To.
	From time.Time `query:"from" description:"period start, RFC 3339 or YYYY-MM-DD (Asia/Shanghai midnight); default 30 days before to"`
	To   time.Time `query:"to" description:"period end (exclusive), RFC 3339 or YYYY-MM-DD (Asia/Shanghai midnight); default now"`
	// TargetDays is the turnover target in days (default 30).
	TargetDays float64 `query:"target_days" description:"turnover target in days, > 0" default:"30"`
	// Limit caps the rows returned (1..500, default 50); alerts and the
	// network totals always cover every row.
	Limit int `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

// TurnoverRow is the turnover of one group. Values are at the SKU's
// current cost (fen); ratios are null when their denominator is zero.
type TurnoverRow struct {
	// Key is the group's code: a SKU, style, location or channel code, or a
	// category name; "" for the network totals.
	Key string `json:"key"`
	// UnitsSold is sale units less returned units in the period.
	UnitsSold     int64 `json:"units_sold"`
	OpeningOnHand int64 `json:"opening_on_hand"`
	ClosingOnHand int64 `json:"closing_on_hand"`
	// COGS is UnitsSold × cost, fen.
	COGS         int64 `json:"cogs"`
	OpeningValue int64 `json:"opening_value"`
	ClosingValue int64 `json:"closing_value"`
	// AvgInventoryValue is (OpeningValue + ClosingValue) / 2, fen (rounded
	// down; the ratios use the exact half).
	AvgInventoryValue int64 `json:"avg_inventory_value"`
	// TurnoverDays is average inventory ÷ (COGS ÷ period days); null when
	// COGS ≤ 0.
	TurnoverDays *float64 `json:"turnover_days"`
	// SellThrough is UnitsSold ÷ (UnitsSold + ClosingOnHand), 0..1.
	SellThrough *float64 `json:"sell_through"`
	// StockToSales is ClosingValue ÷ COGS.
	StockToSales *float64 `json:"stock_to_sales"`
	// StockAgeDays is the age of the oldest stock on hand in the group:
	// days from the earliest receipt (or transfer in) of a SKU×location
	// that still holds stock to the period's end. Null without stock.
	StockAgeDays *float64 `json:"stock_age_days"`
	// PastLifecycleOnHand is the closing on hand of SKUs past their
	// lifecycle.
	PastLifecycleOnHand int64 `json:"past_lifecycle_on_hand"`
	// Lifecycle, LaunchDate, DaysSinceLaunch and Stage describe the style,
	// for rows by sku or style only.
	Lifecycle       catalog.Lifecycle `json:"lifecycle,omitempty"`
	LaunchDate      string            `json:"launch_date,omitempty"`
	DaysSinceLaunch *int              `json:"days_since_launch,omitempty"`
	Stage           string            `json:"stage,omitempty" enum:"pre_launch,in_season,past_lifecycle"`
}

// TurnoverAlert is one finding of a turnover report.
type TurnoverAlert struct {
	Code string `json:"code" enum:"turnover_above_target,no_sales,worse_than_network,past_lifecycle"`
	// Dimension is what Key names: sku, style, category, location or
	// channel, or sku_location for past_lifecycle (Key "SKU@LOCATION").
	Dimension string   `json:"dimension"`
	Key       string   `json:"key"`
	Value     *float64 `json:"value,omitempty" description:"turnover days, or days since launch for past_lifecycle"`
	Threshold float64  `json:"threshold" description:"the target, the network's turnover days, or the lifecycle's days"`
	OnHand    int64    `json:"on_hand"`
	Message   string   `json:"message"`
}

// TurnoverReport is the inventory turnover of a period.
type TurnoverReport struct {
	By         string    `json:"by"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Days       float64   `json:"days"`
	TargetDays float64   `json:"target_days"`
	// Network is the totals over every SKU×location.
	Network TurnoverRow `json:"network"`
	// Rows are ordered worst first: stock without sales, then turnover days
	// descending, then key. Total counts them before the limit.
	Rows   []TurnoverRow   `json:"rows"`
	Total  int             `json:"total"`
	Alerts []TurnoverAlert `json:"alerts"`
}

// turnBase is one SKU×location over the period.
type turnBase struct {
	sku, loc        int64
	locCode         string
	facts           catalog.SKUFacts
	sold, open, cls int64
	firstIn         sql.NullInt64 // ms of the earliest receipt/transfer in before the period's end
	age             *float64
	sinceLaunch     *int
	stage           string
}

// Turnover reports sell-through, stock-to-sales, turnover days, stock age
// and lifecycle stage per SKU, style, category, location or channel over
// the period [from, to), with alerts. Definitions:
//
//   - Units sold = −Σ on_hand_delta of 'sale' movements − Σ on_hand_delta
//     of 'return' movements in the period (returns subtract).
//   - COGS = units sold × the SKU's current cost (catalog).
//   - Closing on hand = the on hand at To: the level's on_hand less the
//     on-hand deltas at or after To. Opening = closing − Σ on-hand deltas
//     in the period (every kind). Values are units × current cost.
//   - Average inventory = (opening value + closing value) ÷ 2.
//   - Turnover days = average inventory ÷ (COGS ÷ period days); null when
//     COGS ≤ 0.
//   - Sell-through = units sold ÷ (units sold + closing on hand).
//   - Stock-to-sales = closing value ÷ COGS.
//   - Stock age (a simple proxy): days from the earliest receipt or
//     transfer-in movement of the SKU×location to To, when it holds
//     stock at To; a group reports its oldest.
//   - Lifecycle stage: business days (Asia/Shanghai) from the style's
//     launch date to To, against the class's days.
//
// A channel's group is the SKU×locations of the channel's locations; a
// location serving several channels counts in each. Alerts: rows (of the
// chosen grouping) whose turnover days exceed the target, or that hold
// stock without sales; locations and channels (whatever the grouping)
// whose turnover days exceed the network's; SKU×locations holding stock
// past their lifecycle.
func (s *Service) Turnover(ctx context.Context, in TurnoverRequest) (TurnoverReport, error) {
	if in.By == "" {
		in.By = BySKU
	}
	if in.To.IsZero() {
		in.To = s.now()
	}
	if in.From.IsZero() {
		in.From = in.To.AddDate(0, 0, -30)
	}
	if in.TargetDays == 0 {
		in.TargetDays = DefaultTurnoverTarget
	}
	if in.Limit == 0 {
		in.Limit = 50
	}
	var v errs.Validator
	v.OneOf(in.By, "by", BySKU, ByStyle, ByCategory, ByLocation, ByChannel)
	if v.Check(in.From.Before(in.To), "from", "after_to", "must be before to") {
		v.Check(in.To.Sub(in.From) <= MaxTurnoverPeriodDays*24*time.Hour, "from", "out_of_range",
			fmt.Sprintf("the period must be at most %d days", MaxTurnoverPeriodDays))
	}
	v.Check(in.TargetDays > 0, "target_days", "out_of_range", "must be greater than 0")
	v.Range(int64(in.Limit), 1, 500, "limit")
	if err := v.Err(); err != nil {
		return TurnoverReport{}, err
	}
	from, to := in.From.UTC(), in.To.UTC()
	days := to.Sub(from).Hours() / 24

	base, err := s.turnBase(ctx, from, to)
	if err != nil {
		return TurnoverReport{}, err
	}
	chans, err := s.allChannels(ctx)
	if err != nil {
		return TurnoverReport{}, err
	}
	rep := TurnoverReport{By: in.By, From: from, To: to, Days: days, TargetDays: in.TargetDays, Alerts: []TurnoverAlert{}}
	net := turnGroup(base, func(*turnBase) []string { return []string{""} }, days, false)
	if len(net) == 1 {
		rep.Network = net[0]
	}
	rows := turnGroup(base, turnKeys(in.By, chans), days, in.By == BySKU || in.By == ByStyle)
	rep.Total = len(rows)
	for _, r := range rows {
		switch {
		case r.TurnoverDays != nil && *r.TurnoverDays > in.TargetDays:
			rep.Alerts = append(rep.Alerts, TurnoverAlert{Code: AlertTurnoverAboveTarget, Dimension: in.By, Key: r.Key,
				Value: r.TurnoverDays, Threshold: in.TargetDays, OnHand: r.ClosingOnHand,
				Message: fmt.Sprintf("%s %s turns in %.1f days, above the %.0f-day target", in.By, r.Key, *r.TurnoverDays, in.TargetDays)})
		case r.TurnoverDays == nil && r.ClosingOnHand > 0:
			rep.Alerts = append(rep.Alerts, TurnoverAlert{Code: AlertNoSales, Dimension: in.By, Key: r.Key,
				Threshold: in.TargetDays, OnHand: r.ClosingOnHand,
				Message: fmt.Sprintf("%s %s holds %d units and sold none", in.By, r.Key, r.ClosingOnHand)})
		}
	}
	if nd := rep.Network.TurnoverDays; nd != nil {
		for _, dim := range []string{ByLocation, ByChannel} {
			for _, r := range turnGroup(base, turnKeys(dim, chans), days, false) {
				if r.TurnoverDays != nil && *r.TurnoverDays > *nd {
					rep.Alerts = append(rep.Alerts, TurnoverAlert{Code: AlertWorseThanNetwork, Dimension: dim, Key: r.Key,
						Value: r.TurnoverDays, Threshold: *nd, OnHand: r.ClosingOnHand,
						Message: fmt.Sprintf("%s %s turns in %.1f days, slower than the network's %.1f", dim, r.Key, *r.TurnoverDays, *nd)})
				}
			}
		}
	}
	for i := range base {
		b := &base[i]
		if b.stage == StagePastLifecycle && b.cls > 0 {
			d := float64(*b.sinceLaunch)
			rep.Alerts = append(rep.Alerts, TurnoverAlert{Code: AlertPastLifecycle, Dimension: "sku_location", Key: b.facts.Code + "@" + b.locCode,
				Value: &d, Threshold: float64(b.facts.Lifecycle.Days()), OnHand: b.cls,
				Message: fmt.Sprintf("%s at %s: %d units, %d days after launch, past its %s lifecycle of %d days",
					b.facts.Code, b.locCode, b.cls, *b.sinceLaunch, b.facts.Lifecycle, b.facts.Lifecycle.Days())})
		}
	}
	if len(rows) > in.Limit {
		rows = rows[:in.Limit]
	}
	rep.Rows = rows
	return rep, nil
}

// turnBase reads every SKU×location with stock or movements up to to,
// with its catalog facts, location code, age and lifecycle stage.
func (s *Service) turnBase(ctx context.Context, from, to time.Time) ([]turnBase, error) {
	f, t := from.UnixMilli(), to.UnixMilli()
	rows, err := s.db.Query(ctx, `SELECT m.sku_id, m.location_id,
			CAST(COALESCE(SUM(CASE WHEN m.created_at >= ? THEN m.on_hand_delta ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN m.created_at >= ? AND m.created_at < ? THEN m.on_hand_delta ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(SUM(CASE WHEN m.created_at >= ? AND m.created_at < ? AND m.kind IN ('sale', 'return') THEN -m.on_hand_delta ELSE 0 END), 0) AS BIGINT),
			MIN(CASE WHEN m.created_at < ? AND m.kind IN ('receipt', 'transfer_in') THEN m.created_at END),
			MAX(l.on_hand)
		FROM stock_movements m JOIN stock_levels l ON l.sku_id = m.sku_id AND l.location_id = m.location_id
		GROUP BY m.sku_id, m.location_id
		ORDER BY m.sku_id, m.location_id`, t, f, t, f, t, t)
	if err != nil {
		return nil, fmt.Errorf("inventory: turnover: %w", err)
	}
	var out []turnBase
	for rows.Next() {
		var b turnBase
		var after, inPeriod, onHand int64
		if err := rows.Scan(&b.sku, &b.loc, &after, &inPeriod, &b.sold, &b.firstIn, &onHand); err != nil {
			rows.Close()
			return nil, fmt.Errorf("inventory: turnover: %w", err)
		}
		b.cls = onHand - after
		b.open = b.cls - inPeriod
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: turnover: %w", err)
	}
	ids := make([]int64, 0, len(out))
	for i, b := range out {
		if i == 0 || out[i-1].sku != b.sku {
			ids = append(ids, b.sku)
		}
	}
	facts, err := s.cat.SKUFactsByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("inventory: turnover: %w", err)
	}
	end := to.In(network.Shanghai)
	endDay := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	locs := map[int64]string{}
	for i := range out {
		b := &out[i]
		b.facts = facts[b.sku]
		code, ok := locs[b.loc]
		if !ok {
			l, err := s.net.LocationByID(ctx, b.loc)
			if err != nil {
				return nil, fmt.Errorf("inventory: turnover: %w", err)
			}
			code, locs[b.loc] = l.Code, l.Code
		}
		b.locCode = code
		if b.cls > 0 && b.firstIn.Valid {
			age := float64(t-b.firstIn.Int64) / float64(24*time.Hour/time.Millisecond)
			b.age = &age
		}
		if launch, err := time.Parse(time.DateOnly, b.facts.LaunchDate); err == nil {
			d := int(endDay.Sub(launch).Hours() / 24)
			b.sinceLaunch = &d
			b.stage = turnStage(d, b.facts.Lifecycle)
		}
	}
	return out, nil
}

// turnStage is the lifecycle stage d days after launch.
func turnStage(d int, l catalog.Lifecycle) string {
	switch {
	case d < 0:
		return StagePreLaunch
	case d > l.Days():
		return StagePastLifecycle
	}
	return StageInSeason
}

// allChannels reads every channel with its locations.
func (s *Service) allChannels(ctx context.Context) ([]network.Channel, error) {
	var all []network.Channel
	f := network.ChannelFilter{Limit: 500}
	for {
		page, next, err := s.net.ListChannels(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("inventory: turnover channels: %w", err)
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		f.Cursor = next
	}
}

// turnKeys returns the group keys of a SKU×location for a grouping.
func turnKeys(by string, chans []network.Channel) func(*turnBase) []string {
	switch by {
	case ByStyle:
		return func(b *turnBase) []string { return []string{b.facts.StyleCode} }
	case ByCategory:
		return func(b *turnBase) []string { return []string{b.facts.Category} }
	case ByLocation:
		return func(b *turnBase) []string { return []string{b.locCode} }
	case ByChannel:
		byLoc := map[int64][]string{}
		for _, c := range chans {
			for _, id := range c.LocationIDs {
				byLoc[id] = append(byLoc[id], c.Code)
			}
		}
		return func(b *turnBase) []string { return byLoc[b.loc] }
	}
	return func(b *turnBase) []string { return []string{b.facts.Code} }
}

// turnGroup sums SKU×locations into rows by key and derives the ratios;
// withStyle fills the lifecycle fields (from any member: one style per row).
func turnGroup(base []turnBase, keys func(*turnBase) []string, days float64, withStyle bool) []TurnoverRow {
	idx := map[string]int{}
	var rows []TurnoverRow
	for i := range base {
		b := &base[i]
		cost := b.facts.Cost
		for _, k := range keys(b) {
			j, ok := idx[k]
			if !ok {
				j = len(rows)
				idx[k] = j
				rows = append(rows, TurnoverRow{Key: k})
			}
			r := &rows[j]
			r.UnitsSold += b.sold
			r.OpeningOnHand += b.open
			r.ClosingOnHand += b.cls
			r.COGS += b.sold * cost
			r.OpeningValue += b.open * cost
			r.ClosingValue += b.cls * cost
			if b.age != nil && (r.StockAgeDays == nil || *b.age > *r.StockAgeDays) {
				a := *b.age
				r.StockAgeDays = &a
			}
			if b.stage == StagePastLifecycle {
				r.PastLifecycleOnHand += b.cls
			}
			if withStyle && r.Stage == "" && b.stage != "" {
				r.Lifecycle, r.LaunchDate, r.Stage = b.facts.Lifecycle, b.facts.LaunchDate, b.stage
				d := *b.sinceLaunch
				r.DaysSinceLaunch = &d
			}
		}
	}
	for i := range rows {
		r := &rows[i]
		avg := float64(r.OpeningValue+r.ClosingValue) / 2
		r.AvgInventoryValue = (r.OpeningValue + r.ClosingValue) / 2
		if r.COGS > 0 {
			td := avg * days / float64(r.COGS)
			sts := float64(r.ClosingValue) / float64(r.COGS)
			r.TurnoverDays, r.StockToSales = &td, &sts
		}
		if den := r.UnitsSold + r.ClosingOnHand; den > 0 && r.UnitsSold >= 0 {
			st := float64(r.UnitsSold) / float64(den)
			r.SellThrough = &st
		}
	}
	slices.SortFunc(rows, func(a, b TurnoverRow) int {
		an, bn := a.TurnoverDays == nil && a.ClosingOnHand > 0, b.TurnoverDays == nil && b.ClosingOnHand > 0
		switch {
		case an != bn:
			if an {
				return -1
			}
			return 1
		case a.TurnoverDays != nil && b.TurnoverDays != nil && *a.TurnoverDays != *b.TurnoverDays:
			return cmp.Compare(*b.TurnoverDays, *a.TurnoverDays)
		case (a.TurnoverDays == nil) != (b.TurnoverDays == nil):
			if a.TurnoverDays != nil {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if rows == nil {
		rows = []TurnoverRow{}
	}
	return rows
}

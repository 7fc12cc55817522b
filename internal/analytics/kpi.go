package analytics

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// KPI grains and groupings accepted by KPIOptions.
const (
	KPIGrainDay   = "day"
	KPIGrainWeek  = "week"
	KPIGrainMonth = "month"

	KPIByChannel = "channel"
	KPIByRegion  = "region"
	KPIByStore   = "store"
)

// KPIUnknownGroup names the group of lines whose channel or region is unknown (-1).
const KPIUnknownGroup = "(unknown)"

// kpiMaxCells bounds periods × groups, so that a day grain over a century of
// data or a million channels is refused instead of exhausting memory.
const kpiMaxCells = 1 << 24

// KPIOptions says how KPIs are bucketed.
type KPIOptions struct {
	// Grain is "day", "week" (ISO weeks, Monday to Sunday) or "month"; empty means "month".
	Grain string
	// By is "" (one row per period), "channel" (store or channel),
	// "region", or "store" (Dataset.Store: Omni's own orders; a dataset
	// without that column has the one group KPIUnknownGroup).
	By string
	// Location is the time zone of the business calendar; nil means UTC.
	Location *time.Location
	// From and To, when not zero, select the periods reported: those that
	// overlap [From, To). Figures are always for whole periods, and
	// comparisons and repurchase look at the whole dataset.
	From, To time.Time
}

// KPIChange holds relative changes against a base period, as ratios
// (0.25 = +25 %). A field is null when the base period is outside the data,
// had no sales, or its figure is zero.
type KPIChange struct {
	Sales     *float64 `json:"sales"`
	Orders    *float64 `json:"orders"`
	Customers *float64 `json:"customers"`
	AOV       *float64 `json:"aov"`
}

// KPIRow is the KPIs of one period (and one group when the table is grouped).
//
// A line is a sale unless its quantity or value is negative (a return). Sales
// and Units are net of returns; Orders, Customers and the customer counts
// count sales lines only. Money is in minor units of the table's currency.
type KPIRow struct {
	Period string    `json:"period"` // "2006-01-02" (day), "2006-W01" (ISO week), "2006-01" (month)
	Start  time.Time `json:"start"`  // first instant of the period in the table's time zone
	Group  string    `json:"group,omitempty"`

	Sales     int64 `json:"sales"`
	Orders    int   `json:"orders"`    // distinct orders with a sales line in the period and group
	Customers int   `json:"customers"` // distinct known customers (unknown customers are not counted)
	Units     int64 `json:"units"`
	// AOV is Sales ÷ Orders in minor units, truncated toward zero by
	// integer division (0 without orders).
	AOV           int64   `json:"aov"`
	UnitsPerOrder float64 `json:"units_per_order"` // Units ÷ Orders (0 without orders)

	// Cost, GrossMargin (Sales − Cost) and GrossMarginRate (GrossMargin ÷
	// Sales) are omitted unless every line of the row has a known unit cost
	// (Dataset.Cost > 0 when the dataset has that column, else
	// Dataset.SKUCost > 0).
	Cost            *int64   `json:"cost,omitempty"`
	GrossMargin     *int64   `json:"gross_margin,omitempty"`
	GrossMarginRate *float64 `json:"gross_margin_rate,omitempty"`

	// ReturnedAmount is the value of the row's return lines (negative
	// quantity or value), positive; ReturnRate is ReturnedAmount ÷ gross
	// sales (sales lines only). Both are omitted when the dataset has no
	// return lines and does not say it records them (Dataset.Returns) —
	// imports remove returns and cancellations, so the overall rate then
	// comes from the import summary (KPITable.ReturnRate).
	ReturnedAmount *int64   `json:"returned_amount,omitempty"`
	ReturnRate     *float64 `json:"return_rate,omitempty"`

	// NewCustomers made their first purchase in the dataset during this
	// period; ReturningCustomers had bought before the period started.
	// RepurchaseRate is ReturningCustomers ÷ Customers (null without known
	// customers). History before the dataset's first line is unknown, so
	// early periods understate it.
	NewCustomers       int      `json:"new_customers"`
	ReturningCustomers int      `json:"returning_customers"`
	RepurchaseRate     *float64 `json:"repurchase_rate"`

	// VsPrevious compares with the period before (MoM, WoW or DoD);
	// VsYearAgo with the same month a year earlier, the ISO week 52 weeks
	// earlier, or the same calendar day a year earlier (null for 29 February).
	VsPrevious KPIChange `json:"vs_previous"`
	VsYearAgo  KPIChange `json:"vs_year_ago"`
}

// KPITable is KPIs per period, or per period and group.
type KPITable struct {
	Currency      string    `json:"currency"`
	Grain         string    `json:"grain"`
	By            string    `json:"by,omitempty"`
	Location      string    `json:"location"`
	PreviousLabel string    `json:"previous_label"` // "MoM", "WoW" or "DoD": what VsPrevious means
	DataFrom      time.Time `json:"data_from"`      // first line's timestamp
	DataTo        time.Time `json:"data_to"`        // last line's timestamp
	// Rows are ordered by period, then group (in dictionary order, the
	// unknown group last). A (period, group) without any line has no row.
	Rows []KPIRow `json:"rows"`
	// ReturnRate is the whole dataset's return rate: the import's
	// (cancellations and returns over kept sales, ImportSummary.ReturnRate)
	// when a summary was given, else returned over gross sales of all lines
	// when the dataset holds return lines (or Dataset.Returns is set).
	ReturnRate *float64 `json:"return_rate,omitempty"`
}

// KPIs computes sales, orders, customers, units, AOV, units per order, gross
// margin, return rate and repurchase rate per period (and per channel or
// region), with changes against the previous period and a year earlier.
// sum is optional: with it, the table carries the import's overall return
// rate (without it, the rate of the dataset's own return lines, if any). For
// imports the channel grouping is also the store grouping (Dataset.Channel
// holds the store or channel); Omni's orders have both.
//
// The work is one pass over the lines into dense arrays indexed by period ×
// group, plus a sort of the distinct (period, group, customer) keys taken
// from orders. The error is an *errs.Error naming the parameter ("grain",
// "by", "input") for a bad option or an empty dataset.
func KPIs(d *Dataset, sum *ImportSummary, opts KPIOptions) (KPITable, error) {
	c, err := kpiBuild(d, opts.Grain, opts.By, opts.Location)
	if err != nil {
		return KPITable{}, err
	}
	t := c.table()
	if sum != nil {
		rr := sum.ReturnRate()
		t.ReturnRate = &rr
	} else {
		t.ReturnRate = c.overallReturnRate()
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !opts.From.IsZero() {
		from = opts.From.Unix()
	}
	if !opts.To.IsZero() {
		to = opts.To.Unix()
	}
	for p := range c.np() {
		if c.starts[p+1] <= from || c.starts[p] >= to {
			continue
		}
		for _, g := range c.present {
			if c.lines[p*c.ng+g] > 0 {
				t.Rows = append(t.Rows, c.row(p, g))
			}
		}
	}
	return t, nil
}

// KPILastFullMonth is the first day of the last calendar month (in loc, nil
// meaning UTC) that the data covers to its last day — the month before the
// last line's month, unless the last line falls on a month's last day. With
// less than that (one partial month), it is the last line's month. The zero
// time for an empty dataset.
func KPILastFullMonth(d *Dataset, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if d == nil || len(d.At) == 0 {
		return time.Time{}
	}
	lo, hi := d.At[0], d.At[0]
	for _, at := range d.At {
		lo, hi = min(lo, at), max(hi, at)
	}
	last := time.Unix(hi, 0).In(loc)
	m := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, loc)
	if last.AddDate(0, 0, 1).Month() != last.Month() {
		return m // the last line is on the month's last day
	}
	prev := m.AddDate(0, -1, 0)
	if first := time.Unix(lo, 0).In(loc); prev.Before(time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, loc)) {
		return m
	}
	return prev
}

// kpiCube holds the per-cell sums of one pass; cell = period × ng + group.
type kpiCube struct {
	d       *Dataset
	grain   string
	by      string
	loc     *time.Location
	starts  []int64 // period p is [starts[p], starts[p+1])
	ng      int
	names   []string // group names
	present []int    // groups with at least one line, in index order
	lo, hi  int64    // first and last line timestamps

	lines                               []int32
	sales, gross, returned, cost, units []int64
	costUnknown                         []bool
	orders, customers, returning        []int32
	hasReturns                          bool
	first                               []int64 // per customer: first sale's timestamp (MaxInt64 if none)
	yearAgo                             []int   // per period: index of the same period a year earlier, or -1
	previousLabel                       string
}

func (c *kpiCube) np() int { return len(c.starts) - 1 }

// kpiValidate checks the options and the dataset's shape.
func kpiValidate(d *Dataset, grain, by string) error {
	var v errs.Validator
	v.Check(grain == KPIGrainDay || grain == KPIGrainWeek || grain == KPIGrainMonth, "grain", "one_of",
		fmt.Sprintf("must be one of day, week, month, got %q", grain))
	v.Check(by == "" || by == KPIByChannel || by == KPIByRegion || by == KPIByStore, "by", "one_of",
		fmt.Sprintf("must be empty (no grouping), channel, region or store, got %q", by))
	if err := v.Err(); err != nil {
		return err
	}
	if d == nil || d.Len() == 0 {
		v.Add("input", "empty", "the dataset has no lines")
		return v.Err()
	}
	n := d.Len()
	if len(d.Customer) != n || len(d.SKU) != n || len(d.Qty) != n || len(d.Price) != n || len(d.At) != n ||
		len(d.Channel) != n || len(d.Region) != n || (d.Value != nil && len(d.Value) != n) {
		return fmt.Errorf("analytics: kpis: dataset columns differ in length")
	}
	return nil
}

// kpiPeriodStart is the start of the period holding t (t in the business zone).
func kpiPeriodStart(t time.Time, grain string) time.Time {
	y, m, day := t.Date()
	switch grain {
	case KPIGrainMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
	case KPIGrainWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, day-back, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, m, day, 0, 0, 0, 0, t.Location())
}

// kpiNextPeriod is the start of the period after the one starting at t.
func kpiNextPeriod(t time.Time, grain string) time.Time {
	switch grain {
	case KPIGrainMonth:
		return t.AddDate(0, 1, 0)
	case KPIGrainWeek:
		return t.AddDate(0, 0, 7)
	}
	return t.AddDate(0, 0, 1)
}

// kpiLabel names the period starting at t.
func kpiLabel(t time.Time, grain string) string {
	switch grain {
	case KPIGrainMonth:
		return t.Format("2006-01")
	case KPIGrainWeek:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	}
	return t.Format(time.DateOnly)
}

// kpiBuild makes the one pass over the lines.
func kpiBuild(d *Dataset, grain, by string, loc *time.Location) (*kpiCube, error) {
	if grain == "" {
		grain = KPIGrainMonth
	}
	if err := kpiValidate(d, grain, by); err != nil {
		return nil, err
	}
	if loc == nil {
		loc = time.UTC
	}
	n := d.Len()
	c := &kpiCube{d: d, grain: grain, by: by, loc: loc}
	c.previousLabel = map[string]string{KPIGrainDay: "DoD", KPIGrainWeek: "WoW", KPIGrainMonth: "MoM"}[grain]
	c.lo, c.hi = d.At[0], d.At[0]
	for _, at := range d.At[:n] {
		c.lo, c.hi = min(c.lo, at), max(c.hi, at)
	}
	for t := kpiPeriodStart(time.Unix(c.lo, 0).In(loc), grain); ; t = kpiNextPeriod(t, grain) {
		c.starts = append(c.starts, t.Unix())
		if t.Unix() > c.hi {
			break
		}
		if len(c.starts) > kpiMaxCells {
			break // refused below
		}
	}
	var groupOf []int32
	switch by {
	case "":
		c.names = []string{""}
	case KPIByChannel:
		c.names = append(slices.Clone(d.Channels), KPIUnknownGroup)
		groupOf = d.Channel[:n]
	case KPIByRegion:
		c.names = append(slices.Clone(d.Regions), KPIUnknownGroup)
		groupOf = d.Region[:n]
	case KPIByStore:
		if len(d.Store) == n {
			c.names = append(slices.Clone(d.Stores), KPIUnknownGroup)
			groupOf = d.Store[:n]
		} else {
			c.names = []string{KPIUnknownGroup}
		}
	}
	c.ng = len(c.names)
	np := c.np()
	if np*c.ng > kpiMaxCells || c.starts[np] <= c.hi {
		var v errs.Validator
		v.Add("grain", "too_many_periods", fmt.Sprintf("%d periods × %d groups exceed %d cells; use a coarser grain", np, c.ng, kpiMaxCells))
		return nil, v.Err()
	}
	cells := np * c.ng
	c.lines = make([]int32, cells)
	c.sales, c.gross, c.returned, c.cost, c.units = make([]int64, cells), make([]int64, cells), make([]int64, cells), make([]int64, cells), make([]int64, cells)
	c.costUnknown = make([]bool, cells)
	c.orders, c.customers, c.returning = make([]int32, cells), make([]int32, cells), make([]int32, cells)
	c.first = make([]int64, len(d.CustomerIDs))
	for i := range c.first {
		c.first[i] = math.MaxInt64
	}
	orderCell := make([]int32, len(d.OrderIDs))
	for i := range orderCell {
		orderCell[i] = -1
	}
	extra := map[uint64]struct{}{}
	var custKeys []uint64 // cell<<32 | customer, one per distinct (order, cell)

	costs := d.SKUCost
	if len(costs) != len(d.SKUIDs) {
		costs = nil
	}
	lineCost := d.Cost
	if len(lineCost) != n {
		lineCost = nil
	}
	c.hasReturns = d.Returns
	order, cust, sku, qty, at := d.Order[:n], d.Customer[:n], d.SKU[:n], d.Qty[:n], d.At[:n]
	p := 0
	for i := range n {
		a := at[i]
		if a < c.starts[p] || a >= c.starts[p+1] {
			p = sort.Search(np, func(k int) bool { return c.starts[k+1] > a })
		}
		g := 0
		if groupOf != nil {
			g = int(groupOf[i])
			if g < 0 || g >= c.ng-1 {
				g = c.ng - 1
			}
		}
		cell := p*c.ng + g
		amt := d.Amount(i)
		q := int64(qty[i])
		c.lines[cell]++
		c.sales[cell] += amt
		c.units[cell] += q
		switch {
		case lineCost != nil && lineCost[i] > 0:
			c.cost[cell] += q * lineCost[i]
		case lineCost == nil && costs != nil && costs[sku[i]] > 0:
			c.cost[cell] += q * costs[sku[i]]
		default:
			c.costUnknown[cell] = true
		}
		if amt < 0 || q < 0 {
			c.hasReturns = true
			c.returned[cell] -= amt
			continue
		}
		c.gross[cell] += amt
		if cu := cust[i]; cu >= 0 && a < c.first[cu] {
			c.first[cu] = a
		}
		o := order[i]
		switch oc := orderCell[o]; {
		case oc == int32(cell):
			continue
		case oc < 0:
			orderCell[o] = int32(cell)
		default:
			key := uint64(o)<<32 | uint64(cell)
			if _, ok := extra[key]; ok {
				continue
			}
			extra[key] = struct{}{}
		}
		c.orders[cell]++
		if cu := cust[i]; cu >= 0 {
			custKeys = append(custKeys, uint64(cell)<<32|uint64(cu))
		}
	}
	slices.Sort(custKeys)
	for k, key := range custKeys {
		if k > 0 && custKeys[k-1] == key {
			continue
		}
		cell, cu := int(key>>32), int(uint32(key))
		c.customers[cell]++
		if c.first[cu] < c.starts[cell/c.ng] {
			c.returning[cell]++
		}
	}
	for g := range c.ng {
		for p := range np {
			if c.lines[p*c.ng+g] > 0 {
				c.present = append(c.present, g)
				break
			}
		}
	}
	c.yearAgo = make([]int, np)
	for p := range np {
		c.yearAgo[p] = -1
		switch grain {
		case KPIGrainMonth:
			c.yearAgo[p] = p - 12
		case KPIGrainWeek:
			c.yearAgo[p] = p - 52
		default:
			t := time.Unix(c.starts[p], 0).In(loc)
			y := t.AddDate(-1, 0, 0)
			if y.Day() != t.Day() {
				break
			}
			if k, ok := slices.BinarySearch(c.starts[:np], y.Unix()); ok {
				c.yearAgo[p] = k
			}
		}
		c.yearAgo[p] = max(c.yearAgo[p], -1)
	}
	return c, nil
}

// table is the table header without rows.
func (c *kpiCube) table() KPITable {
	return KPITable{
		Currency: c.d.Currency, Grain: c.grain, By: c.by, Location: c.loc.String(), PreviousLabel: c.previousLabel,
		DataFrom: time.Unix(c.lo, 0).UTC(), DataTo: time.Unix(c.hi, 0).UTC(), Rows: []KPIRow{},
	}
}

// overallReturnRate is returned ÷ gross sales over every line, or nil when
// the dataset has no return lines (and does not record returns) or no sales.
func (c *kpiCube) overallReturnRate() *float64 {
	if !c.hasReturns {
		return nil
	}
	var ret, gross int64
	for cell := range c.gross {
		ret += c.returned[cell]
		gross += c.gross[cell]
	}
	if gross <= 0 {
		return nil
	}
	r := float64(ret) / float64(gross)
	return &r
}

// row is the KPIs of period p and group g (zeros when the cell is empty).
func (c *kpiCube) row(p, g int) KPIRow {
	cell := p*c.ng + g
	start := time.Unix(c.starts[p], 0).In(c.loc)
	r := KPIRow{
		Period: kpiLabel(start, c.grain), Start: start, Group: c.names[g],
		Sales: c.sales[cell], Orders: int(c.orders[cell]), Customers: int(c.customers[cell]), Units: c.units[cell],
		ReturningCustomers: int(c.returning[cell]),
	}
	r.NewCustomers = r.Customers - r.ReturningCustomers
	if r.Orders > 0 {
		r.AOV = r.Sales / int64(r.Orders)
		r.UnitsPerOrder = float64(r.Units) / float64(r.Orders)
	}
	if c.lines[cell] > 0 && !c.costUnknown[cell] {
		cost, margin := c.cost[cell], r.Sales-c.cost[cell]
		r.Cost, r.GrossMargin = &cost, &margin
		if r.Sales != 0 {
			rate := float64(margin) / float64(r.Sales)
			r.GrossMarginRate = &rate
		}
	}
	if c.hasReturns {
		ret := c.returned[cell]
		r.ReturnedAmount = &ret
		if c.gross[cell] > 0 {
			rate := float64(ret) / float64(c.gross[cell])
			r.ReturnRate = &rate
		}
	}
	if r.Customers > 0 {
		rate := float64(r.ReturningCustomers) / float64(r.Customers)
		r.RepurchaseRate = &rate
	}
	r.VsPrevious = c.change(cell, p-1, g)
	r.VsYearAgo = c.change(cell, c.yearAgo[p], g)
	return r
}

// change compares cell with period bp of group g (no base when bp < 0).
func (c *kpiCube) change(cell, bp, g int) KPIChange {
	var ch KPIChange
	if bp < 0 {
		return ch
	}
	base := bp*c.ng + g
	if c.lines[base] == 0 {
		return ch
	}
	ch.Sales = kpiRatio(float64(c.sales[cell]), float64(c.sales[base]))
	ch.Orders = kpiRatio(float64(c.orders[cell]), float64(c.orders[base]))
	ch.Customers = kpiRatio(float64(c.customers[cell]), float64(c.customers[base]))
	if c.orders[cell] > 0 && c.orders[base] > 0 {
		ch.AOV = kpiRatio(float64(c.sales[cell]/int64(c.orders[cell])), float64(c.sales[base]/int64(c.orders[base])))
	}
	return ch
}

// kpiRatio is cur ÷ base − 1, or nil when base is zero.
func kpiRatio(cur, base float64) *float64 {
	if base == 0 {
		return nil
	}
	r := cur/base - 1
	return &r
}

package analytics

import (
	"math"
	"math/bits"
	"time"
)

// Cohort is one monthly acquisition cohort: the customers whose first
// purchase fell in Month.
type Cohort struct {
	Month     string    `json:"month"` // "2006-01", the business month of the first purchase
	Start     time.Time `json:"start"` // the month's first instant in the table's time zone
	Customers int       `json:"customers"`
	// Active[k] is the number of the cohort's customers who bought in the
	// k-th month after the cohort month (Active[0] = Customers); the slice
	// ends at the last month of the data.
	Active []int `json:"active"`
	// Retention[k] = Active[k] / Customers.
	Retention []float64 `json:"retention"`
	// RepeatCustomers have at least two distinct orders (at any time).
	RepeatCustomers int     `json:"repeat_customers"`
	RepurchaseRate  float64 `json:"repurchase_rate"` // RepeatCustomers / Customers
}

// CohortTable is the retention triangle of monthly acquisition cohorts.
type CohortTable struct {
	Location string   `json:"location"` // time zone of the business months
	Cohorts  []Cohort `json:"cohorts"`  // months without a new customer are left out
	// MeanRetention[k] pools every cohort that can be observed k months
	// after its start: Σ Active[k] / Σ Customers over those cohorts.
	MeanRetention   []float64 `json:"mean_retention"`
	Customers       int       `json:"customers"`
	RepeatCustomers int       `json:"repeat_customers"` // customers with ≥ 2 distinct orders
	RepurchaseRate  float64   `json:"repurchase_rate"`  // RepeatCustomers / Customers
}

// Cohorts builds monthly acquisition cohorts over the whole dataset.
//
// Months are calendar months in loc (nil means UTC): use time.UTC for UCI
// Online Retail and Shanghai for Omni's own data. Only lines with a known
// customer, a positive quantity and a positive price count. A customer
// belongs to the cohort of the month of the first purchase and is active in
// a month with at least one purchase; "months since first purchase" counts
// calendar months, so a customer who first bought on the 31st and again on
// the 1st of the next month is active at month 1.
//
// A customer repurchases when they have two or more distinct orders; the
// per-cohort and the overall repurchase rates are shares of customers.
//
// The work is one pass over the lines into a bit set of (customer, month).
// A dataset whose columns differ in length gives an empty table.
func Cohorts(d *Dataset, loc *time.Location) CohortTable {
	if loc == nil {
		loc = time.UTC
	}
	tab := CohortTable{Location: loc.String()}
	if rfmCheck(d) != nil {
		return tab
	}
	n := d.Len()
	cust, order, qty, price, at := d.Customer[:n], d.Order[:n], d.Qty[:n], d.Price[:n], d.At[:n]

	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range n {
		if cust[i] < 0 || qty[i] <= 0 || price[i] <= 0 {
			continue
		}
		lo, hi = min(lo, at[i]), max(hi, at[i])
	}
	if lo > hi {
		return tab
	}
	months := cohMonths(lo, hi, loc)
	nm := months.len()
	nc := len(d.CustomerIDs)
	words := (nm + 63) / 64
	active := make([]uint64, nc*words) // bit m of customer c: bought in month m
	oc := newRFMOrderCounter(d)
	orders := make([]int32, nc)
	for i := range n {
		c := cust[i]
		if c < 0 || qty[i] <= 0 || price[i] <= 0 {
			continue
		}
		m := months.find(at[i])
		active[int(c)*words+m>>6] |= 1 << (m & 63)
		if oc.add(c, order[i]) {
			orders[c]++
		}
	}

	type acc struct {
		customers, repeat int
		active            []int
	}
	accs := make([]acc, nm)
	for c := range nc {
		row := active[c*words : (c+1)*words]
		first := -1
		for w, x := range row {
			for x != 0 {
				m := w*64 + bits.TrailingZeros64(x)
				x &= x - 1
				if first < 0 {
					first = m
					a := &accs[first]
					if a.active == nil {
						a.active = make([]int, nm-first)
					}
					a.customers++
					tab.Customers++
					if orders[c] >= 2 {
						a.repeat++
						tab.RepeatCustomers++
					}
				}
				accs[first].active[m-first]++
			}
		}
	}
	pooledActive := make([]int, nm)
	pooledBase := make([]int, nm)
	for m, a := range accs {
		if a.customers == 0 {
			continue
		}
		start := time.Unix(months.starts[m], 0).In(loc)
		co := Cohort{
			Month:           start.Format("2006-01"),
			Start:           start,
			Customers:       a.customers,
			Active:          a.active,
			Retention:       make([]float64, len(a.active)),
			RepeatCustomers: a.repeat,
			RepurchaseRate:  float64(a.repeat) / float64(a.customers),
		}
		for k, v := range a.active {
			co.Retention[k] = float64(v) / float64(a.customers)
			pooledActive[k] += v
			pooledBase[k] += a.customers
		}
		tab.Cohorts = append(tab.Cohorts, co)
	}
	for k := range nm {
		if pooledBase[k] == 0 {
			break
		}
		tab.MeanRetention = append(tab.MeanRetention, float64(pooledActive[k])/float64(pooledBase[k]))
	}
	if tab.Customers > 0 {
		tab.RepurchaseRate = float64(tab.RepeatCustomers) / float64(tab.Customers)
	}
	return tab
}

// cohPeriods are consecutive calendar periods: period k is
// [starts[k], starts[k+1]) in Unix seconds.
type cohPeriods struct {
	starts []int64
	byDay  []int32 // byDay[j]: the period holding starts[0] + j days
}

func (p cohPeriods) len() int { return len(p.starts) - 1 }

// find returns the period holding t, which must lie within the periods.
// A table by whole days from the first boundary answers directly whenever
// boundaries are a whole number of days apart (any zone without DST); else
// a binary search does.
func (p cohPeriods) find(t int64) int {
	s := p.starts
	if j := (t - s[0]) / 86400; j >= 0 && j < int64(len(p.byDay)) {
		k := int(p.byDay[j])
		if s[k] <= t && t < s[k+1] {
			return k
		}
	}
	lo, hi := 0, len(s)-1 // invariant: s[lo] <= t < s[hi]
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if s[mid] <= t {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// index fills the day table.
func (p cohPeriods) index() cohPeriods {
	s := p.starts
	days := (s[len(s)-1]-s[0])/86400 + 1
	p.byDay = make([]int32, days)
	k := 0
	for j := range p.byDay {
		t := s[0] + int64(j)*86400
		for k+2 < len(s) && s[k+1] <= t {
			k++
		}
		p.byDay[j] = int32(k)
	}
	return p
}

// cohMonths returns the calendar months in loc that cover [lo, hi].
func cohMonths(lo, hi int64, loc *time.Location) cohPeriods {
	t := time.Unix(lo, 0).In(loc)
	y, m, _ := t.Date()
	var p cohPeriods
	for k := 0; ; k++ {
		s := time.Date(y, m+time.Month(k), 1, 0, 0, 0, 0, loc).Unix()
		p.starts = append(p.starts, s)
		if s > hi {
			return p.index()
		}
	}
}

// cohWeeks returns the ISO weeks (Monday 00:00 in loc) that cover [lo, hi].
func cohWeeks(lo, hi int64, loc *time.Location) cohPeriods {
	t := time.Unix(lo, 0).In(loc)
	y, m, d := t.Date()
	d -= (int(t.Weekday()) + 6) % 7 // back to Monday
	var p cohPeriods
	for k := 0; ; k++ {
		s := time.Date(y, m, d+7*k, 0, 0, 0, 0, loc).Unix()
		p.starts = append(p.starts, s)
		if s > hi {
			return p.index()
		}
	}
}

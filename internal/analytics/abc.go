package analytics

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ABCOptions sets the class boundaries of ABCXYZ. A zero field takes its
// default; invalid options are replaced by the defaults (see Validate), and
// ABCSummary.Options reports what was used.
type ABCOptions struct {
	// A and B are cumulative revenue shares: class A is the smallest set of
	// top SKUs that reaches A (default 0.80) of revenue, class B the next
	// SKUs until B (default 0.95), class C the rest.
	A float64 `json:"a"`
	B float64 `json:"b"`
	// X and Y bound the coefficient of variation of per-period unit demand:
	// X below X (default 0.5), Y below Y (default 1.0), Z from Y up.
	X float64 `json:"x"`
	Y float64 `json:"y"`
	// Period of the demand series: "week" (ISO weeks, the default) or "month".
	Period string `json:"period"`
	// Location gives the period boundaries (nil = UTC).
	Location *time.Location `json:"-"`
	// MinPeriods is the fewest periods a SKU's series needs for an XYZ
	// class; shorter series stay unclassified. Default 4.
	MinPeriods int `json:"min_periods"`
}

// Defaults of ABCOptions.
const (
	DefaultABCShareA     = 0.80
	DefaultABCShareB     = 0.95
	DefaultXYZCVX        = 0.5
	DefaultXYZCVY        = 1.0
	DefaultXYZMinPeriods = 4
)

// Validate reports whether the options (after defaults) make sense:
// 0 < A < B ≤ 1, 0 < X < Y, Period "week" or "month", MinPeriods ≥ 0.
func (o ABCOptions) Validate() error {
	r := o.withDefaults()
	switch {
	case !(r.A > 0 && r.A < r.B && r.B <= 1):
		return errors.New("analytics: abc: need 0 < A < B <= 1")
	case !(r.X > 0 && r.X < r.Y):
		return errors.New("analytics: abc: need 0 < X < Y")
	case r.Period != "week" && r.Period != "month":
		return errors.New(`analytics: abc: period must be "week" or "month"`)
	case r.MinPeriods < 0:
		return errors.New("analytics: abc: min periods must not be negative")
	}
	return nil
}

func (o ABCOptions) withDefaults() ABCOptions {
	if o.A == 0 {
		o.A = DefaultABCShareA
	}
	if o.B == 0 {
		o.B = DefaultABCShareB
	}
	if o.X == 0 {
		o.X = DefaultXYZCVX
	}
	if o.Y == 0 {
		o.Y = DefaultXYZCVY
	}
	if o.Period == "" {
		o.Period = "week"
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.MinPeriods == 0 {
		o.MinPeriods = DefaultXYZMinPeriods
	}
	return o
}

// SKUClass is one SKU's ABC and XYZ class.
type SKUClass struct {
	SKU             int32   `json:"-"`   // index into Dataset.SKUIDs
	ID              string  `json:"sku"` // the SKU's code
	Category        string  `json:"category,omitempty"`
	Rank            int     `json:"rank"`    // 1 = highest revenue
	Revenue         int64   `json:"revenue"` // minor units
	Units           int64   `json:"units"`
	Lines           int     `json:"lines"`
	RevenueShare    float64 `json:"revenue_share"`
	CumulativeShare float64 `json:"cumulative_share"` // including this SKU
	ABC             string  `json:"abc"`              // "A", "B" or "C"
	XYZ             string  `json:"xyz"`              // "X", "Y", "Z", or "" when the series is too short
	Class           string  `json:"class"`            // ABC followed by XYZ, e.g. "AX"
	Periods         int     `json:"periods"`          // length of the demand series
	MeanDemand      float64 `json:"mean_demand"`      // units per period
	CV              float64 `json:"cv"`               // population std / mean of units per period
}

// ABCGroup summarises one ABC class.
type ABCGroup struct {
	Class        string  `json:"class"`
	SKUs         int     `json:"skus"`
	Revenue      int64   `json:"revenue"`
	RevenueShare float64 `json:"revenue_share"`
}

// XYZGroup summarises one XYZ class ("" = unclassified).
type XYZGroup struct {
	Class string `json:"class"`
	SKUs  int    `json:"skus"`
	Units int64  `json:"units"`
}

// ABCSummary summarises an ABC/XYZ classification.
type ABCSummary struct {
	Options        ABCOptions     `json:"options"` // as used, defaults filled in
	Location       string         `json:"location"`
	SKUs           int            `json:"skus"`
	Revenue        int64          `json:"revenue"`
	Units          int64          `json:"units"`
	Periods        int            `json:"periods"` // periods spanned by the data
	PeriodStart    time.Time      `json:"period_start"`
	ABC            []ABCGroup     `json:"abc"`                       // A, B, C
	XYZ            []XYZGroup     `json:"xyz"`                       // X, Y, Z, unclassified
	Matrix         map[string]int `json:"matrix"`                    // SKUs per class such as "AX"; "A" etc. when unclassified
	InvalidOptions bool           `json:"invalid_options,omitempty"` // the options given were invalid; defaults used
}

// abcMaxCells bounds the SKU × period demand matrix of one block.
const abcMaxCells = 8 << 20

// ABCXYZ classifies every SKU that has sales.
//
// ABC: SKUs are ranked by revenue (Σ quantity × price, or Σ Value when the
// dataset has that column), highest first, ties
// by SKU code. A SKU is A when the revenue of the SKUs ranked above it is
// below opts.A of the total — so class A is the smallest set of top sellers
// that together reach 80 % (a single SKU with 90 % of revenue is A, not B) —
// B when that revenue is below opts.B, and C otherwise.
//
// XYZ: the SKU's units per period (ISO week or calendar month in
// opts.Location) from the period of its first sale to the last period of
// the data, zero periods included; CV = population standard deviation /
// mean. X when CV < opts.X, Y when CV < opts.Y, Z otherwise; a series
// shorter than opts.MinPeriods stays unclassified (XYZ ""). The first and
// last periods of the data may be partial.
//
// All lines with a positive quantity and price count, with or without a
// customer. The result is sorted by rank. The work is a pass over the
// lines into slices indexed by SKU and a dense SKU × period matrix; SKUs
// are split into blocks, one per worker (GOMAXPROCS, at most 8, for a
// million lines or more) or more when SKUs × periods exceeds 8 M cells,
// and each block scans the lines. A dataset whose columns differ in length
// gives no classes.
func ABCXYZ(d *Dataset, opts ABCOptions) ([]SKUClass, ABCSummary) {
	return abcXYZBlocks(d, opts, 0, 0)
}

// abcXYZBlocks is ABCXYZ with the SKUs split into blocks of block SKUs
// and scanned by workers goroutines (0: decided from the data's size).
func abcXYZBlocks(d *Dataset, opts ABCOptions, block, workers int) ([]SKUClass, ABCSummary) {
	sum := ABCSummary{InvalidOptions: opts.Validate() != nil}
	if sum.InvalidOptions {
		opts = ABCOptions{Location: opts.Location}
	}
	opts = opts.withDefaults()
	sum.Options = opts
	sum.Location = opts.Location.String()
	sum.Matrix = map[string]int{}
	sum.ABC = []ABCGroup{{Class: "A"}, {Class: "B"}, {Class: "C"}}
	sum.XYZ = []XYZGroup{{Class: "X"}, {Class: "Y"}, {Class: "Z"}, {Class: ""}}
	if rfmCheck(d) != nil {
		return nil, sum
	}
	n := d.Len()
	qty, price, at := d.Qty[:n], d.Price[:n], d.At[:n]

	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range n {
		if qty[i] > 0 && price[i] > 0 {
			lo, hi = min(lo, at[i]), max(hi, at[i])
		}
	}
	if lo > hi {
		return nil, sum
	}
	var per cohPeriods
	if opts.Period == "month" {
		per = cohMonths(lo, hi, opts.Location)
	} else {
		per = cohWeeks(lo, hi, opts.Location)
	}
	np := per.len()
	sum.Periods = np
	sum.PeriodStart = time.Unix(per.starts[0], 0).In(opts.Location)

	ns := len(d.SKUIDs)
	acc := make([]abcAcc, ns)
	if workers <= 0 {
		workers = rfmWorkers(n, ns)
	}
	if block <= 0 {
		nb := max(workers, (ns*np+abcMaxCells-1)/abcMaxCells)
		block = max(1, (ns+nb-1)/nb)
	}
	// Blocks of SKUs are independent: each scans every line and keeps its
	// own SKUs, so workers share nothing but the read-only columns.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				blo := int(next.Add(int64(block))) - block
				if blo >= ns {
					return
				}
				bhi := min(ns, blo+block)
				if !abcScan[int32](d, per, acc, blo, bhi) {
					abcScan[int64](d, per, acc, blo, bhi) // a SKU sold over 2³¹ units in one period
				}
			}
		})
	}
	wg.Wait()

	var order []int32
	for s := range ns {
		if acc[s].lines > 0 {
			order = append(order, int32(s))
			sum.Revenue += acc[s].rev
			sum.Units += acc[s].units
		}
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(acc[b].rev, acc[a].rev); c != 0 {
			return c
		}
		return cmp.Compare(d.SKUIDs[a], d.SKUIDs[b])
	})
	sum.SKUs = len(order)
	hasCat := len(d.SKUCategory) == ns
	out := make([]SKUClass, len(order))
	total := float64(sum.Revenue)
	var cum int64
	for r, s := range order {
		a := &acc[s]
		before := float64(cum)
		cum += a.rev
		sc := SKUClass{
			SKU:        s,
			ID:         d.SKUIDs[s],
			Rank:       r + 1,
			Revenue:    a.rev,
			Units:      a.units,
			Lines:      int(a.lines),
			Periods:    int(a.span),
			MeanDemand: a.mean,
			CV:         a.cv,
		}
		if hasCat {
			sc.Category = d.SKUCategory[s]
		}
		gi := 2
		if total > 0 {
			sc.RevenueShare = float64(a.rev) / total
			sc.CumulativeShare = float64(cum) / total
			switch {
			case before/total < opts.A:
				gi = 0
			case before/total < opts.B:
				gi = 1
			}
		}
		sc.ABC = sum.ABC[gi].Class
		xi := 3
		if sc.Periods >= max(opts.MinPeriods, 1) {
			switch {
			case sc.CV < opts.X:
				xi = 0
			case sc.CV < opts.Y:
				xi = 1
			default:
				xi = 2
			}
		}
		sc.XYZ = sum.XYZ[xi].Class
		sc.Class = sc.ABC + sc.XYZ
		out[r] = sc

		sum.ABC[gi].SKUs++
		sum.ABC[gi].Revenue += sc.Revenue
		sum.XYZ[xi].SKUs++
		sum.XYZ[xi].Units += sc.Units
		sum.Matrix[sc.Class]++
	}
	for i := range sum.ABC {
		if total > 0 {
			sum.ABC[i].RevenueShare = float64(sum.ABC[i].Revenue) / total
		}
	}
	return out, sum
}

// abcAcc accumulates one SKU.
type abcAcc struct {
	rev, units   int64
	lines, first int32 // first: index of the period of the first sale
	span         int32 // periods in the demand series
	mean, cv     float64
}

// abcScan fills acc[lo:hi] from every line of those SKUs: totals, then the
// demand series per period and its mean and coefficient of variation.
// Units per SKU and period are summed in C: int32 halves the matrix (and
// its cache misses), and abcScan reports false if a sum overflowed, so the
// caller can redo the block in int64.
func abcScan[C int32 | int64](d *Dataset, per cohPeriods, acc []abcAcc, lo, hi int) bool {
	np := per.len()
	cells := make([]C, (hi-lo)*np)
	for s := lo; s < hi; s++ {
		acc[s] = abcAcc{first: math.MaxInt32}
	}
	n := d.Len()
	sku, qty, price, at := d.SKU[:n], d.Qty[:n], d.Price[:n], d.At[:n]
	value := d.Value
	if len(value) != n {
		value = nil
	}
	lo32, hi32 := int32(lo), int32(hi)
	ok := true
	for i := range n {
		s, q, p := sku[i], qty[i], price[i]
		if s < lo32 || s >= hi32 || q <= 0 || p <= 0 {
			continue
		}
		a := &acc[s]
		if value != nil {
			a.rev += value[i] // the line total as the source states it
		} else {
			a.rev += int64(q) * p
		}
		a.units += int64(q)
		a.lines++
		k := per.find(at[i])
		j := int(s-lo32)*np + k
		v := cells[j] + C(q)
		if v < cells[j] { // q > 0: a decrease is a wrap-around
			ok = false
		}
		cells[j] = v
		a.first = min(a.first, int32(k))
	}
	if !ok {
		return false
	}
	for s := lo; s < hi; s++ {
		a := &acc[s]
		if a.lines == 0 {
			continue
		}
		row := cells[(s-lo)*np+int(a.first) : (s-lo+1)*np]
		var sx float64
		for _, v := range row {
			sx += float64(v)
		}
		mu := sx / float64(len(row))
		var ss float64
		for _, v := range row {
			dv := float64(v) - mu
			ss += dv * dv
		}
		a.span = int32(len(row))
		a.mean = mu
		a.cv = math.Sqrt(ss/float64(len(row))) / mu
	}
	return true
}

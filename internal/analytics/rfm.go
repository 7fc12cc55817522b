package analytics

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"
)

// RFMSegment is the name of an RFM segment.
type RFMSegment string

// The eight named RFM segments, in the order RFMSummary lists them.
const (
	RFMChampions          RFMSegment = "champions"
	RFMLoyal              RFMSegment = "loyal"
	RFMPotentialLoyalists RFMSegment = "potential_loyalists"
	RFMNew                RFMSegment = "new"
	RFMAtRisk             RFMSegment = "at_risk"
	RFMCantLose           RFMSegment = "cant_lose"
	RFMHibernating        RFMSegment = "hibernating"
	RFMLost               RFMSegment = "lost"
)

// RFMSegments lists every segment in summary order.
var RFMSegments = []RFMSegment{RFMChampions, RFMLoyal, RFMPotentialLoyalists, RFMNew,
	RFMAtRisk, RFMCantLose, RFMHibernating, RFMLost}

// rfmGrid maps (R, FM) scores to a segment: rfmGrid[R-1][FM-1].
var rfmGrid = [5][5]RFMSegment{
	/* R=1 */ {RFMLost, RFMLost, RFMAtRisk, RFMAtRisk, RFMCantLose},
	/* R=2 */ {RFMHibernating, RFMHibernating, RFMAtRisk, RFMAtRisk, RFMCantLose},
	/* R=3 */ {RFMHibernating, RFMHibernating, RFMPotentialLoyalists, RFMLoyal, RFMLoyal},
	/* R=4 */ {RFMNew, RFMPotentialLoyalists, RFMPotentialLoyalists, RFMLoyal, RFMLoyal},
	/* R=5 */ {RFMNew, RFMPotentialLoyalists, RFMPotentialLoyalists, RFMChampions, RFMChampions},
}

// RFMSegmentOf returns the segment of R, F and M scores (each 1–5); see RFM.
func RFMSegmentOf(r, f, m int) RFMSegment {
	fm := (f + m + 1) / 2
	return rfmGrid[min(max(r, 1), 5)-1][min(max(fm, 1), 5)-1]
}

// RFMOptions tunes the documents' own flags. A zero field takes its default.
type RFMOptions struct {
	// HighValueThreshold is the spend, in minor units, that a customer must
	// exceed within HighValueWindowDays before asOf to be high-value.
	// Default 500,000 (5,000 CNY in fen).
	HighValueThreshold int64 `json:"high_value_threshold"`
	// HighValueWindowDays is the spend window for high-value. Default 365.
	HighValueWindowDays int `json:"high_value_window_days"`
	// DormantDays: a customer is dormant after this many days without a
	// purchase. Default 180.
	DormantDays int `json:"dormant_days"`
	// NewDays: a customer is new when the first purchase is less than this
	// many days before asOf. Default 90.
	NewDays int `json:"new_days"`
}

// Default RFM options.
const (
	DefaultHighValueThreshold  = 500_000
	DefaultHighValueWindowDays = 365
	DefaultDormantDays         = 180
	DefaultNewDays             = 90
)

func (o RFMOptions) resolve() (RFMOptions, error) {
	if o.HighValueThreshold < 0 || o.HighValueWindowDays < 0 || o.DormantDays < 0 || o.NewDays < 0 {
		return o, errors.New("analytics: rfm: options must not be negative")
	}
	if o.HighValueThreshold == 0 {
		o.HighValueThreshold = DefaultHighValueThreshold
	}
	if o.HighValueWindowDays == 0 {
		o.HighValueWindowDays = DefaultHighValueWindowDays
	}
	if o.DormantDays == 0 {
		o.DormantDays = DefaultDormantDays
	}
	if o.NewDays == 0 {
		o.NewDays = DefaultNewDays
	}
	return o, nil
}

// CustomerRFM is one customer's RFM record as of a date.
type CustomerRFM struct {
	Customer      int32      `json:"-"`        // index into Dataset.CustomerIDs
	ID            string     `json:"customer"` // the customer's id
	FirstPurchase time.Time  `json:"first_purchase"`
	LastPurchase  time.Time  `json:"last_purchase"`
	RecencyDays   int        `json:"recency_days"` // whole days from the last purchase to asOf
	Frequency     int        `json:"frequency"`    // distinct orders
	Monetary      int64      `json:"monetary"`     // total spend, minor units
	R             int        `json:"r"`            // 1–5, 5 = most recent
	F             int        `json:"f"`            // 1–5, 5 = most orders
	M             int        `json:"m"`            // 1–5, 5 = most spend
	Segment       RFMSegment `json:"segment"`
	WindowSpend   int64      `json:"window_spend"` // spend in the high-value window, minor units
	HighValue     bool       `json:"high_value"`
	Dormant       bool       `json:"dormant"`
	New           bool       `json:"new"`
}

// RFMSegmentCount is one segment's size in an RFMSummary.
type RFMSegmentCount struct {
	Segment   RFMSegment `json:"segment"`
	Customers int        `json:"customers"`
	Share     float64    `json:"share"`    // of all scored customers
	Monetary  int64      `json:"monetary"` // the segment's total spend, minor units
}

// RFMSummary counts customers per segment and per flag.
type RFMSummary struct {
	AsOf      time.Time         `json:"as_of"`
	Options   RFMOptions        `json:"options"` // with defaults filled in
	Customers int               `json:"customers"`
	Monetary  int64             `json:"monetary"`
	Segments  []RFMSegmentCount `json:"segments"` // every segment, in RFMSegments order
	HighValue int               `json:"high_value"`
	Dormant   int               `json:"dormant"`
	New       int               `json:"new"`
}

// RFM scores every customer with a purchase at or before asOf.
//
// Only lines with a known customer, a time at or before asOf, a positive
// quantity and a positive price count; later lines are ignored, so a
// customer whose first purchase is after asOf does not appear. Per customer:
//
//   - RecencyDays = ⌊(asOf − last purchase) / 24 h⌋;
//   - Frequency = distinct orders;
//   - Monetary = Σ quantity × price (the line's Value when the dataset
//     has that column), minor units.
//
// Scores are rank-based quintiles: with n customers and b of them strictly
// worse on a measure (longer recency, fewer orders, less spend), the score
// is 1 + ⌊5·b/n⌋. Equal values therefore always get equal scores; without
// ties the customers split into fifths (exactly five equal groups when n is
// a multiple of 5); when one value covers many customers (typically
// Frequency = 1) those customers share the lowest score that their rank
// allows, and some scores may be unused.
//
// The segment comes from R and FM = ⌊(F + M + 1)/2⌋ (the mean of F and M,
// rounded half up) through this grid:
//
//	R \ FM     1            2                    3                    4          5
//	5          new          potential loyalists  potential loyalists  champions  champions
//	4          new          potential loyalists  potential loyalists  loyal      loyal
//	3          hibernating  hibernating          potential loyalists  loyal      loyal
//	2          hibernating  hibernating          at risk              at risk    can't lose
//	1          lost         lost                 at risk              at risk    can't lose
//
// It is the widely published R×F segment grid (champions R5 F4–5; loyal
// R3–4 F4–5; potential loyalists R4–5 F2–3; new R5 F1; promising R4 F1;
// need attention R3 F3; about to sleep R3 F1–2; at risk R1–2 F3–4; can't
// lose R1–2 F5; hibernating R1–2 F1–2) folded into the eight names:
// promising → new, need attention → potential loyalists, about to sleep →
// hibernating, and the old hibernating cell split into hibernating (R2) and
// lost (R1). FM in place of F lets spend count as much as order count.
//
// The documents' own flags, with the thresholds in opts:
//   - HighValue: spend in (asOf − HighValueWindowDays, asOf] above
//     HighValueThreshold (strictly);
//   - Dormant: RecencyDays ≥ DormantDays;
//   - New: first purchase less than NewDays × 24 h before asOf.
//
// Customers are returned in Dataset order (by customer index). An error
// means invalid options, a zero asOf or a dataset whose columns differ in
// length; a dataset without any purchase by asOf gives empty results and
// no error.
//
// The work is one pass over the lines into slices indexed by customer, then
// a sort (or a histogram) of n values per measure; no maps unless an order
// carries several customers. From a million lines on, GOMAXPROCS workers
// (at most 8) each take a range of customers and scan all lines.
func RFM(d *Dataset, asOf time.Time, opts RFMOptions) ([]CustomerRFM, RFMSummary, error) {
	return rfmRun(d, asOf, opts, 0)
}

// rfmRun is RFM with a given number of workers (0: rfmWorkers decides).
func rfmRun(d *Dataset, asOf time.Time, opts RFMOptions, workers int) ([]CustomerRFM, RFMSummary, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, RFMSummary{}, err
	}
	if asOf.IsZero() {
		return nil, RFMSummary{}, errors.New("analytics: rfm: asOf is required")
	}
	if err := rfmCheck(d); err != nil {
		return nil, RFMSummary{}, err
	}
	sum := RFMSummary{AsOf: asOf.UTC(), Options: opts, Segments: make([]RFMSegmentCount, len(RFMSegments))}
	for i, s := range RFMSegments {
		sum.Segments[i].Segment = s
	}

	asOfU := asOf.Unix()
	windowFrom := asOfU - int64(opts.HighValueWindowDays)*86400
	nc := len(d.CustomerIDs)
	// One record per customer keeps a line's updates within one or two
	// cache lines: customers arrive in random order. Workers split the
	// customers into ranges; each scans every line and keeps its own.
	acc := make([]rfmAcc, nc)
	if workers <= 0 {
		workers = rfmWorkers(d.Len(), nc)
	}
	per := (nc + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min(nc, (w+1)*per)
		wg.Go(func() { rfmScan(d, acc, int32(lo), int32(hi), asOfU, windowFrom) })
	}
	wg.Wait()

	// Scored customers and their measures; higher is better for all three.
	var ids []int32
	for c := range acc {
		if acc[c].orders > 0 {
			ids = append(ids, int32(c))
		}
	}
	m := len(ids)
	out := make([]CustomerRFM, m)
	if m == 0 {
		return out, sum, nil
	}
	negRec := make([]int64, m)
	freq := make([]int64, m)
	mon := make([]int64, m)
	for j, c := range ids {
		a := &acc[c]
		negRec[j] = -(int64(a.newest) / 86400)
		freq[j] = int64(a.orders)
		mon[j] = a.money
	}
	rs := rfmQuintiles(negRec)
	fs := rfmQuintiles(freq)
	ms := rfmQuintiles(mon)

	for j, c := range ids {
		a := &acc[c]
		r, f, mm := int(rs[j]), int(fs[j]), int(ms[j])
		seg := RFMSegmentOf(r, f, mm)
		rec := int(-negRec[j])
		cr := CustomerRFM{
			Customer:      c,
			ID:            d.CustomerIDs[c],
			FirstPurchase: time.Unix(asOfU-int64(a.oldest), 0).UTC(),
			LastPurchase:  time.Unix(asOfU-int64(a.newest), 0).UTC(),
			RecencyDays:   rec,
			Frequency:     int(freq[j]),
			Monetary:      mon[j],
			R:             r,
			F:             f,
			M:             mm,
			Segment:       seg,
			WindowSpend:   a.window,
			HighValue:     a.window > opts.HighValueThreshold,
			Dormant:       rec >= opts.DormantDays,
			New:           int64(a.oldest) < int64(opts.NewDays)*86400,
		}
		out[j] = cr
		sc := &sum.Segments[slices.Index(RFMSegments, seg)]
		sc.Customers++
		sc.Monetary += cr.Monetary
		sum.Monetary += cr.Monetary
		if cr.HighValue {
			sum.HighValue++
		}
		if cr.Dormant {
			sum.Dormant++
		}
		if cr.New {
			sum.New++
		}
	}
	sum.Customers = m
	for i := range sum.Segments {
		sum.Segments[i].Share = float64(sum.Segments[i].Customers) / float64(m)
	}
	return out, sum, nil
}

// rfmWorkers is the number of goroutines for a scan of n lines that
// partitions k keys: one for small inputs, else GOMAXPROCS (at most 8).
func rfmWorkers(n, k int) int {
	if n < 1<<20 || k < 1024 {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), 8))
}

// rfmScan accumulates the lines of customers in [lo, hi) into acc.
func rfmScan(d *Dataset, acc []rfmAcc, lo, hi int32, asOfU, windowFrom int64) {
	for c := lo; c < hi; c++ {
		acc[c] = rfmAcc{newest: rfmMaxAge}
	}
	oc := newRFMOrderCounter(d)
	owner := oc.owner
	n := d.Len()
	cust, order, qty, price, at := d.Customer[:n], d.Order[:n], d.Qty[:n], d.Price[:n], d.At[:n]
	value := d.Value
	if len(value) != n {
		value = nil
	}
	for i := range n {
		c, t, q, p := cust[i], at[i], qty[i], price[i]
		if c < lo || c >= hi || t > asOfU || q <= 0 || p <= 0 {
			continue
		}
		amt := int64(q) * p
		if value != nil {
			amt = value[i] // the line total as the source states it
		}
		age := uint32(min(asOfU-t, rfmMaxAge))
		a := &acc[c]
		a.newest = min(a.newest, age)
		a.oldest = max(a.oldest, age)
		a.money += amt
		if t > windowFrom {
			a.window += amt
		}
		// oc.add, inlined by hand.
		if o := order[i]; owner[o] != c {
			if owner[o] == -1 {
				owner[o] = c
				a.orders++
			} else if oc.addShared(c, o, owner[o]) {
				a.orders++
			}
		}
	}
}

// rfmCheck verifies that the dataset's columns line up, so the hot loops
// can index them without surprises.
func rfmCheck(d *Dataset) error {
	if d == nil {
		return errors.New("analytics: nil dataset")
	}
	n := d.Len()
	if len(d.Customer) != n || len(d.SKU) != n || len(d.Qty) != n || len(d.Price) != n || len(d.At) != n {
		return fmt.Errorf("analytics: dataset columns differ in length (%d orders, %d customers, %d skus, %d qty, %d price, %d at)",
			n, len(d.Customer), len(d.SKU), len(d.Qty), len(d.Price), len(d.At))
	}
	return nil
}

// rfmQuintiles scores each value 1 + ⌊5·b/n⌋, where b is the number of
// values strictly smaller (higher values are better).
//
// Since the score grows with b, a value scores at least s exactly when
// b ≥ t = ⌈(s−1)·n/5⌉, that is when it exceeds the t-th smallest value. So
// four order statistics decide every score: a sort, or a histogram when
// the values span a small range (days, order counts).
func rfmQuintiles(v []int64) []int8 {
	n := len(v)
	out := make([]int8, n)
	if n == 0 {
		return out
	}
	var th [4]int64 // th[s-2] = the ⌈(s−1)·n/5⌉-th smallest value
	lo, hi := slices.Min(v), slices.Max(v)
	if span := uint64(hi - lo); span < uint64(n)+1024 {
		hist := make([]int32, span+1)
		for _, x := range v {
			hist[x-lo]++
		}
		cum, x := 0, 0
		for s := range th {
			rank := ((s+1)*n + 4) / 5 // 1-based
			for cum+int(hist[x]) < rank {
				cum += int(hist[x])
				x++
			}
			th[s] = lo + int64(x)
		}
	} else {
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		for s := range th {
			th[s] = sorted[((s+1)*n+4)/5-1]
		}
	}
	for i, x := range v {
		sc := int8(1)
		for _, t := range th {
			if x > t {
				sc++
			}
		}
		out[i] = sc
	}
	return out
}

// rfmAcc accumulates one customer's lines in 32 bytes, two to a cache
// line.
type rfmAcc struct {
	money, window  int64  // minor units
	newest, oldest uint32 // seconds from the last and first purchase to asOf, at most rfmMaxAge
	orders         int32  // distinct orders
}

// rfmMaxAge caps purchase ages (about 136 years) so that they fit rfmAcc.
const rfmMaxAge = math.MaxUint32

// rfmOrderCounter tells whether a (customer, order) pair is new without a
// map in the common case: owner[o] remembers the customer who already
// counted order o. An order seen with a second customer switches to exact
// tracking of its (customer, order) pairs in a small map.
type rfmOrderCounter struct {
	owner  []int32 // per order: -1 unseen, ≥ 0 the only customer so far, -2 shared
	shared map[[2]int32]struct{}
}

func newRFMOrderCounter(d *Dataset) *rfmOrderCounter {
	owner := make([]int32, len(d.OrderIDs))
	for i := range owner {
		owner[i] = -1
	}
	return &rfmOrderCounter{owner: owner}
}

// add reports whether customer c had not been seen on order o before.
func (oc *rfmOrderCounter) add(c, o int32) bool {
	ow := oc.owner[o]
	if ow == c {
		return false
	}
	if ow == -1 {
		oc.owner[o] = c
		return true
	}
	return oc.addShared(c, o, ow)
}

// addShared is the rare path, kept out of line so that add inlines.
//
//go:noinline
func (oc *rfmOrderCounter) addShared(c, o, ow int32) bool {
	if oc.shared == nil {
		oc.shared = map[[2]int32]struct{}{}
	}
	if ow >= 0 { // second customer on this order: remember the first one too
		oc.shared[[2]int32{ow, o}] = struct{}{}
		oc.owner[o] = -2
	}
	k := [2]int32{c, o}
	if _, ok := oc.shared[k]; ok {
		return false
	}
	oc.shared[k] = struct{}{}
	return true
}

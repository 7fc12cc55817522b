package analytics

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rfmAsOf is the reference date of the hand-computed table.
var rfmAsOf = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)

// rfmOrderSpec is one order of a hand-built customer: placed days (plus two
// hours) before rfmAsOf, made of lines of qty × price.
type rfmOrderSpec struct {
	daysAgo int
	lines   [][2]int64 // {qty, price}
}

// rfmHandDataset builds ten customers whose RFM values are easy to follow:
//
//	customer  recency  frequency  monetary  (window spend)
//	c01       1        5          900,000
//	c02       1        4          300,000
//	c03       5        1            5,000
//	c04       10       3          120,000
//	c05       30       1           20,000
//	c06       60       2           60,000
//	c07       90       2           40,000
//	c08       200      6          700,000   (300,000 within 365 days)
//	c09       300      1           10,000
//	c10       400      1            2,000
//
// plus noise that must not count: a line without a customer, a c01 line
// after asOf, a customer (c11) whose first purchase is after asOf, a
// return line and a zero-price line.
func rfmHandDataset() *Dataset {
	one := func(amount int64) [][2]int64 { return [][2]int64{{1, amount}} }
	spec := []struct {
		id     string
		orders []rfmOrderSpec
	}{
		// c01: one order has two lines (2×100,000 + 1×100,000) — one order, not two.
		{"c01", []rfmOrderSpec{{1, one(300_000)}, {20, [][2]int64{{2, 100_000}, {1, 100_000}}}, {50, one(100_000)}, {100, one(100_000)}, {300, one(100_000)}}},
		{"c02", []rfmOrderSpec{{1, one(75_000)}, {30, one(75_000)}, {60, one(75_000)}, {100, one(75_000)}}},
		{"c03", []rfmOrderSpec{{5, one(5_000)}}},
		{"c04", []rfmOrderSpec{{10, one(40_000)}, {80, one(40_000)}, {150, one(40_000)}}},
		{"c05", []rfmOrderSpec{{30, [][2]int64{{4, 5_000}}}}},
		{"c06", []rfmOrderSpec{{60, one(30_000)}, {80, one(30_000)}}},
		{"c07", []rfmOrderSpec{{90, one(20_000)}, {120, one(20_000)}}},
		{"c08", []rfmOrderSpec{{200, one(100_000)}, {250, one(100_000)}, {300, one(100_000)}, {400, one(100_000)}, {500, one(150_000)}, {600, one(150_000)}}},
		{"c09", []rfmOrderSpec{{300, one(10_000)}}},
		{"c10", []rfmOrderSpec{{400, one(2_000)}}},
	}
	b := NewBuilder("CNY")
	at := func(daysAgo int) time.Time {
		return rfmAsOf.Add(-time.Duration(daysAgo)*24*time.Hour - 2*time.Hour)
	}
	for _, c := range spec {
		for k, o := range c.orders {
			oid := c.id + "-" + strconv.Itoa(k)
			for _, l := range o.lines {
				b.Add(oid, c.id, "sku-"+c.id, int32(l[0]), l[1], at(o.daysAgo), "", "")
			}
		}
	}
	b.Add("anon", "", "sku-x", 1, 999_999, at(3), "", "")
	b.Add("late", "c01", "sku-x", 1, 999_999, rfmAsOf.Add(time.Hour), "", "")
	b.Add("future", "c11", "sku-x", 1, 1_000, rfmAsOf.Add(48*time.Hour), "", "")
	b.Add("ret", "c09", "sku-x", -1, 10_000, at(2), "", "")
	b.Add("free", "c10", "sku-x", 1, 0, at(2), "", "")
	return b.D
}

func TestRFMHandComputed(t *testing.T) {
	t.Parallel()
	rows, sum, err := RFM(rfmHandDataset(), rfmAsOf, RFMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Scores with n = 10: score = 1 + ⌊5·b/10⌋ = 1 + ⌊b/2⌋, b = customers strictly worse.
	//  R: recency days 1,1,5,10,30,60,90,200,300,400. c01/c02: 8 worse → 5; c03: 7 → 4;
	//     c04: 6 → 4; c05: 5 → 3; c06: 4 → 3; c07: 3 → 2; c08: 2 → 2; c09: 1 → 1; c10: 0 → 1.
	//  F: orders 5,4,1,3,1,2,2,6,1,1; sorted 1,1,1,1,2,2,3,4,5,6. Ones: b=0 → 1; twos: b=4 → 3;
	//     3: b=6 → 4; 4: b=7 → 4; 5: b=8 → 5; 6: b=9 → 5.
	//  M: 2,000(c10) b0→1, 5,000(c03) b1→1, 10,000(c09) b2→2, 20,000(c05) b3→2, 40,000(c07) b4→3,
	//     60,000(c06) b5→3, 120,000(c04) b6→4, 300,000(c02) b7→4, 700,000(c08) b8→5, 900,000(c01) b9→5.
	//  FM = ⌊(F+M+1)/2⌋ and the grid give the segments.
	//  Flags: high value > 500,000 in 365 days: only c01 (c08 has 300,000 in the window);
	//  dormant ≥ 180 days: c08, c09, c10; new (first purchase < 90 days ago): c03, c05, c06.
	want := []struct {
		id                  string
		rec, freq           int
		mon, window         int64
		r, f, m             int
		seg                 RFMSegment
		high, dormant, newc bool
	}{
		{"c01", 1, 5, 900_000, 900_000, 5, 5, 5, RFMChampions, true, false, false},
		{"c02", 1, 4, 300_000, 300_000, 5, 4, 4, RFMChampions, false, false, false},
		{"c03", 5, 1, 5_000, 5_000, 4, 1, 1, RFMNew, false, false, true},
		{"c04", 10, 3, 120_000, 120_000, 4, 4, 4, RFMLoyal, false, false, false},
		{"c05", 30, 1, 20_000, 20_000, 3, 1, 2, RFMHibernating, false, false, true},
		{"c06", 60, 2, 60_000, 60_000, 3, 3, 3, RFMPotentialLoyalists, false, false, true},
		{"c07", 90, 2, 40_000, 40_000, 2, 3, 3, RFMAtRisk, false, false, false},
		{"c08", 200, 6, 700_000, 300_000, 2, 5, 5, RFMCantLose, false, true, false},
		{"c09", 300, 1, 10_000, 10_000, 1, 1, 2, RFMLost, false, true, false},
		{"c10", 400, 1, 2_000, 0, 1, 1, 1, RFMLost, false, true, false},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d customers, want %d (c11 bought only after asOf)", len(rows), len(want))
	}
	for i, w := range want {
		g := rows[i]
		if g.ID != w.id || g.RecencyDays != w.rec || g.Frequency != w.freq || g.Monetary != w.mon || g.WindowSpend != w.window ||
			g.R != w.r || g.F != w.f || g.M != w.m || g.Segment != w.seg ||
			g.HighValue != w.high || g.Dormant != w.dormant || g.New != w.newc {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	wantSeg := map[RFMSegment]int{RFMChampions: 2, RFMLoyal: 1, RFMPotentialLoyalists: 1, RFMNew: 1,
		RFMAtRisk: 1, RFMCantLose: 1, RFMHibernating: 1, RFMLost: 2}
	for _, s := range sum.Segments {
		if s.Customers != wantSeg[s.Segment] {
			t.Errorf("segment %s: %d customers, want %d", s.Segment, s.Customers, wantSeg[s.Segment])
		}
	}
	if sum.Customers != 10 || sum.HighValue != 1 || sum.Dormant != 3 || sum.New != 3 || sum.Monetary != 2_157_000 {
		t.Errorf("summary %+v", sum)
	}
}

func TestRFMOptions(t *testing.T) {
	t.Parallel()
	d := rfmHandDataset()
	tests := []struct {
		name                string
		opts                RFMOptions
		high, dormant, newc int
	}{
		{"defaults", RFMOptions{}, 1, 3, 3},
		// 250,000 in the window: c01 900k, c02 300k, c08 300k.
		{"lower threshold", RFMOptions{HighValueThreshold: 250_000}, 3, 3, 3},
		// Two-year window: c08's 700,000 counts (its oldest order is 600 days ago).
		{"longer window", RFMOptions{HighValueWindowDays: 730}, 2, 3, 3},
		// Dormant from 60 days: c06 (60), c07, c08, c09, c10.
		{"dormant 60", RFMOptions{DormantDays: 60}, 1, 5, 3},
		// New within 31 days: c03 (5 days) and c05 (30 days).
		{"new 31", RFMOptions{NewDays: 31}, 1, 3, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, sum, err := RFM(d, rfmAsOf, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.HighValue != tc.high || sum.Dormant != tc.dormant || sum.New != tc.newc {
				t.Errorf("high %d dormant %d new %d, want %d %d %d", sum.HighValue, sum.Dormant, sum.New, tc.high, tc.dormant, tc.newc)
			}
		})
	}
}

func TestRFMErrorsAndEmpty(t *testing.T) {
	t.Parallel()
	d := rfmHandDataset()
	if _, _, err := RFM(d, rfmAsOf, RFMOptions{DormantDays: -1}); err == nil {
		t.Error("negative option accepted")
	}
	if _, _, err := RFM(d, time.Time{}, RFMOptions{}); err == nil {
		t.Error("zero asOf accepted")
	}
	bad := rfmHandDataset()
	bad.At = bad.At[:3]
	if _, _, err := RFM(bad, rfmAsOf, RFMOptions{}); err == nil {
		t.Error("ragged dataset accepted")
	}
	rows, sum, err := RFM(d, rfmAsOf.AddDate(-5, 0, 0), RFMOptions{})
	if err != nil || len(rows) != 0 || sum.Customers != 0 {
		t.Errorf("before all data: %d rows, %+v, %v", len(rows), sum, err)
	}
}

// An order that carries two customers counts once for each of them, also
// when their lines interleave.
func TestRFMSharedOrder(t *testing.T) {
	t.Parallel()
	b := NewBuilder("CNY")
	at := rfmAsOf.Add(-48 * time.Hour)
	for _, c := range []string{"a", "b", "a", "b", "a"} {
		b.Add("o1", c, "s", 1, 100, at, "", "")
	}
	b.Add("o2", "a", "s", 1, 100, at, "", "")
	rows, _, err := RFM(b.D, rfmAsOf, RFMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Frequency != 2 || rows[1].Frequency != 1 {
		t.Errorf("frequencies a=%d b=%d, want 2 and 1", rows[0].Frequency, rows[1].Frequency)
	}
}

func TestRFMQuintiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []int64
		want []int8
	}{
		{"five distinct", []int64{50, 10, 40, 20, 30}, []int8{5, 1, 4, 2, 3}},
		{"ten distinct", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []int8{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}},
		// b = 0,1,...,6 → 1+⌊5b/7⌋ = 1,1,2,3,3,4,5.
		{"seven distinct", []int64{1, 2, 3, 4, 5, 6, 7}, []int8{1, 1, 2, 3, 3, 4, 5}},
		{"all equal", []int64{7, 7, 7, 7}, []int8{1, 1, 1, 1}},
		// Six ones (b=0 → 1), then 2 (b=6 → 1+3=4), 3 (b=7 → 4), two 9s (b=8 → 5).
		{"many ties", []int64{1, 1, 1, 1, 1, 1, 2, 3, 9, 9}, []int8{1, 1, 1, 1, 1, 1, 4, 4, 5, 5}},
		{"single", []int64{42}, []int8{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := rfmQuintiles(tc.in)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// rfmQuintiles against its definition, on small spans (histogram) and
// large ones (sort).
func TestRFMQuintilesDefinition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		spread := []int64{3, 50, 1 << 40}[trial%3]
		v := make([]int64, n)
		for i := range v {
			v[i] = rng.Int64N(spread) - spread/2
		}
		got := rfmQuintiles(v)
		for i, x := range v {
			b := 0
			for _, y := range v {
				if y < x {
					b++
				}
			}
			if want := int8(1 + 5*b/n); got[i] != want {
				t.Fatalf("trial %d (n %d, spread %d): value %d scored %d, want %d", trial, n, spread, x, got[i], want)
			}
		}
	}
}

// Several workers must give exactly what one gives.
func TestRFMWorkers(t *testing.T) {
	t.Parallel()
	d := Generate(GenerateOptions{Lines: 50_000, Customers: 3_000, SKUs: 500, Days: 400, Seed: 11})
	asOf := time.Unix(rfmMaxAt(d.At), 0).Add(-30 * 24 * time.Hour) // some lines after asOf
	ref, refSum, err := rfmRun(d, asOf, RFMOptions{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{2, 3, 7} {
		got, gotSum, err := rfmRun(d, asOf, RFMOptions{}, w)
		if err != nil || !reflect.DeepEqual(ref, got) || !reflect.DeepEqual(refSum, gotSum) {
			t.Fatalf("%d workers differ from one (%v)", w, err)
		}
	}
}

func TestRFMSegmentGrid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r, f, m int
		want    RFMSegment
	}{
		{5, 5, 5, RFMChampions},
		{5, 4, 3, RFMChampions}, // FM = ⌊8/2⌋ = 4
		{5, 3, 4, RFMChampions},
		{5, 3, 3, RFMPotentialLoyalists},
		{5, 1, 1, RFMNew},
		{4, 1, 2, RFMPotentialLoyalists}, // FM = 2
		{4, 1, 1, RFMNew},
		{3, 5, 5, RFMLoyal},
		{3, 3, 3, RFMPotentialLoyalists},
		{3, 1, 3, RFMHibernating}, // FM = 2
		{2, 5, 5, RFMCantLose},
		{1, 3, 4, RFMAtRisk},
		{2, 1, 1, RFMHibernating},
		{1, 2, 2, RFMLost},
	}
	for _, tc := range tests {
		if got := RFMSegmentOf(tc.r, tc.f, tc.m); got != tc.want {
			t.Errorf("R%d F%d M%d: %s, want %s", tc.r, tc.f, tc.m, got, tc.want)
		}
	}
}

// --- UCI Online Retail -------------------------------------------------

// rfmUCIPath is the shared data file, relative to this package directory.
var rfmUCIPath = filepath.Join("..", "..", "..", "shared", "data", "online_retail.csv.gz")

var rfmUCI struct {
	once sync.Once
	d    *Dataset
	dur  time.Duration
	err  error
}

// rfmLoadUCI loads UCI Online Retail once for all tests, or skips.
func rfmLoadUCI(t testing.TB) *Dataset {
	t.Helper()
	if _, err := os.Stat(rfmUCIPath); errors.Is(err, os.ErrNotExist) {
		t.Skipf("UCI Online Retail not found at %s (expected ../../../shared/data relative to internal/analytics)", rfmUCIPath)
	}
	rfmUCI.once.Do(func() {
		start := time.Now()
		rfmUCI.d, rfmUCI.err = rfmReadUCI(rfmUCIPath)
		rfmUCI.dur = time.Since(start)
	})
	if rfmUCI.err != nil {
		t.Fatal(rfmUCI.err)
	}
	return rfmUCI.d
}

// rfmReadUCI is a minimal loader for tests, standing in for the importer:
// valid sales are invoices not starting with 'C', quantity > 0, price > 0,
// customer present. Prices become pence by exact decimal parsing, rounded
// half up; the four lines priced 0.001 GBP round to 0 and are dropped.
func rfmReadUCI(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(gz)
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		return nil, err
	}
	b := NewBuilder("GBP")
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		inv, code, qs, ds, ps, cust, country := rec[0], rec[1], rec[3], rec[4], rec[5], rec[6], rec[7]
		if strings.HasPrefix(inv, "C") || cust == "" {
			continue
		}
		q, err := strconv.Atoi(qs)
		if err != nil {
			return nil, errors.New("line " + strconv.Itoa(line) + ": quantity: " + err.Error())
		}
		p, err := rfmPence(ps)
		if err != nil {
			return nil, errors.New("line " + strconv.Itoa(line) + ": price: " + err.Error())
		}
		if q <= 0 || p <= 0 {
			continue
		}
		at, err := time.Parse("2006-01-02 15:04:05", ds)
		if err != nil {
			return nil, errors.New("line " + strconv.Itoa(line) + ": date: " + err.Error())
		}
		b.Add(inv, strings.TrimSuffix(cust, ".0"), code, int32(q), p, at, "", country)
	}
	return b.D, nil
}

// rfmPence parses a decimal such as "2.55", "-11062.06" or "0.001" into
// pence, rounding half away from zero.
func rfmPence(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	whole, err := strconv.ParseInt(ip, 10, 64)
	if err != nil {
		return 0, err
	}
	frac := (fp + "000")[:3]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || strings.Trim(fp[min(len(fp), 3):], "0123456789") != "" {
		return 0, errors.New("bad decimal " + s)
	}
	v := whole*100 + (f+5)/10
	if neg {
		v = -v
	}
	return v, nil
}

func TestRFMPence(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"2.55": 255, "0": 0, "1": 100, "0.5": 50, "0.001": 0, "0.005": 1, "-11062.06": -1106206, "4.165": 417} {
		if got, err := rfmPence(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	if _, err := rfmPence("1.2x"); err == nil {
		t.Error("bad decimal accepted")
	}
}

// On UCI Online Retail the loader and RFM must agree with facts computed
// independently (DuckDB-style SQL facts in shared/PEERS.md and a separate
// Python script over the same file with the same rules).
func TestRFMOnlineRetail(t *testing.T) {
	t.Parallel()
	d := rfmLoadUCI(t)
	t.Logf("loaded %d lines in %v", d.Len(), rfmUCI.dur)
	if d.Len() != 397_880 || len(d.CustomerIDs) != 4_338 || len(d.OrderIDs) != 18_532 {
		t.Fatalf("lines %d customers %d orders %d; want 397,880 / 4,338 / 18,532", d.Len(), len(d.CustomerIDs), len(d.OrderIDs))
	}
	asOf := time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	rows, sum, err := RFM(d, asOf, RFMOptions{})
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RFM on %d lines, %d customers: %v", d.Len(), len(rows), el)
	var orders int
	for _, r := range rows {
		orders += r.Frequency
	}
	if sum.Customers != 4_338 || orders != 18_532 || sum.Monetary != 891_140_790 {
		t.Errorf("customers %d orders %d monetary %d; want 4,338 / 18,532 / 891,140,790", sum.Customers, orders, sum.Monetary)
	}
	// Independent Python computation of the same rules.
	want := map[RFMSegment]int{RFMChampions: 601, RFMLoyal: 828, RFMPotentialLoyalists: 671, RFMNew: 122,
		RFMAtRisk: 590, RFMCantLose: 75, RFMHibernating: 766, RFMLost: 685}
	for _, s := range sum.Segments {
		if s.Customers != want[s.Segment] {
			t.Errorf("segment %s: %d, want %d", s.Segment, s.Customers, want[s.Segment])
		}
	}
	var fDist [5]int
	for _, r := range rows {
		fDist[r.F-1]++
	}
	if fDist != [5]int{1493, 835, 508, 802, 700} {
		t.Errorf("F score distribution %v", fDist)
	}
	// 500,000 pence = £5,000 in the last 365 days; dormant 180 days; new 90 days.
	if sum.HighValue != 265 || sum.Dormant != 861 || sum.New != 968 {
		t.Errorf("high %d dormant %d new %d; want 265 / 861 / 968", sum.HighValue, sum.Dormant, sum.New)
	}
}

// BenchmarkRFMABC10M times RFM + ABC/XYZ on ten million generated lines
// (~500k customers, 20k SKUs, two years) and reports memory on Linux: the
// resident size of the generated dataset after a GC (data-RSS-MiB), and the
// peak resident size during the timed runs (peak-RSS-MiB; the peak is
// reset through /proc/self/clear_refs after generation, so it covers the
// dataset plus everything RFM and ABC/XYZ allocate).
//
//	go test -run '^$' -bench RFMABC10M -benchtime 3x ./internal/analytics/
func BenchmarkRFMABC10M(b *testing.B) {
	d := rfmBenchData()
	asOf := time.Unix(rfmMaxAt(d.At), 0).Add(24 * time.Hour)
	runtime.GC()
	debug.FreeOSMemory()
	dataRSS := rfmProcStatus("VmRSS:")
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := RFM(d, asOf, RFMOptions{}); err != nil {
			b.Fatal(err)
		}
		ABCXYZ(d, ABCOptions{Location: Shanghai})
	}
	b.StopTimer()
	if hwm := rfmProcStatus("VmHWM:"); hwm > 0 && reset {
		b.ReportMetric(float64(dataRSS)/(1<<20), "data-RSS-MiB")
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
}

// BenchmarkRFM10M and BenchmarkABC10M time the two halves separately.
func BenchmarkRFM10M(b *testing.B) {
	d := rfmBenchData()
	asOf := time.Unix(rfmMaxAt(d.At), 0).Add(24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := RFM(d, asOf, RFMOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkABC10M(b *testing.B) {
	d := rfmBenchData()
	b.ReportAllocs()
	for b.Loop() {
		ABCXYZ(d, ABCOptions{Location: Shanghai})
	}
}

var rfmBench struct {
	once sync.Once
	d    *Dataset
}

func rfmBenchData() *Dataset {
	rfmBench.once.Do(func() {
		rfmBench.d = Generate(GenerateOptions{Lines: 10_000_000, Customers: 500_000, SKUs: 20_000, Days: 730, Seed: 1})
	})
	return rfmBench.d
}

func rfmMaxAt(v []int64) int64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// rfmProcStatus reads a size such as "VmHWM:" (peak resident set) from
// /proc/self/status, in bytes (Linux only; 0 elsewhere).
func rfmProcStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

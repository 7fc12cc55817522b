package analytics

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// abcWeek returns Wednesday noon of the k-th week from Monday 2024-01-01 (UTC).
func abcWeek(k int) time.Time {
	return time.Date(2024, 1, 3+7*k, 12, 0, 0, 0, time.UTC)
}

// abcHandDataset builds SKUs s1..s6 with the given units in four
// consecutive weeks (one order per SKU and week) at the given unit prices,
// without customers; with category, SKU sN gets category "cat-sN".
func abcHandDataset(units map[string][4]int32, price map[string]int64, category bool) *Dataset {
	b := NewBuilder("CNY")
	for _, s := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		for k, u := range units[s] {
			if u > 0 {
				b.Add("o-"+s+"-"+string(rune('0'+k)), "", s, u, price[s], abcWeek(k), "", "")
			}
		}
	}
	if category {
		b.D.SKUCategory = make([]string, len(b.D.SKUIDs))
		for i := range b.D.SKUCategory {
			b.D.SKUCategory[i] = "cat-" + b.D.SKUIDs[i]
		}
	}
	return b.D
}

func TestABCXYZHandComputed(t *testing.T) {
	t.Parallel()
	units := map[string][4]int32{
		"s1": {10, 10, 10, 10}, // mean 10, sd 0 → CV 0 → X
		"s2": {6, 4, 6, 4},     // mean 5, sd 1 → CV 0.2 → X
		"s3": {8, 2, 8, 2},     // mean 5, sd 3 → CV 0.6 → Y
		"s4": {10, 0, 10, 0},   // mean 5, sd 5 → CV 1.0 → Z (Y is CV < 1)
		"s5": {0, 3, 0, 3},     // series starts at week 1: 3,0,3 → mean 2, sd √2 → CV 0.707 → Y, but only 3 periods < 4 → unclassified
		"s6": {0, 0, 0, 4},     // one period → unclassified
	}
	// Revenue = units × price: s1 40×20 = 800, s2 20×10 = 200, s3 20×25 = 500,
	// s4 20×10 = 200 (ties with s2; s2 ranks first by code), s5 6×25 = 150,
	// s6 4×37 = 148. Total 1,998.
	price := map[string]int64{"s1": 20, "s2": 10, "s3": 25, "s4": 10, "s5": 25, "s6": 37}
	d := abcHandDataset(units, price, true)
	got, sum := ABCXYZ(d, ABCOptions{})

	// Ranked: s1 800 (before 0 → A), s3 500 (before 800/1998 = 40.0 % → A),
	// s2 200 (before 1300/1998 = 65.1 % → A), s4 200 (before 1500/1998 = 75.1 % → A),
	// s5 150 (before 1700/1998 = 85.1 % → B), s6 148 (before 1850/1998 = 92.6 % → B).
	// With A = 0.80 every SKU whose predecessors hold < 80 % is A.
	want := []struct {
		id, abc, xyz string
		rev          int64
		periods      int
		cv           float64
	}{
		{"s1", "A", "X", 800, 4, 0},
		{"s3", "A", "Y", 500, 4, 0.6},
		{"s2", "A", "X", 200, 4, 0.2},
		{"s4", "A", "Z", 200, 4, 1.0},
		{"s5", "B", "", 150, 3, math.Sqrt(2) / 2},
		{"s6", "B", "", 148, 1, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d SKUs, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.ABC != w.abc || g.XYZ != w.xyz || g.Revenue != w.rev || g.Periods != w.periods ||
			math.Abs(g.CV-w.cv) > 1e-12 || g.Rank != i+1 || g.Class != w.abc+w.xyz || g.Category != "cat-"+w.id {
			t.Errorf("rank %d: got %+v, want %+v", i+1, g, w)
		}
	}
	if sum.SKUs != 6 || sum.Revenue != 1998 || sum.Periods != 4 || sum.ABC[0].SKUs != 4 || sum.ABC[1].SKUs != 2 || sum.ABC[2].SKUs != 0 {
		t.Errorf("summary %+v", sum)
	}
	if sum.XYZ[0].SKUs != 2 || sum.XYZ[1].SKUs != 1 || sum.XYZ[2].SKUs != 1 || sum.XYZ[3].SKUs != 2 {
		t.Errorf("xyz %+v", sum.XYZ)
	}
	if sum.Matrix["AX"] != 2 || sum.Matrix["AY"] != 1 || sum.Matrix["AZ"] != 1 || sum.Matrix["B"] != 2 {
		t.Errorf("matrix %v", sum.Matrix)
	}
	if math.Abs(got[5].CumulativeShare-1) > 1e-12 {
		t.Errorf("cumulative share ends at %v", got[5].CumulativeShare)
	}
}

func TestABCBoundaries(t *testing.T) {
	t.Parallel()
	// Revenues 500, 300, 100, 50, 30, 20 of 1,000: A = s1, s2 (exactly 80 %),
	// B = s3, s4 (the next 15 %), C = s5, s6. One unit each in week 0.
	rev := map[string]int64{"s1": 500, "s2": 300, "s3": 100, "s4": 50, "s5": 30, "s6": 20}
	units := map[string][4]int32{}
	for s := range rev {
		units[s] = [4]int32{1, 0, 0, 0}
	}
	d := abcHandDataset(units, rev, false)
	tests := []struct {
		name string
		opts ABCOptions
		want string
		bad  bool
	}{
		{"defaults", ABCOptions{}, "AABBCC", false},
		// A = 70 %: s2's predecessors hold 50 % < 70 % → A; s3's 80 % ≥ 70 % → B.
		{"A 70", ABCOptions{A: 0.7}, "AABBCC", false},
		// A = 50 %: s2's predecessors hold exactly 50 %, not below → B.
		{"A 50", ABCOptions{A: 0.5}, "ABBBCC", false},
		// A = 85 %, B = 99 %: s3 (80 % before) joins A; s6 (98 % before) is B.
		{"A 85 B 99", ABCOptions{A: 0.85, B: 0.99}, "AAABBB", false},
		{"invalid falls back to defaults", ABCOptions{A: 0.9, B: 0.8}, "AABBCC", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, sum := ABCXYZ(d, tc.opts)
			var s string
			for _, g := range got {
				s += g.ABC
			}
			if s != tc.want || sum.InvalidOptions != tc.bad {
				t.Errorf("classes %s (invalid %v), want %s (%v)", s, sum.InvalidOptions, tc.want, tc.bad)
			}
		})
	}
}

// Units beyond int32 in one SKU and period: the scan redoes the block in
// int64 and the figures stay exact.
func TestABCLargeUnits(t *testing.T) {
	t.Parallel()
	b := NewBuilder("CNY")
	for k := range 5 {
		b.Add(fmt.Sprint("o", k), "", "big", 2_000_000_000, 1, abcWeek(0).Add(time.Duration(k)*time.Hour), "", "")
	}
	b.Add("o9", "", "big", 1, 1, abcWeek(3), "", "")
	b.Add("o10", "", "small", 1, 1, abcWeek(3), "", "")
	got, _ := ABCXYZ(b.D, ABCOptions{})
	// Weeks: 10,000,000,000, 0, 0, 1 → mean 2,500,000,000.25.
	if got[0].ID != "big" || got[0].Units != 10_000_000_001 || got[0].MeanDemand != 2_500_000_000.25 || got[0].XYZ != "Z" {
		t.Errorf("%+v", got[0])
	}
}

func TestABCOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts ABCOptions
		ok   bool
	}{
		{"zero", ABCOptions{}, true},
		{"month", ABCOptions{Period: "month", X: 0.3, Y: 0.8}, true},
		{"A above B", ABCOptions{A: 0.96}, false},
		{"B above 1", ABCOptions{B: 1.2}, false},
		{"X above Y", ABCOptions{X: 1.5}, false},
		{"period", ABCOptions{Period: "day"}, false},
		{"min periods", ABCOptions{MinPeriods: -1}, false},
	}
	for _, tc := range tests {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// Weekly and monthly periods, one block or many, one worker or several:
// the same classes.
func TestABCBlocksAndWorkers(t *testing.T) {
	t.Parallel()
	d := Generate(GenerateOptions{Lines: 20_000, Customers: 1_000, SKUs: 500, Days: 365, Seed: 7})
	for _, period := range []string{"week", "month"} {
		opts := ABCOptions{Period: period, Location: Shanghai}
		ref, refSum := abcXYZBlocks(d, opts, 0, 1)
		for _, bw := range [][2]int{{37, 1}, {37, 3}, {250, 2}} {
			got, gotSum := abcXYZBlocks(d, opts, bw[0], bw[1])
			if len(ref) != len(got) || refSum.Revenue != gotSum.Revenue {
				t.Fatalf("%s %v: %d vs %d SKUs", period, bw, len(ref), len(got))
			}
			for i := range ref {
				if ref[i] != got[i] {
					t.Fatalf("%s %v rank %d: %+v vs %+v", period, bw, i+1, ref[i], got[i])
				}
			}
		}
		wantPeriods := map[string]int{"week": 53, "month": 13}[period]
		if refSum.Periods < wantPeriods-1 || refSum.Periods > wantPeriods+1 {
			t.Errorf("%s: %d periods", period, refSum.Periods)
		}
	}
}

// Facts for UCI Online Retail (ISO weeks in UTC) from an independent
// Python computation over the same valid lines.
func TestABCOnlineRetail(t *testing.T) {
	t.Parallel()
	d := rfmLoadUCI(t)
	start := time.Now()
	got, sum := ABCXYZ(d, ABCOptions{})
	t.Logf("ABC/XYZ on %d lines: %v", d.Len(), time.Since(start))
	if sum.SKUs != 3_664 || sum.Periods != 54 || sum.Revenue != 891_140_790 {
		t.Fatalf("skus %d periods %d revenue %d; want 3,664 / 54 / 891,140,790", sum.SKUs, sum.Periods, sum.Revenue)
	}
	if got[0].ID != "23843" || got[0].Revenue != 16_846_960 {
		t.Errorf("top SKU %s %d", got[0].ID, got[0].Revenue)
	}
	want := map[string]int{"A": 2, "AX": 20, "AY": 337, "AZ": 418, "B": 1, "BX": 16, "BY": 193, "BZ": 712,
		"C": 21, "CX": 5, "CY": 57, "CZ": 1882}
	for k, v := range want {
		if sum.Matrix[k] != v {
			t.Errorf("class %s: %d, want %d", k, sum.Matrix[k], v)
		}
	}
	if len(sum.Matrix) != len(want) {
		t.Errorf("matrix %v", sum.Matrix)
	}
}

package analytics

import (
	"math"
	"slices"
	"testing"
	"time"
)

// cohTiny: four customers and one anonymous line.
//
//	A  2024-01-05, 2024-02-10, 2024-02-20, 2024-04-01 10:00 UTC  (4 orders)
//	B  2024-01-20                                                 (1 order)
//	C  2024-01-31 20:00 UTC (= 2024-02-01 04:00 Shanghai), 2024-03-03
//	D  2024-02-15, one order of two lines                         (1 order)
func cohTiny() *Dataset {
	utc := func(m time.Month, d, h int) time.Time { return time.Date(2024, m, d, h, 0, 0, 0, time.UTC) }
	b := NewBuilder("CNY")
	b.Add("a1", "A", "s1", 1, 100, utc(1, 5, 10), "", "")
	b.Add("a2", "A", "s1", 1, 100, utc(2, 10, 10), "", "")
	b.Add("a3", "A", "s1", 1, 100, utc(2, 20, 10), "", "")
	b.Add("a4", "A", "s1", 1, 100, utc(4, 1, 10), "", "")
	b.Add("b1", "B", "s1", 1, 100, utc(1, 20, 10), "", "")
	b.Add("c1", "C", "s1", 1, 100, utc(1, 31, 20), "", "")
	b.Add("c2", "C", "s1", 1, 100, utc(3, 3, 10), "", "")
	b.Add("d1", "D", "s1", 1, 100, utc(2, 15, 10), "", "")
	b.Add("d1", "D", "s2", 2, 100, utc(2, 15, 10), "", "")
	b.Add("x1", "", "s1", 1, 100, utc(5, 1, 10), "", "") // no customer: ignored, does not extend the months
	return b.D
}

func TestCohortsTiny(t *testing.T) {
	t.Parallel()
	type cohort struct {
		month     string
		customers int
		active    []int
		repeat    int
	}
	tests := []struct {
		name     string
		loc      *time.Location
		want     []cohort
		mean     []float64
		repeat   int
		customer int
	}{
		{
			// UTC: January = A, B, C. A is back in Feb (1) and Apr (3); C in Mar (2).
			// February = D only. Repeaters: A and C.
			name: "UTC", loc: time.UTC,
			want: []cohort{{"2024-01", 3, []int{3, 1, 1, 1}, 2}, {"2024-02", 1, []int{1, 0, 0}, 0}},
			// Month 1 pools Jan (1 of 3) and Feb (0 of 1): 1/4; month 3 only Jan: 1/3.
			mean:   []float64{1, 0.25, 0.25, 1.0 / 3},
			repeat: 2, customer: 4,
		},
		{
			// Shanghai: C's first purchase is on 1 February, so C joins D's cohort and is
			// active one month later (March).
			name: "Shanghai", loc: Shanghai,
			want:   []cohort{{"2024-01", 2, []int{2, 1, 0, 1}, 1}, {"2024-02", 2, []int{2, 1, 0}, 1}},
			mean:   []float64{1, 0.5, 0, 0.5},
			repeat: 2, customer: 4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tab := Cohorts(cohTiny(), tc.loc)
			if len(tab.Cohorts) != len(tc.want) {
				t.Fatalf("%d cohorts, want %d: %+v", len(tab.Cohorts), len(tc.want), tab.Cohorts)
			}
			for i, w := range tc.want {
				g := tab.Cohorts[i]
				if g.Month != w.month || g.Customers != w.customers || !slices.Equal(g.Active, w.active) || g.RepeatCustomers != w.repeat {
					t.Errorf("cohort %d: got %s %d %v %d, want %+v", i, g.Month, g.Customers, g.Active, g.RepeatCustomers, w)
				}
				for k, a := range g.Active {
					if g.Retention[k] != float64(a)/float64(g.Customers) {
						t.Errorf("cohort %s retention[%d] = %v", g.Month, k, g.Retention[k])
					}
				}
				if g.Start.Location() != tc.loc || g.Start.Day() != 1 || g.Start.Hour() != 0 {
					t.Errorf("cohort start %v", g.Start)
				}
			}
			if len(tab.MeanRetention) != len(tc.mean) {
				t.Fatalf("mean retention %v, want %v", tab.MeanRetention, tc.mean)
			}
			for k := range tc.mean {
				if math.Abs(tab.MeanRetention[k]-tc.mean[k]) > 1e-12 {
					t.Errorf("mean retention %v, want %v", tab.MeanRetention, tc.mean)
				}
			}
			if tab.Customers != tc.customer || tab.RepeatCustomers != tc.repeat || tab.RepurchaseRate != 0.5 {
				t.Errorf("customers %d repeat %d rate %v", tab.Customers, tab.RepeatCustomers, tab.RepurchaseRate)
			}
		})
	}
}

func TestCohortsEmpty(t *testing.T) {
	t.Parallel()
	b := NewBuilder("CNY")
	b.Add("x", "", "s", 1, 100, time.Now(), "", "")
	if tab := Cohorts(b.D, nil); len(tab.Cohorts) != 0 || tab.Customers != 0 || tab.Location != "UTC" {
		t.Errorf("%+v", tab)
	}
}

func TestCohortPeriods(t *testing.T) {
	t.Parallel()
	// 2024-01-03 is a Wednesday: weeks start Monday 2024-01-01.
	lo := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC).Unix() // a Monday, opens week 2
	w := cohWeeks(lo, hi, time.UTC)
	if w.len() != 3 || w.starts[0] != time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("weeks %v", w.starts)
	}
	m := cohMonths(lo, time.Date(2024, 3, 31, 23, 0, 0, 0, Shanghai).Unix(), Shanghai)
	if m.len() != 3 || m.starts[0] != time.Date(2024, 1, 1, 0, 0, 0, 0, Shanghai).Unix() {
		t.Fatalf("months %v", m.starts)
	}
	for _, tc := range []struct {
		t    int64
		want int
	}{
		{lo, 0}, {hi, 2}, {hi - 1, 1}, {w.starts[1], 1}, {w.starts[1] - 1, 0},
	} {
		if got := w.find(tc.t); got != tc.want {
			t.Errorf("find(%d) = %d, want %d", tc.t, got, tc.want)
		}
	}
	// With DST the day table misses near boundaries and the search takes over.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, ny)
	months := cohMonths(from.Unix(), time.Date(2024, 12, 31, 23, 59, 0, 0, ny).Unix(), ny)
	for h := 0; h < 366*24; h += 7 {
		at := from.Add(time.Duration(h) * time.Hour)
		if got, want := months.find(at.Unix()), int(at.Month())-1; got != want {
			t.Fatalf("%v: month %d, want %d", at, got, want)
		}
		if at.Day() == 1 && at.Hour() == 0 && months.starts[int(at.Month())-1] != at.Unix() {
			t.Fatalf("month start %v", at)
		}
	}
}

// Facts for UCI Online Retail (UTC months) from an independent Python
// computation over the same valid lines.
func TestCohortsOnlineRetail(t *testing.T) {
	t.Parallel()
	d := rfmLoadUCI(t)
	start := time.Now()
	tab := Cohorts(d, time.UTC)
	t.Logf("cohorts on %d lines: %v; overall repurchase rate %.4f", d.Len(), time.Since(start), tab.RepurchaseRate)
	if len(tab.Cohorts) != 13 || tab.Customers != 4_338 || tab.RepeatCustomers != 2_845 {
		t.Fatalf("%d cohorts, %d customers, %d repeat; want 13 / 4,338 / 2,845", len(tab.Cohorts), tab.Customers, tab.RepeatCustomers)
	}
	first := tab.Cohorts[0]
	wantFirst := []int{885, 324, 286, 340, 321, 352, 321, 309, 313, 350, 331, 445, 235}
	if first.Month != "2010-12" || !slices.Equal(first.Active, wantFirst) || first.RepeatCustomers != 774 {
		t.Errorf("first cohort %s %v repeat %d", first.Month, first.Active, first.RepeatCustomers)
	}
	last := tab.Cohorts[12]
	if last.Month != "2011-12" || !slices.Equal(last.Active, []int{41}) || last.RepeatCustomers != 1 {
		t.Errorf("last cohort %s %v repeat %d", last.Month, last.Active, last.RepeatCustomers)
	}
}

// BenchmarkCohorts10M: monthly cohorts (Shanghai) on the ten million
// generated lines of BenchmarkRFMABC10M.
func BenchmarkCohorts10M(b *testing.B) {
	d := rfmBenchData()
	b.ReportAllocs()
	for b.Loop() {
		Cohorts(d, Shanghai)
	}
}

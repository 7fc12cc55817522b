package coupons

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/orders"
)

func TestOff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		terms    Terms
		eligible int64
		want     int64
	}{
		{"fixed", Terms{Kind: Fixed, AmountOff: 1000}, 9900, 1000},
		{"fixed above the goods is cut to them", Terms{Kind: Fixed, AmountOff: 5000}, 3000, 3000},
		{"threshold 50 off 300", Terms{Kind: Threshold, AmountOff: 5000, MinSpend: 30000}, 31000, 5000},
		{"percent rounds down", Terms{Kind: Percent, PercentOff: 15}, 9999, 1499},
		{"percent capped", Terms{Kind: Percent, PercentOff: 20, MaxOff: 3000}, 59900, 3000},
		{"percent under the cap", Terms{Kind: Percent, PercentOff: 20, MaxOff: 3000}, 9900, 1980},
		{"percent without cap", Terms{Kind: Percent, PercentOff: 50}, 123457, 61728},
		{"free shipping takes nothing off goods", Terms{Kind: FreeShipping}, 9900, 0},
		{"nothing eligible", Terms{Kind: Fixed, AmountOff: 1000}, 0, 0},
		{"percent of a huge amount does not overflow", Terms{Kind: Percent, PercentOff: 99}, 1 << 60, 1141392289560778506},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := c.terms.off(c.eligible); got != c.want {
				t.Fatalf("off(%d) = %d; want %d", c.eligible, got, c.want)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		off     int64
		amounts []int64
		want    []int64
	}{
		{"one line", 500, []int64{9900}, []int64{500}},
		{"in proportion", 3000, []int64{10000, 20000}, []int64{1000, 2000}},
		{"last takes the remainder", 100, []int64{100, 100, 100}, []int64{33, 33, 34}},
		{"no share exceeds its line", 2, []int64{1, 1, 1}, []int64{0, 1, 1}},
		{"all of it", 300, []int64{100, 100, 100}, []int64{100, 100, 100}},
		{"zero lines get nothing", 50, []int64{0, 100, 0}, []int64{0, 50, 0}},
		{"more than the lines is cut", 1000, []int64{100, 200}, []int64{100, 200}},
		{"nothing", 0, []int64{100}, []int64{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := spread(c.off, c.amounts); !slices.Equal(got, c.want) {
				t.Fatalf("spread(%d, %v) = %v; want %v", c.off, c.amounts, got, c.want)
			}
		})
	}
}

// TestSpreadProperty: for random lines and discounts the shares add up to
// the discount, and each lies between 0 and its line's amount.
func TestSpreadProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 2))
	for range 5000 {
		n := 1 + r.IntN(8)
		amounts := make([]int64, n)
		var total int64
		for i := range amounts {
			if r.IntN(5) > 0 {
				amounts[i] = r.Int64N(1_000_000)
			}
			total += amounts[i]
		}
		off := int64(0)
		if total > 0 {
			off = r.Int64N(total + 1)
		}
		shares := spread(off, amounts)
		var sum int64
		for i, s := range shares {
			if s < 0 || s > amounts[i] {
				t.Fatalf("spread(%d, %v) = %v: share %d outside 0..%d", off, amounts, shares, i, amounts[i])
			}
			sum += s
		}
		if sum != off {
			t.Fatalf("spread(%d, %v) = %v sums to %d", off, amounts, shares, sum)
		}
	}
}

// quote is a quote for member's order of lines.
func quote(mode fulfilment.Mode, member int64, lines ...orders.QuoteLine) *orders.Quote {
	return &orders.Quote{Mode: mode, Customer: orders.Customer{MemberID: &member}, Lines: lines}
}

func line(style, category string, qty, unit int64) orders.QuoteLine {
	return orders.QuoteLine{SKU: catalog.SKUFacts{Code: style + "-M", StyleCode: style, Category: category, ListPrice: unit, Active: true}, Qty: qty, UnitPrice: unit}
}

// TestApplyDiscounts checks the maths of applying coupons to quotes (no
// store: applyDiscount and the scope rules).
func TestApplyDiscounts(t *testing.T) {
	t.Parallel()
	tee := func() orders.QuoteLine { return line("TEE", "T恤", 2, 9900) }    // 19800
	coat := func() orders.QuoteLine { return line("COAT", "外套", 1, 59900) } // 59900
	cases := []struct {
		name  string
		terms Terms
		lines []orders.QuoteLine
		want  []int64 // discount per line
	}{
		{"fixed over all lines in proportion", Terms{Kind: Fixed, AmountOff: 5000, Scope: ScopeAll}, []orders.QuoteLine{tee(), coat()}, []int64{1242, 3758}},
		{"category scope takes only its lines", Terms{Kind: Fixed, AmountOff: 5000, Scope: ScopeCategories, Categories: []string{"外套"}},
			[]orders.QuoteLine{tee(), coat()}, []int64{0, 5000}},
		{"style scope", Terms{Kind: Percent, PercentOff: 10, Scope: ScopeStyles, Styles: []string{"TEE"}}, []orders.QuoteLine{tee(), coat()}, []int64{1980, 0}},
		{"percent with cap over two lines", Terms{Kind: Percent, PercentOff: 20, MaxOff: 10000, Scope: ScopeAll}, []orders.QuoteLine{tee(), coat()}, []int64{2484, 7516}},
		{"threshold 满减", Terms{Kind: Threshold, AmountOff: 5000, MinSpend: 30000, Scope: ScopeAll}, []orders.QuoteLine{tee(), coat()}, []int64{1242, 3758}},
		{"fixed larger than the scoped goods", Terms{Kind: Fixed, AmountOff: 30000, Scope: ScopeStyles, Styles: []string{"TEE"}}, []orders.QuoteLine{tee(), coat()}, []int64{19800, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			q := quote(fulfilment.Standard, 1, c.lines...)
			applyDiscount(q, Coupon{Code: "CODE", Name: "test", Terms: c.terms})
			var got []int64
			for _, l := range q.Lines {
				got = append(got, l.Discount)
				for _, a := range l.Adjustments {
					if a.Step != StepName || a.Code != "CODE" || a.Amount >= 0 || -a.Amount != l.Discount {
						t.Fatalf("adjustment %+v of a line discounted %d", a, l.Discount)
					}
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("discounts %v; want %v", got, c.want)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	sh := time.FixedZone("Asia/Shanghai", 8*3600)
	at := time.Date(2026, 3, 10, 22, 30, 0, 0, sh) // late evening in Shanghai
	until := time.Date(2026, 3, 12, 0, 0, 0, 0, sh)
	later := time.Date(2026, 4, 1, 0, 0, 0, 0, sh)
	early := time.Date(2026, 3, 11, 12, 0, 0, 0, sh)
	past := time.Date(2026, 3, 1, 0, 0, 0, 0, sh)
	cases := []struct {
		name      string
		tpl       Template
		from, end time.Time
		ok        bool
	}{
		{"2 days counting today", Template{ValidDays: 2}, at, until, true},
		{"days capped by the window", Template{ValidDays: 30, ValidUntil: &early}, at, early, true},
		{"window only", Template{ValidUntil: &later}, at, later, true},
		{"window starting later", Template{ValidFrom: &until, ValidUntil: &later}, until, later, true},
		{"days from a later start", Template{ValidFrom: &until, ValidDays: 1}, until, until.AddDate(0, 0, 1), true},
		{"over", Template{ValidUntil: &past}, at, past, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			from, end, ok := c.tpl.window(at)
			if !from.Equal(c.from) || !end.Equal(c.end) || ok != c.ok {
				t.Fatalf("window = %s, %s, %v; want %s, %s, %v", from, end, ok, c.from, c.end, c.ok)
			}
		})
	}
}

// TestApplyNeedsNoStoreWithoutCoupons: an order without coupons is not
// touched (the step reads nothing).
func TestApplyNeedsNoStoreWithoutCoupons(t *testing.T) {
	t.Parallel()
	s := &Service{now: time.Now}
	q := quote(fulfilment.Pickup, 1, line("TEE", "T恤", 1, 9900))
	if err := s.Apply(context.Background(), q); err != nil || q.Lines[0].Discount != 0 || len(q.Order) != 0 {
		t.Fatalf("apply without coupons: %v %+v", err, q)
	}
}

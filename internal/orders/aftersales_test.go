package orders_test

import (
	"math/rand/v2"
	"testing"

	"github.com/omni-retail/omni/internal/orders"
)

func TestRefundShare(t *testing.T) {
	t.Parallel()
	type L = orders.ShareLine
	cases := []struct {
		name     string
		lines    []L
		discount int64
		want     int64
	}{
		{"whole line", []L{{Line: 1, Qty: 2, Amount: 19800, Now: 2}}, 0, 19800},
		{"one of two units", []L{{Line: 1, Qty: 2, Amount: 19800, Now: 1}}, 0, 9900},
		{"odd amount: first unit rounds down", []L{{Line: 1, Qty: 3, Amount: 1000, Now: 1}}, 0, 333},
		{"odd amount: last unit takes the remainder", []L{{Line: 1, Qty: 3, Amount: 1000, Done: 2, Now: 1}}, 0, 334},
		{"nothing given back now", []L{{Line: 1, Qty: 3, Amount: 1000, Done: 1}}, 0, 0},
		{"only the lines given back count", []L{{Line: 1, Qty: 1, Amount: 5000}, {Line: 2, Qty: 1, Amount: 3000, Now: 1}}, 0, 3000},
		// Order discount 1000 over 5000 + 3000: line 1 bears 625, line 2 the remaining 375.
		{"order discount by amount", []L{{Line: 1, Qty: 1, Amount: 5000, Now: 1}, {Line: 2, Qty: 1, Amount: 3000}}, 1000, 4375},
		{"order discount: last line takes the remainder", []L{{Line: 1, Qty: 1, Amount: 5000}, {Line: 2, Qty: 1, Amount: 3000, Now: 1}}, 1000, 2625},
		{"order discount above the goods", []L{{Line: 1, Qty: 1, Amount: 500, Now: 1}}, 900, 0},
		{"free line", []L{{Line: 1, Qty: 2, Amount: 0, Now: 2}}, 0, 0},
		{"more than the line", []L{{Line: 1, Qty: 2, Amount: 2000, Done: 1, Now: 5}}, 0, 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := orders.RefundShare(c.lines, c.discount); got != c.want {
				t.Fatalf("RefundShare = %d; want %d", got, c.want)
			}
		})
	}
}

// However a line's units come back, one by one or in batches, the
// refunds add up to exactly what the order paid for its goods.
func TestRefundShareAddsUp(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		n := 1 + r.IntN(4)
		lines := make([]orders.ShareLine, n)
		var goods int64
		for i := range lines {
			lines[i] = orders.ShareLine{Line: i + 1, Qty: 1 + r.Int64N(7), Amount: r.Int64N(100_000)}
			goods += lines[i].Amount
		}
		disc := r.Int64N(goods + 1)
		var total int64
		for i := range lines {
			for lines[i].Done < lines[i].Qty {
				lines[i].Now = 1 + r.Int64N(lines[i].Qty-lines[i].Done)
				part := orders.RefundShare(lines, disc)
				if part < 0 {
					t.Fatalf("negative refund %d for %+v", part, lines)
				}
				total += part
				lines[i].Done += lines[i].Now
				lines[i].Now = 0
			}
		}
		if total != goods-disc {
			t.Fatalf("refunds add up to %d; the goods were paid %d (lines %+v, order discount %d)", total, goods-disc, lines, disc)
		}
	}
}

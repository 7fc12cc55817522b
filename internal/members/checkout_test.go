package members_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// checkout places a pickup order at SH-NJD.
func (f *fixture) checkout(member *int64, points int64, lines ...orders.LineRequest) (orders.Order, error) {
	c := orders.Customer{MemberID: member}
	if member == nil {
		c.Mobile = "13700137000"
	}
	return f.ord.Checkout(context.Background(), orders.CheckoutRequest{Channel: "app", Mode: fulfilment.Pickup, Store: "SH-NJD",
		Customer: c, Lines: lines, Redeem: orders.Redeem{Points: points}})
}

func tee(qty int64) orders.LineRequest { return orders.LineRequest{SKU: "TEE-BLK-M", Qty: qty} }

func (f *fixture) growth(t testing.TB, id int64) int64 {
	t.Helper()
	var g int64
	if err := f.d.QueryRow(context.Background(), `SELECT growth FROM members WHERE id = ?`, id).Scan(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestCheckoutRoundTrip: a gold member's order gets the tier discount and
// takes points as part payment; paying earns points at the gold
// multiplier; two half refunds give back the spent points and take back
// the earned ones, ending where the member started.
func TestCheckoutRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		if _, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: 1000, Growth: 5000, Reason: "history"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.checkout(&id, 3000, tee(2))
		wantCode(t, err, errs.Conflict, "insufficient_points")
		o, err := f.checkout(&id, 800, tee(2))
		if err != nil {
			t.Fatal(err)
		}
		// 2 × 100 CNY; gold 5 % off (1,000 fen); 800 points = 8 CNY.
		if o.Subtotal != 20000 || o.Discount != 1800 || o.Total != 18200 {
			t.Fatalf("order %d/%d/%d; want subtotal 20000, discount 1800, total 18200", o.Subtotal, o.Discount, o.Total)
		}
		steps := []string{}
		for _, a := range o.Lines[0].Adjustments {
			steps = append(steps, a.Step+":"+a.Code)
		}
		if !slices.Equal(steps, []string{"list_price:", "tier_discount:gold", "points:"}) {
			t.Fatalf("line adjustments %v", steps)
		}
		if got := f.balance(t, id); got != 200 {
			t.Fatalf("balance after placing %d, want 200", got)
		}
		if _, err := f.ord.Pay(ctx, o.ID, orders.PayRequest{Provider: "test"}); err != nil {
			t.Fatal(err)
		}
		// 182 CNY of goods × 1 point × 150 % = 273 points; 182 growth.
		if got, g := f.balance(t, id), f.growth(t, id); got != 473 || g != 5182 {
			t.Fatalf("after paying: balance %d growth %d; want 473, 5182", got, g)
		}
		steps2 := []struct{ balance, growth int64 }{{200 + 273 - 136 + 400, 5182 - 91}, {1000, 5000}}
		for i, want := range steps2 {
			if _, err := f.ord.Refund(ctx, o.ID, orders.RefundRequest{Amount: 9100, Reason: "return"}); err != nil {
				t.Fatal(err)
			}
			if got, g := f.balance(t, id), f.growth(t, id); got != want.balance || g != want.growth {
				t.Fatalf("after refund %d: balance %d growth %d; want %d, %d", i+1, got, g, want.balance, want.growth)
			}
		}
		f.consistent(t)
	})
}

func TestCheckoutPointsRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		id := f.member(t)
		f.award(t, id, 20000)
		tests := []struct {
			name   string
			points int64
			kind   errs.Kind
			code   string
		}{
			{"over the 50 % cap", 5001, errs.Invalid, "points_over_cap"},
			{"far over", 20000, errs.Invalid, "points_over_cap"},
			{"more than the balance", 20001, errs.Conflict, "insufficient_points"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.checkout(&id, tc.points, tee(1))
				wantCode(t, err, tc.kind, tc.code)
				if e, _ := errs.As(err); e.Extra["field"] != "points" {
					t.Fatalf("field %v, want points", e.Extra["field"])
				}
				if got := f.balance(t, id); got != 20000 {
					t.Fatalf("balance %d", got)
				}
			})
		}
		o, err := f.checkout(&id, 5000, tee(1))
		if err != nil || o.Total != 5000 {
			t.Fatalf("at the cap: %v total %d", err, o.Total)
		}
		if _, err := f.ord.Cancel(context.Background(), o.ID, orders.CancelRequest{Reason: "changed mind"}); err != nil {
			t.Fatal(err)
		}
		if got := f.balance(t, id); got != 20000 {
			t.Fatalf("balance after cancelling an unpaid order %d, want 20000", got)
		}
		f.consistent(t)
	})
}

// TestConcurrentCheckoutsSpendingPoints: checkouts that all pass the
// price step race in OrderPlaced; the balance decides.
func TestConcurrentCheckoutsSpendingPoints(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		id := f.member(t)
		f.award(t, id, 1000)
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				_, err := f.checkout(&id, 400, tee(1))
				switch {
				case err == nil:
					ok.Add(1)
				case isCode(err, "insufficient_points"):
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 2 || refused.Load() != 4 {
			t.Fatalf("%d checkouts placed, %d refused; want 2 and 4", ok.Load(), refused.Load())
		}
		if got := f.balance(t, id); got != 200 {
			t.Fatalf("balance %d, want 200", got)
		}
		var orderCount int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM orders`).Scan(&orderCount); err != nil || orderCount != 2 {
			t.Fatalf("%d orders stored (%v): the losers must roll back", orderCount, err)
		}
		f.consistent(t)
	})
}

// TestCancelPaidOrderWithShortfall: a paid order's earnings are taken back
// on cancellation; points already spent elsewhere leave a shortfall and
// the balance stops at zero.
func TestCancelPaidOrderWithShortfall(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		o, err := f.checkout(&id, 0, orders.LineRequest{SKU: "COAT-BLK-M", Qty: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ord.Pay(ctx, o.ID, orders.PayRequest{Provider: "test"}); err != nil {
			t.Fatal(err)
		}
		if got := f.balance(t, id); got != 600 {
			t.Fatalf("earned %d, want 600", got)
		}
		if _, err := f.mem.Spend(ctx, id, 450, "mall:1", "gift"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ord.Cancel(ctx, o.ID, orders.CancelRequest{Reason: "out of stock"}); err != nil {
			t.Fatal(err)
		}
		if got := f.balance(t, id); got != 0 {
			t.Fatalf("balance %d after taking back 600 of 150, want 0", got)
		}
		var reversed, shortfall int64
		if err := d.QueryRow(ctx, `SELECT points_reversed, points_shortfall FROM member_orders WHERE order_id = ?`, o.ID).Scan(&reversed, &shortfall); err != nil {
			t.Fatal(err)
		}
		if reversed != 150 || shortfall != 450 {
			t.Fatalf("reversed %d, shortfall %d; want 150 and 450", reversed, shortfall)
		}
		f.consistent(t)
	})
}

func TestMemberOnlySale(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		if _, err := f.mem.CreateSale(ctx, members.MemberSale{Style: "NOPE", MinTier: 1, StartsAt: start, EndsAt: start.Add(time.Hour)}); !isCode(err, "style_not_found") {
			t.Fatalf("sale of an unknown style: %v", err)
		}
		if _, err := f.mem.CreateSale(ctx, members.MemberSale{Style: "TEE", MinTier: 2, StartsAt: start.Add(-time.Hour), EndsAt: start.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		silver, gold := f.member(t), f.member(t)
		for id, g := range map[int64]int64{silver: 1000, gold: 5000} {
			if _, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: 1, Growth: g, Reason: "history"}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name   string
			member *int64
			lines  []orders.LineRequest
			code   string
		}{
			{"guest", nil, []orders.LineRequest{tee(1)}, "members_only"},
			{"silver", &silver, []orders.LineRequest{{SKU: "COAT-BLK-M", Qty: 1}, tee(1)}, "tier_too_low"},
			{"gold", &gold, []orders.LineRequest{tee(1)}, ""},
			{"guest, another style", nil, []orders.LineRequest{{SKU: "COAT-BLK-M", Qty: 1}}, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.checkout(tc.member, 0, tc.lines...)
				if tc.code == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantCode(t, err, errs.Forbidden, tc.code)
				if e, _ := errs.As(err); e.Extra["field"] != fmt.Sprintf("lines[%d].sku", len(tc.lines)-1) {
					t.Fatalf("field %v", e.Extra["field"])
				}
			})
		}
		// After the window anyone may buy.
		f.clk.Add(2 * time.Hour)
		if _, err := f.checkout(nil, 0, tee(1)); err != nil {
			t.Fatalf("a guest after the sale: %v", err)
		}
		sales, err := f.mem.Sales(ctx)
		if err != nil || len(sales) != 0 {
			t.Fatalf("sales after the window: %v %v", sales, err)
		}
	})
}

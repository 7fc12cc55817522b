package coupons_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/coupons"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// lineAdjustments returns the coupons step's adjustments of an order
// line by coupon code.
func lineAdjustments(l orders.Line) map[string]int64 {
	out := map[string]int64{}
	for _, a := range l.Adjustments {
		if a.Step == coupons.StepName {
			out[a.Code] += a.Amount
		}
	}
	return out
}

// TestCheckoutCoupons runs coupons through the orders service: scoped and
// stacked discounts recorded per line with the coupon's code, the
// refusals with their reasons, free shipping, and release on cancel.
func TestCheckoutCoupons(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "M50", Terms: coupons.Terms{Kind: coupons.Threshold, AmountOff: 5000, MinSpend: 30000}})
		f.template(t, coupons.NewTemplate{Code: "COAT10", Terms: coupons.Terms{Kind: coupons.Percent, PercentOff: 10, Scope: coupons.ScopeCategories, Categories: []string{"外套"}}})
		f.template(t, coupons.NewTemplate{Code: "PLUS10", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}, Stackable: true})
		f.template(t, coupons.NewTemplate{Code: "SHIP", Terms: coupons.Terms{Kind: coupons.FreeShipping}})
		f.template(t, coupons.NewTemplate{Code: "TODAY", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}, ValidDays: 1})
		alice, bob := f.mem.add(t, 0, 0), f.mem.add(t, 0, 0)

		// Below the threshold: 422 naming the threshold and the goods.
		m50 := f.issue(t, "M50", alice)
		_, err := f.ord.Checkout(ctx, pickup(alice, []string{m50.Code}, ln("TEE-M", 2)))
		e := wantErr(t, err, errs.Invalid, "coupon_threshold_not_met")
		if e.Extra["threshold"] != int64(30000) || e.Extra["goods_amount"] != int64(19800) || e.Extra["field"] != "coupons[0]" {
			t.Fatalf("threshold refusal %+v", e)
		}

		// A category coupon and a stackable one: 10% off the coat line only,
		// then 10 CNY spread over both lines in proportion.
		coat10, plus := f.issue(t, "COAT10", alice), f.issue(t, "PLUS10", alice)
		o, err := f.ord.Checkout(ctx, pickup(alice, []string{coat10.Code, plus.Code}, ln("TEE-M", 1), ln("COAT-M", 1)))
		if err != nil {
			t.Fatal(err)
		}
		tee, coat := lineAdjustments(o.Lines[0]), lineAdjustments(o.Lines[1])
		if tee[coat10.Code] != 0 || coat[coat10.Code] != -5990 || tee[plus.Code] != -155 || coat[plus.Code] != -845 || o.Discount != 6990 || o.Total != 69800-6990 {
			t.Fatalf("discounts: tee %v coat %v discount %d total %d", tee, coat, o.Discount, o.Total)
		}
		for _, code := range []string{coat10.Code, plus.Code} {
			if c, _ := f.cs.Coupon(ctx, code); c.Status != coupons.Used || c.OrderID == nil || *c.OrderID != o.ID {
				t.Fatalf("coupon %s after the order: %+v", code, c)
			}
		}

		// Used, someone else's, expired, two non-stackable: refused with the reason.
		_, err = f.ord.Checkout(ctx, pickup(alice, []string{coat10.Code}, ln("COAT-M", 1)))
		wantErr(t, err, errs.Conflict, "coupon_used")
		_, err = f.ord.Checkout(ctx, pickup(bob, []string{m50.Code}, ln("COAT-M", 1)))
		wantErr(t, err, errs.Conflict, "coupon_not_yours")
		m50b := f.issue(t, "M50", alice)
		_, err = f.ord.Checkout(ctx, pickup(alice, []string{m50.Code, m50b.Code}, ln("COAT-M", 1)))
		if e := wantErr(t, err, errs.Invalid, "coupon_not_stackable"); e.Extra["field"] != "coupons[1]" {
			t.Fatalf("stacking refusal %+v", e)
		}
		_, err = f.ord.Checkout(ctx, pickup(alice, []string{"NOSUCHCOUPON"}, ln("COAT-M", 1)))
		wantErr(t, err, errs.NotFound, "coupon_not_found")

		// Free shipping waives the standard delivery fee, and is refused for pickup.
		ship := f.issue(t, "SHIP", alice)
		deliver := orders.CheckoutRequest{Channel: "shop", Mode: "standard", Customer: orders.Customer{MemberID: &alice},
			Address: &orders.Address{Province: "上海市", City: "上海市", Address: "黄浦区人民大道 200 号"}, Lines: []orders.LineRequest{ln("SOCK-M", 1)}}
		plain, err := f.ord.Checkout(ctx, deliver)
		if err != nil || plain.ShippingFee != 1000 {
			t.Fatalf("standard delivery without a coupon: fee %d, %v", plain.ShippingFee, err)
		}
		_, err = f.ord.Checkout(ctx, pickup(alice, []string{ship.Code}, ln("SOCK-M", 1)))
		wantErr(t, err, errs.Invalid, "coupon_not_applicable")
		deliver.Coupons = []string{ship.Code}
		free, err := f.ord.Checkout(ctx, deliver)
		if err != nil || free.ShippingFee != 0 || free.Total != 2900 {
			t.Fatalf("free shipping: fee %d total %d, %v", free.ShippingFee, free.Total, err)
		}

		// Cancel releases the coupons: usable again.
		if _, err := f.ord.Cancel(ctx, o.ID, orders.CancelRequest{Reason: "changed my mind"}); err != nil {
			t.Fatal(err)
		}
		if c, _ := f.cs.Coupon(ctx, coat10.Code); c.Status != coupons.Available || c.OrderID != nil {
			t.Fatalf("released coupon: %+v", c)
		}
		if _, err := f.ord.Checkout(ctx, pickup(alice, []string{" " + strings.ToLower(coat10.Code)}, ln("COAT-M", 1))); err != nil {
			t.Fatalf("coupon after release: %v", err)
		}

		// A coupon used by an order cancelled after its validity comes back expired.
		today := f.issue(t, "TODAY", alice)
		late, err := f.ord.Checkout(ctx, pickup(alice, []string{today.Code}, ln("TEE-M", 1)))
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Add(10 * time.Hour) // past midnight in Shanghai
		if _, err := f.ord.Cancel(ctx, late.ID, orders.CancelRequest{}); err != nil {
			t.Fatal(err)
		}
		if c, _ := f.cs.Coupon(ctx, today.Code); c.Status != coupons.Expired || c.OrderID != nil {
			t.Fatalf("coupon released after its validity: %+v", c)
		}
		_, err = f.ord.Checkout(ctx, pickup(alice, []string{today.Code}, ln("TEE-M", 1)))
		wantErr(t, err, errs.Conflict, "coupon_expired")

		// A revoked coupon.
		m50c := f.issue(t, "M50", alice)
		if _, err := f.cs.Revoke(ctx, m50c.Code, coupons.RevokeRequest{}); err != nil {
			t.Fatal(err)
		}
		_, err = f.ord.Checkout(ctx, pickup(alice, []string{m50c.Code}, ln("COAT-M", 1)))
		wantErr(t, err, errs.Conflict, "coupon_revoked")
	})
}

// TestConcurrentCheckoutsOneCoupon: the same coupon in 20 concurrent
// checkouts (over different SKUs, so that on PostgreSQL they commit in
// different transactions) — exactly one order gets it; the others are
// refused 409 coupon_used and leave nothing behind.
func TestConcurrentCheckoutsOneCoupon(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "ONCE", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}})
		m := f.mem.add(t, 0, 0)
		c := f.issue(t, "ONCE", m)
		skus := []string{"TEE-M", "COAT-M", "SOCK-M"}
		const n = 20
		type result struct {
			o   orders.Order
			err error
		}
		results := make(chan result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				o, err := f.ord.Checkout(ctx, pickup(m, []string{c.Code}, ln(skus[i%len(skus)], 1)))
				results <- result{o, err}
			})
		}
		wg.Wait()
		close(results)
		var winner orders.Order
		won := 0
		for r := range results {
			switch {
			case r.err == nil:
				won++
				winner = r.o
			case isCode(r.err, "coupon_used"):
			default:
				t.Errorf("checkout: %v", r.err)
			}
		}
		if won != 1 {
			t.Fatalf("%d checkouts used the coupon; want exactly 1", won)
		}
		got, err := f.cs.Coupon(ctx, c.Code)
		if err != nil || got.Status != coupons.Used || got.OrderID == nil || *got.OrderID != winner.ID {
			t.Fatalf("coupon %+v, %v; want used by order %d", got, err, winner.ID)
		}
		var placed int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE member_id = ?`, m).Scan(&placed); err != nil || placed != 1 {
			t.Fatalf("%d orders stored, %v; want 1", placed, err)
		}
		var reserved int64
		if err := d.QueryRow(ctx, `SELECT COALESCE(SUM(reserved), 0) FROM stock_levels`).Scan(&reserved); err != nil || reserved != 1 {
			t.Fatalf("%d units reserved, %v; want 1", reserved, err)
		}
	})
}

// TestOrderPlacedRace calls the OrderPlaced hook for 12 orders in
// concurrent transactions, each with a quote that applied the same
// coupon: exactly one takes it, whatever the engine's interleaving.
func TestOrderPlacedRace(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "ONCE", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}})
		m := f.mem.add(t, 0, 0)
		c := f.issue(t, "ONCE", m)
		const n = 12
		ids := make([]int64, n)
		for i := range ids {
			o, err := f.ord.Checkout(ctx, pickup(m, nil, ln("TEE-M", 1)))
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = o.ID
		}
		q := &orders.Quote{Coupons: []string{c.Code}, Lines: []orders.QuoteLine{{Adjustments: []orders.Adjustment{
			{Step: "list_price", Amount: 9900}, {Step: coupons.StepName, Code: c.Code, Amount: -1000}}}}}
		errsOf := make([]error, n)
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				errsOf[i] = d.Write(ctx, func(tx *db.Tx) error {
					return f.cs.OrderPlaced(tx, orders.OrderFacts{ID: id, MemberID: m, At: f.clk.Now().UnixMilli()}, q)
				})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errsOf {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Fatalf("orders %d and %d both took the coupon", ids[won], ids[i])
			case !isCode(err, "coupon_used"):
				t.Fatalf("order %d: %v", ids[i], err)
			}
		}
		if won < 0 {
			t.Fatal("no order took the coupon")
		}
		if got, _ := f.cs.Coupon(ctx, c.Code); got.OrderID == nil || *got.OrderID != ids[won] {
			t.Fatalf("coupon %+v; want used by order %d", got, ids[won])
		}
		// Another member's order cannot take it either.
		other := f.mem.add(t, 0, 0)
		err := d.Write(ctx, func(tx *db.Tx) error {
			return f.cs.OrderCancelled(tx, orders.OrderFacts{ID: ids[won], MemberID: m, At: f.clk.Now().UnixMilli()})
		})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			return f.cs.OrderPlaced(tx, orders.OrderFacts{ID: ids[0], MemberID: other, At: f.clk.Now().UnixMilli()}, q)
		})
		wantErr(t, err, errs.Conflict, "coupon_not_yours")
	})
}

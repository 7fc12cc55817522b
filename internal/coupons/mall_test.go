package coupons_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omni-retail/omni/internal/coupons"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func TestMall(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "TEN", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}, TotalLimit: 1})
		if _, err := f.cs.CreateMallItem(ctx, coupons.NewMallItem{Code: "C10", Name: "10元券", Kind: coupons.CouponItem, Points: 1000, Template: "TEN"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.cs.CreateMallItem(ctx, coupons.NewMallItem{Code: "MUG", Name: "马克杯", Kind: coupons.GiftItem, Points: 800, Stock: ptr[int64](3)}); err != nil {
			t.Fatal(err)
		}
		_, err := f.cs.CreateMallItem(ctx, coupons.NewMallItem{Code: "BAD", Name: "x", Kind: coupons.GiftItem, Points: 1})
		wantErr(t, err, errs.Invalid, "validation_failed") // a gift needs stock
		_, err = f.cs.CreateMallItem(ctx, coupons.NewMallItem{Code: "BAD", Name: "x", Kind: coupons.CouponItem, Points: 1, Template: "NOPE"})
		wantErr(t, err, errs.NotFound, "coupon_template_not_found")
		rich, poor := f.mem.add(t, 0, 5000), f.mem.add(t, 0, 700)

		// A coupon for points: issued at once, points spent in the same transaction.
		r, err := f.cs.Redeem(ctx, "C10", coupons.RedeemRequest{MemberID: rich})
		if err != nil || r.Status != "issued" || len(r.Coupons) != 1 || r.Points != 1000 {
			t.Fatalf("redeem coupon: %+v %v", r, err)
		}
		if c, err := f.cs.Coupon(ctx, r.Coupons[0]); err != nil || c.MemberID != rich || c.Status != coupons.Available || c.Source == "" {
			t.Fatalf("redeemed coupon %+v %v", c, err)
		}
		if p := f.mem.points(t, rich); p != 4000 {
			t.Fatalf("points after redeeming %d; want 4000", p)
		}
		// The template's limit refuses the next one, and nothing is spent.
		_, err = f.cs.Redeem(ctx, "C10", coupons.RedeemRequest{MemberID: rich})
		wantErr(t, err, errs.Conflict, "coupon_limit_reached")
		if p := f.mem.points(t, rich); p != 4000 {
			t.Fatalf("points after a refused redemption %d; want 4000", p)
		}

		// Not enough points: 409 from the members module; the stock stays.
		_, err = f.cs.Redeem(ctx, "MUG", coupons.RedeemRequest{MemberID: poor, Delivery: "store", Store: "SH-NJD"})
		wantErr(t, err, errs.Conflict, "insufficient_points")
		if it, _ := f.cs.MallItem(ctx, "MUG"); *it.Stock != 3 || it.Redeemed != 0 {
			t.Fatalf("stock after a refused redemption: %+v", it)
		}
		list, _, err := f.cs.ListRedemptions(ctx, coupons.RedemptionFilter{Member: poor})
		if err != nil || len(list) != 0 {
			t.Fatalf("a refused redemption was recorded: %+v %v", list, err)
		}

		// Bad requests.
		_, err = f.cs.Redeem(ctx, "MUG", coupons.RedeemRequest{MemberID: rich})
		wantErr(t, err, errs.Invalid, "validation_failed")
		_, err = f.cs.Redeem(ctx, "MUG", coupons.RedeemRequest{MemberID: rich, Delivery: "store", Store: "CW-JX"})
		wantErr(t, err, errs.Invalid, "not_a_store")
		_, err = f.cs.Redeem(ctx, "MUG", coupons.RedeemRequest{MemberID: rich, Qty: 4, Delivery: "delivery", Address: "上海市黄浦区"})
		wantErr(t, err, errs.Conflict, "mall_out_of_stock")

		// Collection at a store: pending → ready → collected.
		r, err = f.cs.Redeem(ctx, "MUG", coupons.RedeemRequest{MemberID: rich, Delivery: "store", Store: "SH-NJD"})
		if err != nil || r.Status != "pending" || r.Store != "SH-NJD" || r.Points != 800 {
			t.Fatalf("redeem gift: %+v %v", r, err)
		}
		_, err = f.cs.UpdateRedemption(ctx, r.ID, coupons.RedemptionUpdate{Status: "shipped"})
		wantErr(t, err, errs.Conflict, "redemption_state")
		for _, st := range []string{"ready", "collected"} {
			if r, err = f.cs.UpdateRedemption(ctx, r.ID, coupons.RedemptionUpdate{Status: st}); err != nil || r.Status != st {
				t.Fatalf("to %s: %+v %v", st, r, err)
			}
		}
		_, err = f.cs.UpdateRedemption(ctx, r.ID, coupons.RedemptionUpdate{Status: "cancelled"})
		wantErr(t, err, errs.Conflict, "redemption_state")

		// A delivery of two, cancelled: stock and points come back.
		r, err = f.cs.Redeem(ctx, "MUG", coupons.RedeemRequest{MemberID: rich, Qty: 2, Delivery: "delivery", Address: "上海市黄浦区人民大道 200 号"})
		if err != nil || r.Points != 1600 {
			t.Fatalf("redeem two: %+v %v", r, err)
		}
		if p := f.mem.points(t, rich); p != 4000-800-1600 {
			t.Fatalf("points %d; want %d", p, 4000-800-1600)
		}
		if it, _ := f.cs.MallItem(ctx, "MUG"); *it.Stock != 0 || it.Redeemed != 3 {
			t.Fatalf("stock after three redeemed: %+v", it)
		}
		if _, err = f.cs.UpdateRedemption(ctx, r.ID, coupons.RedemptionUpdate{Status: "cancelled", Note: "address unreachable"}); err != nil {
			t.Fatal(err)
		}
		if it, _ := f.cs.MallItem(ctx, "MUG"); *it.Stock != 2 || it.Redeemed != 1 {
			t.Fatalf("stock after the cancel: %+v", it)
		}
		if p := f.mem.points(t, rich); p != 4000-800 {
			t.Fatalf("points after the cancel %d; want %d", p, 4000-800)
		}
		// Restocking never goes below zero.
		_, err = f.cs.UpdateMallItem(ctx, "MUG", coupons.MallItemPatch{AddStock: ptr[int64](-3)})
		wantErr(t, err, errs.Conflict, "mall_out_of_stock")
		if it, err := f.cs.UpdateMallItem(ctx, "MUG", coupons.MallItemPatch{AddStock: ptr[int64](10), Points: ptr[int64](900)}); err != nil || *it.Stock != 12 || it.Points != 900 {
			t.Fatalf("restock: %+v %v", it, err)
		}
	})
}

// TestMallStockNeverNegative: 30 members redeem a gift with 7 units, one
// or two units each, at once: exactly the stock is handed out, never
// more, and only the winners pay.
func TestMallStockNeverNegative(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		if _, err := f.cs.CreateMallItem(ctx, coupons.NewMallItem{Code: "BAG", Name: "帆布袋", Kind: coupons.GiftItem, Points: 100, Stock: ptr[int64](7)}); err != nil {
			t.Fatal(err)
		}
		members := make([]int64, 30)
		for i := range members {
			members[i] = f.mem.add(t, 0, 1000)
		}
		var units, refused atomic.Int64
		var wg sync.WaitGroup
		for i, m := range members {
			wg.Go(func() {
				qty := int64(1 + i%2)
				_, err := f.cs.Redeem(ctx, "BAG", coupons.RedeemRequest{MemberID: m, Qty: qty, Delivery: "store", Store: "SH-NJD"})
				switch {
				case err == nil:
					units.Add(qty)
				case isCode(err, "mall_out_of_stock"):
					refused.Add(1)
				default:
					t.Errorf("redeem: %v", err)
				}
			})
		}
		wg.Wait()
		it, err := f.cs.MallItem(ctx, "BAG")
		if err != nil {
			t.Fatal(err)
		}
		if *it.Stock < 0 || *it.Stock+units.Load() != 7 || it.Redeemed != units.Load() || units.Load() < 6 {
			t.Fatalf("stock %d, redeemed %d, units handed out %d (refused %d); want stock + handed out = 7", *it.Stock, it.Redeemed, units.Load(), refused.Load())
		}
		var spent int64
		for _, m := range members {
			spent += 1000 - f.mem.points(t, m)
		}
		if spent != 100*units.Load() {
			t.Fatalf("%d points spent for %d units", spent, units.Load())
		}
	})
}

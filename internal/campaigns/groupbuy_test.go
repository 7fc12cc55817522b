package campaigns_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/campaigns"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// TestGroupForms: three members open and join a group at the group price,
// the group forms on the third payment (once), the orders go on to
// fulfilment, and neither a fourth member nor the failure worker can
// change a formed group.
func TestGroupForms(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.deal(t, "TEE-3", 3, 1)
		if got := f.ord.Pricing.Steps(); got[1] != campaigns.StepName {
			t.Fatalf("price steps %v: want %s second", got, campaigns.StepName)
		}
		open, err := f.svc.OpenGroup(ctx, "TEE-3", join(1))
		if err != nil {
			t.Fatal(err)
		}
		g := open.Group
		if g.Status != campaigns.Forming || g.Held != 1 || g.Joined != 0 || g.Size != 3 || g.Leader != 1 {
			t.Fatalf("opened group %+v", g)
		}
		if !g.ExpiresAt.Equal(f.clk.Now().Add(24 * time.Hour)) {
			t.Fatalf("expires %s, want 24 h after %s", g.ExpiresAt, f.clk.Now())
		}
		o := open.Order
		if o.Total != 5900 || o.Discount != 4000 || o.Status != orders.Created {
			t.Fatalf("group order total %d discount %d status %s: want 5900, 4000, created", o.Total, o.Discount, o.Status)
		}
		if a := o.Lines[0].Adjustments; len(a) != 2 || a[1].Step != campaigns.StepName || a[1].Code != "TEE-3" || a[1].Amount != -4000 {
			t.Fatalf("line adjustments %+v", a)
		}
		ids := []int64{o.ID}
		for _, m := range []int64{2, 3} {
			j, err := f.svc.JoinGroup(ctx, g.ID, join(m))
			if err != nil {
				t.Fatalf("member %d joins: %v", m, err)
			}
			ids = append(ids, j.Order.ID)
		}
		// every seat is held (unpaid): a fourth member is refused
		_, err = f.svc.JoinGroup(ctx, g.ID, join(4))
		wantCode(t, err, "group_full")
		for i, id := range ids {
			f.pay(t, id)
			if i == 0 {
				// paid, but its group has not formed: not picked yet
				_, err := f.ord.Pick(ctx, id)
				wantCode(t, err, "group_not_formed")
			}
			g, err = f.svc.GetGroup(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := campaigns.Forming
			if i == 2 {
				want = campaigns.Formed
			}
			if g.Joined != i+1 || g.Status != want {
				t.Fatalf("after payment %d: joined %d status %s, want %d %s", i+1, g.Joined, g.Status, i+1, want)
			}
		}
		if g.FormedAt == nil || len(g.Members) != 3 {
			t.Fatalf("formed group %+v", g)
		}
		for _, m := range g.Members {
			if m.Status != campaigns.MemberConfirmed || m.PaidAt == nil {
				t.Fatalf("member %+v: want confirmed and paid", m)
			}
		}
		if n := f.events(t, "group_buy.formed", group(g.ID)); n != 1 {
			t.Fatalf("%d group_buy.formed events, want 1", n)
		}
		for _, id := range ids {
			o, err := f.ord.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != orders.Allocated || o.Paid != 5900 {
				t.Fatalf("order %d: %s paid %d, want allocated 5900", id, o.Status, o.Paid)
			}
		}
		_, err = f.svc.JoinGroup(ctx, g.ID, join(4))
		wantCode(t, err, "group_closed")
		// formed: the orders go to fulfilment
		if o, err := f.ord.Pick(ctx, ids[1]); err != nil || o.Status != orders.Picking {
			t.Fatalf("pick a formed group's order: %v, %v", o.Status, err)
		}
		f.clk.Add(25 * time.Hour)
		res, err := f.svc.FailExpired(ctx, 100)
		if err != nil || res != (campaigns.FailResult{}) {
			t.Fatalf("fail pass over a formed group: %+v, %v", res, err)
		}
		if o, _ := f.ord.Get(ctx, ids[0]); o.Status != orders.Allocated {
			t.Fatalf("a formed group's order became %s", o.Status)
		}
		// a later cancellation leaves the formed group as it is
		if _, err := f.ord.Cancel(ctx, ids[2], orders.CancelRequest{Reason: "changed my mind"}); err != nil {
			t.Fatal(err)
		}
		if g2, _ := f.svc.GetGroup(ctx, g.ID); g2.Status != campaigns.Formed || g2.Joined != 3 {
			t.Fatalf("formed group after a cancellation: %+v", g2)
		}
	})
}

// TestGroupFails: a group that does not fill in time fails; every live
// member order is cancelled — paid ones refunded in full, a late payment
// too, an unpaid one just cancelled — the stock is released, the members'
// allowance comes back, and a second pass changes nothing.
func TestGroupFails(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.deal(t, "TEE-4", 4, 1)
		open, err := f.svc.OpenGroup(ctx, "TEE-4", join(1))
		if err != nil {
			t.Fatal(err)
		}
		gid := open.Group.ID
		ids := []int64{open.Order.ID}
		for _, m := range []int64{2, 3, 4} {
			j, err := f.svc.JoinGroup(ctx, gid, join(m))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, j.Order.ID)
		}
		if r := f.reserved(t, "TEE-BLK-M"); r != 4 {
			t.Fatalf("reserved %d, want 4", r)
		}
		f.pay(t, ids[0])
		f.pay(t, ids[1])
		// a cancelled paid member frees the seat and is refunded
		if _, err := f.ord.Cancel(ctx, ids[1], orders.CancelRequest{Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		g, _ := f.svc.GetGroup(ctx, gid)
		if g.Held != 3 || g.Joined != 1 {
			t.Fatalf("after a paid member cancelled: held %d joined %d, want 3 and 1", g.Held, g.Joined)
		}
		j, err := f.svc.JoinGroup(ctx, gid, join(5))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.Order.ID)
		f.pay(t, j.Order.ID)
		// the window runs out; member 3 pays afterwards (late), member 4 never
		f.clk.Add(24*time.Hour + time.Minute)
		f.pay(t, ids[2])
		g, _ = f.svc.GetGroup(ctx, gid)
		if g.Status != campaigns.Forming || g.Joined != 2 {
			t.Fatalf("before the worker: %+v", g)
		}
		res, err := f.svc.FailExpired(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if want := (campaigns.FailResult{Groups: 1, Cancelled: 4}); res != want {
			t.Fatalf("fail pass %+v, want %+v", res, want)
		}
		g, _ = f.svc.GetGroup(ctx, gid)
		if g.Status != campaigns.Failed || g.FailedAt == nil {
			t.Fatalf("group %+v, want failed", g)
		}
		for _, m := range g.Members {
			if m.Status != campaigns.MemberCancelled || m.EndedAt == nil {
				t.Fatalf("member %+v, want cancelled", m)
			}
		}
		for _, id := range ids {
			o, err := f.ord.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != orders.Cancelled || o.Refunded != o.Paid {
				t.Fatalf("order %d: %s paid %d refunded %d: want cancelled and refunded in full", id, o.Status, o.Paid, o.Refunded)
			}
		}
		if r := f.reserved(t, "TEE-BLK-M"); r != 0 {
			t.Fatalf("reserved %d after the group failed, want 0", r)
		}
		if n := f.events(t, "group_buy.failed", group(gid)); n != 1 {
			t.Fatalf("%d group_buy.failed events, want 1", n)
		}
		res, err = f.svc.FailExpired(ctx, 100)
		if err != nil || res != (campaigns.FailResult{}) {
			t.Fatalf("second pass: %+v, %v", res, err)
		}
		// the allowance is back: member 1 may open a new group
		if _, err := f.svc.OpenGroup(ctx, "TEE-4", join(1)); err != nil {
			t.Fatalf("member 1 opens again after the failure: %v", err)
		}
	})
}

// TestGroupConcurrentJoins: many members join a group at once; no more
// than its size ever hold seats, and all who got in can pay and form it.
func TestGroupConcurrentJoins(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.deal(t, "TEE-5", 5, 1)
		open, err := f.svc.OpenGroup(ctx, "TEE-5", join(1))
		if err != nil {
			t.Fatal(err)
		}
		gid := open.Group.ID
		var mu sync.Mutex
		ids := []int64{open.Order.ID}
		var wg sync.WaitGroup
		for m := int64(2); m <= 21; m++ {
			wg.Go(func() {
				j, err := f.svc.JoinGroup(ctx, gid, join(m))
				if err != nil {
					if !errors.Is(err, campaigns.ErrGroupFull) {
						t.Errorf("member %d: %v, want success or group_full", m, err)
					}
					return
				}
				mu.Lock()
				ids = append(ids, j.Order.ID)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != 5 {
			t.Fatalf("%d orders in a group of 5", len(ids))
		}
		for _, id := range ids {
			wg.Go(func() {
				if _, err := f.ord.Pay(ctx, id, orders.PayRequest{Provider: "test"}); err != nil {
					t.Errorf("pay %d: %v", id, err)
				}
			})
		}
		wg.Wait()
		g, _ := f.svc.GetGroup(ctx, gid)
		if g.Status != campaigns.Formed || g.Held != 5 || g.Joined != 5 || len(g.Members) != 5 {
			t.Fatalf("group %+v: want formed with 5", g)
		}
		if r := f.reserved(t, "TEE-BLK-M"); r != 5 {
			t.Fatalf("reserved %d, want 5 (refused joins hold nothing)", r)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil || n != 5 {
			t.Fatalf("%d orders exist (%v), want 5", n, err)
		}
	})
}

// TestGroupUnpaidSeat: an unpaid join holds its seat only until the order
// expires unpaid; then another member may take it.
func TestGroupUnpaidSeat(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.deal(t, "TEE-2", 2, 1)
		open, err := f.svc.OpenGroup(ctx, "TEE-2", join(1))
		if err != nil {
			t.Fatal(err)
		}
		f.pay(t, open.Order.ID)
		if _, err := f.svc.JoinGroup(ctx, open.Group.ID, join(2)); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.JoinGroup(ctx, open.Group.ID, join(3))
		wantCode(t, err, "group_full")
		f.clk.Add(16 * time.Minute)
		if n, err := f.ord.ExpireUnpaid(ctx, 10); err != nil || n != 1 {
			t.Fatalf("expired %d unpaid orders (%v), want 1", n, err)
		}
		j, err := f.svc.JoinGroup(ctx, open.Group.ID, join(3))
		if err != nil {
			t.Fatalf("member 3 after the unpaid seat expired: %v", err)
		}
		f.pay(t, j.Order.ID)
		g, _ := f.svc.GetGroup(ctx, open.Group.ID)
		if g.Status != campaigns.Formed || g.Held != 2 || g.Joined != 2 {
			t.Fatalf("group %+v: want formed", g)
		}
	})
}

// TestGroupRefusals: the requests a group buy refuses, with their codes.
func TestGroupRefusals(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.deal(t, "TEE-L2", 3, 2)
		open, err := f.svc.OpenGroup(ctx, "TEE-L2", join(1))
		if err != nil {
			t.Fatal(err)
		}
		gid := open.Group.ID
		closed := f.deal(t, "TEE-X", 3, 1)
		if _, err := f.svc.CloseDeal(ctx, closed.Code); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateDeal(ctx, campaigns.NewDeal{Code: "TEE-L2", Name: "dup", SKU: "TEE-BLK-M", GroupSize: 2, EndsAt: f.clk.Now().Add(time.Hour)}); !errors.Is(err, campaigns.ErrDuplicateCode) {
			t.Fatalf("duplicate deal code: %v", err)
		}
		for _, c := range []struct {
			name string
			run  func() error
			code string
		}{
			{"same member twice", func() error { _, err := f.svc.JoinGroup(ctx, gid, join(1)); return err }, "already_joined"},
			{"over the member limit", func() error { r := join(2); r.Qty = 3; _, err := f.svc.JoinGroup(ctx, gid, r); return err }, "validation_failed"},
			{"at the till", func() error {
				r := join(2)
				r.Mode = fulfilment.POS
				_, err := f.svc.JoinGroup(ctx, gid, r)
				return err
			}, "validation_failed"},
			{"another SKU", func() error { r := join(2); r.SKU = "TEE-WHT-M"; _, err := f.svc.JoinGroup(ctx, gid, r); return err }, "not_deal_item"},
			{"unknown member", func() error { _, err := f.svc.JoinGroup(ctx, gid, join(5000)); return err }, "member_not_found"},
			{"unknown group", func() error { _, err := f.svc.JoinGroup(ctx, gid+100, join(2)); return err }, "group_not_found"},
			{"unknown deal", func() error { _, err := f.svc.OpenGroup(ctx, "NOPE", join(2)); return err }, "group_deal_not_found"},
			{"closed deal", func() error { _, err := f.svc.OpenGroup(ctx, closed.Code, join(2)); return err }, "deal_not_active"},
			{"deal of both sku and style", func() error {
				_, err := f.svc.CreateDeal(ctx, campaigns.NewDeal{Code: "B", Name: "b", SKU: "TEE-BLK-M", Style: "TEE", GroupSize: 2, EndsAt: f.clk.Now().Add(time.Hour)})
				return err
			}, "validation_failed"},
		} {
			t.Run(c.name, func(t *testing.T) { wantCode(t, c.run(), c.code) })
		}
		// a style deal: any of its SKUs, named by the member
		if _, err := f.svc.CreateDeal(ctx, campaigns.NewDeal{Code: "TEE-ANY", Name: "任选颜色", Style: "TEE", GroupPrice: 4900, GroupSize: 2,
			EndsAt: f.clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.OpenGroup(ctx, "TEE-ANY", join(7))
		wantCode(t, err, "validation_failed")
		r := join(7)
		r.SKU = "TEE-WHT-M"
		j, err := f.svc.OpenGroup(ctx, "TEE-ANY", r)
		if err != nil {
			t.Fatal(err)
		}
		if j.Order.Total != 4900 || !j.Group.ExpiresAt.Equal(f.clk.Now().Add(time.Hour)) {
			t.Fatalf("style deal order total %d, group expires %s: want 4900 and the deal's end", j.Order.Total, j.Group.ExpiresAt)
		}
		// the marker on a guest's order (only modules can set it) is refused
		if _, err := f.ord.Checkout(ctx, orders.CheckoutRequest{Channel: "app", Mode: fulfilment.Pickup, Store: "SH-NJD",
			Customer: orders.Customer{Mobile: "13800138000"}, Lines: []orders.LineRequest{{SKU: "TEE-BLK-M", Qty: 1}},
			Promotion: "group_buy:1"}); !errors.Is(err, errs.E(errs.Invalid, "member_required", "")) {
			t.Fatalf("a guest's group order: %v, want member_required", err)
		}
	})
}

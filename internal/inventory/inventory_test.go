package inventory_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func one(sku, loc string, qty int64) []inventory.ReserveLine {
	return []inventory.ReserveLine{{SKU: sku, Location: loc, Qty: qty}}
}

func code(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "internal: " + err.Error()
}

// Many goroutines race for one scarce SKU: exactly the stock succeeds.
func TestReserveScarceStockConcurrently(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		const stock, buyers = 37, 300
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: stock})
		var ok, short atomic.Int64
		var wg sync.WaitGroup
		for range buyers {
			wg.Go(func() {
				_, err := f.inv.Reserve(context.Background(), inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 1)})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, inventory.ErrInsufficientStock):
					short.Add(1)
				default:
					t.Errorf("reserve: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != stock || short.Load() != buyers-stock {
			t.Fatalf("succeeded %d, refused %d; want %d and %d", ok.Load(), short.Load(), stock, buyers-stock)
		}
		l := f.level(t, "TEE-BLK-M", "SH1")
		if l.OnHand != stock || l.Reserved != stock || l.Available != 0 {
			t.Fatalf("level = %+v", l)
		}
		f.consistent(t)
	})
}

func TestReserveRefusalNamesAvailable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5}, inventory.PostLine{SKU: "TEE-BLK-L", Qty: 1})
		// shop has a channel safety stock of 1: 4 of 5 are sellable online.
		_, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "shop", Lines: one("TEE-BLK-M", "SH1", 5)})
		e, ok := errs.As(err)
		if !ok || e.Code != "insufficient_stock" || e.Extra["available"] != int64(4) {
			t.Fatalf("err = %v (%+v); want insufficient_stock with available 4", err, e)
		}
		// A multi-line hold is all or nothing.
		_, err = f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", Lines: []inventory.ReserveLine{
			{SKU: "TEE-BLK-M", Location: "SH1", Qty: 2}, {SKU: "TEE-BLK-L", Location: "SH1", Qty: 2}}})
		if code(err) != "insufficient_stock" {
			t.Fatalf("err = %v", err)
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.Reserved != 0 {
			t.Fatalf("a refused multi-line hold left %d reserved", l.Reserved)
		}
		f.consistent(t)
	})
}

func TestReserveBadInput(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5})
		f.receive(t, "CW", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5})
		for _, c := range []struct {
			name string
			in   inventory.ReserveRequest
			code string
		}{
			{"unknown sku", inventory.ReserveRequest{Channel: "pos", Lines: one("NOPE", "SH1", 1)}, "sku_not_found"},
			{"unknown location", inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "NOPE", 1)}, "location_not_found"},
			{"unknown channel", inventory.ReserveRequest{Channel: "nope", Lines: one("TEE-BLK-M", "SH1", 1)}, "channel_not_found"},
			{"zero qty", inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 0)}, "validation_failed"},
			{"negative qty", inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", -3)}, "validation_failed"},
			{"absurd qty", inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 1<<40)}, "validation_failed"},
			{"no lines", inventory.ReserveRequest{Channel: "pos"}, "validation_failed"},
			{"location outside channel", inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "CW", 1)}, "location_not_in_channel"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if _, err := f.inv.Reserve(ctx, c.in); code(err) != c.code {
					t.Fatalf("err = %v; want code %s", err, c.code)
				}
			})
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.Reserved != 0 {
			t.Fatalf("refused requests reserved %d", l.Reserved)
		}
	})
}

func TestReservationLifecycle(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 10})
		r1, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", Reference: "ORD-1", Lines: one("TEE-BLK-M", "SH1", 3)})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", Reference: "ORD-2", Lines: one("TEE-BLK-M", "SH1", 2)})
		if err != nil {
			t.Fatal(err)
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.Reserved != 5 || l.Available != 5 {
			t.Fatalf("after holds: %+v", l)
		}
		got, err := f.inv.Confirm(ctx, r1.ID)
		if err != nil || got.Status != inventory.Confirmed {
			t.Fatalf("confirm = %+v, %v", got, err)
		}
		if _, err := f.inv.Confirm(ctx, r1.ID); code(err) != "reservation_not_active" {
			t.Fatalf("second confirm: %v", err)
		}
		if _, err := f.inv.Release(ctx, r1.ID, ""); code(err) != "reservation_not_active" {
			t.Fatalf("release after confirm: %v", err)
		}
		if got, err := f.inv.Release(ctx, r2.ID, "customer cancelled"); err != nil || got.Status != inventory.Released {
			t.Fatalf("release = %+v, %v", got, err)
		}
		if _, err := f.inv.Confirm(ctx, 999999); code(err) != "reservation_not_found" {
			t.Fatalf("unknown: %v", err)
		}
		l := f.level(t, "TEE-BLK-M", "SH1")
		if l.OnHand != 7 || l.Reserved != 0 || l.Available != 7 {
			t.Fatalf("final: %+v", l)
		}
		f.consistent(t)
	})
}

// Holds expire by themselves at their deadline (injected clock).
func TestReservationExpiry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 4})
		short, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", TTLSeconds: 60, Lines: one("TEE-BLK-M", "SH1", 1)})
		if err != nil {
			t.Fatal(err)
		}
		long, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 2)}) // default 15 min
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Add(59 * time.Second)
		if n, err := f.inv.ReleaseExpired(ctx, 100); err != nil || n != 0 {
			t.Fatalf("before deadline: expired %d, %v", n, err)
		}
		f.clk.Add(2 * time.Second)
		if n, err := f.inv.ReleaseExpired(ctx, 100); err != nil || n != 1 {
			t.Fatalf("after deadline: expired %d, %v", n, err)
		}
		if n, _ := f.inv.ReleaseExpired(ctx, 100); n != 0 {
			t.Fatalf("expired twice")
		}
		if r, _ := f.inv.GetReservation(ctx, short.ID); r.Status != inventory.Expired {
			t.Fatalf("short hold is %s", r.Status)
		}
		if _, err := f.inv.Confirm(ctx, short.ID); code(err) != "reservation_not_active" {
			t.Fatalf("confirming an expired hold: %v", err)
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.Reserved != 2 {
			t.Fatalf("reserved = %d; want 2", l.Reserved)
		}
		f.clk.Add(15 * time.Minute)
		if n, _ := f.inv.ReleaseExpired(ctx, 100); n != 1 {
			t.Fatalf("long hold not expired")
		}
		if r, _ := f.inv.GetReservation(ctx, long.ID); r.Status != inventory.Expired {
			t.Fatalf("long hold is %s", r.Status)
		}
		f.consistent(t)
	})
}

// The live stream may hold or sell at most 30 % of a style's stock at its locations.
func TestChannelShareCap(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "CW", inventory.PostLine{SKU: "COAT-BLK-M", Qty: 100})
		r, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "live", Lines: one("COAT-BLK-M", "CW", 20)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.inv.Confirm(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		// 20 sold; 80 on hand; the cap is 30 % of (80 + 20) = 30, so 10 more.
		atp, err := f.inv.Availability(ctx, inventory.ATPRequest{Channel: "live", SKUs: []string{"COAT-BLK-M"}})
		if err != nil || atp.Totals["COAT-BLK-M"] != 10 {
			t.Fatalf("live ATP = %+v, %v; want 10", atp, err)
		}
		if _, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "live", Lines: one("COAT-BLK-M", "CW", 11)}); code(err) != "channel_share_exceeded" {
			t.Fatalf("over the cap: %v", err)
		}
		r2, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "live", Lines: one("COAT-BLK-M", "CW", 10)})
		if err != nil {
			t.Fatalf("up to the cap: %v", err)
		}
		if _, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "live", Lines: one("COAT-BLK-M", "CW", 1)}); code(err) != "channel_share_exceeded" {
			t.Fatalf("at the cap: %v", err)
		}
		// Releasing gives the share back; other channels are not capped.
		if _, err := f.inv.Release(ctx, r2.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "live", Lines: one("COAT-BLK-M", "CW", 10)}); err != nil {
			t.Fatalf("after release: %v", err)
		}
		if _, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "shop", Lines: one("COAT-BLK-M", "CW", 60)}); err != nil {
			t.Fatalf("uncapped channel: %v", err)
		}
		f.consistent(t)
	})
}

func TestPostMovements(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 10})
		post := func(kind inventory.MovementKind, reason string, qty int64) error {
			_, err := f.inv.Post(ctx, inventory.PostRequest{Kind: kind, Location: "SH1", Reason: reason, Lines: []inventory.PostLine{{SKU: "TEE-BLK-M", Qty: qty}}})
			return err
		}
		if err := post(inventory.Sale, "", 3); err != nil {
			t.Fatal(err)
		}
		if err := post(inventory.Return, "", 1); err != nil {
			t.Fatal(err)
		}
		if err := post(inventory.Adjustment, "", -1); code(err) != "validation_failed" {
			t.Fatalf("adjustment without reason: %v", err)
		}
		if err := post(inventory.Adjustment, "damaged in store", -2); err != nil {
			t.Fatal(err)
		}
		if err := post(inventory.Sale, "", 7); code(err) != "insufficient_stock" {
			t.Fatalf("selling more than on hand: %v", err)
		}
		if err := post("transfer_in", "", 1); code(err) != "validation_failed" {
			t.Fatalf("kind not postable: %v", err)
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.OnHand != 6 {
			t.Fatalf("on hand %d; want 6", l.OnHand)
		}
		ms, err := f.inv.ListMovements(ctx, inventory.MovementFilter{SKU: "TEE-BLK-M", Location: "SH1"})
		if err != nil || len(ms) != 4 {
			t.Fatalf("movements = %d, %v; want 4", len(ms), err)
		}
		if ms[3].Kind != inventory.Adjustment || ms[3].OnHandDelta != -2 || ms[3].Reason != "damaged in store" {
			t.Fatalf("last movement = %+v", ms[3])
		}
		f.consistent(t)
	})
}

func TestTransfer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "CW", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 20}, inventory.PostLine{SKU: "TEE-WHT-M", Qty: 5})
		if _, err := f.inv.CreateTransfer(ctx, inventory.TransferRequest{From: "CW", To: "CW", Lines: []inventory.TransferLine{{SKU: "TEE-BLK-M", Qty: 1}}}); code(err) != "validation_failed" {
			t.Fatalf("same location: %v", err)
		}
		if _, err := f.inv.CreateTransfer(ctx, inventory.TransferRequest{From: "CW", To: "SH1", Lines: []inventory.TransferLine{{SKU: "TEE-WHT-M", Qty: 6}}}); code(err) != "insufficient_stock" {
			t.Fatalf("more than available: %v", err)
		}
		tr, err := f.inv.CreateTransfer(ctx, inventory.TransferRequest{From: "CW", To: "SH1", Reason: "replenish",
			Lines: []inventory.TransferLine{{SKU: "TEE-BLK-M", Qty: 8}, {SKU: "TEE-WHT-M", Qty: 5}}})
		if err != nil {
			t.Fatal(err)
		}
		if l := f.level(t, "TEE-BLK-M", "CW"); l.Reserved != 8 || l.Available != 12 {
			t.Fatalf("source after request: %+v", l)
		}
		if _, err := f.inv.ReceiveTransfer(ctx, tr.ID, inventory.ReceiveRequest{}); code(err) != "transfer_state" {
			t.Fatalf("receive before ship: %v", err)
		}
		if tr, err = f.inv.ShipTransfer(ctx, tr.ID); err != nil || tr.Status != inventory.Shipped {
			t.Fatalf("ship = %+v, %v", tr, err)
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.InTransit != 8 || l.OnHand != 0 {
			t.Fatalf("destination in transit: %+v", l)
		}
		if _, err := f.inv.CancelTransfer(ctx, tr.ID); code(err) != "transfer_state" {
			t.Fatalf("cancel after ship: %v", err)
		}
		tr, err = f.inv.ReceiveTransfer(ctx, tr.ID, inventory.ReceiveRequest{Lines: []inventory.ReceiveLine{{SKU: "TEE-WHT-M", ReceivedQty: 4}}})
		if err != nil || tr.Status != inventory.Received {
			t.Fatalf("receive = %+v, %v", tr, err)
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.OnHand != 8 || l.InTransit != 0 {
			t.Fatalf("BLK at destination: %+v", l)
		}
		if l := f.level(t, "TEE-WHT-M", "SH1"); l.OnHand != 4 || l.InTransit != 0 {
			t.Fatalf("WHT at destination (one short): %+v", l)
		}
		if l := f.level(t, "TEE-BLK-M", "CW"); l.OnHand != 12 || l.Reserved != 0 {
			t.Fatalf("source after ship: %+v", l)
		}
		// Cancel releases a requested transfer's hold.
		tr2, err := f.inv.CreateTransfer(ctx, inventory.TransferRequest{From: "CW", To: "BJ1", Lines: []inventory.TransferLine{{SKU: "TEE-BLK-M", Qty: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.inv.CancelTransfer(ctx, tr2.ID); err != nil {
			t.Fatal(err)
		}
		if l := f.level(t, "TEE-BLK-M", "CW"); l.Reserved != 0 {
			t.Fatalf("cancel left %d reserved", l.Reserved)
		}
		f.consistent(t)
	})
}

func TestCount(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 10}, inventory.PostLine{SKU: "TEE-BLK-L", Qty: 3})
		if _, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 4)}); err != nil {
			t.Fatal(err)
		}
		c, err := f.inv.Count(ctx, inventory.CountRequest{Location: "SH1", Note: "weekly", Lines: []inventory.CountLine{
			{SKU: "TEE-BLK-M", Counted: 8}, {SKU: "TEE-BLK-L", Counted: 5}, {SKU: "TEE-WHT-M", Counted: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"TEE-BLK-M": -2, "TEE-BLK-L": 2, "TEE-WHT-M": 1}
		for _, l := range c.Lines {
			if l.Difference != want[l.SKU] {
				t.Errorf("%s difference %d; want %d", l.SKU, l.Difference, want[l.SKU])
			}
		}
		if l := f.level(t, "TEE-BLK-M", "SH1"); l.OnHand != 8 || l.Reserved != 4 {
			t.Fatalf("after count: %+v", l)
		}
		_, err = f.inv.Count(ctx, inventory.CountRequest{Location: "SH1", Lines: []inventory.CountLine{{SKU: "TEE-BLK-L", Counted: 0}, {SKU: "TEE-BLK-M", Counted: 3}}})
		if code(err) != "count_below_reserved" {
			t.Fatalf("count below reserved: %v", err)
		}
		if l := f.level(t, "TEE-BLK-L", "SH1"); l.OnHand != 5 {
			t.Fatalf("a refused count changed another line: %+v", l)
		}
		f.consistent(t)
	})
}

func TestAvailabilityNearestFirst(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		for _, loc := range []string{"CW", "SH1", "SH2", "BJ1"} {
			f.receive(t, loc, inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5})
		}
		f.receive(t, "SH2", inventory.PostLine{SKU: "TEE-BLK-L", Qty: 2})
		lat, lng := 31.1990, 121.4400 // near Xujiahui
		atp, err := f.inv.Availability(ctx, inventory.ATPRequest{Channel: "shop", SKUs: []string{"TEE-BLK-M", "TEE-BLK-L"}, Lat: &lat, Lng: &lng})
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, l := range atp.Locations {
			order = append(order, l.Location)
		}
		if len(order) != 4 || order[0] != "SH2" || order[1] != "SH1" || order[2] != "CW" || order[3] != "BJ1" {
			t.Fatalf("order = %v; want SH2 SH1 CW BJ1", order)
		}
		first := atp.Locations[0]
		if !first.Covers || !first.Instant || *first.DistanceM > 1000 || first.Available["TEE-BLK-M"] != 4 || first.Available["TEE-BLK-L"] != 1 {
			t.Fatalf("nearest = %+v (channel safety stock 1 must be kept)", first)
		}
		if atp.Locations[1].Covers || atp.Locations[1].Instant != false && *atp.Locations[1].DistanceM > 3000 {
			t.Fatalf("second = %+v", atp.Locations[1])
		}
		if atp.Totals["TEE-BLK-M"] != 16 {
			t.Fatalf("total = %d; want 4 locations × (5−1)", atp.Totals["TEE-BLK-M"])
		}
		// pos does not see the warehouse.
		atp, err = f.inv.Availability(ctx, inventory.ATPRequest{Channel: "pos", SKUs: []string{"TEE-BLK-M"}})
		if err != nil || len(atp.Locations) != 3 {
			t.Fatalf("pos ATP = %+v, %v", atp, err)
		}
	})
}

func TestLowStockAlert(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 6})
		three := int64(3)
		if _, err := f.inv.SetSettings(ctx, "TEE-BLK-M", "SH1", inventory.SettingsRequest{LowThreshold: &three}); err != nil {
			t.Fatal(err)
		}
		if as, _ := f.inv.ListAlerts(ctx, inventory.AlertFilter{}); len(as) != 0 {
			t.Fatalf("alert above threshold: %+v", as)
		}
		for range 2 {
			if _, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 2)}); err != nil {
				t.Fatal(err)
			}
		}
		as, err := f.inv.ListAlerts(ctx, inventory.AlertFilter{})
		if err != nil || len(as) != 1 || as[0].Available != 2 || as[0].Status != "open" {
			t.Fatalf("alerts = %+v, %v; want one open at 2", as, err)
		}
		if _, err := f.inv.AcknowledgeAlert(ctx, as[0].ID); err != nil {
			t.Fatal(err)
		}
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 10})
		if as, _ := f.inv.ListAlerts(ctx, inventory.AlertFilter{}); len(as) != 0 {
			t.Fatalf("alert not resolved after receipt: %+v", as)
		}
		f.consistent(t)
	})
}

// Store staff act only at their own store.
func TestStoreScope(t *testing.T) {
	d := dbtest.SQLite(t)
	f := newFixture(t, d)
	f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5})
	f.receive(t, "SH2", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5})
	sh1, err := f.net.Location(context.Background(), "SH1")
	if err != nil {
		t.Fatal(err)
	}
	staff := auth.WithPrincipal(context.Background(), &auth.Principal{KeyID: 9, Name: "SH1 staff", Role: auth.Store, LocationID: sh1.ID})
	if _, err := f.inv.Reserve(staff, inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH1", 1)}); err != nil {
		t.Fatalf("own store: %v", err)
	}
	if _, err := f.inv.Reserve(staff, inventory.ReserveRequest{Channel: "pos", Lines: one("TEE-BLK-M", "SH2", 1)}); code(err) != "forbidden_location" {
		t.Fatalf("other store: %v", err)
	}
	if _, err := f.inv.Count(staff, inventory.CountRequest{Location: "SH2", Lines: []inventory.CountLine{{SKU: "TEE-BLK-M", Counted: 0}}}); code(err) != "forbidden_location" {
		t.Fatalf("count at other store: %v", err)
	}
}

// Holding several lines: a short line fails the whole hold, names itself
// and leaves nothing held once the write rolls back; a level named twice is
// held twice; the channel's safety stock counts.
func TestHoldLines(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.receive(t, "SH1", inventory.PostLine{SKU: "TEE-BLK-M", Qty: 5}, inventory.PostLine{SKU: "TEE-BLK-L", Qty: 2},
			inventory.PostLine{SKU: "TEE-WHT-M", Qty: 5})
		sh1, err := f.net.Location(ctx, "SH1")
		if err != nil {
			t.Fatal(err)
		}
		line := func(sku string, qty int64) inventory.HoldLine {
			r, err := f.cat.SKURef(ctx, sku)
			if err != nil {
				t.Fatal(err)
			}
			return inventory.HoldLine{SKU: r, Location: sh1, Qty: qty}
		}
		hold := func(channel string, lines ...inventory.HoldLine) error {
			ch, err := f.net.Channel(ctx, channel)
			if err != nil {
				t.Fatal(err)
			}
			return d.Write(ctx, func(tx *db.Tx) error {
				return f.inv.Hold(tx, ch, lines, inventory.Ref{Type: "order", ID: "T1", Actor: "test"})
			})
		}
		want := func(held ...int64) {
			t.Helper()
			for i, sku := range []string{"TEE-BLK-M", "TEE-BLK-L", "TEE-WHT-M"} {
				if l := f.level(t, sku, "SH1"); l.Reserved != held[i] {
					t.Fatalf("%s reserved %d; want %d", sku, l.Reserved, held[i])
				}
			}
		}
		err = hold("pos", line("TEE-BLK-M", 2), line("TEE-BLK-L", 3), line("TEE-WHT-M", 1))
		var pe *errs.Error
		if !errors.Is(err, inventory.ErrInsufficientStock) || !errors.As(err, &pe) || pe.Extra["sku"] != "TEE-BLK-L" || pe.Extra["available"] != int64(2) {
			t.Fatalf("short second line: %v; want insufficient_stock naming TEE-BLK-L with 2 available", err)
		}
		want(0, 0, 0)
		if err := hold("pos", line("TEE-BLK-M", 2), line("TEE-BLK-L", 2), line("TEE-WHT-M", 1)); err != nil {
			t.Fatal(err)
		}
		want(2, 2, 1)
		if err := hold("pos", line("TEE-BLK-M", 1), line("TEE-BLK-M", 2)); err != nil {
			t.Fatalf("one level twice: %v", err)
		}
		want(5, 2, 1)
		// shop keeps one unit back: TEE-WHT-M has 4 free, 3 for the shop.
		if err := hold("shop", line("TEE-WHT-M", 4), line("TEE-BLK-L", 0)); err == nil {
			t.Fatal("the shop held into its safety stock")
		}
		want(5, 2, 1)
		f.consistent(t)
	})
}

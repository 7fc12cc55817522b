package orders_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// mOrder is what the model expects of an order.
type mOrder struct {
	mode                  fulfilment.Mode
	status                orders.Status
	total, paid, refunded int64
	code                  string
	expires               time.Time
}

// propModel is the expected state of a property run.
type propModel struct {
	orders   map[int64]*mOrder
	received map[string]int64 // "SKU@LOC" → units received
	holds    []int64          // active inventory reservations
}

// Points of the delivery addresses.
var propPoints = [][2]float64{{31.2304, 121.4737}, {31.1950, 121.4370}} // 人民广场, 徐家汇

// TestOrderProperties runs random sequences of checkouts, POS sales,
// payments (whole and split), refunds, cancellations, the fulfilment steps
// of every mode, expiry and plain inventory reservations. After every step:
// each level's reserved equals the units held by order lines plus the
// active reservations there, and its on-hand equals what was received less
// what order lines shipped; every order's paid and refunded equal its
// captured payments and settled refunds, paid ≥ refunded, its held and
// shipped units fit its status, and status and money are what the model
// predicts; every refusal is predicted; the ledger is consistent.
func TestOrderProperties(t *testing.T) {
	limitChecks(t, 30)
	rapid.Check(t, func(rt *rapid.T) {
		d := dbtest.SQLite(t)
		defer d.Close()
		f := newFixture(t, d)
		ctx := context.Background()
		m := propModel{orders: map[int64]*mOrder{}, received: map[string]int64{}}
		// the coat only at the central warehouse, the black T-shirt only
		// in the stores: a standard order of both is split
		for _, l := range [][2]string{{"SH-NJD", "TEE-BLK-M"}, {"SH-NJD", "TEE-WHT-M"}, {"SH-XJH", "TEE-BLK-M"}, {"SH-XJH", "TEE-WHT-M"},
			{"CW-JX", "COAT-BLK-M"}, {"CW-JX", "TEE-WHT-M"}} {
			f.receive(t, l[0], l[1], 5)
			m.received[l[1]+"@"+l[0]] += 5
		}
		tracking := 0
		steps := rapid.IntRange(10, 60).Draw(rt, "steps")
		for i := range steps {
			op := rapid.SampledFrom(propOps).Draw(rt, fmt.Sprintf("op%d", i))
			switch op {
			case "receive":
				loc := rapid.SampledFrom(worldCodes).Draw(rt, "loc")
				sku := rapid.SampledFrom(fixtureSKUs[:2]).Draw(rt, "sku") // the coat stays in the warehouse
				q := rapid.Int64Range(1, 4).Draw(rt, "qty")
				f.receive(t, loc, sku, q)
				m.received[sku+"@"+loc] += q
			case "checkout":
				in := drawCheckout(rt)
				ok := true
				if in.Mode == fulfilment.Pickup {
					for _, l := range in.Lines {
						ok = ok && f.free(rt, l.SKU, in.Store)-1 >= l.Qty // the app channel keeps 1 unit
					}
				}
				o, err := f.ord.Checkout(ctx, in)
				if in.Mode != fulfilment.Pickup && err != nil {
					ok = false
					if e, isE := errs.As(err); !isE || !slices.Contains([]string{"outside_delivery_radius", "no_route", "insufficient_stock"}, e.Code) {
						rt.Fatalf("checkout %+v: %v", in, err)
					}
				}
				expect(rt, "checkout", err, ok)
				if err == nil {
					if o.Status != orders.Created || o.Total != o.Subtotal-o.Discount+o.ShippingFee || o.Total <= 0 {
						rt.Fatalf("checkout: %+v", o)
					}
					m.orders[o.ID] = &mOrder{mode: in.Mode, status: orders.Created, total: o.Total, code: o.PickupCode, expires: f.clk.Now().Add(15 * time.Minute)}
				}
			case "pos":
				store := rapid.SampledFrom([]string{"SH-NJD", "SH-XJH", "SH-LJZ"}).Draw(rt, "store")
				sku := rapid.SampledFrom(fixtureSKUs).Draw(rt, "sku")
				q := rapid.Int64Range(1, 2).Draw(rt, "qty")
				ok := f.free(rt, sku, store) >= q // the pos channel keeps no safety stock
				o, err := f.ord.Sell(ctx, orders.SaleRequest{Store: store, Channel: "pos", Lines: []orders.SaleLine{{SKU: sku, Qty: q}},
					Tenders: []orders.PayRequest{{Provider: "offline", Method: "cash"}}}, nil)
				expect(rt, "pos", err, ok)
				if err == nil {
					if o.Status != orders.Completed || o.Paid != o.Total {
						rt.Fatalf("pos sale: %+v", o)
					}
					m.orders[o.ID] = &mOrder{mode: fulfilment.POS, status: orders.Completed, total: o.Total, paid: o.Total}
				}
			case "pay":
				id, mo := pickOrder(rt, m, orders.Created)
				if mo == nil {
					continue
				}
				due := mo.total - mo.paid
				amount := int64(0)
				if due > 1 && rapid.Bool().Draw(rt, "split") {
					amount = rapid.Int64Range(1, due-1).Draw(rt, "amount")
				}
				_, err := f.ord.Pay(ctx, id, orders.PayRequest{Provider: "test", Amount: amount})
				ok := mo.status == orders.Created
				expect(rt, "pay", err, ok)
				if !ok {
					isCode(rt, err, "illegal_transition")
					continue
				}
				if amount == 0 {
					amount = due
				}
				mo.paid += amount
				if mo.paid == mo.total {
					mo.status = orders.Allocated
				}
			case "cancel":
				id, mo := pickOrder(rt, m)
				if mo == nil {
					continue
				}
				_, err := f.ord.Cancel(ctx, id, orders.CancelRequest{Reason: "property"})
				ok := orders.CanMove(mo.mode, mo.status, orders.Cancelled)
				expect(rt, "cancel from "+string(mo.status), err, ok)
				if ok {
					mo.status, mo.refunded = orders.Cancelled, mo.paid
				} else {
					isCode(rt, err, "illegal_transition")
				}
			case "progress":
				id, mo := pickOrder(rt, m, orders.Allocated, orders.Picking, orders.ReadyForPickup, orders.PickedUp, orders.PartiallyShipped,
					orders.Shipped, orders.Delivered)
				if mo == nil {
					continue
				}
				tracking++
				f.progress(rt, id, mo, tracking)
			case "expire":
				f.clk.Add(time.Duration(rapid.IntRange(1, 20).Draw(rt, "minutes")) * time.Minute)
				want := 0
				for _, mo := range m.orders {
					if mo.status == orders.Created && !mo.expires.After(f.clk.Now()) {
						mo.status, mo.refunded = orders.Cancelled, mo.paid
						want++
					}
				}
				n, err := f.ord.ExpireUnpaid(ctx, 1000)
				if err != nil || n != want {
					rt.Fatalf("expired %d, %v; want %d", n, err, want)
				}
				if _, err := f.inv.ReleaseExpired(ctx, 1000); err != nil {
					rt.Fatal(err)
				}
			case "refund":
				id, mo := pickOrder(rt, m)
				if mo == nil {
					continue
				}
				amount := rapid.Int64Range(1, max(1, mo.paid-mo.refunded+1)).Draw(rt, "amount")
				_, err := f.ord.Refund(ctx, id, orders.RefundRequest{Amount: amount, Reason: "property"})
				ok := amount <= mo.paid-mo.refunded
				expect(rt, "refund", err, ok)
				if ok {
					mo.refunded += amount
				} else {
					isCode(rt, err, "refund_above_paid")
				}
			case "reserve":
				loc := rapid.SampledFrom([]string{"SH-NJD", "SH-XJH", "CW-JX"}).Draw(rt, "loc")
				sku := rapid.SampledFrom(fixtureSKUs).Draw(rt, "sku")
				q := rapid.Int64Range(1, 3).Draw(rt, "qty")
				ok := f.free(rt, sku, loc)-1 >= q
				r, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: "shop", Lines: []inventory.ReserveLine{{SKU: sku, Location: loc, Qty: q}}})
				expect(rt, "reserve", err, ok)
				if ok {
					m.holds = append(m.holds, r.ID)
				}
			case "release":
				if len(m.holds) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(m.holds)-1).Draw(rt, "hold")
				_, err := f.inv.Release(ctx, m.holds[i], "")
				if err != nil && !errors.Is(err, inventory.ErrReservationState) {
					rt.Fatalf("release: %v", err)
				}
				m.holds = slices.Delete(m.holds, i, i+1)
			}
			f.checkInvariants(rt, m, fmt.Sprintf("after step %d (%s)", i, op))
		}
	})
}

// propOps are the operations, the lifecycle's more often.
var propOps = []string{"receive", "checkout", "checkout", "checkout", "pos", "pay", "pay", "pay", "cancel", "progress", "progress",
	"progress", "progress", "progress", "progress", "expire", "refund", "reserve", "release"}

// limitChecks runs n random sequences unless -rapid.checks says otherwise
// (each sequence builds a fresh database).
func limitChecks(t *testing.T, n int) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		if err := flag.Set("rapid.checks", fmt.Sprint(n)); err != nil {
			t.Fatal(err)
		}
	}
}

func drawCheckout(rt *rapid.T) orders.CheckoutRequest {
	in := orders.CheckoutRequest{Mode: rapid.SampledFrom([]fulfilment.Mode{fulfilment.Pickup, fulfilment.Instant, fulfilment.Standard}).Draw(rt, "mode"),
		Customer: orders.Customer{Mobile: "13800138000"}}
	switch in.Mode {
	case fulfilment.Pickup:
		in.Channel, in.Store = "app", rapid.SampledFrom([]string{"SH-NJD", "SH-XJH", "SH-LJZ"}).Draw(rt, "store")
	case fulfilment.Instant:
		in.Channel = "mini"
	default:
		in.Channel = "shop"
	}
	if in.Mode != fulfilment.Pickup {
		p := rapid.SampledFrom(propPoints).Draw(rt, "point")
		in.Address = &orders.Address{Address: "上海市", Lat: &p[0], Lng: &p[1]}
	}
	skus := rapid.SliceOfNDistinct(rapid.SampledFrom(fixtureSKUs), 1, 2, rapid.ID[string]).Draw(rt, "skus")
	if in.Mode == fulfilment.Standard && rapid.Bool().Draw(rt, "split") {
		skus = []string{"COAT-BLK-M", "TEE-BLK-M"} // never at one location
	}
	for _, s := range skus {
		in.Lines = append(in.Lines, orders.LineRequest{SKU: s, Qty: rapid.Int64Range(1, 3).Draw(rt, "qty")})
	}
	return in
}

// pickOrder draws an order, mostly one in one of the preferred states
// when there is one, else any.
func pickOrder(rt *rapid.T, m propModel, prefer ...orders.Status) (int64, *mOrder) {
	var all, pref []int64
	for id, o := range m.orders {
		all = append(all, id)
		if slices.Contains(prefer, o.status) {
			pref = append(pref, id)
		}
	}
	if len(all) == 0 {
		return 0, nil
	}
	ids := all
	if len(pref) > 0 && rapid.IntRange(0, 9).Draw(rt, "preferred") > 0 {
		ids = pref
	}
	slices.Sort(ids)
	id := rapid.SampledFrom(ids).Draw(rt, "order")
	return id, m.orders[id]
}

func expect(rt *rapid.T, op string, err error, ok bool) {
	rt.Helper()
	if ok && err != nil {
		rt.Fatalf("%s: unexpected refusal: %v", op, err)
	}
	if !ok && err == nil {
		rt.Fatalf("%s: succeeded but the model says it must be refused", op)
	}
}

func isCode(rt *rapid.T, err error, code string) {
	rt.Helper()
	if e, ok := errs.As(err); !ok || e.Code != code {
		rt.Fatalf("err = %v; want code %s", err, code)
	}
}

// free is on hand less reserved at a level (0 without one).
func (f *fixture) free(rt *rapid.T, sku, loc string) int64 {
	var n int64
	err := f.d.QueryRow(context.Background(), `SELECT COALESCE(SUM(l.on_hand - l.reserved), 0) FROM stock_levels l
		JOIN skus s ON s.id = l.sku_id JOIN locations c ON c.id = l.location_id WHERE s.code = ? AND c.code = ?`, sku, loc).Scan(&n)
	if err != nil {
		rt.Fatal(err)
	}
	return n
}

// progress takes an order one step along its mode's path, or checks that
// a step is refused where the path has none.
func (f *fixture) progress(rt *rapid.T, id int64, mo *mOrder, n int) {
	ctx := context.Background()
	var err error
	var o orders.Order
	var next orders.Status
	switch {
	case mo.status == orders.Allocated:
		o, err = f.ord.Pick(ctx, id)
		next = orders.Picking
	case mo.status == orders.Picking && mo.mode == fulfilment.Pickup:
		o, err = f.ord.Ready(ctx, id)
		next = orders.ReadyForPickup
	case mo.status == orders.ReadyForPickup:
		if rapid.Bool().Draw(rt, "wrong code") {
			wrong := fmt.Sprintf("%06d", (atoi(mo.code)+1)%1_000_000)
			_, err = f.ord.HandOver(ctx, id, orders.PickupRequest{Code: wrong})
			isCode(rt, err, "wrong_pickup_code")
			return
		}
		o, err = f.ord.HandOver(ctx, id, orders.PickupRequest{Code: mo.code})
		next = orders.PickedUp
	case mo.status == orders.PickedUp || mo.status == orders.Delivered:
		o, err = f.ord.Complete(ctx, id)
		next = orders.Completed
	case mo.status == orders.Picking || mo.status == orders.PartiallyShipped:
		cur, gerr := f.ord.Get(ctx, id)
		if gerr != nil {
			rt.Fatal(gerr)
		}
		at := map[string]bool{}
		for _, l := range cur.Lines {
			if l.Held > 0 {
				at[l.Location] = true
			}
		}
		next = orders.Shipped
		if len(at) > 1 {
			next = orders.PartiallyShipped
		}
		_, err = f.ord.Ship(ctx, id, orders.ShipRequest{Carrier: "SF", TrackingNo: fmt.Sprintf("SF%08d", n)})
		if err == nil {
			o, err = f.ord.Get(ctx, id)
		}
	case mo.status == orders.Shipped:
		cur, gerr := f.ord.Get(ctx, id)
		if gerr != nil {
			rt.Fatal(gerr)
		}
		for _, s := range cur.Shipments {
			if s.Status != "delivered" {
				if _, err := f.ord.Track(ctx, s.ID, orders.TrackingEvent{Status: "delivered", OccurredAt: f.clk.Now()}); err != nil {
					rt.Fatalf("track: %v", err)
				}
			}
		}
		o, err = f.ord.Get(ctx, id)
		next = orders.Delivered
	default: // created, cancelled, completed: nothing to pick
		_, err = f.ord.Pick(ctx, id)
		isCode(rt, err, "illegal_transition")
		return
	}
	if err != nil {
		rt.Fatalf("%s order %d from %s: %v", mo.mode, id, mo.status, err)
	}
	if o.Status != next {
		rt.Fatalf("%s order %d from %s: now %s; want %s", mo.mode, id, mo.status, o.Status, next)
	}
	mo.status = next
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// checkInvariants compares the store with the model and the rules.
func (f *fixture) checkInvariants(rt *rapid.T, m propModel, when string) {
	ctx := context.Background()
	rows, err := f.d.Query(ctx, `SELECT s.code, c.code, l.on_hand, l.reserved,
			COALESCE((SELECT SUM(ol.held) FROM order_lines ol WHERE ol.sku_id = l.sku_id AND ol.location_id = l.location_id), 0),
			COALESCE((SELECT SUM(ol.shipped) FROM order_lines ol WHERE ol.sku_id = l.sku_id AND ol.location_id = l.location_id), 0),
			COALESCE((SELECT SUM(rl.qty) FROM reservation_lines rl JOIN reservations r ON r.id = rl.reservation_id
				WHERE r.status = 'active' AND rl.sku_id = l.sku_id AND rl.location_id = l.location_id), 0)
		FROM stock_levels l JOIN skus s ON s.id = l.sku_id JOIN locations c ON c.id = l.location_id`)
	type level struct {
		sku, loc                                string
		onHand, reserved, held, shipped, active int64
	}
	levels, err := db.Collect(func(sc db.Scanner) (level, error) {
		var l level
		return l, sc.Scan(&l.sku, &l.loc, &l.onHand, &l.reserved, &l.held, &l.shipped, &l.active)
	})(rows, err)
	if err != nil {
		rt.Fatal(err)
	}
	for _, l := range levels {
		if l.reserved != l.held+l.active {
			rt.Fatalf("%s: %s@%s reserved %d; order lines hold %d and reservations %d", when, l.sku, l.loc, l.reserved, l.held, l.active)
		}
		if want := m.received[l.sku+"@"+l.loc] - l.shipped; l.onHand != want {
			rt.Fatalf("%s: %s@%s on hand %d; received %d less %d shipped = %d", when, l.sku, l.loc, l.onHand, m.received[l.sku+"@"+l.loc], l.shipped, want)
		}
	}
	rows, err = f.d.Query(ctx, `SELECT o.id, o.status, o.total, o.paid, o.refunded,
			COALESCE((SELECT SUM(amount) FROM payments p WHERE p.order_id = o.id AND p.status = 'captured'), 0),
			COALESCE((SELECT SUM(refunded) FROM payments p WHERE p.order_id = o.id), 0),
			COALESCE((SELECT SUM(amount) FROM refunds r WHERE r.order_id = o.id AND r.status = 'succeeded'), 0),
			(SELECT SUM(qty) FROM order_lines ol WHERE ol.order_id = o.id),
			(SELECT SUM(held) FROM order_lines ol WHERE ol.order_id = o.id),
			(SELECT SUM(shipped) FROM order_lines ol WHERE ol.order_id = o.id)
		FROM orders o`)
	type order struct {
		id                                    int64
		status                                orders.Status
		total, paid, refunded                 int64
		captured, payRefunded, refundsSettled int64
		qty, held, shipped                    int64
	}
	list, err := db.Collect(func(sc db.Scanner) (order, error) {
		var o order
		return o, sc.Scan(&o.id, &o.status, &o.total, &o.paid, &o.refunded, &o.captured, &o.payRefunded, &o.refundsSettled, &o.qty, &o.held, &o.shipped)
	})(rows, err)
	if err != nil {
		rt.Fatal(err)
	}
	if len(list) != len(m.orders) {
		rt.Fatalf("%s: %d orders stored; the model has %d", when, len(list), len(m.orders))
	}
	for _, o := range list {
		mo := m.orders[o.id]
		switch {
		case mo == nil:
			rt.Fatalf("%s: order %d unknown to the model", when, o.id)
		case o.status != mo.status || o.paid != mo.paid || o.refunded != mo.refunded || o.total != mo.total:
			rt.Fatalf("%s: order %d is %s paid %d refunded %d of %d; the model says %s paid %d refunded %d of %d", when, o.id,
				o.status, o.paid, o.refunded, o.total, mo.status, mo.paid, mo.refunded, mo.total)
		case o.paid < o.refunded || o.paid > o.total:
			rt.Fatalf("%s: order %d paid %d, refunded %d, total %d", when, o.id, o.paid, o.refunded, o.total)
		case o.paid != o.captured || o.refunded != o.refundsSettled || o.refunded != o.payRefunded:
			rt.Fatalf("%s: order %d paid %d refunded %d; payments captured %d refunded %d; refunds settled %d", when, o.id,
				o.paid, o.refunded, o.captured, o.payRefunded, o.refundsSettled)
		}
		ok := true
		switch o.status {
		case orders.Created, orders.Paid, orders.Allocated, orders.Picking, orders.ReadyForPickup:
			ok = o.held == o.qty && o.shipped == 0
		case orders.Cancelled:
			ok = o.held == 0 && o.shipped == 0
		case orders.PartiallyShipped:
			ok = o.held+o.shipped == o.qty && o.shipped > 0 && o.held > 0
		default: // shipped, picked up, delivered, completed
			ok = o.held == 0 && o.shipped == o.qty
		}
		if !ok {
			rt.Fatalf("%s: order %d is %s with %d of %d units held and %d shipped", when, o.id, o.status, o.held, o.qty, o.shipped)
		}
	}
	rep, err := f.inv.CheckLedger(ctx)
	if err != nil || !rep.Consistent {
		rt.Fatalf("%s: ledger %+v, %v", when, rep, err)
	}
}

package demo

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

var mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func TestHistoryIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := MakeHistory(7, 0.02), MakeHistory(7, 0.02)
	if da, dbb := a.Digest(), b.Digest(); da != dbb {
		t.Fatalf("two histories of seed 7 differ: %s vs %s", da, dbb)
	}
	if a.Summary() != b.Summary() {
		t.Fatalf("summaries differ: %+v vs %+v", a.Summary(), b.Summary())
	}
	if MakeHistory(8, 0.02).Digest() == a.Digest() {
		t.Fatal("seeds 7 and 8 give the same history")
	}
	if MakeHistory(7, 0.03).Digest() == a.Digest() {
		t.Fatal("scales 0.02 and 0.03 give the same history")
	}
}

func TestCustomers(t *testing.T) {
	t.Parallel()
	pool := Customers(2026)
	if len(pool) != CustomerCount {
		t.Fatalf("%d customers", len(pool))
	}
	if !slices.Equal(pool, Customers(2026)) {
		t.Fatal("the pool of seed 2026 differs between calls")
	}
	// A smaller history uses a prefix of the same pool.
	small, _ := genCustomers(2026, 100)
	if !slices.Equal(small, pool[:100]) {
		t.Fatal("the first 100 customers depend on the pool size")
	}
	asOf, _ := time.Parse(time.DateOnly, AsOf)
	mobiles := map[string]bool{}
	personaCount := map[Persona]int{}
	stores := map[string]site{}
	for _, s := range sites {
		stores[s.code] = s
	}
	for _, c := range pool {
		if !mobileRE.MatchString(c.Mobile) || mobiles[c.Mobile] {
			t.Fatalf("mobile %q: malformed or repeated", c.Mobile)
		}
		mobiles[c.Mobile] = true
		personaCount[c.Persona]++
		var tr personaTraits
		for _, p := range personas {
			if p.persona == c.Persona {
				tr = p
			}
		}
		birth, err := time.Parse(time.DateOnly, c.BirthDate)
		if err != nil {
			t.Fatal(err)
		}
		age := asOf.Year() - birth.Year()
		if asOf.Format("01-02") < birth.Format("01-02") {
			age--
		}
		if age < tr.minAge || age > tr.maxAge {
			t.Errorf("%s (%s) is %d", c.Mobile, c.Persona, age)
		}
		home, ok := stores[c.HomeStore]
		if !ok || home.kind != network.Store || home.region != c.Region || home.city != c.City {
			t.Fatalf("customer %+v: home store", c)
		}
		if d := network.DistanceM(c.Lat, c.Lng, home.lat, home.lng); d > 8100 {
			t.Errorf("customer %s lives %.0f m from %s", c.Mobile, d, c.HomeStore)
		}
		if c.Name == "" || c.Address == "" || (c.Gender != "F" && c.Gender != "M") || c.Since < "2024-11-01" || c.Since > AsOf {
			t.Fatalf("customer %+v", c)
		}
	}
	for _, p := range personas {
		share := float64(personaCount[p.persona]) / float64(len(pool))
		if math.Abs(share-p.share) > 0.02 {
			t.Errorf("persona %s: %.3f of the pool, want %.2f", p.persona, share, p.share)
		}
	}
}

// TestHistoryInvariants checks every order of a small history and the
// shape the issue asks for: seasonality, regional differences, return
// rates, personas.
func TestHistoryInvariants(t *testing.T) {
	t.Parallel()
	const seed = 2026
	h := MakeHistory(seed, 0.1)
	p := Make(seed)
	var listPrice, cost []int64
	for _, st := range p.Styles {
		for _, k := range st.SKUs {
			listPrice, cost = append(listPrice, k.ListPrice), append(cost, k.Cost)
		}
	}
	if len(listPrice) != len(h.skuCodes) {
		t.Fatalf("%d SKUs in the catalog, %d in the history", len(listPrice), len(h.skuCodes))
	}
	chans := Channels()
	allowed := make([]map[string]bool, len(chans))
	for i, c := range chans {
		allowed[i] = map[string]bool{}
		for _, code := range c.Locations {
			allowed[i][code] = true
		}
	}
	asOf, _ := time.ParseInLocation(time.DateOnly, AsOf, network.Shanghai)
	cutoff := asOf.AddDate(0, 0, 1).UnixMilli()
	firstDay := asOf.AddDate(0, 0, 1-HistoryDays).UnixMilli()

	type agg struct{ orders, returned int }
	var (
		monthly                   = map[string]int{}
		totalByRegion             = map[string]int64{}
		paidByRegion              = map[string]int{}
		custOrders                = map[int32]int{}
		custRegion                = map[int32]string{}
		online, store             agg
		late, standardShips       int
		promoDisc, normalDisc     [2]int64 // discount, gross
		personaTotal              [3]int64
		personaOrders, personaLiv [3]int
		open                      int
		modes                     = map[uint8]int{}
	)
	for i := range h.orders {
		o := &h.orders[i]
		if o.id != int64(i+1) {
			t.Fatalf("order %d at position %d", o.id, i)
		}
		if !mobileRE.MatchString(o.mobile) {
			t.Fatalf("order %d: mobile %q", o.id, o.mobile)
		}
		if len(o.lines) == 0 || len(o.steps) == 0 || o.steps[0].to != stCreated || o.steps[0].at != o.created {
			t.Fatalf("order %d: %d lines, steps %+v", o.id, len(o.lines), o.steps)
		}
		if o.created < firstDay || o.created >= cutoff {
			t.Fatalf("order %d created at %d, outside the history", o.id, o.created)
		}
		for k := 1; k < len(o.steps); k++ {
			if o.steps[k].at < o.steps[k-1].at || o.steps[k].at >= cutoff {
				t.Fatalf("order %d: steps out of order or after the cutoff: %+v", o.id, o.steps)
			}
		}
		status := o.status()
		modes[o.mode]++
		var sub, disc int64
		for n, l := range o.lines {
			if int(l.sku) >= len(listPrice) || int(l.loc) >= len(sites) {
				t.Fatalf("order %d line %d: SKU %d, location %d", o.id, n+1, l.sku, l.loc)
			}
			loc := sites[l.loc]
			if !allowed[o.channel][loc.code] {
				t.Fatalf("order %d (%s) fulfilled at %s, not a location of the channel", o.id, chans[o.channel].Code, loc.code)
			}
			if l.price != listPrice[l.sku] || l.cost != cost[l.sku] || l.qty <= 0 || l.disc < 0 ||
				l.amount != l.price*l.qty-l.disc || l.amount <= 0 {
				t.Fatalf("order %d line %+v: prices", o.id, l)
			}
			if l.returned > l.shipped || l.shipped > l.qty {
				t.Fatalf("order %d line %+v: returned > shipped or shipped > qty", o.id, l)
			}
			if status == stCompleted && l.shipped != l.qty {
				t.Fatalf("order %d completed with line %+v not handed over", o.id, l)
			}
			if status == stCancelled && l.shipped != 0 {
				t.Fatalf("order %d cancelled with units shipped", o.id)
			}
			switch o.mode {
			case modePOS, modePickup:
				if int(l.loc) != int(o.store) || loc.kind != network.Store || (o.mode == modePickup && !loc.pickup) {
					t.Fatalf("order %d (%s): line at %s, store %d", o.id, modeNames[o.mode], loc.code, o.store)
				}
			case modeInstant:
				if loc.instantM == 0 || network.DistanceM(o.lat, o.lng, loc.lat, loc.lng) > float64(loc.instantM) {
					t.Fatalf("order %d: instant from %s to %v,%v", o.id, loc.code, o.lat, o.lng)
				}
			case modeStandard:
				if !loc.ship {
					t.Fatalf("order %d: parcel from %s, which does not ship", o.id, loc.code)
				}
			}
			sub += l.price * l.qty
			disc += l.disc
		}
		if o.subtotal != sub || o.discount != disc || o.total != sub-disc+o.shipping || o.shipping < 0 {
			t.Fatalf("order %d: subtotal %d discount %d shipping %d total %d; lines %d, %d", o.id, o.subtotal, o.discount, o.shipping, o.total, sub, disc)
		}
		var refunds int64
		for _, r := range o.refunds {
			refunds += r.amount
			if r.amount <= 0 || r.at < o.paidAt || r.at >= cutoff {
				t.Fatalf("order %d: refund %+v", o.id, r)
			}
		}
		if (o.payID > 0) != (o.paid > 0) || (o.paid > 0 && o.paid != o.total) || o.refunded != refunds || o.refunded > o.paid {
			t.Fatalf("order %d: paid %d of %d, refunded %d (refunds %d)", o.id, o.paid, o.total, o.refunded, refunds)
		}
		if status == stCancelled && o.refunded != o.paid {
			t.Fatalf("order %d: cancelled with %d of %d refunded", o.id, o.refunded, o.paid)
		}
		if o.mode == modeInstant && o.promised != o.created+2*msHour {
			t.Fatalf("order %d: instant promised %d, created %d", o.id, o.promised, o.created)
		}
		if ret := o.ret; ret != nil {
			var want int64
			for _, r := range o.refunds {
				if r.afterSale == ret.id {
					want += r.amount
				}
			}
			if ret.refund != want || ret.refund <= 0 || !(ret.created < ret.handled && ret.handled <= ret.completed && ret.completed < cutoff) {
				t.Fatalf("order %d: return %+v, refunds %d", o.id, ret, want)
			}
			for _, rl := range ret.lines {
				if rl.qty <= 0 || rl.qty > o.lines[rl.line-1].returned {
					t.Fatalf("order %d: return line %+v", o.id, rl)
				}
			}
		}
		for _, s := range o.ships {
			if s.ev[0] == 0 || len(s.lines) == 0 {
				t.Fatalf("order %d: shipment %+v", o.id, s)
			}
			prev := int64(0)
			for _, at := range s.ev {
				if at != 0 && at < prev {
					t.Fatalf("order %d: shipment events out of order %v", o.id, s.ev)
				}
				prev = max(prev, at)
			}
			if !s.instant && s.ev[3] != 0 {
				standardShips++
				if s.ev[3] > s.promised {
					late++
				}
			}
		}
		switch status {
		case stCompleted, stCancelled:
		default:
			open++
			if o.created < cutoff-14*msDay {
				t.Errorf("order %d is still %s two weeks before the cutoff", o.id, statusNames[status])
			}
		}

		// Aggregates (orders older than a month: returns have had time).
		local := time.UnixMilli(o.created).In(network.Shanghai)
		monthly[local.Format("2006-01")]++
		if o.paid == 0 || status == stCancelled {
			continue
		}
		totalByRegion[o.region] += o.total
		paidByRegion[o.region]++
		if o.cust >= 0 {
			custOrders[o.cust]++
			if _, ok := custRegion[o.cust]; !ok {
				custRegion[o.cust] = o.region
			}
		}
		personaTotal[o.persona] += o.total
		personaOrders[o.persona]++
		if o.channel == chLive {
			personaLiv[o.persona]++
		}
		var gross int64
		for _, l := range o.lines {
			gross += l.price * l.qty
		}
		if md := local.Format("01-02"); o.mode != modePOS && ((md >= "06-01" && md <= "06-18") || (md >= "11-01" && md <= "11-11")) {
			promoDisc[0], promoDisc[1] = promoDisc[0]+o.discount, promoDisc[1]+gross
		} else if o.mode != modePOS {
			normalDisc[0], normalDisc[1] = normalDisc[0]+o.discount, normalDisc[1]+gross
		}
		if o.created < cutoff-30*msDay {
			a := &online
			if o.mode == modePOS {
				a = &store
			}
			a.orders++
			if o.ret != nil {
				a.returned++
			}
		}
	}
	t.Logf("%+v; modes %v; %d open", h.Summary(), modes, open)

	// Seasonality: the months of 618 and Double 11 above the mean, the
	// Spring Festival's February below.
	byMonth := map[time.Month][]int{}
	total := 0
	for k, n := range monthly {
		m, _ := time.Parse("2006-01", k)
		byMonth[m.Month()] = append(byMonth[m.Month()], n)
		total += n
	}
	mean := float64(total) / float64(len(monthly))
	avg := func(m time.Month) float64 {
		s := 0
		for _, n := range byMonth[m] {
			s += n
		}
		return float64(s) / float64(len(byMonth[m]))
	}
	t.Logf("monthly mean %.0f: Feb %.0f, Jun %.0f, Nov %.0f", mean, avg(time.February), avg(time.June), avg(time.November))
	if len(monthly) != 24 || avg(time.June) <= 1.1*mean || avg(time.November) <= 1.15*mean || avg(time.February) >= 0.85*mean {
		t.Errorf("seasonality: %d months, mean %.0f, Feb %.0f, Jun %.0f, Nov %.0f", len(monthly), mean, avg(time.February), avg(time.June), avg(time.November))
	}

	// East China: higher order values.
	var all int64
	var n int
	for r, v := range totalByRegion {
		all += v
		n += paidByRegion[r]
	}
	national, east := float64(all)/float64(n), float64(totalByRegion[East])/float64(paidByRegion[East])
	t.Logf("AOV: national %.0f, East %.0f", national/100, east/100)
	if east < 1.04*national {
		t.Errorf("East AOV %.0f is not above the national %.0f", east/100, national/100)
	}

	// South China: more repeat buying.
	repeat := func(region string) float64 {
		var buyers, repeaters int
		for c, k := range custOrders {
			if region != "" && custRegion[c] != region {
				continue
			}
			buyers++
			if k > 1 {
				repeaters++
			}
		}
		return float64(repeaters) / float64(buyers)
	}
	t.Logf("repeat rate: national %.3f, South %.3f", repeat(""), repeat(South))
	if repeat(South) < repeat("")+0.03 {
		t.Errorf("South repeat rate %.3f is not above the national %.3f", repeat(South), repeat(""))
	}

	// Returns: a quarter of online orders, a few percent in store.
	onlineRate, storeRate := float64(online.returned)/float64(online.orders), float64(store.returned)/float64(store.orders)
	t.Logf("returns: online %.3f of %d, store %.3f of %d", onlineRate, online.orders, storeRate, store.orders)
	if onlineRate < 0.20 || onlineRate > 0.30 || storeRate < 0.03 || storeRate > 0.05 {
		t.Errorf("return rates: online %.3f, store %.3f", onlineRate, storeRate)
	}

	// Some parcels are late, most are not.
	if lr := float64(late) / float64(standardShips); lr < 0.03 || lr > 0.25 {
		t.Errorf("%d of %d parcels late", late, standardShips)
	}
	// Festivals discount more.
	if promo, normal := float64(promoDisc[0])/float64(promoDisc[1]), float64(normalDisc[0])/float64(normalDisc[1]); promo < 1.5*normal {
		t.Errorf("discount rate: festivals %.3f, other days %.3f", promo, normal)
	}
	// Personas: the mature spend more per order than the young, who watch
	// live streams more.
	aov := func(p int) float64 { return float64(personaTotal[p]) / float64(personaOrders[p]) }
	live := func(p int) float64 { return float64(personaLiv[p]) / float64(personaOrders[p]) }
	if aov(2) < 1.2*aov(1) || live(1) < 2*live(2) {
		t.Errorf("personas: AOV mature %.0f young %.0f; live share young %.3f mature %.3f", aov(2)/100, aov(1)/100, live(1), live(2))
	}
	if open == 0 || open > len(h.orders)/50 {
		t.Errorf("%d orders open at the cutoff", open)
	}
	for m := modePOS; m <= modeStandard; m++ {
		if modes[m] < len(h.orders)/30 {
			t.Errorf("modes %v", modes)
		}
	}
}

// countRows counts the rows of each history table.
func countRows(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range histTables {
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+tb.name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb.name] = n
	}
	return out
}

func TestWriteHistory(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(d)
		w.generate(t, 2026)
		deps := w.historyDeps()
		h := MakeHistory(2026, 0.01)
		held := openLines(h) // the test world has no opening stock: WriteHistory receives what they hold
		start := time.Now()
		wrote, err := WriteHistory(ctx, deps, h)
		if err != nil || !wrote {
			t.Fatalf("WriteHistory: %v, %v", wrote, err)
		}
		t.Logf("%s: %d orders written in %s", d.Engine, len(h.orders), time.Since(start).Round(time.Millisecond))

		want := map[string]int{}
		for _, tb := range histTables {
			_ = tb.rows(h, localRefs(h), func(...any) error { want[tb.name]++; return nil })
		}
		got := countRows(t, d)
		for name, n := range want {
			if got[name] != n || n == 0 {
				t.Errorf("%s: %d rows stored, %d generated", name, got[name], n)
			}
		}

		// The stored rows keep the plan's invariants and references.
		for _, c := range []struct{ name, q string }{
			{"totals", `SELECT COUNT(*) FROM orders WHERE total <> subtotal - discount + shipping_fee OR refunded > paid`},
			{"subtotals", `SELECT COUNT(*) FROM orders o WHERE subtotal <> (SELECT SUM(unit_price * qty) FROM order_lines l WHERE l.order_id = o.id)
				OR discount <> (SELECT SUM(discount) FROM order_lines l WHERE l.order_id = o.id)`},
			{"refunds", `SELECT COUNT(*) FROM orders o WHERE refunded <> COALESCE((SELECT SUM(amount) FROM refunds r WHERE r.order_id = o.id), 0)`},
			{"payments", `SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.amount <> o.paid OR p.refunded <> o.refunded`},
			{"over-returned lines", `SELECT COUNT(*) FROM order_lines WHERE returned > shipped`},
			{"held lines", `SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
				WHERE l.held <> CASE WHEN o.status IN ('allocated', 'picking', 'ready_for_pickup', 'partially_shipped') THEN l.qty - l.shipped ELSE 0 END`},
			{"holds", `SELECT COUNT(*) FROM order_lines l WHERE l.held <> COALESCE((SELECT SUM(m.reserved_delta) FROM stock_movements m
				WHERE m.ref_type = 'order' AND m.ref_id = CAST(l.order_id AS TEXT) AND m.sku_id = l.sku_id AND m.location_id = l.location_id), 0)`},
			{"prices", `SELECT COUNT(*) FROM order_lines l JOIN skus k ON k.id = l.sku_id WHERE l.unit_price <> k.list_price OR l.unit_cost <> k.cost`},
			{"after-sale refunds", `SELECT COUNT(*) FROM after_sales a WHERE refund_amount <> (SELECT SUM(amount) FROM refunds r WHERE r.after_sale_id = a.id)`},
			{"history", `SELECT COUNT(*) FROM orders o WHERE status <> (SELECT h.to_status FROM order_history h WHERE h.order_id = o.id ORDER BY h.id DESC LIMIT 1)`},
			{"pickup stores", `SELECT COUNT(*) FROM orders o JOIN locations l ON l.id = o.store_id WHERE o.mode = 'pickup' AND NOT l.can_pickup`},
			{"late", `SELECT COUNT(*) FROM shipments WHERE late <> (delivered_at IS NOT NULL AND delivered_at > promised_at)`},
		} {
			var n int
			if err := d.QueryRow(ctx, c.q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if n != 0 {
				t.Errorf("%s: %d rows break the rule", c.name, n)
			}
		}
		var code string
		if err := d.QueryRow(ctx, `SELECT k.code FROM order_lines l JOIN skus k ON k.id = l.sku_id WHERE l.order_id = 1 AND l.line_no = 1`).Scan(&code); err != nil || code != h.skuCodes[h.orders[0].lines[0].sku] {
			t.Fatalf("order 1 line 1 is %q (%v), want %s", code, err, h.skuCodes[h.orders[0].lines[0].sku])
		}
		var movements int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM stock_movements WHERE kind <> 'receipt'`).Scan(&movements); err != nil || movements != held {
			t.Fatalf("%d stock movements besides receipts (%v); want %d holds of open orders", movements, err, held)
		}
		if rep, err := w.inv.CheckLedger(ctx); err != nil || !rep.Consistent {
			t.Fatalf("stock ledger after the history: %+v, %v", rep, err)
		}

		// Again: nothing is written twice.
		if wrote, err := WriteHistory(ctx, deps, MakeHistory(2026, 0.01)); err != nil || wrote {
			t.Fatalf("second WriteHistory: %v, %v", wrote, err)
		}
		if _, wrote, err := LoadHistory(ctx, deps, 2026, 0.01); err != nil || wrote {
			t.Fatalf("LoadHistory on a store with orders: %v, %v", wrote, err)
		}
		if again := countRows(t, d); !mapsEqual(again, got) {
			t.Fatalf("rows after a re-run %v; want %v", again, got)
		}

		// Rows inserted afterwards get fresh ids (the sequences moved on).
		rollback := errors.New("rollback")
		err = d.InTx(ctx, func(tx *db.Tx) error {
			var id int64
			if err := tx.QueryRow(`INSERT INTO orders (channel_id, mode, status, subtotal, total, created_at, updated_at)
				SELECT channel_id, mode, 'created', 0, 0, 0, 0 FROM orders WHERE id = 1 RETURNING id`).Scan(&id); err != nil {
				return err
			}
			if id != int64(len(h.orders))+1 {
				t.Errorf("a new order got id %d after %d", id, len(h.orders))
			}
			if err := tx.QueryRow(`INSERT INTO payments (order_id, provider, amount, status, out_trade_no, created_at, updated_at)
				VALUES (?, 'test', 1, 'pending', 'T-new', 0, 0) RETURNING id`, id).Scan(&id); err != nil {
				return err
			}
			if id != int64(got["payments"])+1 {
				t.Errorf("a new payment got id %d after %d", id, got["payments"])
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLoadHistoryNeedsItsServices(t *testing.T) {
	t.Parallel()
	if _, _, err := LoadHistory(context.Background(), HistoryDeps{}, 1, 0.01); err == nil {
		t.Fatal("LoadHistory without a store succeeded")
	}
}

// BenchmarkWriteHistory measures writing the full history (scale 1) into
// a fresh SQLite store holding the demo's network and catalog:
//
//	go test -run '^$' -bench WriteHistory -benchtime 1x ./internal/demo
func BenchmarkWriteHistory(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		w := newWorld(dbtest.SQLite(b))
		if _, err := Generate(context.Background(), Deps{Catalog: w.cat, Network: w.net, Receive: w.rec.receive}, 2026); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		h := MakeHistory(2026, 1)
		made := time.Since(start)
		if _, err := WriteHistory(context.Background(), w.historyDeps(), h); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(made.Seconds(), "make-s")
		b.ReportMetric(float64(len(h.orders)), "orders")
	}
}

// historyDeps are the services WriteHistory needs, over the world's store.
func (w *world) historyDeps() HistoryDeps {
	return HistoryDeps{DB: w.d, Catalog: w.cat, Network: w.net, Inventory: w.inv}
}

// openLines counts the lines of the orders open at the cutoff that still
// hold units.
func openLines(h *History) int {
	n := 0
	for i := range h.orders {
		o := &h.orders[i]
		switch o.status() {
		case stAllocated, stPicking, stReadyForPickup, stPartiallyShipped:
			for _, l := range o.lines {
				if l.qty > l.shipped {
					n++
				}
			}
		}
	}
	return n
}

package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// ordersFixture holds the ids of the rows ordersSeed writes.
type ordersFixture struct {
	o1, o2, o5, o6, o7 int64
}

// shMs is a Shanghai wall-clock time as BIGINT milliseconds.
func shMs(y int, m time.Month, d, h int) int64 {
	return time.Date(y, m, d, h, 0, 0, 0, Shanghai).UnixMilli()
}

// ordersSeed writes a small history straight into the tables:
//
//	O1 pos at store SH1, member 7, 2026-01-05 10:00: A 2×5000; B 1×9000 − 1000 line discount
//	O2 mini, standard from WH1, guest 13800000001, 2026-01-20 12:00: C 3×10000; A 1×5000 − 500;
//	   order-level discount 1000 spread 870 / 130
//	O3 created (unpaid), O4 cancelled: left out
//	O5 mini, pickup at SH1, anonymous guest, 2026-02-03 09:00: B 1×9000
//	O6 an exchange replacement of O1: left out
//	O7 pos at SH1, member 7, no paid_at, created 2026-02-10 15:00: A 1×5000
//
// and after-sales: completed returns of 1 then 2 of O2's 3 C (01-25, 01-28),
// a completed return of O1's B (02-01), a second one of the same B (more than sold:
// skipped), a return of O6 (not in the data: skipped), and a requested
// return and a completed exchange of O1 (neither counts).
func ordersSeed(t *testing.T, d *db.DB) ordersFixture {
	t.Helper()
	var f ordersFixture
	now := shMs(2026, 3, 1, 0)
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		id := func(q string, args ...any) int64 {
			var v int64
			if err := tx.QueryRow(q+" RETURNING id", args...).Scan(&v); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return v
		}
		exec := func(q string, args ...any) {
			if _, err := tx.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		style := func(code, cat string) int64 {
			return id(`INSERT INTO styles (code, name, category, lifecycle, launch_date, created_at, updated_at)
				VALUES (?, ?, ?, 'classic', '2025-01-01', ?, ?)`, code, code, cat, now, now)
		}
		sku := func(code string, style, price, cost int64) int64 {
			return id(`INSERT INTO skus (code, style_id, color, size, barcode, list_price, cost, created_at, updated_at)
				VALUES (?, ?, 'black', ?, ?, ?, ?, ?, ?)`, code, style, code, "690"+code, price, cost, now, now)
		}
		loc := func(code, kind string) int64 {
			return id(`INSERT INTO locations (code, name, kind, region, province, city, lat, lng, created_at, updated_at)
				VALUES (?, ?, ?, 'east', 'Shanghai', 'Shanghai', 31.2, 121.5, ?, ?)`, code, code, kind, now, now)
		}
		channel := func(code, kind string) int64 {
			return id(`INSERT INTO channels (code, name, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, code, code, kind, now, now)
		}
		tops, shoes := style("ST1", "tops"), style("ST2", "shoes")
		a, b, c := sku("A", tops, 5000, 2900), sku("B", tops, 9000, 4900), sku("C", shoes, 10000, 5900)
		sh1, wh1 := loc("SH1", "store"), loc("WH1", "regional_warehouse")
		pos, mini := channel("pos", "pos"), channel("mini", "mini_program")

		order := func(ch int64, mode, status string, member any, mobile string, store any, region string,
			subtotal, discount int64, paid any, created int64, exchangeOf any) int64 {
			total := subtotal - discount
			paidAmt := int64(0)
			if paid != nil {
				paidAmt = total
			}
			return id(`INSERT INTO orders (channel_id, mode, status, member_id, customer_mobile, store_id, region,
				exchange_of, subtotal, discount, total, paid, created_at, paid_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				ch, mode, status, member, mobile, store, region, exchangeOf, subtotal, discount, total, paidAmt, created, paid, now)
		}
		line := func(o int64, no int, sku, qty, price, disc, cost int64, loc any) {
			exec(`INSERT INTO order_lines (order_id, line_no, sku_id, qty, unit_price, discount, amount, unit_cost, location_id, shipped)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o, no, sku, qty, price, disc, qty*price-disc, cost, loc, qty)
		}
		t1, t2 := shMs(2026, 1, 5, 10), shMs(2026, 1, 20, 12)
		f.o1 = order(pos, "pos", "completed", 7, "13900000007", sh1, "east", 19000, 1000, t1-60000, t1-60000, nil)
		// paid_at is what counts, not created_at
		exec(`UPDATE orders SET paid_at = ? WHERE id = ?`, t1, f.o1)
		line(f.o1, 1, a, 2, 5000, 0, 3000, sh1)
		line(f.o1, 2, b, 1, 9000, 1000, 5000, sh1)
		f.o2 = order(mini, "standard", "delivered", nil, "13800000001", nil, "south", 35000, 1500, t2, t2-3600000, nil)
		line(f.o2, 1, c, 3, 10000, 0, 6000, wh1)
		line(f.o2, 2, a, 1, 5000, 500, 3000, wh1)
		o3 := order(mini, "standard", "created", 7, "", nil, "east", 5000, 0, nil, shMs(2026, 1, 22, 9), nil)
		line(o3, 1, a, 1, 5000, 0, 3000, wh1)
		o4 := order(mini, "standard", "cancelled", 7, "", nil, "east", 5000, 0, shMs(2026, 1, 23, 9), shMs(2026, 1, 23, 9), nil)
		line(o4, 1, a, 1, 5000, 0, 3000, wh1)
		f.o5 = order(mini, "pickup", "picked_up", nil, "", sh1, "east", 9000, 0, shMs(2026, 2, 3, 9), shMs(2026, 2, 3, 9), nil)
		line(f.o5, 1, b, 1, 9000, 0, 5000, nil) // the pickup store is the store
		f.o6 = order(pos, "pos", "completed", 7, "", sh1, "east", 9000, 9000, shMs(2026, 2, 4, 9), shMs(2026, 2, 4, 9), f.o1)
		line(f.o6, 1, b, 1, 9000, 9000, 5000, sh1)
		f.o7 = order(pos, "pos", "completed", 7, "", sh1, "east", 5000, 0, nil, shMs(2026, 2, 10, 15), nil)
		line(f.o7, 1, a, 1, 5000, 0, 3000, sh1)

		afterSale := func(o int64, kind, status string, updated int64, lines ...[2]int64) {
			as := id(`INSERT INTO after_sales (order_id, kind, status, reason, due_at, created_at, updated_at)
				VALUES (?, ?, ?, 'size', ?, ?, ?)`, o, kind, status, updated, updated-86400000, updated)
			for _, l := range lines {
				exec(`INSERT INTO after_sale_lines (after_sale_id, line_no, qty, condition) VALUES (?, ?, ?, 'sellable')`, as, l[0], l[1])
			}
		}
		afterSale(f.o2, "return", "completed", shMs(2026, 1, 25, 10), [2]int64{1, 1})
		afterSale(f.o2, "return", "completed", shMs(2026, 1, 28, 10), [2]int64{1, 2})
		afterSale(f.o1, "return", "completed", shMs(2026, 2, 1, 10), [2]int64{2, 1})
		afterSale(f.o1, "return", "completed", shMs(2026, 2, 2, 10), [2]int64{2, 1})
		afterSale(f.o6, "return", "completed", shMs(2026, 2, 5, 10), [2]int64{1, 1})
		afterSale(f.o1, "return", "requested", shMs(2026, 2, 6, 10), [2]int64{1, 1})
		afterSale(f.o1, "exchange", "completed", shMs(2026, 2, 7, 10), [2]int64{1, 1})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ordersRow is one Dataset line spelled out.
type ordersRow struct {
	Order, Customer, SKU     string
	Qty                      int32
	Price, Value, Disc, Cost int64
	At                       time.Time
	Channel, Store, Region   string
}

func ordersRows(d *Dataset) []ordersRow {
	name := func(list []string, i int32) string {
		if i < 0 {
			return ""
		}
		return list[i]
	}
	out := make([]ordersRow, d.Len())
	for i := range out {
		out[i] = ordersRow{d.OrderIDs[d.Order[i]], name(d.CustomerIDs, d.Customer[i]), d.SKUIDs[d.SKU[i]], d.Qty[i],
			d.Price[i], d.Value[i], d.Discount[i], d.Cost[i], d.Time(i).In(Shanghai),
			name(d.Channels, d.Channel[i]), name(d.Stores, d.Store[i]), name(d.Regions, d.Region[i])}
	}
	return out
}

// TestLoadOrders: the live orders become the Dataset and the analyses give
// the hand-computed figures, on both engines.
func TestLoadOrders(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := ordersSeed(t, d)
		ds, sum, err := LoadOrders(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		at := func(m time.Month, day, h int) time.Time { return time.Date(2026, m, day, h, 0, 0, 0, Shanghai) }
		o := func(id int64) string { return fmt.Sprint(id) }
		m7, g1 := "member:7", guestID("13800000001")
		want := []ordersRow{
			{o(f.o1), m7, "A", 2, 5000, 10000, 0, 3000, at(1, 5, 10), "pos", "SH1", "east"},
			{o(f.o1), m7, "B", 1, 8000, 8000, 1000, 5000, at(1, 5, 10), "pos", "SH1", "east"},
			// order-level 1000 over amounts 30000 and 4500: ⌊869.57⌋ = 869, the last line 131
			{o(f.o2), g1, "C", 3, 9710, 29131, 869, 6000, at(1, 20, 12), "mini", "WH1", "south"},
			{o(f.o2), g1, "A", 1, 4369, 4369, 631, 3000, at(1, 20, 12), "mini", "WH1", "south"},
			{o(f.o5), "", "B", 1, 9000, 9000, 0, 5000, at(2, 3, 9), "mini", "SH1", "east"},
			{o(f.o7), m7, "A", 1, 5000, 5000, 0, 3000, at(2, 10, 15), "pos", "SH1", "east"},
			// returns, in completion order: 1 then 2 of O2's 3 C, O1's B
			// ⌊29131 ÷ 3⌋ = 9710, ⌊869 ÷ 3⌋ = 289; then the rest: 29131 − 9710, 869 − 289
			{o(f.o2), g1, "C", -1, 9710, -9710, -289, 6000, at(1, 25, 10), "mini", "WH1", "south"},
			{o(f.o2), g1, "C", -2, 9710, -19421, -580, 6000, at(1, 28, 10), "mini", "WH1", "south"},
			{o(f.o1), m7, "B", -1, 8000, -8000, -1000, 5000, at(2, 1, 10), "pos", "SH1", "east"},
		}
		got := ordersRows(ds)
		if len(got) != len(want) {
			t.Fatalf("%d lines; want %d:\n%+v", len(got), len(want), got)
		}
		for i := range want {
			if g, w := got[i], want[i]; g.Order != w.Order || g.Customer != w.Customer || g.SKU != w.SKU || g.Qty != w.Qty ||
				g.Price != w.Price || g.Value != w.Value || g.Disc != w.Disc || g.Cost != w.Cost || !g.At.Equal(w.At) ||
				g.Channel != w.Channel || g.Store != w.Store || g.Region != w.Region {
				t.Errorf("line %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
		if !ds.Returns || ds.Currency != "CNY" {
			t.Errorf("Returns %v, currency %s", ds.Returns, ds.Currency)
		}
		cat := map[string]string{}
		for s, id := range ds.SKUIDs {
			cat[id] = ds.SKUCategory[s]
		}
		if cat["A"] != "tops" || cat["B"] != "tops" || cat["C"] != "shoes" {
			t.Errorf("categories %v", cat)
		}
		wantSum := OrdersSummary{Currency: "CNY", Orders: 4, SalesLines: 6, ReturnLines: 3, Customers: 2, SKUs: 3,
			MissingCustomer: 1, Sales: 65500, Discount: 2500, Units: 9, Returned: 37131, ReturnedUnits: 4, SkippedReturns: 2}
		gotSum := sum
		gotSum.DataFrom, gotSum.DataTo = nil, nil
		if gotSum != wantSum {
			t.Errorf("summary\n got %+v\nwant %+v", gotSum, wantSum)
		}
		if sum.DataFrom == nil || !sum.DataFrom.Equal(at(1, 5, 10)) || sum.DataTo == nil || !sum.DataTo.Equal(at(2, 10, 15)) {
			t.Errorf("data from %v to %v", sum.DataFrom, sum.DataTo)
		}

		// KPIs by Shanghai month.
		tab, err := KPIs(ds, nil, KPIOptions{Location: Shanghai})
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Rows) != 2 {
			t.Fatalf("%d KPI rows: %+v", len(tab.Rows), tab.Rows)
		}
		type kpi struct {
			period                      string
			sales, aov, units, returned int64
			orders, customers, back     int
			rate                        float64
			cost                        int64
		}
		for i, w := range []kpi{
			// Jan: 18000 + 33500 gross, −9710 − 19421 returned; cost 2×3000 + 5000 + 3×6000 + 3000 − 3×6000
			{"2026-01", 22369, 11184, 4, 29131, 2, 2, 0, 29131.0 / 51500, 14000},
			// Feb: 9000 + 5000 gross, −8000 returned; member 7 came back; cost 5000 + 3000 − 5000
			{"2026-02", 6000, 3000, 1, 8000, 2, 1, 1, 8000.0 / 14000, 3000},
		} {
			r := tab.Rows[i]
			if r.Period != w.period || r.Sales != w.sales || r.AOV != w.aov || r.Units != w.units || r.Orders != w.orders ||
				r.Customers != w.customers || r.ReturningCustomers != w.back || r.ReturnedAmount == nil || *r.ReturnedAmount != w.returned ||
				r.ReturnRate == nil || math.Abs(*r.ReturnRate-w.rate) > 1e-12 || r.Cost == nil || *r.Cost != w.cost ||
				*r.GrossMargin != w.sales-w.cost {
				t.Errorf("KPI row %d: %+v (returned %v, rate %v, cost %v); want %+v", i, r, ptrVal(r.ReturnedAmount), ptrVal(r.ReturnRate), ptrVal(r.Cost), w)
			}
		}
		if tab.ReturnRate == nil || math.Abs(*tab.ReturnRate-37131.0/65500) > 1e-12 {
			t.Errorf("overall return rate %v; want %v", ptrVal(tab.ReturnRate), 37131.0/65500)
		}
		byStore, err := KPIs(ds, nil, KPIOptions{Location: Shanghai, By: KPIByStore})
		if err != nil {
			t.Fatal(err)
		}
		stores := map[string]int64{}
		for _, r := range byStore.Rows {
			stores[r.Period+" "+r.Group] = r.Sales
		}
		if want := map[string]int64{"2026-01 SH1": 18000, "2026-01 WH1": 4369, "2026-02 SH1": 6000}; !mapsEqual(stores, want) {
			t.Errorf("sales by store %v; want %v", stores, want)
		}

		// RFM counts sales lines only, like an import without its returns.
		asOf := time.Date(2026, 3, 1, 0, 0, 0, 0, Shanghai)
		rows, _, err := RFM(ds, asOf, RFMOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rfm := map[string][3]int64{}
		for _, r := range rows {
			rfm[r.ID] = [3]int64{int64(r.RecencyDays), int64(r.Frequency), r.Monetary}
		}
		if want := map[string][3]int64{m7: {18, 2, 23000}, g1: {39, 1, 33500}}; !mapsEqual(rfm, want) {
			t.Errorf("RFM (recency, frequency, monetary) %v; want %v", rfm, want)
		}

		// CLV: a day with returns only is no purchase day.
		sums, err := Summarize(ds, time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), 7*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		freq := map[string]float64{}
		for _, s := range sums {
			freq[s.Customer] = s.Frequency
		}
		if want := map[string]float64{m7: 1, g1: 0}; !mapsEqual(freq, want) {
			t.Errorf("CLV frequencies %v; want %v", freq, want)
		}

		// Personas see the discount share: 1000 / 24000 and 1500 / 35000.
		res, err := Personas(ds, asOf, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		j := slices.Index(res.Features, PersonaFeatureDiscount)
		if j < 0 {
			t.Fatalf("features %v lack %s", res.Features, PersonaFeatureDiscount)
		}
		share := map[string]float64{}
		for _, a := range res.Customers {
			share[a.ID] = res.Clusters[a.Cluster].Means[j]
		}
		if math.Abs(share[m7]-1000.0/24000) > 1e-12 || math.Abs(share[g1]-1500.0/35000) > 1e-12 {
			t.Errorf("discount shares %v; want %v and %v", share, 1000.0/24000, 1500.0/35000)
		}
	})
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestOrdersHTTP: the handlers run over the live orders on the routes
// without {id}, with the Shanghai calendar, and the cached dataset is
// reloaded when an order changes.
func TestOrdersHTTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := ordersSeed(t, d)
		clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		h := &Handler{S: NewStore(d, outbox.New(nil), func() time.Time { return clock })}
		get := func(handler func(http.ResponseWriter, *http.Request) error, target string, out any) {
			t.Helper()
			w := httptest.NewRecorder()
			if err := handler(w, httptest.NewRequest(http.MethodGet, target, nil)); err != nil {
				t.Fatalf("%s: %v", target, err)
			}
			if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
				t.Fatalf("%s: %v\n%s", target, err, w.Body)
			}
		}
		var sum OrdersSummary
		get(h.Orders, "/api/v1/analytics/orders", &sum)
		if sum.Orders != 4 || sum.Sales != 65500 || sum.Returned != 37131 {
			t.Fatalf("orders summary %+v", sum)
		}
		var tab KPITable
		get(h.KPIs, "/api/v1/analytics/orders/kpis?by=channel", &tab)
		if tab.Location != "Asia/Shanghai" || tab.ReturnRate == nil || math.Abs(*tab.ReturnRate-37131.0/65500) > 1e-12 || len(tab.Rows) != 4 {
			t.Fatalf("kpis: %+v", tab)
		}
		var rfm RFMAnswer
		get(h.RFM, "/api/v1/analytics/orders/rfm?customers=true", &rfm)
		// default as-of: midnight Shanghai after the last line (02-10 15:00): 02-11
		if !rfm.Summary.AsOf.Equal(time.Date(2026, 2, 11, 0, 0, 0, 0, Shanghai)) || rfm.Summary.Customers != 2 || rfm.Summary.Monetary != 56500 {
			t.Fatalf("rfm: %+v", rfm.Summary)
		}
		var coh CohortTable
		get(h.Cohorts, "/api/v1/analytics/orders/cohorts", &coh)
		if coh.Location != "Asia/Shanghai" || coh.Customers != 2 || coh.RepeatCustomers != 1 {
			t.Fatalf("cohorts: %+v", coh)
		}

		// The loaded dataset is reused until the stamp moves: a status
		// change shows with its history row, or after ordersMaxAge.
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.InTx(context.Background(), func(tx *db.Tx) error { _, err := tx.Exec(q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		exec(`UPDATE orders SET status = 'cancelled', updated_at = updated_at + 1 WHERE id = ?`, f.o7)
		get(h.Orders, "/api/v1/analytics/orders", &sum)
		if sum.Orders != 4 {
			t.Fatalf("cancelling O7 without a history row: %d orders; want the cached 4", sum.Orders)
		}
		exec(`INSERT INTO order_history (order_id, from_status, to_status, created_at) VALUES (?, 'completed', 'cancelled', ?)`, f.o7, shMs(2026, 3, 1, 1))
		get(h.Orders, "/api/v1/analytics/orders", &sum)
		if sum.Orders != 3 || sum.Sales != 60500 {
			t.Fatalf("after cancelling O7: %+v", sum)
		}
		exec(`UPDATE orders SET status = 'cancelled' WHERE id = ?`, f.o5)
		clock = clock.Add(ordersMaxAge - time.Second)
		get(h.Orders, "/api/v1/analytics/orders", &sum)
		if sum.Orders != 3 {
			t.Fatalf("cancelling O5 without a history row, %s later: %d orders; want the cached 3", ordersMaxAge-time.Second, sum.Orders)
		}
		clock = clock.Add(time.Second)
		get(h.Orders, "/api/v1/analytics/orders", &sum)
		if sum.Orders != 2 || sum.Sales != 51500 {
			t.Fatalf("after cancelling O5, %s later: %+v", ordersMaxAge, sum)
		}
	})
}

// TestPersonasDiscountShare: with a Discount column the discount share is a
// feature and names the discount-driven cluster rational; imported data
// without discounts do not have the feature.
func TestPersonasDiscountShare(t *testing.T) {
	t.Parallel()
	build := func(withDiscount bool) *Dataset {
		b := NewBuilder("CNY")
		t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
		var disc []int64
		for c := range 20 {
			// same spend, recency and frequency for everyone; half of them
			// paid 10000 for 20000 of list value
			b.Add(fmt.Sprintf("o%d", c), fmt.Sprintf("c%02d", c), "S", 1, 10000, t0, "", "")
			disc = append(disc, int64(10000*(c%2)))
		}
		if withDiscount {
			b.D.Discount = disc
		}
		return b.D
	}
	asOf := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Personas(build(false), asOf, 2, 1); err == nil {
		t.Fatal("without discounts nothing varies, yet Personas found a feature")
	}
	res, err := Personas(build(true), asOf, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Features, []string{PersonaFeatureDiscount}) {
		t.Fatalf("features %v; want only %s", res.Features, PersonaFeatureDiscount)
	}
	got := map[Persona]float64{}
	for _, c := range res.Clusters {
		got[c.Persona] = c.Means[0]
		if c.Customers != 10 {
			t.Errorf("cluster %+v; want 10 customers", c)
		}
	}
	if want := map[Persona]float64{PersonaRational: 0.5, PersonaPractical: 0}; !mapsEqual(got, want) {
		t.Fatalf("personas and discount shares %v; want %v", got, want)
	}
	for _, a := range res.Customers {
		if odd := a.ID[2]%2 == 1; odd != (res.Clusters[a.Cluster].Persona == PersonaRational) {
			t.Errorf("customer %s in cluster %d (%s)", a.ID, a.Cluster, res.Clusters[a.Cluster].Persona)
		}
	}
}

// TestOrdersMulDivRound: rounding down and half up, without overflow.
func TestOrdersMulDivRound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b, c, floor, round int64 }{
		{29131, 1, 3, 9710, 9710}, {10, 1, 4, 2, 3}, {9, 1, 4, 2, 2}, {1 << 62, 1 << 20, 1 << 21, 1 << 61, 1 << 61},
		{1000, 30000, 34500, 869, 870}, {7, 0, 3, 0, 0}, {1<<63 - 1, 3, 4, 6917529027641081855, 6917529027641081855},
	} {
		if got := ordersMulDiv(tc.a, tc.b, tc.c); got != tc.floor {
			t.Errorf("⌊%d × %d ÷ %d⌋ = %d; want %d", tc.a, tc.b, tc.c, got, tc.floor)
		}
		if got := ordersMulDivRound(tc.a, tc.b, tc.c); got != tc.round {
			t.Errorf("round(%d × %d ÷ %d) = %d; want %d", tc.a, tc.b, tc.c, got, tc.round)
		}
	}
}

func TestGuestIDMasksTheNumber(t *testing.T) {
	a, b := guestID("13800000001"), guestID("13899990001")
	if a[:len("guest:138****0001~")] != "guest:138****0001~" || a == b {
		t.Fatalf("guestID: %q and %q; want masked numbers told apart by their digests", a, b)
	}
	if a != guestID("13800000001") {
		t.Fatal("guestID is not stable")
	}
}

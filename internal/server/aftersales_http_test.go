package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/server"
)

// asClock is the after-sales tests' settable time.
type asClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *asClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *asClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// asEnv is an HTTP environment with a settable clock: two Shanghai stores
// (SH1 with stock, SH2 without), the mini channel on both and a POS
// channel on SH1; TEE in black M and L (99 CNY) and a cap (59 CNY).
type asEnv struct {
	*env
	d   *db.DB
	clk *asClock
	ops string
}

// asStart is 14:00 in Shanghai.
var asStart = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

func newAfterSalesEnv(t *testing.T, d *db.DB) *asEnv {
	t.Helper()
	ctx := context.Background()
	clk := &asClock{t: asStart}
	app, err := server.Wire(config.Default(), d, slog.New(slog.DiscardHandler), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	m := app.Modules
	ean := func(n int) string {
		body := fmt.Sprintf("69100000%04d", n)
		return catalog.WithCheckDigit(body)
	}
	if _, err := m.Catalog.BulkUpsert(ctx, []catalog.Style{
		{Code: "TEE", Name: "基础T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01", SKUs: []catalog.SKU{
			{Code: "TEE-BLK-M", Color: "黑色", Size: "M", Barcode: ean(1), ListPrice: 9900, Cost: 3000, Active: true},
			{Code: "TEE-BLK-L", Color: "黑色", Size: "L", Barcode: ean(2), ListPrice: 9900, Cost: 3000, Active: true}}},
		{Code: "CAP", Name: "棒球帽", Category: "配饰", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01", SKUs: []catalog.SKU{
			{Code: "CAP-RED-F", Color: "红色", Size: "F", Barcode: ean(3), ListPrice: 5900, Cost: 2000, Active: true}}},
	}); err != nil {
		t.Fatal(err)
	}
	caps := network.Capabilities{POS: true, Pickup: true, Ship: true}
	if err := m.Network.BulkUpsert(ctx, []network.Location{
		{Code: "SH1", Name: "上海南京东路店", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市", Lat: 31.2355, Lng: 121.48, Capabilities: caps, Active: true},
		{Code: "SH2", Name: "上海徐家汇店", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市", Lat: 31.1955, Lng: 121.437, Capabilities: caps, Active: true},
	}, []network.Channel{
		{Code: "mini", Name: "小程序", Kind: network.MiniProgram, MaxSharePct: 100, Locations: []string{"SH1", "SH2"}, Active: true},
		{Code: "pos", Name: "门店收银", Kind: network.POS, MaxSharePct: 100, Locations: []string{"SH1"}, Active: true},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inventory.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: "SH1", Lines: []inventory.PostLine{
		{SKU: "TEE-BLK-M", Qty: 20}, {SKU: "TEE-BLK-L", Qty: 5}, {SKU: "CAP-RED-F", Qty: 5}}}); err != nil {
		t.Fatal(err)
	}
	e := &asEnv{env: &env{app: app, keys: map[string]string{}}, d: d, clk: clk}
	sh1, _ := m.Network.Location(ctx, "SH1")
	for _, k := range []auth.NewKey{{Name: "admin", Role: auth.Admin}, {Name: "ops", Role: auth.Ops}, {Name: "ro", Role: auth.ReadOnly},
		{Name: "store", Role: auth.Store, LocationID: sh1.ID}} {
		_, secret, err := app.Auth.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[k.Name] = secret
	}
	e.admin, e.ops = e.keys["admin"], e.keys["ops"]
	e.srv = httptest.NewServer(app.Handler)
	t.Cleanup(e.srv.Close)
	return e
}

// ok asserts a success status and returns the answer.
func (e *asEnv) ok(t *testing.T, status int, method, path, body string) resp {
	t.Helper()
	r := e.do(t, method, path, e.ops, body)
	if r.status != status {
		t.Fatalf("%s %s: %d %s; want %d", method, path, r.status, r.raw, status)
	}
	return r
}

func asID(r resp) int64 { return int64(r.body["id"].(float64)) }

// handedOver places a pickup order at SH1 and hands it over.
func (e *asEnv) handedOver(t *testing.T, lines string) int64 {
	t.Helper()
	o := e.ok(t, 201, "POST", "/api/v1/orders", `{"channel":"mini","mode":"pickup","store":"SH1","customer":{"mobile":"13800138000"},"lines":[`+lines+`]}`)
	id := asID(o)
	e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/payments", id), `{"provider":"offline","method":"cash"}`)
	e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/pick", id), "")
	e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/ready", id), "")
	r := e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/pickup", id), fmt.Sprintf(`{"code":%q}`, o.body["pickup_code"]))
	if r.body["status"] != "picked_up" {
		t.Fatalf("hand-over: %s", r.raw)
	}
	return id
}

// request files an after-sale and returns the answer.
func (e *asEnv) request(t *testing.T, order int64, body string) resp {
	t.Helper()
	return e.do(t, "POST", fmt.Sprintf("/api/v1/orders/%d/after-sales", order), e.ops, body)
}

func (e *asEnv) asPath(id int64, action string) string {
	if action == "" {
		return fmt.Sprintf("/api/v1/after-sales/%d", id)
	}
	return fmt.Sprintf("/api/v1/after-sales/%d/%s", id, action)
}

// level is a SKU's on hand and reserved units at a location (0 without a level).
func (e *asEnv) level(t *testing.T, sku, loc string) (onHand, reserved int64) {
	t.Helper()
	r := e.do(t, "GET", "/api/v1/inventory/levels/"+sku+"/"+loc, e.ops, "")
	if r.status == 404 {
		return 0, 0
	}
	if r.status != 200 {
		t.Fatalf("level %s@%s: %d %s", sku, loc, r.status, r.raw)
	}
	return int64(r.body["on_hand"].(float64)), int64(r.body["reserved"].(float64))
}

func (e *asEnv) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ledgerOK asserts that every stock level equals the sum of its movements.
func (e *asEnv) ledgerOK(t *testing.T) {
	t.Helper()
	r := e.do(t, "GET", "/api/v1/inventory/ledger/check", e.admin, "")
	if r.status != 200 || r.body["consistent"] != true {
		t.Fatalf("ledger: %s", r.raw)
	}
}

// topics lists the topics of the events about a subject, in order.
func (e *asEnv) topics(t *testing.T, subject string) []string {
	t.Helper()
	rows, err := e.d.Query(context.Background(), `SELECT topic FROM events WHERE subject = ? ORDER BY id`, subject)
	list, err := db.Collect(func(sc db.Scanner) (string, error) {
		var s string
		return s, sc.Scan(&s)
	})(rows, err)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func asNum(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// A return from request to refund, sellable at another store and damaged
// at the store of sale; refused moves and refunds change nothing.
func TestHTTPAfterSalesReturn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newAfterSalesEnv(t, d)

		// Goods still in the store cannot come back.
		o := e.ok(t, 201, "POST", "/api/v1/orders", `{"channel":"mini","mode":"pickup","store":"SH1","customer":{"mobile":"13800138000"},"lines":[{"sku":"TEE-BLK-M","qty":1}]}`)
		e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/payments", asID(o)), `{"provider":"offline","method":"cash"}`)
		r := e.request(t, asID(o), `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on"}]}`)
		problem(t, r, 409, "not_handed_over")
		if r.body["current_status"] != "allocated" {
			t.Fatalf("not_handed_over must name the state: %s", r.raw)
		}

		order := e.handedOver(t, `{"sku":"TEE-BLK-M","qty":2}`)
		created := e.clk.Now()
		r = e.request(t, order, `{"kind":"return","reason":"size","note":"too small","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on"}]}`)
		if r.status != 201 || r.body["status"] != "requested" || r.body["kind"] != "return" || r.body["overdue"] != false {
			t.Fatalf("request: %d %s", r.status, r.raw)
		}
		if due, _ := time.Parse(time.RFC3339, r.body["due_at"].(string)); !due.Equal(created.Add(24 * time.Hour)) {
			t.Fatalf("due_at %v; want created + 24 h (%v)", due, created.Add(24*time.Hour))
		}
		ln := r.body["lines"].([]any)[0].(map[string]any)
		if ln["sku"] != "TEE-BLK-M" || asNum(ln["qty"]) != 1 || ln["condition"] != "unworn_tags_on" {
			t.Fatalf("lines: %s", r.raw)
		}
		as := asID(r)

		// One unit is still returnable: two are refused, and nothing is written.
		r = e.request(t, order, `{"kind":"return","reason":"size","lines":[{"line":1,"qty":2,"condition":"unworn_tags_on"}]}`)
		problem(t, r, 422, "more_than_returnable")
		if asNum(r.body["returnable"]) != 1 || r.body["field"] != "lines[0].qty" {
			t.Fatalf("more_than_returnable: %s", r.raw)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM after_sales WHERE order_id = ?`, order); n != 1 {
			t.Fatalf("%d after-sales after a refused request; want 1", n)
		}

		// Illegal moves name the current state.
		for _, step := range []struct{ action, body string }{
			{"receive", `{"location":"SH2","lines":[{"line":1,"condition":"sellable"}]}`},
			{"complete", ""},
		} {
			r = e.do(t, "POST", e.asPath(as, step.action), e.ops, step.body)
			problem(t, r, 409, "illegal_transition")
			if r.body["current_status"] != "requested" {
				t.Fatalf("%s: %s", step.action, r.raw)
			}
		}
		r = e.ok(t, 200, "POST", e.asPath(as, "approve"), "")
		if r.body["status"] != "approved" || r.body["handled_at"] == nil || r.body["handled_late"] != false {
			t.Fatalf("approve: %s", r.raw)
		}
		r = e.do(t, "POST", e.asPath(as, "approve"), e.ops, "")
		problem(t, r, 409, "illegal_transition")
		if r.body["current_status"] != "approved" {
			t.Fatalf("second approve: %s", r.raw)
		}

		// Received sellable at SH2: a store key of SH1 may not book it there.
		body := `{"location":"SH2","lines":[{"line":1,"condition":"sellable"}]}`
		problem(t, e.do(t, "POST", e.asPath(as, "receive"), e.keys["store"], body), 403, "forbidden_location")
		problem(t, e.do(t, "POST", e.asPath(as, "receive"), e.ops, `{"location":"SH2","lines":[{"line":2,"condition":"sellable"}]}`), 422, "validation_failed")
		problem(t, e.do(t, "POST", e.asPath(as, "receive"), e.ops, `{"location":"SH2","lines":[{"line":1,"condition":"new"}]}`), 422, "validation_failed")
		sh2Before, _ := e.level(t, "TEE-BLK-M", "SH2")
		r = e.ok(t, 200, "POST", e.asPath(as, "receive"), body)
		if r.body["status"] != "received" || r.body["location"] != "SH2" || r.body["lines"].([]any)[0].(map[string]any)["condition"] != "sellable" {
			t.Fatalf("receive: %s", r.raw)
		}
		if oh, _ := e.level(t, "TEE-BLK-M", "SH2"); oh != sh2Before+1 {
			t.Fatalf("SH2 on hand %d after a sellable return; want %d", oh, sh2Before+1)
		}

		r = e.ok(t, 200, "POST", e.asPath(as, "complete"), "")
		if r.body["status"] != "completed" || asNum(r.body["refund_amount"]) != 9900 {
			t.Fatalf("complete: %s", r.raw)
		}
		g := e.ok(t, 200, "GET", fmt.Sprintf("/api/v1/orders/%d", order), "")
		refunds := g.body["refunds"].([]any)
		if asNum(g.body["refunded"]) != 9900 || len(refunds) != 1 || asNum(refunds[0].(map[string]any)["after_sale"]) != as ||
			asNum(g.body["lines"].([]any)[0].(map[string]any)["returned"]) != 1 {
			t.Fatalf("order after the return: %s", g.raw)
		}
		want := []string{"after_sale.requested", "after_sale.approved", "after_sale.received", "after_sale.completed"}
		if got := e.topics(t, fmt.Sprintf("AS%010d", as)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("events %v; want %v", got, want)
		}

		// The other unit comes back damaged at SH1: returned, then written off.
		r = e.request(t, order, `{"kind":"return","reason":"defective","lines":[{"line":1,"qty":1,"condition":"defective"}]}`)
		if r.status != 201 {
			t.Fatalf("second request: %s", r.raw)
		}
		dmg := asID(r)
		e.ok(t, 200, "POST", e.asPath(dmg, "approve"), "")
		sh1Before, _ := e.level(t, "TEE-BLK-M", "SH1")
		e.ok(t, 200, "POST", e.asPath(dmg, "receive"), `{"location":"SH1","lines":[{"line":1,"condition":"damaged"}]}`)
		if oh, _ := e.level(t, "TEE-BLK-M", "SH1"); oh != sh1Before {
			t.Fatalf("SH1 on hand %d after a damaged return; want it unchanged at %d", oh, sh1Before)
		}
		mv := e.ok(t, 200, "GET", "/api/v1/inventory/movements?sku=TEE-BLK-M&location=SH1&limit=500", "")
		var kinds []string
		for _, m := range mv.body["items"].([]any) {
			m := m.(map[string]any)
			if m["ref_type"] == "after_sale" && m["ref_id"] == fmt.Sprint(dmg) {
				kinds = append(kinds, fmt.Sprintf("%s%+d", m["kind"], asNum(m["on_hand_delta"])))
			}
		}
		if strings.Join(kinds, ",") != "return+1,adjustment-1" {
			t.Fatalf("damaged return movements %v; want a return and a write-off", kinds)
		}

		// A refund above what was paid is refused and the request stays received.
		problem(t, e.do(t, "POST", e.asPath(dmg, "complete"), e.ops, `{"refund_amount":10000}`), 422, "refund_above_paid")
		r = e.ok(t, 200, "GET", e.asPath(dmg, ""), "")
		if r.body["status"] != "received" || e.count(t, `SELECT COUNT(*) FROM refunds WHERE order_id = ?`, order) != 1 {
			t.Fatalf("after a refused refund: %s", r.raw)
		}
		r = e.ok(t, 200, "POST", e.asPath(dmg, "complete"), "{}")
		if asNum(r.body["refund_amount"]) != 9900 {
			t.Fatalf("second refund: %s", r.raw)
		}
		g = e.ok(t, 200, "GET", fmt.Sprintf("/api/v1/orders/%d", order), "")
		if asNum(g.body["refunded"]) != 19800 || asNum(g.body["paid"]) != 19800 {
			t.Fatalf("order after both returns: %s", g.raw)
		}
		problem(t, e.request(t, order, `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on"}]}`), 422, "more_than_returnable")

		// A till sale comes back to its cash tender.
		sale := e.ok(t, 201, "POST", "/api/v1/pos/sales", `{"store":"SH1","lines":[{"sku":"CAP-RED-F","qty":2}],"tenders":[{"provider":"offline","method":"cash"}]}`)
		r = e.request(t, asID(sale), `{"kind":"return","reason":"no_reason","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on"}]}`)
		if r.status != 201 {
			t.Fatalf("POS return: %s", r.raw)
		}
		pos := asID(r)
		e.ok(t, 200, "POST", e.asPath(pos, "approve"), "")
		e.ok(t, 200, "POST", e.asPath(pos, "receive"), `{"location":"SH1","lines":[{"line":1,"condition":"sellable"}]}`)
		if r = e.ok(t, 200, "POST", e.asPath(pos, "complete"), ""); asNum(r.body["refund_amount"]) != 5900 {
			t.Fatalf("POS refund: %s", r.raw)
		}
		g = e.ok(t, 200, "GET", fmt.Sprintf("/api/v1/orders/%d", asID(sale)), "")
		if p := g.body["payments"].([]any)[0].(map[string]any); asNum(p["refunded"]) != 5900 || asNum(g.body["refunded"]) != 5900 {
			t.Fatalf("POS order after the return: %s", g.raw)
		}
		e.ledgerOK(t)
	})
}

// The channel's policy: window, reasons and condition codes; a refused
// request writes nothing.
func TestHTTPAfterSalesPolicy(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newAfterSalesEnv(t, d)
		order := e.handedOver(t, `{"sku":"TEE-BLK-M","qty":1}`)
		path := fmt.Sprintf("/api/v1/orders/%d/after-sales", order)
		for _, c := range []struct{ name, body, field string }{
			{"unknown condition", `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"worn"}]}`, "lines[0].condition"},
			{"unknown line", `{"kind":"return","reason":"size","lines":[{"line":9,"qty":1,"condition":"defective"}]}`, "lines[0].line"},
			{"exchange SKU on a return", `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective","exchange_sku":"TEE-BLK-L"}]}`, "lines[0].exchange_sku"},
			{"exchange without SKU", `{"kind":"exchange","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective"}]}`, "lines[0].exchange_sku"},
			{"unknown reason", `{"kind":"return","reason":"bored","lines":[{"line":1,"qty":1,"condition":"defective"}]}`, "reason"},
			{"unknown kind", `{"kind":"swap","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective"}]}`, "kind"},
			{"zero units", `{"kind":"return","reason":"size","lines":[{"line":1,"qty":0,"condition":"defective"}]}`, "lines[0].qty"},
		} {
			r := e.do(t, "POST", path, e.ops, c.body)
			problem(t, r, 422, "validation_failed")
			if fieldOf(r) != c.field {
				t.Errorf("%s: field %q; want %q (%s)", c.name, fieldOf(r), c.field, r.raw)
			}
		}
		problem(t, e.do(t, "POST", path, e.ops, `{"kind":"exchange","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective","exchange_sku":"CAP-RED-F"}]}`), 422, "exchange_other_style")
		problem(t, e.do(t, "POST", path, e.ops, `{"kind":"exchange","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective","exchange_sku":"NOPE"}]}`), 404, "sku_not_found")
		problem(t, e.do(t, "POST", "/api/v1/orders/999999/after-sales", e.ops, `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective"}]}`), 404, "order_not_found")
		problem(t, e.do(t, "POST", path, e.keys["ro"], `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"defective"}]}`), 403, "forbidden")

		// Without 7天无理由, no_reason is refused.
		e.ok(t, 200, "PUT", "/api/v1/channels/mini/order-settings", `{"channel":"mini","routing":"fewest_splits","unpaid_minutes":15,"return_window_days":7,"no_reason":false,"conditions":["unworn_tags_on","defective"]}`)
		r := e.do(t, "POST", path, e.ops, `{"kind":"return","reason":"no_reason","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on"}]}`)
		problem(t, r, 422, "reason_not_accepted")

		// The window closes 7 × 24 h after the pickup.
		e.clk.Add(7*24*time.Hour + time.Minute)
		r = e.do(t, "POST", path, e.ops, `{"kind":"return","reason":"defective","lines":[{"line":1,"qty":1,"condition":"defective"}]}`)
		problem(t, r, 422, "return_window_closed")
		detail, _ := r.body["detail"].(string)
		if !strings.Contains(detail, "7 days after pickup on 2026-03-10 14:00") || !strings.Contains(detail, "closed 2026-03-17 14:00") ||
			asNum(r.body["window_days"]) != 7 {
			t.Fatalf("return_window_closed must name the window: %s", r.raw)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM after_sales`); n != 0 {
			t.Fatalf("%d after-sales written by refused requests", n)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM events WHERE topic LIKE 'after_sale.%'`); n != 0 {
			t.Fatalf("%d after-sale events written by refused requests", n)
		}

		// Delivered goods: the window runs from the delivery; units still on
		// the way may come back at any time.
		std := e.ok(t, 201, "POST", "/api/v1/orders", `{"channel":"mini","mode":"standard","customer":{"mobile":"13800138000"},
			"address":{"province":"上海市","city":"上海市","address":"淮海中路1号","lat":31.22,"lng":121.47},"lines":[{"sku":"TEE-BLK-M","qty":2},{"sku":"CAP-RED-F","qty":1}]}`)
		sid := asID(std)
		e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/payments", sid), `{"provider":"offline","method":"card"}`)
		e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/pick", sid), "")
		sh := e.ok(t, 201, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", sid), `{"carrier":"SF","tracking_no":"SF100","lines":[{"line":1,"qty":2}]}`)
		e.ok(t, 201, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", sid), `{"carrier":"SF","tracking_no":"SF101"}`)
		e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", asID(sh)), fmt.Sprintf(`{"status":"delivered","occurred_at":%q}`, e.clk.Now().Format(time.RFC3339)))
		e.clk.Add(6 * 24 * time.Hour)
		if r = e.request(t, sid, `{"kind":"return","reason":"defective","lines":[{"line":1,"qty":1,"condition":"defective"}]}`); r.status != 201 {
			t.Fatalf("return 6 days after delivery: %s", r.raw)
		}
		e.clk.Add(2 * 24 * time.Hour)
		r = e.request(t, sid, `{"kind":"return","reason":"defective","lines":[{"line":1,"qty":1,"condition":"defective"}]}`)
		problem(t, r, 422, "return_window_closed")
		if d, _ := r.body["detail"].(string); !strings.Contains(d, "after delivery") {
			t.Fatalf("window of a delivered line: %s", r.raw)
		}
		if r = e.request(t, sid, `{"kind":"return","reason":"defective","lines":[{"line":2,"qty":1,"condition":"defective"}]}`); r.status != 201 {
			t.Fatalf("return of a unit still on the way: %s", r.raw)
		}
	})
}

// The SLA queue: requests past 24 hours, oldest due first; rejection,
// cancellation, and concurrent requests for the last unit.
func TestHTTPAfterSalesOverdue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newAfterSalesEnv(t, d)
		order := e.handedOver(t, `{"sku":"TEE-BLK-M","qty":3}`)
		one := `{"kind":"return","reason":"size","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on"}]}`
		a := asID(e.ok(t, 201, "POST", fmt.Sprintf("/api/v1/orders/%d/after-sales", order), one))
		e.clk.Add(2 * time.Hour)
		b := asID(e.ok(t, 201, "POST", fmt.Sprintf("/api/v1/orders/%d/after-sales", order), one))
		ids := func(q string) []int64 {
			t.Helper()
			r := e.ok(t, 200, "GET", "/api/v1/after-sales"+q, "")
			var out []int64
			for _, it := range r.body["items"].([]any) {
				out = append(out, asNum(it.(map[string]any)["id"]))
			}
			return out
		}
		if got := ids("?overdue=true"); len(got) != 0 {
			t.Fatalf("overdue before 24 h: %v", got)
		}
		e.clk.Add(23 * time.Hour) // a is 25 h old, b 23 h
		if got := ids("?overdue=true"); fmt.Sprint(got) != fmt.Sprint([]int64{a}) {
			t.Fatalf("overdue at 25 h: %v; want [%d]", got, a)
		}
		e.clk.Add(2 * time.Hour)
		if got := ids("?overdue=true"); fmt.Sprint(got) != fmt.Sprint([]int64{a, b}) {
			t.Fatalf("overdue, oldest first: %v; want [%d %d]", got, a, b)
		}
		if got := ids("?overdue=true&limit=1"); fmt.Sprint(got) != fmt.Sprint([]int64{a}) {
			t.Fatalf("first page: %v", got)
		}
		r := e.ok(t, 200, "GET", "/api/v1/after-sales?overdue=true&limit=1", "")
		if got := ids("?overdue=true&limit=1&cursor=" + r.body["next_cursor"].(string)); fmt.Sprint(got) != fmt.Sprint([]int64{b}) {
			t.Fatalf("second page: %v", got)
		}
		r = e.ok(t, 200, "GET", e.asPath(a, ""), "")
		if r.body["overdue"] != true {
			t.Fatalf("a is overdue: %s", r.raw)
		}
		problem(t, e.do(t, "GET", "/api/v1/after-sales?overdue=true&status=approved", e.ops, ""), 422, "validation_failed")
		problem(t, e.do(t, "GET", "/api/v1/after-sales?overdue=maybe", e.ops, ""), 422, "validation_failed")

		// Handling takes a request off the queue, late.
		r = e.ok(t, 200, "POST", e.asPath(a, "approve"), "")
		if r.body["handled_late"] != true || r.body["overdue"] != false {
			t.Fatalf("late approval: %s", r.raw)
		}
		if got := ids("?overdue=true"); fmt.Sprint(got) != fmt.Sprint([]int64{b}) {
			t.Fatalf("overdue after approving a: %v", got)
		}
		problem(t, e.do(t, "POST", e.asPath(b, "reject"), e.ops, `{}`), 422, "validation_failed")
		r = e.ok(t, 200, "POST", e.asPath(b, "reject"), `{"reason":"worn"}`)
		if r.body["status"] != "rejected" || r.body["handled_at"] == nil || !strings.Contains(r.body["note"].(string), "rejected: worn") {
			t.Fatalf("reject: %s", r.raw)
		}
		r = e.do(t, "POST", e.asPath(b, "cancel"), e.ops, "")
		problem(t, r, 409, "illegal_transition")
		if r.body["current_status"] != "rejected" {
			t.Fatalf("cancel a rejected request: %s", r.raw)
		}
		if got := ids("?overdue=true"); len(got) != 0 {
			t.Fatalf("overdue after handling both: %v", got)
		}
		if got := ids(fmt.Sprintf("?order=%d", order)); fmt.Sprint(got) != fmt.Sprint([]int64{b, a}) {
			t.Fatalf("the order's requests, newest first: %v", got)
		}
		if got := ids("?status=approved"); fmt.Sprint(got) != fmt.Sprint([]int64{a}) {
			t.Fatalf("approved: %v", got)
		}

		// The customer withdraws a: its unit is returnable again.
		if r = e.ok(t, 200, "POST", e.asPath(a, "cancel"), ""); r.body["status"] != "cancelled" {
			t.Fatalf("cancel: %s", r.raw)
		}

		// Three units are returnable; of six concurrent requests for one
		// each, exactly three are accepted.
		var wg sync.WaitGroup
		codes := make(chan string, 6)
		for range 6 {
			wg.Go(func() {
				r := e.request(t, order, one)
				codes <- fmt.Sprintf("%d %v", r.status, r.body["code"])
			})
		}
		wg.Wait()
		close(codes)
		got := map[string]int{}
		for c := range codes {
			got[c]++
		}
		if got["201 <nil>"] != 3 || got["422 more_than_returnable"] != 3 {
			t.Fatalf("concurrent requests: %v; want 3 accepted and 3 refused", got)
		}
		problem(t, e.do(t, "GET", e.asPath(999999, ""), e.ops, ""), 404, "after_sale_not_found")
	})
}

// An exchange places a free replacement order linked to the original, for
// pickup at its store, or handed over at once at the till.
func TestHTTPAfterSalesExchange(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newAfterSalesEnv(t, d)
		order := e.handedOver(t, `{"sku":"TEE-BLK-M","qty":1}`)
		r := e.request(t, order, `{"kind":"exchange","reason":"size","lines":[{"line":1,"qty":1,"condition":"unworn_tags_on","exchange_sku":"TEE-BLK-L"}]}`)
		if r.status != 201 || r.body["lines"].([]any)[0].(map[string]any)["exchange_sku"] != "TEE-BLK-L" {
			t.Fatalf("exchange request: %s", r.raw)
		}
		as := asID(r)
		e.ok(t, 200, "POST", e.asPath(as, "approve"), "")
		e.ok(t, 200, "POST", e.asPath(as, "receive"), `{"location":"SH1","lines":[{"line":1,"condition":"sellable"}]}`)
		_, heldBefore := e.level(t, "TEE-BLK-L", "SH1")
		problem(t, e.do(t, "POST", e.asPath(as, "complete"), e.ops, `{"refund_amount":100}`), 422, "validation_failed")
		r = e.ok(t, 200, "POST", e.asPath(as, "complete"), "")
		if r.body["status"] != "completed" || r.body["exchange_order"] == nil || asNum(r.body["refund_amount"]) != 0 {
			t.Fatalf("complete exchange: %s", r.raw)
		}
		x := asNum(r.body["exchange_order"])
		g := e.ok(t, 200, "GET", fmt.Sprintf("/api/v1/orders/%d", x), "")
		ln := g.body["lines"].([]any)[0].(map[string]any)
		if asNum(g.body["exchange_of"]) != order || g.body["status"] != "allocated" || g.body["mode"] != "pickup" || g.body["store"] != "SH1" ||
			asNum(g.body["total"]) != 0 || asNum(g.body["paid"]) != 0 || ln["sku"] != "TEE-BLK-L" || asNum(ln["unit_price"]) != 9900 || asNum(ln["amount"]) != 0 {
			t.Fatalf("replacement order: %s", g.raw)
		}
		var hist []string
		for _, h := range g.body["history"].([]any) {
			hist = append(hist, h.(map[string]any)["to"].(string))
		}
		if strings.Join(hist, ",") != "created,paid,allocated" {
			t.Fatalf("replacement history %v", hist)
		}
		if _, held := e.level(t, "TEE-BLK-L", "SH1"); held != heldBefore+1 {
			t.Fatalf("TEE-BLK-L held %d at SH1; want %d", held, heldBefore+1)
		}
		if o := e.ok(t, 200, "GET", fmt.Sprintf("/api/v1/orders/%d", order), ""); asNum(o.body["refunded"]) != 0 {
			t.Fatalf("an exchange refunds nothing: %s", o.raw)
		}
		// The replacement is an order like any other: picked up with its code.
		e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/pick", x), "")
		e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/ready", x), "")
		if r = e.ok(t, 200, "POST", fmt.Sprintf("/api/v1/orders/%d/pickup", x), fmt.Sprintf(`{"code":%q}`, g.body["pickup_code"])); r.body["status"] != "picked_up" {
			t.Fatalf("replacement hand-over: %s", r.raw)
		}
		problem(t, e.do(t, "POST", e.asPath(as, "complete"), e.ops, ""), 409, "illegal_transition")

		// At the till the replacement leaves the store at once.
		sale := e.ok(t, 201, "POST", "/api/v1/pos/sales", `{"store":"SH1","lines":[{"sku":"TEE-BLK-M","qty":1}],"tenders":[{"provider":"offline","method":"card"}]}`)
		as = asID(e.ok(t, 201, "POST", fmt.Sprintf("/api/v1/orders/%d/after-sales", asID(sale)),
			`{"kind":"exchange","reason":"defective","lines":[{"line":1,"qty":1,"condition":"defective","exchange_sku":"TEE-BLK-M"}]}`))
		e.ok(t, 200, "POST", e.asPath(as, "approve"), "")
		e.ok(t, 200, "POST", e.asPath(as, "receive"), `{"location":"SH1","lines":[{"line":1,"condition":"damaged"}]}`)
		before, _ := e.level(t, "TEE-BLK-M", "SH1")
		r = e.ok(t, 200, "POST", e.asPath(as, "complete"), "")
		g = e.ok(t, 200, "GET", fmt.Sprintf("/api/v1/orders/%d", asNum(r.body["exchange_order"])), "")
		if g.body["status"] != "completed" || g.body["mode"] != "pos" || asNum(g.body["exchange_of"]) != asID(sale) || asNum(g.body["total"]) != 0 {
			t.Fatalf("POS replacement: %s", g.raw)
		}
		if oh, _ := e.level(t, "TEE-BLK-M", "SH1"); oh != before-1 {
			t.Fatalf("SH1 on hand %d after a till exchange; want %d", oh, before-1)
		}
		e.ledgerOK(t)
	})
}

package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/payments"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/server"
)

// oClock is the orders tests' settable time.
type oClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *oClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *oClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// oStart is Tuesday 10 March 2026, 14:00 in Shanghai: every location is open.
var oStart = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

// oCodes are the demo locations of the orders world: three Shanghai stores
// with instant delivery, the Shanghai front warehouse, the central
// warehouse, a Hangzhou store that does not ship and a Foshan store
// without pickup.
var oCodes = []string{"SH-NJD", "SH-XJH", "SH-LJZ", "FW-SH-JA", "CW-JX", "HZ-WLG", "FS-ZMU"}

// oStock is the opening stock, by location then SKU.
var oStock = map[string]map[string]int64{
	"SH-NJD":   {"TEE-BLK-M": 5, "TEE-WHT-M": 5, "RACE-1": 1, "RACE-2": 3},
	"SH-XJH":   {"TEE-BLK-M": 5, "RACE-2": 3},
	"FW-SH-JA": {"TEE-BLK-M": 5, "TEE-WHT-M": 5, "RACE-2": 3},
	"CW-JX":    {"COAT-BLK-M": 5, "TEE-WHT-M": 5, "RACE-2": 3},
	"HZ-WLG":   {"TEE-BLK-M": 5},
	"FS-ZMU":   {"TEE-BLK-M": 5},
}

// Addresses with real coordinates.
const (
	addrPeoplesSquare = `{"province":"上海市","city":"上海市","address":"黄浦区人民大道 200 号","lat":31.2304,"lng":121.4737}` // 0.8 km from SH-NJD
	addrWestLake      = `{"province":"浙江省","city":"杭州市","address":"西湖区北山街","lat":30.2590,"lng":120.1480}`        // 161 km from SH-XJH
)

// oEnv is an orders world over HTTP at oStart on a settable clock: the
// demo locations oCodes, the demo channels restricted to them (app: pickup
// stores and warehouses; mini: stores and the front warehouse; shop: the
// central warehouse and ship-capable stores; pos: the stores) plus flash
// (an app channel of SH-NJD without safety stock), API keys (admin, ops,
// read-only, and store keys of SH-NJD and SH-XJH), and WeChat Pay and
// Alipay simulators whose verifiers the server uses. Scenarios add their
// SKUs and stock with scene.
type oEnv struct {
	*env
	d        *db.DB
	clk      *oClock
	ops      string // an ops key
	njd, xjh string // store keys of SH-NJD and SH-XJH
	wechat   *payments.WeChatSimulator
	alipay   *payments.AlipaySimulator
	barcode  map[string]string // by SKU code
	seq      int
}

// publicKeyFile writes key as a PEM "PUBLIC KEY" file and returns its path.
func publicKeyFile(t *testing.T, key *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// oKeys are the simulators' RSA keys, generated once per test binary.
var oKeys struct {
	once           sync.Once
	wechat, alipay *rsa.PrivateKey
	err            error
}

func oSimulatorKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	oKeys.once.Do(func() {
		var wg sync.WaitGroup
		var e1, e2 error
		wg.Go(func() { oKeys.wechat, e1 = rsa.GenerateKey(rand.Reader, 2048) })
		wg.Go(func() { oKeys.alipay, e2 = rsa.GenerateKey(rand.Reader, 2048) })
		wg.Wait()
		oKeys.err = errors.Join(e1, e2)
	})
	if oKeys.err != nil {
		t.Fatal(oKeys.err)
	}
	return oKeys.wechat, oKeys.alipay
}

func newOrdersEnv(t *testing.T, d *db.DB) *oEnv {
	t.Helper()
	ctx := context.Background()
	clk := &oClock{t: oStart}
	e := &oEnv{d: d, clk: clk, barcode: map[string]string{}}
	// The providers' verifiers come from the configuration, as in a
	// deployment: ids, the APIv3 key and the public keys in PEM files.
	wk, ak := oSimulatorKeys(t)
	var err error
	if e.wechat, err = payments.NewWeChatSimulator("1900000109", "wxd678efh567hg6787", wk); err != nil {
		t.Fatal(err)
	}
	if e.alipay, err = payments.NewAlipaySimulator("2021000123456789", ak); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.WeChatPay = config.WeChatPay{MchID: e.wechat.MchID, AppID: e.wechat.AppID, APIv3Key: string(e.wechat.APIv3Key),
		PlatformKey: publicKeyFile(t, &wk.PublicKey), PlatformSerial: e.wechat.Serial}
	cfg.Alipay = config.Alipay{AppID: e.alipay.AppID, PublicKey: publicKeyFile(t, &ak.PublicKey)}
	app, err := server.Wire(cfg, d, slog.New(slog.DiscardHandler), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	m := app.Modules
	e.env = &env{app: app, keys: map[string]string{}}
	var locs []network.Location
	for _, l := range demo.Locations() {
		if slices.Contains(oCodes, l.Code) {
			locs = append(locs, l)
		}
	}
	chans := []network.Channel{{Code: "flash", Name: "闪购", Kind: network.App, MaxSharePct: 100, Locations: []string{"SH-NJD"}, Active: true}}
	for _, c := range demo.Channels() {
		c.Locations = slices.DeleteFunc(c.Locations, func(code string) bool { return !slices.Contains(oCodes, code) })
		chans = append(chans, c)
	}
	if err := m.Network.BulkUpsert(ctx, locs, chans); err != nil {
		t.Fatal(err)
	}
	njd, _ := m.Network.Location(ctx, "SH-NJD")
	xjh, _ := m.Network.Location(ctx, "SH-XJH")
	for _, k := range []auth.NewKey{{Name: "admin", Role: auth.Admin}, {Name: "ops", Role: auth.Ops}, {Name: "ro", Role: auth.ReadOnly},
		{Name: "njd", Role: auth.Store, LocationID: njd.ID}, {Name: "xjh", Role: auth.Store, LocationID: xjh.ID}} {
		_, secret, err := app.Auth.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[k.Name] = secret
	}
	e.admin, e.ops, e.njd, e.xjh = e.keys["admin"], e.keys["ops"], e.keys["njd"], e.keys["xjh"]
	e.srv = httptest.NewServer(app.Handler)
	t.Cleanup(e.srv.Close)
	return e
}

// oScene is one scenario's part of a world: its own SKUs (the names below
// with the scenario's prefix) and their own stock oStock, so that
// scenarios sharing a world do not see each other's levels. The SKUs are
// TEE-BLK-M and TEE-WHT-M (99 CNY), COAT-BLK-M (599 CNY), PRE-RED-M (199
// CNY, style PRE, for presales) and RACE-1.
type oScene struct {
	*oEnv
	p string
}

// scene adds a scenario's SKUs and stock to the world.
func (e *oEnv) scene(t *testing.T, prefix string) *oScene {
	t.Helper()
	ctx := context.Background()
	s := &oScene{oEnv: e, p: prefix + "-"}
	sku := func(name, color string, price int64) catalog.SKU {
		e.seq++
		body := fmt.Sprintf("6920%08d", e.seq)
		e.barcode[s.sku(name)] = catalog.WithCheckDigit(body)
		return catalog.SKU{Code: s.sku(name), Color: color, Size: "M", Barcode: e.barcode[s.sku(name)], ListPrice: price, Cost: price / 3, Active: true}
	}
	if _, err := e.app.Modules.Catalog.BulkUpsert(ctx, []catalog.Style{
		{Code: s.sku("TEE"), Name: "基础T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("TEE-BLK-M", "黑色", 9900), sku("TEE-WHT-M", "白色", 9900)}},
		{Code: s.sku("COAT"), Name: "羊毛大衣", Category: "外套", Lifecycle: catalog.Fashion, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("COAT-BLK-M", "黑色", 59900)}},
		{Code: s.sku("PRE"), Name: "联名卫衣", Category: "卫衣", Lifecycle: catalog.Fashion, LaunchDate: "2026-04-01",
			SKUs: []catalog.SKU{sku("PRE-RED-M", "红色", 19900)}},
		{Code: s.sku("RACE"), Name: "限量球鞋", Category: "鞋", Lifecycle: catalog.Fashion, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("RACE-1", "白色", 9900), sku("RACE-2", "黑色", 9900)}},
	}); err != nil {
		t.Fatal(err)
	}
	for loc, lines := range oStock {
		req := inventory.PostRequest{Kind: inventory.Receipt, Location: loc}
		for name, q := range lines {
			req.Lines = append(req.Lines, inventory.PostLine{SKU: s.sku(name), Qty: q})
		}
		if _, err := e.app.Modules.Inventory.Post(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// sku is the scenario's code of a SKU (or style) name.
func (s *oScene) sku(name string) string { return s.p + name }

// line is an order line of qty units of the scenario's SKU name.
func (s *oScene) line(name string, qty int) string { return oLine(s.sku(name), qty) }

// must sends a request with the ops key and asserts the status.
func (e *oEnv) must(t *testing.T, status int, method, path, body string, hdr ...string) resp {
	t.Helper()
	return e.mustAs(t, e.ops, status, method, path, body, hdr...)
}

func (e *oEnv) mustAs(t *testing.T, key string, status int, method, path, body string, hdr ...string) resp {
	t.Helper()
	r := e.do(t, method, path, key, body, hdr...)
	if r.status != status {
		t.Fatalf("%s %s %s: %d %s; want %d", method, path, body, r.status, r.raw, status)
	}
	return r
}

func oPath(id int64, action string) string {
	if action == "" {
		return fmt.Sprintf("/api/v1/orders/%d", id)
	}
	return fmt.Sprintf("/api/v1/orders/%d/%s", id, action)
}

func oNum(v any) int64 {
	f, ok := v.(float64)
	if !ok {
		panic(fmt.Sprintf("not a number: %#v", v))
	}
	return int64(f)
}

func oID(r resp) int64 { return oNum(r.body["id"]) }

// place checks out an order and returns its id and the answer.
func (e *oEnv) place(t *testing.T, body string) (int64, resp) {
	t.Helper()
	r := e.must(t, 201, "POST", "/api/v1/orders", body)
	if r.body["status"] != "created" {
		t.Fatalf("checkout: %s", r.raw)
	}
	return oID(r), r
}

func oPickup(channel, store, lines string) string {
	return fmt.Sprintf(`{"channel":%q,"mode":"pickup","store":%q,"customer":{"mobile":"13800138000"},"lines":[%s]}`, channel, store, lines)
}

func oDeliver(channel, mode, addr, lines string) string {
	return fmt.Sprintf(`{"channel":%q,"mode":%q,"customer":{"mobile":"13900139000","name":"张三"},"address":%s,"lines":[%s]}`, channel, mode, addr, lines)
}

func oLine(sku string, qty int) string { return fmt.Sprintf(`{"sku":%q,"qty":%d}`, sku, qty) }

// level is the on-hand and reserved units of the scenario's SKU name at a location.
func (e *oScene) level(t *testing.T, name, loc string) (onHand, reserved int64) {
	t.Helper()
	r := e.must(t, 200, "GET", "/api/v1/inventory/levels/"+e.sku(name)+"/"+loc, "")
	return oNum(r.body["on_hand"]), oNum(r.body["reserved"])
}

func (e *oScene) wantLevel(t *testing.T, name, loc string, onHand, reserved int64) {
	t.Helper()
	if oh, rs := e.level(t, name, loc); oh != onHand || rs != reserved {
		t.Fatalf("%s@%s: on hand %d, reserved %d; want %d, %d", e.sku(name), loc, oh, rs, onHand, reserved)
	}
}

func (e *oEnv) ledgerOK(t *testing.T) {
	t.Helper()
	r := e.must(t, 200, "GET", "/api/v1/inventory/ledger/check", "")
	if r.body["consistent"] != true {
		t.Fatalf("ledger: %s", r.raw)
	}
}

// history lists the statuses an order went through.
func oHistory(r resp) []string {
	var out []string
	for _, h := range r.body["history"].([]any) {
		out = append(out, h.(map[string]any)["to"].(string))
	}
	return out
}

func oList(r resp, key string) []map[string]any {
	var out []map[string]any
	xs, _ := r.body[key].([]any)
	for _, x := range xs {
		out = append(out, x.(map[string]any))
	}
	return out
}

func oTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("not a time: %#v", v)
	}
	return at
}

// wantStatus asserts an order's status.
func oWantStatus(t *testing.T, r resp, status string) {
	t.Helper()
	if r.body["status"] != status {
		t.Fatalf("status %v; want %s: %s", r.body["status"], status, r.raw)
	}
}

// oTradeNo is the out_trade_no of the tender a payment's answer recorded.
func oTradeNo(r resp) string { return r.body["payment"].(map[string]any)["out_trade_no"].(string) }

// oPaid checks a payment's answer: the order's state after it, and the
// tender it recorded.
func oPaid(t *testing.T, r resp, status string, amount, paid int64) {
	t.Helper()
	o, _ := r.body["order"].(map[string]any)
	p, _ := r.body["payment"].(map[string]any)
	total, _ := o["total"].(float64)
	if o["status"] != status || o["paid"] != float64(paid) || o["due"] != total-float64(paid) || p["amount"] != float64(amount) || p["id"] == nil {
		t.Fatalf("payment answer: want order %s with %v paid after a tender of %v: %s", status, paid, amount, r.raw)
	}
}

// TestHTTPOrders runs the order scenarios over one world per engine, each
// with its own SKUs and stock, in parallel.
func TestHTTPOrders(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(*testing.T, *oScene)
	}{
		{"pickup", orderPickup},
		{"instant", orderInstant},
		{"standard-split", orderStandardSplit},
		{"pos", posSale},
		{"presale", presaleScenario},
		{"payments", orderPayments},
		{"provider-notifications", paymentNotifications},
		{"provider-refunds", providerRefunds},
		{"late-payment", latePaymentIsRefunded},
		{"checkout-refusals", checkoutRefusals},
		{"illegal-transitions", orderIllegalTransitions},
		{"last-unit-race", orderLastUnitRace},
		{"few-units-race", orderFewUnitsRace},
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newOrdersEnv(t, d)
		for i, sc := range scenarios {
			e := w.scene(t, fmt.Sprintf("S%02d", i))
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				sc.run(t, e)
			})
		}
	})
}

// Pickup (BOPIS): checkout holds the stock at the store, payment allocates,
// the store picks and readies it, the pickup code hands it over (a wrong
// code is refused), and the units leave as a sale.
func orderPickup(t *testing.T, e *oScene) {
	id, o := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 2)))
	code, _ := o.body["pickup_code"].(string)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("pickup code %q", code)
	}
	if o.body["total"] != float64(19800) || o.body["subtotal"] != float64(19800) || o.body["shipping_fee"] != float64(0) || o.body["region"] != "east" {
		t.Fatalf("pricing: %s", o.raw)
	}
	routing := o.body["routing"].(map[string]any)
	if fmt.Sprint(routing["winners"]) != "[SH-NJD]" || routing["why"] == "" || len(routing["candidates"].([]any)) == 0 {
		t.Fatalf("routing: %v", routing)
	}
	if p := oTime(t, o.body["promised_at"]); !p.Equal(oStart.Add(2 * time.Hour)) {
		t.Fatalf("promised at %v; want two hours after %v", p, oStart)
	}
	if l := oList(o, "lines")[0]; l["location"] != "SH-NJD" || l["held"] != float64(2) {
		t.Fatalf("line: %v", l)
	}
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 2)

	oPaid(t, e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"test"}`), "allocated", 19800, 19800)
	problem(t, e.do(t, "POST", oPath(id, "pick"), e.xjh, ""), 403, "forbidden_location")
	oWantStatus(t, e.mustAs(t, e.njd, 200, "POST", oPath(id, "pick"), ""), "picking")
	oWantStatus(t, e.mustAs(t, e.njd, 200, "POST", oPath(id, "ready"), ""), "ready_for_pickup")
	n, _ := strconv.Atoi(code)
	wrong := fmt.Sprintf("%06d", (n+1)%1_000_000)
	bad := e.do(t, "POST", oPath(id, "pickup"), e.njd, fmt.Sprintf(`{"code":%q}`, wrong))
	problem(t, bad, 422, "wrong_pickup_code")
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 2)
	oWantStatus(t, e.mustAs(t, e.njd, 200, "POST", oPath(id, "pickup"), fmt.Sprintf(`{"code":%q}`, code)), "picked_up")
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 3, 0)
	done := e.mustAs(t, e.njd, 200, "POST", oPath(id, "complete"), "")
	oWantStatus(t, done, "completed")
	got := e.must(t, 200, "GET", oPath(id, ""), "")
	if h := strings.Join(oHistory(got), ","); h != "created,paid,allocated,picking,ready_for_pickup,picked_up,completed" {
		t.Fatalf("history %s", h)
	}
	if l := oList(got, "lines")[0]; l["held"] != float64(0) || l["shipped"] != float64(2) {
		t.Fatalf("line after hand-over: %v", l)
	}
	if got.body["paid"] != float64(19800) || got.body["pickup_code"] != nil {
		t.Fatalf("paid or code after completion: %s", got.raw)
	}
	e.ledgerOK(t)
}

// Instant delivery: routed to the nearest store in radius, promised two
// hours after the order, shipped by a rider, tracked to delivery and
// completed; a late delivery is flagged.
func orderInstant(t *testing.T, e *oScene) {
	id, o := e.place(t, oDeliver("mini", "instant", addrPeoplesSquare, e.line("TEE-BLK-M", 1)))
	if o.body["total"] != float64(9900+600) || o.body["shipping_fee"] != float64(600) {
		t.Fatalf("instant delivery fee: %s", o.raw)
	}
	created := oTime(t, o.body["created_at"])
	promised := oTime(t, o.body["promised_at"])
	if d := promised.Sub(created); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Fatalf("promised %v after the order; want 2 h", d)
	}
	if l := oList(o, "lines")[0]; l["location"] != "SH-NJD" {
		t.Fatalf("routed to %v; want SH-NJD, 0.8 km away", l["location"])
	}
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 1)
	e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"test"}`)
	e.must(t, 200, "POST", oPath(id, "pick"), "")
	sh := e.must(t, 201, "POST", oPath(id, "shipments"), `{"carrier":"SF-同城","tracking_no":"SFT000001"}`)
	sid := oID(sh)
	if sh.body["location"] != "SH-NJD" || sh.body["status"] != "shipped" || !oTime(t, sh.body["promised_at"]).Equal(promised) {
		t.Fatalf("shipment: %s", sh.raw)
	}
	if r := e.do(t, "POST", oPath(id, "shipments"), e.ops, `{"carrier":"SF-同城","tracking_no":"SFT000003"}`); r.status != 409 || r.body["current_status"] != "shipped" {
		t.Fatalf("shipping a shipped order again: %d %s", r.status, r.raw)
	}
	oWantStatus(t, e.must(t, 200, "GET", oPath(id, ""), ""), "shipped")
	// a read-only key (an analyst) sees the order without whom to call or where they live
	ro := e.mustAs(t, e.keys["ro"], 200, "GET", oPath(id, ""), "")
	c, a := ro.body["customer"].(map[string]any), ro.body["address"].(map[string]any)
	if c["mobile"] != "139****9000" || c["name"] != "张*" || a["address"] != "***" || a["lat"] != nil || a["city"] != "上海市" {
		t.Fatalf("order seen by a read-only key: customer %v, address %v", c, a)
	}
	if full := e.must(t, 200, "GET", oPath(id, ""), ""); full.body["customer"].(map[string]any)["mobile"] != "13900139000" {
		t.Fatalf("order seen by ops: %s", full.raw)
	}
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 4, 0)
	for i, st := range []string{"in_transit", "out_for_delivery", "delivered"} {
		at := created.Add(time.Duration(30*(i+1)) * time.Minute).Format(time.RFC3339)
		e.must(t, 200, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", sid), fmt.Sprintf(`{"status":%q,"place":"黄浦区","occurred_at":%q}`, st, at))
	}
	// the carrier repeats the last event: nothing changes
	again := e.must(t, 200, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", sid),
		fmt.Sprintf(`{"status":"delivered","place":"黄浦区","occurred_at":%q}`, created.Add(90*time.Minute).Format(time.RFC3339)))
	if again.body["status"] != "delivered" || again.body["late"] != false || len(oList(again, "events")) != 3 {
		t.Fatalf("delivered shipment: %s", again.raw)
	}
	oWantStatus(t, e.must(t, 200, "GET", oPath(id, ""), ""), "delivered")
	oWantStatus(t, e.must(t, 200, "POST", oPath(id, "complete"), ""), "completed")

	// a delivery after the promise is late
	late, _ := e.place(t, oDeliver("mini", "instant", addrPeoplesSquare, e.line("TEE-WHT-M", 1)))
	e.must(t, 200, "POST", oPath(late, "payments"), `{"provider":"test"}`)
	e.must(t, 200, "POST", oPath(late, "pick"), "")
	lsid := oID(e.must(t, 201, "POST", oPath(late, "shipments"), `{"carrier":"SF-同城","tracking_no":"SFT000002"}`))
	ld := e.must(t, 200, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", lsid),
		fmt.Sprintf(`{"status":"delivered","occurred_at":%q}`, oStart.Add(3*time.Hour).Format(time.RFC3339)))
	if ld.body["late"] != true {
		t.Fatalf("delivered an hour after the promise but not late: %s", ld.raw)
	}
	lateList := e.must(t, 200, "GET", "/api/v1/shipments/late", "")
	if ids := oIDs(lateList, "items"); !slices.Contains(ids, lsid) || slices.Contains(ids, sid) {
		t.Fatalf("late shipments %v; want %d and not %d", ids, lsid, sid)
	}
	e.ledgerOK(t)
}

func oIDs(r resp, key string) []int64 {
	var out []int64
	for _, x := range oList(r, key) {
		out = append(out, oNum(x["id"]))
	}
	return out
}

// Standard delivery split across the central warehouse (the coat) and the
// nearest store (the T-shirt): two shipments, partially shipped, then
// shipped, delivered when both are.
func orderStandardSplit(t *testing.T, e *oScene) {
	id, o := e.place(t, oDeliver("shop", "standard", addrPeoplesSquare, e.line("COAT-BLK-M", 1)+","+e.line("TEE-BLK-M", 1)))
	routing := o.body["routing"].(map[string]any)
	winners := fmt.Sprint(routing["winners"])
	if routing["splits"] != float64(2) || !strings.Contains(winners, "CW-JX") || !strings.Contains(winners, "SH-NJD") {
		t.Fatalf("routing: %v", routing)
	}
	if o.body["shipping_fee"] != float64(0) || o.body["total"] != float64(59900+9900) {
		t.Fatalf("free standard delivery above 99 CNY: %s", o.raw)
	}
	ls := oList(o, "lines")
	if ls[0]["location"] != "CW-JX" || ls[1]["location"] != "SH-NJD" {
		t.Fatalf("lines: %v", ls)
	}
	e.wantLevel(t, "COAT-BLK-M", "CW-JX", 5, 1)
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 1)
	e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"test"}`)
	e.must(t, 200, "POST", oPath(id, "pick"), "")
	problem(t, e.do(t, "POST", oPath(id, "shipments"), e.ops, `{"carrier":"SF","tracking_no":"SF1001","location":"CW-JX","lines":[{"line":2,"qty":1}]}`), 422, "wrong_location")
	s1 := e.must(t, 201, "POST", oPath(id, "shipments"), `{"carrier":"SF","tracking_no":"SF1001","location":"CW-JX"}`)
	oWantStatus(t, e.must(t, 200, "GET", oPath(id, ""), ""), "partially_shipped")
	if p := oTime(t, s1.body["promised_at"]); !p.Equal(oStart.Add(72 * time.Hour)) {
		t.Fatalf("standard promise %v", p)
	}
	e.wantLevel(t, "COAT-BLK-M", "CW-JX", 4, 0)
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 1)
	s2 := e.must(t, 201, "POST", oPath(id, "shipments"), `{"carrier":"ZTO","tracking_no":"ZT2002"}`)
	if s2.body["location"] != "SH-NJD" {
		t.Fatalf("second shipment from %v", s2.body["location"])
	}
	got := e.must(t, 200, "GET", oPath(id, ""), "")
	oWantStatus(t, got, "shipped")
	if n := len(oList(got, "shipments")); n != 2 {
		t.Fatalf("%d shipments", n)
	}
	if h := strings.Join(oHistory(got), ","); h != "created,paid,allocated,picking,partially_shipped,shipped" {
		t.Fatalf("history %s", h)
	}
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 4, 0)
	at := oStart.Add(24 * time.Hour).Format(time.RFC3339)
	e.must(t, 200, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", oID(s1)), fmt.Sprintf(`{"status":"delivered","occurred_at":%q}`, at))
	oWantStatus(t, e.must(t, 200, "GET", oPath(id, ""), ""), "shipped")
	e.must(t, 200, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", oID(s2)), fmt.Sprintf(`{"status":"delivered","occurred_at":%q}`, at))
	oWantStatus(t, e.must(t, 200, "GET", oPath(id, ""), ""), "delivered")
	oWantStatus(t, e.must(t, 200, "POST", oPath(id, "complete"), ""), "completed")
	e.ledgerOK(t)
}

// A till sale in one step with a store key: scanned by code and barcode,
// paid with two tenders, the units leave at once; another store's key may
// not sell there.
func posSale(t *testing.T, e *oScene) {
	sale := fmt.Sprintf(`{"store":"SH-NJD","lines":[{"sku":%q,"qty":1},{"barcode":%q,"qty":2}],
			"tenders":[{"provider":"offline","method":"card","amount":10000},{"provider":"offline","method":"cash"}]}`, e.sku("TEE-BLK-M"), e.barcode[e.sku("TEE-WHT-M")])
	problem(t, e.do(t, "POST", "/api/v1/pos/sales", e.xjh, sale), 403, "forbidden_location")
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 0)
	r := e.mustAs(t, e.njd, 201, "POST", "/api/v1/pos/sales", sale)
	oWantStatus(t, r, "completed")
	if r.body["channel"] != "pos" || r.body["mode"] != "pos" || r.body["total"] != float64(29700) || r.body["paid"] != float64(29700) {
		t.Fatalf("sale: %s", r.raw)
	}
	ps := oList(r, "payments")
	if len(ps) != 2 || ps[0]["amount"] != float64(10000) || ps[1]["amount"] != float64(19700) || ps[1]["status"] != "captured" {
		t.Fatalf("tenders: %v", ps)
	}
	// The answer is built without reading the sale back: it is the order as
	// read, but for its history.
	got := e.must(t, 200, "GET", oPath(oID(r), ""), "")
	if h := strings.Join(oHistory(got), ","); h != "created,paid,completed" {
		t.Fatalf("history %s", h)
	}
	delete(got.body, "history")
	if !reflect.DeepEqual(r.body, got.body) {
		t.Fatalf("the sale's answer is not the order as read:\n%s\n%s", r.raw, got.raw)
	}
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 4, 0)
	e.wantLevel(t, "TEE-WHT-M", "SH-NJD", 3, 0)
	problem(t, e.do(t, "POST", "/api/v1/pos/sales", e.njd, fmt.Sprintf(`{"store":"SH-NJD","lines":[{"sku":%q,"qty":1}],"tenders":[{"provider":"offline","method":"cash","amount":100}]}`, e.sku("TEE-BLK-M"))), 422, "tender_mismatch")
	short := e.do(t, "POST", "/api/v1/pos/sales", e.njd, fmt.Sprintf(`{"store":"SH-NJD","lines":[{"sku":%q,"qty":1}],"tenders":[{"provider":"offline","method":"cash"}]}`, e.sku("COAT-BLK-M")))
	if short.status != 409 {
		t.Fatalf("selling a coat the store does not have: %d %s", short.status, short.raw)
	}
	problem(t, e.do(t, "POST", oPath(oID(r), "cancel"), e.njd, `{}`), 409, "illegal_transition")
	e.ledgerOK(t)
}

// Presale: orders within the cap wait, paid, for the stock; the receipt
// lets AllocatePresales hold it for them; the cap refuses more.
func presaleScenario(t *testing.T, e *oScene) {
	ctx := context.Background()
	ps := e.must(t, 201, "POST", "/api/v1/presales", fmt.Sprintf(`{"style":%q,"location":"CW-JX","expected_date":"2026-04-01","cap":3}`, e.sku("PRE")))
	id, o := e.place(t, oDeliver("shop", "standard", addrPeoplesSquare, e.line("PRE-RED-M", 2)))
	if oNum(o.body["presale"]) != oID(ps) || oList(o, "lines")[0]["held"] != float64(0) {
		t.Fatalf("presale order: %s", o.raw)
	}
	oPaid(t, e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"test"}`), "presale", 2*oNum(oList(o, "lines")[0]["unit_price"]), 2*oNum(oList(o, "lines")[0]["unit_price"]))
	problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, oDeliver("shop", "standard", addrPeoplesSquare, e.line("PRE-RED-M", 2))), 409, "presale_sold_out")
	extra, _ := e.place(t, oDeliver("shop", "standard", addrPeoplesSquare, e.line("PRE-RED-M", 1)))
	e.must(t, 200, "POST", oPath(extra, "cancel"), `{"reason":"changed mind"}`)
	if n, err := e.app.Modules.Orders.AllocatePresales(ctx); err != nil || n != 0 {
		t.Fatalf("allocated %d, %v before the stock arrived", n, err)
	}
	e.must(t, 201, "POST", "/api/v1/inventory/movements", fmt.Sprintf(`{"kind":"receipt","location":"CW-JX","reference":"ASN-PRE-1","lines":[{"sku":%q,"qty":10}]}`, e.sku("PRE-RED-M")))
	if n, err := e.app.Modules.Orders.AllocatePresales(ctx); err != nil || n != 1 {
		t.Fatalf("allocated %d, %v; want 1", n, err)
	}
	got := e.must(t, 200, "GET", oPath(id, ""), "")
	oWantStatus(t, got, "allocated")
	if l := oList(got, "lines")[0]; l["location"] != "CW-JX" || l["held"] != float64(2) {
		t.Fatalf("presale line after allocation: %v", l)
	}
	if h := strings.Join(oHistory(got), ","); h != "created,paid,presale,allocated" {
		t.Fatalf("history %s", h)
	}
	e.wantLevel(t, "PRE-RED-M", "CW-JX", 10, 2)
	all := e.must(t, 200, "GET", "/api/v1/presales", "")
	if p := oList(all, "items")[0]; p["sold"] != float64(2) || p["waiting"] != float64(0) {
		t.Fatalf("presale after the cancellation and allocation: %v", p)
	}
	e.ledgerOK(t)
}

// Cancelling releases the held stock and refunds what was paid; an unpaid
// order expires when its time is up, and its stock is released.
func TestHTTPOrderCancelAndExpiry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newOrdersEnv(t, d).scene(t, "CX")
		ctx := context.Background()
		id, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 2)))
		e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"test"}`)
		e.must(t, 200, "POST", oPath(id, "pick"), "")
		e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 2)
		c := e.must(t, 200, "POST", oPath(id, "cancel"), `{"reason":"out of town"}`)
		oWantStatus(t, c, "cancelled")
		rs := oList(c, "refunds")
		if c.body["refunded"] != float64(19800) || c.body["paid"] != float64(19800) || len(rs) != 1 || rs[0]["status"] != "succeeded" || rs[0]["amount"] != float64(19800) {
			t.Fatalf("refund on cancel: %s", c.raw)
		}
		if l := oList(c, "lines")[0]; l["held"] != float64(0) {
			t.Fatalf("line still held: %v", l)
		}
		e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 0)
		again := e.do(t, "POST", oPath(id, "cancel"), e.ops, `{}`)
		problem(t, again, 409, "illegal_transition")
		if again.body["current_status"] != "cancelled" {
			t.Fatalf("current_status: %s", again.raw)
		}

		// unpaid: expires after the channel's 15 minutes
		u, _ := e.place(t, oDeliver("mini", "instant", addrPeoplesSquare, e.line("TEE-WHT-M", 2)))
		e.wantLevel(t, "TEE-WHT-M", "SH-NJD", 5, 2)
		e.clk.Add(14 * time.Minute)
		if n, err := e.app.Modules.Orders.ExpireUnpaid(ctx, 100); err != nil || n != 0 {
			t.Fatalf("expired %d, %v before the deadline", n, err)
		}
		e.clk.Add(time.Minute)
		if n, err := e.app.Modules.Orders.ExpireUnpaid(ctx, 100); err != nil || n != 1 {
			t.Fatalf("expired %d, %v at the deadline; want 1", n, err)
		}
		got := e.must(t, 200, "GET", oPath(u, ""), "")
		oWantStatus(t, got, "cancelled")
		if got.body["refunded"] != float64(0) || len(oList(got, "refunds")) != 0 {
			t.Fatalf("an unpaid order refunded: %s", got.raw)
		}
		e.wantLevel(t, "TEE-WHT-M", "SH-NJD", 5, 0)
		late := e.do(t, "POST", oPath(u, "payments"), e.ops, `{"provider":"test"}`)
		problem(t, late, 409, "illegal_transition")
		if late.body["current_status"] != "cancelled" {
			t.Fatalf("paying an expired order: %s", late.raw)
		}
		if n, err := e.app.Modules.Orders.ExpireUnpaid(ctx, 100); err != nil || n != 0 {
			t.Fatalf("expired %d, %v again", n, err)
		}
		e.ledgerOK(t)
	})
}

// Payments: split tender, overpaying, paying twice with and without an
// Idempotency-Key, refunds up to what was paid.
func orderPayments(t *testing.T, e *oScene) {
	// split tender
	id, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 2)))
	oPaid(t, e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"offline","method":"card","amount":5000}`), "created", 5000, 5000)
	over := e.do(t, "POST", oPath(id, "payments"), e.ops, `{"provider":"test","amount":20000}`)
	problem(t, over, 422, "amount_above_due")
	if over.body["due"] != float64(14800) {
		t.Fatalf("due: %s", over.raw)
	}
	oPaid(t, e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"offline","method":"cash"}`), "allocated", 14800, 19800)
	if ps := oList(e.must(t, 200, "GET", oPath(id, ""), ""), "payments"); len(ps) != 2 || ps[0]["amount"] != float64(5000) || ps[1]["amount"] != float64(14800) {
		t.Fatalf("split tender: %v", ps)
	}
	// paying again without a key: the order takes no more payments
	twice := e.do(t, "POST", oPath(id, "payments"), e.ops, `{"provider":"test"}`)
	problem(t, twice, 409, "illegal_transition")
	if twice.body["current_status"] != "allocated" {
		t.Fatalf("current_status: %s", twice.raw)
	}
	// refunds up to what was paid; only managers refund
	problem(t, e.do(t, "POST", oPath(id, "refunds"), e.njd, `{"amount":100,"reason":"goodwill"}`), 403, "forbidden")
	problem(t, e.do(t, "POST", oPath(id, "refunds"), e.ops, `{"amount":19801,"reason":"goodwill"}`), 422, "refund_above_paid")
	r1 := e.must(t, 200, "POST", oPath(id, "refunds"), `{"amount":15000,"reason":"price match"}`)
	if r1.body["refunded"] != float64(15000) || len(oList(r1, "refunds")) != 2 {
		t.Fatalf("refund over two tenders, latest first: %s", r1.raw)
	}
	if rf := oList(r1, "refunds"); rf[0]["amount"] != float64(14800) || rf[1]["amount"] != float64(200) {
		t.Fatalf("refunds not latest tender first: %v", rf)
	}
	problem(t, e.do(t, "POST", oPath(id, "refunds"), e.ops, `{"amount":4801,"reason":"goodwill"}`), 422, "refund_above_paid")
	r2 := e.must(t, 200, "POST", oPath(id, "refunds"), `{"amount":4800,"reason":"goodwill"}`)
	if r2.body["refunded"] != float64(19800) {
		t.Fatalf("refunded: %s", r2.raw)
	}
	problem(t, e.do(t, "POST", oPath(id, "refunds"), e.ops, `{"amount":1,"reason":"goodwill"}`), 422, "refund_above_paid")

	// the same Idempotency-Key: the first answer again, one payment
	id2, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-WHT-M", 1)))
	first := e.must(t, 200, "POST", oPath(id2, "payments"), `{"provider":"test"}`, "Idempotency-Key", "pay-"+fmt.Sprint(id2))
	replay := e.do(t, "POST", oPath(id2, "payments"), e.ops, `{"provider":"test"}`, "Idempotency-Key", "pay-"+fmt.Sprint(id2))
	for replay.status == 409 && replay.body["code"] == "idempotency_key_in_progress" {
		time.Sleep(20 * time.Millisecond)
		replay = e.do(t, "POST", oPath(id2, "payments"), e.ops, `{"provider":"test"}`, "Idempotency-Key", "pay-"+fmt.Sprint(id2))
	}
	if replay.status != 200 || replay.raw != first.raw || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s; first %s", replay.status, replay.raw, first.raw)
	}
	got := e.must(t, 200, "GET", oPath(id2, ""), "")
	if ps := oList(got, "payments"); len(ps) != 1 || got.body["paid"] != float64(9900) {
		t.Fatalf("payments after a replay: %s", got.raw)
	}
	problem(t, e.do(t, "POST", oPath(id2, "payments"), e.ops, `{"provider":"offline","method":"cash"}`, "Idempotency-Key", "pay-"+fmt.Sprint(id2)),
		409, "idempotency_key_reused")
	e.ledgerOK(t)
}

// WeChat Pay and Alipay: a pending payment is captured by the provider's
// signed notification, once; a repeated or second notification captures
// nothing more; a tampered one is refused.
func paymentNotifications(t *testing.T, e *oScene) {
	notify := func(provider string, h http.Header, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/payments/notify/"+provider, strings.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode, oReadAll(res)
	}
	pending := func(provider, method string) (int64, string, int64) {
		t.Helper()
		id, o := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)))
		r := e.must(t, 200, "POST", oPath(id, "payments"), fmt.Sprintf(`{"provider":%q,"method":%q}`, provider, method))
		oPaid(t, r, "created", 9900, 0)
		if p := r.body["payment"].(map[string]any); p["status"] != "pending" || p["provider"] != provider || p["captured_at"] != nil {
			t.Fatalf("%s payment: %s", provider, r.raw)
		}
		return id, oTradeNo(r), oNum(o.body["total"])
	}
	captured := func(id int64, want int) {
		t.Helper()
		got := e.must(t, 200, "GET", oPath(id, ""), "")
		n := 0
		for _, p := range oList(got, "payments") {
			if p["status"] == "captured" {
				n++
			}
		}
		if n != want || (want == 1) != (got.body["status"] == "allocated") || got.body["paid"] != float64(9900*want) {
			t.Fatalf("want %d captured payment(s): %s", want, got.raw)
		}
		if want == 1 && strings.Count(strings.Join(oHistory(got), ","), "paid") != 1 {
			t.Fatalf("history %v", oHistory(got))
		}
	}

	// WeChat Pay
	id, out, total := pending("wechat", "jsapi")
	h, body, err := e.wechat.PaymentNotice(out, "4200002207202603101234567890", total, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(body), `"summary":"支付成功"`, `"summary":"支付成功 "`, 1)
	if tampered == string(body) {
		t.Fatal("the tampering changed nothing")
	}
	if st, ack := notify("wechat", h, tampered); st != 401 || !strings.Contains(ack, "FAIL") {
		t.Fatalf("tampered notification: %d %s", st, ack)
	}
	captured(id, 0)
	if st, ack := notify("wechat", h, string(body)); st != 200 || !strings.Contains(ack, "SUCCESS") {
		t.Fatalf("notification: %d %s", st, ack)
	}
	captured(id, 1)
	if st, ack := notify("wechat", h, string(body)); st != 200 || !strings.Contains(ack, "SUCCESS") {
		t.Fatalf("repeated notification: %d %s", st, ack)
	}
	captured(id, 1)
	h2, body2, _ := e.wechat.PaymentNotice(out, "4200002207202603101234567890", total, time.Now())
	if st, _ := notify("wechat", h2, string(body2)); st != 200 {
		t.Fatalf("second notification: %d", st)
	}
	captured(id, 1)

	// Alipay
	id, out, total = pending("alipay", "app")
	form, err := e.alipay.PaymentNotice(out, "2026031022001404590512345678", total, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	formHdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	bad := oCloneForm(form)
	bad.Set("total_amount", "0.01")
	if st, ack := notify("alipay", formHdr, bad.Encode()); st != 401 || ack != "failure" {
		t.Fatalf("tampered notification: %d %s", st, ack)
	}
	captured(id, 0)
	if st, ack := notify("alipay", formHdr, form.Encode()); st != 200 || ack != "success" {
		t.Fatalf("notification: %d %s", st, ack)
	}
	captured(id, 1)
	if st, ack := notify("alipay", formHdr, form.Encode()); st != 200 || ack != "success" {
		t.Fatalf("repeated notification: %d %s", st, ack)
	}
	captured(id, 1)
	finished, _ := e.alipay.TradeNotice(out, "2026031022001404590512345678", "TRADE_FINISHED", total, time.Now())
	if st, ack := notify("alipay", formHdr, finished.Encode()); st != 200 || ack != "success" {
		t.Fatalf("TRADE_FINISHED after TRADE_SUCCESS: %d %s", st, ack)
	}
	captured(id, 1)
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 2)
	e.ledgerOK(t)
}

// Bad checkouts are refused with the field and, where useful, the options.
func checkoutRefusals(t *testing.T, e *oScene) {
	post := func(body string) resp { t.Helper(); return e.do(t, "POST", "/api/v1/orders", e.ops, body) }
	field := func(r resp, want string) {
		t.Helper()
		if f := fieldOf(r); f != want && r.body["field"] != want {
			t.Fatalf("field %q / %v; want %s: %s", f, r.body["field"], want, r.raw)
		}
	}
	r := post(oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)+","+e.line("NOPE-1", 1)))
	problem(t, r, 404, "sku_not_found")
	field(r, "lines[1].sku")
	r = post(oPickup("app", "SH-NJD", e.line("NOPE-1", 1)))
	problem(t, r, 404, "sku_not_found")
	field(r, "lines[0].sku")
	r = post(oPickup("app", "SH-NOPE", e.line("TEE-BLK-M", 1)))
	problem(t, r, 404, "location_not_found")
	field(r, "store")
	r = post(oPickup("nope", "SH-NJD", e.line("TEE-BLK-M", 1)))
	problem(t, r, 404, "channel_not_found")
	r = post(oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 0)))
	problem(t, r, 422, "validation_failed")
	field(r, "lines[0].qty")
	r = post(strings.Replace(oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)), "13800138000", "12345", 1))
	problem(t, r, 422, "validation_failed")
	field(r, "customer.mobile")
	r = post(strings.Replace(oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)), `"mobile":"13800138000"`, `"member_id":42`, 1))
	problem(t, r, 404, "member_not_found")
	field(r, "customer.member_id")
	r = post(oDeliver("mini", "instant", addrWestLake, e.line("TEE-BLK-M", 1)))
	problem(t, r, 422, "outside_delivery_radius")
	if n, _ := r.body["nearest"].(map[string]any); n["location"] != "SH-XJH" || !strings.Contains(r.body["detail"].(string), "SH-XJH") {
		t.Fatalf("the nearest option (SH-XJH, 161 km) not named: %s", r.raw)
	}
	r = post(oDeliver("mini", "instant", `{"address":"黄浦区人民大道 200 号"}`, e.line("TEE-BLK-M", 1)))
	problem(t, r, 422, "validation_failed")
	field(r, "address.lat")
	alternatives := func(r resp) string {
		var alts []string
		xs, _ := r.body["alternatives"].([]any)
		for _, a := range xs {
			alts = append(alts, a.(map[string]any)["location"].(string))
		}
		return strings.Join(alts, ",")
	}
	r = post(oPickup("app", "SH-LJZ", e.line("TEE-BLK-M", 2)))
	problem(t, r, 409, "store_cannot_cover")
	if a := alternatives(r); a != "SH-NJD,SH-XJH,HZ-WLG" {
		t.Errorf("alternatives %q; want the pickup stores holding it, nearest SH-LJZ first", a)
	}
	r = post(oPickup("mini", "FS-ZMU", e.line("TEE-BLK-M", 1)))
	problem(t, r, 422, "pickup_not_offered")
	if a := alternatives(r); a != "HZ-WLG,SH-XJH,SH-NJD" {
		t.Errorf("alternatives %q; want the pickup stores holding it, nearest FS-ZMU (佛山) first", a)
	}
	problem(t, post(fmt.Sprintf(`{"channel":"app","mode":"pos","store":"SH-NJD","lines":[{"sku":%q,"qty":1}]}`, e.sku("TEE-BLK-M"))), 422, "mode_not_for_channel")
	problem(t, post(`{"channel":"app","mode":"pickup","store":"SH-NJD","colour":"red","lines":[]}`), 400, "unknown_field")
	// nothing was held by the refusals
	for _, loc := range []string{"SH-NJD", "SH-XJH", "HZ-WLG", "FS-ZMU"} {
		if _, rs := e.level(t, "TEE-BLK-M", loc); rs != 0 {
			t.Fatalf("%s: %d reserved after refusals", loc, rs)
		}
	}
}

// Illegal moves over HTTP are 409s naming the current state.
func orderIllegalTransitions(t *testing.T, e *oScene) {
	illegal := func(r resp, current string) {
		t.Helper()
		problem(t, r, 409, "illegal_transition")
		if r.body["current_status"] != current {
			t.Fatalf("current_status %v; want %s: %s", r.body["current_status"], current, r.raw)
		}
	}
	unpaid, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)))
	illegal(e.do(t, "POST", oPath(unpaid, "pick"), e.ops, ""), "created")
	illegal(e.do(t, "POST", oPath(unpaid, "ready"), e.ops, ""), "created")
	illegal(e.do(t, "POST", oPath(unpaid, "complete"), e.ops, ""), "created")
	inst, _ := e.place(t, oDeliver("mini", "instant", addrPeoplesSquare, e.line("TEE-BLK-M", 1)))
	e.must(t, 200, "POST", oPath(inst, "payments"), `{"provider":"test"}`)
	illegal(e.do(t, "POST", oPath(inst, "complete"), e.ops, ""), "allocated")
	illegal(e.do(t, "POST", oPath(inst, "shipments"), e.ops, `{"carrier":"SF","tracking_no":"SF9"}`), "allocated")
	e.must(t, 200, "POST", oPath(inst, "pick"), "")
	illegal(e.do(t, "POST", oPath(inst, "ready"), e.ops, ""), "picking")
	illegal(e.do(t, "POST", oPath(inst, "pickup"), e.ops, `{"code":"000000"}`), "picking")
	illegal(e.do(t, "POST", oPath(inst, "pick"), e.ops, ""), "picking")
	pick, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-WHT-M", 1)))
	e.must(t, 200, "POST", oPath(pick, "payments"), `{"provider":"test"}`)
	illegal(e.do(t, "POST", oPath(pick, "shipments"), e.ops, `{"carrier":"SF","tracking_no":"SF10"}`), "allocated")
	e.must(t, 200, "POST", oPath(pick, "cancel"), `{}`)
	illegal(e.do(t, "POST", oPath(pick, "pick"), e.ops, ""), "cancelled")
	illegal(e.do(t, "POST", oPath(pick, "payments"), e.ops, `{"provider":"test"}`), "cancelled")
	// the refused moves changed nothing
	got := e.must(t, 200, "GET", oPath(inst, ""), "")
	if h := strings.Join(oHistory(got), ","); h != "created,paid,allocated,picking" {
		t.Fatalf("history %s", h)
	}
	if next := fmt.Sprint(got.body["next"]); next != "[partially_shipped shipped cancelled]" {
		t.Fatalf("next %s", next)
	}
}

// placeConcurrently sends n checkouts of body at once and returns the ids
// of the orders placed; every other answer must be a 409.
func placeConcurrently(t *testing.T, e *oScene, n int, body string) []float64 {
	t.Helper()
	statuses := make(chan resp, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { statuses <- e.do(t, "POST", "/api/v1/orders", e.ops, body) })
	}
	wg.Wait()
	close(statuses)
	var won []float64
	for r := range statuses {
		switch r.status {
		case 201:
			won = append(won, r.body["id"].(float64))
		case 409:
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.raw)
		}
	}
	return won
}

// A few units at four locations, many buyers: a checkout that loses its
// units to another while holding routes again and retries at another
// location; every answer is an order or a 409, each order is distinct, and
// the locations hold exactly the units of the orders placed.
func orderFewUnitsRace(t *testing.T, e *oScene) {
	won := map[float64]bool{}
	for _, id := range placeConcurrently(t, e, 40, oDeliver("shop", "standard", addrPeoplesSquare, e.line("RACE-2", 1))) {
		won[id] = true
	}
	var held int64
	for _, loc := range []string{"SH-NJD", "SH-XJH", "FW-SH-JA", "CW-JX"} {
		_, rs := e.level(t, "RACE-2", loc)
		held += rs
	}
	if len(won) == 0 || int64(len(won)) != held {
		t.Fatalf("%d distinct orders placed, %d units held", len(won), held)
	}
}

// The last unit: of 50 concurrent pickup checkouts for it, exactly one
// gets it and the rest are refused with 409.
func orderLastUnitRace(t *testing.T, e *oScene) {
	won := placeConcurrently(t, e, 50, oPickup("flash", "SH-NJD", e.line("RACE-1", 1)))
	if len(won) != 1 {
		t.Fatalf("%d checkouts got the last unit; want exactly 1", len(won))
	}
	winner := won[0]
	e.wantLevel(t, "RACE-1", "SH-NJD", 1, 1)

	// A retry of the checkout that took the unit finds no stock left for
	// itself, yet answers with the first checkout's order, not a refusal.
	e.must(t, 200, "POST", oPath(int64(winner), "cancel"), `{"reason":"retry test"}`)
	body := oPickup("flash", "SH-NJD", e.line("RACE-1", 1))
	first := e.must(t, 201, "POST", "/api/v1/orders", body, "Idempotency-Key", "last-unit")
	retry := e.do(t, "POST", "/api/v1/orders", e.ops, body, "Idempotency-Key", "last-unit")
	for retry.status == 409 && retry.body["code"] == "idempotency_key_in_progress" {
		time.Sleep(20 * time.Millisecond)
		retry = e.do(t, "POST", "/api/v1/orders", e.ops, body, "Idempotency-Key", "last-unit")
	}
	if retry.status != 201 || retry.raw != first.raw || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after the stock ran out: %d %s; want the first answer %s", retry.status, retry.raw, first.raw)
	}
	problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, body), 409, "store_cannot_cover")
	e.wantLevel(t, "RACE-1", "SH-NJD", 1, 1)
	var orders int
	if err := e.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM order_lines l JOIN skus s ON s.id = l.sku_id WHERE s.code = ? AND l.held > 0`,
		e.sku("RACE-1")).Scan(&orders); err != nil || orders != 1 {
		t.Fatalf("%d orders stored, %v", orders, err)
	}
	e.ledgerOK(t)
}

func oReadAll(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func oCloneForm(f url.Values) url.Values {
	c := url.Values{}
	for k, v := range f {
		c[k] = slices.Clone(v)
	}
	return c
}

// postNotice posts a provider notification and returns the status and body
// of the acknowledgement.
func (e *oEnv) postNotice(t *testing.T, provider string, h http.Header, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/payments/notify/"+provider, strings.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode, oReadAll(res)
}

// Refunds to WeChat Pay stay pending until WeChat's refund notification,
// which settles them once; a failed refund gives the amount back to refund.
func providerRefunds(t *testing.T, e *oScene) {
	id, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)))
	out := oTradeNo(e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"wechat","method":"jsapi"}`))
	h, body, _ := e.wechat.PaymentNotice(out, "4200000001", 9900, time.Now())
	if st, ack := e.postNotice(t, "wechat", h, string(body)); st != 200 {
		t.Fatalf("payment notification: %d %s", st, ack)
	}
	r := e.must(t, 200, "POST", oPath(id, "refunds"), `{"amount":4000,"reason":"price match"}`)
	rf := oList(r, "refunds")
	if len(rf) != 1 || rf[0]["status"] != "pending" || r.body["refunded"] != float64(0) {
		t.Fatalf("a WeChat refund before its notification: %s", r.raw)
	}
	problem(t, e.do(t, "POST", oPath(id, "refunds"), e.ops, `{"amount":5901,"reason":"again"}`), 422, "refund_above_paid")
	// WeChat reports the refund failed: the amount may be refunded again
	fh, fb, _ := e.wechat.RefundResultNotice(out, rf[0]["out_refund_no"].(string), "50300000001", "ABNORMAL", 9900, 4000, time.Now())
	if st, ack := e.postNotice(t, "wechat", fh, string(fb)); st != 200 {
		t.Fatalf("refund failure notification: %d %s", st, ack)
	}
	r = e.must(t, 200, "GET", oPath(id, ""), "")
	if rf := oList(r, "refunds"); rf[0]["status"] != "failed" || r.body["refunded"] != float64(0) || oList(r, "payments")[0]["refunded"] != float64(0) {
		t.Fatalf("after a failed refund: %s", r.raw)
	}
	// cancelling refunds the whole payment, pending until WeChat settles it
	c := e.must(t, 200, "POST", oPath(id, "cancel"), `{"reason":"out of town"}`)
	rf = oList(c, "refunds")
	if len(rf) != 2 || rf[1]["status"] != "pending" || rf[1]["amount"] != float64(9900) || c.body["refunded"] != float64(0) {
		t.Fatalf("refund on cancel: %s", c.raw)
	}
	sh, sb, _ := e.wechat.RefundNotice(out, rf[1]["out_refund_no"].(string), "50300000002", 9900, 9900, time.Now())
	for range 2 { // the provider repeats itself
		if st, ack := e.postNotice(t, "wechat", sh, string(sb)); st != 200 {
			t.Fatalf("refund notification: %d %s", st, ack)
		}
	}
	r = e.must(t, 200, "GET", oPath(id, ""), "")
	if rf := oList(r, "refunds"); rf[1]["status"] != "succeeded" || r.body["refunded"] != float64(9900) || r.body["paid"] != float64(9900) {
		t.Fatalf("after the refund notification: %s", r.raw)
	}
	e.wantLevel(t, "TEE-BLK-M", "SH-NJD", 5, 0)
}

// Money that arrives when the order no longer takes it (the order was
// cancelled or expired meanwhile, or another tender paid it first) is
// acknowledged and given back, never kept silently nor refused forever.
func latePaymentIsRefunded(t *testing.T, e *oScene) {
	refundedOnce := func(t *testing.T, id int64, out string) {
		t.Helper()
		got := e.must(t, 200, "GET", oPath(id, ""), "")
		var pid any
		for _, p := range oList(got, "payments") {
			if p["out_trade_no"] == out {
				pid = p["id"]
			}
		}
		n := 0
		for _, r := range oList(got, "refunds") {
			if r["payment"] == pid && r["amount"] == float64(9900) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the late payment %s is not refunded once: %s", out, got.raw)
		}
	}
	t.Run("cancelled meanwhile", func(t *testing.T) {
		id, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-BLK-M", 1)))
		out := oTradeNo(e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"wechat","method":"jsapi"}`))
		e.must(t, 200, "POST", oPath(id, "cancel"), `{"reason":"took too long"}`)
		h, body, _ := e.wechat.PaymentNotice(out, "4200000011", 9900, time.Now())
		if st, ack := e.postNotice(t, "wechat", h, string(body)); st != 200 {
			t.Fatalf("notification: %d %s", st, ack)
		}
		refundedOnce(t, id, out)
	})
	t.Run("paid by another tender meanwhile", func(t *testing.T) {
		id, _ := e.place(t, oPickup("app", "SH-NJD", e.line("TEE-WHT-M", 1)))
		first := oTradeNo(e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"wechat","method":"jsapi"}`))
		second := oTradeNo(e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"alipay","method":"app"}`))
		form, _ := e.alipay.PaymentNotice(second, "2026031022001400000001", 9900, time.Now())
		if st, ack := e.postNotice(t, "alipay", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode()); st != 200 || ack != "success" {
			t.Fatalf("alipay notification: %d %s", st, ack)
		}
		oWantStatus(t, e.must(t, 200, "GET", oPath(id, ""), ""), "allocated")
		h, body, _ := e.wechat.PaymentNotice(first, "4200000012", 9900, time.Now())
		if st, ack := e.postNotice(t, "wechat", h, string(body)); st != 200 {
			t.Fatalf("the wechat notification after alipay paid: %d %s", st, ack)
		}
		refundedOnce(t, id, first)
	})
}

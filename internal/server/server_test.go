package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
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

type env struct {
	app   *server.App
	srv   *httptest.Server
	admin string
	keys  map[string]string // role name → key
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	app, err := server.Wire(cfg, d, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	m := app.Modules
	body := "690000000001"
	if _, err := m.Catalog.BulkUpsert(ctx, []catalog.Style{{Code: "TEE", Name: "基础T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01",
		SKUs: []catalog.SKU{{Code: "TEE-BLK-M", Color: "黑色", Size: "M", Barcode: catalog.WithCheckDigit(body), ListPrice: 9900, Cost: 3000, Active: true}}}}); err != nil {
		t.Fatal(err)
	}
	caps := network.Capabilities{POS: true, Pickup: true}
	if err := m.Network.BulkUpsert(ctx, []network.Location{
		{Code: "SH1", Name: "上海南京东路店", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市", Lat: 31.2355, Lng: 121.48, Capabilities: caps, Active: true},
		{Code: "SH2", Name: "上海徐家汇店", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市", Lat: 31.1955, Lng: 121.437, Capabilities: caps, Active: true},
	}, []network.Channel{{Code: "mini", Name: "小程序", Kind: network.MiniProgram, MaxSharePct: 100, Locations: []string{"SH1", "SH2"}, Active: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inventory.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: "SH1", Lines: []inventory.PostLine{{SKU: "TEE-BLK-M", Qty: 3}}}); err != nil {
		t.Fatal(err)
	}
	e := &env{app: app, keys: map[string]string{}}
	sh1, _ := m.Network.Location(ctx, "SH1")
	for _, k := range []auth.NewKey{{Name: "admin", Role: auth.Admin}, {Name: "ops", Role: auth.Ops}, {Name: "ro", Role: auth.ReadOnly},
		{Name: "store", Role: auth.Store, LocationID: sh1.ID}} {
		_, secret, err := app.Auth.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[k.Name] = secret
	}
	e.admin = e.keys["admin"]
	e.srv = httptest.NewServer(app.Handler)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, method, path, key, body string, hdr ...string) resp {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// problem asserts a problem document with status and code.
func problem(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || r.body["code"] != code {
		t.Fatalf("got %d %s; want %d code %s", r.status, r.raw, status, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
	if r.body["type"] == nil || r.body["title"] == nil || r.body["status"] != float64(status) {
		t.Fatalf("not an RFC 9457 document: %s", r.raw)
	}
}

func fieldOf(r resp) string {
	es, _ := r.body["errors"].([]any)
	if len(es) == 0 {
		return ""
	}
	return es[0].(map[string]any)["field"].(string)
}

func TestHTTPReservations(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ops := e.keys["ops"]
		ok := `{"channel":"mini","reference":"ORD-1","lines":[{"sku":"TEE-BLK-M","location":"SH1","qty":2}]}`

		r := e.do(t, "POST", "/api/v1/inventory/reservations", ops, ok, "Idempotency-Key", "k1")
		if r.status != 201 || r.body["status"] != "active" {
			t.Fatalf("reserve: %d %s", r.status, r.raw)
		}
		again := e.do(t, "POST", "/api/v1/inventory/reservations", ops, ok, "Idempotency-Key", "k1")
		for again.status == 409 && again.body["code"] == "idempotency_key_in_progress" {
			time.Sleep(20 * time.Millisecond) // the first answer is being stored
			again = e.do(t, "POST", "/api/v1/inventory/reservations", ops, ok, "Idempotency-Key", "k1")
		}
		if again.status != 201 || again.raw != r.raw || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry with the same key: %d %s (first %s)", again.status, again.raw, r.raw)
		}
		problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", ops, strings.Replace(ok, `"qty":2`, `"qty":1`, 1), "Idempotency-Key", "k1"), 409, "idempotency_key_reused")

		short := e.do(t, "POST", "/api/v1/inventory/reservations", ops, ok)
		problem(t, short, 409, "insufficient_stock")
		if short.body["available"] != float64(1) {
			t.Fatalf("insufficient_stock must say what is available: %s", short.raw)
		}
		lv := e.do(t, "GET", "/api/v1/inventory/levels/TEE-BLK-M/SH1", e.keys["ro"], "")
		if lv.status != 200 || lv.body["reserved"] != float64(2) || lv.body["available"] != float64(1) {
			t.Fatalf("level after a replayed hold: %s", lv.raw)
		}

		problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","lines":[{"sku":"NOPE","location":"SH1","qty":1}]}`), 404, "sku_not_found")
		problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","lines":[{"sku":"TEE-BLK-M","location":"NOPE","qty":1}]}`), 404, "location_not_found")
		bad := e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","lines":[{"sku":"TEE-BLK-M","location":"SH1","qty":0}]}`)
		problem(t, bad, 422, "validation_failed")
		if fieldOf(bad) != "lines[0].qty" {
			t.Fatalf("field = %q", fieldOf(bad))
		}
		problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","lines":[{"sku":"TEE-BLK-M","location":"SH1","qty":99999999999}]}`), 422, "validation_failed")
		problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","lines":[`), 400, "malformed_json")
		unk := e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","colour":"red","lines":[]}`)
		problem(t, unk, 400, "unknown_field")
		if fieldOf(unk) != "colour" {
			t.Fatalf("unknown field not named: %s", unk.raw)
		}
		wrong := e.do(t, "POST", "/api/v1/inventory/reservations", ops, `{"channel":"mini","lines":[{"sku":"TEE-BLK-M","location":"SH1","qty":"two"}]}`)
		problem(t, wrong, 400, "wrong_type")
		problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", ops, ok, "Content-Type", "text/plain"), 415, "unsupported_media_type")
		problem(t, e.do(t, "POST", "/api/v1/inventory/transfers", ops, `{"from":"SH1","to":"SH1","lines":[{"sku":"TEE-BLK-M","qty":1}]}`), 422, "validation_failed")

		id := int64(r.body["id"].(float64))
		if c := e.do(t, "POST", fmt.Sprintf("/api/v1/inventory/reservations/%d/confirm", id), ops, ""); c.status != 200 || c.body["status"] != "confirmed" {
			t.Fatalf("confirm: %s", c.raw)
		}
		problem(t, e.do(t, "POST", fmt.Sprintf("/api/v1/inventory/reservations/%d/confirm", id), ops, ""), 409, "reservation_not_active")
		check := e.do(t, "GET", "/api/v1/inventory/ledger/check", e.admin, "")
		if check.body["consistent"] != true {
			t.Fatalf("ledger: %s", check.raw)
		}
	})
}

// Concurrent retries of one keyed request apply it once: every answer is
// the first answer, a replay of it, or "in progress".
func TestHTTPIdempotentRetriesRace(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		body := `{"channel":"mini","reference":"ORD-9","lines":[{"sku":"TEE-BLK-M","location":"SH1","qty":1}]}`
		const n = 24
		statuses := make(chan int, n)
		ids := make(chan float64, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r := e.do(t, "POST", "/api/v1/inventory/reservations", e.keys["ops"], body, "Idempotency-Key", "same-key")
				statuses <- r.status
				if r.status == 201 {
					ids <- r.body["id"].(float64)
				} else if r.status != 409 || r.body["code"] != "idempotency_key_in_progress" || r.header.Get("Retry-After") == "" {
					t.Errorf("answer %d %s", r.status, r.raw)
				}
			})
		}
		wg.Wait()
		close(statuses)
		close(ids)
		first := -1.0
		for id := range ids {
			if first >= 0 && id != first {
				t.Fatalf("two different reservations (%v, %v) for one key", first, id)
			}
			first = id
		}
		if first < 0 {
			t.Fatal("no request succeeded")
		}
		lv := e.do(t, "GET", "/api/v1/inventory/levels/TEE-BLK-M/SH1", e.admin, "")
		if lv.body["reserved"] != float64(1) {
			t.Fatalf("reserved = %v after %d retries of one request; want 1", lv.body["reserved"], n)
		}
	})
}

func TestHTTPAuth(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	body := `{"channel":"mini","lines":[{"sku":"TEE-BLK-M","location":"SH2","qty":1}]}`
	problem(t, e.do(t, "GET", "/api/v1/inventory/levels", "", ""), 401, "unauthenticated")
	problem(t, e.do(t, "GET", "/api/v1/inventory/levels", "omni_00000000_0000000000000000000000000000000000000000", ""), 401, "invalid_api_key")
	problem(t, e.do(t, "GET", "/api/v1/inventory/levels", "garbage", ""), 401, "invalid_api_key")
	problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", e.keys["ro"], body), 403, "forbidden")
	problem(t, e.do(t, "POST", "/api/v1/inventory/reservations", e.keys["store"], body), 403, "forbidden_location")
	problem(t, e.do(t, "GET", "/api/v1/api-keys", e.keys["ops"], ""), 403, "forbidden")
	if r := e.do(t, "POST", "/api/v1/inventory/reservations", e.keys["store"], strings.Replace(body, "SH2", "SH1", 1)); r.status != 201 {
		t.Fatalf("store staff at their store: %d %s", r.status, r.raw)
	}
	// Revoked and expired keys stop working.
	k := e.do(t, "POST", "/api/v1/api-keys", e.admin, `{"name":"temp","role":"readonly"}`)
	if k.status != 201 {
		t.Fatalf("create key: %s", k.raw)
	}
	secret := k.body["secret"].(string)
	if r := e.do(t, "GET", "/api/v1/inventory/levels", secret, ""); r.status != 200 {
		t.Fatalf("new key: %d", r.status)
	}
	if r := e.do(t, "DELETE", fmt.Sprintf("/api/v1/api-keys/%d", int64(k.body["id"].(float64))), e.admin, ""); r.status != 200 {
		t.Fatalf("revoke: %s", r.raw)
	}
	problem(t, e.do(t, "GET", "/api/v1/inventory/levels", secret, ""), 401, "invalid_api_key")
	// Problem titles follow Accept-Language.
	zh := e.do(t, "GET", "/api/v1/inventory/levels", "", "", "Accept-Language", "zh-CN,zh;q=0.9")
	if zh.body["title"] != "未认证" {
		t.Fatalf("zh title = %v", zh.body["title"])
	}
}

func TestHTTPRoutingAndProbes(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	problem(t, e.do(t, "GET", "/api/v1/nothing-here", e.admin, ""), 404, "not_found")
	problem(t, e.do(t, "DELETE", "/api/v1/inventory/levels", e.admin, ""), 405, "method_not_allowed")
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/version", "/api/v1/openapi.json"} {
		if r := e.do(t, "GET", p, "", ""); r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.raw)
		}
	}
	r := e.do(t, "GET", "/metrics", "", "")
	if r.status != 200 || !strings.Contains(r.raw, "omni_http_requests_total") {
		t.Fatalf("metrics: %d", r.status)
	}
	if r := e.do(t, "GET", "/healthz", "", "", "X-Request-ID", "abc-123"); r.header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id not echoed")
	}
}

var pathVar = regexp.MustCompile(`\{[a-z_]+\}`)

// The OpenAPI document, the route list and the router must agree: a route
// missing from the document (or a documented path the router does not
// serve) fails this test.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	r := e.do(t, "GET", "/api/v1/openapi.json", "", "")
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
			if op["responses"] == nil || op["summary"] == nil {
				t.Errorf("%s %s: no summary or responses", m, p)
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range e.app.Routes {
		key := rt.Method + " " + rt.Path
		served[key] = true
		if !documented[key] {
			t.Errorf("route %s is missing from the OpenAPI document", key)
		}
		// The router serves the route at this pattern.
		req := httptest.NewRequest(rt.Method, pathVar.ReplaceAllString(rt.Path, "x1"), bytes.NewReader(nil))
		rec := httptest.NewRecorder()
		e.app.Handler.ServeHTTP(rec, req)
		if rec.Code == 404 && strings.Contains(rec.Body.String(), "no route for") || rec.Code == 405 {
			t.Errorf("route %s is not served by the router (%d)", key, rec.Code)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("documented operation %s has no route", k)
		}
	}
	if len(served) < 30 {
		t.Fatalf("only %d routes; the list looks truncated", len(served))
	}
}

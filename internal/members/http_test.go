package members_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/server"
)

// hEnv is the whole server over HTTP, on a settable clock, with part of
// the demo network, one SKU (TEE-BLK-M, 100 CNY) in stock at SH-NJD, and
// keys: ops, ro (readonly), njd and xjh (store keys of SH-NJD, SH-XJH).
type hEnv struct {
	srv  *httptest.Server
	clk  *clock
	keys map[string]string
}

type hResp struct {
	status int
	body   map[string]any
	raw    string
}

func newHTTP(t *testing.T, d *db.DB) *hEnv {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: start}
	app, err := server.Wire(config.Default(), d, slog.New(slog.DiscardHandler), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	m := app.Modules
	body := "690000000001"
	if _, err := m.Catalog.BulkUpsert(ctx, []catalog.Style{{Code: "TEE", Name: "T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01",
		SKUs: []catalog.SKU{{Code: "TEE-BLK-M", Color: "黑色", Size: "M", Barcode: catalog.WithCheckDigit(body), ListPrice: 10000, Cost: 3000, Active: true}}}}); err != nil {
		t.Fatal(err)
	}
	locs, chans := demo.Network(worldCodes...)
	if err := m.Network.BulkUpsert(ctx, locs, chans); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inventory.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: "SH-NJD", Lines: []inventory.PostLine{{SKU: "TEE-BLK-M", Qty: 100}}}); err != nil {
		t.Fatal(err)
	}
	e := &hEnv{clk: clk, keys: map[string]string{}}
	njd, _ := m.Network.Location(ctx, "SH-NJD")
	xjh, _ := m.Network.Location(ctx, "SH-XJH")
	for _, k := range []auth.NewKey{{Name: "ops", Role: auth.Ops}, {Name: "ro", Role: auth.ReadOnly},
		{Name: "njd", Role: auth.Store, LocationID: njd.ID}, {Name: "xjh", Role: auth.Store, LocationID: xjh.ID}} {
		_, secret, err := app.Auth.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[k.Name] = secret
	}
	e.srv = httptest.NewServer(app.Handler)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *hEnv) do(t *testing.T, key, method, path, body string) hResp {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.keys[key])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := hResp{status: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *hEnv) must(t *testing.T, key string, status int, method, path, body string) hResp {
	t.Helper()
	r := e.do(t, key, method, path, body)
	if r.status != status {
		t.Fatalf("%s %s %s: %d %s; want %d", method, path, body, r.status, r.raw, status)
	}
	return r
}

func (e *hEnv) problem(t *testing.T, key string, status int, code, method, path, body string) hResp {
	t.Helper()
	r := e.do(t, key, method, path, body)
	if r.status != status || r.body["code"] != code {
		t.Fatalf("%s %s %s: %d %s; want %d %s", method, path, body, r.status, r.raw, status, code)
	}
	return r
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

func (e *hEnv) points(t *testing.T, id int64) int64 {
	t.Helper()
	return num(e.must(t, "ops", 200, "GET", fmt.Sprintf("/api/v1/members/%d", id), "").body["points"])
}

func firstIdentity(r hResp) string {
	ids, _ := r.body["identities"].([]any)
	if len(ids) == 0 {
		return ""
	}
	return ids[0].(map[string]any)["value"].(string)
}

// TestHTTPPointsRoundTrip: points earned at the till are spent online and
// points earned online are spent at the till, over HTTP.
func TestHTTPPointsRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newHTTP(t, d)
		r := e.must(t, "njd", 201, "POST", "/api/v1/members", `{"name":"李雷","channel":"pos","identities":[{"kind":"mobile","value":"13800138000"}]}`)
		id := num(r.body["id"])
		if r.body["store"] != "SH-NJD" || firstIdentity(r) != "13800138000" {
			t.Fatalf("registered at the till: %s", r.raw)
		}
		// Till: 2 × 100 CNY earns 200 points.
		e.must(t, "njd", 201, "POST", "/api/v1/pos/sales", fmt.Sprintf(`{"store":"SH-NJD","customer":{"member_id":%d},"lines":[{"sku":"TEE-BLK-M","qty":2}],"tenders":[{"provider":"offline","method":"card"}]}`, id))
		if got := e.points(t, id); got != 200 {
			t.Fatalf("points after the till sale %d, want 200", got)
		}
		// Online: spend the 200 points on a pickup order, pay the rest.
		o := e.must(t, "ops", 201, "POST", "/api/v1/orders", fmt.Sprintf(`{"channel":"app","mode":"pickup","store":"SH-NJD","customer":{"member_id":%d},"lines":[{"sku":"TEE-BLK-M","qty":1}],"points":200}`, id))
		if num(o.body["total"]) != 9800 {
			t.Fatalf("online order with 200 points: %s", o.raw)
		}
		if got := e.points(t, id); got != 0 {
			t.Fatalf("points after spending online %d, want 0", got)
		}
		e.problem(t, "ops", 409, "insufficient_points", "POST", "/api/v1/orders",
			fmt.Sprintf(`{"channel":"app","mode":"pickup","store":"SH-NJD","customer":{"member_id":%d},"lines":[{"sku":"TEE-BLK-M","qty":1}],"points":1}`, id))
		e.must(t, "ops", 200, "POST", fmt.Sprintf("/api/v1/orders/%d/payments", num(o.body["id"])), `{"provider":"test"}`)
		if got := e.points(t, id); got != 98 {
			t.Fatalf("points earned online %d, want 98", got)
		}
		// Till: spend the online points.
		s := e.must(t, "njd", 201, "POST", "/api/v1/pos/sales", fmt.Sprintf(`{"store":"SH-NJD","customer":{"member_id":%d},"lines":[{"sku":"TEE-BLK-M","qty":1}],"points":98,"tenders":[{"provider":"offline","method":"cash"}]}`, id))
		if num(s.body["total"]) != 9902 {
			t.Fatalf("till sale with 98 points: %s", s.raw)
		}
		if got := e.points(t, id); got != 99 { // 0 + 99 earned on 99.02 CNY
			t.Fatalf("points after the second till sale %d, want 99", got)
		}
		led := e.must(t, "ro", 200, "GET", fmt.Sprintf("/api/v1/members/%d/points/ledger", id), "")
		var kinds []string
		for _, it := range led.body["items"].([]any) {
			kinds = append(kinds, it.(map[string]any)["kind"].(string))
		}
		if want := []string{"earn_order", "spend_order", "earn_order", "spend_order", "earn_order"}; !slices.Equal(kinds, want) {
			t.Fatalf("ledger kinds %v, want %v", kinds, want)
		}
		check := e.must(t, "ops", 200, "GET", "/api/v1/loyalty/ledger/check", "")
		if check.body["consistent"] != true {
			t.Fatalf("ledger check %s", check.raw)
		}
	})
}

// TestHTTPMembers: bad input codes, masking by role and the audit log.
func TestHTTPMembers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newHTTP(t, d)
		e.problem(t, "ops", 422, "invalid_mobile", "POST", "/api/v1/members", `{"identities":[{"kind":"mobile","value":"1380013800x"}]}`)
		e.problem(t, "ops", 400, "unknown_field", "POST", "/api/v1/members", `{"identities":[{"kind":"mobile","value":"13800138000"}],"vip":true}`)
		r := e.must(t, "njd", 201, "POST", "/api/v1/members", `{"identities":[{"kind":"mobile","value":"13800138000"},{"kind":"email","value":"li@example.com"}]}`)
		id := num(r.body["id"])
		dup := e.problem(t, "ops", 409, "identity_taken", "POST", "/api/v1/members", `{"identities":[{"kind":"mobile","value":"13800138000"}]}`)
		if num(dup.body["member_id"]) != id {
			t.Fatalf("409 names %v, want %d", dup.body["member_id"], id)
		}
		e.problem(t, "xjh", 403, "forbidden_location", "POST", "/api/v1/members", `{"store":"SH-NJD","identities":[{"kind":"mobile","value":"13900139000"}]}`)
		path := fmt.Sprintf("/api/v1/members/%d", id)
		for _, tc := range []struct {
			key    string
			mobile string
			masked bool
		}{{"ops", "13800138000", false}, {"njd", "13800138000", false}, {"xjh", "138****8000", true}, {"ro", "138****8000", true}} {
			r := e.must(t, tc.key, 200, "GET", path, "")
			if firstIdentity(r) != tc.mobile || r.body["masked"] != tc.masked {
				t.Fatalf("%s key sees %s (masked %v); want %s", tc.key, firstIdentity(r), r.body["masked"], tc.mobile)
			}
		}
		lk := e.must(t, "ro", 200, "GET", "/api/v1/members/lookup?kind=mobile&value=13800138000", "")
		if num(lk.body["id"]) != id || firstIdentity(lk) != "138****8000" {
			t.Fatalf("lookup: %s", lk.raw)
		}
		e.problem(t, "ro", 404, "member_not_found", "GET", "/api/v1/members/lookup?kind=mobile&value=13900139000", "")
		e.problem(t, "ro", 403, "forbidden", "GET", path+"/audit", "")
		audit := e.must(t, "ops", 200, "GET", path+"/audit", "")
		var actions []string
		for _, it := range audit.body["items"].([]any) {
			a := it.(map[string]any)
			actions = append(actions, fmt.Sprintf("%s %v %s", a["action"], a["masked"], strings.Fields(a["actor"].(string))[1]))
		}
		want := []string{"find:mobile true ro", "read true ro", "read true xjh", "read false njd", "read false ops", "register false njd"}
		if !slices.Equal(actions, want) {
			t.Fatalf("audit %q, want %q", actions, want)
		}
		// Check-in, merge into itself, adjustments need Manage.
		e.must(t, "njd", 201, "POST", path+"/check-ins", "")
		e.problem(t, "njd", 409, "already_checked_in", "POST", path+"/check-ins", "")
		e.problem(t, "ops", 422, "merge_into_self", "POST", path+"/merge", fmt.Sprintf(`{"from":%d}`, id))
		e.problem(t, "njd", 403, "forbidden", "POST", path+"/points/adjustments", `{"points":10,"reason":"x"}`)
		e.problem(t, "ops", 409, "insufficient_points", "POST", path+"/points/adjustments", `{"points":-10,"reason":"x"}`)
		adj := e.must(t, "ops", 201, "POST", path+"/points/adjustments", `{"points":10,"reason":"goodwill"}`)
		if num(adj.body["balance"]) != 15 || !strings.HasPrefix(adj.body["operator"].(string), "key:") {
			t.Fatalf("adjustment %s", adj.raw)
		}
		tiers := e.must(t, "ro", 200, "GET", "/api/v1/member-tiers", "")
		if n := len(tiers.body["tiers"].([]any)); n != 5 {
			t.Fatalf("%d tiers", n)
		}
		e.must(t, "ops", 200, "POST", "/api/v1/member-tiers/reevaluate", "")
	})
}

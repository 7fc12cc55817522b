package network_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/server"
)

type client struct {
	t   *testing.T
	h   http.Handler
	key string
}

// do sends a request through the real router and returns the status and
// the decoded JSON body.
func (c client) do(method, path, body string, hdr ...string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		c.t.Fatalf("%s %s: body %q is not a JSON object", method, path, w.Body.String())
	}
	return w.Code, out
}

// retry repeats a keyed request until its first answer is stored (the
// router stores it just after answering), and returns the replayed answer.
func (c client) retry(method, path, body, key string) (int, map[string]any) {
	c.t.Helper()
	for range 200 {
		st, out := c.do(method, path, body, "Idempotency-Key", key)
		if st != 409 || out["code"] != "idempotency_key_in_progress" {
			return st, out
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("%s %s: key %s still in progress after 2 s", method, path, key)
	return 0, nil
}

func newClients(t *testing.T, d *db.DB) (admin, reader client) {
	app, err := server.Wire(config.Default(), d, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, ak, err := app.Auth.Create(ctx, auth.NewKey{Name: "admin", Role: auth.Admin})
	if err != nil {
		t.Fatal(err)
	}
	_, rk, err := app.Auth.Create(ctx, auth.NewKey{Name: "analyst", Role: auth.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	return client{t, app.Handler, ak}, client{t, app.Handler, rk}
}

func problemField(body map[string]any) string {
	es, _ := body["errors"].([]any)
	if len(es) == 0 {
		return ""
	}
	f, _ := es[0].(map[string]any)["field"].(string)
	return f
}

func TestHTTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		admin, reader := newClients(t, d)
		loc := `{"code":"SH01","name":"Omni 上海南京东路店","kind":"store","region":"east","province":"上海市","city":"上海市",
			"address":"南京东路 300 号","lat":31.2355,"lng":121.4840,"opening_hours":"10:00-22:00",
			"capabilities":{"pos":true,"pickup":true,"ship":true,"instant":true,"instant_radius_m":3000}}`
		st, body := admin.do("POST", "/api/v1/locations", loc, "Idempotency-Key", "k1")
		if st != 201 || body["code"] != "SH01" || body["active"] != true || body["id"] != nil {
			t.Fatalf("create location: %d %v", st, body)
		}
		// A retry with the same key gets the first answer; without a key the code is taken.
		if st, again := admin.retry("POST", "/api/v1/locations", loc, "k1"); st != 201 || again["created_at"] != body["created_at"] {
			t.Fatalf("idempotent retry: %d %v", st, again)
		}
		if st, body := admin.do("POST", "/api/v1/locations", loc); st != 409 || body["code"] != "duplicate_code" {
			t.Fatalf("duplicate: %d %v", st, body)
		}
		if st, body := reader.do("POST", "/api/v1/locations", loc); st != 403 {
			t.Fatalf("read-only create: %d %v", st, body)
		}
		st, body = admin.do("POST", "/api/v1/locations", `{"code":"X1","name":"x","kind":"store","province":"p","city":"c","lat":99,"lng":120}`)
		if st != 422 || body["code"] != "validation_failed" || problemField(body) != "lat" {
			t.Fatalf("invalid lat: %d %v", st, body)
		}
		if st, body := admin.do("POST", "/api/v1/locations", `{"code":"X1","colour":"red"}`); st != 400 || problemField(body) != "colour" {
			t.Fatalf("unknown field: %d %v", st, body)
		}
		wh := `{"code":"CW","name":"嘉兴中央仓","kind":"central_warehouse","province":"浙江省","city":"嘉兴市","lat":30.7522,"lng":120.7555,
			"capabilities":{"ship":true}}`
		if st, body := admin.do("POST", "/api/v1/locations", wh); st != 201 || body["opening_hours"] != "" {
			t.Fatalf("create warehouse: %d %v", st, body)
		}

		if st, body := reader.do("GET", "/api/v1/locations/SH01", ""); st != 200 || body["name"] != "Omni 上海南京东路店" {
			t.Fatalf("get: %d %v", st, body)
		}
		if st, body := reader.do("GET", "/api/v1/locations/NOPE", ""); st != 404 || body["code"] != "location_not_found" {
			t.Fatalf("get missing: %d %v", st, body)
		}
		st, body = admin.do("PATCH", "/api/v1/locations/SH01", `{"opening_hours":"09:30-21:30","capabilities":{"instant":false}}`)
		caps, _ := body["capabilities"].(map[string]any)
		if st != 200 || body["opening_hours"] != "09:30-21:30" || caps["instant"] != false || caps["instant_radius_m"] != 0.0 || caps["pos"] != true {
			t.Fatalf("patch: %d %v", st, body)
		}
		if st, body := admin.do("PATCH", "/api/v1/locations/SH01", `{"opening_hours":"9-21"}`); st != 422 || problemField(body) != "opening_hours" {
			t.Fatalf("bad patch: %d %v", st, body)
		}

		st, body = reader.do("GET", "/api/v1/locations?near=31.2304,121.4737&within_m=200000", "")
		items, _ := body["items"].([]any)
		if st != 200 || len(items) != 2 {
			t.Fatalf("near: %d %v", st, body)
		}
		first, second := items[0].(map[string]any), items[1].(map[string]any)
		if first["code"] != "SH01" || second["code"] != "CW" || first["distance_m"].(float64) > 1500 || second["distance_m"].(float64) < 70_000 {
			t.Fatalf("near order: %v", items)
		}
		if st, body := reader.do("GET", "/api/v1/locations?near=abc", ""); st != 422 || problemField(body) != "near" {
			t.Fatalf("bad near: %d %v", st, body)
		}
		st, body = reader.do("GET", "/api/v1/locations?capability=pickup&limit=1", "")
		if items, _ := body["items"].([]any); st != 200 || len(items) != 1 || body["next_cursor"] != nil {
			t.Fatalf("capability filter: %d %v", st, body)
		}
		st, body = reader.do("GET", "/api/v1/locations?limit=1", "")
		if items, _ := body["items"].([]any); st != 200 || len(items) != 1 || body["next_cursor"] == nil {
			t.Fatalf("paged list: %d %v", st, body)
		}

		ch := `{"code":"tmall","name":"天猫旗舰店","kind":"online_shop","safety_stock":2,"locations":["CW","NOPE"]}`
		if st, body := admin.do("POST", "/api/v1/channels", ch); st != 422 || problemField(body) != "locations[1]" {
			t.Fatalf("channel with unknown location: %d %v", st, body)
		}
		ch = `{"code":"tmall","name":"天猫旗舰店","kind":"online_shop","safety_stock":2,"max_share_pct":80,"locations":["SH01","CW"]}`
		st, body = admin.do("POST", "/api/v1/channels", ch, "Idempotency-Key", "c1")
		if st != 201 || body["max_share_pct"] != 80.0 || body["safety_stock"] != 2.0 {
			t.Fatalf("create channel: %d %v", st, body)
		}
		if locs, _ := body["locations"].([]any); len(locs) != 2 || locs[0] != "CW" {
			t.Fatalf("channel locations: %v", body["locations"])
		}
		if st, again := admin.retry("POST", "/api/v1/channels", ch, "c1"); st != 201 || again["created_at"] != body["created_at"] {
			t.Fatalf("idempotent channel retry: %d %v", st, again)
		}
		if st, body := admin.do("POST", "/api/v1/channels", ch); st != 409 || body["code"] != "duplicate_code" {
			t.Fatalf("duplicate channel: %d %v", st, body)
		}
		if st, body := admin.do("PATCH", "/api/v1/channels/tmall", `{"max_share_pct":30,"active":false}`); st != 200 || body["max_share_pct"] != 30.0 || body["active"] != false {
			t.Fatalf("patch channel: %d %v", st, body)
		}
		if st, body := admin.do("PUT", "/api/v1/channels/tmall/locations", `{"locations":["CW"]}`); st != 200 || len(body["locations"].([]any)) != 1 {
			t.Fatalf("set channel locations: %d %v", st, body)
		}
		if st, body := admin.do("PUT", "/api/v1/channels/tmall/locations", `{}`); st != 422 || problemField(body) != "locations" {
			t.Fatalf("set without list: %d %v", st, body)
		}
		if st, body := reader.do("GET", "/api/v1/channels/tmall", ""); st != 200 || body["kind"] != "online_shop" {
			t.Fatalf("get channel: %d %v", st, body)
		}
		if st, body := reader.do("GET", "/api/v1/channels/none", ""); st != 404 || body["code"] != "channel_not_found" {
			t.Fatalf("get missing channel: %d %v", st, body)
		}
		st, body = reader.do("GET", "/api/v1/channels?kind=online_shop&location=CW", "")
		if items, _ := body["items"].([]any); st != 200 || len(items) != 1 {
			t.Fatalf("list channels: %d %v", st, body)
		}
		if st, body := reader.do("GET", "/api/v1/channels?kind=tv", ""); st != 422 || problemField(body) != "kind" {
			t.Fatalf("bad kind filter: %d %v", st, body)
		}
	})
}

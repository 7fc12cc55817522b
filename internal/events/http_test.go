package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/web"
)

// serve mounts the module's handlers on the paths of internal/server's
// routes (without authentication, which the router adds).
func serve(t *testing.T, s *Service) *httptest.Server {
	t.Helper()
	h := &Handler{S: s}
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	for pattern, fn := range map[string]web.HandlerFunc{
		"GET /api/v1/events":                              h.ListEvents,
		"GET /api/v1/events/stream":                       h.Stream,
		"POST /api/v1/webhooks":                           h.CreateWebhook,
		"GET /api/v1/webhooks":                            h.ListWebhooks,
		"GET /api/v1/webhooks/{id}":                       h.GetWebhook,
		"PATCH /api/v1/webhooks/{id}":                     h.UpdateWebhook,
		"DELETE /api/v1/webhooks/{id}":                    h.DeleteWebhook,
		"GET /api/v1/webhooks/{id}/deliveries":            h.ListDeliveries,
		"POST /api/v1/webhooks/deliveries/{id}/redeliver": h.Redeliver,
	} {
		mux.Handle(pattern, web.Adapt(log, fn))
	}
	srv := httptest.NewUnstartedServer(web.Observe(log, nil, mux))
	// Like the real server's: a stream must outlive it.
	srv.Config.WriteTimeout = 250 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// sse is a client of the event stream.
type sse struct {
	resp *http.Response
	r    *bufio.Reader
}

type frame struct {
	id, event, data string
	comment         bool
}

func openStream(t *testing.T, ctx context.Context, url string, header http.Header) *sse {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream answered %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return &sse{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads one message (or comment) of the stream.
func (c *sse) next(t *testing.T) frame {
	t.Helper()
	var f frame
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream read: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if f.comment || f.id != "" {
				return f
			}
		case strings.HasPrefix(line, ":"):
			f.comment = true
			f.data = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			f.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			f.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			f.data = line[6:]
		default:
			t.Fatalf("unexpected stream line %q", line)
		}
	}
}

// events reads n events, skipping comments.
func (c *sse) events(t *testing.T, n int) []frame {
	t.Helper()
	var out []frame
	for len(out) < n {
		if f := c.next(t); !f.comment {
			out = append(out, f)
		}
	}
	return out
}

func TestStream(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		f := newFixture(t, d)
		f.s.pollEvery = time.Hour // wake-ups must come from the outbox
		srv := serve(t, f.s)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		f.emit(t, "inventory.old")

		live := openStream(t, ctx, srv.URL+"/api/v1/events/stream?topic=inventory.*&topic=orders.placed", nil)
		ids := f.emit(t, "inventory.level_changed", "catalog.style_changed", "orders.placed", "inventory.reserved")
		got := live.events(t, 3)
		want := []struct {
			id    int64
			topic string
		}{{ids[0], "inventory.level_changed"}, {ids[2], "orders.placed"}, {ids[3], "inventory.reserved"}}
		for i, fr := range got {
			var e Event
			if err := json.Unmarshal([]byte(fr.data), &e); err != nil {
				t.Fatalf("data %q: %v", fr.data, err)
			}
			if fr.id != strconv.FormatInt(want[i].id, 10) || fr.event != want[i].topic || e.ID != want[i].id || e.Topic != want[i].topic ||
				e.Subject != "S-"+e.Topic || len(e.Payload) == 0 {
				t.Fatalf("message %d: %+v, want event %d %s", i, fr, want[i].id, want[i].topic)
			}
		}

		// Resume after the first message, as EventSource does on reconnect.
		resumed := openStream(t, ctx, srv.URL+"/api/v1/events/stream?topic=inventory.*", http.Header{"Last-Event-ID": {got[0].id}})
		if fr := resumed.events(t, 1)[0]; fr.id != strconv.FormatInt(ids[3], 10) {
			t.Fatalf("resumed stream started with %+v, want event %d", fr, ids[3])
		}
		// ?after= replays from the start of the outbox.
		replay := openStream(t, ctx, srv.URL+"/api/v1/events/stream?after=0", nil)
		if frs := replay.events(t, 2); frs[0].event != "inventory.old" || frs[1].id != strconv.FormatInt(ids[0], 10) {
			t.Fatalf("replay started with %+v", frs)
		}
		// Live streams keep going with new events.
		more := f.emit(t, "inventory.later")
		for _, c := range []*sse{live, resumed} {
			if fr := c.events(t, 1)[0]; fr.id != strconv.FormatInt(more[0], 10) {
				t.Fatalf("live stream got %+v, want event %d", fr, more[0])
			}
		}
		// srv.Close (cleanup) waits for every stream handler: each must end
		// when its client goes away.
	})
}

func TestStreamKeepAliveAndBadInput(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	f := newFixture(t, d)
	f.s.keepAlive = 20 * time.Millisecond
	srv := serve(t, f.s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := openStream(t, ctx, srv.URL+"/api/v1/events/stream", nil)
	start := time.Now()
	for time.Since(start) < 600*time.Millisecond { // past the server's WriteTimeout
		if fr := c.next(t); !fr.comment || fr.data != "keep-alive" {
			t.Fatalf("idle stream sent %+v, want a keep-alive comment", fr)
		}
	}
	id := f.emit(t, "after.the.write.timeout")[0]
	if fr := c.events(t, 1)[0]; fr.id != strconv.FormatInt(id, 10) {
		t.Fatalf("stream got %+v, want event %d", fr, id)
	}
	for _, tc := range []struct{ query, header, field string }{
		{"?topic=Inventory.*", "", "topic"},
		{"?after=x", "", "after"},
		{"", "-3", "Last-Event-ID"},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/events/stream"+tc.query, nil)
		if tc.header != "" {
			req.Header.Set("Last-Event-ID", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p := problemOf(t, resp)
		if resp.StatusCode != 422 || p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Fatalf("%s %s: %d %+v, want 422 naming %s", tc.query, tc.header, resp.StatusCode, p, tc.field)
		}
	}
}

func problemOf(t *testing.T, resp *http.Response) web.Problem {
	t.Helper()
	defer resp.Body.Close()
	var p web.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("problem document: %v", err)
	}
	return p
}

func call(t *testing.T, method, url string, body any, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

func TestHTTPWebhooksAndEvents(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		f := newFixture(t, d)
		srv := serve(t, f.s)
		api := srv.URL + "/api/v1"
		ids := f.emit(t, "inventory.a", "catalog.b", "inventory.c")

		var page web.List[Event]
		if resp := call(t, "GET", api+"/events?topic=inventory.*&limit=1", nil, &page); resp.StatusCode != 200 ||
			len(page.Items) != 1 || page.Items[0].ID != ids[0] || page.NextCursor != strconv.FormatInt(ids[0], 10) {
			t.Fatalf("first page: %d %+v", resp.StatusCode, page)
		}
		var next web.List[Event]
		call(t, "GET", api+"/events?topic=inventory.*&limit=1&cursor="+page.NextCursor, nil, &next)
		if len(next.Items) != 1 || next.Items[0].ID != ids[2] {
			t.Fatalf("second page: %+v", next)
		}
		var tail web.List[Event]
		call(t, "GET", api+"/events?after="+strconv.FormatInt(ids[2], 10), nil, &tail)
		if len(tail.Items) != 0 || tail.NextCursor != "" {
			t.Fatalf("after the end: %+v", tail)
		}
		if p := problemOf(t, call(t, "GET", api+"/events?limit=0", nil, nil)); p.Status != 422 {
			t.Fatalf("limit=0: %+v", p)
		}

		var created CreatedWebhook
		resp := call(t, "POST", api+"/webhooks", map[string]any{"url": "https://example.com/h", "topics": []string{"inventory.*"}}, &created)
		if resp.StatusCode != 201 || len(created.Secret) != 64 || created.ID == 0 {
			t.Fatalf("create: %d %+v", resp.StatusCode, created)
		}
		p := problemOf(t, call(t, "POST", api+"/webhooks", map[string]any{"url": "example.com", "topics": []string{"*"}}, nil))
		if p.Status != 422 || p.Errors[0].Field != "url" {
			t.Fatalf("bad url: %+v", p)
		}
		p = problemOf(t, call(t, "POST", api+"/webhooks", map[string]any{"url": "https://example.com", "topics": []string{"*"}, "name": "x"}, nil))
		if p.Status != 400 || p.Code != "unknown_field" {
			t.Fatalf("unknown field: %+v", p)
		}

		var got Webhook
		if resp := call(t, "GET", api+"/webhooks/"+strconv.FormatInt(created.ID, 10), nil, &got); resp.StatusCode != 200 || got.URL != "https://example.com/h" {
			t.Fatalf("get: %d %+v", resp.StatusCode, got)
		}
		raw := call(t, "GET", api+"/webhooks/"+strconv.FormatInt(created.ID, 10), nil, nil)
		b, _ := io.ReadAll(raw.Body)
		raw.Body.Close()
		if strings.Contains(string(b), created.Secret) || strings.Contains(string(b), `"secret"`) {
			t.Fatalf("GET shows the secret: %s", b)
		}
		var patched Webhook
		call(t, "PATCH", api+"/webhooks/"+strconv.FormatInt(created.ID, 10), map[string]any{"active": false}, &patched)
		if patched.Active || patched.Topics[0] != "inventory.*" {
			t.Fatalf("patch: %+v", patched)
		}
		var list web.List[Webhook]
		call(t, "GET", api+"/webhooks", nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("list: %+v", list)
		}
		var dls web.List[Delivery]
		if resp := call(t, "GET", api+"/webhooks/"+strconv.FormatInt(created.ID, 10)+"/deliveries?status=pending", nil, &dls); resp.StatusCode != 200 || len(dls.Items) != 0 {
			t.Fatalf("deliveries: %d %+v", resp.StatusCode, dls)
		}
		if p := problemOf(t, call(t, "GET", api+"/webhooks/"+strconv.FormatInt(created.ID, 10)+"/deliveries?status=lost", nil, nil)); p.Status != 422 || p.Errors[0].Field != "status" {
			t.Fatalf("bad status filter: %+v", p)
		}
		if p := problemOf(t, call(t, "POST", api+"/webhooks/deliveries/987654/redeliver", nil, nil)); p.Status != 404 || p.Code != "delivery_not_found" {
			t.Fatalf("redeliver missing: %+v", p)
		}
		resp = call(t, "DELETE", api+"/webhooks/"+strconv.FormatInt(created.ID, 10), nil, nil)
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if p := problemOf(t, call(t, "GET", api+"/webhooks/"+strconv.FormatInt(created.ID, 10), nil, nil)); p.Status != 404 || p.Code != "webhook_not_found" {
			t.Fatalf("get after delete: %+v", p)
		}
	})
}

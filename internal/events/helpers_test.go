package events

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	d   *db.DB
	ob  *outbox.Outbox
	clk *clock
	s   *Service
}

// newFixture builds a service on d driven by a fake clock, without jitter.
func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := newClock()
	ob := outbox.New(clk.Now)
	s := NewService(d, ob, slog.New(slog.DiscardHandler), clk.Now, &http.Client{Timeout: 5 * time.Second})
	s.jitter = func(int64) int64 { return 0 }
	return &fixture{d: d, ob: ob, clk: clk, s: s}
}

// emit appends events of the given topics, one transaction each, and
// returns their ids.
func (f *fixture) emit(t *testing.T, topics ...string) []int64 {
	t.Helper()
	var ids []int64
	for i, topic := range topics {
		var id int64
		err := f.d.Write(context.Background(), func(tx *db.Tx) error {
			return f.ob.Append(tx, topic, "S-"+topic, map[string]any{"n": i, "topic": topic})
		})
		if err != nil {
			t.Fatalf("append %s: %v", topic, err)
		}
		// Append may be sent with the commit (db.Tx.Defer): read the id after it.
		if err := f.d.QueryRow(context.Background(), `SELECT MAX(id) FROM events WHERE topic = ?`, topic).Scan(&id); err != nil {
			t.Fatalf("append %s: %v", topic, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint answering with status(n) to its n-th
// request (1-based).
type receiver struct {
	mu     sync.Mutex
	got    []received
	status func(n int) int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: b})
		n := len(rc.got)
		status := rc.status
		rc.mu.Unlock()
		code := 200
		if status != nil {
			code = status(n)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// setStatus changes the answers (the race detector cannot see the
// happens-before of a request that went over a socket, hence the lock).
func (rc *receiver) setStatus(f func(n int) int) {
	rc.mu.Lock()
	rc.status = f
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func ok200(int) int { return 200 }

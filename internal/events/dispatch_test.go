package events

import (
	"context"
	"encoding/json"
	"errors"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/web"
)

// deliveries lists a webhook's deliveries oldest event first.
func (f *fixture) deliveries(t *testing.T, webhookID int64) []Delivery {
	t.Helper()
	l, err := f.s.ListDeliveries(context.Background(), webhookID, "", web.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := l.Items
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (f *fixture) hook(t *testing.T, url string, topics ...string) CreatedWebhook {
	t.Helper()
	c, err := f.s.CreateWebhook(context.Background(), NewWebhook{URL: url, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeliverySignedInOrderAndFiltered(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, d)
		f.emit(t, "inventory.before_subscribing")
		inv := newReceiver(t, ok200)
		all := newReceiver(t, ok200)
		exact := newReceiver(t, ok200)
		hInv := f.hook(t, inv.srv.URL+"/hooks?x=1", "inventory.*")
		f.hook(t, all.srv.URL, "*")
		f.hook(t, exact.srv.URL, "orders.placed")

		ids := f.emit(t, "inventory.level_changed", "catalog.style_changed", "inventory.reserved", "orders.placed", "inventory.released")
		f.s.dispatchOnce(ctx)

		got := inv.requests()
		want := []int64{ids[0], ids[2], ids[4]}
		if len(got) != len(want) {
			t.Fatalf("inventory.* receiver got %d requests, want %d", len(got), len(want))
		}
		for i, r := range got {
			if err := Verify(hInv.Secret, r.header.Get(HeaderSignature), r.body, 5*time.Minute, f.clk.Now()); err != nil {
				t.Fatalf("request %d: Verify: %v", i, err)
			}
			var e Event
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatal(err)
			}
			if e.ID != want[i] || r.header.Get(HeaderEventID) != strconv.FormatInt(want[i], 10) ||
				r.header.Get(HeaderTopic) != e.Topic || r.header.Get(HeaderAttempt) != "1" ||
				r.header.Get("Content-Type") != "application/json" || !strings.HasPrefix(e.Topic, "inventory.") {
				t.Fatalf("request %d: event %+v headers %v, want event %d", i, e, r.header, want[i])
			}
			if string(e.Payload) == "" || e.Subject != "S-"+e.Topic || !e.CreatedAt.Equal(f.clk.Now()) {
				t.Fatalf("request %d: body %s", i, r.body)
			}
		}
		// Verify refuses what a forger or a replayer would send.
		r := got[0]
		tampered := []byte(strings.Replace(string(r.body), `"n":`, `"n":1`, 1))
		if err := Verify(hInv.Secret, r.header.Get(HeaderSignature), tampered, 5*time.Minute, f.clk.Now()); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("tampered body: %v", err)
		}
		if err := Verify("wrong-secret-wrong-secret", r.header.Get(HeaderSignature), r.body, 5*time.Minute, f.clk.Now()); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("wrong secret: %v", err)
		}
		if err := Verify(hInv.Secret, r.header.Get(HeaderSignature), r.body, 5*time.Minute, f.clk.Now().Add(time.Hour)); !errors.Is(err, ErrSignatureExpired) {
			t.Fatalf("stale: %v", err)
		}

		if n := len(all.requests()); n != 5 {
			t.Fatalf(`"*" receiver got %d requests, want 5 (not the event before it subscribed)`, n)
		}
		if ex := exact.requests(); len(ex) != 1 || ex[0].header.Get(HeaderEventID) != strconv.FormatInt(ids[3], 10) {
			t.Fatalf("exact-topic receiver got %d requests", len(ex))
		}
		for _, dl := range f.deliveries(t, hInv.ID) {
			if dl.Status != Delivered || dl.Attempts != 1 || dl.LastStatus != 200 || dl.DeliveredAt == nil || dl.NextAttemptAt != nil {
				t.Fatalf("delivery %+v, want delivered on the first attempt", dl)
			}
		}
		// Running again sends nothing twice.
		f.s.dispatchOnce(ctx)
		if n := len(inv.requests()); n != 3 {
			t.Fatalf("after a second round the receiver has %d requests, want 3", n)
		}
	})
}

func TestRetryWithGrowingBackoffThenDelivered(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, d)
		const failures = 4
		rc := newReceiver(t, func(n int) int {
			if n <= failures {
				return 503
			}
			return 204
		})
		h := f.hook(t, rc.srv.URL, "inventory.*")
		ids := f.emit(t, "inventory.first", "inventory.second")

		f.s.dispatchOnce(ctx)
		for attempt := 1; attempt <= failures; attempt++ {
			dls := f.deliveries(t, h.ID)
			first := dls[0]
			wait := time.Second << (attempt - 1)
			if first.Status != Pending || first.Attempts != attempt || first.LastStatus != 503 ||
				!strings.HasPrefix(first.LastError, "HTTP 503") || !first.NextAttemptAt.Equal(f.clk.Now().Add(wait)) {
				t.Fatalf("after attempt %d: %+v, want pending, retry in %s", attempt, first, wait)
			}
			if dls[1].Attempts != 0 {
				t.Fatalf("the second event was tried (%d attempts) while the first is retried", dls[1].Attempts)
			}
			f.clk.Advance(wait - time.Millisecond)
			f.s.dispatchOnce(ctx)
			if n := len(rc.requests()); n != attempt {
				t.Fatalf("retried before the backoff of %s ran out (%d requests)", wait, n)
			}
			f.clk.Advance(time.Millisecond)
			f.s.dispatchOnce(ctx)
		}
		got := rc.requests()
		if len(got) != failures+2 {
			t.Fatalf("receiver got %d requests, want %d", len(got), failures+2)
		}
		for i, r := range got {
			wantID, wantAttempt := ids[0], strconv.Itoa(i+1)
			if i == failures+1 {
				wantID, wantAttempt = ids[1], "1"
			}
			if r.header.Get(HeaderEventID) != strconv.FormatInt(wantID, 10) || r.header.Get(HeaderAttempt) != wantAttempt {
				t.Fatalf("request %d: event %s attempt %s, want event %d attempt %s", i,
					r.header.Get(HeaderEventID), r.header.Get(HeaderAttempt), wantID, wantAttempt)
			}
			if err := Verify(h.Secret, r.header.Get(HeaderSignature), r.body, time.Minute, f.clk.Now()); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		for _, dl := range f.deliveries(t, h.ID) {
			if dl.Status != Delivered || dl.LastError != "" || dl.LastStatus != 204 {
				t.Fatalf("final %+v, want delivered", dl)
			}
		}
	})
}

func TestAlwaysFailingReceiverEndsFailed(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, d)
		rc := newReceiver(t, func(int) int { return 500 })
		h := f.hook(t, rc.srv.URL, "*")
		f.emit(t, "inventory.a", "inventory.b")
		for range MaxAttempts {
			f.s.dispatchOnce(ctx)
			f.clk.Advance(time.Hour)
		}
		dls := f.deliveries(t, h.ID)
		first := dls[0]
		if first.Status != Failed || first.Attempts != MaxAttempts || first.LastStatus != 500 || first.NextAttemptAt != nil {
			t.Fatalf("after %d rounds: %+v, want failed after %d attempts", MaxAttempts, first, MaxAttempts)
		}
		if strings.Contains(first.LastError, h.Secret) || !strings.HasPrefix(first.LastError, "HTTP 500: Internal Server Error") {
			t.Fatalf("last_error %q", first.LastError)
		}
		// The queue moved on to the next event.
		f.s.dispatchOnce(ctx)
		if dls = f.deliveries(t, h.ID); dls[1].Attempts != 1 {
			t.Fatalf("next delivery %+v, want its first attempt made", dls[1])
		}
		if n := len(rc.requests()); n != MaxAttempts+1 {
			t.Fatalf("receiver got %d requests, want %d", n, MaxAttempts+1)
		}
		failed, err := f.s.ListDeliveries(ctx, h.ID, "failed", web.Page{Limit: 10})
		if err != nil || len(failed.Items) != 1 || failed.Items[0].ID != first.ID {
			t.Fatalf("failed deliveries = %+v, %v", failed, err)
		}

		// Redeliver puts it back at the head of the queue.
		if _, err := f.s.Redeliver(ctx, dls[1].ID); !errors.Is(err, ErrDeliveryPending) {
			t.Fatalf("redeliver of a pending delivery: %v", err)
		}
		re, err := f.s.Redeliver(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if re.Status != Pending || re.Attempts != 0 || re.NextAttemptAt == nil || !re.NextAttemptAt.Equal(f.clk.Now()) {
			t.Fatalf("redelivered %+v", re)
		}
		rc.setStatus(nil) // healthy from now on
		f.clk.Advance(time.Hour)
		f.s.dispatchOnce(ctx)
		got := rc.requests()
		if last := got[len(got)-2]; last.header.Get(HeaderEventID) != strconv.FormatInt(first.EventID, 10) || last.header.Get(HeaderAttempt) != "1" {
			t.Fatalf("redelivery went out as event %s attempt %s", last.header.Get(HeaderEventID), last.header.Get(HeaderAttempt))
		}
		for _, dl := range f.deliveries(t, h.ID) {
			if dl.Status != Delivered {
				t.Fatalf("%+v, want delivered", dl)
			}
		}
	})
}

func TestTransportFailuresAreRetried(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, d)
	dead := newReceiver(t, ok200)
	url := dead.srv.URL
	dead.srv.Close() // connection refused from now on
	redirect := newReceiver(t, func(int) int { return 307 })
	hDead := f.hook(t, url, "*")
	hRedir := f.hook(t, redirect.srv.URL, "*")
	f.emit(t, "x.y")
	f.s.dispatchOnce(ctx)
	for _, h := range []CreatedWebhook{hDead, hRedir} {
		dl := f.deliveries(t, h.ID)[0]
		if dl.Status != Pending || dl.Attempts != 1 || dl.LastError == "" || strings.Contains(dl.LastError, h.Secret) {
			t.Fatalf("%s: %+v, want a failed first attempt", h.URL, dl)
		}
	}
	if dl := f.deliveries(t, hRedir.ID)[0]; dl.LastStatus != 307 || !strings.Contains(dl.LastError, "redirects are not followed") {
		t.Fatalf("redirect: %+v", dl)
	}
	if dl := f.deliveries(t, hDead.ID)[0]; dl.LastStatus != 0 || strings.Contains(dl.LastError, url) {
		t.Fatalf("refused: %+v", dl)
	}
}

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	s := &Service{jitter: func(n int64) int64 { return n }} // the most jitter
	z := &Service{jitter: func(int64) int64 { return 0 }}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		11: 1024 * time.Second, 12: 2048 * time.Second, 13: time.Hour, 40: time.Hour} {
		if got := z.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %s, want %s", attempt, got, want)
		}
		if got := s.backoff(attempt); got != want-want/10 {
			t.Errorf("backoff(%d) with full jitter = %s, want %s", attempt, got, want-want/10)
		}
	}
	rnd := NewService(nil, nil, nil, nil, nil)
	prev := time.Duration(0)
	for attempt := 1; attempt < MaxAttempts; attempt++ {
		b := rnd.backoff(attempt)
		if b <= prev || b > time.Hour {
			t.Fatalf("backoff(%d) = %s after %s: not growing or over an hour", attempt, b, prev)
		}
		prev = b
	}
}

// TestTwoDispatchersSendEachEventOnce runs two services on one store at
// once, as two instances would: every event reaches the receiver once.
func TestTwoDispatchersSendEachEventOnce(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, d)
		g := newFixture(t, d)
		g.clk = f.clk
		g.s.now = f.clk.Now
		rc := newReceiver(t, ok200)
		f.hook(t, rc.srv.URL, "*")
		f.hook(t, rc.srv.URL+"/second", "inventory.*")
		const n = 40
		topics := make([]string, n)
		for i := range topics {
			topics[i] = "inventory.e" + strconv.Itoa(i)
		}
		f.emit(t, topics...)
		var wg sync.WaitGroup
		for _, s := range []*Service{f.s, g.s} {
			wg.Go(func() {
				for range 5 {
					s.dispatchOnce(ctx)
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for _, r := range rc.requests() {
			seen[r.header.Get(HeaderEventID)+" "+r.header.Get(HeaderAttempt)]++
		}
		if len(rc.requests()) != 2*n || len(seen) != n {
			t.Fatalf("receiver got %d requests for %d distinct first attempts, want %d for %d (each event once per webhook)",
				len(rc.requests()), len(seen), 2*n, n)
		}
		for k, c := range seen {
			if c != 2 {
				t.Fatalf("event %s was received %d times, want 2 (one per webhook)", k, c)
			}
		}
	})
}

func TestRunDispatcherWakesOnAppendAndStops(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	f := newFixture(t, d)
	f.s.now = time.Now        // real time: the loop's own timers decide
	f.s.pollEvery = time.Hour // only the outbox's wake-up can deliver in time
	got := make(chan string, 10)
	rc := newReceiver(t, func(int) int {
		got <- "req"
		return 200
	})
	f.hook(t, rc.srv.URL, "*")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.s.RunDispatcher(ctx) }()
	time.Sleep(50 * time.Millisecond) // let the first round find nothing
	f.emit(t, "inventory.level_changed")
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the event was not delivered after the outbox woke the dispatcher")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunDispatcher returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunDispatcher did not stop")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func TestDescribeAndTruncate(t *testing.T) {
	t.Parallel()
	ue := &neturl.Error{Op: "Post", URL: "https://user:pw@hooks.example.com/x?token=abc", Err: timeoutErr{}}
	if got := describe(ue); strings.Contains(got, "token") || !strings.HasPrefix(got, "timeout") {
		t.Fatalf("describe(timeout) = %q", got)
	}
	ue.Err = errors.New("dial tcp: connection refused")
	if got := describe(ue); got != "dial tcp: connection refused" {
		t.Fatalf("describe(refused) = %q", got)
	}
	long := strings.Repeat("é", 400) // 800 bytes
	got := truncate(long, 501)
	if !utf8.ValidString(got) || len(got) > 501+len("…") || !strings.HasSuffix(got, "…") {
		t.Fatalf("truncate gave %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if truncate("short", 10) != "short" {
		t.Fatal("truncate changed a short string")
	}
}

func TestPausedWebhookCatchesUpOnResume(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, d)
	rc := newReceiver(t, ok200)
	h := f.hook(t, rc.srv.URL, "*")
	if _, err := f.s.UpdateWebhook(ctx, h.ID, WebhookPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	ids := f.emit(t, "a.one", "a.two")
	f.s.dispatchOnce(ctx)
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("a paused webhook got %d requests", n)
	}
	if _, err := f.s.UpdateWebhook(ctx, h.ID, WebhookPatch{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	f.s.dispatchOnce(ctx)
	got := rc.requests()
	if len(got) != 2 || got[0].header.Get(HeaderEventID) != strconv.FormatInt(ids[0], 10) || got[1].header.Get(HeaderEventID) != strconv.FormatInt(ids[1], 10) {
		t.Fatalf("after resuming got %d requests", len(got))
	}
}

package events

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/platform/db"
)

// Delivery policy (see the package comment).
const (
	// MaxAttempts is how often a delivery is tried before it is failed.
	MaxAttempts     = 12
	deliveryTimeout = 10 * time.Second
	baseBackoff     = time.Second
	maxBackoff      = time.Hour

	maxParallel = 8   // webhooks served at once by one process
	fanBatch    = 500 // events read per fan-out step
	fanSteps    = 20  // fan-out steps per webhook per round
	claimBatch  = 10  // deliveries claimed at once
	workerCap   = 200 // deliveries per worker run, for fairness between webhooks
	maxErrLen   = 500 // bytes of last_error kept
	debounce    = 10 * time.Millisecond
)

// lease is how long claimed deliveries are reserved for this process: enough
// to send a whole claim one by one, after which a crashed sender's claim
// becomes due again.
const lease = claimBatch * (deliveryTimeout + 5*time.Second)

// backoff is the wait after the attempt-th failed attempt: 1 s, 2 s, 4 s, …
// at most an hour, less up to 10 % jitter so that receivers recovering from an
// outage are not hit by every sender at once.
func (s *Service) backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt >= 1 && attempt <= 32 {
		d = min(baseBackoff<<(attempt-1), maxBackoff)
	}
	return d - time.Duration(s.jitter(int64(d/10)))
}

// RunDispatcher fans new events out to the webhooks and delivers them until
// ctx ends, then waits for the deliveries in flight to be recorded and
// returns ctx.Err(). It wakes when this process appends an event, when a
// delivery falls due, and at least every second (for events appended by
// other instances). Several instances may run it at once: fan-out and
// delivery claims are conditional updates, so each event is queued once per
// webhook and a delivery is sent by one instance at a time.
func (s *Service) RunDispatcher(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(s.pollEvery)
	defer timer.Stop()
	for {
		wake := s.ob.Wait()
		next := s.round(ctx, &wg)
		wait := s.pollEvery
		if !next.IsZero() {
			if d := next.Sub(s.now()); d < wait {
				wait = max(d, debounce)
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			// Let a burst of commits land before reading them.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(debounce):
			}
		case <-s.kick:
		case <-timer.C:
		}
	}
}

// round fans out new events and starts a worker for each webhook whose
// oldest pending delivery is due. It returns when the earliest pending
// delivery not yet due falls due (zero: none).
func (s *Service) round(ctx context.Context, wg *sync.WaitGroup) time.Time {
	hooks, err := s.fanOut(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("events: fan-out failed", "err", err)
	}
	now := ms(s.now())
	var earliest int64
	for _, id := range hooks {
		var at int64
		err := s.db.QueryRow(ctx, `SELECT next_attempt_at FROM webhook_deliveries
			WHERE webhook_id = ? AND status = 'pending' ORDER BY event_id LIMIT 1`, id).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("events: read delivery queue", "webhook", id, "err", err)
			}
			continue
		}
		if at > now {
			if earliest == 0 || at < earliest {
				earliest = at
			}
			continue
		}
		s.busyMu.Lock()
		if s.busy[id] {
			s.busyMu.Unlock()
			continue
		}
		s.busy[id] = true
		s.busyMu.Unlock()
		wg.Go(func() {
			defer func() {
				s.busyMu.Lock()
				delete(s.busy, id)
				s.busyMu.Unlock()
				s.poke()
			}()
			s.deliverWebhook(ctx, id)
		})
	}
	if earliest == 0 {
		return time.Time{}
	}
	return fromMS(earliest)
}

// dispatchOnce is one round that waits for the workers it started (tests).
func (s *Service) dispatchOnce(ctx context.Context) {
	var wg sync.WaitGroup
	s.round(ctx, &wg)
	wg.Wait()
}

// ── fan-out ─────────────────────────────────────────────────────────────────

var errCursorMoved = errors.New("events: webhook cursor moved")

type activeHook struct {
	id     int64
	pats   patterns
	cursor int64
}

// fanOut queues the events after each active webhook's cursor that match its
// topics, and returns the ids of the active webhooks.
func (s *Service) fanOut(ctx context.Context) ([]int64, error) {
	s.fanMu.Lock()
	defer s.fanMu.Unlock()
	rows, err := s.db.Query(ctx, `SELECT id, topics, cursor FROM webhooks WHERE active = ? ORDER BY id`, true)
	if err != nil {
		return nil, fmt.Errorf("events: fan-out: %w", err)
	}
	var hooks []activeHook
	for rows.Next() {
		var h activeHook
		var topics string
		if err := rows.Scan(&h.id, &topics, &h.cursor); err != nil {
			rows.Close()
			return nil, fmt.Errorf("events: fan-out: %w", err)
		}
		if err := json.Unmarshal([]byte(topics), &h.pats); err != nil || len(h.pats) == 0 {
			s.log.Warn("events: webhook has unreadable topics; skipped", "webhook", h.id)
			continue
		}
		hooks = append(hooks, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: fan-out: %w", err)
	}
	ids := make([]int64, 0, len(hooks))
	live := make(map[int64]bool, len(hooks))
	var errAll error
	for _, h := range hooks {
		ids = append(ids, h.id)
		live[h.id] = true
		t := s.tails[h.id]
		if t == nil {
			t = newTail(s.db, s.now, s.gapGrace, s.gapMaxWait)
			s.tails[h.id] = t
		}
		if err := s.fanOutHook(ctx, t, h); err != nil {
			errAll = errors.Join(errAll, err)
		}
	}
	for id := range s.tails {
		if !live[id] {
			delete(s.tails, id)
		}
	}
	return ids, errAll
}

// fanOutHook queues one webhook's new events: for each step, the deliveries
// and the cursor move are one transaction, conditional on the cursor being
// where it was read, so concurrent fan-outs cannot queue an event twice.
func (s *Service) fanOutHook(ctx context.Context, t *tail, h activeHook) error {
	for range fanSteps {
		evs, next, more, err := t.read(ctx, h.cursor, fanBatch, false)
		if err != nil {
			return err
		}
		if next == h.cursor {
			return nil
		}
		var match []int64
		for _, e := range evs {
			if h.pats.match(e.Topic) {
				match = append(match, e.ID)
			}
		}
		now := ms(s.now())
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			res, err := tx.Exec(`UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor = ? AND active = ?`, next, h.id, h.cursor, true)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errCursorMoved
			}
			for _, id := range match {
				if _, err := tx.Exec(`INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, next_attempt_at, created_at)
					VALUES (?, ?, 'pending', 0, ?, ?) ON CONFLICT (webhook_id, event_id) DO NOTHING`, h.id, id, now, now); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, errCursorMoved) {
			return nil // paused, removed or advanced elsewhere: seen again next round
		}
		if err != nil {
			return fmt.Errorf("events: fan-out to webhook %d: %w", h.id, err)
		}
		h.cursor = next
		if !more {
			return nil
		}
	}
	return nil
}

// ── delivery ────────────────────────────────────────────────────────────────

type target struct {
	url, secret string
}

type claimed struct {
	id       int64
	attempts int
	event    Event
}

// deliverWebhook sends a webhook's due deliveries in event-id order until
// one fails, none is due, or workerCap were sent.
func (s *Service) deliverWebhook(ctx context.Context, id int64) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.sem }()
	for sent := 0; sent < workerCap; {
		to, batch, until, err := s.claim(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("events: claim deliveries", "webhook", id, "err", err)
			}
			return
		}
		if len(batch) == 0 {
			return
		}
		for i, dl := range batch {
			res := s.send(ctx, to, dl)
			if ctx.Err() != nil {
				s.settle(ctx, id, nil, until, batch[i:]) // shutting down: not an attempt
				return
			}
			if res.ok {
				s.settle(ctx, id, &settled{claimed: dl, res: res}, until, nil)
				sent++
				continue
			}
			s.settle(ctx, id, &settled{claimed: dl, res: res}, until, batch[i+1:])
			return
		}
	}
}

// claim reserves, until the returned time (ms), the oldest pending deliveries
// of a webhook that are due, in event-id order, stopping at the first that
// is not due or that another sender holds.
func (s *Service) claim(ctx context.Context, id int64) (target, []claimed, int64, error) {
	now := s.now()
	until := ms(now.Add(lease))
	var to target
	var out []claimed
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		out = out[:0]
		var active bool
		err := tx.QueryRow(`SELECT url, secret, active FROM webhooks WHERE id = ?`, id).Scan(&to.url, &to.secret, &active)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT d.id, d.attempts, d.next_attempt_at, e.id, e.topic, e.subject, e.payload, e.created_at
			FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.webhook_id = ? AND d.status = 'pending' ORDER BY d.event_id LIMIT ?`, id, claimBatch)
		if err != nil {
			return err
		}
		type row struct {
			c    claimed
			next int64
		}
		var head []row
		for rows.Next() {
			var r row
			var payload string
			var created int64
			if err := rows.Scan(&r.c.id, &r.c.attempts, &r.next, &r.c.event.ID, &r.c.event.Topic, &r.c.event.Subject, &payload, &created); err != nil {
				rows.Close()
				return err
			}
			r.c.event.Payload, r.c.event.CreatedAt = json.RawMessage(payload), fromMS(created)
			head = append(head, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range head {
			if r.next > ms(now) {
				break
			}
			res, err := tx.Exec(`UPDATE webhook_deliveries SET next_attempt_at = ?
				WHERE id = ? AND status = 'pending' AND next_attempt_at = ?`, until, r.c.id, r.next)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				break // taken by another sender
			}
			out = append(out, r.c)
		}
		return nil
	})
	if err != nil {
		return to, nil, 0, fmt.Errorf("events: claim deliveries of webhook %d: %w", id, err)
	}
	return to, out, until, nil
}

type result struct {
	ok     bool
	status int
	err    string
}

// send posts one event, signed, and reports the outcome.
func (s *Service) send(ctx context.Context, to target, dl claimed) result {
	body, err := json.Marshal(dl.event)
	if err != nil {
		return result{err: "the event cannot be encoded: " + err.Error()}
	}
	rctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, to.url, bytes.NewReader(body))
	if err != nil {
		return result{err: "the URL cannot be requested"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Omni-Webhooks/1")
	req.Header.Set(HeaderEventID, strconv.FormatInt(dl.event.ID, 10))
	req.Header.Set(HeaderTopic, dl.event.Topic)
	req.Header.Set(HeaderAttempt, strconv.Itoa(dl.attempts+1))
	req.Header.Set(HeaderSignature, Sign(to.secret, s.now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		return result{err: describe(err)}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return result{ok: true, status: resp.StatusCode}
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	if t := strings.TrimSpace(strings.ToValidUTF8(string(head), "")); t != "" {
		msg += ": " + t
	}
	return result{status: resp.StatusCode, err: truncate(msg, maxErrLen)}
}

// describe turns a transport error into a short last_error, without the URL.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("timeout: no answer within %s", deliveryTimeout)
		}
		err = ue.Err
	}
	return truncate(err.Error(), maxErrLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// settled is an attempt to record.
type settled struct {
	claimed
	res result
}

// settle records an attempt (nil: none was made) and hands back the rest of
// the claim, all in one transaction that applies only while this claim
// still holds. It records even while the dispatcher is stopping.
func (s *Service) settle(ctx context.Context, webhookID int64, a *settled, until int64, rest []claimed) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.now()
	var wait time.Duration
	if a != nil && !a.res.ok {
		wait = s.backoff(a.attempts + 1)
	}
	err := s.db.Write(wctx, func(tx *db.Tx) error {
		if a != nil {
			n := a.attempts + 1
			var err error
			switch {
			case a.res.ok:
				_, err = tx.Exec(`UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status = ?, last_error = '',
					delivered_at = ?, next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at = ?`,
					n, a.res.status, ms(now), ms(now), a.id, until)
			case n >= MaxAttempts:
				_, err = tx.Exec(`UPDATE webhook_deliveries SET status = 'failed', attempts = ?, last_status = ?, last_error = ?,
					next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at = ?`,
					n, a.res.status, a.res.err, ms(now), a.id, until)
			default:
				_, err = tx.Exec(`UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?,
					next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at = ?`,
					n, a.res.status, a.res.err, ms(now.Add(wait)), a.id, until)
			}
			if err != nil {
				return err
			}
		}
		for _, r := range rest {
			if _, err := tx.Exec(`UPDATE webhook_deliveries SET next_attempt_at = ?
				WHERE id = ? AND status = 'pending' AND next_attempt_at = ?`, ms(now), r.id, until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("events: record delivery", "webhook", webhookID, "err", err)
		return
	}
	if a == nil || a.res.ok {
		return
	}
	if a.attempts+1 >= MaxAttempts {
		s.log.Warn("events: webhook delivery failed for good", "webhook", webhookID, "event", a.event.ID,
			"attempts", a.attempts+1, "status", a.res.status)
	} else {
		s.log.Info("events: webhook delivery failed; will retry", "webhook", webhookID, "event", a.event.ID,
			"attempt", a.attempts+1, "status", a.res.status, "retry_in", wait)
	}
}

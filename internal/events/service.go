package events

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Service lists and streams the outbox, manages webhooks and runs their
// delivery. It is safe for concurrent use.
type Service struct {
	db     *db.DB
	ob     *outbox.Outbox
	log    *slog.Logger
	now    func() time.Time
	client *http.Client

	// Tuning, shortened by tests.
	gapGrace, gapMaxWait time.Duration
	pollEvery            time.Duration       // fallback wake-up of readers
	keepAlive            time.Duration       // SSE comment interval
	jitter               func(n int64) int64 // uniform in [0, n]

	fanMu sync.Mutex      // one fan-out at a time in this process
	tails map[int64]*tail // webhook id → its fan-out tail (under fanMu)

	busyMu sync.Mutex
	busy   map[int64]bool // webhooks with a delivery worker running
	sem    chan struct{}
	kick   chan struct{} // a worker finished: look for due work again
}

// NewService returns the events service. client sends the webhooks (a copy
// is made that does not follow redirects); now drives every delivery
// decision (backoff, due times, signatures) so tests can move time.
func NewService(d *db.DB, ob *outbox.Outbox, log *slog.Logger, now func() time.Time, client *http.Client) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	c := &http.Client{Timeout: deliveryTimeout}
	if client != nil {
		cc := *client
		c = &cc
	}
	// A 3xx is a failed attempt: following it would turn the POST into a GET
	// to wherever the answer points.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &Service{
		db: d, ob: ob, log: log, now: now, client: c,
		gapGrace: gapGrace, gapMaxWait: gapMaxWait,
		pollEvery: time.Second, keepAlive: 15 * time.Second,
		jitter: func(n int64) int64 { return rand.Int64N(n + 1) },
		tails:  map[int64]*tail{},
		busy:   map[int64]bool{},
		sem:    make(chan struct{}, maxParallel),
		kick:   make(chan struct{}, 1),
	}
	return s
}

func invalid(field, code, msg string) error {
	return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: field + " " + msg,
		Fields: []errs.FieldError{{Field: field, Code: code, Message: msg}}}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// List returns up to limit events (1–500; 0 means 50) with an id greater
// than after whose topic matches one of topics (none: every topic), in id
// order. It is a plain listing: a transaction still committing a smaller id
// can make it appear later, so consumers that must see every event follow
// the stream or subscribe a webhook.
func (s *Service) List(ctx context.Context, after int64, topics []string, limit int) ([]Event, error) {
	var v errs.Validator
	v.Check(after >= 0, "after", "out_of_range", "must not be negative")
	if limit == 0 {
		limit = 50
	}
	v.Range(int64(limit), 1, 500, "limit")
	ps := parsePatterns(&v, "topic", topics, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	q := `SELECT id, topic, subject, payload, created_at FROM events WHERE id > ?`
	args := []any{after}
	if cond, a := ps.where(); cond != "" {
		q += " AND " + cond
		args = append(args, a...)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("events: list: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var payload string
		var created int64
		if err := rows.Scan(&e.ID, &e.Topic, &e.Subject, &payload, &created); err != nil {
			return nil, fmt.Errorf("events: list: %w", err)
		}
		e.Payload, e.CreatedAt = json.RawMessage(payload), fromMS(created)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: list: %w", err)
	}
	return out, nil
}

// lastID is the current end of the outbox (0 when empty).
func (s *Service) lastID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := s.db.QueryRow(ctx, `SELECT MAX(id) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("events: end of outbox: %w", err)
	}
	return id.Int64, nil
}

// ── webhooks ────────────────────────────────────────────────────────────────

const (
	maxURLLen    = 2000
	minSecretLen = 16
	maxSecretLen = 256
)

func checkURL(v *errs.Validator, raw string) {
	if !v.Required(raw, "url") {
		return
	}
	if !v.Check(len(raw) <= maxURLLen, "url", "too_long", fmt.Sprintf("must be at most %d characters", maxURLLen)) {
		return
	}
	u, err := url.Parse(raw)
	ok := err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) && u.Host != "" && u.Hostname() != ""
	v.Check(ok, "url", "invalid_url", "must be an absolute http or https URL with a host")
}

func randomSecret() string {
	b := make([]byte, 32)
	if _, err := crand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// CreateWebhook subscribes a URL to topic patterns. The answer holds the
// signing secret; it is never shown again.
func (s *Service) CreateWebhook(ctx context.Context, in NewWebhook) (CreatedWebhook, error) {
	var v errs.Validator
	in.URL = strings.TrimSpace(in.URL)
	checkURL(&v, in.URL)
	ps := parsePatterns(&v, "topics", in.Topics, true)
	if in.Secret != "" {
		ok := len(in.Secret) >= minSecretLen && len(in.Secret) <= maxSecretLen
		for i := 0; ok && i < len(in.Secret); i++ {
			ok = in.Secret[i] > 0x20 && in.Secret[i] < 0x7f
		}
		v.Check(ok, "secret", "invalid_secret", fmt.Sprintf("must be %d to %d printable ASCII characters without spaces", minSecretLen, maxSecretLen))
	}
	if in.FromEventID != nil {
		v.Check(*in.FromEventID >= 0, "from_event_id", "out_of_range", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return CreatedWebhook{}, err
	}
	secret := in.Secret
	if secret == "" {
		secret = randomSecret()
	}
	topics, _ := json.Marshal([]string(ps))
	now := ms(s.now())
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cursor := int64(0)
		if in.FromEventID != nil {
			cursor = max(*in.FromEventID-1, 0)
		} else {
			var end sql.NullInt64
			if err := tx.QueryRow(`SELECT MAX(id) FROM events`).Scan(&end); err != nil {
				return err
			}
			cursor = end.Int64
		}
		return tx.QueryRow(`INSERT INTO webhooks (url, secret, topics, active, cursor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, in.URL, secret, string(topics), true, cursor, now, now).Scan(&id)
	})
	if err != nil {
		return CreatedWebhook{}, fmt.Errorf("events: create webhook: %w", err)
	}
	w, err := s.GetWebhook(ctx, id)
	if err != nil {
		return CreatedWebhook{}, err
	}
	return CreatedWebhook{Webhook: w, Secret: secret}, nil
}

const hookCols = `id, url, topics, active, cursor, created_at, updated_at`

func scanHook(sc db.Scanner) (Webhook, error) {
	var w Webhook
	var topics string
	var created, updated int64
	if err := sc.Scan(&w.ID, &w.URL, &topics, &w.Active, &w.Cursor, &created, &updated); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(topics), &w.Topics); err != nil {
		return w, fmt.Errorf("events: webhook %d: topics: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = fromMS(created), fromMS(updated)
	return w, nil
}

// GetWebhook returns a webhook, or ErrWebhookNotFound.
func (s *Service) GetWebhook(ctx context.Context, id int64) (Webhook, error) {
	w, err := scanHook(s.db.QueryRow(ctx, `SELECT `+hookCols+` FROM webhooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrWebhookNotFound.Withf("no webhook %d", id)
	}
	if err != nil {
		return w, fmt.Errorf("events: get webhook %d: %w", id, err)
	}
	return w, nil
}

// ListWebhooks returns every webhook, oldest first.
func (s *Service) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	return s.queryHooks(ctx, `SELECT `+hookCols+` FROM webhooks ORDER BY id`)
}

func (s *Service) queryHooks(ctx context.Context, q string, args ...any) ([]Webhook, error) {
	out, err := db.Collect(scanHook)(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("events: list webhooks: %w", err)
	}
	return out, nil
}

// UpdateWebhook changes a webhook's URL, topics or active flag.
func (s *Service) UpdateWebhook(ctx context.Context, id int64, p WebhookPatch) (Webhook, error) {
	var v errs.Validator
	if p.URL != nil {
		*p.URL = strings.TrimSpace(*p.URL)
		checkURL(&v, *p.URL)
	}
	var topics string
	if p.Topics != nil {
		ps := parsePatterns(&v, "topics", p.Topics, true)
		b, _ := json.Marshal([]string(ps))
		topics = string(b)
	}
	if err := v.Err(); err != nil {
		return Webhook{}, err
	}
	now := ms(s.now())
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		w, err := scanHook(tx.QueryRow(`SELECT `+hookCols+` FROM webhooks WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrWebhookNotFound.Withf("no webhook %d", id)
		}
		if err != nil {
			return err
		}
		u, active := w.URL, w.Active
		b, _ := json.Marshal(w.Topics)
		tops := string(b)
		if p.URL != nil {
			u = *p.URL
		}
		if p.Active != nil {
			active = *p.Active
		}
		if p.Topics != nil {
			tops = topics
		}
		_, err = tx.Exec(`UPDATE webhooks SET url = ?, topics = ?, active = ?, updated_at = ? WHERE id = ?`,
			u, tops, active, now, id)
		return err
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("events: update webhook %d: %w", id, err)
	}
	return s.GetWebhook(ctx, id)
}

// DeleteWebhook removes a webhook and its delivery history. A delivery in
// flight at that moment may still reach the receiver once.
func (s *Service) DeleteWebhook(ctx context.Context, id int64) error {
	now := ms(s.now())
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		// Lock the webhook first: a fan-out in progress (which updates this
		// row before queueing) finishes before its deliveries are deleted,
		// and a later one finds the row gone.
		res, err := tx.Exec(`UPDATE webhooks SET active = ?, updated_at = ? WHERE id = ?`, false, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrWebhookNotFound.Withf("no webhook %d", id)
		}
		if _, err := tx.Exec(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM webhooks WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("events: delete webhook %d: %w", id, err)
	}
	return nil
}

const deliveryCols = `d.id, d.webhook_id, d.event_id, e.topic, d.status, d.attempts, d.next_attempt_at,
	d.last_status, d.last_error, d.created_at, d.delivered_at`

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var dl Delivery
	var next, created int64
	var delivered sql.NullInt64
	if err := sc.Scan(&dl.ID, &dl.WebhookID, &dl.EventID, &dl.Topic, &dl.Status, &dl.Attempts, &next,
		&dl.LastStatus, &dl.LastError, &created, &delivered); err != nil {
		return dl, err
	}
	if dl.Status == Pending {
		t := fromMS(next)
		dl.NextAttemptAt = &t
	}
	dl.CreatedAt = fromMS(created)
	if delivered.Valid {
		t := fromMS(delivered.Int64)
		dl.DeliveredAt = &t
	}
	return dl, nil
}

// ListDeliveries returns a webhook's deliveries, newest event first, optionally
// only those with a status; the page cursor is the event id to continue
// below.
func (s *Service) ListDeliveries(ctx context.Context, webhookID int64, status string, p web.Page) (web.List[Delivery], error) {
	var v errs.Validator
	if status != "" {
		v.OneOf(status, "status", string(Pending), string(Delivered), string(Failed))
	}
	var before int64
	if p.Cursor != "" {
		n, err := strconv.ParseInt(p.Cursor, 10, 64)
		v.Check(err == nil && n > 0, "cursor", "invalid_cursor", "is not a cursor of this list")
		before = n
	}
	if p.Limit == 0 {
		p.Limit = 50
	}
	v.Range(int64(p.Limit), 1, 500, "limit")
	if err := v.Err(); err != nil {
		return web.List[Delivery]{}, err
	}
	if _, err := s.GetWebhook(ctx, webhookID); err != nil {
		return web.List[Delivery]{}, err
	}
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.webhook_id = ?`
	args := []any{webhookID}
	if status != "" {
		q += ` AND d.status = ?`
		args = append(args, status)
	}
	if before > 0 {
		q += ` AND d.event_id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY d.event_id DESC LIMIT ?`
	args = append(args, p.Limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return web.List[Delivery]{}, fmt.Errorf("events: list deliveries: %w", err)
	}
	defer rows.Close()
	out := web.List[Delivery]{Items: []Delivery{}}
	for rows.Next() {
		dl, err := scanDelivery(rows)
		if err != nil {
			return out, fmt.Errorf("events: list deliveries: %w", err)
		}
		out.Items = append(out.Items, dl)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("events: list deliveries: %w", err)
	}
	if len(out.Items) == p.Limit {
		out.NextCursor = strconv.FormatInt(out.Items[len(out.Items)-1].EventID, 10)
	}
	return out, nil
}

// GetDelivery returns a delivery, or ErrDeliveryNotFound.
func (s *Service) GetDelivery(ctx context.Context, id int64) (Delivery, error) {
	dl, err := scanDelivery(s.db.QueryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return dl, ErrDeliveryNotFound.Withf("no delivery %d", id)
	}
	if err != nil {
		return dl, fmt.Errorf("events: get delivery %d: %w", id, err)
	}
	return dl, nil
}

// Redeliver puts a failed (or delivered) delivery back in its webhook's
// queue with a fresh set of attempts. As the oldest pending event of its
// webhook it goes out before the later ones. A pending delivery is
// ErrDeliveryPending.
func (s *Service) Redeliver(ctx context.Context, id int64) (Delivery, error) {
	now := ms(s.now())
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, delivered_at = NULL
			WHERE id = ? AND status IN ('failed', 'delivered')`, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var st string
		if err := tx.QueryRow(`SELECT status FROM webhook_deliveries WHERE id = ?`, id).Scan(&st); errors.Is(err, sql.ErrNoRows) {
			return ErrDeliveryNotFound.Withf("no delivery %d", id)
		} else if err != nil {
			return err
		}
		return ErrDeliveryPending.Withf("delivery %d is still pending", id)
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("events: redeliver %d: %w", id, err)
	}
	s.poke()
	return s.GetDelivery(ctx, id)
}

// poke wakes the dispatcher of this process.
func (s *Service) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

package db

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// An IdemClaim carries a request's Idempotency-Key into the store. The first
// Write of the request inserts the claim in the same transaction as its
// effects, so the key is taken if and only if the effects committed.
type IdemClaim struct {
	Scope string // who may reuse the key: the API key id
	Key   string
	Hash  string // digest of method, path and body
	At    time.Time

	committed atomic.Bool
}

// Committed reports whether a write of this request committed with the claim.
func (c *IdemClaim) Committed() bool { return c.committed.Load() }

type idemKey struct{}

// WithIdemClaim attaches a claim to the context of a request.
func WithIdemClaim(ctx context.Context, c *IdemClaim) context.Context {
	return context.WithValue(ctx, idemKey{}, c)
}

// ErrIdemKeyTaken means another request took the same key first.
var ErrIdemKeyTaken = errs.New(errs.Conflict, "idempotency_key_in_use", "another request with this Idempotency-Key is being processed or has completed")

func claimIdempotency(t *Tx) error {
	c, _ := t.jctx.Value(idemKey{}).(*IdemClaim)
	if c == nil || c.committed.Load() {
		return nil
	}
	t.AfterCommit(func() { c.committed.Store(true) })
	if t.d.Engine == Postgres {
		// Sent with the closure's first statement; a duplicate key fails the
		// closure with ErrIdemKeyTaken (see deferredError).
		return t.Defer(`INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, created_at)
			VALUES (?, ?, ?, 0, ?)`, c.Scope, c.Key, c.Hash, c.At.UnixMilli())
	}
	res, err := t.Exec(`INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, created_at)
		VALUES (?, ?, ?, 0, ?) ON CONFLICT (scope, idem_key) DO NOTHING`, c.Scope, c.Key, c.Hash, c.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("db: claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrIdemKeyTaken
	}
	return nil
}

// deferredError maps the failure of deferred statements: a duplicate
// idempotency key is the caller's conflict, anything else stays internal.
func deferredError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && strings.HasPrefix(pe.ConstraintName, "idempotency_keys") {
		return ErrIdemKeyTaken
	}
	return fmt.Errorf("db: deferred statement: %w", err)
}

// IdemRecord is a stored idempotency key. Status 0 means the effects have
// committed but the response is not stored yet.
type IdemRecord struct {
	Hash        string
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// LookupIdem returns the record of a key, or ok=false.
func (d *DB) LookupIdem(ctx context.Context, scope, key string) (rec IdemRecord, ok bool, err error) {
	var ms int64
	var ct sql.NullString
	err = d.QueryRow(ctx, `SELECT request_hash, status, content_type, response, created_at
		FROM idempotency_keys WHERE scope = ? AND idem_key = ?`, scope, key).
		Scan(&rec.Hash, &rec.Status, &ct, &rec.Body, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("db: look up idempotency key: %w", err)
	}
	rec.ContentType = ct.String
	rec.CreatedAt = time.UnixMilli(ms).UTC()
	if rec.Body, err = inflateIdem(rec.Body); err != nil {
		return rec, false, fmt.Errorf("db: idempotency key %s: %w", key, err)
	}
	return rec, true, nil
}

// Large stored responses (lists, reports) are deflated. An order's answer
// (about 2.2 KB of JSON in the checkout benchmark) is stored as it is:
// deflating it took about 85 µs of CPU, a fifteenth of all an order costs,
// to save 1.4 KB of sequential writing. A deflated body starts with
// idemDeflated, which no JSON or text body does.
const (
	idemDeflated   = "\x00D"
	idemDeflateMin = 8 << 10
)

var deflaters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}

// deflateIdem compresses a response body for storage.
func deflateIdem(body []byte) []byte {
	if len(body) < idemDeflateMin {
		return body // not worth the CPU
	}
	var b bytes.Buffer
	b.Grow(len(body)/3 + 16)
	b.WriteString(idemDeflated)
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&b)
	_, err := w.Write(body)
	if err == nil {
		err = w.Close()
	}
	deflaters.Put(w)
	if err != nil {
		return body
	}
	return b.Bytes()
}

// inflateIdem undoes deflateIdem (bodies stored plain are returned as they are).
func inflateIdem(body []byte) ([]byte, error) {
	if !bytes.HasPrefix(body, []byte(idemDeflated)) {
		return body, nil
	}
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(body[len(idemDeflated):])))
	if err != nil {
		return nil, fmt.Errorf("inflate stored response: %w", err)
	}
	return out, nil
}

// idemResponse is a response waiting to be stored with its key.
type idemResponse struct {
	scope, key, contentType string
	status                  int
	body                    []byte
}

// QueueIdemResponse records the response of a claimed key without waiting
// for a commit of its own: the next write transaction stores it (a no-op
// write is queued when none is waiting). Until then, and if the process
// stops first, a retry finds the key claimed without a response and is
// answered 409 idempotency_key_in_progress; it can never apply the write
// twice, because the claim committed with the effects.
func (d *DB) QueueIdemResponse(c *IdemClaim, status int, contentType string, body []byte) {
	body = deflateIdem(body) // before the lock: the callers' goroutines share the work
	d.idemMu.Lock()
	first := len(d.idemQ) == 0
	d.idemQ = append(d.idemQ, idemResponse{scope: c.Scope, key: c.Key, contentType: contentType, status: status, body: body})
	d.idemMu.Unlock()
	if first {
		go func() { _ = d.Write(context.Background(), func(*Tx) error { return nil }) }()
	}
}

// takeIdemQueue removes and returns the queued responses.
func (d *DB) takeIdemQueue() []idemResponse {
	d.idemMu.Lock()
	defer d.idemMu.Unlock()
	q := d.idemQ
	d.idemQ = nil
	return q
}

// requeueIdem puts back responses whose transaction did not commit.
func (d *DB) requeueIdem(q []idemResponse) {
	if len(q) == 0 {
		return
	}
	d.idemMu.Lock()
	d.idemQ = append(q, d.idemQ...)
	d.idemMu.Unlock()
}

// storeIdem writes queued responses in tx, one UPDATE by key each. On
// PostgreSQL they are handed on to the transaction's next round trip (a
// closure's, or the commit's), where they cost no round trip of their own.
// (One UPDATE joining a VALUES list of them was slower: a writer plans its
// statements once, and a plan made while the table was small scans it
// whole for every batch.)
func (d *DB) storeIdem(ctx context.Context, tx *txn, q []idemResponse) error {
	t := tx.tx(ctx, ctx, nil)
	for _, r := range q {
		if err := t.Defer(`UPDATE idempotency_keys SET status = ?, content_type = ?, response = ? WHERE scope = ? AND idem_key = ?`,
			r.status, r.contentType, r.body, r.scope, r.key); err != nil {
			return err
		}
	}
	tx.carry = t.pending
	return nil
}

// PurgeIdem deletes keys older than the cutoff and returns how many.
func (d *DB) PurgeIdem(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := d.Write(ctx, func(t *Tx) error {
		res, err := t.Exec(`DELETE FROM idempotency_keys WHERE created_at < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

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
	res, err := t.Exec(`INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, created_at)
		VALUES (?, ?, ?, 0, ?) ON CONFLICT (scope, idem_key) DO NOTHING`, c.Scope, c.Key, c.Hash, c.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("db: claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrIdemKeyTaken
	}
	t.AfterCommit(func() { c.committed.Store(true) })
	return nil
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
	return rec, true, nil
}

// StoreIdemResponse records the response of a claimed key so that retries
// get it again.
func (d *DB) StoreIdemResponse(ctx context.Context, c *IdemClaim, status int, contentType string, body []byte) error {
	return d.Write(ctx, func(t *Tx) error {
		_, err := t.Exec(`UPDATE idempotency_keys SET status = ?, content_type = ?, response = ?
			WHERE scope = ? AND idem_key = ?`, status, contentType, body, c.Scope, c.Key)
		return err
	})
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

package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Idempotency errors.
var (
	ErrIdemReused     = errs.New(errs.Conflict, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
	ErrIdemInProgress = errs.New(errs.Conflict, "idempotency_key_in_progress", "a request with this Idempotency-Key is still being processed; retry shortly")
	ErrIdemBadKey     = errs.New(errs.Malformed, "invalid_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters")
)

// Idempotent makes a retried write safe. A request without an
// Idempotency-Key header runs as usual. With one, keyed by the caller's API
// key:
//   - the first request runs; its key is stored in the same transaction as
//     its effects, then its response is stored;
//   - a later request with the same key runs up to its first write, which
//     finds the key taken and applies nothing; then, with the same method,
//     path and body, it gets the stored response again (header
//     Idempotent-Replayed: true);
//   - the same key with a different request is a 409 idempotency_key_reused;
//   - while the first is still running, a 409 idempotency_key_in_progress.
//
// The store is asked about the key only when the request did not commit a
// write with it, not before every request; so handlers must not act outside
// the store before their first write. A request that fails without
// committing anything stores nothing, so its retry is evaluated afresh.
// Keys are kept for 24 hours.
func Idempotent(d *db.DB, now func() time.Time, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			return next(w, r)
		}
		if len(key) > 200 {
			return ErrIdemBadKey
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				return ErrIdemBadKey
			}
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			return errs.E(errs.Malformed, "unreadable_body", "the body could not be read: %v", err)
		}
		if len(body) > MaxBody {
			return errs.E(errs.TooLarge, "body_too_large", "the body exceeds %d bytes", MaxBody)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		scope := "anonymous"
		if p := auth.From(r.Context()); p != nil {
			scope = "key:" + strconv.FormatInt(p.KeyID, 10)
		}
		h := sha256.New()
		io.WriteString(h, r.Method+" "+r.URL.RequestURI()+"\n")
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		claim := &db.IdemClaim{Scope: scope, Key: key, Hash: hash, At: now()}
		iw := &idemWriter{ResponseWriter: w, claim: claim, header: http.Header{}, status: http.StatusOK}
		err = next(iw, r.WithContext(db.WithIdemClaim(r.Context(), claim)))
		if !claim.Committed() {
			// Nothing committed with this key: it is free, or an earlier
			// request has it (this one's write then failed on the claim, or
			// it failed or answered before writing). The store decides.
			if done, rerr := replay(w, r, d, scope, key, hash); done || rerr != nil {
				return rerr
			}
			if errors.Is(err, db.ErrIdemKeyTaken) {
				w.Header().Set("Retry-After", "1")
				return ErrIdemInProgress
			}
			iw.release()
			return err
		}
		if err != nil && !iw.wrote {
			// A later step failed after an earlier write committed: the
			// failure is the answer to keep.
			WriteProblem(iw, r, err)
			err = nil
		}
		if iw.status < 500 {
			d.QueueIdemResponse(claim, iw.status, iw.header.Get("Content-Type"), iw.body)
		}
		iw.release()
		return err
	}
}

// idemWriter captures the answer to a request with an Idempotency-Key. Once
// the request's claim has committed, what the handler writes goes straight
// out; before that (a handler that answers or fails without writing to the
// store) it is held, because the key may turn out to be an earlier
// request's, whose stored answer is then sent instead.
type idemWriter struct {
	http.ResponseWriter
	claim  *db.IdemClaim
	header http.Header // the handler's headers, copied out when the answer goes
	status int
	wrote  bool
	held   bool
	body   []byte
}

func (w *idemWriter) Header() http.Header { return w.header }

func (w *idemWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.status, w.wrote = code, true
	if !w.claim.Committed() {
		w.held = true
		return
	}
	w.send()
}

func (w *idemWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.body = append(w.body, b...)
	if w.held {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// send writes the status line and headers.
func (w *idemWriter) send() {
	h := w.ResponseWriter.Header()
	for k, v := range w.header {
		h[k] = v
	}
	w.ResponseWriter.WriteHeader(w.status)
}

// release sends a held answer.
func (w *idemWriter) release() {
	if !w.held {
		return
	}
	w.held = false
	w.send()
	_, _ = w.ResponseWriter.Write(w.body)
}

// replay answers from a stored key; done reports that the request is answered.
func replay(w http.ResponseWriter, r *http.Request, d *db.DB, scope, key, hash string) (done bool, err error) {
	rec, ok, err := d.LookupIdem(r.Context(), scope, key)
	if err != nil || !ok {
		return false, err
	}
	if rec.Hash != hash {
		return true, ErrIdemReused
	}
	if rec.Status == 0 {
		w.Header().Set("Retry-After", "1")
		return true, ErrIdemInProgress
	}
	if rec.ContentType != "" {
		w.Header().Set("Content-Type", rec.ContentType)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.Body)))
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
	return true, nil
}

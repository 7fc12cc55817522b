// Package auth authenticates API keys and carries the caller's role.
//
// A key looks like "omni_<prefix>_<secret>". Only the prefix (to find the row)
// and the SHA-256 of the whole key are stored: keys are 160-bit random
// strings, so a fast hash is enough — a slow password hash would only add
// latency to every request. Roles: admin (everything), ops (HQ operations),
// store (staff of one store: writes only at that location) and readonly.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Role is what a key may do.
type Role string

// The roles.
const (
	Admin    Role = "admin"
	Ops      Role = "ops"
	Store    Role = "store"
	ReadOnly Role = "readonly"
)

// Perm is what a route requires.
type Perm int

// The permissions, from least to most.
const (
	Public    Perm = iota // no key needed
	Read                  // any valid key
	Write                 // admin, ops, or store staff (at their store: checked by the service)
	Manage                // admin or ops: catalog, network, configuration
	AdminOnly             // admin: keys and subscribers
)

func (p Perm) String() string {
	return [...]string{"public", "read", "write", "manage", "admin"}[p]
}

// Principal is the authenticated caller.
type Principal struct {
	KeyID      int64
	Name       string
	Role       Role
	LocationID int64 // store role only
}

// Can reports whether the principal holds perm.
func (p *Principal) Can(perm Perm) bool {
	switch perm {
	case Public, Read:
		return true
	case Write:
		return p.Role != ReadOnly
	case Manage:
		return p.Role == Admin || p.Role == Ops
	case AdminOnly:
		return p.Role == Admin
	}
	return false
}

// Actor names the principal in audit fields ("key:12 name").
func (p *Principal) Actor() string { return fmt.Sprintf("key:%d %s", p.KeyID, p.Name) }

type pkey struct{}

// WithPrincipal attaches a principal to a context.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, pkey{}, p)
}

// From returns the principal of a context, or nil (internal callers such
// as the demo generator and background jobs).
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(pkey{}).(*Principal)
	return p
}

// Actor names the caller of ctx for audit fields ("system" when none).
func Actor(ctx context.Context) string {
	if p := From(ctx); p != nil {
		return p.Actor()
	}
	return "system"
}

// ErrForbiddenLocation is returned when store staff act on another location.
var ErrForbiddenLocation = errs.New(errs.Forbidden, "forbidden_location", "this key is scoped to another store")

// RequireLocation refuses a store-scoped caller acting at another location.
func RequireLocation(ctx context.Context, locationID int64) error {
	if p := From(ctx); p != nil && p.Role == Store && p.LocationID != locationID {
		return ErrForbiddenLocation
	}
	return nil
}

// Errors of authentication.
var (
	ErrNoKey      = errs.New(errs.Unauthenticated, "unauthenticated", "an API key is required: send Authorization: Bearer <key>")
	ErrBadKey     = errs.New(errs.Unauthenticated, "invalid_api_key", "the API key is unknown, revoked or expired")
	ErrPermission = errs.New(errs.Forbidden, "forbidden", "this key's role may not do this")
)

// Key is an API key as listed (never with its secret).
type Key struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Role       Role       `json:"role"`
	LocationID int64      `json:"location_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Service issues and verifies keys.
type Service struct {
	db  *db.DB
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	hash    string
	p       *Principal
	expires int64 // key expiry, ms (0 = never)
	until   time.Time
}

// cacheTTL bounds how long a revoked key may still work on another instance.
const cacheTTL = 15 * time.Second

// NewService returns the key service.
func NewService(d *db.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, now: now, cache: map[string]cached{}}
}

func hashKey(k string) string {
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:])
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// NewKey is a request to issue a key.
type NewKey struct {
	Name       string `json:"name"`
	Role       Role   `json:"role"`
	LocationID int64  `json:"location_id,omitempty"`
	// TTLHours makes the key expire; 0 means it does not.
	TTLHours int64 `json:"ttl_hours,omitempty"`
}

// Create issues a key and returns it with its secret, shown only this once.
func (s *Service) Create(ctx context.Context, in NewKey) (Key, string, error) {
	return s.create(ctx, in, "")
}

// Ensure makes a given secret key exist with the given role (used for a
// key configured by the operator, e.g. OMNI_ADMIN_KEY).
func (s *Service) Ensure(ctx context.Context, in NewKey, secret string) (Key, error) {
	prefix, ok := prefixOf(secret)
	if !ok {
		return Key{}, errs.New(errs.Invalid, "invalid_api_key", `a configured key must look like omni_<8 hex>_<at least 32 hex>`)
	}
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM api_keys WHERE prefix = ?`, prefix).Scan(&id)
	if err == nil {
		return s.get(ctx, id)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Key{}, err
	}
	k, _, err := s.create(ctx, in, secret)
	return k, err
}

func (s *Service) create(ctx context.Context, in NewKey, secret string) (Key, string, error) {
	var v errs.Validator
	v.Required(in.Name, "name")
	v.OneOf(string(in.Role), "role", string(Admin), string(Ops), string(Store), string(ReadOnly))
	if in.Role == Store {
		v.Check(in.LocationID > 0, "location_id", "required", "is required for the store role")
	} else {
		v.Check(in.LocationID == 0, "location_id", "not_allowed", "applies to the store role only")
	}
	v.Range(in.TTLHours, 0, 24*365*10, "ttl_hours")
	if err := v.Err(); err != nil {
		return Key{}, "", err
	}
	if secret == "" {
		secret = "omni_" + randHex(4) + "_" + randHex(20)
	}
	prefix, _ := prefixOf(secret)
	now := s.now()
	var exp *int64
	if in.TTLHours > 0 {
		e := now.Add(time.Duration(in.TTLHours) * time.Hour).UnixMilli()
		exp = &e
	}
	var loc *int64
	if in.LocationID > 0 {
		loc = &in.LocationID
	}
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		if loc != nil {
			var kind string
			if err := tx.QueryRow(`SELECT kind FROM locations WHERE id = ?`, *loc).Scan(&kind); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "location_id names no location",
						Fields: []errs.FieldError{{Field: "location_id", Code: "unknown", Message: "names no location"}}}
				}
				return err
			}
		}
		return tx.QueryRow(`INSERT INTO api_keys (name, prefix, secret_hash, role, location_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, in.Name, prefix, hashKey(secret), string(in.Role), loc, now.UnixMilli(), exp).Scan(&id)
	})
	if err != nil {
		return Key{}, "", fmt.Errorf("auth: create key: %w", err)
	}
	k, err := s.get(ctx, id)
	return k, secret, err
}

func prefixOf(key string) (string, bool) {
	parts := strings.Split(key, "_")
	if len(parts) != 3 || parts[0] != "omni" || len(parts[1]) != 8 || len(parts[2]) < 32 {
		return "", false
	}
	for _, c := range parts[1] + parts[2] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return "", false
		}
	}
	return parts[1], true
}

const keyCols = `id, name, prefix, role, location_id, created_at, expires_at, revoked_at`

func scanKey(sc db.Scanner) (Key, error) {
	var k Key
	var loc, exp, rev sql.NullInt64
	var created int64
	if err := sc.Scan(&k.ID, &k.Name, &k.Prefix, &k.Role, &loc, &created, &exp, &rev); err != nil {
		return k, err
	}
	k.LocationID = loc.Int64
	k.CreatedAt = time.UnixMilli(created).UTC()
	if exp.Valid {
		t := time.UnixMilli(exp.Int64).UTC()
		k.ExpiresAt = &t
	}
	if rev.Valid {
		t := time.UnixMilli(rev.Int64).UTC()
		k.RevokedAt = &t
	}
	return k, nil
}

func (s *Service) get(ctx context.Context, id int64) (Key, error) {
	k, err := scanKey(s.db.QueryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, errs.NotFoundf("no API key %d", id)
	}
	return k, err
}

// List returns every key, newest first.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	out, err := db.Collect(scanKey)(s.db.Query(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY id DESC`))
	if err != nil {
		return nil, fmt.Errorf("auth: list keys: %w", err)
	}
	return out, nil
}

// Revoke disables a key at once on this instance (within cacheTTL elsewhere).
func (s *Service) Revoke(ctx context.Context, id int64) (Key, error) {
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var x int64
			if err := tx.QueryRow(`SELECT id FROM api_keys WHERE id = ?`, id).Scan(&x); errors.Is(err, sql.ErrNoRows) {
				return errs.NotFoundf("no API key %d", id)
			}
		}
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	s.mu.Lock()
	s.cache = map[string]cached{}
	s.mu.Unlock()
	return s.get(ctx, id)
}

// Verify returns the principal of a presented key.
func (s *Service) Verify(ctx context.Context, key string) (*Principal, error) {
	prefix, ok := prefixOf(key)
	if !ok {
		return nil, ErrBadKey
	}
	now := s.now()
	s.mu.Lock()
	c, hit := s.cache[prefix]
	s.mu.Unlock()
	if !hit || now.After(c.until) {
		var k Key
		var hash string
		var loc, exp, rev sql.NullInt64
		err := s.db.QueryRow(ctx, `SELECT id, name, role, location_id, expires_at, revoked_at, secret_hash FROM api_keys WHERE prefix = ?`, prefix).
			Scan(&k.ID, &k.Name, &k.Role, &loc, &exp, &rev, &hash)
		if errors.Is(err, sql.ErrNoRows) || rev.Valid {
			return nil, ErrBadKey
		}
		if err != nil {
			return nil, fmt.Errorf("auth: verify: %w", err)
		}
		c = cached{hash: hash, expires: exp.Int64, until: now.Add(cacheTTL),
			p: &Principal{KeyID: k.ID, Name: k.Name, Role: k.Role, LocationID: loc.Int64}}
		s.mu.Lock()
		s.cache[prefix] = c
		s.mu.Unlock()
	}
	if subtle.ConstantTimeCompare([]byte(c.hash), []byte(hashKey(key))) != 1 {
		return nil, ErrBadKey
	}
	if c.expires != 0 && now.UnixMilli() >= c.expires {
		return nil, ErrBadKey
	}
	return c.p, nil
}

// FromRequest reads the key of a request: "Authorization: Bearer KEY" or
// "X-API-Key: KEY".
func FromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if k, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(k)
		}
	}
	return r.Header.Get("X-API-Key")
}

package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestKeys(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
		s := auth.NewService(d, clk.now)

		k, secret, err := s.Create(ctx, auth.NewKey{Name: "ops", Role: auth.Ops, TTLHours: 1})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Verify(ctx, secret)
		if err != nil || p.Role != auth.Ops || p.KeyID != k.ID {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
		// Only the hash is stored.
		var stored string
		if err := d.QueryRow(ctx, `SELECT secret_hash FROM api_keys WHERE id = ?`, k.ID).Scan(&stored); err != nil || stored == secret || len(stored) != 64 {
			t.Fatalf("stored %q (%v): the secret must be kept only as its SHA-256", stored, err)
		}
		// A wrong secret with a real prefix, garbage and an expired key are refused.
		last := "0"
		if secret[len(secret)-1] == '0' {
			last = "1"
		}
		if _, err := s.Verify(ctx, secret[:len(secret)-1]+last); !errors.Is(err, auth.ErrBadKey) {
			t.Fatalf("tampered key: %v", err)
		}
		for _, bad := range []string{"", "omni_", "Bearer x", "omni_zzzzzzzz_0000000000000000000000000000000000000000"} {
			if _, err := s.Verify(ctx, bad); !errors.Is(err, auth.ErrBadKey) {
				t.Fatalf("Verify(%q) = %v", bad, err)
			}
		}
		clk.add(61 * time.Minute)
		if _, err := s.Verify(ctx, secret); !errors.Is(err, auth.ErrBadKey) {
			t.Fatalf("expired key: %v", err)
		}

		// Revocation takes effect at once on this instance.
		_, secret2, err := s.Create(ctx, auth.NewKey{Name: "ro", Role: auth.ReadOnly})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := s.Verify(ctx, secret2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Revoke(ctx, p2.KeyID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(ctx, secret2); !errors.Is(err, auth.ErrBadKey) {
			t.Fatalf("revoked key: %v", err)
		}
		if _, err := s.Revoke(ctx, 99999); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}

		// Store staff need a location; other roles must not have one.
		for _, in := range []auth.NewKey{{Name: "s", Role: auth.Store}, {Name: "o", Role: auth.Ops, LocationID: 1}, {Name: "x", Role: "boss"}, {Role: auth.Admin}} {
			if _, _, err := s.Create(ctx, in); !errors.Is(err, &errs.Error{Kind: errs.Invalid, Code: "validation_failed"}) {
				t.Fatalf("Create(%+v) = %v; want validation_failed", in, err)
			}
		}
	})
}

func TestPermissions(t *testing.T) {
	for _, c := range []struct {
		role auth.Role
		can  map[auth.Perm]bool
	}{
		{auth.Admin, map[auth.Perm]bool{auth.Read: true, auth.Write: true, auth.Manage: true, auth.AdminOnly: true}},
		{auth.Ops, map[auth.Perm]bool{auth.Read: true, auth.Write: true, auth.Manage: true, auth.AdminOnly: false}},
		{auth.Store, map[auth.Perm]bool{auth.Read: true, auth.Write: true, auth.Manage: false, auth.AdminOnly: false}},
		{auth.ReadOnly, map[auth.Perm]bool{auth.Read: true, auth.Write: false, auth.Manage: false, auth.AdminOnly: false}},
	} {
		p := &auth.Principal{Role: c.role}
		for perm, want := range c.can {
			if p.Can(perm) != want {
				t.Errorf("%s can %s = %t; want %t", c.role, perm, !want, want)
			}
		}
	}
	staff := auth.WithPrincipal(context.Background(), &auth.Principal{Role: auth.Store, LocationID: 7})
	if auth.RequireLocation(staff, 7) != nil || !errors.Is(auth.RequireLocation(staff, 8), auth.ErrForbiddenLocation) {
		t.Fatal("store scope not enforced")
	}
	if auth.RequireLocation(context.Background(), 8) != nil {
		t.Fatal("internal callers are not scoped")
	}
}

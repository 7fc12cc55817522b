package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignMatchesDocumentedScheme(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0)
	body := []byte(`{"id":1}`)
	m := hmac.New(sha256.New, []byte("s3cret-s3cret-s3cret"))
	m.Write([]byte("1700000000." + string(body)))
	want := "t=1700000000,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign("s3cret-s3cret-s3cret", at, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const secret = "0123456789abcdef0123456789abcdef"
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	body := []byte(`{"id":7,"topic":"inventory.level_changed"}`)
	header := Sign(secret, at, body)
	other := Sign("another-secret-another-secret", at, body)
	cases := []struct {
		name    string
		secret  string
		header  string
		body    []byte
		tol     time.Duration
		now     time.Time
		wantErr error
	}{
		{"valid", secret, header, body, 5 * time.Minute, at.Add(time.Minute), nil},
		{"valid, no tolerance check", secret, header, body, 0, at.Add(240 * time.Hour), nil},
		{"one of several v1 (secret rotation)", secret, other + ",v1=" + strings.SplitN(header, "v1=", 2)[1], body, time.Minute, at, nil},
		{"tampered body", secret, header, []byte(`{"id":8,"topic":"inventory.level_changed"}`), time.Minute, at, ErrSignatureMismatch},
		{"wrong secret", "not-the-secret-not-the-secret", header, body, time.Minute, at, ErrSignatureMismatch},
		{"stale timestamp", secret, header, body, 5 * time.Minute, at.Add(6 * time.Minute), ErrSignatureExpired},
		{"timestamp from the future", secret, header, body, 5 * time.Minute, at.Add(-6 * time.Minute), ErrSignatureExpired},
		{"timestamp changed", secret, strings.Replace(header, "t=", "t=1", 1), body, 0, at, ErrSignatureMismatch},
		{"empty header", secret, "", body, time.Minute, at, ErrSignatureMalformed},
		{"no v1", secret, "t=1772352000", body, time.Minute, at, ErrSignatureMalformed},
		{"no t", secret, "v1=" + strings.SplitN(header, "v1=", 2)[1], body, time.Minute, at, ErrSignatureMalformed},
		{"v1 not hex", secret, "t=1772352000,v1=zz", body, time.Minute, at, ErrSignatureMalformed},
		{"part without =", secret, header + ",junk", body, time.Minute, at, ErrSignatureMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(tc.secret, tc.header, tc.body, tc.tol, tc.now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestPatterns(t *testing.T) {
	t.Parallel()
	valid := []string{"*", "inventory.*", "inventory.level_changed", "a.b.*", "x", "catalog.style_changed", "v2.*"}
	invalid := []string{"", "Inventory.*", "inv*", "*.x", "a.*.b", ".*", "a..b", "a.", ".a", "a b", "a-b", "**", strings.Repeat("a", 101)}
	for _, p := range valid {
		if msg := checkPattern(p); msg != "" {
			t.Errorf("checkPattern(%q) = %q, want valid", p, msg)
		}
	}
	for _, p := range invalid {
		if checkPattern(p) == "" {
			t.Errorf("checkPattern(%q) accepted an invalid pattern", p)
		}
	}
	match := []struct {
		pats  patterns
		topic string
		want  bool
	}{
		{nil, "anything.at_all", true},
		{patterns{"*"}, "x.y", true},
		{patterns{"inventory.*"}, "inventory.level_changed", true},
		{patterns{"inventory.*"}, "inventory", false},
		{patterns{"inventory.*"}, "inventoryx.level", false},
		{patterns{"inventory.level_changed"}, "inventory.level_changed", true},
		{patterns{"inventory.level_changed"}, "inventory.levelxchanged", false},
		{patterns{"catalog.*", "orders.placed"}, "orders.placed", true},
		{patterns{"catalog.*", "orders.placed"}, "orders.cancelled", false},
	}
	for _, m := range match {
		if got := m.pats.match(m.topic); got != m.want {
			t.Errorf("%v.match(%q) = %v, want %v", m.pats, m.topic, got, m.want)
		}
	}
}

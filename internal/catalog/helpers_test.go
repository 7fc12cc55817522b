package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

var testNow = time.Date(2025, 3, 1, 2, 3, 4, 0, time.UTC)

func newService(d *db.DB) *Service {
	clock := func() time.Time { return testNow }
	return NewService(d, outbox.New(clock), clock)
}

// ean13 returns a valid EAN-13 barcode made from n.
func ean13(n int) string {
	return WithCheckDigit(fmt.Sprintf("690%09d", n))
}

func ptr[T any](v T) *T { return &v }

// sampleStyle returns a style with colours × sizes SKUs; seq makes its
// codes and barcodes unique.
func sampleStyle(seq int, colors, sizes []string) NewStyle {
	st := NewStyle{Code: fmt.Sprintf("ST-%04d", seq), Name: fmt.Sprintf("Linen shirt %d 亚麻衬衫", seq), Category: "shirts",
		Brand: "Omni", Season: "2025SS", Lifecycle: Seasonal, LaunchDate: "2025-03-01"}
	n := 0
	for _, c := range colors {
		for _, z := range sizes {
			st.SKUs = append(st.SKUs, NewSKU{Code: fmt.Sprintf("%s-%s-%s", st.Code, c, z), Color: c, Size: z,
				Barcode: ean13(seq*100 + n), ListPrice: 19900, Cost: 6000})
			n++
		}
	}
	return st
}

// wantErr fails unless err is an *errs.Error of the kind and code.
func wantErr(t *testing.T, err error, kind errs.Kind, code string) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("got error %v, want %s (%d)", err, code, kind.Status())
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("got %d %s (%v), want %d %s", e.Kind.Status(), e.Code, e, kind.Status(), code)
	}
	return e
}

// hasField reports whether e names a field containing want.
func hasField(e *errs.Error, want string) bool {
	for _, f := range e.Fields {
		if strings.Contains(f.Field, want) {
			return true
		}
	}
	return false
}

func fieldList(e *errs.Error) string {
	var b strings.Builder
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s (%s)", f.Field, f.Message, f.Code)
	}
	return b.String()
}

// counts returns the number of styles, SKUs and events stored.
func counts(t *testing.T, d *db.DB) [3]int {
	t.Helper()
	var c [3]int
	for i, table := range []string{"styles", "skus", "events"} {
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&c[i]); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// topics counts the stored events by topic.
func topics(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT topic, COUNT(*) FROM events GROUP BY topic`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var topic string
		var n int
		if err := rows.Scan(&topic, &n); err != nil {
			t.Fatal(err)
		}
		m[topic] = n
	}
	return m
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

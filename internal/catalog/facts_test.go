package catalog

import (
	"context"
	"errors"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

func TestSKUFactsByID(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		if _, err := s.CreateStyle(ctx, sampleStyle(7, []string{"white"}, []string{"S", "M"})); err != nil {
			t.Fatal(err)
		}
		a, err := s.SKURef(ctx, "ST-0007-white-S")
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.SKURef(ctx, "ST-0007-white-M")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.SKUFactsByID(ctx, []int64{a.ID, b.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := SKUFacts{ID: a.ID, Code: a.Code, Cost: 6000, ListPrice: 19900, Active: true, StyleID: a.StyleID, StyleCode: "ST-0007", Category: "shirts",
			Lifecycle: Seasonal, LaunchDate: "2025-03-01"}
		if len(got) != 2 || got[a.ID] != want || got[b.ID].Code != b.Code {
			t.Fatalf("facts = %+v, want %+v for %d", got, want, a.ID)
		}
		// Cost changes show at once: facts are not cached.
		if _, err := s.UpdateSKU(ctx, a.Code, SKUPatch{Cost: ptr(int64(7000))}); err != nil {
			t.Fatal(err)
		}
		if got, err = s.SKUFactsByID(ctx, []int64{a.ID}); err != nil || got[a.ID].Cost != 7000 {
			t.Fatalf("after cost change: %+v, %v", got, err)
		}
		if got, err = s.SKUFactsByID(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("no ids: %+v, %v", got, err)
		}
		if _, err := s.SKUFactsByID(ctx, []int64{a.ID, 987654}); !errors.Is(err, ErrSKUNotFound) {
			t.Fatalf("unknown id: %v, want ErrSKUNotFound", err)
		}
	})
}

package analytics

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// storeSmall is a hand-built dataset with unknown customers, channels and
// regions, in Builder order so that a round trip must give it back exactly.
func storeSmall(withValue bool) *Dataset {
	b := NewBuilder("GBP")
	t0 := time.Date(2011, 3, 4, 10, 30, 0, 0, time.UTC)
	b.Add("536365", "17850", "85123A", 6, 255, t0, "web", "United Kingdom")
	b.Add("536365", "17850", "71053", 6, 339, t0, "web", "United Kingdom")
	b.Add("536366", "", "22633", 6, 185, t0.Add(time.Hour), "", "")
	b.Add("536367", "13047", "84879", 32, 169, t0.Add(48*time.Hour), "store", "France")
	if withValue {
		b.D.Value = []int64{1530, 2034, 1110, 5408}
	}
	return b.D
}

// storeSameLines compares two datasets line by line through their strings.
func storeSameLines(t *testing.T, got, want *Dataset) {
	t.Helper()
	if got.Len() != want.Len() || got.Currency != want.Currency {
		t.Fatalf("got %d lines in %s; want %d in %s", got.Len(), got.Currency, want.Len(), want.Currency)
	}
	name := func(list []string, i int32) string {
		if i < 0 {
			return ""
		}
		return list[i]
	}
	for i := range want.Len() {
		g := [...]any{got.OrderIDs[got.Order[i]], name(got.CustomerIDs, got.Customer[i]), got.SKUIDs[got.SKU[i]], got.Qty[i],
			got.Price[i], got.At[i], name(got.Channels, got.Channel[i]), name(got.Regions, got.Region[i]), got.Amount(i)}
		w := [...]any{want.OrderIDs[want.Order[i]], name(want.CustomerIDs, want.Customer[i]), want.SKUIDs[want.SKU[i]], want.Qty[i],
			want.Price[i], want.At[i], name(want.Channels, want.Channel[i]), name(want.Regions, want.Region[i]), want.Amount(i)}
		if g != w {
			t.Fatalf("line %d: got %v; want %v", i, g, w)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d, outbox.New(nil), nil)
		gen := Generate(GenerateOptions{Lines: 1234, SKUs: 50, Seed: 7})
		cases := []struct {
			name string
			d    *Dataset
			sum  ImportSummary
			same bool // the loaded dataset must be deeply equal
		}{
			{"small", storeSmall(false), ImportSummary{Format: FormatOnlineRetail, LinesKept: 4, Sales: 4839}, true},
			{"values", storeSmall(true), ImportSummary{Format: FormatCDNOW}, true},
			{"generated", gen, ImportSummary{Format: FormatCSV, LinesKept: 1234}, false},
			{"empty", NewBuilder("CNY").D, ImportSummary{Format: FormatCSV}, false},
		}
		var ids []int64
		for _, c := range cases {
			rec, err := s.SaveImport(ctx, c.name, c.d, c.sum)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if rec.ID == 0 || rec.Lines != int64(c.d.Len()) || rec.Format != c.sum.Format || rec.Currency != c.d.Currency {
				t.Fatalf("%s: record %+v", c.name, rec)
			}
			ids = append(ids, rec.ID)
			got, err := s.LoadDataset(ctx, rec.ID)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			storeSameLines(t, got, c.d)
			if c.same && !reflect.DeepEqual(got, c.d) {
				t.Fatalf("%s: loaded %+v\nwant %+v", c.name, got, c.d)
			}
			one, err := s.Import(ctx, rec.ID)
			if err != nil || !reflect.DeepEqual(one, rec) {
				t.Fatalf("%s: Import = %+v, %v; want %+v", c.name, one, err, rec)
			}
		}
		list, err := s.ListImports(ctx)
		if err != nil || len(list) != len(cases) || list[0].ID != ids[len(ids)-1] || list[0].Name != "empty" {
			t.Fatalf("ListImports = %+v, %v", list, err)
		}
		var events int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = 'analytics.imported'`).Scan(&events); err != nil || events != len(cases) {
			t.Fatalf("%d analytics.imported events, %v; want %d", events, err, len(cases))
		}
		// The cache hands back the same dataset; more imports than it holds evict the oldest.
		_, a1, err := s.Dataset(ctx, ids[2])
		if err != nil {
			t.Fatal(err)
		}
		if _, a2, _ := s.Dataset(ctx, ids[2]); a2 != a1 {
			t.Fatal("second Dataset call reloaded the dataset")
		}
		s.Dataset(ctx, ids[0])
		s.Dataset(ctx, ids[1])
		if _, a3, _ := s.Dataset(ctx, ids[2]); a3 == a1 {
			t.Fatal("the cache kept more than two datasets")
		}
		if _, err := s.LoadDataset(ctx, 999999); !errors.Is(err, ErrImportNotFound) {
			t.Fatalf("unknown import: %v", err)
		}
	})
}

func TestStoreAllOrNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d, outbox.New(nil), nil)
		bad := Generate(GenerateOptions{Lines: 450, SKUs: 20, Seed: 3})
		bad.Price[321] = -5 // breaks CHECK (price >= 0) in the fourth INSERT
		if _, err := s.SaveImport(ctx, "bad", bad, ImportSummary{}); err == nil {
			t.Fatal("SaveImport of a line with a negative price succeeded")
		}
		malformed := storeSmall(false)
		malformed.Qty = malformed.Qty[:2]
		if _, err := s.SaveImport(ctx, "short", malformed, ImportSummary{}); !errors.Is(err, errs.New(errs.Invalid, "dataset_malformed", "")) {
			t.Fatalf("malformed dataset: %v", err)
		}
		var imports, lines, events int
		if err := d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM analytics_imports), (SELECT COUNT(*) FROM analytics_lines),
			(SELECT COUNT(*) FROM events WHERE topic = 'analytics.imported')`).Scan(&imports, &lines, &events); err != nil {
			t.Fatal(err)
		}
		if imports != 0 || lines != 0 || events != 0 {
			t.Fatalf("after failed saves: %d imports, %d lines, %d events stored", imports, lines, events)
		}
	})
}

// TestStoreUCI times SaveImport and LoadDataset of the UCI Online Retail file
// on both engines. It is slow, so it runs only with OMNI_STORE_UCI=1.
func TestStoreUCI(t *testing.T) {
	if os.Getenv("OMNI_STORE_UCI") == "" {
		t.Skip("set OMNI_STORE_UCI=1 to time storing the UCI Online Retail file")
	}
	path := filepath.Join(impDataDir, "online_retail.csv.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared data file %s is absent (want ../../../shared/data relative to internal/analytics): %v", path, err)
	}
	ds, sum, err := ImportFile(path, ImportOptions{Format: FormatOnlineRetail})
	if err != nil {
		t.Fatal(err)
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := NewStore(d, outbox.New(nil), nil)
		ctx := context.Background()
		t0 := time.Now()
		rec, err := s.SaveImport(ctx, "uci", ds, sum)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		got, err := s.LoadDataset(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: SaveImport of %d lines %v, LoadDataset %v", d.Engine, ds.Len(), t1.Sub(t0), time.Since(t1))
		storeSameLines(t, got, ds)
	})
}

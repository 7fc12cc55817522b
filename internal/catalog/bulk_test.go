package catalog

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// demoCatalog returns n styles of 2 colours × 5 sizes, like the demo's.
func demoCatalog(n int) []Style {
	colors := []string{"藏青 navy", "白 white"}
	sizes := []string{"S", "M", "L", "XL", "XXL"}
	lcs := []Lifecycle{Fashion, Seasonal, Classic}
	out := make([]Style, 0, n)
	for i := range n {
		st := Style{Code: fmt.Sprintf("D%05d", i), Name: fmt.Sprintf("款式 %d, \"quoted\"", i), Category: []string{"tops", "dresses", "trousers"}[i%3],
			Brand: "Omni", Season: "2025AW", Lifecycle: lcs[i%3], LaunchDate: "2025-09-01"}
		for c, color := range colors {
			for z, size := range sizes {
				st.SKUs = append(st.SKUs, SKU{Code: fmt.Sprintf("%s-%d%d", st.Code, c, z), Color: color, Size: size,
					Barcode: ean13(i*10 + c*5 + z), ListPrice: int64(9900 + 100*(i%50)), Cost: 3000, Active: true})
			}
		}
		out = append(out, st)
	}
	return out
}

func TestBulkUpsert(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		cat := demoCatalog(600)
		start := time.Now()
		res, err := s.BulkUpsert(ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: BulkUpsert of 600 styles × 10 SKUs took %v", d.Engine, time.Since(start).Round(time.Millisecond))
		if res != (ImportResult{StylesCreated: 600, SKUsCreated: 6000}) {
			t.Fatalf("result %+v", res)
		}
		if c := counts(t, d); c != [3]int{600, 6000, 6600} {
			t.Fatalf("counts %v", c)
		}
		r, err := s.SKURef(ctx, "D00599-14")
		if err != nil || r.StyleCode != "D00599" {
			t.Fatalf("ref %+v %v", r, err)
		}

		// The same load again changes nothing.
		res, err = s.BulkUpsert(ctx, cat)
		if err != nil || res != (ImportResult{}) {
			t.Fatalf("reload: %+v %v", res, err)
		}

		// Some changes, a new SKU, and two SKUs swapping barcodes.
		cat[3].Name = "renamed"
		cat[4].SKUs[0].ListPrice = 1
		cat[4].SKUs[1].Active = false
		cat[5].SKUs = append(cat[5].SKUs, SKU{Code: "NEW-1", Color: "red", Size: "S", Barcode: ean13(900000), Active: true})
		cat[6].SKUs[0].Barcode, cat[7].SKUs[0].Barcode = cat[7].SKUs[0].Barcode, cat[6].SKUs[0].Barcode
		res, err = s.BulkUpsert(ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		if res != (ImportResult{StylesUpdated: 1, SKUsCreated: 1, SKUsUpdated: 4}) {
			t.Fatalf("result %+v", res)
		}
		k, err := s.GetSKU(ctx, cat[6].SKUs[0].Code)
		if err != nil || k.Barcode != cat[6].SKUs[0].Barcode {
			t.Fatalf("swapped barcode: %+v %v", k, err)
		}
		if k, _ := s.GetSKU(ctx, cat[4].SKUs[1].Code); k.Active {
			t.Fatal("active flag not written")
		}
		before := counts(t, d)

		tests := []struct {
			name  string
			edit  func([]Style) []Style
			field string
			code  string
		}{
			{"duplicate style", func(c []Style) []Style {
				return append(c, Style{Code: c[0].Code, Name: "x", Category: "x", Lifecycle: Classic, LaunchDate: "2025-01-01"})
			},
				"styles[2].code", "duplicate"},
			{"sku moves style", func(c []Style) []Style {
				c[1].SKUs[0].Code, c[1].SKUs[0].Barcode = "D00000-00", ean13(900002)
				return c[1:]
			}, "styles[0].skus[0].code", "style_mismatch"},
			{"colour changes", func(c []Style) []Style { c[0].SKUs[0].Color = "pink"; return c }, "styles[0].skus[0].color", "immutable"},
			{"barcode taken", func(c []Style) []Style { c[0].SKUs[0].Barcode = ean13(5000); return c }, "styles[0].skus[0].barcode", "duplicate_barcode"},
			{"variant taken", func(c []Style) []Style {
				c[0].SKUs = append(c[0].SKUs, SKU{Code: "V-1", Color: "藏青 navy", Size: "S", Barcode: ean13(900001)})
				c[0].SKUs = c[0].SKUs[len(c[0].SKUs)-1:]
				return c
			}, "styles[0].skus[0].size", "duplicate_variant"},
			{"wrong style code", func(c []Style) []Style { c[0].SKUs[0].StyleCode = "D00009"; return c }, "styles[0].skus[0].style_code", "style_mismatch"},
			{"bad field", func(c []Style) []Style { c[1].LaunchDate = "tomorrow"; return c }, "styles[1].launch_date", "invalid_date"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.edit(demoCatalog(2))
				_, err := s.BulkUpsert(ctx, in)
				e := wantErr(t, err, errs.Invalid, "validation_failed")
				if len(e.Fields) != 1 || e.Fields[0].Field != tc.field || e.Fields[0].Code != tc.code {
					t.Fatalf("fields %s; want %s (%s)", fieldList(e), tc.field, tc.code)
				}
				if c := counts(t, d); c != before {
					t.Fatalf("a refused load wrote: %v → %v", before, c)
				}
			})
		}
	})
}

// BenchmarkBulkUpsert loads 600 styles × 10 SKUs into a fresh SQLite store:
// go test -run=^$ -bench=BulkUpsert ./internal/catalog/
func BenchmarkBulkUpsert(b *testing.B) {
	cat := demoCatalog(600)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := newService(dbtest.SQLite(b))
		b.StartTimer()
		if _, err := s.BulkUpsert(ctx, cat); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportCSV imports the CSV export of 600 styles × 10 SKUs into a
// fresh SQLite store: go test -run=^$ -bench=ImportCSV ./internal/catalog/
func BenchmarkImportCSV(b *testing.B) {
	ctx := context.Background()
	src := newService(dbtest.SQLite(b))
	if _, err := src.BulkUpsert(ctx, demoCatalog(600)); err != nil {
		b.Fatal(err)
	}
	var file bytes.Buffer
	if err := src.ExportCSV(ctx, &file); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(file.Len()))
	for b.Loop() {
		b.StopTimer()
		s := newService(dbtest.SQLite(b))
		b.StartTimer()
		if _, err := s.ImportCSV(ctx, bytes.NewReader(file.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

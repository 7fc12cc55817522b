package catalog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

const header = "style_code,style_name,category,brand,season,lifecycle,launch_date,sku_code,color,size,barcode,list_price,cost\n"

// goodCSV has two styles (one with a quoted, multi-word name), four SKUs
// and a style without SKUs.
func goodCSV() string {
	return header +
		"ST-1,\"Linen shirt, 亚麻\",shirts,Omni,2025SS,seasonal,2025-03-01,ST-1-W-M,white,M," + ean13(1) + ",19900,6000\n" +
		"ST-1,\"Linen shirt, 亚麻\",shirts,Omni,2025SS,seasonal,2025-03-01,ST-1-W-L,white,L," + ean13(2) + ",19900,6000\n" +
		"ST-2,Chino,trousers,Omni,,classic,2024-09-15,ST-2-K-30,khaki,30," + ean13(3) + ",29900,9000\n" +
		"ST-2,Chino,trousers,Omni,,classic,2024-09-15,ST-2-K-32,khaki,32," + ean13(4) + ",29900,9000\n" +
		"ST-3,Scarf,accessories,,,fashion,2025-01-01,,,,,,\n"
}

func TestImportCSV(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		res, err := s.ImportCSV(ctx, strings.NewReader("\xEF\xBB\xBF"+goodCSV()))
		if err != nil {
			t.Fatal(err)
		}
		if res != (ImportResult{StylesCreated: 3, SKUsCreated: 4, Lines: 5}) {
			t.Fatalf("result %+v", res)
		}
		st, err := s.GetStyle(ctx, "ST-1")
		if err != nil || st.Name != "Linen shirt, 亚麻" || len(st.SKUs) != 2 || st.SKUs[1].ListPrice != 19900 || !st.SKUs[1].Active {
			t.Fatalf("imported %+v %v", st, err)
		}
		if st, err := s.GetStyle(ctx, "ST-3"); err != nil || st.Lifecycle != Fashion || len(st.SKUs) != 0 {
			t.Fatalf("style-only line: %+v %v", st, err)
		}

		// The same file again changes nothing; an inactive SKU stays inactive.
		if _, err := s.UpdateSKU(ctx, "ST-2-K-30", SKUPatch{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		res, err = s.ImportCSV(ctx, strings.NewReader(goodCSV()))
		if err != nil || res != (ImportResult{Lines: 5}) {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		if k, _ := s.GetSKU(ctx, "ST-2-K-30"); k.Active {
			t.Fatal("import reactivated a SKU")
		}

		// Yuan columns, another column order, CRLF, surrounding spaces;
		// an update, a new SKU and a swap of barcodes.
		yuan := "sku_code,style_code,style_name,category,brand,season,lifecycle,launch_date,color,size,barcode,list_price_yuan,cost_yuan\r\n" +
			"ST-1-W-M,ST-1,\"Linen shirt, 亚麻\",shirts,Omni,2025SS,seasonal,2025-03-01,white,M," + ean13(2) + ", 199.5 ,60\r\n" +
			"ST-1-W-L,ST-1,\"Linen shirt, 亚麻\",shirts,Omni,2025SS,seasonal,2025-03-01,white,L," + ean13(1) + ",199.00,60.00\r\n" +
			"ST-1-W-S,ST-1,\"Linen shirt, 亚麻\",shirts,Omni,2025SS,seasonal,2025-03-01,white,S," + ean13(5) + ",0.01,0\r\n"
		res, err = s.ImportCSV(ctx, strings.NewReader(yuan))
		if err != nil {
			t.Fatal(err)
		}
		if res != (ImportResult{SKUsCreated: 1, SKUsUpdated: 2, Lines: 3}) {
			t.Fatalf("result %+v", res)
		}
		for code, want := range map[string][2]any{"ST-1-W-M": {ean13(2), int64(19950)}, "ST-1-W-L": {ean13(1), int64(19900)}, "ST-1-W-S": {ean13(5), int64(1)}} {
			k, err := s.GetSKU(ctx, code)
			if err != nil || k.Barcode != want[0] || k.ListPrice != want[1] {
				t.Errorf("%s: %+v %v, want %v", code, k, err, want)
			}
		}
	})
}

// TestImportCSVRefused: every kind of bad file is refused with errors naming
// line and column, and nothing is written.
func TestImportCSVRefused(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		if _, err := s.ImportCSV(ctx, strings.NewReader(goodCSV())); err != nil {
			t.Fatal(err)
		}
		before := counts(t, d)
		line := func(style, sku, color, size, barcode, price, cost string) string {
			return style + ",Tee,tops,Omni,2025SS,fashion,2025-05-01," + sku + "," + color + "," + size + "," + barcode + "," + price + "," + cost + "\n"
		}
		ok := func(n int) string {
			return line("NEW", fmt.Sprintf("NEW-%d", n), "red", fmt.Sprint(n), ean13(1000+n), "100", "50")
		}
		tests := []struct {
			name   string
			csv    string
			code   string   // problem code
			fields []string // exact field names expected, in order
			kind   errs.Kind
		}{
			{"bad barcode", header + ok(1) + line("NEW", "NEW-2", "red", "2", "4006381333932", "100", "50"),
				"validation_failed", []string{"line 3, column 11 (barcode)"}, errs.Invalid},
			{"bad price", header + ok(1) + line("NEW", "NEW-2", "red", "2", ean13(1002), "19.90", "-5"),
				"validation_failed", []string{"line 3, column 12 (list_price)", "line 3, column 13 (cost)"}, errs.Invalid},
			{"price too high", header + line("NEW", "NEW-2", "red", "2", ean13(1002), "100000001", "0"),
				"validation_failed", []string{"line 2, column 12 (list_price)"}, errs.Invalid},
			{"missing price", header + line("NEW", "NEW-2", "red", "2", ean13(1002), "", "0"),
				"validation_failed", []string{"line 2, column 12 (list_price)"}, errs.Invalid},
			{"bad sku code", header + line("NEW", "NEW 2", "red", "2", ean13(1002), "1", "0"),
				"validation_failed", []string{"line 2, column 8 (sku_code)"}, errs.Invalid},
			{"no sku code", header + line("NEW", "", "red", "2", ean13(1002), "1", "0"),
				"validation_failed", []string{"line 2, column 8 (sku_code)"}, errs.Invalid},
			{"no colour", header + line("NEW", "NEW-2", "", "2", ean13(1002), "1", "0"),
				"validation_failed", []string{"line 2, column 9 (color)"}, errs.Invalid},
			{"no style code", header + ok(1) + line("", "NEW-2", "red", "2", ean13(1002), "1", "0"),
				"validation_failed", []string{"line 3, column 1 (style_code)"}, errs.Invalid},
			{"bad style fields", header + "NEW,,tops,,,weekly,2025-02-29,NEW-1,red,1," + ean13(1001) + ",1,1\n",
				"validation_failed", []string{"line 2, column 2 (style_name)", "line 2, column 6 (lifecycle)", "line 2, column 7 (launch_date)"}, errs.Invalid},
			{"style lines disagree", header + ok(1) + strings.Replace(ok(2), "Tee", "Polo", 1),
				"validation_failed", []string{"line 3, column 2 (style_name)"}, errs.Invalid},
			{"duplicate sku code in file", header + ok(1) + line("NEW", "NEW-1", "red", "2", ean13(1002), "1", "0"),
				"validation_failed", []string{"line 3, column 8 (sku_code)"}, errs.Invalid},
			{"duplicate barcode in file", header + ok(1) + line("NEW", "NEW-2", "red", "2", ean13(1001), "1", "0"),
				"validation_failed", []string{"line 3, column 11 (barcode)"}, errs.Invalid},
			{"duplicate variant in file", header + ok(1) + line("NEW", "NEW-2", "red", "1", ean13(1002), "1", "0"),
				"validation_failed", []string{"line 3, column 10 (size)"}, errs.Invalid},
			{"barcode of a stored SKU", header + ok(1) + line("NEW", "NEW-2", "red", "2", ean13(3), "1", "0"),
				"validation_failed", []string{"line 3, column 11 (barcode)"}, errs.Invalid},
			{"variant of a stored SKU", header + "ST-2,Chino,trousers,Omni,,classic,2024-09-15,ST-2-K-99,khaki,30," + ean13(1009) + ",29900,9000\n",
				"validation_failed", []string{"line 2, column 10 (size)"}, errs.Invalid},
			{"SKU moves style", header + ok(1) + line("NEW", "ST-2-K-30", "red", "2", ean13(3), "1", "0"),
				"validation_failed", []string{"line 3, column 8 (sku_code)"}, errs.Invalid},
			{"size of a stored SKU changes", header + "ST-2,Chino,trousers,Omni,,classic,2024-09-15,ST-2-K-30,khaki,31," + ean13(3) + ",29900,9000\n",
				"validation_failed", []string{"line 2, column 10 (size)"}, errs.Invalid},
			{"field count", header + ok(1) + "NEW,Tee,tops\n" + ok(3),
				"validation_failed", []string{"line 3"}, errs.Invalid},
			{"bare quote", header + ok(1) + "NEW,T\"ee,tops,Omni,2025SS,fashion,2025-05-01,NEW-2,red,2," + ean13(1002) + ",1,1\n",
				"validation_failed", []string{"line 3"}, errs.Invalid},
			{"invalid utf-8", header + line("NEW", "NEW-1", "r\xffd", "1", ean13(1001), "1", "0"),
				"validation_failed", []string{"line 2, column 9 (color)"}, errs.Invalid},
			{"unknown column", strings.Replace(header, "brand", "brandname", 1) + ok(1),
				"validation_failed", []string{"line 1, column 4 (brandname)", "line 1 (brand)"}, errs.Invalid},
			{"missing column", strings.Replace(header, ",cost\n", "\n", 1) + "NEW,Tee,tops,Omni,2025SS,fashion,2025-05-01,NEW-1,red,1," + ean13(1001) + ",1\n",
				"validation_failed", []string{"line 1 (cost)"}, errs.Invalid},
			{"both price columns", strings.Replace(header, ",cost\n", ",cost,list_price_yuan\n", 1) + strings.Replace(ok(1), "\n", ",1.00\n", 1),
				"validation_failed", []string{"line 1, column 14 (list_price_yuan)"}, errs.Invalid},
			{"empty file", "", "empty_file", nil, errs.Invalid},
			{"errors on many lines, sorted", header + line("NEW", "NEW-1", "red", "1", "1", "1", "0") + ok(2) + line("NEW", "NEW-3", "red", "3", ean13(1003), "x", "0") + line("NEW", "", "red", "4", ean13(1004), "1", "0"),
				"validation_failed", []string{"line 2, column 11 (barcode)", "line 4, column 12 (list_price)", "line 5, column 8 (sku_code)"}, errs.Invalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.ImportCSV(ctx, strings.NewReader(tc.csv))
				e := wantErr(t, err, tc.kind, tc.code)
				var got []string
				for _, f := range e.Fields {
					got = append(got, f.Field)
				}
				if strings.Join(got, "|") != strings.Join(tc.fields, "|") {
					t.Fatalf("fields %s\nwant %q", fieldList(e), tc.fields)
				}
				if c := counts(t, d); c != before {
					t.Fatalf("a refused import wrote: %v → %v", before, c)
				}
			})
		}
	})
}

func TestImportCSVLimits(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	s := newService(d)
	ctx := context.Background()

	// 300 bad lines: 100 listed, all counted.
	var b strings.Builder
	b.WriteString(header)
	for i := range 300 {
		fmt.Fprintf(&b, "S%d,n,c,,,fashion,2025-01-01,K%d,red,M,%09d,1,1\n", i, i, i) // 9 digits: no GTIN
	}
	_, err := s.ImportCSV(ctx, strings.NewReader(b.String()))
	e := wantErr(t, err, errs.Invalid, "validation_failed")
	if len(e.Fields) != MaxProblems || e.Extra["error_count"] != 300 || e.Fields[0].Field != "line 2, column 11 (barcode)" ||
		e.Fields[99].Field != "line 101, column 11 (barcode)" {
		t.Fatalf("%d fields, extra %v, first %v, last %v", len(e.Fields), e.Extra, e.Fields[0], e.Fields[len(e.Fields)-1])
	}

	// Too many lines.
	b.Reset()
	b.WriteString(header)
	for range MaxImportLines + 1 {
		b.WriteString("S,n,c,,,fashion,2025-01-01,,,,,,\n")
	}
	_, err = s.ImportCSV(ctx, strings.NewReader(b.String()))
	wantErr(t, err, errs.TooLarge, "import_too_large")

	// Too many bytes.
	big := io.MultiReader(strings.NewReader(header), strings.NewReader("S,\""), bytes.NewReader(bytes.Repeat([]byte("x"), MaxImportBytes)))
	_, err = s.ImportCSV(ctx, big)
	wantErr(t, err, errs.TooLarge, "import_too_large")
	if c := counts(t, d); c != [3]int{} {
		t.Fatalf("refused imports wrote %v", c)
	}
}

// TestCSVRoundTrip: export → import into an empty store → export gives the
// same file, and importing an export into its own store changes nothing.
func TestCSVRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		cat := demoCatalog(30)
		cat[0].Name = "Quote \" comma , newline-free 中文 =SUM(A1)"
		cat[1].SKUs = nil // a style without SKUs
		cat[2].Brand, cat[2].Season = "", ""
		if _, err := s.BulkUpsert(ctx, cat); err != nil {
			t.Fatal(err)
		}
		var first bytes.Buffer
		if err := s.ExportCSV(ctx, &first); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(first.String(), strings.Join(CSVHeader, ",")+"\n") || strings.Count(first.String(), "\n") != 1+29*10+1 {
			t.Fatalf("export:\n%.500s", first.String())
		}
		res, err := s.ImportCSV(ctx, bytes.NewReader(first.Bytes()))
		if err != nil || res != (ImportResult{Lines: 29*10 + 1}) {
			t.Fatalf("self import: %+v %v", res, err)
		}

		other := newService(dbtest.SQLite(t))
		res, err = other.ImportCSV(ctx, bytes.NewReader(first.Bytes()))
		if err != nil || res != (ImportResult{StylesCreated: 30, SKUsCreated: 290, Lines: 291}) {
			t.Fatalf("import into a fresh store: %+v %v", res, err)
		}
		var second bytes.Buffer
		if err := other.ExportCSV(ctx, &second); err != nil {
			t.Fatal(err)
		}
		if first.String() != second.String() {
			t.Fatalf("round trip differs:\n%s\n---\n%s", first.String(), second.String())
		}
	})
}

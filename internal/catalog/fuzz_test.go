package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// FuzzImportCSV: an import never panics; it either fails with a refusal
// (*errs.Error) or succeeds, and then every line of the file reads back as
// written. All inputs of one fuzzing process share one store, so imports
// also meet the data of earlier ones.
//
//	go test -run=^$ -fuzz=FuzzImportCSV -fuzztime=30s ./internal/catalog/
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(goodCSV()))
	f.Add([]byte("\xEF\xBB\xBF" + goodCSV()))
	f.Add([]byte(header))
	f.Add([]byte("sku_code,style_code,style_name,category,brand,season,lifecycle,launch_date,color,size,barcode,list_price_yuan,cost_yuan\r\n" +
		"K1,S1,\"a \"\"b\"\"\",c,,,classic,2024-02-29,red,M,73513537,199.5,0.01\r\n"))
	f.Add([]byte(header + "S1,n,c,,,fashion,2025-01-01,K1,red,M,4006381333931,1,1\nS1,n,c,,,fashion,2025-01-01,K2,red,L,036000291452,2,2\n"))
	f.Add([]byte(header + "S1,n,c,,,fashion,2025-01-01,K1,red,M,4006381333932,1,1\n"))
	f.Add([]byte(header + "S1,\"n\nm\",c,,,fashion,2025-01-01,,,,,,\n"))
	f.Add([]byte("style_code\n\"x"))
	s := newService(dbtest.SQLite(f))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := s.ImportCSV(ctx, bytes.NewReader(data))
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("import failed without a refusal: %v", err)
			}
			return
		}
		checkReadBack(t, s, data, res)
	})
}

// checkReadBack reads an imported file again and compares every line with
// the store.
func checkReadBack(t *testing.T, s *Service, data []byte, res ImportResult) {
	t.Helper()
	ctx := context.Background()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		t.Fatalf("an imported file has no header: %v", err)
	}
	cols, err := parseHeader(head)
	if err != nil {
		t.Fatalf("an imported file has a bad header: %v", err)
	}
	lines := 0
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if allEmpty(rec) {
			continue
		}
		lines++
		val := func(k string) string { return strings.TrimSpace(rec[cols[k].index]) }
		st, err := s.GetStyle(ctx, val("style_code"))
		if err != nil {
			t.Fatalf("line %d: style: %v", lines+1, err)
		}
		if st.Name != val("style_name") || st.Category != val("category") || st.Brand != val("brand") || st.Season != val("season") ||
			string(st.Lifecycle) != val("lifecycle") || st.LaunchDate != val("launch_date") {
			t.Fatalf("style %+v differs from line %q", st, rec)
		}
		if val("sku_code") == "" {
			continue
		}
		k, err := s.GetSKU(ctx, val("sku_code"))
		if err != nil {
			t.Fatalf("sku of %q: %v", rec, err)
		}
		fail := func(string, string, string) { t.Fatalf("an imported price does not parse: %q", rec) }
		price := parsePrice(val("list_price"), cols["list_price"].yuan, "list_price", fail)
		cost := parsePrice(val("cost"), cols["cost"].yuan, "cost", fail)
		if k.StyleCode != st.Code || k.Color != val("color") || k.Size != val("size") || k.Barcode != val("barcode") ||
			k.ListPrice != price || k.Cost != cost {
			t.Fatalf("sku %+v differs from line %q", k, rec)
		}
	}
	if lines != res.Lines {
		t.Fatalf("read %d lines, the import counted %d", lines, res.Lines)
	}
}

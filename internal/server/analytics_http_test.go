package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// analyticsCSV is a small generic CSV: six customers over three months, four
// of them coming back, on two channels.
func analyticsCSV() string {
	var b strings.Builder
	b.WriteString("order_id,customer_id,sku,quantity,unit_price,timestamp,channel,region\n")
	n := 0
	for c := 1; c <= 6; c++ {
		for visit := 0; visit < 1+c%4; visit++ {
			n++
			day := 1 + (c*7+visit*19)%80
			month, dom := 1+day/28, 1+day%28
			ch := []string{"mini", "SH1"}[c%2]
			fmt.Fprintf(&b, "O%03d,C%d,SKU-%d,%d,%d.%02d,2026-%02d-%02d 10:00:00,%s,east\n", n, c, 1+(c+visit)%3, 1+visit, 19+c*10, visit*7, month, dom, ch)
		}
	}
	return b.String()
}

func TestHTTPAnalytics(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		octet := []string{"Content-Type", "application/octet-stream"}

		// A read-only key may not import.
		r := e.do(t, "POST", "/api/v1/analytics/imports?format=csv&name=small", e.keys["ro"], analyticsCSV(), octet...)
		problem(t, r, 403, "forbidden")

		// A bad line is refused with its line and column, and nothing is stored.
		bad := strings.Replace(analyticsCSV(), "O005,C2,", "O005,C2,SKU-9,1,abc,2026-01-02 10:00:00,mini,east\nO0055,C2,", 1)
		r = e.do(t, "POST", "/api/v1/analytics/imports?format=csv&name=bad", e.admin, bad, octet...)
		problem(t, r, 422, "import_failed")
		if f := fieldOf(r); f != "line 6, column 5 (unit_price)" {
			t.Fatalf("errors[0].field = %q; want line 6, column 5 (unit_price): %s", f, r.raw)
		}
		r = e.do(t, "POST", "/api/v1/analytics/imports?format=nope", e.admin, analyticsCSV(), octet...)
		problem(t, r, 422, "import_failed")
		if f := fieldOf(r); f != "format" {
			t.Fatalf("unknown format: field %q", f)
		}
		r = e.do(t, "GET", "/api/v1/analytics/imports", e.keys["ro"], "")
		if r.status != 200 || len(r.body["items"].([]any)) != 0 {
			t.Fatalf("after failed imports: %d %s", r.status, r.raw)
		}

		// A gzipped upload is stored and listed.
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(analyticsCSV()))
		zw.Close()
		r = e.do(t, "POST", "/api/v1/analytics/imports?format=csv&name=small", e.admin, gz.String(), octet...)
		if r.status != 201 || r.body["name"] != "small" || r.body["lines"] != float64(15) || r.body["currency"] != "CNY" {
			t.Fatalf("upload: %d %s", r.status, r.raw)
		}
		id := int64(r.body["id"].(float64))
		r = e.do(t, "GET", "/api/v1/analytics/imports", e.keys["ro"], "")
		items, _ := r.body["items"].([]any)
		if r.status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != float64(id) {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		base := fmt.Sprintf("/api/v1/analytics/imports/%d", id)

		r = e.do(t, "GET", base+"/rfm?customers=true", e.keys["ro"], "")
		sum, _ := r.body["summary"].(map[string]any)
		if r.status != 200 || sum["customers"] != float64(6) || len(r.body["customers"].([]any)) != 6 {
			t.Fatalf("rfm: %d %s", r.status, r.raw)
		}
		// Six customers cannot pin down Gamma-Gamma: the fit is reported as not converged.
		r = e.do(t, "GET", base+"/clv?calibration_end=2026-02-15", e.keys["ro"], "")
		if r.status != 200 || r.body["converged"] != false || r.body["warning"] == "" || r.body["calibration_end"] != "2026-02-15" {
			t.Fatalf("clv: %d %s", r.status, r.raw)
		}
		r = e.do(t, "GET", base+"/clv", e.keys["ro"], "")
		problem(t, r, 422, "validation_failed")
		if fieldOf(r) != "calibration_end" {
			t.Fatalf("clv without calibration_end: %s", r.raw)
		}

		for _, c := range []struct{ path, key string }{
			{"/cohorts", "customers"},
			{"/abc?period=month", "skus"},
			{"/kpis?grain=month&by=channel", "rows"},
			{"/personas?k=2&seed=1", "clusters"},
		} {
			r = e.do(t, "GET", base+c.path, e.keys["ro"], "")
			if r.status != 200 || r.body[c.key] == nil {
				t.Fatalf("%s: %d %s", c.path, r.status, r.raw)
			}
		}
		r = e.do(t, "GET", base+"/kpis?grain=year", e.keys["ro"], "")
		if r.status != 422 {
			t.Fatalf("kpis grain=year: %d %s", r.status, r.raw)
		}
		r = e.do(t, "GET", "/api/v1/analytics/imports/999999/rfm", e.keys["ro"], "")
		problem(t, r, 404, "import_not_found")
	})
}

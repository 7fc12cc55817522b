package catalog

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/web"
)

// testServer serves the catalog routes as internal/server lists them
// (without authentication, which the router adds).
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	h := NewHandler(newService(dbtest.SQLite(t)))
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	for pattern, f := range map[string]web.HandlerFunc{
		"GET /api/v1/styles":              h.ListStyles,
		"POST /api/v1/styles":             h.CreateStyle,
		"GET /api/v1/styles/{code}":       h.GetStyle,
		"PATCH /api/v1/styles/{code}":     h.UpdateStyle,
		"POST /api/v1/styles/{code}/skus": h.AddSKU,
		"GET /api/v1/skus":                h.ListSKUs,
		"GET /api/v1/skus/{code}":         h.GetSKU,
		"PATCH /api/v1/skus/{code}":       h.UpdateSKU,
		"POST /api/v1/catalog/import":     h.Import,
		"GET /api/v1/catalog/export":      h.Export,
	} {
		mux.Handle(pattern, web.Adapt(log, f))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status int
	ctype  string
	body   string
	json   map[string]any
}

func call(t *testing.T, srv *httptest.Server, method, path, ctype, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: string(b)}
	if strings.Contains(r.ctype, "json") {
		if err := json.Unmarshal(b, &r.json); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return r
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	const js = "application/json"
	style := `{"code":"H-1","name":"Hoodie 卫衣","category":"tops","lifecycle":"fashion","launch_date":"2025-10-01",
		"skus":[{"code":"H-1-G-M","color":"grey","size":"M","barcode":"` + ean13(101) + `","list_price":29900,"cost":9000}]}`
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string // problem code, or "" for success
		check                           func(t *testing.T, r reply)
	}{
		{"create", "POST", "/api/v1/styles", js, style, 201, "", func(t *testing.T, r reply) {
			skus := r.json["skus"].([]any)
			if r.json["code"] != "H-1" || len(skus) != 1 || skus[0].(map[string]any)["active"] != true {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"create again", "POST", "/api/v1/styles", js, style, 409, "duplicate_code", nil},
		{"unknown field", "POST", "/api/v1/styles", js, `{"code":"H-2","colour":"x"}`, 400, "unknown_field", nil},
		{"invalid", "POST", "/api/v1/styles", js, `{"code":"H 2","name":"x","category":"c","lifecycle":"fashion","launch_date":"2025-10-01"}`, 422, "validation_failed",
			func(t *testing.T, r reply) {
				if !strings.Contains(r.body, `"field":"code"`) {
					t.Fatalf("body %s", r.body)
				}
			}},
		{"get", "GET", "/api/v1/styles/H-1", "", "", 200, "", func(t *testing.T, r reply) {
			if r.json["name"] != "Hoodie 卫衣" || r.json["created_at"] == nil {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"get missing", "GET", "/api/v1/styles/NOPE", "", "", 404, "style_not_found", nil},
		{"patch", "PATCH", "/api/v1/styles/H-1", js, `{"season":"2025AW"}`, 200, "", func(t *testing.T, r reply) {
			if r.json["season"] != "2025AW" || r.json["name"] != "Hoodie 卫衣" {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"add sku", "POST", "/api/v1/styles/H-1/skus", js, `{"code":"H-1-G-L","color":"grey","size":"L","barcode":"` + ean13(102) + `","list_price":29900,"active":false}`, 201, "",
			func(t *testing.T, r reply) {
				if r.json["style_code"] != "H-1" || r.json["active"] != false {
					t.Fatalf("body %s", r.body)
				}
			}},
		{"add sku bad barcode", "POST", "/api/v1/styles/H-1/skus", js, `{"code":"H-1-G-S","color":"grey","size":"S","barcode":"4006381333932"}`, 422, "validation_failed",
			func(t *testing.T, r reply) {
				if !strings.Contains(r.body, `"field":"barcode"`) {
					t.Fatalf("body %s", r.body)
				}
			}},
		{"add sku variant taken", "POST", "/api/v1/styles/H-1/skus", js, `{"code":"H-1-X","color":"grey","size":"L","barcode":"` + ean13(103) + `"}`, 409, "duplicate_variant", nil},
		{"add sku to missing style", "POST", "/api/v1/styles/NOPE/skus", js, `{"code":"N-1","color":"grey","size":"L","barcode":"` + ean13(103) + `"}`, 404, "style_not_found", nil},
		{"scan barcode", "GET", "/api/v1/skus?barcode=" + ean13(102), "", "", 200, "", func(t *testing.T, r reply) {
			items := r.json["items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["code"] != "H-1-G-L" {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"list skus paged", "GET", "/api/v1/skus?limit=1&style=H-1", "", "", 200, "", func(t *testing.T, r reply) {
			if len(r.json["items"].([]any)) != 1 || r.json["next_cursor"] == nil {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"list skus bad limit", "GET", "/api/v1/skus?limit=0", "", "", 422, "validation_failed", nil},
		{"list skus bad active", "GET", "/api/v1/skus?active=maybe", "", "", 422, "validation_failed", nil},
		{"list styles", "GET", "/api/v1/styles?q=hoodie&lifecycle=fashion", "", "", 200, "", func(t *testing.T, r reply) {
			if len(r.json["items"].([]any)) != 1 {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"get sku", "GET", "/api/v1/skus/H-1-G-M", "", "", 200, "", nil},
		{"get sku missing", "GET", "/api/v1/skus/NOPE", "", "", 404, "sku_not_found", nil},
		{"patch sku", "PATCH", "/api/v1/skus/H-1-G-M", js, `{"list_price":19900}`, 200, "", func(t *testing.T, r reply) {
			if r.json["list_price"] != 19900.0 || r.json["cost"] != 9000.0 {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"patch sku barcode taken", "PATCH", "/api/v1/skus/H-1-G-M", js, `{"barcode":"` + ean13(102) + `"}`, 409, "duplicate_barcode", nil},
		{"import", "POST", "/api/v1/catalog/import", "text/csv; charset=utf-8", goodCSV(), 200, "", func(t *testing.T, r reply) {
			if r.json["styles_created"] != 3.0 || r.json["skus_created"] != 4.0 || r.json["lines"] != 5.0 {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"import bad", "POST", "/api/v1/catalog/import", "text/csv", header + "X,x,x,,,fashion,2025-01-01,X-1,red,M,123,1,1\n", 422, "validation_failed",
			func(t *testing.T, r reply) {
				if !strings.Contains(r.body, `"field":"line 2, column 11 (barcode)"`) {
					t.Fatalf("body %s", r.body)
				}
			}},
		{"import json", "POST", "/api/v1/catalog/import", js, `{}`, 400, "unsupported_media_type", nil},
		{"export", "GET", "/api/v1/catalog/export", "", "", 200, "", func(t *testing.T, r reply) {
			if !strings.HasPrefix(r.ctype, "text/csv") || !strings.HasPrefix(r.body, strings.Join(CSVHeader, ",")+"\n") ||
				!strings.Contains(r.body, "H-1,Hoodie 卫衣,tops,,2025AW,fashion,2025-10-01,H-1-G-L,grey,L,"+ean13(102)+",29900,0\n") {
				t.Fatalf("export %s\n%s", r.ctype, r.body)
			}
		}},
		{"export with BOM", "GET", "/api/v1/catalog/export?bom=1", "", "", 200, "", func(t *testing.T, r reply) {
			if !strings.HasPrefix(r.body, "\xEF\xBB\xBFstyle_code,") {
				t.Fatalf("export %.40q", r.body)
			}
		}},
	}
	t.Run("import too large", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(header+"S,\""), io.LimitReader(zeros{}, MaxImportBytes))
		resp, err := srv.Client().Post(srv.URL+"/api/v1/catalog/import", "text/csv", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 413 || !strings.Contains(string(b), `"code":"import_too_large"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
	})
	for _, tc := range tests { // in order: later cases depend on earlier ones
		r := call(t, srv, tc.method, tc.path, tc.ctype, tc.body)
		if r.status != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
		}
		if tc.code != "" && (r.json["code"] != tc.code || r.ctype != "application/problem+json") {
			t.Fatalf("%s: problem %s %s, want code %s", tc.name, r.ctype, r.body, tc.code)
		}
		if tc.check != nil {
			tc.check(t, r)
		}
	}
}

// zeros reads as endless '0' characters.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

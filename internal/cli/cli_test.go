package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, func(string) string { return "" }, &out, &errb)
	return code, out.String(), errb.String()
}

const cdnowSample = "../../../shared/data/CDNOW_sample.txt.gz"

// The example command prints the fitted parameters in its shape.
func TestAnalyticsCLVOnCDNOW(t *testing.T) {
	if _, err := os.Stat(cdnowSample); err != nil {
		t.Skipf("CDNOW sample not found at %s (the shared data folder is absent): %v", cdnowSample, err)
	}
	code, out, errs := run(t, "analytics", "clv", "--input", cdnowSample, "--format", "cdnow", "--calibration-end", "1997-09-30", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		BGNBD           map[string]any `json:"bgnbd"`
		GammaGamma      map[string]any `json:"gamma_gamma"`
		Customers       int            `json:"customers"`
		RepeatCustomers int            `json:"repeat_customers"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"r", "alpha", "a", "b", "loglik", "converged"} {
		if _, ok := got.BGNBD[k]; !ok {
			t.Errorf("bgnbd has no %q: %s", k, out)
		}
	}
	for _, k := range []string{"p", "q", "gamma", "loglik", "converged"} {
		if _, ok := got.GammaGamma[k]; !ok {
			t.Errorf("gamma_gamma has no %q: %s", k, out)
		}
	}
	if got.Customers != 2357 || got.RepeatCustomers != 946 || got.BGNBD["converged"] != true {
		t.Fatalf("output: %s", out)
	}
}

func TestAnalyticsBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, nil, 0o644)
	badNum := filepath.Join(dir, "bad.csv")
	os.WriteFile(badNum, []byte("order_id,customer_id,sku,quantity,unit_price,timestamp\nO1,C1,S1,two,9.90,2026-01-02 10:00:00\n"), 0o644)
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("order_id,customer_id,sku,quantity,unit_price,timestamp\nO1,C1,S1,1,9.90,2026-01-02 10:00:00\nO2,C1,S1,1,9.90,2026-02-02 10:00:00\n"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no input", []string{"analytics", "rfm", "--format", "csv"}, 2, "--input is required"},
		{"unknown format", []string{"analytics", "rfm", "--input", good, "--format", "xlsx"}, 2, "not a known format"},
		{"unknown command", []string{"analytics", "forecast", "--input", good}, 2, "unknown command"},
		{"empty file", []string{"analytics", "import", "--input", empty, "--format", "csv"}, 1, "import"},
		{"non-numeric quantity", []string{"analytics", "import", "--input", badNum, "--format", "csv"}, 1, "line 2, column 4"},
		{"calibration end outside the data", []string{"analytics", "clv", "--input", good, "--format", "csv", "--calibration-end", "2020-01-01"}, 1, "calibration_end"},
		{"calibration end not a date", []string{"analytics", "clv", "--input", good, "--format", "csv", "--calibration-end", "soon"}, 2, "--calibration-end"},
		{"kpis: bad grain", []string{"analytics", "kpis", "--input", good, "--format", "csv", "--grain", "year"}, 1, "grain"},
		{"kpis: month outside the data", []string{"analytics", "kpis", "--input", good, "--format", "csv", "--month", "2020-01"}, 1, "month 2020-01 is outside the data's range 2026-01..2026-02"},
		{"kpis: month not a month", []string{"analytics", "kpis", "--input", good, "--format", "csv", "--month", "May"}, 2, "--month"},
		{"missing file", []string{"analytics", "rfm", "--input", filepath.Join(dir, "nope.csv"), "--format", "csv"}, 1, "nope.csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := run(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, errs, c.code, c.want)
			}
		})
	}
	if code, out, errs := run(t, "analytics", "rfm", "--input", good, "--format", "csv", "--json"); code != 0 || !strings.Contains(out, `"customers":1`) {
		t.Fatalf("rfm on a good file: exit %d, %s %s", code, out, errs)
	}
}

// kpis prints the KPI table, or the monthly report and its printable page.
func TestAnalyticsKPIs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sales.csv")
	os.WriteFile(in, []byte("order_id,customer_id,sku,quantity,unit_price,timestamp,channel,region\n"+
		"O1,C1,S1,2,9.90,2026-01-02 10:00:00,web,Beijing\n"+
		"O2,C1,S2,1,1200.00,2026-02-02 10:00:00,store,Shanghai\n"+
		"O3,C2,S1,1,9.90,2026-03-02 10:00:00,web,Beijing\n"), 0o644)
	code, out, errs := run(t, "analytics", "kpis", "--input", in, "--format", "csv", "--by", "channel", "--json")
	if code != 0 || !strings.Contains(out, `"group":"store","sales":120000,"orders":1,"customers":1`) || !strings.Contains(out, `"previous_label":"MoM"`) {
		t.Fatalf("kpis: exit %d, %s %s", code, out, errs)
	}
	page := filepath.Join(dir, "report.html")
	code, out, errs = run(t, "analytics", "kpis", "--input", in, "--format", "csv", "--html", page, "--json")
	if code != 0 || !strings.Contains(out, `"month":"2026-02"`) {
		t.Fatalf("kpis --html: exit %d, %s %s", code, out, errs)
	}
	b, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(b), "¥1,200.00") || !strings.Contains(string(b), "销售额 Sales") {
		t.Fatalf("report page: %v\n%s", err, b)
	}
}

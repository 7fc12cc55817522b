package analytics

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// kpiSample is three months of hand-made orders over two channels (GBP).
//
//	Jan: O1 C1 web 2×A@500 + 1×B@300 = 1300 (lines not contiguous)
//	     O2 C2 store 1×A@500 = 500;  O3 (no customer) web 3×B@300 = 900
//	Feb: O4 C1 web 1×A@500 = 500;    O5 C3 store 2×B@300 + 1×C@1000 = 1600
//	Mar: O6 C2 store 2×C@1000 = 2000; O7 C3 web 1×A@500 = 500
//	     O8 C4 web 1×A@500 = 500 on 31 March 23:00 UTC (1 April in Shanghai)
func kpiSample() *Builder {
	b := NewBuilder("GBP")
	at := func(m time.Month, d, h int) time.Time { return time.Date(2024, m, d, h, 0, 0, 0, time.UTC) }
	b.Add("O1", "C1", "A", 2, 500, at(1, 5, 10), "web", "London")
	b.Add("O2", "C2", "A", 1, 500, at(1, 20, 10), "store", "Leeds")
	b.Add("O1", "C1", "B", 1, 300, at(1, 5, 10), "web", "London")
	b.Add("O3", "", "B", 3, 300, at(1, 25, 10), "web", "")
	b.Add("O4", "C1", "A", 1, 500, at(2, 10, 10), "web", "London")
	b.Add("O5", "C3", "B", 2, 300, at(2, 11, 10), "store", "Leeds")
	b.Add("O5", "C3", "C", 1, 1000, at(2, 11, 10), "store", "Leeds")
	b.Add("O6", "C2", "C", 2, 1000, at(3, 1, 10), "store", "Leeds")
	b.Add("O7", "C3", "A", 1, 500, at(3, 15, 10), "web", "London")
	b.Add("O8", "C4", "A", 1, 500, at(3, 31, 23), "web", "London")
	return b
}

func kpiF(v float64) *float64 { return &v }

// kpiWant is the part of a KPIRow a test states by hand.
type kpiWant struct {
	period, group           string
	sales                   int64
	orders, customers       int
	units, aov              int64
	upt                     float64
	repurchase              *float64
	momSales, momOrders     *float64
	momAOV, momCustomers    *float64
	newCustomers, returning int
}

func kpiCheckRow(t *testing.T, got KPIRow, w kpiWant) {
	t.Helper()
	if got.Period != w.period || got.Group != w.group || got.Sales != w.sales || got.Orders != w.orders ||
		got.Customers != w.customers || got.Units != w.units || got.AOV != w.aov ||
		got.NewCustomers != w.newCustomers || got.ReturningCustomers != w.returning {
		t.Errorf("%s %s: got period %s group %q sales %d orders %d customers %d (new %d, returning %d) units %d aov %d; want %+v",
			w.period, w.group, got.Period, got.Group, got.Sales, got.Orders, got.Customers, got.NewCustomers,
			got.ReturningCustomers, got.Units, got.AOV, w)
	}
	if math.Abs(got.UnitsPerOrder-w.upt) > 1e-12 {
		t.Errorf("%s %s: units per order %v, want %v", w.period, w.group, got.UnitsPerOrder, w.upt)
	}
	for _, c := range []struct {
		name      string
		got, want *float64
	}{
		{"repurchase", got.RepurchaseRate, w.repurchase},
		{"MoM sales", got.VsPrevious.Sales, w.momSales},
		{"MoM orders", got.VsPrevious.Orders, w.momOrders},
		{"MoM AOV", got.VsPrevious.AOV, w.momAOV},
		{"MoM customers", got.VsPrevious.Customers, w.momCustomers},
	} {
		switch {
		case (c.got == nil) != (c.want == nil):
			t.Errorf("%s %s: %s = %v, want %v", w.period, w.group, c.name, kpiPct(c.got), kpiPct(c.want))
		case c.got != nil && math.Abs(*c.got-*c.want) > 1e-12:
			t.Errorf("%s %s: %s = %v, want %v", w.period, w.group, c.name, *c.got, *c.want)
		}
	}
}

func TestKPIsHandComputed(t *testing.T) {
	t.Parallel()
	d := kpiSample().D
	for _, tc := range []struct {
		name string
		opts KPIOptions
		want []kpiWant
	}{
		{"monthly overall", KPIOptions{Grain: "month"}, []kpiWant{
			{period: "2024-01", sales: 2700, orders: 3, customers: 2, units: 7, aov: 900, upt: 7.0 / 3,
				repurchase: kpiF(0), newCustomers: 2},
			{period: "2024-02", sales: 2100, orders: 2, customers: 2, units: 4, aov: 1050, upt: 2,
				repurchase: kpiF(0.5), newCustomers: 1, returning: 1,
				momSales: kpiF(2100.0/2700 - 1), momOrders: kpiF(2.0/3 - 1), momAOV: kpiF(1050.0/900 - 1), momCustomers: kpiF(0)},
			{period: "2024-03", sales: 3000, orders: 3, customers: 3, units: 4, aov: 1000, upt: 4.0 / 3,
				repurchase: kpiF(2.0 / 3), newCustomers: 1, returning: 2,
				momSales: kpiF(3000.0/2100 - 1), momOrders: kpiF(0.5), momAOV: kpiF(1000.0/1050 - 1), momCustomers: kpiF(0.5)},
		}},
		{"default grain is month, From/To select March", KPIOptions{From: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC),
			To: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)}, []kpiWant{
			{period: "2024-03", sales: 3000, orders: 3, customers: 3, units: 4, aov: 1000, upt: 4.0 / 3,
				repurchase: kpiF(2.0 / 3), newCustomers: 1, returning: 2,
				momSales: kpiF(3000.0/2100 - 1), momOrders: kpiF(0.5), momAOV: kpiF(1000.0/1050 - 1), momCustomers: kpiF(0.5)},
		}},
		{"monthly by channel", KPIOptions{Grain: "month", By: "channel"}, []kpiWant{
			{period: "2024-01", group: "web", sales: 2200, orders: 2, customers: 1, units: 6, aov: 1100, upt: 3,
				repurchase: kpiF(0), newCustomers: 1},
			{period: "2024-01", group: "store", sales: 500, orders: 1, customers: 1, units: 1, aov: 500, upt: 1,
				repurchase: kpiF(0), newCustomers: 1},
			{period: "2024-02", group: "web", sales: 500, orders: 1, customers: 1, units: 1, aov: 500, upt: 1,
				repurchase: kpiF(1), returning: 1,
				momSales: kpiF(500.0/2200 - 1), momOrders: kpiF(-0.5), momAOV: kpiF(500.0/1100 - 1), momCustomers: kpiF(0)},
			{period: "2024-02", group: "store", sales: 1600, orders: 1, customers: 1, units: 3, aov: 1600, upt: 3,
				repurchase: kpiF(0), newCustomers: 1,
				momSales: kpiF(1600.0/500 - 1), momOrders: kpiF(0), momAOV: kpiF(1600.0/500 - 1), momCustomers: kpiF(0)},
			{period: "2024-03", group: "web", sales: 1000, orders: 2, customers: 2, units: 2, aov: 500, upt: 1,
				repurchase: kpiF(0.5), newCustomers: 1, returning: 1,
				momSales: kpiF(1), momOrders: kpiF(1), momAOV: kpiF(0), momCustomers: kpiF(1)},
			{period: "2024-03", group: "store", sales: 2000, orders: 1, customers: 1, units: 2, aov: 2000, upt: 2,
				repurchase: kpiF(1), returning: 1,
				momSales: kpiF(2000.0/1600 - 1), momOrders: kpiF(0), momAOV: kpiF(2000.0/1600 - 1), momCustomers: kpiF(0)},
		}},
		{"Shanghai months move O8 into April", KPIOptions{Location: Shanghai}, []kpiWant{
			{period: "2024-01", sales: 2700, orders: 3, customers: 2, units: 7, aov: 900, upt: 7.0 / 3,
				repurchase: kpiF(0), newCustomers: 2},
			{period: "2024-02", sales: 2100, orders: 2, customers: 2, units: 4, aov: 1050, upt: 2,
				repurchase: kpiF(0.5), newCustomers: 1, returning: 1,
				momSales: kpiF(2100.0/2700 - 1), momOrders: kpiF(2.0/3 - 1), momAOV: kpiF(1050.0/900 - 1), momCustomers: kpiF(0)},
			{period: "2024-03", sales: 2500, orders: 2, customers: 2, units: 3, aov: 1250, upt: 1.5,
				repurchase: kpiF(1), returning: 2,
				momSales: kpiF(2500.0/2100 - 1), momOrders: kpiF(0), momAOV: kpiF(1250.0/1050 - 1), momCustomers: kpiF(0)},
			{period: "2024-04", sales: 500, orders: 1, customers: 1, units: 1, aov: 500, upt: 1,
				repurchase: kpiF(0), newCustomers: 1,
				momSales: kpiF(500.0/2500 - 1), momOrders: kpiF(-0.5), momAOV: kpiF(500.0/1250 - 1), momCustomers: kpiF(-0.5)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := KPIs(d, nil, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(tab.Rows) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %+v", len(tab.Rows), len(tc.want), tab.Rows)
			}
			for i, w := range tc.want {
				kpiCheckRow(t, tab.Rows[i], w)
				if r := tab.Rows[i]; r.Cost != nil || r.GrossMargin != nil || r.ReturnRate != nil || r.VsYearAgo.Sales != nil {
					t.Errorf("%s: margin, return rate or YoY set without costs, returns or a year of data: %+v", r.Period, r)
				}
			}
			if tab.PreviousLabel != "MoM" || tab.Currency != "GBP" || tab.ReturnRate != nil {
				t.Errorf("table header: %+v", tab)
			}
		})
	}
}

func TestKPIsGrainsMarginAndReturns(t *testing.T) {
	t.Parallel()
	b := kpiSample()
	b.D.SKUCost = []int64{200, 100, 600} // A, B, C
	tab, err := KPIs(b.D, &ImportSummary{Sales: 1000, ReturnedAmount: 50}, KPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jan := tab.Rows[0] // cost 2×200 + 100 + 200 + 3×100 = 1000
	if jan.Cost == nil || *jan.Cost != 1000 || *jan.GrossMargin != 1700 || math.Abs(*jan.GrossMarginRate-1700.0/2700) > 1e-12 {
		t.Errorf("January margin: cost %v margin %v rate %v", jan.Cost, jan.GrossMargin, jan.GrossMarginRate)
	}
	if tab.ReturnRate == nil || *tab.ReturnRate != 0.05 {
		t.Errorf("overall return rate %v, want 0.05 from the summary", kpiPct(tab.ReturnRate))
	}

	// A return line in February: net sales fall, orders and customers do not change.
	b.Add("R1", "C1", "A", -1, 500, time.Date(2024, 2, 12, 0, 0, 0, 0, time.UTC), "web", "London")
	tab, err = KPIs(b.D, nil, KPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	feb := tab.Rows[1]
	if feb.Sales != 1600 || feb.Orders != 2 || feb.Units != 3 || feb.ReturnedAmount == nil || *feb.ReturnedAmount != 500 ||
		math.Abs(*feb.ReturnRate-500.0/2100) > 1e-12 || *tab.Rows[0].ReturnRate != 0 {
		t.Errorf("February with a return: %+v", feb)
	}

	// Day and week grains: one row per day or ISO week with sales.
	days, err := KPIs(kpiSample().D, nil, KPIOptions{Grain: "day"})
	if err != nil {
		t.Fatal(err)
	}
	if len(days.Rows) != 8 || days.Rows[0].Period != "2024-01-05" || days.Rows[0].Sales != 1300 || days.PreviousLabel != "DoD" {
		t.Errorf("days: %d rows, first %+v", len(days.Rows), days.Rows[0])
	}
	// The day before 2024-01-20 has no lines: no DoD change.
	if days.Rows[1].Period != "2024-01-20" || days.Rows[1].VsPrevious.Sales != nil {
		t.Errorf("second day: %+v", days.Rows[1])
	}
	weeks, err := KPIs(kpiSample().D, nil, KPIOptions{Grain: "week", By: "region"})
	if err != nil {
		t.Fatal(err)
	}
	first := weeks.Rows[0]
	if first.Period != "2024-W01" || first.Group != "London" || first.Sales != 1300 || !first.Start.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first week: %+v", first)
	}
	var unknown int64
	for _, r := range weeks.Rows {
		if r.Group == KPIUnknownGroup {
			unknown += r.Sales
		}
	}
	if unknown != 900 || weeks.PreviousLabel != "WoW" {
		t.Errorf("unknown-region sales %d, want 900 (O3)", unknown)
	}
}

func TestKPIsYearOverYear(t *testing.T) {
	t.Parallel()
	b := NewBuilder("CNY")
	for m := range 13 { // 2023-01 .. 2024-01, sales 1000·(m+1) on the 15th
		at := time.Date(2023, time.Month(1+m), 15, 12, 0, 0, 0, Shanghai)
		b.Add("O"+string(rune('a'+m)), "C1", "S", int32(m+1), 1000, at, "", "")
	}
	for _, tc := range []struct {
		grain string
		last  string
		yoy   float64
		rows  int
	}{
		{"month", "2024-01", 12, 13},
		{"day", "2024-01-15", 12, 13},
	} {
		tab, err := KPIs(b.D, nil, KPIOptions{Grain: tc.grain, Location: Shanghai})
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Rows) != tc.rows {
			t.Fatalf("%s: %d rows", tc.grain, len(tab.Rows))
		}
		last := tab.Rows[len(tab.Rows)-1]
		if last.Period != tc.last || last.VsYearAgo.Sales == nil || *last.VsYearAgo.Sales != tc.yoy ||
			*last.VsYearAgo.Orders != 0 || *last.VsYearAgo.AOV != tc.yoy || *last.VsYearAgo.Customers != 0 {
			t.Errorf("%s: last row %s YoY %+v, want sales +%v", tc.grain, last.Period, last.VsYearAgo, tc.yoy)
		}
		for _, r := range tab.Rows[:len(tab.Rows)-1] {
			if r.VsYearAgo.Sales != nil {
				t.Errorf("%s: %s has a YoY without a year of data", tc.grain, r.Period)
			}
		}
		if tc.grain == "month" && (math.Abs(*last.VsPrevious.Sales-1.0/12) > 1e-12 || *last.RepurchaseRate != 1) {
			t.Errorf("month: MoM %v repurchase %v", *last.VsPrevious.Sales, *last.RepurchaseRate)
		}
	}
}

func TestKPIsBadInput(t *testing.T) {
	t.Parallel()
	d := kpiSample().D
	for _, tc := range []struct {
		name  string
		run   func() error
		field string
		text  string
	}{
		{"grain", func() error { _, err := KPIs(d, nil, KPIOptions{Grain: "year"}); return err }, "grain", "day, week, month"},
		{"by", func() error { _, err := KPIs(d, nil, KPIOptions{By: "sku"}); return err }, "by", "channel, region or store"},
		{"empty", func() error { _, err := KPIs(NewBuilder("GBP").D, nil, KPIOptions{}); return err }, "input", "no lines"},
		{"nil", func() error { _, err := KPIs(nil, nil, KPIOptions{}); return err }, "input", "no lines"},
		{"month after", func() error {
			_, err := MonthlyReport(d, nil, time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), nil)
			return err
		}, "month", "2024-04 is outside the data's range 2024-01..2024-03"},
		{"month before", func() error {
			_, err := MonthlyReport(d, nil, time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC), nil)
			return err
		}, "month", "2023-12 is outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var e *errs.Error
			if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != tc.field || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want an *errs.Error on %q mentioning %q", err, tc.field, tc.text)
			}
		})
	}
}

func TestMonthlyReportAndHTML(t *testing.T) {
	t.Parallel()
	b := kpiSample()
	b.Add("O9", "C5", "<script>alert(1)</script>", 1, 123456, time.Date(2024, 3, 20, 9, 0, 0, 0, time.UTC), "web", "")
	r, err := MonthlyReport(b.D, &ImportSummary{Sales: 200, CancelledAmount: 3}, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	// March: 3000 + 123456; O6, O7, O8, O9; C2, C3 returning, C4, C5 new.
	if r.Month != "2024-03" || r.Overall.Sales != 126456 || r.Overall.Orders != 4 || r.Overall.AOV != 31614 ||
		r.PreviousMonth == nil || r.PreviousMonth.Sales != 2100 || r.YearAgo != nil {
		t.Fatalf("report: %+v", r)
	}
	wantCust := ReportCustomers{New: 2, Returning: 2, NewSales: 123956, ReturningSales: 2500}
	if r.Customers != wantCust {
		t.Errorf("customers %+v, want %+v", r.Customers, wantCust)
	}
	if len(r.ByChannel) != 2 || r.ByChannel[0].Group != "web" || r.ByChannel[0].Sales != 124456 || r.ByChannel[1].Group != "store" {
		t.Errorf("by channel: %+v", r.ByChannel)
	}
	if len(r.ByRegion) != 3 || r.ByRegion[0].Group != KPIUnknownGroup || r.ByRegion[1].Group != "Leeds" {
		t.Errorf("by region: %+v", r.ByRegion)
	}
	wantTop := []ReportSKU{
		{SKU: "<script>alert(1)</script>", Sales: 123456, Units: 1, Orders: 1, Share: 123456.0 / 126456},
		{SKU: "C", Sales: 2000, Units: 2, Orders: 1, Share: 2000.0 / 126456},
		{SKU: "A", Sales: 1000, Units: 2, Orders: 2, Share: 1000.0 / 126456},
	}
	if len(r.TopSKUs) != len(wantTop) {
		t.Fatalf("top SKUs %+v", r.TopSKUs)
	}
	for i, w := range wantTop {
		if g := r.TopSKUs[i]; g.SKU != w.SKU || g.Sales != w.Sales || g.Units != w.Units || g.Orders != w.Orders || math.Abs(g.Share-w.Share) > 1e-12 {
			t.Errorf("top %d: %+v, want %+v", i, g, w)
		}
	}

	var buf bytes.Buffer
	if err := r.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<!DOCTYPE html>", "</html>", "@media print", "销售额 Sales", "复购率 Repurchase rate",
		"£1,264.56", // March sales
		"£1,234.56", // the SKU's sales
		"£21.00",    // February sales, the previous month
		"£316.14",   // AOV 126456 / 4
		"5921.7%",   // MoM sales 126456 / 2100 − 1 (html/template writes the + as &#43;)
		"1.5%",      // return rate 3 / 200 from the summary
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"未知 Unknown",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("page has a script or an external reference")
	}
	if strings.Count(page, "<table>") != strings.Count(page, "</table>") || strings.Count(page, "<tr>") != strings.Count(page, "</tr>") {
		t.Error("unbalanced tables")
	}
}

func TestKPIMoney(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    int64
		cur  string
		want string
	}{
		{123456, "GBP", "£1,234.56"},
		{123456, "CNY", "¥1,234.56"},
		{5, "USD", "$0.05"},
		{-100000000, "EUR", "-€1,000,000.00"},
		{1234, "JPY", "¥1,234"},
		{1234, "KWD", "KWD 1.234"},
		{math.MinInt64, "GBP", "-£92,233,720,368,547,758.08"},
	} {
		if got := kpiMoney(tc.v, tc.cur); got != tc.want {
			t.Errorf("kpiMoney(%d, %s) = %q, want %q", tc.v, tc.cur, got, tc.want)
		}
	}
}

func TestKPILastFullMonth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		first, end time.Time
		want       string
	}{
		{"ends mid-month", time.Date(2010, 12, 1, 8, 0, 0, 0, time.UTC), time.Date(2011, 12, 9, 12, 0, 0, 0, time.UTC), "2011-11"},
		{"ends on a month's last day", time.Date(2010, 12, 1, 8, 0, 0, 0, time.UTC), time.Date(2011, 11, 30, 12, 0, 0, 0, time.UTC), "2011-11"},
		{"one partial month", time.Date(2011, 12, 1, 8, 0, 0, 0, time.UTC), time.Date(2011, 12, 9, 12, 0, 0, 0, time.UTC), "2011-12"},
	} {
		b := NewBuilder("GBP")
		b.Add("1", "", "S", 1, 1, tc.first, "", "")
		b.Add("2", "", "S", 1, 1, tc.end, "", "")
		if got := KPILastFullMonth(b.D, nil).Format("2006-01"); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// On UCI Online Retail the monthly sales add up to the import's sales, and
// the orders and customers of the months to at least the distinct totals.
func TestKPIsOnlineRetail(t *testing.T) {
	impDataFile(t, "online_retail.csv.gz")
	r, err := impRetail()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := KPIs(r.d, &r.sum, KPIOptions{By: "region"})
	if err != nil {
		t.Fatal(err)
	}
	var sales int64
	orders := 0
	for _, row := range tab.Rows {
		sales += row.Sales
		orders += row.Orders
	}
	if sales != r.sum.Sales || orders != r.sum.Orders {
		t.Errorf("monthly by region: sales %d orders %d, import summary %d and %d", sales, orders, r.sum.Sales, r.sum.Orders)
	}
	// The data start in December 2010: only December 2011 has a year-ago month.
	overall, err := KPIs(r.d, nil, KPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(overall.Rows); n != 13 || overall.Rows[n-1].VsYearAgo.Sales == nil || overall.Rows[n-2].VsYearAgo.Sales != nil {
		t.Errorf("%d months; YoY of the last two: %v, %v", n, kpiPct(overall.Rows[n-1].VsYearAgo.Sales), kpiPct(overall.Rows[n-2].VsYearAgo.Sales))
	}
	month := KPILastFullMonth(r.d, nil)
	if month.Format("2006-01") != "2011-11" {
		t.Errorf("last full month %s, want 2011-11", month.Format("2006-01"))
	}
	rep, err := MonthlyReport(r.d, &r.sum, month, nil)
	if err != nil {
		t.Fatal(err)
	}
	var byRegion int64
	for _, g := range rep.ByRegion {
		byRegion += g.Sales
	}
	c := rep.Customers
	if byRegion != rep.Overall.Sales || c.NewSales+c.ReturningSales+c.UnknownSales != rep.Overall.Sales ||
		c.New+c.Returning != rep.Overall.Customers || len(rep.TopSKUs) != 10 || rep.YearAgo != nil ||
		rep.Overall.VsPrevious.Sales == nil || rep.Overall.VsYearAgo.Sales != nil || rep.ByRegion[0].Group != "United Kingdom" {
		t.Errorf("November 2011 report: overall %+v, customers %+v, regions %d, year ago %v", rep.Overall, c, len(rep.ByRegion), rep.YearAgo)
	}
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil || !strings.Contains(buf.String(), kpiMoney(rep.Overall.Sales, "GBP")) {
		t.Errorf("HTML: %v", err)
	}
}

// BenchmarkKPIsOnlineRetail measures monthly KPIs by region and the monthly
// report on UCI Online Retail (import excluded).
func BenchmarkKPIsOnlineRetail(b *testing.B) {
	impDataFile(b, "online_retail.csv.gz")
	r, err := impRetail()
	if err != nil {
		b.Fatal(err)
	}
	month := KPILastFullMonth(r.d, nil)
	for b.Loop() {
		if _, err := KPIs(r.d, &r.sum, KPIOptions{Grain: "day", By: "region"}); err != nil {
			b.Fatal(err)
		}
		if _, err := MonthlyReport(r.d, &r.sum, month, nil); err != nil {
			b.Fatal(err)
		}
	}
}

package analytics

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// ReportSKU is one SKU's figures in a monthly report.
type ReportSKU struct {
	SKU      string  `json:"sku"`
	Category string  `json:"category,omitempty"`
	Sales    int64   `json:"sales"` // minor units, net of return lines
	Units    int64   `json:"units"`
	Orders   int     `json:"orders"` // distinct orders with a sales line of the SKU
	Share    float64 `json:"share"`  // Sales ÷ the month's Sales (0 when that is not positive)
}

// ReportCustomers splits a month's sales lines by who bought: customers whose
// first purchase in the dataset is in the month (new), customers who had
// bought before (returning), and lines without a customer.
type ReportCustomers struct {
	New            int   `json:"new"`
	Returning      int   `json:"returning"`
	NewSales       int64 `json:"new_sales"`
	ReturningSales int64 `json:"returning_sales"`
	UnknownSales   int64 `json:"unknown_sales"`
}

// Report is the monthly KPI report: the month overall, by channel and by
// region, its top SKUs and its new and returning customers. Every KPIRow
// carries its MoM (VsPrevious) and YoY (VsYearAgo) changes.
type Report struct {
	Currency string    `json:"currency"`
	Month    string    `json:"month"` // "2006-01"
	Location string    `json:"location"`
	Start    time.Time `json:"start"` // the month's first instant
	End      time.Time `json:"end"`   // the next month's first instant
	DataFrom time.Time `json:"data_from"`
	DataTo   time.Time `json:"data_to"`

	Overall       KPIRow  `json:"overall"`
	PreviousMonth *KPIRow `json:"previous_month,omitempty"` // nil before the data's first month
	YearAgo       *KPIRow `json:"year_ago,omitempty"`       // nil when the data do not reach back a year
	// ByChannel and ByRegion hold the groups with lines in the month, by
	// sales, largest first; lines without a channel or region form the group
	// KPIUnknownGroup.
	ByChannel []KPIRow        `json:"by_channel"`
	ByRegion  []KPIRow        `json:"by_region"`
	TopSKUs   []ReportSKU     `json:"top_skus"` // up to 10, by sales, ties by SKU id
	Customers ReportCustomers `json:"customers"`
	// ReturnRate is the whole dataset's return rate (not the month's): the
	// import summary's when one was given, else that of the dataset's own
	// return lines, if it has any (see KPITable.ReturnRate).
	ReturnRate *float64 `json:"return_rate,omitempty"`
}

// kpiTopSKUs is how many SKUs a monthly report lists.
const kpiTopSKUs = 10

// MonthlyReport builds the report for the calendar month holding month's
// year and month (read in month's own location) as a month of loc (nil
// means UTC). sum is optional and supplies the overall return rate.
//
// The error is an *errs.Error naming "month" when the month is outside the
// data's range of months, or naming the dataset ("input") when it is empty.
func MonthlyReport(d *Dataset, sum *ImportSummary, month time.Time, loc *time.Location) (Report, error) {
	if loc == nil {
		loc = time.UTC
	}
	overall, err := kpiBuild(d, KPIGrainMonth, "", loc)
	if err != nil {
		return Report{}, err
	}
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
	p, ok := slices.BinarySearch(overall.starts[:overall.np()], start.Unix())
	if !ok {
		var v errs.Validator
		v.Add("month", "out_of_range", fmt.Sprintf("%s is outside the data's range %s..%s", start.Format("2006-01"),
			time.Unix(overall.starts[0], 0).In(loc).Format("2006-01"), time.Unix(overall.starts[overall.np()-1], 0).In(loc).Format("2006-01")))
		return Report{}, v.Err()
	}
	end := start.AddDate(0, 1, 0)
	r := Report{
		Currency: d.Currency, Month: start.Format("2006-01"), Location: loc.String(), Start: start, End: end,
		DataFrom: time.Unix(overall.lo, 0).UTC(), DataTo: time.Unix(overall.hi, 0).UTC(),
		Overall: overall.row(p, 0), ByChannel: []KPIRow{}, ByRegion: []KPIRow{}, TopSKUs: []ReportSKU{},
	}
	if p > 0 {
		prev := overall.row(p-1, 0)
		r.PreviousMonth = &prev
	}
	if ya := overall.yearAgo[p]; ya >= 0 {
		yr := overall.row(ya, 0)
		r.YearAgo = &yr
	}
	if sum != nil {
		rr := sum.ReturnRate()
		r.ReturnRate = &rr
	} else {
		r.ReturnRate = overall.overallReturnRate()
	}
	for _, by := range []string{KPIByChannel, KPIByRegion} {
		c, err := kpiBuild(d, KPIGrainMonth, by, loc)
		if err != nil {
			return Report{}, err
		}
		var rows []KPIRow
		for _, g := range c.present {
			if c.lines[p*c.ng+g] > 0 {
				rows = append(rows, c.row(p, g))
			}
		}
		slices.SortStableFunc(rows, func(a, b KPIRow) int { return cmp.Compare(b.Sales, a.Sales) })
		if by == KPIByChannel {
			r.ByChannel = append(r.ByChannel, rows...)
		} else {
			r.ByRegion = append(r.ByRegion, rows...)
		}
	}
	kpiMonthDetail(d, overall, start.Unix(), end.Unix(), &r)
	return r, nil
}

// kpiMonthDetail fills the report's top SKUs and customer split from the
// month's lines.
func kpiMonthDetail(d *Dataset, c *kpiCube, from, to int64, r *Report) {
	skuSales := make([]int64, len(d.SKUIDs))
	skuUnits := make([]int64, len(d.SKUIDs))
	skuOrders := make([]int32, len(d.SKUIDs))
	touched := []int32{}
	seen := map[uint64]struct{}{}
	for i, at := range d.At[:d.Len()] {
		if at < from || at >= to {
			continue
		}
		s, amt, q := d.SKU[i], d.Amount(i), int64(d.Qty[i])
		if skuSales[s] == 0 && skuUnits[s] == 0 && skuOrders[s] == 0 {
			touched = append(touched, s)
		}
		skuSales[s] += amt
		skuUnits[s] += q
		if amt < 0 || q < 0 {
			continue
		}
		key := uint64(d.Order[i])<<32 | uint64(uint32(s))
		if _, ok := seen[key]; !ok {
			seen[key] = struct{}{}
			skuOrders[s]++
		}
		switch cu := d.Customer[i]; {
		case cu < 0:
			r.Customers.UnknownSales += amt
		case c.first[cu] >= from:
			r.Customers.NewSales += amt
		default:
			r.Customers.ReturningSales += amt
		}
	}
	r.Customers.New, r.Customers.Returning = r.Overall.NewCustomers, r.Overall.ReturningCustomers
	slices.SortFunc(touched, func(a, b int32) int {
		if x := cmp.Compare(skuSales[b], skuSales[a]); x != 0 {
			return x
		}
		return cmp.Compare(d.SKUIDs[a], d.SKUIDs[b])
	})
	for _, s := range touched[:min(len(touched), kpiTopSKUs)] {
		t := ReportSKU{SKU: d.SKUIDs[s], Sales: skuSales[s], Units: skuUnits[s], Orders: int(skuOrders[s])}
		if int(s) < len(d.SKUCategory) {
			t.Category = d.SKUCategory[s]
		}
		if r.Overall.Sales > 0 {
			t.Share = float64(t.Sales) / float64(r.Overall.Sales)
		}
		r.TopSKUs = append(r.TopSKUs, t)
	}
}

// kpiCard is one headline figure of the HTML report.
type kpiCard struct {
	Label, Value, Note string
	MoM, YoY           *float64
}

// HTML writes the report as one self-contained printable page (inline CSS,
// no external assets), labelled in Chinese and English. Every value from the
// data is escaped by html/template.
func (r Report) HTML(w io.Writer) error {
	money := func(v int64) string { return kpiMoney(v, r.Currency) }
	o := r.Overall
	margin, marginNote := "—", "成本未知 cost unknown"
	if o.GrossMargin != nil {
		margin, marginNote = money(*o.GrossMargin), "毛利率 rate "+kpiPct(o.GrossMarginRate)
	}
	ret, retNote := kpiPct(o.ReturnRate), "本月 this month"
	if o.ReturnRate == nil {
		ret, retNote = kpiPct(r.ReturnRate), "整个导入 whole import"
	}
	cards := []kpiCard{
		{Label: "销售额 Sales", Value: money(o.Sales), MoM: o.VsPrevious.Sales, YoY: o.VsYearAgo.Sales},
		{Label: "订单数 Orders", Value: kpiInt(int64(o.Orders)), MoM: o.VsPrevious.Orders, YoY: o.VsYearAgo.Orders},
		{Label: "客户数 Customers", Value: kpiInt(int64(o.Customers)), MoM: o.VsPrevious.Customers, YoY: o.VsYearAgo.Customers},
		{Label: "客单价 AOV", Value: money(o.AOV), MoM: o.VsPrevious.AOV, YoY: o.VsYearAgo.AOV},
		{Label: "连带率 Units per order", Value: strconv.FormatFloat(o.UnitsPerOrder, 'f', 2, 64), Note: kpiInt(o.Units) + " 件 units"},
		{Label: "毛利 Gross margin", Value: margin, Note: marginNote},
		{Label: "退货率 Return rate", Value: ret, Note: retNote},
		{Label: "复购率 Repurchase rate", Value: kpiPct(o.RepurchaseRate),
			Note: fmt.Sprintf("新客 new %d · 老客 returning %d", o.NewCustomers, o.ReturningCustomers)},
	}
	funcs := template.FuncMap{
		"money":  money,
		"int":    func(v int) string { return kpiInt(int64(v)) },
		"int64":  kpiInt,
		"pct":    kpiPct,
		"share":  func(v float64) string { return kpiPct(&v) },
		"change": kpiChange,
		"trend": func(v *float64) string {
			switch {
			case v == nil:
				return "na"
			case *v > 0:
				return "up"
			case *v < 0:
				return "down"
			}
			return "flat"
		},
		"upt":   func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
		"group": kpiGroupLabel,
		"date":  func(t time.Time) string { return t.Format(time.DateOnly) },
		"inc":   func(i int) int { return i + 1 },
		"groupsOf": func(title string, rows []KPIRow) any {
			return struct {
				Title string
				Rows  []KPIRow
			}{title, rows}
		},
	}
	t, err := template.New("report").Funcs(funcs).Parse(kpiReportTemplate)
	if err != nil {
		return err
	}
	return t.Execute(w, struct {
		Report
		Cards []kpiCard
	}{r, cards})
}

// kpiGroupLabel shows the unknown group in both languages.
func kpiGroupLabel(s string) string {
	if s == KPIUnknownGroup {
		return "未知 Unknown"
	}
	return s
}

// kpiCurrencySymbol is the sign printed before an amount.
func kpiCurrencySymbol(cur string) string {
	switch cur {
	case "GBP":
		return "£"
	case "CNY", "JPY":
		return "¥"
	case "USD":
		return "$"
	case "EUR":
		return "€"
	case "HKD":
		return "HK$"
	}
	return cur + " "
}

// kpiMoney formats minor units with the currency: "£1,234.56", "-¥0.05".
func kpiMoney(v int64, cur string) string {
	digits := impMinorDigits(cur)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	var scale uint64 = 1
	for range digits {
		scale *= 10
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(kpiCurrencySymbol(cur))
	b.WriteString(kpiGroupDigits(strconv.FormatUint(u/scale, 10)))
	if digits > 0 {
		frac := strconv.FormatUint(u%scale, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", digits-len(frac)))
		b.WriteString(frac)
	}
	return b.String()
}

// kpiInt formats an integer with thousands separators.
func kpiInt(v int64) string {
	if v < 0 {
		return "-" + kpiGroupDigits(strconv.FormatUint(-uint64(v), 10))
	}
	return kpiGroupDigits(strconv.FormatInt(v, 10))
}

// kpiGroupDigits puts a comma between groups of three digits.
func kpiGroupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// kpiPct formats a ratio as a percentage with one decimal, "—" when unknown.
func kpiPct(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

// kpiChange formats a change ratio with its sign, "—" when unknown.
func kpiChange(v *float64) string {
	if v == nil {
		return "—"
	}
	s := kpiPct(v)
	if *v > 0 {
		s = "+" + s
	}
	return s
}

const kpiReportTemplate = `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>月度经营报告 Monthly report {{.Month}}</title>
<style>
  :root { --ink: #1d2733; --muted: #5f6b7a; --line: #d8dee6; --up: #1a7f37; --down: #c62828; }
  * { box-sizing: border-box; }
  body { font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", system-ui, sans-serif;
         color: var(--ink); margin: 2rem auto; max-width: 60rem; padding: 0 1rem; font-size: 14px; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; border-bottom: 2px solid var(--ink); padding-bottom: .2rem; }
  .meta { color: var(--muted); margin: 0; }
  .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: .6rem; margin-top: 1rem; }
  .card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; }
  .card .label { color: var(--muted); font-size: .8rem; }
  .card .value { font-size: 1.3rem; font-weight: 600; margin: .2rem 0; font-variant-numeric: tabular-nums; }
  .card .note, .card .cmp { font-size: .75rem; color: var(--muted); }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--line); text-align: right; }
  th { font-size: .75rem; color: var(--muted); font-weight: 600; }
  th:first-child, td:first-child, td.text { text-align: left; }
  .up { color: var(--up); } .down { color: var(--down); } .na, .flat { color: var(--muted); }
  footer { margin-top: 2rem; color: var(--muted); font-size: .75rem; }
  @page { size: A4; margin: 14mm; }
  @media print {
    body { margin: 0; max-width: none; font-size: 11px; }
    .cards { grid-template-columns: repeat(4, 1fr); }
    section, .card, tr { break-inside: avoid; page-break-inside: avoid; }
    h2 { break-after: avoid; page-break-after: avoid; }
    .up, .down { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  }
  @media (max-width: 640px) { .cards { grid-template-columns: repeat(2, 1fr); } }
</style>
</head>
<body>
<header>
  <h1>月度经营报告 Monthly report · {{.Month}}</h1>
  <p class="meta">币种 Currency {{.Currency}} · 时区 Time zone {{.Location}} · 数据范围 Data {{date .DataFrom}} – {{date .DataTo}}</p>
</header>

<section>
  <h2>核心指标 Key figures</h2>
  <div class="cards">
  {{- range .Cards}}
    <div class="card">
      <div class="label">{{.Label}}</div>
      <div class="value">{{.Value}}</div>
      {{- if .Note}}<div class="note">{{.Note}}</div>{{end}}
      {{- if or .MoM .YoY}}
      <div class="cmp">环比 MoM <span class="{{trend .MoM}}">{{change .MoM}}</span> · 同比 YoY <span class="{{trend .YoY}}">{{change .YoY}}</span></div>
      {{- end}}
    </div>
  {{- end}}
  </div>
  <table>
    <thead><tr><th>月份 Month</th><th>销售额 Sales</th><th>订单数 Orders</th><th>客户数 Customers</th><th>客单价 AOV</th><th>连带率 UPT</th></tr></thead>
    <tbody>
      <tr><td>本月 This month {{.Overall.Period}}</td><td>{{money .Overall.Sales}}</td><td>{{int .Overall.Orders}}</td><td>{{int .Overall.Customers}}</td><td>{{money .Overall.AOV}}</td><td>{{upt .Overall.UnitsPerOrder}}</td></tr>
      {{- with .PreviousMonth}}
      <tr><td>上月 Previous month {{.Period}}</td><td>{{money .Sales}}</td><td>{{int .Orders}}</td><td>{{int .Customers}}</td><td>{{money .AOV}}</td><td>{{upt .UnitsPerOrder}}</td></tr>
      {{- end}}
      {{- with .YearAgo}}
      <tr><td>去年同期 Same month last year {{.Period}}</td><td>{{money .Sales}}</td><td>{{int .Orders}}</td><td>{{int .Customers}}</td><td>{{money .AOV}}</td><td>{{upt .UnitsPerOrder}}</td></tr>
      {{- end}}
    </tbody>
  </table>
</section>

{{define "groups"}}
  <table>
    <thead><tr><th>{{.Title}}</th><th>销售额 Sales</th><th>订单数 Orders</th><th>客户数 Customers</th><th>客单价 AOV</th><th>连带率 UPT</th><th>复购率 Repurchase</th><th>环比 MoM</th><th>同比 YoY</th></tr></thead>
    <tbody>
    {{- range .Rows}}
      <tr><td>{{group .Group}}</td><td>{{money .Sales}}</td><td>{{int .Orders}}</td><td>{{int .Customers}}</td><td>{{money .AOV}}</td><td>{{upt .UnitsPerOrder}}</td><td>{{pct .RepurchaseRate}}</td><td class="{{trend .VsPrevious.Sales}}">{{change .VsPrevious.Sales}}</td><td class="{{trend .VsYearAgo.Sales}}">{{change .VsYearAgo.Sales}}</td></tr>
    {{- else}}
      <tr><td colspan="9">无数据 No data</td></tr>
    {{- end}}
    </tbody>
  </table>
{{end}}

<section>
  <h2>分渠道 By channel</h2>
  {{template "groups" (groupsOf "渠道 Channel" .ByChannel)}}
</section>

<section>
  <h2>分地区 By region</h2>
  {{template "groups" (groupsOf "地区 Region" .ByRegion)}}
</section>

<section>
  <h2>商品销售前十 Top 10 SKUs by sales</h2>
  <table>
    <thead><tr><th>#</th><th>商品 SKU</th><th>品类 Category</th><th>销售额 Sales</th><th>占比 Share</th><th>件数 Units</th><th>订单数 Orders</th></tr></thead>
    <tbody>
    {{- range $i, $s := .TopSKUs}}
      <tr><td>{{inc $i}}</td><td class="text">{{$s.SKU}}</td><td class="text">{{$s.Category}}</td><td>{{money $s.Sales}}</td><td>{{share $s.Share}}</td><td>{{int64 $s.Units}}</td><td>{{int $s.Orders}}</td></tr>
    {{- else}}
      <tr><td colspan="7">无数据 No data</td></tr>
    {{- end}}
    </tbody>
  </table>
</section>

<section>
  <h2>新老客户 New vs returning customers</h2>
  <table>
    <thead><tr><th>客户 Customers</th><th>人数 Count</th><th>销售额 Sales</th></tr></thead>
    <tbody>
      <tr><td>新客 New</td><td>{{int .Customers.New}}</td><td>{{money .Customers.NewSales}}</td></tr>
      <tr><td>老客 Returning</td><td>{{int .Customers.Returning}}</td><td>{{money .Customers.ReturningSales}}</td></tr>
      <tr><td>未知客户 Unknown customer</td><td>—</td><td>{{money .Customers.UnknownSales}}</td></tr>
    </tbody>
  </table>
</section>

<footer>
  新客指本月在数据中首次购买的客户 New customers made their first purchase in the data this month; 复购率 = 老客 ÷ 客户数 repurchase rate = returning ÷ customers.
  客单价按整数最小货币单位截断 AOV is truncated to the minor unit. 环比 MoM = vs previous month; 同比 YoY = vs the same month a year earlier.
</footer>
</body>
</html>
`

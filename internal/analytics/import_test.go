package analytics

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// impDataDir is where the shared data files live, relative to this package.
const impDataDir = "../../../shared/data"

// impDataFile returns the path of a shared data file, or skips the test.
func impDataFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(impDataDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data file %s is absent (want ../../../shared/data relative to internal/analytics): %v", p, err)
	}
	return p
}

// impRetail imports online_retail.csv.gz once for all tests that need it.
var impRetail = sync.OnceValues(func() (*impRetailResult, error) {
	var r impRetailResult
	var err error
	r.d, r.sum, err = ImportFile(filepath.Join(impDataDir, "online_retail.csv.gz"), ImportOptions{Format: FormatOnlineRetail})
	return &r, err
})

type impRetailResult struct {
	d   *Dataset
	sum ImportSummary
}

// impCheckInvariants checks what every imported Dataset guarantees.
func impCheckInvariants(t testing.TB, d *Dataset, s ImportSummary, cdnow bool) {
	t.Helper()
	n := d.Len()
	for name, l := range map[string]int{"Customer": len(d.Customer), "SKU": len(d.SKU), "Qty": len(d.Qty),
		"Price": len(d.Price), "At": len(d.At), "Channel": len(d.Channel), "Region": len(d.Region)} {
		if l != n {
			t.Fatalf("column %s has %d entries, Order has %d", name, l, n)
		}
	}
	if cdnow != (d.Value != nil) || (d.Value != nil && len(d.Value) != n) {
		t.Fatalf("Value column: cdnow=%v, len %d, lines %d", cdnow, len(d.Value), n)
	}
	idx := func(what string, i int, v int32, dict []string, optional bool) {
		if (v < 0 && !(optional && v == -1)) || int(v) >= len(dict) {
			t.Fatalf("line %d: %s index %d outside [0,%d)", i, what, v, len(dict))
		}
	}
	var sales int64
	missing := int64(0)
	for i := range n {
		idx("Order", i, d.Order[i], d.OrderIDs, false)
		idx("Customer", i, d.Customer[i], d.CustomerIDs, true)
		idx("SKU", i, d.SKU[i], d.SKUIDs, false)
		idx("Channel", i, d.Channel[i], d.Channels, true)
		idx("Region", i, d.Region[i], d.Regions, true)
		if d.Qty[i] <= 0 {
			t.Fatalf("line %d: quantity %d", i, d.Qty[i])
		}
		if cdnow {
			if d.Price[i] < 0 || d.Value[i] < 0 {
				t.Fatalf("line %d: price %d value %d", i, d.Price[i], d.Value[i])
			}
		} else if d.Price[i] <= 0 {
			t.Fatalf("line %d: price %d", i, d.Price[i])
		}
		if d.Customer[i] < 0 {
			missing++
		}
		sales += d.Amount(i)
	}
	for name, dict := range map[string][]string{"OrderIDs": d.OrderIDs, "CustomerIDs": d.CustomerIDs, "SKUIDs": d.SKUIDs, "Channels": d.Channels, "Regions": d.Regions} {
		seen := map[string]bool{}
		for _, s := range dict {
			if s == "" || seen[s] {
				t.Fatalf("%s holds %q twice or empty", name, s)
			}
			seen[s] = true
		}
	}
	if s.LinesKept != int64(n) || s.Sales != sales || s.MissingCustomer != missing {
		t.Fatalf("summary kept %d sales %d missing %d; dataset %d, %d, %d", s.LinesKept, s.Sales, s.MissingCustomer, n, sales, missing)
	}
	removed := int64(0)
	for _, r := range s.Rules {
		if r.Removed {
			removed += r.Lines
		}
		if r.Name == "" || r.Description == "" {
			t.Fatalf("rule without name or description: %+v", r)
		}
	}
	if s.LinesRead != s.LinesKept+removed {
		t.Fatalf("lines read %d != kept %d + removed %d", s.LinesRead, s.LinesKept, removed)
	}
	if s.LinesRead != s.LinesKept+s.Duplicates+s.NonProduct+s.Cancellations+s.NonPositivePrice+s.Returns+s.ZeroQuantity {
		t.Fatalf("counters do not add up: %+v", s)
	}
	if s.Orders != len(d.OrderIDs) || s.Customers != len(d.CustomerIDs) || s.SKUs != len(d.SKUIDs) {
		t.Fatalf("summary distinct counts %d/%d/%d, dataset %d/%d/%d", s.Orders, s.Customers, s.SKUs, len(d.OrderIDs), len(d.CustomerIDs), len(d.SKUIDs))
	}
}

// TestImportOnlineRetailFile checks the UCI file against the facts in
// SOURCES.md (section 1) and against counts worked out independently.
func TestImportOnlineRetailFile(t *testing.T) {
	t.Parallel()
	impDataFile(t, "online_retail.csv.gz")
	r, err := impRetail()
	if err != nil {
		t.Fatal(err)
	}
	d, s := r.d, r.sum
	impCheckInvariants(t, d, s, false)
	// The counts of the cleaning rules, in their order (computed independently
	// with Python's csv module and decimal arithmetic).
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"lines read", s.LinesRead, 541_909},
		{"exact duplicates", s.Duplicates, 5_268}, // SOURCES.md: 5,268 rows exactly duplicate another
		{"non-product codes", s.NonProduct, 2_989},
		{"cancellations", s.Cancellations, 8_668}, // 9,288 C-lines less those removed before
		{"cancelled amount (pence)", s.CancelledAmount, 47_590_116},
		{"non-positive price", s.NonPositivePrice, 2_480},
		{"returns", s.Returns, 0}, // every negative quantity outside C-invoices has price 0
		{"zero quantity", s.ZeroQuantity, 0},
		{"lines kept", s.LinesKept, 522_504},
		{"kept without customer", s.MissingCustomer, 131_354},
		{"sales (pence)", s.Sales, 1_024_682_087},
		{"rounded prices", s.RoundedPrices, 4}, // the four 0.001 prices
		{"orders", int64(s.Orders), 19_773},
		{"customers", int64(s.Customers), 4_334},
		{"SKUs", int64(s.SKUs), 3_900},
		{"countries", int64(len(d.Regions)), 38},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if s.Currency != "GBP" || d.Currency != "GBP" || s.Format != FormatOnlineRetail {
		t.Errorf("currency %q/%q format %q", s.Currency, d.Currency, s.Format)
	}
	// First and last kept lines, field by field.
	first := fmt.Sprintf("%s %s %s %d %d %s %s", d.OrderIDs[d.Order[0]], d.CustomerIDs[d.Customer[0]], d.SKUIDs[d.SKU[0]],
		d.Qty[0], d.Price[0], d.Time(0).Format(time.DateTime), d.Regions[d.Region[0]])
	if want := "536365 17850 85123A 6 255 2010-12-01 08:26:00 United Kingdom"; first != want {
		t.Errorf("first line %q, want %q", first, want)
	}
	n := d.Len() - 1
	last := fmt.Sprintf("%s %s %s %d %d %s %s", d.OrderIDs[d.Order[n]], d.CustomerIDs[d.Customer[n]], d.SKUIDs[d.SKU[n]],
		d.Qty[n], d.Price[n], d.Time(n).Format(time.DateTime), d.Regions[d.Region[n]])
	if want := "581587 12680 22138 3 495 2011-12-09 12:50:00 France"; last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
}

// TestImportOnlineRetailMatchesEncodingCSV reads the UCI file a second time
// with encoding/csv and math/big, checks the raw facts of SOURCES.md, applies
// the documented rules and compares every kept line with the importer's.
func TestImportOnlineRetailMatchesEncodingCSV(t *testing.T) {
	path := impDataFile(t, "online_retail.csv.gz")
	if testing.Short() || impRaceEnabled {
		t.Skip("a second pass over 541,909 lines with encoding/csv and math/big; skipped with -short and -race (run go test without them)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(zr)
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	r, err := impRetail()
	if err != nil {
		t.Fatal(err)
	}
	d := r.d
	invoices, customers, codes, countries := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	seen := map[string]bool{}
	var rows, noCustomer, cInvoices, dups, k int
	total := new(big.Rat)
	hundred := big.NewRat(100, 1)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		inv, code, qtyS, when, priceS, cust, country := rec[0], rec[1], rec[3], rec[4], rec[5], rec[6], rec[7]
		invoices[inv], codes[code], countries[country] = true, true, true
		if cust == "" {
			noCustomer++
		} else {
			customers[cust] = true
		}
		if strings.HasPrefix(inv, "C") {
			cInvoices++
		}
		qty, err := strconv.ParseInt(qtyS, 10, 64)
		if err != nil {
			t.Fatalf("row %d: quantity %q", rows, qtyS)
		}
		price, ok := new(big.Rat).SetString(priceS)
		if !ok {
			t.Fatalf("row %d: price %q", rows, priceS)
		}
		total.Add(total, new(big.Rat).Mul(price, big.NewRat(qty, 1)))
		key := strings.Join(rec, "\x00")
		if seen[key] {
			dups++
			continue
		}
		seen[key] = true
		if impIsRetailNonProduct([]byte(code)) || strings.HasPrefix(inv, "C") || price.Sign() <= 0 || qty <= 0 {
			continue
		}
		pence := new(big.Rat).Mul(price, hundred)
		if !pence.IsInt() {
			t.Fatalf("row %d: kept price %s is not whole pence", rows, priceS)
		}
		if k >= d.Len() {
			t.Fatalf("row %d is kept, but the dataset has only %d lines", rows, d.Len())
		}
		wantCust := strings.TrimSuffix(cust, ".0")
		gotCust := ""
		if d.Customer[k] >= 0 {
			gotCust = d.CustomerIDs[d.Customer[k]]
		}
		if d.OrderIDs[d.Order[k]] != inv || gotCust != wantCust || d.SKUIDs[d.SKU[k]] != code || int64(d.Qty[k]) != qty ||
			pence.Num().Cmp(big.NewInt(d.Price[k])) != 0 || d.Time(k).Format(time.DateTime) != when || d.Regions[d.Region[k]] != country {
			t.Fatalf("kept line %d (row %d): got %s|%s|%s|%d|%d|%s|%s, want %s", k, rows, d.OrderIDs[d.Order[k]], gotCust, d.SKUIDs[d.SKU[k]],
				d.Qty[k], d.Price[k], d.Time(k).Format(time.DateTime), d.Regions[d.Region[k]], strings.Join(rec, "|"))
		}
		k++
	}
	if k != d.Len() {
		t.Errorf("encoding/csv keeps %d lines, the importer %d", k, d.Len())
	}
	wantTotal, _ := new(big.Rat).SetString("9747747.934")
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"rows", rows, 541_909},
		{"invoices", len(invoices), 25_900},
		{"customers", len(customers), 4_372},
		{"stock codes", len(codes), 4_070},
		{"countries", len(countries), 38},
		{"rows without customer", noCustomer, 135_080},
		{"C-invoice rows", cInvoices, 9_288},
		{"exact duplicates", dups, 5_268},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d (SOURCES.md)", c.name, c.got, c.want)
		}
	}
	if total.Cmp(wantTotal) != 0 {
		t.Errorf("Σ quantity × price = %s, want 9,747,747.934 (SOURCES.md: 9,747,747.93)", total.FloatString(3))
	}
}

func TestImportCDNOWFiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file                          string
		rows, customers, orders       int
		cds, cents, zeroValue, repeat int64
		firstCustomer                 string
	}{
		{"CDNOW_sample.txt.gz", 6_919, 2_357, 6_696, 16_479, 24_409_194, 8, 21, "0001"},
		{"CDNOW_master.txt.gz", 69_659, 23_570, 67_591, 167_881, 250_031_563, 80, 255, "00001"},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			d, s, err := ImportFile(impDataFile(t, c.file), ImportOptions{Format: FormatCDNOW})
			if err != nil {
				t.Fatal(err)
			}
			impCheckInvariants(t, d, s, true)
			var cds, cents int64
			minAt, maxAt := d.At[0], d.At[0]
			for i := range d.Len() {
				cds += int64(d.Qty[i])
				cents += d.Amount(i)
				minAt, maxAt = min(minAt, d.At[i]), max(maxAt, d.At[i])
			}
			if d.Len() != c.rows || s.LinesRead != int64(c.rows) || len(d.CustomerIDs) != c.customers || len(d.OrderIDs) != c.orders {
				t.Errorf("lines %d read %d customers %d orders %d; want %d, %d, %d, %d", d.Len(), s.LinesRead, len(d.CustomerIDs), len(d.OrderIDs), c.rows, c.rows, c.customers, c.orders)
			}
			if cds != c.cds || cents != c.cents || s.Sales != c.cents {
				t.Errorf("CDs %d, cents %d (summary %d); want %d, %d", cds, cents, s.Sales, c.cds, c.cents)
			}
			if s.ZeroValue != c.zeroValue || s.RepeatedRows != c.repeat {
				t.Errorf("zero-value rows %d, repeated rows %d; want %d, %d", s.ZeroValue, s.RepeatedRows, c.zeroValue, c.repeat)
			}
			if from, to := time.Unix(minAt, 0).UTC(), time.Unix(maxAt, 0).UTC(); from != time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC) || to != time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC) {
				t.Errorf("dates %v .. %v, want 1997-01-01 .. 1998-06-30 (midnight UTC)", from, to)
			}
			if d.CustomerIDs[d.Customer[0]] != c.firstCustomer || s.Currency != "USD" || len(d.SKUIDs) != 1 {
				t.Errorf("first customer %q currency %s SKUs %v", d.CustomerIDs[d.Customer[0]], s.Currency, d.SKUIDs)
			}
		})
	}
}

// TestImportCDNOWLines checks the mapping of rows to lines on a small input.
func TestImportCDNOWLines(t *testing.T) {
	t.Parallel()
	in := " customer_id  date number_of_cds  dollar_value\r\n" +
		" 00001 19970101  1   11.77\r\n" +
		" 00001 19970101  3   10.00\r\n" + // same day: same order; 10.00/3 → price 333
		" 00002 19970112  2    0.00\r\n" + // free CDs: kept
		" 00002 19970113  0    5.00\r\n" + // zero quantity: removed
		" 00003 19970114 -1   -5.00\r\n" + // return: removed
		" 00003 19970115  1   -5.00\r\n" + // negative value: removed
		"\r\n" +
		" 00001 19970101  1   11.77\r\n" // repeated row: kept
	d, s, err := Import(strings.NewReader(in), ImportOptions{Format: FormatCDNOW})
	if err != nil {
		t.Fatal(err)
	}
	impCheckInvariants(t, d, s, true)
	var got []string
	for i := range d.Len() {
		got = append(got, fmt.Sprintf("%s/%s/%d/%d/%d", d.OrderIDs[d.Order[i]], d.CustomerIDs[d.Customer[i]], d.Qty[i], d.Price[i], d.Amount(i)))
	}
	want := []string{"00001 19970101/00001/1/1177/1177", "00001 19970101/00001/3/333/1000", "00002 19970112/00002/2/0/0", "00001 19970101/00001/1/1177/1177"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
	if s.LinesRead != 7 || s.ZeroQuantity != 1 || s.Returns != 1 || s.ReturnedAmount != 500 || s.NonPositivePrice != 1 || s.ZeroValue != 1 || s.RepeatedRows != 1 {
		t.Errorf("summary %+v", s)
	}
}

func TestImportOnlineRetailRules(t *testing.T) {
	t.Parallel()
	const header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
	in := header +
		"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n" +
		"536381,82567,\"AIRLINE LOUNGE,METAL SIGN\",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom\n" +
		"536381,82567,\"AIRLINE LOUNGE,METAL SIGN\",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom\n" + // duplicate
		"536477,22041,\"RECORD FRAME 7\"\" SINGLE SIZE \",48,2010-12-01 12:27:00,2.1,16210.0,United Kingdom\n" +
		"C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom\n" + // non-product (before cancellation)
		"C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,2010-12-01 09:49:00,4.65,15311.0,United Kingdom\n" + // cancellation
		"536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.0,12583.0,France\n" + // non-product
		"536414,22139,,56,2010-12-01 11:52:00,0.0,,United Kingdom\n" + // zero price
		"A563186,B,Adjust bad debt,1,2011-08-12 14:51:00,-11062.06,,United Kingdom\n" + // non-product B
		"550193,PADS,PADS TO MATCH ALL CUSHIONS,1,2011-04-15 09:27:00,0.001,13952.0,United Kingdom\n" + // rounded, non-product
		"536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom\n" + // no customer: kept
		"543358,DCGSSBOY,BOYS PARTY BAG,1,2011-02-07 14:04:00,3.29,,United Kingdom\n" + // non-product prefix
		"536367,84879,ASSORTED COLOUR BIRD ORNAMENT,-2,2010-12-01 08:34:00,1.69,13047.0,United Kingdom\n" // return
	d, s, err := Import(strings.NewReader(in), ImportOptions{Format: FormatOnlineRetail})
	if err != nil {
		t.Fatal(err)
	}
	impCheckInvariants(t, d, s, false)
	if d.Len() != 4 || s.Duplicates != 1 || s.NonProduct != 5 || s.Cancellations != 1 || s.CancelledAmount != 465 ||
		s.NonPositivePrice != 1 || s.Returns != 1 || s.ReturnedAmount != 338 || s.MissingCustomer != 1 || s.RoundedPrices != 1 {
		t.Errorf("lines %d, summary %+v", d.Len(), s)
	}
	if got := d.CustomerIDs; strings.Join(got, ",") != "17850,15311,16210" {
		t.Errorf("customers %q", got)
	}
	if d.Customer[3] != -1 || d.Price[1] != 210 || d.Qty[2] != 48 {
		t.Errorf("customer %d price %d qty %d", d.Customer[3], d.Price[1], d.Qty[2])
	}
	if got, want := s.ReturnRate(), float64(465+338)/float64(s.Sales); got != want {
		t.Errorf("return rate %v, want %v", got, want)
	}
	names := []string{}
	for _, r := range s.Rules {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "duplicate,non-product,cancellation,non-positive-price,return,zero-quantity,missing-customer,price-rounding" {
		t.Errorf("rules %s", got)
	}

	// The "Online Retail II" header and the Excel-style dates of other copies.
	in2 := "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\r\n" +
		"489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,12/1/2009 7:45,6.95,13085.0,United Kingdom\r\n"
	d2, _, err := Import(strings.NewReader(in2), ImportOptions{Format: FormatOnlineRetail})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Time(0) != time.Date(2009, 12, 1, 7, 45, 0, 0, time.UTC) || d2.Price[0] != 695 || d2.CustomerIDs[0] != "13085" {
		t.Errorf("Online Retail II line: %v %d %v", d2.Time(0), d2.Price[0], d2.CustomerIDs)
	}
}

func TestImportCSV(t *testing.T) {
	t.Parallel()
	shanghai := func(s string) int64 {
		tm, err := time.ParseInLocation(time.DateTime, s, Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	cases := []struct {
		name  string
		in    string
		opts  ImportOptions
		lines []string // order/customer/sku/qty/price/unix/channel/region
		check func(t *testing.T, s ImportSummary)
	}{
		{
			name: "defaults with channel and region",
			in: "order_id,customer_id,sku,quantity,unit_price,timestamp,channel,region\n" +
				"SO1,M001,SKU-1,2,12.50,2024-11-11 10:00:00,store:SH01,上海\n" +
				"SO1,M001,SKU-2,1,0.5,2024-11-11T10:00:00+08:00,store:SH01,上海\n" +
				"SO2,,SKU-1,1,12.5,2024-11-12,app,\n",
			lines: []string{
				fmt.Sprintf("SO1/M001/SKU-1/2/1250/%d/store:SH01/上海", shanghai("2024-11-11 10:00:00")),
				fmt.Sprintf("SO1/M001/SKU-2/1/50/%d/store:SH01/上海", shanghai("2024-11-11 10:00:00")),
				fmt.Sprintf("SO2//SKU-1/1/1250/%d/app/", shanghai("2024-11-12 00:00:00")),
			},
			check: func(t *testing.T, s ImportSummary) {
				if s.Currency != "CNY" || s.MissingCustomer != 1 || s.Orders != 2 {
					t.Errorf("summary %+v", s)
				}
			},
		},
		{
			name: "mapping, semicolons, minor units, layout, zone, quotes, CRLF and BOM",
			in: "\ufeffBon;Kunde;Artikel;Menge;Preis;Zeit;Filiale\r\n" +
				"\"B;1\";K1;\"A \"\"X\"\"\";3;199;01.02.2024 13:05;\"Berlin\r\nMitte\"\r\n" +
				"B2;K2;A;1;5;02.02.2024 08:00;Köln\r\n",
			opts: ImportOptions{Format: FormatCSV, Currency: "eur", Location: time.UTC, Mapping: CSVMapping{
				Order: "bon", Customer: "Kunde", SKU: "Artikel", Qty: "Menge", Price: "Preis", Time: "Zeit", Channel: "Filiale",
				TimeLayout: "02.01.2006 15:04", PriceInMinorUnits: true, Comma: ';'}},
			lines: []string{
				fmt.Sprintf("B;1/K1/A \"X\"/3/199/%d/Berlin\nMitte/", time.Date(2024, 2, 1, 13, 5, 0, 0, time.UTC).Unix()),
				fmt.Sprintf("B2/K2/A/1/5/%d/Köln/", time.Date(2024, 2, 2, 8, 0, 0, 0, time.UTC).Unix()),
			},
			check: func(t *testing.T, s ImportSummary) {
				if s.Currency != "EUR" || s.LinesRead != 2 {
					t.Errorf("summary %+v", s)
				}
			},
		},
		{
			name: "cleaning: duplicates, returns, zero quantity and price, rounding",
			in: "sku,quantity,unit_price,timestamp,order_id\n" +
				"A,1,1.005,2024-01-01 00:00:00,1\n" + // rounds to 1.01
				"A,1,1.005,2024-01-01 00:00:00,1\n" + // duplicate
				"A,-1,1.00,2024-01-02 00:00:00,2\n" + // return
				"A,0,1.00,2024-01-02 00:00:00,3\n" + // zero quantity
				"A,2,0,2024-01-02 00:00:00,4\n" + // zero price
				"A,2,-3,2024-01-02 00:00:00,5\n" + // negative price
				"B,4.0,+2.5,2024-01-03 00:00:00,6\n",
			lines: []string{
				fmt.Sprintf("1//A/1/101/%d//", shanghai("2024-01-01 00:00:00")),
				fmt.Sprintf("6//B/4/250/%d//", shanghai("2024-01-03 00:00:00")),
			},
			check: func(t *testing.T, s ImportSummary) {
				if s.Duplicates != 1 || s.Returns != 1 || s.ReturnedAmount != 100 || s.ZeroQuantity != 1 || s.NonPositivePrice != 2 ||
					s.RoundedPrices != 2 || s.MissingCustomer != 2 || s.Sales != 101+1000 {
					t.Errorf("summary %+v", s)
				}
			},
		},
		{
			name: "JPY has no minor unit",
			in:   "order_id,sku,quantity,unit_price,timestamp\nO,S,1,1200,2024-01-01T00:00:00Z\n",
			opts: ImportOptions{Format: FormatCSV, Currency: "JPY"},
			lines: []string{
				fmt.Sprintf("O//S/1/1200/%d//", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.opts.Format == "" {
				c.opts.Format = FormatCSV
			}
			d, s, err := Import(strings.NewReader(c.in), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			impCheckInvariants(t, d, s, false)
			var got []string
			name := func(v int32, dict []string) string {
				if v < 0 {
					return ""
				}
				return dict[v]
			}
			for i := range d.Len() {
				got = append(got, fmt.Sprintf("%s/%s/%s/%d/%d/%d/%s/%s", d.OrderIDs[d.Order[i]], name(d.Customer[i], d.CustomerIDs),
					d.SKUIDs[d.SKU[i]], d.Qty[i], d.Price[i], d.At[i], name(d.Channel[i], d.Channels), name(d.Region[i], d.Regions)))
			}
			if strings.Join(got, "\n") != strings.Join(c.lines, "\n") {
				t.Errorf("lines\n got %q\nwant %q", got, c.lines)
			}
			if c.check != nil {
				c.check(t, s)
			}
		})
	}
}

// TestImportErrors feeds bad input to every format: each must fail with an
// *ImportError that names the place, and return nothing.
func TestImportErrors(t *testing.T) {
	t.Parallel()
	const retailHeader = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
	const retailLine = "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
	const csvHeader = "order_id,customer_id,sku,quantity,unit_price,timestamp\n"
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	cases := []struct {
		name   string
		format Format
		opts   ImportOptions
		in     string
		want   ImportError
		msg    string // the whole message, when given
	}{
		{name: "empty file", format: FormatCSV, in: "", want: ImportError{Reason: "the input is empty"}, msg: "import: the input is empty"},
		{name: "empty gzip", format: FormatOnlineRetail, in: gz(""), want: ImportError{Reason: "the input is empty (an empty gzip stream)"}},
		{name: "blank lines only", format: FormatCSV, in: "\n\r\n\n", want: ImportError{Reason: "the input has no header line (it is blank)"}},
		{name: "header only", format: FormatOnlineRetail, in: retailHeader, want: ImportError{Reason: "the input has a header but no data lines"}},
		{name: "cdnow empty", format: FormatCDNOW, in: " customer_id date number_of_cds dollar_value\n", want: ImportError{Reason: "the input has no data lines"}},
		{name: "unknown format", format: "excel", in: "x", want: ImportError{Field: "format", Value: "excel", Reason: "is not a known format (want online-retail, cdnow or csv)"},
			msg: `import: format: "excel" is not a known format (want online-retail, cdnow or csv)`},
		{name: "bad currency", format: FormatCSV, opts: ImportOptions{Currency: "yuan"}, in: csvHeader, want: ImportError{Field: "currency", Value: "YUAN", Reason: "is not an ISO 4217 code (three letters, e.g. CNY)"}},
		{name: "bad comma", format: FormatCSV, opts: ImportOptions{Mapping: CSVMapping{Comma: '"'}}, in: csvHeader, want: ImportError{Field: "comma", Value: `"`, Reason: `is not a valid separator (want a single-byte character other than '"' and line breaks)`}},
		{name: "missing column", format: FormatOnlineRetail, in: "InvoiceNo,StockCode,Quantity,InvoiceDate,CustomerID,Country\n" + "1,2,3,4,5,6\n",
			want: ImportError{Line: 1, Field: "Price", Value: "UnitPrice or Price", Reason: "is not a column of the header (columns: InvoiceNo, StockCode, Quantity, InvoiceDate, CustomerID, Country)"}},
		{name: "explicit optional column missing", format: FormatCSV, opts: ImportOptions{Mapping: CSVMapping{Region: "province"}}, in: csvHeader + "1,2,3,4,5,2024-01-01\n",
			want: ImportError{Line: 1, Field: "Region", Value: "province", Reason: "is not a column of the header (columns: order_id, customer_id, sku, quantity, unit_price, timestamp)"}},
		{name: "column twice", format: FormatCSV, in: "order_id,sku,quantity,unit_price,timestamp,SKU\n", want: ImportError{Line: 1, Column: 6, Value: "SKU", Reason: "appears twice in the header"}},
		{name: "wrong column count", format: FormatOnlineRetail, in: retailHeader + retailLine + "536365,85123A,WHITE,6,2010-12-01 08:26:00,2.55,17850.0\n",
			want: ImportError{Line: 3, Reason: "has 7 columns, the header has 8"}, msg: "import: line 3: has 7 columns, the header has 8"},
		{name: "non-numeric quantity", format: FormatOnlineRetail, in: retailHeader + retailLine + retailLine + "536365,85123A,X,six,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n",
			want: ImportError{Line: 4, Column: 4, Field: "Quantity", Value: "six", Reason: "is not a whole number"}},
		{name: "fractional quantity", format: FormatCSV, in: csvHeader + "1,2,3,1.5,5,2024-01-01\n", want: ImportError{Line: 2, Column: 4, Field: "quantity", Value: "1.5", Reason: "is not a whole number"}},
		{name: "huge quantity", format: FormatCSV, in: csvHeader + "1,2,3,3000000000,5,2024-01-01\n", want: ImportError{Line: 2, Column: 4, Field: "quantity", Value: "3000000000", Reason: "is out of range"}},
		{name: "non-numeric price", format: FormatOnlineRetail, in: retailHeader + "536365,85123A,X,6,2010-12-01 08:26:00,abc,17850.0,United Kingdom\n",
			want: ImportError{Line: 2, Column: 6, Field: "UnitPrice", Value: "abc", Reason: "is not a number"},
			msg:  `import: line 2, column 6 (UnitPrice): "abc" is not a number`},
		{name: "empty price", format: FormatCSV, in: csvHeader + "1,2,3,4,,2024-01-01\n", want: ImportError{Line: 2, Column: 5, Field: "unit_price", Reason: "is not a number"},
			msg: `import: line 2, column 5 (unit_price): "" is not a number`},
		{name: "price with exponent", format: FormatCSV, in: csvHeader + "1,2,3,4,1e3,2024-01-01\n", want: ImportError{Line: 2, Column: 5, Field: "unit_price", Value: "1e3", Reason: "is not a number"}},
		{name: "line value too large", format: FormatCSV, in: csvHeader + "1,2,3,2000000000,9999999,2024-01-01\n", want: ImportError{Line: 2, Column: 5, Field: "unit_price", Value: "9999999", Reason: "times the quantity is out of range"}},
		{name: "unparseable date", format: FormatOnlineRetail, in: retailHeader + "536365,85123A,X,6,2010-13-01 08:26:00,2.55,17850.0,United Kingdom\n",
			want: ImportError{Line: 2, Column: 5, Field: "InvoiceDate", Value: "2010-13-01 08:26:00", Reason: `is not a time like "2010-12-01 08:26:00"`}},
		{name: "february 30", format: FormatCSV, in: csvHeader + "1,2,3,4,5,2024-02-30 10:00:00\n", want: ImportError{Line: 2, Column: 6, Field: "timestamp", Value: "2024-02-30 10:00:00", Reason: `is not a time (want RFC 3339, "2006-01-02 15:04:05" or "2006-01-02")`}},
		{name: "date against layout", format: FormatCSV, opts: ImportOptions{Mapping: CSVMapping{TimeLayout: "2006/01/02"}}, in: csvHeader + "1,2,3,4,5,2024-01-01\n", want: ImportError{Line: 2, Column: 6, Field: "timestamp", Value: "2024-01-01", Reason: `is not a time in the layout "2006/01/02"`}},
		{name: "empty order id", format: FormatCSV, in: csvHeader + "1,2,3,4,5,2024-01-01\n ,2,3,4,5,2024-01-01\n", want: ImportError{Line: 3, Column: 1, Field: "order_id", Reason: "is empty (every line needs an order id)"}},
		{name: "empty sku", format: FormatCSV, in: csvHeader + "1,2,,4,5,2024-01-01\n", want: ImportError{Line: 2, Column: 3, Field: "sku", Reason: "is empty (every line needs a SKU)"}},
		{name: "unclosed quote", format: FormatCSV, in: csvHeader + "1,\"2,3,4,5,2024-01-01\n1,2,3,4,5,2024-01-01\n", want: ImportError{Line: 2, Column: 2, Reason: "opens a quoted field that is never closed"}},
		{name: "text after quote", format: FormatCSV, in: csvHeader + "1,\"2\"x,3,4,5,2024-01-01\n", want: ImportError{Line: 2, Column: 2, Reason: `has text after the closing quote of a quoted field (write a quote inside quotes as "")`},
			msg: `import: line 2, column 2: has text after the closing quote of a quoted field (write a quote inside quotes as "")`},
		{name: "error after blank and multi-line records", format: FormatCSV, in: csvHeader + "1,\"a\nb\",3,4,5,2024-01-01\n\n1,2,3,x,5,2024-01-01\n", want: ImportError{Line: 5, Column: 4, Field: "quantity", Value: "x", Reason: "is not a whole number"}},
		{name: "cdnow wrong column count", format: FormatCDNOW, in: "00001 19970101 1 11.77\n00002 19970101 1\n", want: ImportError{Line: 2, Reason: "has 3 columns, the first line has 4"}},
		{name: "cdnow too few columns", format: FormatCDNOW, in: "00001 19970101 1\n", want: ImportError{Line: 1, Reason: "has 3 columns, want 4 (customer_id date number_of_cds dollar_value) or 5 (master_id customer_id date number_of_cds dollar_value)"}},
		{name: "cdnow bad date", format: FormatCDNOW, in: "00001 19970101 1 11.77\n00001 19970231 1 11.77\n", want: ImportError{Line: 2, Column: 2, Field: "date", Value: "19970231", Reason: "is not a date YYYYMMDD"}},
		{name: "cdnow bad quantity", format: FormatCDNOW, in: "00004 0001 19970101 two 29.33\n", want: ImportError{Line: 1, Column: 4, Field: "number_of_cds", Value: "two", Reason: "is not a whole number"}},
		{name: "cdnow bad amount", format: FormatCDNOW, in: "00004 0001 19970101 2 $29.33\n", want: ImportError{Line: 1, Column: 5, Field: "dollar_value", Value: "$29.33", Reason: "is not a number"}},
		{name: "gzip truncated", format: FormatOnlineRetail, in: gz(retailHeader + retailLine + retailLine)[:60], want: ImportError{Reason: "the input ends abruptly"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.opts.Format = c.format
			d, s, err := Import(strings.NewReader(c.in), c.opts)
			if d != nil || s.LinesRead != 0 || s.Rules != nil {
				t.Errorf("got a dataset (%v) or summary (%+v) with the error", d, s)
			}
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T), want an *ImportError", err, err)
			}
			if c.name == "gzip truncated" {
				if !strings.HasPrefix(ie.Reason, c.want.Reason) || ie.Err == nil {
					t.Errorf("got %+v, want reason starting %q and the cause", ie, c.want.Reason)
				}
				return
			}
			got := *ie
			got.Err = nil
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if c.msg != "" && err.Error() != c.msg {
				t.Errorf("message %q, want %q", err.Error(), c.msg)
			}
		})
	}
}

func TestImportGzipProgressAndFile(t *testing.T) {
	t.Parallel()
	var src strings.Builder
	src.WriteString("order_id,sku,quantity,unit_price,timestamp\n")
	const n, every = 7_000, 1_000
	for i := range n {
		fmt.Fprintf(&src, "O%d,S%d,%d,%d.%02d,2024-01-%02d 10:00:00\n", i/3, i%97, 1+i%5, 1+i%50, i%100, 1+i%28)
	}
	var gzBuf bytes.Buffer
	w := gzip.NewWriter(&gzBuf)
	w.Write([]byte(src.String()))
	w.Close()
	var calls [][2]int64
	opts := ImportOptions{Format: FormatCSV, progressEvery: every, Progress: func(lines, bytesRead int64) { calls = append(calls, [2]int64{lines, bytesRead}) }}
	d, s, err := Import(bytes.NewReader(gzBuf.Bytes()), opts)
	if err != nil {
		t.Fatal(err)
	}
	impCheckInvariants(t, d, s, false)
	if d.Len() != n || s.Orders != (n+2)/3 {
		t.Errorf("lines %d orders %d", d.Len(), s.Orders)
	}
	// One call per `every` physical lines (the header counts), then the final one with all the bytes.
	if len(calls) != (n+1)/every+1 {
		t.Fatalf("progress calls %v", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] <= calls[i-1][0] || calls[i][1] < calls[i-1][1] {
			t.Errorf("progress goes back: %v", calls)
		}
	}
	if last := calls[len(calls)-1]; last != [2]int64{n + 1, int64(gzBuf.Len())} {
		t.Errorf("final progress %v, want %d lines and %d bytes", last, n+1, gzBuf.Len())
	}

	// The same through a file, plain and gzipped, gives the same dataset.
	dir := t.TempDir()
	for name, content := range map[string][]byte{"plain.csv": []byte(src.String()), "packed.csv.gz": gzBuf.Bytes()} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		d2, s2, err := ImportFile(p, ImportOptions{Format: FormatCSV})
		if err != nil {
			t.Fatal(err)
		}
		if d2.Len() != d.Len() || s2.Sales != s.Sales || d2.At[n-1] != d.At[n-1] {
			t.Errorf("%s: %d lines, sales %d", name, d2.Len(), s2.Sales)
		}
	}
	if _, _, err := ImportFile(filepath.Join(dir, "absent.csv"), ImportOptions{Format: FormatCSV}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

func TestImpParseDecimal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		digits  int
		want    int64
		rounded bool
		st      impNum
	}{
		{"2.55", 2, 255, false, impNumOK},
		{"2.1", 2, 210, false, impNumOK},
		{"17", 2, 1700, false, impNumOK},
		{"-11062.06", 2, -1106206, false, impNumOK},
		{"+0.5", 2, 50, false, impNumOK},
		{".5", 2, 50, false, impNumOK},
		{"5.", 2, 500, false, impNumOK},
		{" 3.10 ", 2, 310, false, impNumOK},
		{"0.001", 2, 0, true, impNumOK},
		{"0.005", 2, 1, true, impNumOK},
		{"0.0049999", 2, 0, true, impNumOK},
		{"-0.005", 2, -1, true, impNumOK},
		{"2.550000", 2, 255, false, impNumOK},
		{"1.5", 0, 2, true, impNumOK},
		{"1.234", 3, 1234, false, impNumOK},
		{"9223372036854775807", 0, 9223372036854775807, false, impNumOK},
		{"9223372036854775808", 0, 0, false, impNumRange},
		{"92233720368547758.08", 2, 0, false, impNumRange},
		{"9223372036854775807.5", 0, 0, false, impNumRange},
		{"", 2, 0, false, impNumSyntax},
		{"-", 2, 0, false, impNumSyntax},
		{".", 2, 0, false, impNumSyntax},
		{"1,5", 2, 0, false, impNumSyntax},
		{"1.2.3", 2, 0, false, impNumSyntax},
		{"1e3", 2, 0, false, impNumSyntax},
		{"--1", 2, 0, false, impNumSyntax},
		{"NaN", 2, 0, false, impNumSyntax},
	}
	for _, c := range cases {
		v, rounded, st := impParseDecimal([]byte(c.in), c.digits)
		if v != c.want || rounded != c.rounded || st != c.st {
			t.Errorf("impParseDecimal(%q, %d) = %d, %v, %d; want %d, %v, %d", c.in, c.digits, v, rounded, st, c.want, c.rounded, c.st)
		}
	}
}

// TestImpSplitCSV compares the splitter with encoding/csv on well-formed records.
func TestImpSplitCSV(t *testing.T) {
	t.Parallel()
	for _, rec := range []string{
		`a,b,c`,
		`a,,c,`,
		``,
		`,`,
		`"a,b",c`,
		`"RECORD FRAME 7"" SINGLE SIZE ",48`,
		`"""",""`,
		`x,"a""b""c",y`,
		`a"b,c`,
		`"multi` + "\n" + `line",z`,
		`536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom`,
	} {
		cr := csv.NewReader(strings.NewReader(rec + "\n"))
		cr.LazyQuotes = true
		cr.FieldsPerRecord = -1
		want, err := cr.Read()
		if rec == "" {
			want, err = []string{""}, nil // encoding/csv skips empty lines; the importer does too, before splitting
		}
		if err != nil {
			t.Fatalf("encoding/csv on %q: %v", rec, err)
		}
		fs, _, st, _ := impSplitCSV([]byte(rec), ',', nil, nil)
		got := make([]string, len(fs))
		for i, f := range fs {
			got[i] = string(f)
		}
		if st != impSplitOK || strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("split %q = %q (status %d), want %q", rec, got, st, want)
		}
	}
	for _, c := range []struct {
		rec string
		st  impSplit
		col int
	}{
		{`a,"b`, impSplitOpen, 2},
		{`"a""`, impSplitOpen, 1},
		{`a,"b"c`, impSplitBad, 2},
		{`"a" ,b`, impSplitBad, 1},
	} {
		if _, _, st, col := impSplitCSV([]byte(c.rec), ',', nil, nil); st != c.st || col != c.col {
			t.Errorf("split %q: status %d column %d, want %d, %d", c.rec, st, col, c.st, c.col)
		}
	}
}

// BenchmarkImportOnlineRetail measures the import of online_retail.csv.gz
// (541,909 lines, gzip included): go test -run '^$' -bench ImportOnlineRetail ./internal/analytics/
func BenchmarkImportOnlineRetail(b *testing.B) {
	path := impDataFile(b, "online_retail.csv.gz")
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := Import(bytes.NewReader(raw), ImportOptions{Format: FormatOnlineRetail}); err != nil {
			b.Fatal(err)
		}
	}
}

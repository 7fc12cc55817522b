package analytics

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// This file reads comma-separated input: the generic CSV format through a
// CSVMapping, and the UCI Online Retail preset, which is the same engine with
// fixed column names and the retailer's own cleaning rules (cancellation
// invoices, non-product stock codes).

// impRole is a column that the importer uses.
type impRole int

const (
	impOrder impRole = iota
	impCustomer
	impSKU
	impQty
	impPrice
	impTime
	impChannel
	impRegion
	impNRoles
)

// impRoleNames name the roles in errors about the header.
var impRoleNames = [impNRoles]string{"Order", "Customer", "SKU", "Qty", "Price", "Time", "Channel", "Region"}

// impCSVDefaults are the default header names of the generic CSV format.
var impCSVDefaults = [impNRoles]string{"order_id", "customer_id", "sku", "quantity", "unit_price", "timestamp", "channel", "region"}

// impRetailColumns are the accepted header names of the Online Retail preset
// (the first of each is the UCI "Online Retail" name, the others "Online Retail II").
var impRetailColumns = [impNRoles][]string{
	impOrder:    {"InvoiceNo", "Invoice"},
	impCustomer: {"CustomerID", "Customer ID"},
	impSKU:      {"StockCode"},
	impQty:      {"Quantity"},
	impPrice:    {"UnitPrice", "Price"},
	impTime:     {"InvoiceDate"},
	impRegion:   {"Country"},
}

// impRetailNonProduct are the UCI stock codes that are not products: postage
// (POST, DOT = dotcom postage, C2 = carriage), manual lines (M), discounts (D),
// samples (S), bank charges, Amazon fees, CRUK commission, cushion pads priced
// 0.001, and B = "adjust bad debt". Matched case-insensitively ("m" occurs once).
var impRetailNonProduct = []string{"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}

// impRetailNonProductPrefixes are code families that are not products: gift
// vouchers (gift_0001_10 … _50) and the DCGS… lines of a side business
// (party bags and others sold without customer ids).
var impRetailNonProductPrefixes = []string{"gift_0001_", "DCGS"}

// impIsRetailNonProduct reports whether a UCI stock code is not a product.
func impIsRetailNonProduct(sku []byte) bool {
	if len(sku) > 0 && sku[0] >= '0' && sku[0] <= '9' {
		return false // every product code starts with a digit; no non-product code does
	}
	for _, c := range impRetailNonProduct {
		if len(sku) == len(c) && bytes.EqualFold(sku, []byte(c)) {
			return true
		}
	}
	for _, p := range impRetailNonProductPrefixes {
		if len(sku) >= len(p) && bytes.EqualFold(sku[:len(p)], []byte(p)) {
			return true
		}
	}
	return false
}

// impCSVPlan is what the header tells about each line.
type impCSVPlan struct {
	retail      bool
	ncols       int
	names       []string // header names, for errors
	col         [impNRoles]int
	priceDigits int
	times       impTimeParser
}

// impTimeParser parses the time column; it remembers the last value because
// exports are usually in time order, with many lines per timestamp.
type impTimeParser struct {
	loc    *time.Location
	layout string // explicit Go layout, or "" for the defaults
	retail bool   // also accept the Excel-style "1/2/2006 15:04" of other UCI copies
	last   []byte
	lastAt int64
}

// impAutoLayouts are tried, in order, when no layout is given and the fast
// "2006-01-02 15:04:05" path fails.
var impAutoLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func (p *impTimeParser) parse(b []byte) (int64, bool) {
	b = impTrim(b)
	if p.last != nil && bytes.Equal(b, p.last) {
		return p.lastAt, true
	}
	at, ok := p.parseNew(b)
	if ok {
		p.last = append(p.last[:0], b...)
		p.lastAt = at
	}
	return at, ok
}

func (p *impTimeParser) parseNew(b []byte) (int64, bool) {
	if p.layout != "" {
		t, err := time.ParseInLocation(p.layout, string(b), p.loc)
		return t.Unix(), err == nil
	}
	if at, ok := impNaiveTime(b, p.loc); ok {
		return at, true
	}
	if len(b) < 8 {
		return 0, false
	}
	s := string(b)
	if p.retail {
		t, err := time.ParseInLocation("1/2/2006 15:04", s, p.loc)
		return t.Unix(), err == nil
	}
	for _, l := range impAutoLayouts {
		if t, err := time.ParseInLocation(l, s, p.loc); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

func (p *impTimeParser) reason() string {
	switch {
	case p.layout != "":
		return fmt.Sprintf("is not a time in the layout %q", p.layout)
	case p.retail:
		return `is not a time like "2010-12-01 08:26:00"`
	}
	return `is not a time (want RFC 3339, "2006-01-02 15:04:05" or "2006-01-02")`
}

// impCSVReader yields CSV records, joining the lines of quoted fields that
// contain line breaks.
type impCSVReader struct {
	src     *impSource
	comma   byte
	fields  [][]byte
	scratch []byte
	rec     []byte
}

// next returns the next non-blank record: its raw text (line breaks inside
// quotes as "\n"), its fields and its first line number; ok = false at the end.
func (r *impCSVReader) next() (raw []byte, fields [][]byte, line int64, ok bool, err error) {
	for {
		b, ok, err := r.src.next()
		if err != nil || !ok {
			return nil, nil, 0, false, err
		}
		if len(b) == 0 {
			continue
		}
		line = r.src.line
		var st impSplit
		var col int
		r.fields, r.scratch, st, col = impSplitCSV(b, r.comma, r.fields[:0], r.scratch[:0])
		if st == impSplitOpen {
			// A quoted field runs over the line end: gather lines until it closes.
			r.rec = append(r.rec[:0], b...)
			for st == impSplitOpen {
				nb, ok, err := r.src.next()
				if err != nil {
					return nil, nil, 0, false, err
				}
				if !ok {
					return nil, nil, 0, false, &ImportError{Line: line, Column: col, Reason: "opens a quoted field that is never closed"}
				}
				if len(r.rec)+1+len(nb) > impMaxLine {
					return nil, nil, 0, false, &ImportError{Line: line, Column: col, Reason: fmt.Sprintf("opens a quoted field longer than %d bytes", impMaxLine)}
				}
				r.rec = append(append(r.rec, '\n'), nb...)
				r.fields, r.scratch, st, col = impSplitCSV(r.rec, r.comma, r.fields[:0], r.scratch[:0])
			}
			b = r.rec
		}
		if st == impSplitBad {
			return nil, nil, 0, false, &ImportError{Line: line, Column: col, Reason: `has text after the closing quote of a quoted field (write a quote inside quotes as "")`}
		}
		return b, r.fields, line, true, nil
	}
}

// impSplit is the outcome of splitting a record.
type impSplit uint8

const (
	impSplitOK   impSplit = iota
	impSplitOpen          // the record ends inside a quoted field
	impSplitBad           // text follows a closing quote
)

// impSplitCSV splits rec at comma into fields, RFC 4180 style: a field that
// starts with '"' is quoted, may hold commas and line breaks, and writes a
// quote as ""; a quote inside an unquoted field is an ordinary character.
// Fields alias rec, except quoted fields with "" which are unescaped into
// scratch. On impSplitOpen and impSplitBad col is the 1-based column at fault.
func impSplitCSV(rec []byte, comma byte, fields [][]byte, scratch []byte) ([][]byte, []byte, impSplit, int) {
	i := 0
	for {
		col := len(fields) + 1
		if i < len(rec) && rec[i] == '"' {
			i++
			seg, escaped := i, false
			start := len(scratch)
			for {
				j := bytes.IndexByte(rec[i:], '"')
				if j < 0 {
					return fields, scratch, impSplitOpen, col
				}
				q := i + j
				if q+1 < len(rec) && rec[q+1] == '"' {
					scratch = append(append(scratch, rec[seg:q]...), '"')
					escaped = true
					i = q + 2
					seg = i
					continue
				}
				if escaped {
					scratch = append(scratch, rec[seg:q]...)
					fields = append(fields, scratch[start:len(scratch):len(scratch)])
				} else {
					fields = append(fields, rec[seg:q])
				}
				i = q + 1
				break
			}
			if i == len(rec) {
				return fields, scratch, impSplitOK, 0
			}
			if rec[i] != comma {
				return fields, scratch, impSplitBad, col
			}
			i++
			continue
		}
		j := bytes.IndexByte(rec[i:], comma)
		if j < 0 {
			return append(fields, rec[i:]), scratch, impSplitOK, 0
		}
		fields = append(fields, rec[i:i+j])
		i += j + 1
	}
}

// impComma validates CSVMapping.Comma.
func impComma(c rune) (byte, error) {
	if c == 0 {
		return ',', nil
	}
	if c >= 0x80 || c == '"' || c == '\r' || c == '\n' {
		return 0, &ImportError{Field: "comma", Value: string(c), Reason: `is not a valid separator (want a single-byte character other than '"' and line breaks)`}
	}
	return byte(c), nil
}

// impPlanCSV reads the header against the wanted columns.
func impPlanCSV(f Format, header [][]byte, opts ImportOptions, cur string) (*impCSVPlan, error) {
	p := &impCSVPlan{retail: f == FormatOnlineRetail, ncols: len(header)}
	p.names = make([]string, len(header))
	for i, h := range header {
		p.names[i] = string(impTrim(h))
	}
	p.priceDigits = impMinorDigits(cur)
	p.times.loc = opts.Location
	m := opts.Mapping
	var want [impNRoles][]string
	var required [impNRoles]bool
	if p.retail {
		if p.times.loc == nil {
			p.times.loc = time.UTC
		}
		p.times.retail = true
		want = impRetailColumns
		for r := range impNRoles {
			required[r] = r != impChannel
		}
	} else {
		if p.times.loc == nil {
			p.times.loc = Shanghai
		}
		p.times.layout = m.TimeLayout
		if m.PriceInMinorUnits {
			p.priceDigits = 0
		}
		given := [impNRoles]string{m.Order, m.Customer, m.SKU, m.Qty, m.Price, m.Time, m.Channel, m.Region}
		for r := range impNRoles {
			name := strings.TrimSpace(given[r])
			optional := r == impCustomer || r == impChannel || r == impRegion
			required[r] = !optional || name != ""
			if name == "" {
				name = impCSVDefaults[r]
			}
			want[r] = []string{name}
		}
	}
	for r := range impNRoles {
		p.col[r] = -1
		for i, h := range p.names {
			match := false
			for _, w := range want[r] {
				match = match || strings.EqualFold(h, w)
			}
			if !match {
				continue
			}
			if p.col[r] >= 0 {
				return nil, &ImportError{Line: 1, Column: i + 1, Value: h, Reason: "appears twice in the header"}
			}
			p.col[r] = i
		}
		if p.col[r] < 0 && required[r] {
			return nil, &ImportError{Line: 1, Field: impRoleNames[r], Value: strings.Join(want[r], " or "),
				Reason: fmt.Sprintf("is not a column of the header (columns: %s)", strings.Join(p.names, ", "))}
		}
	}
	return p, nil
}

// importCSV reads the generic CSV format and the Online Retail preset.
func importCSV(src *impSource, f Format, cur string, opts ImportOptions) (*Dataset, ImportSummary, error) {
	var sum ImportSummary
	comma := byte(',')
	if f == FormatCSV {
		c, err := impComma(opts.Mapping.Comma)
		if err != nil {
			return nil, sum, err
		}
		comma = c
	}
	rd := &impCSVReader{src: src, comma: comma}
	_, header, _, ok, err := rd.next()
	if err != nil {
		return nil, sum, err
	}
	if !ok {
		return nil, sum, &ImportError{Reason: "the input has no header line (it is blank)"}
	}
	p, err := impPlanCSV(f, header, opts, cur)
	if err != nil {
		return nil, sum, err
	}
	b := newImpBuilder(cur)
	dedup := newImpDedup()
	fieldErr := func(line int64, col int, v []byte, reason string) error {
		return &ImportError{Line: line, Column: col + 1, Field: p.names[col], Value: string(v), Reason: reason}
	}
	col := p.col
	for {
		raw, fs, line, ok, err := rd.next()
		if err != nil {
			return nil, ImportSummary{}, err
		}
		if !ok {
			break
		}
		sum.LinesRead++
		if len(fs) != p.ncols {
			return nil, ImportSummary{}, &ImportError{Line: line, Reason: fmt.Sprintf("has %d columns, the header has %d", len(fs), p.ncols)}
		}
		// Every line is checked in full, even one that a rule will remove:
		// a malformed line anywhere fails the import.
		order := impTrim(fs[col[impOrder]])
		if len(order) == 0 {
			return nil, ImportSummary{}, fieldErr(line, col[impOrder], nil, "is empty (every line needs an order id)")
		}
		sku := impTrim(fs[col[impSKU]])
		if len(sku) == 0 {
			return nil, ImportSummary{}, fieldErr(line, col[impSKU], nil, "is empty (every line needs a SKU)")
		}
		qty, st := impParseQty(fs[col[impQty]])
		if st != impNumOK {
			return nil, ImportSummary{}, fieldErr(line, col[impQty], fs[col[impQty]], impNumReason(st, "a whole number"))
		}
		price, rounded, st := impParseDecimal(fs[col[impPrice]], p.priceDigits)
		if st != impNumOK {
			return nil, ImportSummary{}, fieldErr(line, col[impPrice], fs[col[impPrice]], impNumReason(st, "a number"))
		}
		if rounded {
			sum.RoundedPrices++
		}
		value, inRange := impLineValue(qty, price)
		if !inRange {
			return nil, ImportSummary{}, fieldErr(line, col[impPrice], fs[col[impPrice]], "times the quantity is out of range")
		}
		at, okT := p.times.parse(fs[col[impTime]])
		if !okT {
			return nil, ImportSummary{}, fieldErr(line, col[impTime], fs[col[impTime]], p.times.reason())
		}
		var cust, ch, rg []byte
		if col[impCustomer] >= 0 {
			cust = impTrim(fs[col[impCustomer]])
			if p.retail {
				cust = bytes.TrimSuffix(cust, []byte(".0")) // 17850.0 → 17850 (a pandas artefact)
			}
		}
		if col[impChannel] >= 0 {
			ch = impTrim(fs[col[impChannel]])
		}
		if col[impRegion] >= 0 {
			rg = impTrim(fs[col[impRegion]])
		}

		// The cleaning rules, in the order of ImportSummary.Rules.
		switch {
		case dedup.repeat(raw):
			sum.Duplicates++
			continue
		case p.retail && impIsRetailNonProduct(sku):
			sum.NonProduct++
			continue
		case p.retail && order[0] == 'C':
			sum.Cancellations++
			sum.CancelledAmount += value
			continue
		case price <= 0:
			sum.NonPositivePrice++
			continue
		case qty < 0:
			sum.Returns++
			sum.ReturnedAmount += value
			continue
		case qty == 0:
			sum.ZeroQuantity++
			continue
		}
		if len(cust) == 0 {
			sum.MissingCustomer++
		}
		sum.Sales += value
		if err := b.add(order, cust, sku, qty, price, at, ch, rg); err != nil {
			return nil, ImportSummary{}, err
		}
	}
	if sum.LinesRead == 0 {
		return nil, ImportSummary{}, &ImportError{Reason: "the input has a header but no data lines"}
	}
	sum.Rules = impCSVRules(p.retail, &sum)
	return b.d, sum, nil
}

// impCSVRules states the rules of the CSV formats with their counts.
func impCSVRules(retail bool, s *ImportSummary) []CleaningRule {
	rules := []CleaningRule{
		{"duplicate", "Exact duplicates removed: a line identical, byte for byte, to an earlier line is dropped.", s.Duplicates, true},
	}
	if retail {
		rules = append(rules,
			CleaningRule{"non-product", "Non-product stock codes removed: POST, DOT, C2 (postage, carriage), M (manual), D (discount), S (samples), BANK CHARGES, AMAZONFEE, CRUK, PADS, B (adjust bad debt), gift_0001_* (vouchers), DCGS*.", s.NonProduct, true},
			CleaningRule{"cancellation", "Cancellations removed: lines of invoices whose number starts with C; their value is summed for the return rate.", s.Cancellations, true})
	}
	rules = append(rules,
		CleaningRule{"non-positive-price", "Lines with a zero or negative unit price removed (free items, stock adjustments, bad-debt adjustments).", s.NonPositivePrice, true},
		CleaningRule{"return", "Returns removed: negative quantities (outside cancellation invoices); their value is summed for the return rate.", s.Returns, true},
		CleaningRule{"zero-quantity", "Lines with quantity 0 removed.", s.ZeroQuantity, true},
		CleaningRule{"missing-customer", "Lines without a customer id kept with an unknown customer (-1): product analytics use them, customer analytics (RFM, CLV, cohorts) skip them.", s.MissingCustomer, false},
		CleaningRule{"price-rounding", "Prices with more decimals than the currency's minor unit rounded half-up to the minor unit (counted over all lines read).", s.RoundedPrices, false},
	)
	return rules
}

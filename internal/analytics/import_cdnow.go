package analytics

import (
	"fmt"
	"time"
)

// impCDNOWSKU is the single product of CDNOW data, which records CDs bought, not titles.
const impCDNOWSKU = "CD"

// importCDNOW reads the CDNOW purchase log (see FormatCDNOW for the mapping
// and the rules). The first data line fixes the column count, 4 or 5; every
// line must have the same.
func importCDNOW(src *impSource, cur string, opts ImportOptions) (*Dataset, ImportSummary, error) {
	var sum ImportSummary
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	digits := impMinorDigits(cur)
	b := newImpBuilder(cur)
	b.d.Value = []int64{}
	repeats := newImpDedup()
	var fs [][]byte
	var orderBuf []byte
	var names []string
	ncols := 0
	sawFirst := false // the first non-blank line may be a header
	for {
		line, ok, err := src.next()
		if err != nil {
			return nil, ImportSummary{}, err
		}
		if !ok {
			break
		}
		fs = impSplitSpace(line, fs[:0])
		if len(fs) == 0 {
			continue
		}
		if ncols == 0 {
			if _, isNum := impDigits(fs[0]); !isNum && !sawFirst {
				sawFirst = true
				continue // the header of CDNOW_master (" customer_id  date number_of_cds  dollar_value")
			}
			sawFirst = true
			switch len(fs) {
			case 4:
				names = []string{"customer_id", "date", "number_of_cds", "dollar_value"}
			case 5:
				names = []string{"master_id", "customer_id", "date", "number_of_cds", "dollar_value"}
			default:
				return nil, ImportSummary{}, &ImportError{Line: src.line,
					Reason: fmt.Sprintf("has %d columns, want 4 (customer_id date number_of_cds dollar_value) or 5 (master_id customer_id date number_of_cds dollar_value)", len(fs))}
			}
			ncols = len(fs)
		}
		sum.LinesRead++
		if len(fs) != ncols {
			return nil, ImportSummary{}, &ImportError{Line: src.line, Reason: fmt.Sprintf("has %d columns, the first line has %d", len(fs), ncols)}
		}
		o := ncols - 4 // offset of customer_id
		fieldErr := func(i int, reason string) error {
			return &ImportError{Line: src.line, Column: i + 1, Field: names[i], Value: string(fs[i]), Reason: reason}
		}
		at, okT := impYMD(fs[o+1], loc)
		if !okT {
			return nil, ImportSummary{}, fieldErr(o+1, "is not a date YYYYMMDD")
		}
		qty, st := impParseQty(fs[o+2])
		if st != impNumOK {
			return nil, ImportSummary{}, fieldErr(o+2, impNumReason(st, "a whole number"))
		}
		value, rounded, st := impParseDecimal(fs[o+3], digits)
		if st != impNumOK {
			return nil, ImportSummary{}, fieldErr(o+3, impNumReason(st, "a number"))
		}
		if value > impMaxLineValue || value < -impMaxLineValue {
			return nil, ImportSummary{}, fieldErr(o+3, "is out of range")
		}
		if rounded {
			sum.RoundedPrices++
		}
		switch {
		case qty < 0:
			sum.Returns++
			sum.ReturnedAmount += max(value, -value)
			continue
		case qty == 0:
			sum.ZeroQuantity++
			continue
		case value < 0:
			sum.NonPositivePrice++
			continue
		}
		if repeats.repeat(line) {
			sum.RepeatedRows++
		}
		if value == 0 {
			sum.ZeroValue++
		}
		cust := fs[o]
		orderBuf = append(append(append(orderBuf[:0], cust...), ' '), fs[o+1]...)
		price := (2*value + int64(qty)) / (2 * int64(qty)) // value ÷ qty, half-up
		if err := b.add(orderBuf, cust, []byte(impCDNOWSKU), qty, price, at, nil, nil); err != nil {
			return nil, ImportSummary{}, err
		}
		b.d.Value = append(b.d.Value, value)
		sum.Sales += value
	}
	if sum.LinesRead == 0 {
		return nil, ImportSummary{}, &ImportError{Reason: "the input has no data lines"}
	}
	sum.Rules = []CleaningRule{
		{"return", "Rows with a negative number of CDs (returns) removed; their value is summed for the return rate.", sum.Returns, true},
		{"zero-quantity", "Rows with 0 CDs removed.", sum.ZeroQuantity, true},
		{"negative-value", "Rows with a negative dollar value removed.", sum.NonPositivePrice, true},
		{"zero-value", "Rows with dollar value 0 kept (free CDs): they are purchases, and the published BG/NBD estimates count them.", sum.ZeroValue, false},
		{"repeated-row", "Rows identical to an earlier row kept: without order ids they are separate purchases (same-day rows of a customer form one order).", sum.RepeatedRows, false},
		{"price-rounding", "Dollar values with more than 2 decimals rounded half-up to the cent.", sum.RoundedPrices, false},
	}
	return b.d, sum, nil
}

// impSplitSpace splits b at runs of spaces and tabs, dropping empty fields.
func impSplitSpace(b []byte, fs [][]byte) [][]byte {
	i := 0
	for i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		j := i
		for j < len(b) && b[j] != ' ' && b[j] != '\t' {
			j++
		}
		if j > i {
			fs = append(fs, b[i:j])
		}
		i = j
	}
	return fs
}

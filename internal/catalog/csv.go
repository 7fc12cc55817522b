package catalog

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// CSVHeader is the header of the catalog CSV format: one line per SKU
// (prices in integer fen), or per style without SKUs (the SKU columns
// empty).
var CSVHeader = []string{"style_code", "style_name", "category", "brand", "season", "lifecycle", "launch_date",
	"sku_code", "color", "size", "barcode", "list_price", "cost"}

// Limits of a CSV import.
const (
	MaxImportBytes = 50 << 20
	MaxImportLines = 200_000
)

// The two price columns may instead be given in yuan with up to two
// decimals (199.00), under these names.
const (
	colListPriceYuan = "list_price_yuan"
	colCostYuan      = "cost_yuan"
)

var (
	styleColumns = CSVHeader[:7]
	skuColumns   = CSVHeader[7:]
)

// column is where a canonical column sits in the file's header.
type column struct {
	index int    // 0-based
	name  string // as named in the header (list_price or list_price_yuan)
	yuan  bool
}

// csvLoc names fields as "line N, column M (name)".
type csvLoc struct {
	c         *collector
	cols      map[string]column
	styleLine []int
	skuLine   [][]int
}

func (l *csvLoc) at(line int, key, code, msg string) {
	col, ok := l.cols[key]
	if !ok {
		l.c.add(line, 0, fmt.Sprintf("line %d", line), code, msg)
		return
	}
	l.c.add(line, col.index+1, fmt.Sprintf("line %d, column %d (%s)", line, col.index+1, col.name), code, msg)
}

func (l *csvLoc) style(si int) addFunc {
	return func(f, code, msg string) {
		switch f {
		case "code":
			f = "style_code"
		case "name":
			f = "style_name"
		}
		l.at(l.styleLine[si], f, code, msg)
	}
}

func (l *csvLoc) sku(si, ki int) addFunc {
	return func(f, code, msg string) {
		if f == "code" {
			f = "sku_code"
		}
		l.at(l.skuLine[si][ki], f, code, msg)
	}
}

func (l *csvLoc) styleName(si int) string   { return fmt.Sprintf("line %d", l.styleLine[si]) }
func (l *csvLoc) skuName(si, ki int) string { return fmt.Sprintf("line %d", l.skuLine[si][ki]) }

// errTooLarge is returned by the size-limited reader.
var errTooLarge = errs.E(errs.TooLarge, "import_too_large", "the file exceeds %d MB", MaxImportBytes>>20)

// limitedReader fails with errTooLarge once more than left bytes come.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		for {
			n, err := l.r.Read(one[:])
			if n > 0 {
				l.exceeded = true
				return 0, errTooLarge
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ImportCSV creates or updates the styles and SKUs of a CSV file in the
// CSVHeader format (columns in any order; UTF-8, with or without a byte
// order mark; list_price_yuan and cost_yuan may replace the fen columns).
// Existing codes are updated as by BulkUpsert; SKUs created are active and
// the active flag of existing SKUs is kept.
//
// It is all or nothing: every line is checked first (fields, agreement of
// the style columns between the lines of a style, duplicates within the
// file and against the catalog) and any problem refuses the whole file
// with one validation error whose fields read "line 12, column 9
// (barcode)" (the line a record starts on; the header is line 1), listing
// up to MaxProblems of them. A file over MaxImportBytes or MaxImportLines
// is refused with kind TooLarge.
func (s *Service) ImportCSV(ctx context.Context, r io.Reader) (ImportResult, error) {
	lr := &limitedReader{r: r, left: MaxImportBytes}
	br := bufio.NewReaderSize(lr, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\xEF\xBB\xBF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	c := &collector{}
	loc := &csvLoc{c: c}

	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return ImportResult{}, errs.New(errs.Invalid, "empty_file", "the file is empty; its first line must be the header: "+strings.Join(CSVHeader, ","))
	}
	if err != nil {
		return ImportResult{}, readError(err, lr, c)
	}
	cols, err := parseHeader(head)
	if err != nil {
		return ImportResult{}, err
	}
	loc.cols = cols

	var styles []Style
	styleIdx := map[string]int{}
	var styleRaw [][]string // the style columns of each style's first line
	lines := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ImportResult{}, readError(err, lr, c)
		}
		line, _ := cr.FieldPos(0)
		if allEmpty(rec) {
			continue // a line of commas, as spreadsheets leave
		}
		lines++
		if lines > MaxImportLines {
			return ImportResult{}, errs.E(errs.TooLarge, "import_too_large", "the file has more than %d lines", MaxImportLines)
		}
		if len(rec) != len(head) {
			c.add(line, 0, fmt.Sprintf("line %d", line), "field_count", fmt.Sprintf("has %d fields; the header has %d", len(rec), len(head)))
			continue
		}
		val := func(key string) string { return strings.TrimSpace(rec[cols[key].index]) }
		rowAdd := func(f, code, msg string) {
			if f == "code" {
				f = "sku_code"
			}
			loc.at(line, f, code, msg)
		}

		k := SKU{Code: val("sku_code"), Color: val("color"), Size: val("size"), Barcode: val("barcode"), Active: true}
		hasSKU := false
		for _, key := range skuColumns {
			hasSKU = hasSKU || val(key) != ""
		}
		if hasSKU {
			k.ListPrice = parsePrice(val("list_price"), cols["list_price"].yuan, "list_price", rowAdd)
			k.Cost = parsePrice(val("cost"), cols["cost"].yuan, "cost", rowAdd)
		}

		code := val("style_code")
		if code == "" {
			loc.at(line, "style_code", "required", "is required")
			if hasSKU {
				checkSKU(k, rowAdd)
			}
			continue
		}
		si, seen := styleIdx[code]
		if !seen {
			si = len(styles)
			styleIdx[code] = si
			raw := make([]string, len(styleColumns))
			for i, key := range styleColumns {
				raw[i] = val(key)
			}
			styleRaw = append(styleRaw, raw)
			styles = append(styles, Style{Code: code, Name: raw[1], Category: raw[2], Brand: raw[3], Season: raw[4],
				Lifecycle: Lifecycle(raw[5]), LaunchDate: raw[6]})
			loc.styleLine = append(loc.styleLine, line)
			loc.skuLine = append(loc.skuLine, nil)
		} else {
			for i, key := range styleColumns {
				if v := val(key); v != styleRaw[si][i] {
					loc.at(line, key, "style_mismatch", fmt.Sprintf("is %q but line %d has %q for style %q; the lines of a style must agree",
						clip(v), loc.styleLine[si], clip(styleRaw[si][i]), code))
				}
			}
		}
		if hasSKU {
			k.StyleCode = code
			styles[si].SKUs = append(styles[si].SKUs, k)
			loc.skuLine[si] = append(loc.skuLine[si], line)
		}
	}
	validateModel(styles, loc)
	res, err := s.bulk(ctx, styles, loc, c, true, "imported")
	res.Lines = lines
	if err != nil {
		return res, fmt.Errorf("catalog: import csv: %w", err)
	}
	return res, nil
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

// readError reports a CSV syntax error (which ends the reading) together
// with the problems found before it.
func readError(err error, lr *limitedReader, c *collector) error {
	if lr.exceeded {
		return errTooLarge
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		c.add(pe.Line, 0, fmt.Sprintf("line %d", pe.Line), "malformed_csv", fmt.Sprintf("is not valid CSV: %v (at character %d)", pe.Err, pe.Column))
		return fmt.Errorf("catalog: import csv: %w", c.err("imported"))
	}
	if e, ok := errs.As(err); ok {
		return e
	}
	return errs.E(errs.Malformed, "unreadable_body", "the file could not be read: %v", err)
}

func allEmpty(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parseHeader maps the canonical columns to the file's columns.
func parseHeader(head []string) (map[string]column, error) {
	var v errs.Validator
	cols := map[string]column{}
	for i, h := range head {
		name := strings.ToLower(strings.TrimSpace(h))
		key, yuan := name, false
		switch name {
		case colListPriceYuan:
			key, yuan = "list_price", true
		case colCostYuan:
			key, yuan = "cost", true
		}
		field := fmt.Sprintf("line 1, column %d (%s)", i+1, clip(strings.ToValidUTF8(name, "?")))
		known := false
		for _, c := range CSVHeader {
			known = known || c == key
		}
		if !known {
			v.Add(field, "unknown_column", "is not a column of the catalog format: "+strings.Join(CSVHeader, ","))
			continue
		}
		if prev, dup := cols[key]; dup {
			v.Add(field, "duplicate_column", fmt.Sprintf("repeats column %d (%s)", prev.index+1, prev.name))
			continue
		}
		cols[key] = column{index: i, name: name, yuan: yuan}
	}
	for _, c := range CSVHeader {
		if _, ok := cols[c]; !ok {
			v.Add(fmt.Sprintf("line 1 (%s)", c), "missing_column", "the header lacks this column")
		}
	}
	return cols, v.Err()
}

// parsePrice reads a price in fen ("19900") or, for a yuan column, in yuan
// with up to two decimals ("199.00", "199.5", "199"), exactly, without
// floating point.
func parsePrice(s string, yuan bool, field string, add addFunc) int64 {
	if s == "" {
		add(field, "required", "is required")
		return 0
	}
	if yuan {
		n, ok := parseYuan(s)
		if !ok {
			add(field, "invalid_number", "must be an amount in yuan with at most two decimals, like 199.00")
		}
		return n
	}
	if !allDigits(s) || len(s) > 15 {
		add(field, "invalid_number", "must be a whole number of fen (分), like 19900")
		return 0
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseYuan converts "199.00" to 19900 fen.
func parseYuan(s string) (int64, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if !allDigits(whole) || len(whole) > 12 || dot && (len(frac) < 1 || len(frac) > 2 || !allDigits(frac)) {
		return 0, false
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if dot {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, true
}

// ExportCSV writes the whole catalog in the CSVHeader format, ordered by
// style and SKU code: one line per SKU and one per style without SKUs. Its
// output imports back unchanged.
func (s *Service) ExportCSV(ctx context.Context, w io.Writer) error {
	rows, err := s.db.Query(ctx, `SELECT s.code, s.name, s.category, s.brand, s.season, s.lifecycle, s.launch_date,
		k.code, k.color, k.size, k.barcode, k.list_price, k.cost
		FROM styles s LEFT JOIN skus k ON k.style_id = s.id ORDER BY s.code, k.code`)
	if err != nil {
		return fmt.Errorf("catalog: export csv: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("catalog: export csv: %w", err)
	}
	rec := make([]string, len(CSVHeader))
	for rows.Next() {
		var code, color, size, barcode sql.NullString
		var price, cost sql.NullInt64
		if err := rows.Scan(&rec[0], &rec[1], &rec[2], &rec[3], &rec[4], &rec[5], &rec[6],
			&code, &color, &size, &barcode, &price, &cost); err != nil {
			return fmt.Errorf("catalog: export csv: %w", err)
		}
		rec[7], rec[8], rec[9], rec[10] = code.String, color.String, size.String, barcode.String
		rec[11], rec[12] = "", ""
		if code.Valid {
			rec[11], rec[12] = strconv.FormatInt(price.Int64, 10), strconv.FormatInt(cost.Int64, 10)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("catalog: export csv: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: export csv: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("catalog: export csv: %w", err)
	}
	return nil
}

package analytics

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Format names a transaction file layout that Import understands.
type Format string

// The formats Import reads.
const (
	// FormatOnlineRetail is the UCI "Online Retail" export: a CSV with the header
	// InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
	// (the "Online Retail II" names Invoice, Price and "Customer ID" are accepted
	// too). Currency GBP. InvoiceDate ("2010-12-01 08:26:00", or "12/1/2010 8:26"
	// in other copies) has no zone and is read as UTC, so UTC dates are the
	// file's dates. CustomerID "17850.0" becomes "17850"; Country is the Region;
	// Description is not kept. Its own rules: invoices starting with C are
	// cancellations, and the stock codes POST, DOT, M, C2, D, S, BANK CHARGES,
	// AMAZONFEE, CRUK, PADS, B, gift_0001_* and DCGS* are not products.
	FormatOnlineRetail Format = "online-retail"
	// FormatCDNOW is the CDNOW purchase log of Fader, Hardie & Lee (2005):
	// whitespace-separated "customer_id date(YYYYMMDD) number_of_cds
	// dollar_value" (CDNOW_master, with an optional header line), or
	// "master_id customer_id date number_of_cds dollar_value" (CDNOW_sample,
	// whose customer_id 1..2357 is the ID of the published calibration
	// summaries; the master id is dropped). Currency USD.
	//
	// One Dataset line per row: Qty = number_of_cds, SKU "CD", no channel or
	// region, At = midnight UTC of the date, Order = customer + " " + date (the
	// rows of a customer on a day are one order, a purchase occasion as BG/NBD
	// counts them). The dollar value is a line total, so it is held exactly, in
	// cents, in Dataset.Value (Dataset.Amount returns it); Price is Value ÷ Qty
	// rounded half-up, for display. Rows with value 0 (80 in the master, 8 in
	// the sample, each a customer's only purchase) are kept with Price 0,
	// because the published BG/NBD estimates count them: a CDNOW Dataset is the
	// one kind that may hold Price = 0. Identical rows are kept (no order ids
	// to tell them apart); negative quantities, quantity 0 and negative values
	// are removed.
	FormatCDNOW Format = "cdnow"
	// FormatCSV is any CSV with a header row, read through a CSVMapping, with
	// order, customer, SKU, quantity, unit price, time, channel (store) and
	// region columns. Currency CNY unless ImportOptions.Currency says otherwise.
	FormatCSV Format = "csv"
)

// ParseFormat returns the Format named s, or an *ImportError naming the known formats.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatOnlineRetail, FormatCDNOW, FormatCSV:
		return f, nil
	}
	return "", &ImportError{Field: "format", Value: s, Reason: "is not a known format (want online-retail, cdnow or csv)"}
}

// ImportOptions says how to read a transaction file.
type ImportOptions struct {
	Format  Format
	Mapping CSVMapping // FormatCSV only
	// Currency is the ISO 4217 code of the amounts. Empty means the format's own:
	// GBP for online-retail, USD for cdnow, CNY for csv. It decides the minor unit
	// (2 decimals for most currencies, 0 for JPY, KRW…, 3 for KWD, BHD…).
	Currency string
	// Location is the time zone of timestamps that carry none. Nil means the
	// format's own: UTC for online-retail and cdnow (so the source's calendar
	// dates are the UTC dates of the dataset), Asia/Shanghai for csv.
	Location *time.Location
	// Progress, when set, is called every 65,536 lines and once at the end
	// with the lines read so far (physical lines of the decompressed input,
	// header and blank lines included) and the bytes read from the input reader
	// (compressed bytes for gzip input, so they compare with the file's size).
	Progress func(linesRead int64, bytesRead int64)

	progressEvery int64 // lines between Progress calls; 0 means impProgressEvery (tests set it)
}

// CSVMapping names the header columns of a generic CSV. Header names match
// case-insensitively after trimming spaces. Empty fields mean the defaults:
// order_id, customer_id, sku, quantity, unit_price, timestamp, channel, region.
// Order, SKU, Qty, Price and Time columns must exist. Customer, Channel and
// Region may be absent from the file when left at their defaults (every line
// then has an unknown customer, channel or region); a name set explicitly must exist.
type CSVMapping struct {
	Order, Customer, SKU, Qty, Price, Time, Channel, Region string
	// TimeLayout is a Go time layout for the Time column. Empty accepts RFC 3339
	// (with a zone), "2006-01-02 15:04:05" (also with a T, with or without
	// fractional seconds) and "2006-01-02"; zone-less values are in ImportOptions.Location.
	TimeLayout string
	// PriceInMinorUnits says the Price column is an integer count of minor units
	// (fen, cents) rather than a decimal amount in major units.
	PriceInMinorUnits bool
	// Comma is the field separator; 0 means ','. It must be a single-byte
	// character other than '"', '\r' and '\n'.
	Comma rune
}

// ImportSummary reports what an import read and what each cleaning rule did.
//
// Every data line is counted by exactly one removing rule or kept, so
// LinesRead = LinesKept + Duplicates + NonProduct + Cancellations +
// NonPositivePrice + Returns + ZeroQuantity. Rules are applied in that order
// (the order of Rules); a line is counted by the first rule that removes it.
type ImportSummary struct {
	Format   Format `json:"format"`
	Currency string `json:"currency"`

	LinesRead int64 `json:"lines_read"` // data lines (header and blank lines excluded)
	LinesKept int64 `json:"lines_kept"` // lines in the Dataset

	Duplicates       int64 `json:"duplicates"`         // removed: byte-for-byte repeats of an earlier line (not for cdnow)
	NonProduct       int64 `json:"non_product"`        // removed: postage, fees, manual adjustments (online-retail)
	Cancellations    int64 `json:"cancellations"`      // removed: lines of cancellation invoices (online-retail "C…")
	CancelledAmount  int64 `json:"cancelled_amount"`   // minor units, |qty| × price summed over Cancellations
	NonPositivePrice int64 `json:"non_positive_price"` // removed: unit price (cdnow: line value) zero or negative
	Returns          int64 `json:"returns"`            // removed: negative quantity outside cancellation invoices
	ReturnedAmount   int64 `json:"returned_amount"`    // minor units, |qty| × price summed over Returns
	ZeroQuantity     int64 `json:"zero_quantity"`      // removed: quantity 0

	MissingCustomer int64 `json:"missing_customer"` // kept lines without a customer (Customer = -1)
	ZeroValue       int64 `json:"zero_value"`       // kept cdnow purchases with value 0 (free CDs)
	RepeatedRows    int64 `json:"repeated_rows"`    // kept cdnow rows identical to an earlier row
	RoundedPrices   int64 `json:"rounded_prices"`   // parsed prices with more decimals than the minor unit, rounded half-up

	Sales     int64 `json:"sales"`     // minor units, Σ Amount over kept lines
	Orders    int   `json:"orders"`    // distinct orders in the Dataset
	Customers int   `json:"customers"` // distinct known customers in the Dataset
	SKUs      int   `json:"skus"`      // distinct SKUs in the Dataset

	Rules []CleaningRule `json:"rules"` // every rule of the format, in the order applied, with its count
}

// ReturnRate is the value of cancellations and returns over the value of the
// kept sales (0 when there are no sales).
func (s ImportSummary) ReturnRate() float64 {
	if s.Sales <= 0 {
		return 0
	}
	return float64(s.CancelledAmount+s.ReturnedAmount) / float64(s.Sales)
}

// CleaningRule is one cleaning rule as applied to an import: a stable name, a
// sentence saying what it does, and how many lines it touched. Removed rules
// dropped their lines; the others kept (or adjusted) them.
type CleaningRule struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Lines       int64  `json:"lines"`
	Removed     bool   `json:"removed"`
}

// ImportError says why an import failed and where: the 1-based line of the
// (decompressed) input, the 1-based column and its header name when one field is
// at fault, the offending value and the reason. Line 0 means the input as a
// whole (an empty file, an unknown format, a bad option).
type ImportError struct {
	Line   int64
	Column int
	Field  string
	Value  string
	Reason string
	Err    error // underlying read or decompression error, if any
}

// Error reads like `line 1234, column 6 (UnitPrice): "abc" is not a number`.
func (e *ImportError) Error() string {
	var b strings.Builder
	b.WriteString("import: ")
	where := false
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
		where = true
	}
	if e.Column > 0 {
		if where {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column %d", e.Column)
		where = true
	}
	if e.Field != "" {
		if where {
			fmt.Fprintf(&b, " (%s)", e.Field)
		} else {
			b.WriteString(e.Field)
		}
		where = true
	}
	if where {
		b.WriteString(": ")
	}
	if e.Value != "" || e.Field != "" {
		v := e.Value
		if len(v) > 60 {
			v = v[:60] + "…"
		}
		b.WriteString(strconv.Quote(v))
		b.WriteByte(' ')
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the underlying read error, if any.
func (e *ImportError) Unwrap() error { return e.Err }

// Import reads a transaction file in opts.Format and returns the cleaned
// Dataset with a summary of the cleaning. Gzip input (detected by its magic
// bytes) is decompressed on the fly; CRLF line ends and a UTF-8 BOM are accepted.
//
// The import is all-or-nothing: on the first malformed line (wrong column
// count, a non-numeric quantity or price, an unparseable date, an empty order
// id or SKU…) it returns a nil Dataset, a zero summary and an *ImportError with
// the line and column. Every error it returns is an *ImportError.
//
// What the Dataset holds: the "valid sales" lines — quantity > 0, unit price
// > 0, product codes only, exact duplicates removed, cancellations and returns
// removed. Lines without a customer are kept with Customer = -1 so that product
// analytics (ABC, KPIs) see all sales; customer analytics (RFM, CLV, cohorts)
// must skip Customer < 0, which then gives the standard definition "quantity > 0,
// price > 0, customer present, not a cancellation". Cancellations and returns
// are not in the Dataset: the summary counts them and sums their value so that
// the return rate can be computed (ImportSummary.ReturnRate).
//
// Prices are parsed from their decimal text into minor units exactly (no
// floating point); more decimals than the currency has are rounded half-up
// (away from zero) to the nearest minor unit and counted in RoundedPrices — in
// the UCI file only four 0.001 prices, all on non-product codes.
//
// Format specifics (column mapping, time zones, own rules) are documented on
// FormatOnlineRetail, FormatCDNOW and FormatCSV.
func Import(r io.Reader, opts ImportOptions) (*Dataset, ImportSummary, error) {
	f, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, ImportSummary{}, err
	}
	cur, err := impCurrency(f, opts.Currency)
	if err != nil {
		return nil, ImportSummary{}, err
	}
	src, err := impOpen(r, opts.Progress, opts.progressEvery)
	if err != nil {
		return nil, ImportSummary{}, err
	}
	defer src.close()
	var d *Dataset
	var sum ImportSummary
	switch f {
	case FormatCDNOW:
		d, sum, err = importCDNOW(src, cur, opts)
	default:
		d, sum, err = importCSV(src, f, cur, opts)
	}
	if err != nil {
		return nil, ImportSummary{}, err
	}
	sum.Format, sum.Currency = f, cur
	sum.LinesKept = int64(d.Len())
	sum.Orders, sum.Customers, sum.SKUs = len(d.OrderIDs), len(d.CustomerIDs), len(d.SKUIDs)
	src.report()
	return d, sum, nil
}

// ImportFile opens path and imports it with Import. A file that cannot be
// opened gives the *os.PathError of os.Open.
func ImportFile(path string, opts ImportOptions) (*Dataset, ImportSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ImportSummary{}, err
	}
	defer f.Close()
	return Import(f, opts)
}

// impCurrency validates the currency and applies the format's default.
func impCurrency(f Format, c string) (string, error) {
	if c == "" {
		switch f {
		case FormatOnlineRetail:
			return "GBP", nil
		case FormatCDNOW:
			return "USD", nil
		default:
			return "CNY", nil
		}
	}
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "", &ImportError{Field: "currency", Value: c, Reason: "is not an ISO 4217 code (three letters, e.g. CNY)"}
	}
	return c, nil
}

// impMinorDigits is the number of decimals of a currency's minor unit.
func impMinorDigits(c string) int {
	switch c {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// impMaxLine bounds one record (a physical line, or a quoted multi-line CSV record).
const impMaxLine = 1 << 20

// impProgressEvery is how many lines pass between Progress calls.
const impProgressEvery = 1 << 16

// impCounter counts the bytes read from the caller's reader (atomically: with
// gzip input the reads happen on the read-ahead goroutine).
type impCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *impCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// impAhead decompresses on a second goroutine while the caller parses, so
// that gzip input uses two cores: blocks of decompressed bytes pass through
// a channel and are recycled once consumed.
type impAhead struct {
	blocks chan impBlock
	free   chan []byte
	done   chan struct{}
	cur    []byte // unread part of the current block
	buf    []byte // the current block, to recycle
	err    error
}

type impBlock struct {
	b   []byte
	err error
}

const impAheadBlocks, impAheadSize = 4, 256 << 10

func newImpAhead(r io.Reader) *impAhead {
	a := &impAhead{blocks: make(chan impBlock, impAheadBlocks), free: make(chan []byte, impAheadBlocks+1), done: make(chan struct{})}
	for range impAheadBlocks + 1 {
		a.free <- make([]byte, impAheadSize)
	}
	go func() {
		defer close(a.blocks)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-a.done:
				return
			}
			n, err := 0, error(nil)
			for n < len(buf) && err == nil {
				var m int
				m, err = r.Read(buf[n:])
				n += m
			}
			select {
			case a.blocks <- impBlock{buf[:n], err}:
			case <-a.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *impAhead) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		if a.err != nil {
			return 0, a.err
		}
		blk, ok := <-a.blocks
		if !ok {
			return 0, io.EOF
		}
		a.cur, a.buf, a.err = blk.b, blk.b, blk.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// close stops the read-ahead goroutine.
func (a *impAhead) close() { close(a.done) }

// impSource yields the physical lines of the (decompressed) input.
type impSource struct {
	cnt      *impCounter
	br       *bufio.Reader
	gz       *gzip.Reader
	ahead    *impAhead // set for gzip input
	long     []byte    // assembles lines longer than the read buffer
	line     int64     // number of the line last returned, 1-based
	progress func(int64, int64)
	every    int64 // lines between progress calls
}

func impOpen(r io.Reader, progress func(int64, int64), every int64) (*impSource, error) {
	if every <= 0 {
		every = impProgressEvery
	}
	s := &impSource{cnt: &impCounter{r: r}, progress: progress, every: every}
	s.br = bufio.NewReaderSize(s.cnt, 256<<10)
	magic, err := s.br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, s.readErr(err)
	}
	if len(magic) == 0 {
		return nil, &ImportError{Reason: "the input is empty"}
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(s.br)
		if err != nil {
			return nil, s.readErr(err)
		}
		s.gz = gz
		s.ahead = newImpAhead(gz)
		s.br = bufio.NewReaderSize(s.ahead, 256<<10)
		if _, err := s.br.Peek(1); err != nil {
			s.close()
			if err == io.EOF {
				return nil, &ImportError{Reason: "the input is empty (an empty gzip stream)"}
			}
			return nil, s.readErr(err)
		}
	}
	return s, nil
}

// close releases the read-ahead goroutine, if any.
func (s *impSource) close() {
	if s.ahead != nil {
		s.ahead.close()
	}
}

// readErr wraps a read or decompression error with the line it stopped at.
func (s *impSource) readErr(err error) *ImportError {
	reason := "read error: " + err.Error()
	if s.gz != nil || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) {
		reason = "gzip: " + err.Error()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		reason = "the input ends abruptly (truncated file?): " + err.Error()
	}
	return &ImportError{Line: s.line + 1, Reason: reason, Err: err}
}

// next returns the next physical line without its line end, or ok = false at
// the end of the input. The slice is valid until the following call.
func (s *impSource) next() (line []byte, ok bool, err error) {
	b, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(s.long) > impMaxLine {
				return nil, false, &ImportError{Line: s.line + 1, Reason: fmt.Sprintf("is longer than %d bytes", impMaxLine)}
			}
			b, err = s.br.ReadSlice('\n')
			s.long = append(s.long, b...)
		}
		b = s.long
	}
	if err != nil && err != io.EOF {
		return nil, false, s.readErr(err)
	}
	if len(b) == 0 {
		return nil, false, nil
	}
	if len(b) > impMaxLine {
		return nil, false, &ImportError{Line: s.line + 1, Reason: fmt.Sprintf("is longer than %d bytes", impMaxLine)}
	}
	s.line++
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if s.line == 1 {
		b = bytes.TrimPrefix(b, []byte("\ufeff"))
	}
	if s.progress != nil && s.line%s.every == 0 {
		s.progress(s.line, s.cnt.n.Load())
	}
	return b, true, nil
}

// report makes the final Progress call.
func (s *impSource) report() {
	if s.progress != nil {
		s.progress(s.line, s.cnt.n.Load())
	}
}

// impDict interns strings into one of the Dataset's dictionaries.
type impDict struct {
	m    map[string]int32
	list *[]string
}

func newImpDict(list *[]string) impDict { return impDict{m: map[string]int32{}, list: list} }

// id returns the index of b, adding it if new. Looking up string(b) does not allocate.
func (d impDict) id(b []byte) int32 {
	if id, ok := d.m[string(b)]; ok {
		return id
	}
	s := string(b)
	id := int32(len(*d.list))
	d.m[s] = id
	*d.list = append(*d.list, s)
	return id
}

// impBuilder appends kept lines to a Dataset.
type impBuilder struct {
	d                                     *Dataset
	orders, customers, skus, chans, regns impDict
}

func newImpBuilder(currency string) *impBuilder {
	d := &Dataset{Currency: currency}
	return &impBuilder{d: d,
		orders: newImpDict(&d.OrderIDs), customers: newImpDict(&d.CustomerIDs), skus: newImpDict(&d.SKUIDs),
		chans: newImpDict(&d.Channels), regns: newImpDict(&d.Regions)}
}

// add appends one line; an empty customer, channel or region is unknown (-1).
func (b *impBuilder) add(order, customer, sku []byte, qty int32, price, at int64, channel, region []byte) error {
	d := b.d
	if len(d.OrderIDs) >= math.MaxInt32-1 || len(d.CustomerIDs) >= math.MaxInt32-1 || len(d.SKUIDs) >= math.MaxInt32-1 {
		return &ImportError{Reason: "too many distinct orders, customers or SKUs for one dataset"}
	}
	d.Order = append(d.Order, b.orders.id(order))
	d.Customer = append(d.Customer, b.opt(b.customers, customer))
	d.SKU = append(d.SKU, b.skus.id(sku))
	d.Qty = append(d.Qty, qty)
	d.Price = append(d.Price, price)
	d.At = append(d.At, at)
	d.Channel = append(d.Channel, b.opt(b.chans, channel))
	d.Region = append(d.Region, b.opt(b.regns, region))
	return nil
}

func (b *impBuilder) opt(dict impDict, s []byte) int32 {
	if len(s) == 0 {
		return -1
	}
	return dict.id(s)
}

// impDedup remembers lines seen, by a 128-bit hash of their bytes (two
// independent seeds: a false "duplicate" is about as likely as 2^-128 per
// pair). The first half keys a fast map; lines whose first halves collide
// while the second halves differ go to an overflow map.
type impDedup struct {
	s1, s2 maphash.Seed
	seen   map[uint64]uint64
	more   map[[2]uint64]struct{}
}

func newImpDedup() *impDedup {
	return &impDedup{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(), seen: map[uint64]uint64{}, more: map[[2]uint64]struct{}{}}
}

// repeat reports whether b was seen before, and remembers it.
func (d *impDedup) repeat(b []byte) bool {
	h1, h2 := maphash.Bytes(d.s1, b), maphash.Bytes(d.s2, b)
	old, ok := d.seen[h1]
	if !ok {
		d.seen[h1] = h2
		return false
	}
	if old == h2 {
		return true
	}
	k := [2]uint64{h1, h2}
	if _, ok := d.more[k]; ok {
		return true
	}
	d.more[k] = struct{}{}
	return false
}

// impNum is the outcome of parsing a number.
type impNum uint8

const (
	impNumOK impNum = iota
	impNumSyntax
	impNumRange
)

// impParseDecimal parses an optionally signed decimal ("12", "-3.5", "+0.001",
// ".5") into an integer count of 10^-digits units, exactly. Extra fraction
// digits are rounded half-up, away from zero; rounded reports that they were
// not all zero. Spaces around the number are ignored.
func impParseDecimal(b []byte, digits int) (v int64, rounded bool, st impNum) {
	b = impTrim(b)
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	const max = math.MaxInt64
	n, i, nd := int64(0), 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := int64(b[i] - '0')
		if n > (max-d)/10 {
			return 0, false, impNumRange
		}
		n = n*10 + d
		nd++
	}
	frac := 0
	roundUp := false
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			d := int64(b[i] - '0')
			nd++
			switch {
			case frac < digits:
				if n > (max-d)/10 {
					return 0, false, impNumRange
				}
				n = n*10 + d
				frac++
			case frac == digits:
				roundUp = d >= 5
				rounded = rounded || d != 0
				frac++
			default:
				rounded = rounded || d != 0
			}
		}
	}
	if i != len(b) || nd == 0 {
		return 0, false, impNumSyntax
	}
	for ; frac < digits; frac++ {
		if n > max/10 {
			return 0, false, impNumRange
		}
		n *= 10
	}
	if roundUp {
		if n == max {
			return 0, false, impNumRange
		}
		n++
	}
	if neg {
		n = -n
	}
	return n, rounded, impNumOK
}

// impParseQty parses a whole quantity ("3", "-2", "4.0") that fits in int32.
func impParseQty(b []byte) (int32, impNum) {
	v, frac, st := impParseDecimal(b, 0)
	if st != impNumOK {
		return 0, st
	}
	if frac {
		return 0, impNumSyntax
	}
	if v > math.MaxInt32 || v < -math.MaxInt32 {
		return 0, impNumRange
	}
	return int32(v), impNumOK
}

// impMaxLineValue bounds |qty| × price of one line (10^15 minor units), so that
// amounts and their sums stay far from int64 overflow.
const impMaxLineValue = 1_000_000_000_000_000

// impLineValue is |qty| × |price|, or false when it exceeds impMaxLineValue.
func impLineValue(qty int32, price int64) (int64, bool) {
	q := int64(qty)
	if q < 0 {
		q = -q
	}
	if price < 0 {
		price = -price
	}
	if q != 0 && price > impMaxLineValue/q {
		return 0, false
	}
	return q * price, true
}

// impTrim removes ASCII spaces and tabs around b.
func impTrim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// impDigits parses b, all ASCII digits, as a non-negative int.
func impDigits(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// impDate builds a time from its parts and rejects values that time.Date would
// normalise (February 30, hour 24…).
func impDate(y, mo, d, h, mi, sec int, loc *time.Location) (int64, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return 0, false
	}
	return t.Unix(), true
}

// impNaiveTime parses "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS" (no zone) in loc.
func impNaiveTime(b []byte, loc *time.Location) (int64, bool) {
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y, ok1 := impDigits(b[0:4])
	mo, ok2 := impDigits(b[5:7])
	d, ok3 := impDigits(b[8:10])
	h, ok4 := impDigits(b[11:13])
	mi, ok5 := impDigits(b[14:16])
	s, ok6 := impDigits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	return impDate(y, mo, d, h, mi, s, loc)
}

// impYMD parses "YYYYMMDD" as midnight in loc.
func impYMD(b []byte, loc *time.Location) (int64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	y, ok1 := impDigits(b[0:4])
	mo, ok2 := impDigits(b[4:6])
	d, ok3 := impDigits(b[6:8])
	if !(ok1 && ok2 && ok3) {
		return 0, false
	}
	return impDate(y, mo, d, 0, 0, 0, loc)
}

// impNumReason is the error text for a failed number.
func impNumReason(st impNum, what string) string {
	if st == impNumRange {
		return "is out of range"
	}
	return "is not " + what
}

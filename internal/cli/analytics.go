package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/omni-retail/omni/internal/analytics"
	"github.com/omni-retail/omni/internal/bench"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
)

const analyticsUsage = `Usage: omni analytics <command> --input FILE --format online-retail|cdnow|csv [flags]
       omni analytics <command> --source orders [--db URL] [flags]

Commands (each runs directly on a transaction file, gzip or plain, or with
--source orders on the live orders of an Omni store: paid order lines and
completed returns, in the Asia/Shanghai calendar):
  import     read and clean the file, or read the orders; print the summary
  rfm        RFM scores and segments as of a date (--as-of, default the day after the last sale)
  clv        BG/NBD + Gamma-Gamma fit with --calibration-end; expected purchases and value
  personas   k-means personas (--k, --seed)
  cohorts    monthly acquisition cohorts, retention and repurchase rates
  abc        ABC by revenue share and XYZ by demand variability per SKU
  kpis       sales, orders, AOV, units per order, margin, return and repurchase rates per
             --grain day|week|month, --by channel|region|store, with MoM/YoY; with --month YYYY-MM or
             --html FILE, the monthly report (JSON; --html also writes the printable page,
             default month: the last full month in the data)

Common flags: --json prints one JSON object; --progress shows import progress on stderr;
--db (default $OMNI_DB, else sqlite:./omni.db) names the store for --source orders.
`

// analyticsFlags are the flags every analytics command shares.
type analyticsFlags struct {
	input, format, currency, asOf string
	source, dbURL                 string
	asJSON, progress              bool
}

// analyticsData is what a command runs over: an imported file or the live orders.
type analyticsData struct {
	d      *analytics.Dataset
	loc    *time.Location           // business calendar: UTC for files, Asia/Shanghai for orders
	sum    *analytics.ImportSummary // files only
	orders *analytics.OrdersSummary // orders only
}

func analyticsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, analyticsUsage)
		if len(args) == 0 {
			return usageError{errors.New("analytics: name a command")}
		}
		return nil
	}
	cmd := args[0]
	if !slices.Contains([]string{"import", "rfm", "clv", "personas", "cohorts", "abc", "kpis"}, cmd) {
		return usageError{fmt.Errorf("analytics: unknown command %q (want import, rfm, clv, personas, cohorts, abc or kpis)", cmd)}
	}
	fs := flag.NewFlagSet("omni analytics "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f analyticsFlags
	fs.StringVar(&f.source, "source", "file", "file (--input) or orders (the live orders of the store named by --db)")
	fs.StringVar(&f.dbURL, "db", "", "orders: the store, sqlite:PATH or postgres://… (default $OMNI_DB, else sqlite:./omni.db)")
	fs.StringVar(&f.input, "input", "", "transaction file (gzip is read directly)")
	fs.StringVar(&f.format, "format", "", "file format: online-retail, cdnow or csv")
	fs.StringVar(&f.currency, "currency", "", "ISO 4217 currency of the amounts (default: the format's)")
	fs.StringVar(&f.asOf, "as-of", "", "analysis date YYYY-MM-DD (default: the day after the last sale)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fs.BoolVar(&f.progress, "progress", false, "show import progress on stderr")
	calEnd := fs.String("calibration-end", "", "clv: last day of the calibration period, YYYY-MM-DD (required)")
	k := fs.Int("k", 5, "personas: number of clusters")
	seed := fs.Uint64("seed", 1, "personas: random seed (same seed, same clusters)")
	grain := fs.String("grain", "month", "kpis: day, week or month")
	by := fs.String("by", "", "kpis: group by channel, region or store (orders: the pickup or POS store, else the fulfilment location; default: none)")
	month := fs.String("month", "", "kpis: the monthly report for YYYY-MM")
	htmlOut := fs.String("html", "", "kpis: write the monthly report as a printable HTML page to FILE")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("analytics %s: unexpected arguments %q", cmd, fs.Args())}
	}
	var src analyticsData
	var err error
	switch f.source {
	case "file":
		src, err = analyticsFromFile(f, stderr)
	case "orders":
		src, err = analyticsFromOrders(ctx, f, stderr)
	default:
		return usageError{fmt.Errorf("analytics: --source %q is not file or orders", f.source)}
	}
	if err != nil {
		return err
	}
	d, loc := src.d, src.loc
	asOf, err := analyticsAsOf(d, f.asOf, loc)
	if err != nil {
		return err
	}
	var out any
	switch cmd {
	case "import":
		if src.orders != nil {
			out = src.orders
		} else {
			out = src.sum
		}
	case "rfm":
		_, s, err := analytics.RFM(d, asOf, analytics.RFMOptions{})
		if err != nil {
			return err
		}
		out = s
	case "clv":
		if *calEnd == "" {
			return usageError{errors.New("analytics clv: --calibration-end YYYY-MM-DD is required")}
		}
		end, err := time.Parse("2006-01-02", *calEnd)
		if err != nil {
			return usageError{fmt.Errorf("analytics clv: --calibration-end %q is not a date YYYY-MM-DD", *calEnd)}
		}
		sums, err := analytics.Summarize(d, end, 7*24*time.Hour)
		if err != nil {
			return err
		}
		res, err := analytics.FitCLV(sums)
		if err != nil && !errors.Is(err, analytics.ErrCLVNotConverged) {
			return err
		}
		out = res // a fit that did not converge says so: "converged": false
	case "personas":
		res, err := analytics.Personas(d, asOf, *k, *seed)
		if err != nil {
			return err
		}
		res.Customers = nil // per-customer assignments are for the API
		out = res
	case "cohorts":
		out = analytics.Cohorts(d, loc)
	case "abc":
		_, s := analytics.ABCXYZ(d, analytics.ABCOptions{Location: loc})
		out = s
	case "kpis":
		if *month == "" && *htmlOut == "" {
			tab, err := analytics.KPIs(d, src.sum, analytics.KPIOptions{Grain: *grain, By: *by, Location: loc})
			if err != nil {
				return err
			}
			out = tab
			break
		}
		m := analytics.KPILastFullMonth(d, loc)
		if *month != "" {
			if m, err = time.ParseInLocation("2006-01", *month, loc); err != nil {
				return usageError{fmt.Errorf("analytics kpis: --month %q is not a month YYYY-MM", *month)}
			}
		}
		rep, err := analytics.MonthlyReport(d, src.sum, m, loc)
		if err != nil {
			return err
		}
		if *htmlOut != "" {
			if err := analyticsWriteHTML(*htmlOut, rep); err != nil {
				return err
			}
		}
		out = rep
	}
	if f.asJSON {
		return bench.JSON(stdout, out)
	}
	return printIndented(stdout, out)
}

// analyticsFromFile imports --input.
func analyticsFromFile(f analyticsFlags, stderr io.Writer) (analyticsData, error) {
	if f.dbURL != "" {
		return analyticsData{}, usageError{errors.New("analytics: --db goes with --source orders")}
	}
	if f.input == "" {
		return analyticsData{}, usageError{errors.New("analytics: --input is required (or --source orders)")}
	}
	format, err := analytics.ParseFormat(f.format)
	if err != nil {
		return analyticsData{}, usageError{err}
	}
	opts := analytics.ImportOptions{Format: format, Currency: f.currency}
	if f.progress {
		st, _ := os.Stat(f.input)
		opts.Progress = func(lines, bytes int64) {
			if st != nil && st.Size() > 0 {
				fmt.Fprintf(stderr, "\rimporting: %d lines, %3.0f %%", lines, 100*float64(bytes)/float64(st.Size()))
			} else {
				fmt.Fprintf(stderr, "\rimporting: %d lines", lines)
			}
		}
	}
	d, sum, err := analytics.ImportFile(f.input, opts)
	if f.progress {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return analyticsData{}, err
	}
	return analyticsData{d: d, loc: time.UTC, sum: &sum}, nil
}

// analyticsFromOrders reads the live orders of the store named by --db
// ($OMNI_DB, else the default store). It never creates or migrates a store.
func analyticsFromOrders(ctx context.Context, f analyticsFlags, stderr io.Writer) (analyticsData, error) {
	if f.input != "" || f.format != "" || f.currency != "" {
		return analyticsData{}, usageError{errors.New("analytics: --input, --format and --currency go with --source file")}
	}
	u := f.dbURL
	if u == "" {
		u = os.Getenv("OMNI_DB")
	}
	if u == "" {
		u = config.Default().DB
	}
	eng, path, err := db.ParseURL(u)
	if err != nil {
		return analyticsData{}, usageError{err}
	}
	if eng == db.SQLite {
		if _, err := os.Stat(path); err != nil {
			return analyticsData{}, fmt.Errorf("analytics: no store at %s: %w", db.Redact(u), err)
		}
	}
	store, err := db.Open(ctx, u, db.Options{})
	if err != nil {
		return analyticsData{}, err
	}
	defer store.Close()
	start := time.Now()
	d, sum, err := analytics.LoadOrders(ctx, store)
	if err != nil {
		return analyticsData{}, err
	}
	if f.progress {
		fmt.Fprintf(stderr, "read %d orders, %d lines in %s\n", sum.Orders, d.Len(), time.Since(start).Round(time.Millisecond))
	}
	return analyticsData{d: d, loc: analytics.Shanghai, orders: &sum}, nil
}

// analyticsAsOf is --as-of (midnight in loc), or the day after the last line of d.
func analyticsAsOf(d *analytics.Dataset, s string, loc *time.Location) (time.Time, error) {
	if s != "" {
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return t, usageError{fmt.Errorf("analytics: --as-of %q is not a date YYYY-MM-DD", s)}
		}
		return t, nil
	}
	return analytics.DefaultAsOf(d, loc), nil
}

// analyticsWriteHTML writes the report's printable page to path.
func analyticsWriteHTML(path string, rep analytics.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("analytics kpis: %w", err)
	}
	if err := rep.HTML(f); err != nil {
		f.Close()
		return fmt.Errorf("analytics kpis: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("analytics kpis: write %s: %w", path, err)
	}
	return nil
}

// printIndented writes v as indented JSON, for reading at a terminal.
func printIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

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
)

const analyticsUsage = `Usage: omni analytics <command> --input FILE --format online-retail|cdnow|csv [flags]

Commands (each runs directly on a transaction file, gzip or plain):
  import     read and clean the file; print the cleaning summary
  rfm        RFM scores and segments as of a date (--as-of, default the day after the last sale)
  clv        BG/NBD + Gamma-Gamma fit with --calibration-end; expected purchases and value
  personas   k-means personas (--k, --seed)
  cohorts    monthly acquisition cohorts, retention and repurchase rates
  abc        ABC by revenue share and XYZ by demand variability per SKU
  kpis       sales, orders, AOV, units per order, margin, return and repurchase rates per
             --grain day|week|month, --by channel|region, with MoM/YoY; with --month YYYY-MM or
             --html FILE, the monthly report (JSON; --html also writes the printable page,
             default month: the last full month in the data)

Common flags: --json prints one JSON object; --progress shows import progress on stderr.
`

// analyticsFlags are the flags every analytics command shares.
type analyticsFlags struct {
	input, format, currency, asOf string
	asJSON, progress              bool
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
		return usageError{fmt.Errorf("analytics: unknown command %q (the API over the live store comes with orders)", cmd)}
	}
	fs := flag.NewFlagSet("omni analytics "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f analyticsFlags
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
	by := fs.String("by", "", "kpis: group by channel or region (default: none)")
	month := fs.String("month", "", "kpis: the monthly report for YYYY-MM")
	htmlOut := fs.String("html", "", "kpis: write the monthly report as a printable HTML page to FILE")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if f.input == "" {
		return usageError{errors.New("analytics: --input is required")}
	}
	format, err := analytics.ParseFormat(f.format)
	if err != nil {
		return usageError{err}
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
		return err
	}
	asOf, err := analyticsAsOf(d, f.asOf)
	if err != nil {
		return err
	}
	var out any
	switch cmd {
	case "import":
		out = sum
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
		out = analytics.Cohorts(d, nil)
	case "abc":
		_, s := analytics.ABCXYZ(d, analytics.ABCOptions{})
		out = s
	case "kpis":
		if *month == "" && *htmlOut == "" {
			tab, err := analytics.KPIs(d, &sum, analytics.KPIOptions{Grain: *grain, By: *by})
			if err != nil {
				return err
			}
			out = tab
			break
		}
		m := analytics.KPILastFullMonth(d, nil)
		if *month != "" {
			if m, err = time.Parse("2006-01", *month); err != nil {
				return usageError{fmt.Errorf("analytics kpis: --month %q is not a month YYYY-MM", *month)}
			}
		}
		rep, err := analytics.MonthlyReport(d, &sum, m, nil)
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

// analyticsAsOf is --as-of, or the day after the last line of d.
func analyticsAsOf(d *analytics.Dataset, s string) (time.Time, error) {
	if s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return t, usageError{fmt.Errorf("analytics: --as-of %q is not a date YYYY-MM-DD", s)}
		}
		return t, nil
	}
	var last int64
	for _, at := range d.At {
		last = max(last, at)
	}
	return time.Unix(last, 0).UTC().Truncate(24*time.Hour).AddDate(0, 0, 1), nil
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

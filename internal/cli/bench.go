package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/analytics"
	"github.com/omni-retail/omni/internal/bench"
)

const benchUsage = `Usage: omni bench <benchmark> [flags]

Benchmarks:
  flashsale   concurrent clients race to reserve one SKU's stock over HTTP
  checkout    concurrent clients place and pay realistic orders on the demo retailer over HTTP
  loyalty     concurrent check-ins, point awards and redemptions for random members (in process)
  analytics   import + RFM, CLV, personas, ABC on a real file; RFM + ABC on a generated history
`

func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, benchUsage)
		if len(args) == 0 {
			return usageError{errors.New("bench: name a benchmark")}
		}
		return nil
	}
	switch args[0] {
	case "flashsale":
		return benchFlashSale(ctx, args[1:], getenv, stdout, stderr)
	case "analytics":
		return benchAnalytics(args[1:], stdout, stderr)
	case "checkout":
		return benchCheckout(ctx, args[1:], getenv, stdout, stderr)
	case "loyalty":
		return benchLoyalty(ctx, args[1:], getenv, stdout, stderr)
	}
	return usageError{fmt.Errorf("bench: unknown benchmark %q", args[0])}
}

func benchFlashSale(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omni bench flashsale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bench.FlashSaleOptions{}
	storeFlags(fs, getenv, &o.DB, &o.Synchronous)
	fs.Int64Var(&o.Stock, "stock", 10_000, "units of the SKU on sale")
	fs.Int64Var(&o.Attempts, "attempts", 50_000, "reservation attempts in all")
	fs.IntVar(&o.Clients, "clients", 256, "concurrent HTTP clients")
	return runBenchmark(fs, args, stdout,
		func() error {
			if o.Stock < 1 || o.Attempts < 1 || o.Clients < 1 || o.Clients > 10_000 {
				return errors.New("bench flashsale: --stock and --attempts must be ≥ 1, --clients 1..10000")
			}
			return nil
		},
		func() (bench.FlashSaleResult, error) { return bench.FlashSale(ctx, o) },
		bench.PrintFlashSale,
		func(r bench.FlashSaleResult) bool { return r.Oversold > 0 || !r.LedgerConsistent || !r.LevelMatches })
}

func benchAnalytics(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omni bench analytics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bench.AnalyticsOptions{Format: analytics.FormatOnlineRetail}
	const defaultInput = "../shared/data/online_retail.csv.gz"
	fs.StringVar(&o.Input, "input", defaultInput, "UCI Online Retail file (empty: skip)")
	fs.IntVar(&o.Lines, "lines", 10_000_000, "lines of generated history for RFM + ABC (0: skip)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated history")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if o.Lines < 0 {
		return usageError{errors.New("bench analytics: --lines must be ≥ 0")}
	}
	if _, err := os.Stat(o.Input); o.Input == defaultInput && err != nil {
		fmt.Fprintf(stderr, "bench analytics: %s not found (run from the repository root next to ../shared/data); timing the generated history only\n", defaultInput)
		o.Input = ""
	}
	r, err := bench.Analytics(o)
	if err != nil {
		return err
	}
	if *asJSON {
		return bench.JSON(stdout, r)
	}
	bench.PrintAnalytics(stdout, r)
	return nil
}

func benchCheckout(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omni bench checkout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bench.CheckoutOptions{}
	storeFlags(fs, getenv, &o.DB, &o.Synchronous)
	fs.IntVar(&o.Clients, "clients", 64, "concurrent HTTP clients")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the clients order")
	fs.Int64Var(&o.Seed, "seed", 2026, "demo retailer and order mix seed")
	return runBenchmark(fs, args, stdout,
		func() error {
			if o.Clients < 1 || o.Clients > 10_000 || o.Duration < time.Second {
				return errors.New("bench checkout: --clients 1..10000, --duration at least 1s")
			}
			return nil
		},
		func() (bench.CheckoutResult, error) { return bench.Checkout(ctx, o) },
		bench.PrintCheckout,
		func(r bench.CheckoutResult) bool {
			return r.Oversold > 0 || r.Lost > 0 || r.Duplicated > 0 || !r.LedgerConsistent || r.Errors > 0
		})
}

func benchLoyalty(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omni bench loyalty", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bench.LoyaltyOptions{}
	storeFlags(fs, getenv, &o.DB, &o.Synchronous)
	fs.IntVar(&o.Clients, "clients", 64, "concurrent clients")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the clients run")
	fs.IntVar(&o.Members, "members", 50_000, "generated members, loaded in bulk first")
	fs.Int64Var(&o.Seed, "seed", 2026, "member and operation mix seed")
	return runBenchmark(fs, args, stdout,
		func() error {
			if o.Clients < 1 || o.Clients > 10_000 || o.Duration < time.Second || o.Members < 1 || o.Members > 10_000_000 {
				return errors.New("bench loyalty: --clients 1..10000, --duration at least 1s, --members 1..10000000")
			}
			return nil
		},
		func() (bench.LoyaltyResult, error) { return bench.Loyalty(ctx, o) },
		bench.PrintLoyalty,
		func(r bench.LoyaltyResult) bool {
			return r.NegativeBalances > 0 || !r.LedgerConsistent || r.Lost > 0 || r.Errors > 0
		})
}

// storeFlags binds the store flags every load benchmark takes.
func storeFlags(fs *flag.FlagSet, getenv func(string) string, dbURL, sync *string) {
	fs.StringVar(dbURL, "db", getenv("OMNI_BENCH_DB"), "database (default: a fresh SQLite file in a temporary directory) ($OMNI_BENCH_DB)")
	fs.StringVar(sync, "sqlite-synchronous", "FULL", "SQLite synchronous mode; FULL makes every commit durable")
}

// runBenchmark is what the load benchmarks share once their own flags are
// bound: --json and --cpuprofile, parsing, checking the options (valid),
// running under the profile, printing the result (one JSON object with
// GOMAXPROCS, or text), and a failing exit status when failed reports a
// broken correctness check — in either output.
func runBenchmark[R any](fs *flag.FlagSet, args []string, stdout io.Writer, valid func() error, run func() (R, error),
	print func(io.Writer, R), failed func(R) bool) error {
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if err := valid(); err != nil {
		return usageError{err}
	}
	stop, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	r, err := run()
	if err != nil {
		return err
	}
	if *asJSON {
		err = bench.JSON(stdout, r)
	} else {
		print(stdout, r)
	}
	if err == nil && failed(r) {
		err = fmt.Errorf("%s: CORRECTNESS FAILURE (see above)", strings.TrimPrefix(fs.Name(), "omni "))
	}
	return err
}

// startProfile writes a CPU profile to path until stop is called (no-op
// for an empty path).
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Package cli implements the omni command's subcommands: serve, demo,
// migrate, version and bench. Configuration comes from defaults, OMNI_*
// environment variables and flags, in that order of precedence.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/server"
)

const usage = `omni — new-retail / O2O operations platform

Usage:
  omni demo     [flags]   create or refresh a demo retailer in the embedded database, then serve it
  omni serve    [flags]   serve the HTTP API
  omni migrate  [flags]   apply pending schema migrations and exit
  omni version            print the binary and schema versions
  omni analytics <command> --input FILE --format F   RFM, CLV, personas, cohorts, ABC on a transaction file
  omni bench flashsale|analytics [flags]             benchmarks

Run 'omni <command> -h' for a command's flags. Every flag also reads an OMNI_*
environment variable (shown in -h); flags win over the environment.
`

// Run runs the omni command with args and returns the exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if getenv("GOGC") == "" {
		// A server with memory to spare: collect garbage less often than
		// Go's default (100). Measured +15 % on the flash-sale benchmark.
		debug.SetGCPercent(400)
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stdout, stderr, false)
	case "demo":
		err = serve(ctx, args[1:], getenv, stdout, stderr, true)
	case "migrate":
		err = migrate(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "omni %s (schema version %d)\n", server.Version, db.LatestVersion())
	case "bench":
		err = runBench(ctx, args[1:], getenv, stdout, stderr)
	case "analytics":
		err = analyticsCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "omni: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "omni: %v\n", err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "omni: %v\n", err)
		return 1
	}
	return 0
}

type usageError struct{ error }

// parse reads the configuration flags (plus any extra ones set up by more).
func parse(name string, args []string, getenv func(string) string, stderr io.Writer, more func(*flag.FlagSet)) (config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("omni "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Register(fs, getenv)
	if more != nil {
		more(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, usageError{err}
	}
	if fs.NArg() > 0 {
		return cfg, usageError{fmt.Errorf("%s: unexpected arguments %q", name, fs.Args())}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, demoMode bool) error {
	name := "serve"
	if demoMode {
		name = "demo"
	}
	var seed int64
	cfg, err := parse(name, args, getenv, stderr, func(fs *flag.FlagSet) {
		if demoMode {
			fs.Int64Var(&seed, "seed", 2026, "seed of the generated demo data (same seed, same data)")
		}
	})
	if err != nil {
		return err
	}
	log := NewLogger(cfg, stderr)
	app, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	var key string
	if demoMode {
		if key, err = loadDemo(ctx, app, seed, stdout); err != nil {
			return err
		}
	} else if key, err = bootstrapKey(ctx, app); err != nil {
		return err
	}
	return app.Run(ctx, func(addr string) {
		fmt.Fprintf(stdout, "Omni %s serving %s on http://%s  (store: %s)\n", server.Version, name, addr, db.Redact(cfg.DB))
		fmt.Fprintf(stdout, "  API description: http://%s/api/v1/openapi.json\n", addr)
		if key != "" {
			fmt.Fprintf(stdout, "  admin API key:   %s\n", key)
			fmt.Fprintf(stdout, "  try: curl -H 'Authorization: Bearer %s' 'http://%s/api/v1/locations?limit=5'\n", key, addr)
		}
		fmt.Fprintln(stdout, "  stop with Ctrl-C")
	})
}

// bootstrapKey issues an admin key when the store has no usable admin key,
// so that a fresh installation can be reached at all; it is printed once.
func bootstrapKey(ctx context.Context, app *server.App) (string, error) {
	keys, err := app.Auth.List(ctx)
	if err != nil {
		return "", err
	}
	now := app.Now()
	for _, k := range keys {
		if k.Role == auth.Admin && k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(now)) {
			return "", nil
		}
	}
	_, secret, err := app.Auth.Create(ctx, auth.NewKey{Name: "bootstrap admin", Role: auth.Admin})
	return secret, err
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parse("migrate", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, cfg.DB, db.Options{Synchronous: cfg.Synchronous})
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema is up to date (version %d)\n", db.LatestVersion())
		return nil
	}
	fmt.Fprintf(stdout, "applied migrations %v; schema version %d\n", applied, db.LatestVersion())
	return nil
}

// Command omni runs Omni, the open-source new-retail / O2O operations
// platform: `omni demo` serves a demo retailer, `omni serve` the API over
// your store. Run `omni help` for the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/omni-retail/omni/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

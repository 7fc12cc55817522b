package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/server"
)

// loadDemo creates or refreshes the demo retailer and issues an admin key.
// Stock is received only into a store that holds none yet, and the order
// history and its members only into one without orders or members, so
// running the demo again refreshes the catalog and network without
// doubling stock, orders or members.
func loadDemo(ctx context.Context, app *server.App, seed int64, stdout io.Writer) (string, error) {
	start := time.Now()
	m := app.Modules
	// The members and the history they come from are made (CPU only) while
	// the retailer is written.
	type planned struct {
		l   *demo.MemberLoad
		err error
	}
	plan := make(chan planned, 1)
	go func() {
		l, err := demo.PlanMembers(ctx, demo.MemberDeps{DB: app.DB, Members: m.Members, Network: m.Network}, seed, 1)
		plan <- planned{l, err}
	}()
	existing, _, err := m.Inventory.ListLevels(ctx, inventory.LevelFilter{Limit: 1})
	if err != nil {
		return "", err
	}
	fresh := len(existing) == 0
	receive := func(ctx context.Context, lines []demo.StockLine) error {
		if !fresh {
			return nil
		}
		bulk := make([]inventory.BulkLine, 0, len(lines))
		for _, l := range lines {
			sku, err := m.Catalog.SKURef(ctx, l.SKUCode)
			if err != nil {
				return fmt.Errorf("demo stock: %w", err)
			}
			loc, err := m.Network.Location(ctx, l.LocationCode)
			if err != nil {
				return fmt.Errorf("demo stock: %w", err)
			}
			bulk = append(bulk, inventory.BulkLine{SKUID: sku.ID, StyleID: sku.StyleID, LocationID: loc.ID, Qty: l.Qty})
		}
		return m.Inventory.BulkReceive(ctx, bulk, "demo opening stock")
	}
	sum, err := demo.Generate(ctx, demo.Deps{Catalog: m.Catalog, Network: m.Network, Receive: receive}, seed)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	verb := "created"
	if !fresh {
		verb = "refreshed (stock kept)"
	}
	fmt.Fprintf(stdout, "demo retailer %s in %s (seed %d): %d stores, %d warehouses, %d channels, %d styles, %d SKUs, %d stock levels, %d units\n",
		verb, time.Since(start).Round(time.Millisecond), seed, sum.Stores, sum.Warehouses, sum.Channels, sum.Styles, sum.SKUs, sum.Levels, sum.StockUnits)
	// Members with their points history, before the orders that name them,
	// only into a store without members or orders (a re-run keeps them).
	p := <-plan
	if p.err != nil {
		return "", fmt.Errorf("demo: %w", p.err)
	}
	ml := p.l
	if err := ml.Load(ctx); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	// Two years of orders, only into a store without any (a re-run keeps them).
	hstart := time.Now()
	hs, wrote, err := demo.LoadHistory(ctx, demo.HistoryDeps{DB: app.DB, Catalog: m.Catalog, Network: m.Network, Inventory: m.Inventory, Members: ml}, seed, 1)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if wrote {
		fmt.Fprintf(stdout, "order history %s..%s written in %s: %d orders (%d lines, %d returns) from %d customers and %d guests\n",
			hs.From, hs.To, time.Since(hstart).Round(time.Millisecond), hs.Orders, hs.Lines, hs.Returns, hs.Customers, hs.GuestOrders)
	}
	// Their coupons and points-mall redemptions, which name their orders.
	if err := ml.WriteCoupons(ctx); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if ml.Wrote() {
		s := ml.Summary()
		fmt.Fprintf(stdout, "members written in %s (made in %s alongside the retailer): %s\n", s.Duration.Round(time.Millisecond), s.Planned.Round(time.Millisecond), s)
		// The history reached its tiers by growth alone; the periodic
		// re-evaluation (the only way down) runs now rather than at the
		// first start, so that the demo serves the tiers its rules give.
		rstart := time.Now()
		r, err := m.Members.Reevaluate(ctx)
		if err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(stdout, "tiers re-evaluated on the growth since %s in %s: %d members down a tier or more\n",
			r.WindowFrom.In(network.Shanghai).Format("2006-01-02"), time.Since(rstart).Round(time.Millisecond), r.Downgraded)
	}
	_, secret, err := app.Auth.Create(ctx, auth.NewKey{Name: "demo admin", Role: auth.Admin})
	return secret, err
}

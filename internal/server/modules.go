package server

import (
	"context"
	"net/http"
	"time"

	"github.com/omni-retail/omni/internal/analytics"
	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/events"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/orders"
)

// Modules holds the capability services and their HTTP handlers.
type Modules struct {
	Catalog    *catalog.Service
	CatalogH   *catalog.Handler
	Network    *network.Service
	NetworkH   *network.Handler
	Inventory  *inventory.Service
	InventoryH *inventory.Handler
	Events     *events.Service
	EventsH    *events.Handler
	Orders     *orders.Service
	OrdersH    *orders.Handler
	// analytics: imported transaction files and the analyses over them
	Analytics  *analytics.Store
	AnalyticsH *analytics.Handler
}

// wireModules builds every capability module, in dependency order.
func wireModules(a *App) Modules {
	var m Modules
	m.Catalog = catalog.NewService(a.DB, a.Outbox, a.Now)
	m.CatalogH = catalog.NewHandler(m.Catalog)
	m.Network = network.NewService(a.DB, a.Outbox, a.Now)
	m.NetworkH = &network.Handler{S: m.Network}
	// inventory: after catalog and network
	m.Inventory = inventory.NewService(a.DB, a.Outbox, m.Catalog, m.Network, a.Now, a.Cfg.ReservationTTL)
	m.InventoryH = &inventory.Handler{S: m.Inventory}
	// orders: checkout, fulfilment routing, payments, shipments, POS
	m.Orders = orders.NewService(a.DB, a.Outbox, m.Catalog, m.Network, m.Inventory, nil, a.Now, orders.Options{UnpaidTTL: a.Cfg.UnpaidTTL, Notifiers: a.notifiers})
	m.OrdersH = &orders.Handler{S: m.Orders, Channels: m.Network}
	// events: webhooks and the event stream over the outbox
	m.Events = events.NewService(a.DB, a.Outbox, a.Log, a.Now, &http.Client{Timeout: 10 * time.Second})
	m.EventsH = &events.Handler{S: m.Events}
	// analytics: stored imports (tables analytics_imports, analytics_lines)
	m.Analytics = analytics.NewStore(a.DB, a.Outbox, a.Now)
	m.AnalyticsH = &analytics.Handler{S: m.Analytics}
	return m
}

// workers lists the background jobs of a serving process.
func (a *App) workers() []worker {
	return []worker{
		a.periodic("reservation-expiry", time.Second, func(ctx context.Context) error {
			_, err := a.Modules.Inventory.ReleaseExpired(ctx, 500)
			return err
		}),
		a.periodic("unpaid-order-expiry", time.Second, func(ctx context.Context) error {
			_, err := a.Modules.Orders.ExpireUnpaid(ctx, 500)
			return err
		}),
		a.periodic("presale-allocation", 5*time.Second, func(ctx context.Context) error {
			_, err := a.Modules.Orders.AllocatePresales(ctx)
			return err
		}),
		a.periodic("idempotency-purge", time.Hour, func(ctx context.Context) error {
			_, err := a.DB.PurgeIdem(ctx, a.Now().Add(-24*time.Hour))
			return err
		}),
		{name: "webhooks", run: a.Modules.Events.RunDispatcher},
	}
}

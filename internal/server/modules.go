package server

import (
	"context"
	"net/http"
	"time"

	"github.com/omni-retail/omni/internal/analytics"
	"github.com/omni-retail/omni/internal/campaigns"
	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/coupons"
	"github.com/omni-retail/omni/internal/events"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
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
	// campaigns: group buys (拼团) and friend-help (好友助力)
	Campaigns  *campaigns.Service
	CampaignsH *campaigns.Handler
	// members: members, tiers, points and growth, loyalty settings
	Members  *members.Service
	MembersH *members.Handler
	// coupons: coupon templates, members' coupons, the points mall
	Coupons  *coupons.Service
	CouponsH *coupons.Handler
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
	// ── members ── before orders: checkout checks member ids with it; its
	// price steps and order hooks are attached below, once coupons exist.
	m.Members = members.NewService(a.DB, a.Outbox, m.Network, m.Catalog, a.Now)
	m.MembersH = &members.Handler{S: m.Members}
	// orders: checkout, fulfilment routing, payments, shipments, POS
	m.Orders = orders.NewService(a.DB, a.Outbox, m.Catalog, m.Network, m.Inventory, m.Members, a.Now, orders.Options{UnpaidTTL: a.Cfg.UnpaidTTL, Notifiers: a.notifiers})
	m.OrdersH = &orders.Handler{S: m.Orders, Channels: m.Network}
	// events: webhooks and the event stream over the outbox
	m.Events = events.NewService(a.DB, a.Outbox, a.Log, a.Now, &http.Client{Timeout: 10 * time.Second})
	m.EventsH = &events.Handler{S: m.Events}
	// analytics: stored imports (tables analytics_imports, analytics_lines)
	m.Analytics = analytics.NewStore(a.DB, a.Outbox, a.Now)
	m.AnalyticsH = &analytics.Handler{S: m.Analytics}
	// ── campaigns ── group buys and friend-help, on top of orders: the
	// group_buy price step (before tier_discount, else before shipping) and
	// the order hooks. Members (member ids) and the coupon issuer (rewards)
	// are set once those modules are wired: SetMembers, SetRewarder.
	m.Campaigns = campaigns.NewService(a.DB, a.Outbox, m.Catalog, m.Orders, nil, nil, a.Now)
	m.Campaigns.Attach(m.Orders)
	m.CampaignsH = &campaigns.Handler{S: m.Campaigns}
	// ── coupons ── templates, members' coupons and the points mall: the
	// coupons price step (after tier_discount, before points) and the order
	// hooks (coupons taken at placing, released on cancel); friend-help
	// rewards are coupons. The members block below gives coupons the
	// members service (existence, tier, points) and takes IssueTx (birthday
	// gifts) and MergeTx (merges).
	m.Coupons = coupons.NewService(a.DB, a.Outbox, m.Network, a.Now)
	m.Coupons.Attach(m.Orders)
	m.CouponsH = &coupons.Handler{S: m.Coupons}
	m.Campaigns.SetRewarder(campaigns.RewarderFunc(func(tx *db.Tx, template string, memberID int64, source string) (campaigns.Reward, error) {
		c, err := m.Coupons.IssueTx(tx, template, memberID, source)
		return campaigns.Reward{ID: c.ID, Code: c.Code}, err
	}))
	// ── members ── price steps (tier_discount before coupons, points after)
	// and order hooks; coupons for the tiers' birthday gifts and merges; the
	// members service for coupons (tier, points) and campaigns (member ids).
	m.Members.Attach(m.Orders)
	m.Members.SetCoupons(func(tx *db.Tx, template string, memberID int64, source string) error {
		_, err := m.Coupons.IssueTx(tx, template, memberID, source)
		return err
	})
	m.Members.AddMergeHook(m.Coupons.MergeTx)
	m.Coupons.SetMembers(m.Members)
	m.Campaigns.SetMembers(m.Members)
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
		// members: points lots past their expiry, birthday gifts, tier re-evaluation when due
		a.periodic("points-expiry", time.Minute, func(ctx context.Context) error {
			_, err := a.Modules.Members.ExpirePoints(ctx, 1000)
			return err
		}),
		a.periodic("member-birthdays", time.Hour, func(ctx context.Context) error {
			_, err := a.Modules.Members.BirthdayGifts(ctx, 1000)
			return err
		}),
		a.periodic("tier-reevaluation", time.Hour, func(ctx context.Context) error {
			_, _, err := a.Modules.Members.ReevaluateIfDue(ctx)
			return err
		}),
		// campaigns: fail group buys whose window ran out, cancelling (refunding) their orders
		a.periodic("group-buy-expiry", 5*time.Second, func(ctx context.Context) error {
			_, err := a.Modules.Campaigns.FailExpired(ctx, 200)
			return err
		}),
	}
}

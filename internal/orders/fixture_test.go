package orders_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is the orders service over a small part of the demo network.
type fixture struct {
	d   *db.DB
	clk *clock
	cat *catalog.Service
	net *network.Service
	inv *inventory.Service
	ord *orders.Service
}

// worldCodes are the demo locations of the fixture: three Shanghai stores,
// the Shanghai front warehouse and the central warehouse.
var worldCodes = []string{"SH-NJD", "SH-XJH", "SH-LJZ", "FW-SH-JA", "CW-JX"}

// fixtureSKUs are the fixture's SKUs; every one lists at 99 CNY but the coat.
var fixtureSKUs = []string{"TEE-BLK-M", "TEE-WHT-M", "COAT-BLK-M"}

func ean(n int) string { return catalog.WithCheckDigit(fmt.Sprintf("69%010d", n)) }

// newFixture wires catalog, network, inventory and orders over d, with
// the demo's locations worldCodes and the demo channels restricted to
// them (app: pickup stores and warehouses; mini: stores and the front
// warehouse; shop: the central warehouse and ship-capable stores; pos:
// the stores), at 14:00 in Shanghai on a weekday.
func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)}
	ob := outbox.New(clk.Now)
	f := &fixture{d: d, clk: clk, cat: catalog.NewService(d, ob, clk.Now), net: network.NewService(d, ob, clk.Now)}
	f.inv = inventory.NewService(d, ob, f.cat, f.net, clk.Now, 15*time.Minute)
	f.ord = orders.NewService(d, ob, f.cat, f.net, f.inv, nil, clk.Now, orders.Options{UnpaidTTL: 15 * time.Minute})
	sku := func(style, color string, n int, price int64) catalog.SKU {
		return catalog.SKU{Code: style + "-" + color + "-M", Color: color, Size: "M", Barcode: ean(n), ListPrice: price, Cost: price / 3, Active: true}
	}
	if _, err := f.cat.BulkUpsert(ctx, []catalog.Style{
		{Code: "TEE", Name: "基础圆领T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("TEE", "BLK", 1, 9900), sku("TEE", "WHT", 2, 9900)}},
		{Code: "COAT", Name: "羊毛大衣", Category: "外套", Lifecycle: catalog.Fashion, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("COAT", "BLK", 3, 59900)}},
	}); err != nil {
		t.Fatal(err)
	}
	locs, chans := demo.Network(worldCodes...)
	if err := f.net.BulkUpsert(ctx, locs, chans); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) receive(t testing.TB, loc, sku string, qty int64) {
	t.Helper()
	if _, err := f.inv.Post(context.Background(), inventory.PostRequest{Kind: inventory.Receipt, Location: loc,
		Lines: []inventory.PostLine{{SKU: sku, Qty: qty}}}); err != nil {
		t.Fatalf("receive %d %s at %s: %v", qty, sku, loc, err)
	}
}

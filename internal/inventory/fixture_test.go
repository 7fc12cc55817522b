package inventory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
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

type fixture struct {
	d   *db.DB
	inv *inventory.Service
	cat *catalog.Service
	net *network.Service
	clk *clock
}

// ean builds a valid EAN-13 from a 12-digit body.
func ean(n int) string { return catalog.WithCheckDigit(fmt.Sprintf("69%010d", n)) }

// newFixture builds the services over d with two styles, a small network
// and three channels:
//
//	styles TEE (SKUs TEE-BLK-M, TEE-BLK-L, TEE-WHT-M) and COAT (COAT-BLK-M)
//	locations CW (central warehouse, Jiaxing), SH1 and SH2 (stores, Shanghai),
//	          BJ1 (store, Beijing)
//	channels  shop (all, safety 1), pos (stores), live (CW only, 30 % cap)
func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 11, 2, 0, 0, 0, time.UTC)}
	ob := outbox.New(clk.Now)
	f := &fixture{d: d, clk: clk, cat: catalog.NewService(d, ob, clk.Now), net: network.NewService(d, ob, clk.Now)}
	f.inv = inventory.NewService(d, ob, f.cat, f.net, clk.Now, 15*time.Minute)
	sku := func(style, color, size string, n int) catalog.SKU {
		return catalog.SKU{Code: style + "-" + color + "-" + size, Color: color, Size: size, Barcode: ean(n), ListPrice: 9900, Cost: 3500, Active: true}
	}
	if _, err := f.cat.BulkUpsert(ctx, []catalog.Style{
		{Code: "TEE", Name: "基础圆领T恤", Category: "T恤", Brand: "Omni", Season: "2026春夏", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("TEE", "BLK", "M", 1), sku("TEE", "BLK", "L", 2), sku("TEE", "WHT", "M", 3)}},
		{Code: "COAT", Name: "羊毛大衣", Category: "外套", Brand: "Omni", Season: "2026秋冬", Lifecycle: catalog.Fashion, LaunchDate: "2026-10-01",
			SKUs: []catalog.SKU{sku("COAT", "BLK", "M", 4)}},
	}); err != nil {
		t.Fatal(err)
	}
	store := network.Capabilities{POS: true, Pickup: true, Ship: true, Instant: true, InstantRadiusM: 3000}
	if err := f.net.BulkUpsert(ctx, []network.Location{
		{Code: "CW", Name: "嘉兴中央仓", Kind: network.CentralWarehouse, Region: "east", Province: "浙江省", City: "嘉兴市", Lat: 30.7522, Lng: 120.7555,
			Capabilities: network.Capabilities{Ship: true}, Active: true},
		{Code: "SH1", Name: "上海南京东路店", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市", Lat: 31.2355, Lng: 121.4800,
			OpeningHours: "10:00-22:00", Capabilities: store, Active: true},
		{Code: "SH2", Name: "上海徐家汇店", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市", Lat: 31.1955, Lng: 121.4370,
			OpeningHours: "10:00-22:00", Capabilities: store, Active: true},
		{Code: "BJ1", Name: "北京王府井店", Kind: network.Store, Region: "north", Province: "北京市", City: "北京市", Lat: 39.9140, Lng: 116.4110,
			OpeningHours: "10:00-22:00", Capabilities: store, Active: true},
	}, []network.Channel{
		{Code: "shop", Name: "官方商城", Kind: network.OnlineShop, SafetyStock: 1, MaxSharePct: 100, Locations: []string{"CW", "SH1", "SH2", "BJ1"}, Active: true},
		{Code: "pos", Name: "门店POS", Kind: network.POS, MaxSharePct: 100, Locations: []string{"SH1", "SH2", "BJ1"}, Active: true},
		{Code: "live", Name: "直播间", Kind: network.LiveStream, MaxSharePct: 30, Locations: []string{"CW"}, Active: true},
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func (f *fixture) receive(t tb, loc string, lines ...inventory.PostLine) {
	t.Helper()
	if _, err := f.inv.Post(context.Background(), inventory.PostRequest{Kind: inventory.Receipt, Location: loc, Reference: "ASN-1", Lines: lines}); err != nil {
		t.Fatalf("receive at %s: %v", loc, err)
	}
}

func (f *fixture) level(t tb, sku, loc string) inventory.Level {
	t.Helper()
	l, err := f.inv.GetLevel(context.Background(), sku, loc)
	if err != nil {
		t.Fatalf("level %s@%s: %v", sku, loc, err)
	}
	return l
}

func (f *fixture) consistent(t tb) {
	t.Helper()
	rep, err := f.inv.CheckLedger(context.Background())
	if err != nil {
		t.Fatalf("check ledger: %v", err)
	}
	if !rep.Consistent {
		t.Fatalf("ledger inconsistent: %+v", rep)
	}
}

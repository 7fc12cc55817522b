package members_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// start is Tuesday 10 March 2026, 14:00 in Shanghai.
var start = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

// fixture is the members service with catalog, network, inventory and
// orders around it (the members' steps and hooks attached), over a part
// of the demo network: SH-NJD and SH-XJH (stores), CW-JX (warehouse).
type fixture struct {
	d   *db.DB
	clk *clock
	cat *catalog.Service
	net *network.Service
	inv *inventory.Service
	ord *orders.Service
	mem *members.Service
	seq int
}

var worldCodes = []string{"SH-NJD", "SH-XJH", "CW-JX"}

func ean(n int) string { return catalog.WithCheckDigit(fmt.Sprintf("69%010d", n)) }

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: start}
	ob := outbox.New(clk.Now)
	f := &fixture{d: d, clk: clk, cat: catalog.NewService(d, ob, clk.Now), net: network.NewService(d, ob, clk.Now)}
	f.inv = inventory.NewService(d, ob, f.cat, f.net, clk.Now, 15*time.Minute)
	f.mem = members.NewService(d, ob, f.net, f.cat, clk.Now)
	f.ord = orders.NewService(d, ob, f.cat, f.net, f.inv, f.mem, clk.Now, orders.Options{UnpaidTTL: 15 * time.Minute})
	f.mem.Attach(f.ord)
	sku := func(style, color string, n int, price int64) catalog.SKU {
		return catalog.SKU{Code: style + "-" + color + "-M", Color: color, Size: "M", Barcode: ean(n), ListPrice: price, Cost: price / 3, Active: true}
	}
	if _, err := f.cat.BulkUpsert(ctx, []catalog.Style{
		{Code: "TEE", Name: "基础圆领T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("TEE", "BLK", 1, 10000), sku("TEE", "WHT", 2, 10000)}},
		{Code: "COAT", Name: "羊毛大衣", Category: "外套", Lifecycle: catalog.Fashion, LaunchDate: "2026-03-01",
			SKUs: []catalog.SKU{sku("COAT", "BLK", 3, 60000)}},
	}); err != nil {
		t.Fatal(err)
	}
	locs, chans := demo.Network(worldCodes...)
	if err := f.net.BulkUpsert(ctx, locs, chans); err != nil {
		t.Fatal(err)
	}
	for _, sku := range []string{"TEE-BLK-M", "TEE-WHT-M", "COAT-BLK-M"} {
		if _, err := f.inv.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: "SH-NJD",
			Lines: []inventory.PostLine{{SKU: sku, Qty: 500}}}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// mobile returns a fresh valid mobile number.
func (f *fixture) mobile() string {
	f.seq++
	return fmt.Sprintf("139%08d", f.seq)
}

// member registers a member with a fresh mobile number.
func (f *fixture) member(t testing.TB) int64 {
	t.Helper()
	m, err := f.mem.Register(context.Background(), members.Registration{Name: "测试", Channel: "app",
		Identities: []members.Identity{{Kind: members.Mobile, Value: f.mobile()}}})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// award gives a member points (never growth).
func (f *fixture) award(t testing.TB, id, points int64) {
	t.Helper()
	if _, err := f.mem.Adjust(context.Background(), id, members.Adjustment{Points: points, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) balance(t testing.TB, id int64) int64 {
	t.Helper()
	var p int64
	if err := f.d.QueryRow(context.Background(), `SELECT points FROM members WHERE id = ?`, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// consistent asserts the books add up.
func (f *fixture) consistent(t testing.TB) {
	t.Helper()
	r, err := f.mem.CheckLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Consistent {
		t.Fatalf("ledger inconsistent: %+v", r)
	}
}

// wantCode asserts an errs.Error with the code (and kind).
func wantCode(t testing.TB, err error, kind errs.Kind, code string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != code || e.Kind != kind {
		t.Fatalf("got %v; want %s (status %d)", err, code, kind.Status())
	}
}

func isCode(err error, code string) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Code == code
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

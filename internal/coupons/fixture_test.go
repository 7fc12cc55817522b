package coupons_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/coupons"
	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
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

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeMembers stands in for the members module: members are bare rows of
// its table, with a tier and a points balance spent by one conditional
// UPDATE (as the members module guarantees), so that the tests of this
// package do not depend on that module's progress.
type fakeMembers struct{ d *db.DB }

func (f fakeMembers) add(t testing.TB, tier int, points int64) int64 {
	t.Helper()
	var id int64
	if err := f.d.Write(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRow(`INSERT INTO members (tier, points, tier_since, created_at, updated_at) VALUES (?, ?, 0, 0, 0) RETURNING id`, tier, points).Scan(&id)
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fakeMembers) points(t testing.TB, id int64) int64 {
	t.Helper()
	var p int64
	if err := f.d.QueryRow(context.Background(), `SELECT points FROM members WHERE id = ?`, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f fakeMembers) Exists(ctx context.Context, id int64) (bool, error) {
	var n int
	err := f.d.QueryRow(ctx, `SELECT COUNT(*) FROM members WHERE id = ?`, id).Scan(&n)
	return n == 1, err
}

func (f fakeMembers) Resolve(ctx context.Context, id int64) (int64, bool, error) {
	ok, err := f.Exists(ctx, id)
	return id, ok, err
}

func (f fakeMembers) Level(ctx context.Context, id int64) (int, error) {
	var lvl int
	err := f.d.QueryRow(ctx, `SELECT tier FROM members WHERE id = ?`, id).Scan(&lvl)
	return lvl, err
}

var errInsufficient = errs.New(errs.Conflict, "insufficient_points", "not enough points")

func (f fakeMembers) SpendPointsTx(tx *db.Tx, id, points int64, source, reason string) error {
	res, err := tx.Exec(`UPDATE members SET points = points - ? WHERE id = ? AND points >= ?`, points, id, points)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errInsufficient.Withf("member %d has fewer than %d points", id, points)
	}
	return nil
}

func (f fakeMembers) AwardPointsTx(tx *db.Tx, id, points int64, source, reason string) error {
	_, err := tx.Exec(`UPDATE members SET points = points + ? WHERE id = ?`, points, id)
	return err
}

// fixture is the coupons service with the orders it plugs into, over a
// small part of the demo network at 14:00 in Shanghai on a weekday.
type fixture struct {
	d   *db.DB
	clk *clock
	mem fakeMembers
	cat *catalog.Service
	net *network.Service
	inv *inventory.Service
	ord *orders.Service
	cs  *coupons.Service
}

var worldCodes = []string{"SH-NJD", "SH-XJH", "CW-JX"}

func ean(n int) string { return catalog.WithCheckDigit(fmt.Sprintf("69%010d", n)) }

// newFixture wires catalog, network, inventory, orders (with the coupons
// step before shipping and the coupons hooks) and coupons over d, with
// styles TEE (T恤, 99 CNY), COAT (外套, 599 CNY) and SOCK (袜子, 29 CNY),
// 100 of each at SH-NJD and the central warehouse.
func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)}
	ob := outbox.New(clk.Now)
	f := &fixture{d: d, clk: clk, mem: fakeMembers{d}, cat: catalog.NewService(d, ob, clk.Now), net: network.NewService(d, ob, clk.Now)}
	f.inv = inventory.NewService(d, ob, f.cat, f.net, clk.Now, 15*time.Minute)
	f.ord = orders.NewService(d, ob, f.cat, f.net, f.inv, f.mem, clk.Now, orders.Options{UnpaidTTL: 15 * time.Minute})
	f.cs = coupons.NewService(d, ob, f.net, clk.Now)
	f.cs.SetMembers(f.mem)
	f.cs.Attach(f.ord)
	sku := func(style string, n int, price int64) catalog.SKU {
		return catalog.SKU{Code: style + "-M", Color: "黑色", Size: "M", Barcode: ean(n), ListPrice: price, Cost: price / 3, Active: true}
	}
	if _, err := f.cat.BulkUpsert(ctx, []catalog.Style{
		{Code: "TEE", Name: "基础T恤", Category: "T恤", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01", SKUs: []catalog.SKU{sku("TEE", 1, 9900)}},
		{Code: "COAT", Name: "羊毛大衣", Category: "外套", Lifecycle: catalog.Fashion, LaunchDate: "2026-03-01", SKUs: []catalog.SKU{sku("COAT", 2, 59900)}},
		{Code: "SOCK", Name: "棉袜", Category: "袜子", Lifecycle: catalog.Classic, LaunchDate: "2026-03-01", SKUs: []catalog.SKU{sku("SOCK", 3, 2900)}},
	}); err != nil {
		t.Fatal(err)
	}
	locs, chans := demo.Network(worldCodes...)
	if err := f.net.BulkUpsert(ctx, locs, chans); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"SH-NJD", "CW-JX"} {
		if _, err := f.inv.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: loc,
			Lines: []inventory.PostLine{{SKU: "TEE-M", Qty: 100}, {SKU: "COAT-M", Qty: 100}, {SKU: "SOCK-M", Qty: 100}}}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// template creates a template from in, with a 30-day validity unless in
// says otherwise.
func (f *fixture) template(t testing.TB, in coupons.NewTemplate) coupons.Template {
	t.Helper()
	if in.Name == "" {
		in.Name = in.Code
	}
	if in.ValidUntil == nil && in.ValidDays == 0 {
		in.ValidDays = 30
	}
	tpl, err := f.cs.CreateTemplate(context.Background(), in)
	if err != nil {
		t.Fatalf("create template %s: %v", in.Code, err)
	}
	return tpl
}

// issue issues one coupon of template to member (by a unique source).
func (f *fixture) issue(t testing.TB, template string, member int64) coupons.Coupon {
	t.Helper()
	var c coupons.Coupon
	if err := f.d.Write(context.Background(), func(tx *db.Tx) error {
		var err error
		c, err = f.cs.IssueTx(tx, template, member, fmt.Sprintf("test:%s:%d:%d", template, member, time.Now().UnixNano()))
		return err
	}); err != nil {
		t.Fatalf("issue %s to %d: %v", template, member, err)
	}
	return c
}

// pickup is a pickup order at SH-NJD for member, redeeming codes.
func pickup(member int64, codes []string, lines ...orders.LineRequest) orders.CheckoutRequest {
	return orders.CheckoutRequest{Channel: "app", Mode: "pickup", Store: "SH-NJD", Customer: orders.Customer{MemberID: &member},
		Lines: lines, Redeem: orders.Redeem{Coupons: codes}}
}

func ln(sku string, qty int64) orders.LineRequest { return orders.LineRequest{SKU: sku, Qty: qty} }

// wantErr asserts err is a refusal of the kind and code.
func wantErr(t testing.TB, err error, kind errs.Kind, code string) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Code != code {
		t.Fatalf("error %v; want %d %s", err, kind.Status(), code)
	}
	return e
}

func isCode(err error, code string) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Code == code
}

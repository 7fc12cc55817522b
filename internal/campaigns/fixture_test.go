package campaigns_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/campaigns"
	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/fulfilment"
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

// members says every id from 1 to 999 is a member.
type members struct{}

func (members) Exists(_ context.Context, id int64) (bool, error) { return id >= 1 && id <= 999, nil }

func (m members) Resolve(ctx context.Context, id int64) (int64, bool, error) {
	ok, err := m.Exists(ctx, id)
	return id, ok, err
}

// rewarder issues fake coupons and counts those committed.
type rewarder struct{ committed atomic.Int64 }

func (r *rewarder) IssueReward(tx *db.Tx, template string, member int64, source string) (campaigns.Reward, error) {
	tx.AfterCommit(func() { r.committed.Add(1) })
	return campaigns.Reward{ID: member, Code: template + "-" + source}, nil
}

// fixture is the campaigns service over the real catalog, network,
// inventory and orders services: two Shanghai stores (SH-NJD, SH-XJH) in
// the demo's app channel (pickup), the style TEE (TEE-BLK-M and TEE-WHT-M
// at 99 CNY) with 30 of each at SH-NJD, at 14:00 in Shanghai on a weekday.
type fixture struct {
	d   *db.DB
	clk *clock
	inv *inventory.Service
	ord *orders.Service
	svc *campaigns.Service
	rew *rewarder
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)}
	ob := outbox.New(clk.Now)
	cat := catalog.NewService(d, ob, clk.Now)
	net := network.NewService(d, ob, clk.Now)
	f := &fixture{d: d, clk: clk, rew: &rewarder{}}
	f.inv = inventory.NewService(d, ob, cat, net, clk.Now, 15*time.Minute)
	f.ord = orders.NewService(d, ob, cat, net, f.inv, members{}, clk.Now, orders.Options{UnpaidTTL: 15 * time.Minute})
	f.svc = campaigns.NewService(d, ob, cat, f.ord, members{}, f.rew, clk.Now)
	f.svc.Attach(f.ord)
	sku := func(color string, n int) catalog.SKU {
		body := fmt.Sprintf("69%010d", n)
		return catalog.SKU{Code: "TEE-" + color + "-M", Color: color, Size: "M", Barcode: body + fmt.Sprint(catalog.CheckDigit(body)),
			ListPrice: 9900, Cost: 3300, Active: true}
	}
	if _, err := cat.BulkUpsert(ctx, []catalog.Style{{Code: "TEE", Name: "基础圆领T恤", Category: "T恤", Lifecycle: catalog.Classic,
		LaunchDate: "2026-03-01", SKUs: []catalog.SKU{sku("BLK", 1), sku("WHT", 2)}}}); err != nil {
		t.Fatal(err)
	}
	codes := []string{"SH-NJD", "SH-XJH"}
	var locs []network.Location
	for _, l := range demo.Locations() {
		if slices.Contains(codes, l.Code) {
			locs = append(locs, l)
		}
	}
	var chans []network.Channel
	for _, c := range demo.Channels() {
		if c.Code == "app" {
			c.Locations = codes
			chans = append(chans, c)
		}
	}
	if err := net.BulkUpsert(ctx, locs, chans); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"TEE-BLK-M", "TEE-WHT-M"} {
		if _, err := f.inv.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: "SH-NJD",
			Lines: []inventory.PostLine{{SKU: s, Qty: 30}}}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// deal creates a deal of TEE-BLK-M at 59 CNY for groups of size.
func (f *fixture) deal(t *testing.T, code string, size int, limit int64) campaigns.Deal {
	t.Helper()
	d, err := f.svc.CreateDeal(context.Background(), campaigns.NewDeal{Code: code, Name: "拼团T恤", SKU: "TEE-BLK-M", GroupPrice: 5900,
		GroupSize: size, MemberLimit: limit, EndsAt: f.clk.Now().Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// join is a pickup order of one unit at SH-NJD for member m.
func join(m int64) campaigns.JoinRequest {
	return campaigns.JoinRequest{MemberID: m, Channel: "app", Mode: fulfilment.Pickup, Store: "SH-NJD"}
}

func (f *fixture) pay(t *testing.T, order int64) {
	t.Helper()
	if _, err := f.ord.Pay(context.Background(), order, orders.PayRequest{Provider: "test"}); err != nil {
		t.Fatalf("pay order %d: %v", order, err)
	}
}

// events counts the events of a topic about a subject.
func (f *fixture) events(t *testing.T, topic, subject string) int {
	t.Helper()
	var n int
	if err := f.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM events WHERE topic = ? AND subject = ?`, topic, subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// reserved is what is reserved of a SKU at SH-NJD.
func (f *fixture) reserved(t *testing.T, sku string) int64 {
	t.Helper()
	l, err := f.inv.GetLevel(context.Background(), sku, "SH-NJD")
	if err != nil {
		t.Fatal(err)
	}
	return l.Reserved
}

// wantCode fails unless err is an errs.Error with this code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
}

func group(id int64) string { return "group-" + strconv.FormatInt(id, 10) }

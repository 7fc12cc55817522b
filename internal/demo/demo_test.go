package demo

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

func TestMakeIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := Make(7), Make(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans of seed 7 differ")
	}
	c := Make(8)
	if reflect.DeepEqual(a.Styles, c.Styles) || reflect.DeepEqual(a.Stock, c.Stock) {
		t.Fatal("seeds 7 and 8 give the same catalog or stock")
	}
	if !reflect.DeepEqual(a.Locations, c.Locations) {
		t.Fatal("the network depends on the seed")
	}
}

func TestPlanShape(t *testing.T) {
	t.Parallel()
	p := Make(2026)
	s := p.Summary()
	check := func(name string, got, lo, hi int) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s = %d; want %d..%d", name, got, lo, hi)
		}
	}
	check("stores", s.Stores, 28, 40)
	check("warehouses", s.Warehouses, 6, 8)
	check("channels", s.Channels, 5, 5)
	check("styles", s.Styles, 550, 650)
	check("SKUs", s.SKUs, 5000, 8000)
	check("levels", s.Levels, 100_000, 200_000)
	check("units", s.StockUnits, 500_000, 3_000_000)

	regions := map[string]int{}
	cities := map[string]bool{}
	kinds := map[network.Kind]int{}
	for _, l := range p.Locations {
		kinds[l.Kind]++
		// China's bounding box.
		if l.Lat < 18 || l.Lat > 54 || l.Lng < 73 || l.Lng > 135 {
			t.Errorf("%s at %v,%v is outside China", l.Code, l.Lat, l.Lng)
		}
		if !slices.Contains([]string{East, South, North, Southwest, Northwest}, l.Region) {
			t.Errorf("%s has region %q", l.Code, l.Region)
		}
		if l.Kind == network.Store {
			regions[l.Region]++
			cities[l.City] = true
			if !l.Capabilities.POS || l.OpeningHours == "" {
				t.Errorf("store %s: POS %v, hours %q", l.Code, l.Capabilities.POS, l.OpeningHours)
			}
		}
		if l.Kind == network.FrontWarehouse && (l.Capabilities.InstantRadiusM < 3000 || l.Capabilities.InstantRadiusM > 5000) {
			t.Errorf("front warehouse %s: instant radius %d", l.Code, l.Capabilities.InstantRadiusM)
		}
	}
	for _, r := range []string{East, South, North, Southwest, Northwest} {
		if regions[r] < 4 {
			t.Errorf("%d stores in region %s", regions[r], r)
		}
	}
	if kinds[network.CentralWarehouse] != 1 || kinds[network.RegionalWarehouse] != 2 || kinds[network.FrontWarehouse] < 3 || len(cities) < 20 {
		t.Errorf("kinds %v, %d cities", kinds, len(cities))
	}
	// Stores are spread out: no two within 1 km of each other.
	for i, a := range p.Locations {
		for _, b := range p.Locations[i+1:] {
			if a.Kind == network.Store && b.Kind == network.Store && network.DistanceM(a.Lat, a.Lng, b.Lat, b.Lng) < 1000 {
				t.Errorf("stores %s and %s are within 1 km", a.Code, b.Code)
			}
		}
	}
	var live network.Channel
	for _, c := range p.Channels {
		if c.Code == "live" {
			live = c
		}
	}
	if live.MaxSharePct != 30 || !slices.Equal(live.Locations, []string{"CW-JX"}) {
		t.Errorf("live channel %+v", live)
	}

	asOf, _ := time.Parse(time.DateOnly, AsOf)
	barcodes := map[string]bool{}
	skus := map[string]bool{}
	categories := map[string]int{}
	lifecycles := map[catalog.Lifecycle]int{}
	brands := map[string]bool{}
	for _, st := range p.Styles {
		categories[st.Category]++
		lifecycles[st.Lifecycle]++
		brands[st.Brand] = true
		d, err := time.Parse(time.DateOnly, st.LaunchDate)
		if err != nil || d.After(asOf) || d.Before(asOf.AddDate(-2, 0, 0)) {
			t.Errorf("style %s launched %s", st.Code, st.LaunchDate)
		}
		colours := map[string]bool{}
		for _, k := range st.SKUs {
			colours[k.Color] = true
			if !catalog.ValidBarcode(k.Barcode) || len(k.Barcode) != 13 || !strings.HasPrefix(k.Barcode, "69") || barcodes[k.Barcode] {
				t.Errorf("SKU %s barcode %s: invalid, not 69…, or repeated", k.Code, k.Barcode)
			}
			barcodes[k.Barcode] = true
			if skus[k.Code] || !strings.HasPrefix(k.Code, st.Code+"-") || strings.Count(k.Code, "-") != 2 {
				t.Errorf("SKU code %s of style %s", k.Code, st.Code)
			}
			skus[k.Code] = true
			if k.ListPrice%1000 != 900 || k.Cost < k.ListPrice*30/100-100 || k.Cost > k.ListPrice*45/100+100 {
				t.Errorf("SKU %s: list %d, cost %d", k.Code, k.ListPrice, k.Cost)
			}
		}
		if n := len(colours); n < 3 || n > 5 {
			t.Errorf("style %s has %d colours", st.Code, n)
		}
	}
	if len(categories) < 8 || len(brands) < 2 || lifecycles[catalog.Fashion] < 100 || lifecycles[catalog.Seasonal] < 100 || lifecycles[catalog.Classic] < 100 {
		t.Errorf("categories %v, brands %v, lifecycles %v", categories, brands, lifecycles)
	}
	for _, c := range categories {
		if c < 20 {
			t.Errorf("categories %v", categories)
		}
	}

	kindOf := map[string]network.Kind{}
	for _, l := range p.Locations {
		kindOf[l.Code] = l.Kind
	}
	bounds := map[network.Kind][2]int64{
		network.CentralWarehouse: {10, 300}, network.RegionalWarehouse: {5, 120},
		network.FrontWarehouse: {3, 15}, network.Store: {2, 12},
	}
	atCentral := map[string]bool{}
	levels := map[string]bool{}
	perLocation := map[string]int{}
	for _, l := range p.Stock {
		key := l.SKUCode + "@" + l.LocationCode
		if levels[key] || !skus[l.SKUCode] {
			t.Fatalf("stock line %+v: repeated or unknown SKU", l)
		}
		levels[key] = true
		perLocation[l.LocationCode]++
		b, ok := bounds[kindOf[l.LocationCode]]
		if !ok || l.Qty < b[0] || l.Qty > b[1] {
			t.Errorf("stock line %+v: unknown location or quantity outside %v", l, b)
		}
		if l.LocationCode == "CW-JX" {
			atCentral[l.SKUCode] = true
		}
	}
	for _, l := range p.Locations {
		if perLocation[l.Code] < 1000 {
			t.Errorf("%s holds %d SKUs", l.Code, perLocation[l.Code])
		}
	}
	if len(atCentral) != len(skus) {
		t.Errorf("%d of %d SKUs at the central warehouse", len(atCentral), len(skus))
	}
}

// recorder is a Receive that keeps the lines.
type recorder struct {
	mu      sync.Mutex
	lines   []StockLine
	batches int
}

func (r *recorder) receive(_ context.Context, lines []StockLine) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, lines...)
	r.batches++
	return nil
}

type world struct {
	d   *db.DB
	cat *catalog.Service
	net *network.Service
	inv *inventory.Service
	rec *recorder
}

func newWorld(d *db.DB) *world {
	now := func() time.Time { return time.Date(2026, 10, 31, 2, 0, 0, 0, time.UTC) }
	ob := outbox.New(now)
	w := &world{d: d, cat: catalog.NewService(d, ob, now), net: network.NewService(d, ob, now), rec: &recorder{}}
	w.inv = inventory.NewService(d, ob, w.cat, w.net, now, 15*time.Minute)
	return w
}

func (w *world) generate(t *testing.T, seed int64) Summary {
	t.Helper()
	start := time.Now()
	s, err := Generate(context.Background(), Deps{Catalog: w.cat, Network: w.net, Receive: w.rec.receive}, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: Generate without stock took %s", w.d.Engine, time.Since(start).Round(time.Millisecond))
	return s
}

// snapshot renders everything the demo stored, in a stable order.
func (w *world) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	locs, err := w.net.AllLocations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range locs {
		l.ID = 0
		fmt.Fprintf(&b, "%+v\n", l)
	}
	chans, _, err := w.net.ListChannels(ctx, network.ChannelFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chans {
		c.ID, c.LocationIDs = 0, nil
		fmt.Fprintf(&b, "%+v\n", c)
	}
	for cursor := ""; ; {
		page, next, err := w.cat.ListStyles(ctx, catalog.StyleFilter{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range page {
			fmt.Fprintf(&b, "%+v\n", st)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	for cursor := ""; ; {
		page, next, err := w.cat.ListSKUs(ctx, catalog.SKUFilter{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page {
			fmt.Fprintf(&b, "%+v\n", k)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	for _, l := range w.rec.lines {
		fmt.Fprintf(&b, "%s %s %d\n", l.SKUCode, l.LocationCode, l.Qty)
	}
	return b.String()
}

func eventCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Generate on two fresh stores stores the same data; a re-run on the same
// store changes nothing and hands the same stock again.
func TestGenerateDeterministicAndIdempotent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		a := newWorld(d)
		sum := a.generate(t, 2026)
		if want := Make(2026).Summary(); sum != want {
			t.Fatalf("summary %+v; want %+v", sum, want)
		}
		if got := a.rec.batches; got != (sum.Levels+ReceiveBatch-1)/ReceiveBatch {
			t.Fatalf("%d Receive calls for %d lines", got, sum.Levels)
		}
		snapA := a.snapshot(t)
		if n := strings.Count(snapA, "\n"); n < sum.SKUs+sum.Styles+sum.Levels {
			t.Fatalf("snapshot has %d lines", n)
		}

		var b *world
		if d.Engine == db.SQLite {
			b = newWorld(dbtest.SQLite(t))
		} else {
			b = newWorld(dbtest.Postgres(t))
		}
		b.generate(t, 2026)
		if snapB := b.snapshot(t); snapA != snapB {
			t.Fatal("two fresh stores of seed 2026 differ")
		}

		events := eventCount(t, d)
		a.rec.lines = nil
		again := a.generate(t, 2026)
		if again != sum {
			t.Fatalf("re-run summary %+v; want %+v", again, sum)
		}
		if n := eventCount(t, d); n != events {
			t.Fatalf("re-run appended %d events", n-events)
		}
		if snapAgain := a.snapshot(t); snapAgain != snapA {
			t.Fatal("re-run changed the stored demo")
		}
	})
}

func TestGenerateStopsOnReceiveError(t *testing.T) {
	w := newWorld(dbtest.SQLite(t))
	calls := 0
	boom := errs.New(errs.Internal, "boom", "refused")
	_, err := Generate(context.Background(), Deps{Catalog: w.cat, Network: w.net, Receive: func(context.Context, []StockLine) error {
		calls++
		return boom
	}}, 1)
	if err == nil || calls != 1 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v after %d calls; want the receive error after one", err, calls)
	}
	if _, err := Generate(context.Background(), Deps{Network: w.net}, 1); err == nil {
		t.Fatal("Generate without a catalog succeeded")
	}
}

package fulfilment_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// world is the demo network with ids assigned as a store would: locations
// by code, channels with their LocationIDs resolved.
type world struct {
	locs  []network.Location
	byID  map[int64]network.Location
	code  map[string]network.Location
	chans map[string]network.Channel
}

func newWorld(t *testing.T) world {
	t.Helper()
	w := world{byID: map[int64]network.Location{}, code: map[string]network.Location{}, chans: map[string]network.Channel{}}
	for i, l := range demo.Locations() {
		l.ID = int64(100 + i)
		w.locs = append(w.locs, l)
		w.byID[l.ID] = l
		w.code[l.Code] = l
	}
	for i, c := range demo.Channels() {
		c.ID = int64(i + 1)
		c.LocationIDs = make([]int64, len(c.Locations))
		for j, code := range c.Locations {
			l, ok := w.code[code]
			if !ok {
				t.Fatalf("channel %s names unknown location %s", c.Code, code)
			}
			c.LocationIDs[j] = l.ID
		}
		w.chans[c.Code] = c
	}
	return w
}

// The demo's SKUs of these tests, by id.
const (
	skuA int64 = 1 + iota
	skuB
	skuC
)

var skuCode = map[int64]string{skuA: "TEE-BLK-M", skuB: "TEE-WHT-M", skuC: "COAT-BLK-M"}

// stock is free stock as "SKU id → location code → units".
type stock map[int64]map[string]int64

func (w world) free(s stock) map[int64]map[int64]int64 {
	out := map[int64]map[int64]int64{}
	for sku, m := range s {
		out[sku] = map[int64]int64{}
		for code, n := range m {
			l, ok := w.code[code]
			if !ok {
				panic("unknown location " + code)
			}
			out[sku][l.ID] = n
		}
	}
	return out
}

func lines(qty map[int64]int64, order ...int64) []fulfilment.Line {
	out := make([]fulfilment.Line, len(order))
	for i, id := range order {
		out[i] = fulfilment.Line{SKUID: id, SKU: skuCode[id], Qty: qty[id]}
	}
	return out
}

// Shanghai wall-clock times of the tests.
func sh(day, hour, minute int) time.Time {
	return time.Date(2026, 3, day, hour, minute, 0, 0, network.Shanghai)
}

// Points in real places.
var (
	peoplesSquare = &fulfilment.Point{Lat: 31.2304, Lng: 121.4737} // 上海人民广场: 0.8 km from SH-NJD, 2.4 km from FW-SH-JA, 2.5 km from SH-LJZ
	xujiahui      = &fulfilment.Point{Lat: 31.1950, Lng: 121.4370} // 上海徐家汇, at SH-XJH
	lhasa         = &fulfilment.Point{Lat: 29.6500, Lng: 91.1300}  // 拉萨: 1,248 km from CD-YTZ, the nearest instant location
)

type routeCase struct {
	name     string
	mode     fulfilment.Mode
	strategy fulfilment.Strategy
	channel  string
	store    string
	dest     *fulfilment.Point
	lines    []fulfilment.Line
	stock    stock
	at       time.Time
	inactive []string // locations switched off
	// success
	winners  []string          // in any order
	assign   map[string]string // SKU → location
	promised time.Time         // zero: no promise
	whyHas   string
	notIn    []string // never among the candidates
	// failure
	err     *errs.Error
	errHas  []string // in the error's message
	alts    []string // the error's alternatives, in order
	nearest string   // the error's nearest option
}

func TestRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	one := map[int64]int64{skuA: 1, skuB: 1, skuC: 1}
	two := map[int64]int64{skuA: 2, skuB: 1}
	open := sh(10, 14, 0)
	cases := []routeCase{
		// ── pickup ──
		{name: "pickup at a store holding every line", mode: fulfilment.Pickup, channel: "app", store: "SH-NJD",
			lines: lines(two, skuA, skuB), stock: stock{skuA: {"SH-NJD": 3, "SH-XJH": 9}, skuB: {"SH-NJD": 2}}, at: open,
			winners: []string{"SH-NJD"}, assign: map[string]string{"TEE-BLK-M": "SH-NJD", "TEE-WHT-M": "SH-NJD"}, promised: open.Add(2 * time.Hour)},
		{name: "pickup at a store short of a line (its last unit is the channel's safety stock)", mode: fulfilment.Pickup, channel: "app", store: "SH-NJD",
			lines: lines(one, skuA), at: open,
			stock: stock{skuA: {"SH-NJD": 1, "HZ-HBY": 5, "SH-XJH": 5, "SH-WJC": 5, "SH-LJZ": 5, "FS-ZMU": 5, "CW-JX": 50}},
			err:   fulfilment.ErrNotCovered, errHas: []string{"SH-NJD", "SH-LJZ, SH-XJH, SH-WJC, HZ-HBY"},
			alts: []string{"SH-LJZ", "SH-XJH", "SH-WJC", "HZ-HBY"}},
		{name: "pickup at a store without pickup", mode: fulfilment.Pickup, channel: "mini", store: "FS-ZMU",
			lines: lines(one, skuA), stock: stock{skuA: {"FS-ZMU": 5}}, at: open,
			err: fulfilment.ErrNoPickup, errHas: []string{"FS-ZMU"}},
		{name: "pickup at a store outside the channel", mode: fulfilment.Pickup, channel: "live", store: "SH-NJD",
			lines: lines(one, skuA), stock: stock{skuA: {"SH-NJD": 5}}, at: open,
			err: fulfilment.ErrNotInChannel},
		{name: "pickup at night: ready two hours after opening", mode: fulfilment.Pickup, channel: "app", store: "SH-NJD",
			lines: lines(one, skuA), stock: stock{skuA: {"SH-NJD": 5}}, at: sh(10, 23, 30),
			winners: []string{"SH-NJD"}, promised: sh(11, 12, 0)},

		// ── instant ──
		{name: "instant within SH-NJD's radius: the nearest eligible location", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(two, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "FW-SH-JA": 5, "SH-LJZ": 5, "CW-JX": 50}, skuB: {"SH-NJD": 5, "FW-SH-JA": 5, "SH-LJZ": 5, "CW-JX": 50}},
			winners: []string{"SH-NJD"}, assign: map[string]string{"TEE-BLK-M": "SH-NJD", "TEE-WHT-M": "SH-NJD"}, promised: open.Add(2 * time.Hour),
			notIn: []string{"CW-JX"}},
		{name: "instant where the nearest lacks a line: the next nearest holding all, never split", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(two, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "FW-SH-JA": 5, "SH-LJZ": 5}, skuB: {"SH-NJD": 1, "FW-SH-JA": 5, "SH-LJZ": 5}},
			winners: []string{"FW-SH-JA"}, assign: map[string]string{"TEE-BLK-M": "FW-SH-JA", "TEE-WHT-M": "FW-SH-JA"}, promised: open.Add(2 * time.Hour)},
		{name: "instant never splits even when two locations together hold it", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(two, skuA, skuB), at: open,
			stock: stock{skuA: {"SH-NJD": 5}, skuB: {"FW-SH-JA": 5}},
			err:   fulfilment.ErrOutOfRadius, nearest: "SH-NJD"},
		{name: "instant outside every radius (拉萨) names the nearest option", mode: fulfilment.Instant, channel: "mini", dest: lhasa,
			lines: lines(one, skuA), at: open, stock: stock{skuA: {"CD-YTZ": 5, "CD-CXL": 5, "SH-NJD": 5}},
			err: fulfilment.ErrOutOfRadius, errHas: []string{"CD-YTZ"}, nearest: "CD-YTZ"},
		{name: "instant skips an inactive location", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(one, skuA), at: open, inactive: []string{"SH-NJD"},
			stock:   stock{skuA: {"SH-NJD": 5, "FW-SH-JA": 5, "SH-LJZ": 5}},
			winners: []string{"FW-SH-JA"}, notIn: []string{"SH-NJD"}},
		{name: "instant at night: two hours after the chosen location opens", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(one, skuA), at: sh(10, 23, 30), stock: stock{skuA: {"SH-NJD": 5}},
			winners: []string{"SH-NJD"}, promised: sh(11, 12, 0)},
		{name: "instant at night from the front warehouse (opens 08:00)", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(one, skuA), at: sh(10, 23, 30), stock: stock{skuA: {"FW-SH-JA": 5}},
			winners: []string{"FW-SH-JA"}, promised: sh(11, 10, 0)},
		{name: "instant in the small hours at an odd minute: opening time + 2 h", mode: fulfilment.Instant, channel: "mini", dest: peoplesSquare,
			lines: lines(one, skuA), at: sh(11, 2, 7), stock: stock{skuA: {"SH-NJD": 5}},
			winners: []string{"SH-NJD"}, promised: sh(11, 12, 0)},
		{name: "instant never uses a location outside the channel (shop has no front warehouse)", mode: fulfilment.Instant, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA), at: open, stock: stock{skuA: {"FW-SH-JA": 5, "SH-LJZ": 5}},
			winners: []string{"SH-LJZ"}, notIn: []string{"FW-SH-JA"}},

		// ── standard ──
		{name: "fewest_splits: one warehouse holding every line beats nearer stores", mode: fulfilment.Standard, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "SH-LJZ": 5, "CW-JX": 5}, skuB: {"SH-XJH": 5, "CW-JX": 5}},
			winners: []string{"CW-JX"}, assign: map[string]string{"TEE-BLK-M": "CW-JX", "TEE-WHT-M": "CW-JX"}, whyHas: "fewest"},
		{name: "fewest_splits: two locations with the shortest total distance", mode: fulfilment.Standard, channel: "shop", dest: xujiahui,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "SH-XJH": 5}, skuB: {"SH-LJZ": 5, "HZ-HBY": 5}},
			winners: []string{"SH-XJH", "SH-LJZ"}, assign: map[string]string{"TEE-BLK-M": "SH-XJH", "TEE-WHT-M": "SH-LJZ"}},
		{name: "fewest_splits is the default strategy", mode: fulfilment.Standard, strategy: "", channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "CW-JX": 5}, skuB: {"SH-XJH": 5, "CW-JX": 5}},
			winners: []string{"CW-JX"}},
		{name: "nearest: each line from the nearest location holding it", mode: fulfilment.Standard, strategy: fulfilment.Nearest, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "SH-LJZ": 5, "CW-JX": 5}, skuB: {"SH-XJH": 5, "CW-JX": 5}},
			winners: []string{"SH-NJD", "SH-XJH"}, assign: map[string]string{"TEE-BLK-M": "SH-NJD", "TEE-WHT-M": "SH-XJH"}, whyHas: "nearest"},
		{name: "warehouse_first: warehouses before a store holding everything", mode: fulfilment.Standard, strategy: fulfilment.WarehouseFirst, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "CW-JX": 5}, skuB: {"SH-NJD": 5, "RW-GZ": 5}},
			winners: []string{"CW-JX", "RW-GZ"}, assign: map[string]string{"TEE-BLK-M": "CW-JX", "TEE-WHT-M": "RW-GZ"}, whyHas: "warehouses first"},
		{name: "warehouse_first falls back to stores when warehouses cannot cover", mode: fulfilment.Standard, strategy: fulfilment.WarehouseFirst, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "CW-JX": 5}, skuB: {"SH-NJD": 5}},
			winners: []string{"SH-NJD"}, whyHas: "cannot cover"},
		{name: "the same order with fewest_splits takes the one store", mode: fulfilment.Standard, strategy: fulfilment.FewestSplits, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"SH-NJD": 5, "CW-JX": 5}, skuB: {"SH-NJD": 5, "RW-GZ": 5}},
			winners: []string{"SH-NJD"}},
		{name: "standard never uses locations outside the channel (FW-SH-JA, HZ-WLG) however near", mode: fulfilment.Standard, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuB), at: open,
			stock:   stock{skuA: {"FW-SH-JA": 9, "HZ-WLG": 9, "RW-CD": 5}, skuB: {"FW-SH-JA": 9, "HZ-WLG": 9, "RW-CD": 5}},
			winners: []string{"RW-CD"}, notIn: []string{"FW-SH-JA", "HZ-WLG"}},
		{name: "standard with a line nobody holds", mode: fulfilment.Standard, channel: "shop", dest: peoplesSquare,
			lines: lines(one, skuA, skuC), at: open, stock: stock{skuA: {"CW-JX": 5}, skuC: {"FW-SH-JA": 5}},
			err: fulfilment.ErrNoRoute, errHas: []string{"COAT-BLK-M"}},

		// ── POS ──
		{name: "POS: the selling store", mode: fulfilment.POS, channel: "pos", store: "SH-XJH", lines: lines(two, skuA, skuB), at: open,
			stock: stock{skuA: {"SH-NJD": 9}}, winners: []string{"SH-XJH"}, assign: map[string]string{"TEE-BLK-M": "SH-XJH", "TEE-WHT-M": "SH-XJH"}},
		{name: "POS at a warehouse", mode: fulfilment.POS, channel: "pos", store: "CW-JX", lines: lines(one, skuA), at: open,
			err: fulfilment.ErrNoPOS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ch := w.chans[c.channel]
			places := slices.Clone(w.locs)
			for i := range places {
				if slices.Contains(c.inactive, places[i].Code) {
					places[i].Active = false
				}
			}
			req := fulfilment.Request{Mode: c.mode, Strategy: c.strategy, Channel: ch, Places: places, Dest: c.dest, Lines: c.lines,
				At: c.at, Free: w.free(c.stock)}
			if c.store != "" {
				s := w.code[c.store]
				req.Store = &s
			}
			d, err := fulfilment.Route(req)
			if c.err != nil {
				checkRefusal(t, c, err)
				return
			}
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			checkDecision(t, w, c, ch, d)
		})
	}
}

func checkRefusal(t *testing.T, c routeCase, err error) {
	t.Helper()
	if !errors.Is(err, c.err) {
		t.Fatalf("err = %v; want %s", err, c.err.Code)
	}
	e, _ := errs.As(err)
	for _, s := range c.errHas {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q does not contain %q", e.Message, s)
		}
	}
	if c.alts != nil {
		alts, _ := e.Extra["alternatives"].([]fulfilment.Candidate)
		var got []string
		for i, a := range alts {
			got = append(got, a.Location)
			if a.DistanceM == nil || i > 0 && *a.DistanceM < *alts[i-1].DistanceM {
				t.Errorf("alternative %s: distance %v not nearest first", a.Location, a.DistanceM)
			}
		}
		if !slices.Equal(got, c.alts) {
			t.Errorf("alternatives = %v; want %v (nearest first)", got, c.alts)
		}
	}
	if c.nearest != "" {
		n, ok := e.Extra["nearest"].(fulfilment.Candidate)
		if !ok || n.Location != c.nearest {
			t.Errorf("nearest = %+v; want %s", e.Extra["nearest"], c.nearest)
		}
		if !strings.Contains(e.Message, c.nearest) {
			t.Errorf("message %q does not name the nearest option %s", e.Message, c.nearest)
		}
	}
}

func checkDecision(t *testing.T, w world, c routeCase, ch network.Channel, d fulfilment.Decision) {
	t.Helper()
	if d.Mode != c.mode || !d.DecidedAt.Equal(c.at) {
		t.Errorf("mode %s decided %v; want %s at %v", d.Mode, d.DecidedAt, c.mode, c.at)
	}
	got, want := slices.Sorted(slices.Values(d.Winners)), slices.Sorted(slices.Values(c.winners))
	if !slices.Equal(got, want) {
		t.Fatalf("winners = %v; want %v (why: %s; candidates %+v)", d.Winners, c.winners, d.Why, d.Candidates)
	}
	if d.Splits != len(c.winners) {
		t.Errorf("splits = %d; want %d", d.Splits, len(c.winners))
	}
	if d.Why == "" {
		t.Error("the decision does not say why")
	}
	if c.whyHas != "" && !strings.Contains(d.Why, c.whyHas) {
		t.Errorf("why = %q; want it to mention %q", d.Why, c.whyHas)
	}
	if len(d.Candidates) == 0 {
		t.Error("the decision lists no candidates")
	}
	for _, cand := range d.Candidates {
		if slices.Contains(c.notIn, cand.Location) {
			t.Errorf("candidate %s must not be considered", cand.Location)
		}
		if !slices.Contains(ch.Locations, cand.Location) {
			t.Errorf("candidate %s does not serve channel %s", cand.Location, ch.Code)
		}
	}
	if c.mode == fulfilment.Instant || c.mode == fulfilment.Standard {
		// the record lists at most ten others besides the winners and counts the rest
		if d.Considered != len(d.Candidates)+d.Unlisted || len(d.Candidates) > 10+len(d.Winners) {
			t.Errorf("considered %d, listed %d, unlisted %d (winners %d)", d.Considered, len(d.Candidates), d.Unlisted, len(d.Winners))
		}
		// the winners are among the candidates, marked eligible, with distances
		for _, win := range d.Winners {
			i := slices.IndexFunc(d.Candidates, func(x fulfilment.Candidate) bool { return x.Location == win })
			if i < 0 || !d.Candidates[i].Eligible || d.Candidates[i].DistanceM == nil {
				t.Errorf("winner %s is not an eligible candidate with a distance: %+v", win, d.Candidates)
			}
		}
	}
	if len(d.Assign) != len(c.lines) {
		t.Fatalf("assignments = %+v; want one per line", d.Assign)
	}
	for i, a := range d.Assign {
		if a.Line != i+1 || a.SKU != c.lines[i].SKU {
			t.Errorf("assignment %d = %+v", i, a)
		}
		if l := w.byID[a.LocationID]; l.Code != a.Location || !slices.Contains(d.Winners, a.Location) || !slices.Contains(ch.LocationIDs, a.LocationID) {
			t.Errorf("assignment %+v: not a winner of the channel", a)
		}
		if want, ok := c.assign[a.SKU]; ok && a.Location != want {
			t.Errorf("%s from %s; want %s", a.SKU, a.Location, want)
		}
	}
	switch {
	case c.promised.IsZero() && d.PromisedAt != nil && c.mode == fulfilment.Standard:
		t.Errorf("standard delivery promised at %v by routing", d.PromisedAt)
	case !c.promised.IsZero() && (d.PromisedAt == nil || !d.PromisedAt.Equal(c.promised)):
		t.Errorf("promised at %v; want %v", d.PromisedAt, c.promised.UTC())
	}
}

// The distances in the record are real: SH-NJD is about 0.8 km from 人民广场.
func TestRouteRecordsDistances(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d, err := fulfilment.Route(fulfilment.Request{Mode: fulfilment.Instant, Channel: w.chans["mini"], Places: w.locs, Dest: peoplesSquare,
		Lines: lines(map[int64]int64{skuA: 1}, skuA), At: sh(10, 14, 0), Free: w.free(stock{skuA: {"SH-NJD": 5, "FW-SH-JA": 5}})})
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]fulfilment.Candidate{}
	for _, c := range d.Candidates {
		byCode[c.Location] = c
	}
	for code, want := range map[string]int64{"SH-NJD": 800, "FW-SH-JA": 2450, "SH-LJZ": 2515} {
		c, ok := byCode[code]
		if !ok || c.DistanceM == nil || *c.DistanceM < want-50 || *c.DistanceM > want+50 {
			t.Errorf("%s: %+v; want about %d m", code, c, want)
		}
	}
	if c := byCode["SH-LJZ"]; c.Eligible || c.Covers != 0 || c.Note == "" {
		t.Errorf("SH-LJZ holds nothing: %+v", c)
	}
	if c := byCode["SH-XJH"]; c.Eligible || !strings.Contains(c.Note, "radius") {
		t.Errorf("SH-XJH (5.3 km, radius 3 km) must be noted outside its radius: %+v", c)
	}
	// candidates: eligible first, then by distance
	if d.Candidates[0].Location != "SH-NJD" || d.Candidates[1].Location != "FW-SH-JA" {
		t.Errorf("candidates not eligible-then-nearest first: %+v", d.Candidates[:2])
	}
}

// An unknown mode is refused.
func TestRouteUnknownMode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, err := fulfilment.Route(fulfilment.Request{Mode: "drone", Channel: w.chans["mini"], Places: w.locs, At: sh(10, 14, 0)})
	if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid {
		t.Fatalf("err = %v; want a 422", err)
	}
	for _, m := range []fulfilment.Mode{fulfilment.Pickup, fulfilment.Instant, fulfilment.Standard, fulfilment.POS} {
		if !m.Valid() {
			t.Errorf("%s not valid", m)
		}
	}
	if fulfilment.Mode("drone").Valid() || fulfilment.Strategy("cheapest").Valid() {
		t.Error("unknown mode or strategy accepted")
	}
}

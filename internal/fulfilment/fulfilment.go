// Package fulfilment decides where an order's lines are fulfilled from
// (履约路由) and records why: every decision lists the candidates it
// considered, the winner and the rule that chose it.
//
// Rules by delivery mode:
//   - pickup: the chosen store, which must offer pickup and hold every
//     line; otherwise an error listing the nearest stores that could;
//   - instant: the nearest store or front warehouse whose delivery radius
//     reaches the address and which holds every line (never split), with a
//     promised delivery two hours after the order (or after opening);
//   - standard: by the channel's strategy — fewest_splits (default: fewest
//     locations, then shortest total distance, then the most surplus),
//     nearest (each line from the nearest location holding it), or
//     warehouse_first (warehouses before stores, then fewest splits);
//   - pos: the store itself.
//
// Routing works on a snapshot of free stock; the inventory hold that
// follows is what grants, so a lost race is retried with a new snapshot.
// Only the locations serving the order's channel are candidates. Each line
// is fulfilled whole from one location.
package fulfilment

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Mode is how an order reaches the customer.
type Mode string

// The delivery modes.
const (
	Pickup   Mode = "pickup"   // buy online, pick up in store (自提)
	Instant  Mode = "instant"  // delivered within hours from nearby (即时配送)
	Standard Mode = "standard" // parcel delivery
	POS      Mode = "pos"      // sold and handed over in the store
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == Pickup || m == Instant || m == Standard || m == POS }

// Strategy is how standard deliveries choose their locations.
type Strategy string

// The standard-delivery strategies.
const (
	FewestSplits   Strategy = "fewest_splits"
	Nearest        Strategy = "nearest"
	WarehouseFirst Strategy = "warehouse_first"
)

// Strategies lists the valid strategies.
var Strategies = []Strategy{FewestSplits, Nearest, WarehouseFirst}

// Valid reports whether s is a known strategy.
func (s Strategy) Valid() bool { return slices.Contains(Strategies, s) }

// InstantPromise is how soon instant delivery is promised (the documents
// promise two hours).
const InstantPromise = 2 * time.Hour

// PickupPromise is how soon a pickup order is promised ready.
const PickupPromise = 2 * time.Hour

// Line is one SKU of an order to route.
type Line struct {
	SKUID int64
	SKU   string
	Qty   int64
}

// Point is a delivery address's coordinates.
type Point struct{ Lat, Lng float64 }

// Request is an order to route.
type Request struct {
	Mode     Mode
	Strategy Strategy           // standard deliveries; "" = fewest_splits
	Channel  network.Channel    // its active locations are the candidates
	Places   []network.Location // the channel's locations (resolved by the caller)
	Store    *network.Location  // pickup and POS: the chosen store
	Dest     *Point             // instant (required) and standard (optional)
	Lines    []Line
	At       time.Time
	// Free is free stock by SKU id then location id (before the channel's
	// safety stock, which routing subtracts).
	Free map[int64]map[int64]int64
}

// Candidate is one location considered, with what it could do.
type Candidate struct {
	Location  string       `json:"location"`
	Kind      network.Kind `json:"kind"`
	DistanceM *int64       `json:"distance_m,omitempty"`
	Covers    int          `json:"covers" description:"lines this location could fulfil whole"`
	Eligible  bool         `json:"eligible"`
	Note      string       `json:"note,omitempty"`
}

// Assignment is where one line is fulfilled.
type Assignment struct {
	Line       int    `json:"line" description:"1-based line number"`
	SKU        string `json:"sku"`
	Location   string `json:"location"`
	LocationID int64  `json:"-"`
}

// Decision is the routing record kept on the order.
type Decision struct {
	Mode       Mode         `json:"mode"`
	Strategy   Strategy     `json:"strategy,omitempty"`
	Winners    []string     `json:"winners"`
	Why        string       `json:"why"`
	Splits     int          `json:"splits"`
	Assign     []Assignment `json:"assignments"`
	PromisedAt *time.Time   `json:"promised_at,omitempty"`
	Candidates []Candidate  `json:"candidates" description:"the winners and the nearest other candidates, eligible ones first"`
	Considered int          `json:"considered,omitempty" description:"locations of the channel considered"`
	Unlisted   int          `json:"unlisted,omitempty" description:"candidates considered but not listed (farther away)"`
	DecidedAt  time.Time    `json:"decided_at"`
}

// Errors of routing.
var (
	ErrNoPickup      = errs.New(errs.Invalid, "pickup_not_offered", "the store does not offer pickup")
	ErrNotCovered    = errs.New(errs.Conflict, "store_cannot_cover", "the store cannot cover the order")
	ErrOutOfRadius   = errs.New(errs.Invalid, "outside_delivery_radius", "no location delivers instantly to this address with every line")
	ErrNoRoute       = errs.New(errs.Conflict, "no_route", "the channel's locations cannot cover the order")
	ErrNotInChannel  = errs.New(errs.Invalid, "store_not_in_channel", "the store does not serve the channel")
	ErrNoPOS         = errs.New(errs.Invalid, "pos_not_offered", "the location does not sell over the counter")
	ErrNeedsLocation = errs.New(errs.Invalid, "validation_failed", "the mode needs a store or an address")
)

// place is a candidate location with its derived facts.
type place struct {
	loc    network.Location
	dist   float64 // metres; NaN without a destination
	covers []bool  // per line
	n      int     // lines covered
	spare  int64   // Σ (free − qty) over covered lines
}

// Route decides where each line is fulfilled from.
func Route(in Request) (Decision, error) {
	d := Decision{Mode: in.Mode, DecidedAt: in.At.UTC()}
	places := candidates(in)
	switch in.Mode {
	case POS:
		return routePOS(in, d, places)
	case Pickup:
		return routePickup(in, d, places)
	case Instant:
		d, err := routeInstant(in, d, places)
		return d.trimmed(), err
	case Standard:
		d, err := routeStandard(in, d, places)
		return d.trimmed(), err
	}
	return d, errs.E(errs.Invalid, "validation_failed", "mode: unknown mode %q", in.Mode).With("field", "mode")
}

// The decision record lists the winners and the nearest of the other
// candidates, eligible and not; the rest are counted (Considered,
// Unlisted). A record of every location of a national channel would cost
// each order a few kilobytes of storage for nothing a reader needs.
const (
	listEligible   = 6
	listIneligible = 4
)

// trimmed keeps the winners and the first listEligible eligible and
// listIneligible ineligible candidates (they are sorted: eligible first,
// nearest first) and counts the others.
func (d Decision) trimmed() Decision {
	d.Considered = len(d.Candidates)
	if len(d.Candidates) <= listEligible+listIneligible {
		return d
	}
	kept := make([]Candidate, 0, listEligible+listIneligible+len(d.Winners))
	var el, inel int
	for _, c := range d.Candidates {
		switch {
		case slices.Contains(d.Winners, c.Location):
		case c.Eligible && el < listEligible:
			el++
		case !c.Eligible && inel < listIneligible:
			inel++
		default:
			continue
		}
		kept = append(kept, c)
	}
	d.Unlisted = len(d.Candidates) - len(kept)
	d.Candidates = kept
	return d
}

// candidates evaluates every active location of the channel.
func candidates(in Request) []place {
	out := make([]place, 0, len(in.Places))
	for _, l := range in.Places {
		if !l.Active || !slices.Contains(in.Channel.LocationIDs, l.ID) {
			continue
		}
		p := place{loc: l, dist: math.NaN(), covers: make([]bool, len(in.Lines))}
		if in.Dest != nil {
			p.dist = network.DistanceM(in.Dest.Lat, in.Dest.Lng, l.Lat, l.Lng)
		}
		for i, ln := range in.Lines {
			free := in.Free[ln.SKUID][l.ID] - in.Channel.SafetyStock
			if free >= ln.Qty {
				p.covers[i] = true
				p.n++
				p.spare += free - ln.Qty
			}
		}
		out = append(out, p)
	}
	return out
}

func (p place) candidate(eligible bool, note string) Candidate {
	c := Candidate{Location: p.loc.Code, Kind: p.loc.Kind, Covers: p.n, Eligible: eligible, Note: note}
	if !math.IsNaN(p.dist) {
		m := int64(math.Round(p.dist))
		c.DistanceM = &m
	}
	return c
}

func (p place) all() bool { return p.n == len(p.covers) }

// whole assigns every line to one place.
func whole(d Decision, in Request, p place) Decision {
	d.Winners = []string{p.loc.Code}
	d.Splits = 1
	d.Assign = make([]Assignment, len(in.Lines))
	for i, ln := range in.Lines {
		d.Assign[i] = Assignment{Line: i + 1, SKU: ln.SKU, Location: p.loc.Code, LocationID: p.loc.ID}
	}
	return d
}

func km(m float64) string { return fmt.Sprintf("%.1f km", m/1000) }

func routePOS(in Request, d Decision, _ []place) (Decision, error) {
	if in.Store == nil {
		return d, ErrNeedsLocation.Withf("store: a POS sale names its store").With("field", "store")
	}
	s := *in.Store
	if !s.Capabilities.POS {
		return d, ErrNoPOS.Withf("store: %s does not sell over the counter", s.Code).With("field", "store")
	}
	if !slices.Contains(in.Channel.LocationIDs, s.ID) {
		return d, ErrNotInChannel.Withf("store: %s does not serve channel %s", s.Code, in.Channel.Code).With("field", "store")
	}
	p := place{loc: s, dist: math.NaN(), covers: make([]bool, len(in.Lines))}
	d.Candidates = []Candidate{p.candidate(true, "the selling store")}
	d = whole(d, in, p)
	d.Why = "POS sale: the goods leave the selling store"
	return d, nil
}

func routePickup(in Request, d Decision, places []place) (Decision, error) {
	if in.Store == nil {
		return d, ErrNeedsLocation.Withf("store: a pickup order names its store").With("field", "store")
	}
	s := *in.Store
	if !s.Capabilities.Pickup {
		return d, ErrNoPickup.Withf("store: %s does not offer pickup", s.Code).With("field", "store").
			With("alternatives", alternatives(in, places, s))
	}
	if !slices.Contains(in.Channel.LocationIDs, s.ID) {
		return d, ErrNotInChannel.Withf("store: %s does not serve channel %s", s.Code, in.Channel.Code).With("field", "store")
	}
	i := slices.IndexFunc(places, func(p place) bool { return p.loc.ID == s.ID })
	if i < 0 || !places[i].all() {
		alts := alternatives(in, places, s)
		msg := fmt.Sprintf("store: %s cannot cover every line", s.Code)
		if len(alts) > 0 {
			names := make([]string, len(alts))
			for j, a := range alts {
				names[j] = a.Location
			}
			msg += "; nearest stores that can: " + strings.Join(names, ", ")
		} else {
			msg += "; no pickup store of the channel can"
		}
		return d, ErrNotCovered.Withf("%s", msg).With("field", "store").With("alternatives", alts)
	}
	d.Candidates = []Candidate{places[i].candidate(true, "the chosen pickup store")}
	d = whole(d, in, places[i])
	d.Why = "pickup at the customer's chosen store, which holds every line"
	at := openFrom(s, in.At).Add(PickupPromise).UTC()
	d.PromisedAt = &at
	return d, nil
}

// alternatives lists up to five pickup stores of the channel covering the
// order, nearest to the refused store first.
func alternatives(in Request, places []place, from network.Location) []Candidate {
	var ok []place
	for _, p := range places {
		if p.loc.ID != from.ID && p.loc.Kind == network.Store && p.loc.Capabilities.Pickup && p.all() {
			p.dist = network.DistanceM(from.Lat, from.Lng, p.loc.Lat, p.loc.Lng)
			ok = append(ok, p)
		}
	}
	slices.SortFunc(ok, func(a, b place) int { return cmp.Compare(a.dist, b.dist) })
	out := make([]Candidate, 0, 5)
	for _, p := range ok[:min(5, len(ok))] {
		out = append(out, p.candidate(true, km(p.dist)+" from "+from.Code))
	}
	return out
}

// openFrom is t, or the next opening time when the location is closed.
func openFrom(l network.Location, t time.Time) time.Time {
	if l.OpenAt(t) {
		return t
	}
	m := t.Truncate(time.Minute)
	for i := 0; i < 24*60; i++ {
		m = m.Add(time.Minute)
		if l.OpenAt(m) {
			return m
		}
	}
	return t
}

func routeInstant(in Request, d Decision, places []place) (Decision, error) {
	if in.Dest == nil {
		return d, ErrNeedsLocation.Withf("address: instant delivery needs the address's lat and lng").With("field", "address.lat")
	}
	var best *place
	var nearest *place
	for i := range places {
		p := &places[i]
		instant := p.loc.Capabilities.Instant && (p.loc.Kind == network.Store || p.loc.Kind == network.FrontWarehouse)
		if !instant {
			continue
		}
		inRadius := p.dist <= float64(p.loc.Capabilities.InstantRadiusM)
		note := ""
		switch {
		case !inRadius:
			note = fmt.Sprintf("outside its %s radius (%s away)", km(float64(p.loc.Capabilities.InstantRadiusM)), km(p.dist))
		case !p.all():
			note = fmt.Sprintf("in radius but holds %d of %d lines", p.n, len(in.Lines))
		}
		d.Candidates = append(d.Candidates, p.candidate(note == "", note))
		if note == "" && (best == nil || p.dist < best.dist) {
			best = p
		}
		if nearest == nil || p.dist-float64(p.loc.Capabilities.InstantRadiusM) < nearest.dist-float64(nearest.loc.Capabilities.InstantRadiusM) {
			nearest = p
		}
	}
	sortCandidates(d.Candidates)
	if best == nil {
		err := ErrOutOfRadius.With("field", "address")
		if nearest != nil {
			err = err.Withf("address: no store or front warehouse within its delivery radius holds every line; nearest option: %s, %s away (radius %s)",
				nearest.loc.Code, km(nearest.dist), km(float64(nearest.loc.Capabilities.InstantRadiusM))).
				With("nearest", nearest.candidate(false, ""))
		} else {
			err = err.Withf("address: the channel %s has no instant-delivery location", in.Channel.Code)
		}
		return d, err.With("candidates", d.Candidates)
	}
	d = whole(d, in, *best)
	d.Why = fmt.Sprintf("nearest instant-delivery location within its radius holding every line (%s away)", km(best.dist))
	at := openFrom(best.loc, in.At).Add(InstantPromise).UTC()
	d.PromisedAt = &at
	return d, nil
}

func sortCandidates(cs []Candidate) {
	slices.SortStableFunc(cs, func(a, b Candidate) int {
		if a.Eligible != b.Eligible {
			if a.Eligible {
				return -1
			}
			return 1
		}
		if a.DistanceM != nil && b.DistanceM != nil {
			return cmp.Compare(*a.DistanceM, *b.DistanceM)
		}
		return cmp.Compare(b.Covers, a.Covers)
	})
}

func routeStandard(in Request, d Decision, places []place) (Decision, error) {
	st := in.Strategy
	if st == "" {
		st = FewestSplits
	}
	d.Strategy = st
	var ship []place
	for _, p := range places {
		ok := p.loc.Capabilities.Ship
		note := ""
		if !ok {
			note = "does not ship parcels"
		} else if p.n == 0 {
			note = "holds none of the lines"
		}
		d.Candidates = append(d.Candidates, p.candidate(note == "", note))
		if ok && p.n > 0 {
			ship = append(ship, p)
		}
	}
	sortCandidates(d.Candidates)
	for i := range in.Lines {
		if !slices.ContainsFunc(ship, func(p place) bool { return p.covers[i] }) {
			return d, ErrNoRoute.Withf("lines[%d]: no location of channel %s that ships holds %d of %s", i, in.Channel.Code, in.Lines[i].Qty, in.Lines[i].SKU).
				With("field", fmt.Sprintf("lines[%d]", i)).With("sku", in.Lines[i].SKU)
		}
	}
	var pick []place
	var assign []int
	switch st {
	case Nearest:
		pick, assign = nearestEach(in, ship)
		d.Why = "each line from the nearest shipping location holding it"
	case WarehouseFirst:
		wh := slices.DeleteFunc(slices.Clone(ship), func(p place) bool { return p.loc.Kind == network.Store })
		if pick, assign = fewestSplits(in, wh); pick != nil {
			d.Why = "warehouses first: fewest warehouses covering every line, then distance, then surplus"
		} else {
			pick, assign = fewestSplits(in, ship)
			d.Why = "warehouses first, but warehouses alone cannot cover the order: fewest locations, then distance, then surplus"
		}
	default:
		pick, assign = fewestSplits(in, ship)
		d.Why = "fewest locations covering every line, then shortest distance, then most surplus"
	}
	d.Splits = len(pick)
	for _, p := range pick {
		d.Winners = append(d.Winners, p.loc.Code)
	}
	d.Assign = make([]Assignment, len(in.Lines))
	for i, ln := range in.Lines {
		p := pick[assign[i]]
		d.Assign[i] = Assignment{Line: i + 1, SKU: ln.SKU, Location: p.loc.Code, LocationID: p.loc.ID}
	}
	return d, nil
}

// nearestEach sends each line to the nearest place holding it (by most
// surplus without a destination).
func nearestEach(in Request, ship []place) ([]place, []int) {
	var pick []place
	assign := make([]int, len(in.Lines))
	for i := range in.Lines {
		best := -1
		for j, p := range ship {
			if p.covers[i] && (best < 0 || better(p, ship[best])) {
				best = j
			}
		}
		k := slices.IndexFunc(pick, func(p place) bool { return p.loc.ID == ship[best].loc.ID })
		if k < 0 {
			pick = append(pick, ship[best])
			k = len(pick) - 1
		}
		assign[i] = k
	}
	return pick, assign
}

// better orders two places by distance (when known), then surplus, then
// warehouses before stores, then code (deterministic).
func better(a, b place) bool {
	if !math.IsNaN(a.dist) && !math.IsNaN(b.dist) && a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.spare != b.spare {
		return a.spare > b.spare
	}
	if (a.loc.Kind == network.Store) != (b.loc.Kind == network.Store) {
		return a.loc.Kind != network.Store
	}
	return a.loc.Code < b.loc.Code
}

// fewestSplits finds the smallest set of places covering every line:
// exhaustively for up to three places, then greedily. Among sets of the
// same size it prefers the shortest total distance, then the most surplus.
// It returns nil when the places cannot cover the order.
func fewestSplits(in Request, ship []place) ([]place, []int) {
	n := len(in.Lines)
	full := uint64(1)<<n - 1
	if n > 64 {
		return greedy(in, ship)
	}
	mask := make([]uint64, len(ship))
	for i, p := range ship {
		for j, c := range p.covers {
			if c {
				mask[i] |= 1 << j
			}
		}
	}
	type set struct {
		idx   []int
		dist  float64
		spare int64
	}
	var best *set
	consider := func(idx ...int) {
		var m uint64
		s := set{idx: idx}
		for _, i := range idx {
			m |= mask[i]
			if !math.IsNaN(ship[i].dist) {
				s.dist += ship[i].dist
			}
			s.spare += ship[i].spare
		}
		if m != full {
			return
		}
		if best == nil || s.dist < best.dist || s.dist == best.dist && s.spare > best.spare {
			s.idx = slices.Clone(idx)
			best = &s
		}
	}
	for i := range ship {
		consider(i)
	}
	if best == nil {
		for i := range ship {
			for j := i + 1; j < len(ship); j++ {
				consider(i, j)
			}
		}
	}
	if best == nil {
		for i := range ship {
			for j := i + 1; j < len(ship); j++ {
				for k := j + 1; k < len(ship); k++ {
					consider(i, j, k)
				}
			}
		}
	}
	if best == nil {
		return greedy(in, ship)
	}
	pick := make([]place, len(best.idx))
	for i, k := range best.idx {
		pick[i] = ship[k]
	}
	// Each line goes to the best place of the set that holds it.
	assign := make([]int, n)
	for l := range in.Lines {
		assign[l] = -1
		for i, p := range pick {
			if p.covers[l] && (assign[l] < 0 || better(p, pick[assign[l]])) {
				assign[l] = i
			}
		}
	}
	return pick, assign
}

// greedy covers the lines by repeatedly taking the place that covers the
// most uncovered lines (ties by better). It returns nil when impossible.
func greedy(in Request, ship []place) ([]place, []int) {
	assign := make([]int, len(in.Lines))
	for i := range assign {
		assign[i] = -1
	}
	var pick []place
	for left := len(in.Lines); left > 0; {
		best, gain := -1, 0
		for j, p := range ship {
			g := 0
			for l, c := range p.covers {
				if c && assign[l] < 0 {
					g++
				}
			}
			if g > gain || g == gain && g > 0 && better(p, ship[best]) {
				best, gain = j, g
			}
		}
		if best < 0 {
			return nil, nil
		}
		pick = append(pick, ship[best])
		for l, c := range ship[best].covers {
			if c && assign[l] < 0 {
				assign[l] = len(pick) - 1
				left--
			}
		}
	}
	return pick, assign
}

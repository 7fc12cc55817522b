package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// MaxLines is the most lines an order may have.
const MaxLines = 50

// placement is a checked, priced and routed order ready to be written.
type placement struct {
	in       CheckoutRequest
	ch       network.Channel
	store    *network.Location
	refs     []catalog.SKURef
	quote    Quote
	decision fulfilment.Decision
	places   map[int64]network.Location
	presale  *presale
	region   string
	ttl      time.Duration
	code     string // pickup code
	actor    string
	// exchangeOf links an exchange's replacement order to the original.
	exchangeOf *int64
	// the JSON columns, encoded before the write (off the committer)
	routingJSON, pricingJSON string
	adjustJSON               []string
	// reserved is the order's id when ReserveID gave one (PostgreSQL);
	// otherwise write sets id from the store, again on each attempt.
	reserved int64
	// set by write
	id    int64
	lines []inventory.HoldLine
	at    int64
}

// Checkout places an order: prices it from the catalog, routes it, and
// holds its stock, all lines or none. The order waits for payment until
// its channel's unpaid time runs out.
func (s *Service) Checkout(ctx context.Context, in CheckoutRequest) (Order, error) {
	p, err := s.prepare(ctx, in)
	if err != nil {
		return Order{}, err
	}
	err = s.placeRetrying(ctx, p, func(tx *db.Tx) error { return s.write(tx, p) })
	if err != nil {
		return Order{}, err
	}
	return p.order(), nil
}

// placeRetrying routes and writes, routing again on a fresh snapshot when
// another order took the stock between the snapshot and the hold.
func (s *Service) placeRetrying(ctx context.Context, p *placement, write func(*db.Tx) error) error {
	if p.reserved == 0 {
		// Numbered ahead (PostgreSQL), the order's row, its lines and the
		// stock hold go to the server in one round trip.
		id, err := s.db.ReserveID(ctx, "orders")
		if err != nil {
			return err
		}
		p.reserved = id
	}
	for attempt := 0; ; attempt++ {
		if err := s.route(ctx, p); err != nil {
			return err
		}
		if err := p.encode(); err != nil {
			return err
		}
		key := p.refs[0].ID
		err := s.db.WriteKeyed(ctx, key, write)
		if err == nil || attempt == 2 || p.presale != nil || !errors.Is(err, inventory.ErrInsufficientStock) {
			return err
		}
	}
}

// prepare checks the request and resolves and prices it.
func (s *Service) prepare(ctx context.Context, in CheckoutRequest) (*placement, error) {
	var v errs.Validator
	v.Required(in.Channel, "channel")
	v.Check(in.Mode.Valid(), "mode", "one_of", "must be one of pickup, instant, standard, pos")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= MaxLines, "lines", "count", fmt.Sprintf("must hold 1 to %d lines", MaxLines))
	seen := map[string]bool{}
	for i, ln := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Required(ln.SKU, f+".sku")
		v.Range(ln.Qty, 1, 999, f+".qty")
		v.Check(!seen[ln.SKU], f+".sku", "duplicate", "appears twice; merge the lines")
		seen[ln.SKU] = true
	}
	switch in.Mode {
	case fulfilment.Pickup, fulfilment.POS:
		v.Required(in.Store, "store")
	case fulfilment.Instant, fulfilment.Standard:
		if v.Check(in.Address != nil, "address", "required", "is required for "+string(in.Mode)+" delivery") {
			a := in.Address
			v.Required(a.Address, "address.address")
			v.Check(len(a.Address) <= 300, "address.address", "too_long", "must be at most 300 bytes")
			v.Check((a.Lat == nil) == (a.Lng == nil), "address.lng", "pair", "lat and lng go together")
			if in.Mode == fulfilment.Instant {
				v.Check(a.Lat != nil, "address.lat", "required", "instant delivery needs the address's coordinates")
			}
			if a.Lat != nil && a.Lng != nil {
				v.Check(*a.Lat >= -90 && *a.Lat <= 90 && !math.IsNaN(*a.Lat), "address.lat", "out_of_range", "must be between -90 and 90")
				v.Check(*a.Lng >= -180 && *a.Lng <= 180 && !math.IsNaN(*a.Lng), "address.lng", "out_of_range", "must be between -180 and 180")
			}
		}
	}
	c := in.Customer
	switch {
	case c.Mobile != "":
		v.Check(validMobile(c.Mobile), "customer.mobile", "invalid_mobile", "must be a mainland mobile number: 11 digits starting with 13-19")
	case c.MemberID == nil && in.Mode != fulfilment.POS:
		v.Add("customer", "required", "give a member_id or, for a guest, a mobile number")
	}
	v.Check(len(c.Name) <= 100, "customer.name", "too_long", "must be at most 100 bytes")
	v.Check(len(in.Note) <= 500, "note", "too_long", "must be at most 500 bytes")
	if len(in.Coupons) > 0 || in.Points != 0 {
		v.Check(c.MemberID != nil, "customer.member_id", "required", "coupons and points need a member")
	}
	v.Check(len(in.Coupons) <= 5, "coupons", "count", "must hold at most 5 coupons")
	v.Check(in.Points >= 0, "points", "out_of_range", "must not be negative")
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := &placement{in: in, actor: auth.Actor(ctx)}
	var err error
	if p.ch, err = s.channel(ctx, "channel", in.Channel); err != nil {
		return nil, err
	}
	if !p.ch.Active {
		return nil, errs.E(errs.Conflict, "channel_inactive", "channel %s is not active", p.ch.Code)
	}
	if (in.Mode == fulfilment.POS) != (p.ch.Kind == network.POS) {
		return nil, errs.E(errs.Invalid, "mode_not_for_channel", "mode: %s orders belong to POS channels only, and POS channels take only pos orders", fulfilment.POS).
			With("field", "mode")
	}
	if in.Store != "" {
		st, err := s.location(ctx, "store", in.Store)
		if err != nil {
			return nil, err
		}
		if in.Mode == fulfilment.POS {
			if err := auth.RequireLocation(ctx, st.ID); err != nil {
				return nil, err
			}
		}
		p.store = &st
	}
	if c.MemberID != nil {
		// A merged member's id places the order for the survivor, whose
		// points and coupons they now are.
		var id int64
		ok := false
		if s.members != nil {
			if id, ok, err = s.members.Resolve(ctx, *c.MemberID); err != nil {
				return nil, err
			}
		}
		if !ok {
			return nil, ErrMemberNF.Withf("customer.member_id: no member %d", *c.MemberID).With("field", "customer.member_id")
		}
		c.MemberID = &id
		p.in.Customer.MemberID = &id
	}
	p.refs = make([]catalog.SKURef, len(in.Lines))
	ids := make([]int64, len(in.Lines))
	for i, ln := range in.Lines {
		r, err := s.cat.SKURef(ctx, ln.SKU)
		if errors.Is(err, catalog.ErrSKUNotFound) {
			return nil, errs.E(errs.NotFound, "sku_not_found", "lines[%d].sku: no SKU %q", i, ln.SKU).With("field", fmt.Sprintf("lines[%d].sku", i))
		}
		if err != nil {
			return nil, err
		}
		p.refs[i], ids[i] = r, r.ID
	}
	facts, err := s.cat.SKUFactsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	if p.presale, err = s.presaleFor(ctx, p.refs); err != nil {
		return nil, err
	}
	p.quote = Quote{Channel: p.ch, Mode: in.Mode, Customer: c, Coupons: in.Coupons, Points: in.Points, Promotion: in.Promotion, Lines: make([]QuoteLine, len(in.Lines))}
	for i, ln := range in.Lines {
		p.quote.Lines[i] = QuoteLine{SKU: facts[p.refs[i].ID], Qty: ln.Qty}
	}
	if err := s.Pricing.Price(ctx, &p.quote); err != nil {
		return nil, err
	}
	set, err := s.channelSettings(ctx, p.ch)
	if err != nil {
		return nil, err
	}
	p.decision.Strategy = set.Routing
	p.ttl = time.Duration(set.UnpaidMinutes) * time.Minute
	if in.Mode == fulfilment.Pickup {
		if p.code, err = pickupCode(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// route decides the fulfilment locations on a fresh stock snapshot.
func (s *Service) route(ctx context.Context, p *placement) error {
	at := s.now()
	if p.presale != nil {
		// A presale waits for its expected receipt; it is routed then.
		p.decision = fulfilment.Decision{Mode: p.in.Mode, Why: fmt.Sprintf("presale %d: routed when the expected stock arrives", p.presale.id), DecidedAt: at.UTC()}
		p.region = s.regionOf(ctx, p, nil)
		return nil
	}
	places, err := s.places(ctx, p.ch)
	if err != nil {
		return err
	}
	ids := make([]int64, len(p.refs))
	lines := make([]fulfilment.Line, len(p.refs))
	for i, r := range p.refs {
		ids[i] = r.ID
		lines[i] = fulfilment.Line{SKUID: r.ID, SKU: r.Code, Qty: p.in.Lines[i].Qty}
	}
	locs := p.ch.LocationIDs
	if p.store != nil && (p.in.Mode == fulfilment.POS || p.in.Mode == fulfilment.Pickup) {
		locs = []int64{p.store.ID} // nothing else is a candidate
	}
	free, err := s.inv.Free(ctx, ids, locs)
	if err != nil {
		return err
	}
	req := fulfilment.Request{Mode: p.in.Mode, Strategy: p.decision.Strategy, Channel: p.ch, Places: places, Store: p.store, Lines: lines, At: at, Free: free}
	if a := p.in.Address; a != nil && a.Lat != nil {
		req.Dest = &fulfilment.Point{Lat: *a.Lat, Lng: *a.Lng}
	}
	p.decision, err = fulfilment.Route(req)
	if (errors.Is(err, fulfilment.ErrNotCovered) || errors.Is(err, fulfilment.ErrNoPickup)) && len(locs) < len(p.ch.LocationIDs) {
		// Name the alternatives: read the other stores too (only on refusal).
		if req.Free, err = s.inv.Free(ctx, ids, p.ch.LocationIDs); err != nil {
			return err
		}
		_, err = fulfilment.Route(req)
	}
	if err != nil {
		return err
	}
	p.places = make(map[int64]network.Location, len(places))
	for _, l := range places {
		p.places[l.ID] = l
	}
	p.region = s.regionOf(ctx, p, places)
	return nil
}

// regionOf is the order's sales region: the store's for pickup and POS,
// else the region of the location nearest the address (or of the first
// fulfilment location).
func (s *Service) regionOf(ctx context.Context, p *placement, places []network.Location) string {
	if p.store != nil {
		return p.store.Region
	}
	if a := p.in.Address; a != nil && a.Lat != nil && len(places) > 0 {
		best, bd := "", math.Inf(1)
		for _, l := range places {
			if d := network.DistanceM(*a.Lat, *a.Lng, l.Lat, l.Lng); d < bd {
				best, bd = l.Region, d
			}
		}
		return best
	}
	if len(p.decision.Assign) > 0 {
		if l, err := s.net.LocationByID(ctx, p.decision.Assign[0].LocationID); err == nil {
			return l.Region
		}
	}
	return ""
}

// encode renders the order's JSON columns: its routing decision, its
// order-level adjustments and each line's.
func (p *placement) encode() error {
	routing, err := json.Marshal(p.decision)
	if err != nil {
		return err
	}
	pricing, err := json.Marshal(p.quote.Order)
	if err != nil {
		return err
	}
	p.routingJSON, p.pricingJSON = string(routing), string(pricing)
	p.adjustJSON = make([]string, len(p.quote.Lines))
	for i, l := range p.quote.Lines {
		adj, err := json.Marshal(l.Adjustments)
		if err != nil {
			return err
		}
		p.adjustJSON[i] = string(adj)
	}
	return nil
}

// The INSERT of an order: with the id ReserveID gave it, or (SQLite)
// numbered by the store.
const insertOrder = `INSERT INTO orders (channel_id, mode, status, member_id, customer_mobile, customer_name, store_id,
	ship_province, ship_city, ship_address, ship_lat, ship_lng, region, presale_id, exchange_of, subtotal, discount, shipping_fee, total,
	pickup_code, routing, pricing, promised_at, expires_at, note, created_at, updated_at%s)
	VALUES (?, ?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?%s)`

var (
	insertOrderWithID      = fmt.Sprintf(insertOrder, ", id", ", ?")
	insertOrderReturningID = fmt.Sprintf(insertOrder, "", "") + ` RETURNING id`
)

// write inserts the order, holds its stock and announces it, in tx.
func (s *Service) write(tx *db.Tx, p *placement) error {
	now := s.now()
	p.at = now.UnixMilli()
	q := &p.quote
	var storeID, lat, lng, presaleID, member, promised, exch any
	if p.exchangeOf != nil {
		exch = *p.exchangeOf
	}
	if p.store != nil {
		storeID = p.store.ID
	}
	var province, city, addr string
	if a := p.in.Address; a != nil {
		province, city, addr = a.Province, a.City, a.Address
		if a.Lat != nil {
			lat, lng = *a.Lat, *a.Lng
		}
	}
	if p.presale != nil {
		presaleID = p.presale.id
	}
	if p.in.Customer.MemberID != nil {
		member = *p.in.Customer.MemberID
	}
	if p.decision.PromisedAt != nil {
		promised = p.decision.PromisedAt.UnixMilli()
	}
	args := []any{p.ch.ID, string(p.in.Mode), member, p.in.Customer.Mobile, p.in.Customer.Name, storeID,
		province, city, addr, lat, lng, p.region, presaleID, exch, q.Subtotal, q.Discount, q.ShippingFee, q.Total,
		p.code, p.routingJSON, p.pricingJSON, promised, now.Add(p.ttl).UnixMilli(), p.in.Note, p.at, p.at}
	if p.reserved != 0 {
		p.id = p.reserved
		if err := tx.Defer(insertOrderWithID, append(args, p.id)...); err != nil {
			return fmt.Errorf("orders: insert order: %w", err)
		}
	} else if err := tx.QueryRow(insertOrderReturningID, args...).Scan(&p.id); err != nil {
		return fmt.Errorf("orders: insert order: %w", err)
	}
	ref := inventory.Ref{Type: "order", ID: strconv.FormatInt(p.id, 10), Actor: p.actor}
	p.lines = nil
	if p.presale == nil {
		p.lines = make([]inventory.HoldLine, len(p.refs))
		for i, a := range p.decision.Assign {
			p.lines[i] = inventory.HoldLine{SKU: p.refs[i], Location: p.places[a.LocationID], Qty: p.in.Lines[i].Qty,
				Capped: inventory.CapsShare(p.ch)}
		}
	}
	// All lines in one statement, queued before the stock is held: on
	// PostgreSQL it goes in the same round trip as the hold.
	ins := make([]byte, 0, 200+len(q.Lines)*30)
	ins = append(ins, `INSERT INTO order_lines (order_id, line_no, sku_id, qty, unit_price, discount, amount, unit_cost, location_id,
			capped_style_id, held, adjustments) VALUES `...)
	args = make([]any, 0, 12*len(q.Lines))
	for i := range q.Lines {
		l := &q.Lines[i]
		var loc, capped any
		held := int64(0)
		if p.lines != nil {
			loc, held = p.lines[i].Location.ID, l.Qty
			if p.lines[i].Capped {
				capped = p.refs[i].StyleID
			}
		}
		if i > 0 {
			ins = append(ins, ", "...)
		}
		ins = append(ins, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"...)
		args = append(args, p.id, i+1, p.refs[i].ID, l.Qty, l.UnitPrice, l.Discount, l.Amount(), l.SKU.Cost, loc, capped, held, p.adjustJSON[i])
	}
	if err := tx.Defer(string(ins), args...); err != nil {
		return fmt.Errorf("orders: insert lines: %w", err)
	}
	if p.presale != nil {
		if err := s.takePresale(tx, p); err != nil {
			return err
		}
	} else if err := s.inv.Hold(tx, p.ch, p.lines, ref); err != nil {
		return err
	}
	if err := s.placed(tx, p); err != nil {
		return err
	}
	if err := s.changed(tx, p.id, "", Created, "", p.actor, p.at); err != nil {
		return err
	}
	return s.settleFree(tx, p)
}

// order renders a just-placed order without reading it back.
func (p *placement) order() Order {
	at := time.UnixMilli(p.at).UTC()
	exp := at.Add(p.ttl)
	o := Order{ID: p.id, Number: number(p.id), Channel: p.ch.Code, Mode: p.in.Mode, Status: Created, Customer: p.in.Customer,
		Address: p.in.Address, Region: p.region, Subtotal: p.quote.Subtotal, Discount: p.quote.Discount, ShippingFee: p.quote.ShippingFee,
		Total: p.quote.Total, PickupCode: p.code, Pricing: p.quote.Order, PromisedAt: p.decision.PromisedAt, ExpiresAt: &exp,
		Note: p.in.Note, CreatedAt: at, UpdatedAt: at, AvailableFor: Next(p.in.Mode, Created)}
	d := p.decision
	o.Routing = &d
	if p.store != nil {
		o.Store = p.store.Code
	}
	if p.presale != nil {
		id := p.presale.id
		o.Presale = &id
	}
	o.ExchangeOf = p.exchangeOf
	o.Lines = make([]Line, len(p.quote.Lines))
	for i, l := range p.quote.Lines {
		o.Lines[i] = Line{Line: i + 1, SKU: l.SKU.Code, Style: l.SKU.StyleCode, Qty: l.Qty, UnitPrice: l.UnitPrice, Discount: l.Discount,
			Amount: l.Amount(), Adjustments: l.Adjustments}
		if p.lines != nil {
			o.Lines[i].Location, o.Lines[i].Held = p.lines[i].Location.Code, l.Qty
		}
	}
	return o
}

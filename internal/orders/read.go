package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

const orderCols = `SELECT o.id, c.code, o.mode, o.status, o.member_id, o.customer_mobile, o.customer_name, o.store_id,
	o.ship_province, o.ship_city, o.ship_address, o.ship_lat, o.ship_lng, o.region, o.presale_id, o.exchange_of,
	o.subtotal, o.discount, o.shipping_fee, o.total, o.paid, o.refunded, o.pickup_code, o.routing, o.pricing,
	o.promised_at, o.expires_at, o.note, o.created_at, o.paid_at, o.completed_at, o.cancelled_at, o.updated_at` + orderFrom

const orderFrom = `
	FROM orders o JOIN channels c ON c.id = o.channel_id`

func msPtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMilli(n.Int64).UTC()
	return &t
}

// scanOrder reads a row of orderCols; extra receives the columns a query
// selects after them.
func (s *Service) scanOrder(ctx context.Context, sc db.Scanner, extra ...any) (Order, error) {
	var o Order
	var member, store, presale, exch, promised, expires, paidAt, done, cancelled sql.NullInt64
	var lat, lng sql.NullFloat64
	var prov, city, addr, routing, pricing string
	var created, updated int64
	err := sc.Scan(append([]any{&o.ID, &o.Channel, &o.Mode, &o.Status, &member, &o.Customer.Mobile, &o.Customer.Name, &store,
		&prov, &city, &addr, &lat, &lng, &o.Region, &presale, &exch,
		&o.Subtotal, &o.Discount, &o.ShippingFee, &o.Total, &o.Paid, &o.Refunded, &o.PickupCode, &routing, &pricing,
		&promised, &expires, &o.Note, &created, &paidAt, &done, &cancelled, &updated}, extra...)...)
	if err != nil {
		return o, err
	}
	o.Number = number(o.ID)
	if member.Valid {
		o.Customer.MemberID = &member.Int64
	}
	if store.Valid {
		l, err := s.net.LocationByID(ctx, store.Int64)
		if err != nil {
			return o, err
		}
		o.Store = l.Code
	}
	if addr != "" {
		o.Address = &Address{Province: prov, City: city, Address: addr}
		if lat.Valid {
			o.Address.Lat, o.Address.Lng = &lat.Float64, &lng.Float64
		}
	}
	if presale.Valid {
		o.Presale = &presale.Int64
	}
	if exch.Valid {
		o.ExchangeOf = &exch.Int64
	}
	var d fulfilment.Decision
	if err := json.Unmarshal([]byte(routing), &d); err == nil && d.Mode != "" {
		o.Routing = &d
	}
	_ = json.Unmarshal([]byte(pricing), &o.Pricing)
	o.PromisedAt, o.ExpiresAt, o.PaidAt, o.CompletedAt, o.CancelledAt = msPtr(promised), msPtr(expires), msPtr(paidAt), msPtr(done), msPtr(cancelled)
	o.CreatedAt, o.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	o.AvailableFor = Next(o.Mode, o.Status)
	if o.Status != ReadyForPickup && o.Status != Picking && o.Status != Allocated && o.Status != Paid && o.Status != Created {
		// The code is only useful until hand-over.
		o.PickupCode = ""
	}
	if p := auth.From(ctx); p != nil && p.Role == auth.ReadOnly {
		maskCustomer(&o)
	}
	return o, nil
}

// maskCustomer hides what a read-only key (an analyst, a report) does not
// need of an order: the customer's number, name and street, and the
// pickup code; the city stays for regional reporting.
func maskCustomer(o *Order) {
	if m := o.Customer.Mobile; len(m) == 11 {
		o.Customer.Mobile = m[:3] + "****" + m[7:]
	}
	if n := []rune(o.Customer.Name); len(n) > 0 {
		o.Customer.Name = string(n[0]) + strings.Repeat("*", len(n)-1)
	}
	if o.Address != nil {
		a := *o.Address
		a.Address, a.Lat, a.Lng = "***", nil, nil
		o.Address = &a
	}
	o.PickupCode = ""
}

// getSQL is Get's query: the order with its lines, payments, refunds and
// history gathered as JSON rows, and whether it has shipments.
func getSQL(d *db.DB) string {
	j := d.JSONRows
	return strings.TrimSuffix(orderCols, orderFrom) + `,
		(SELECT ` + j("l.line_no, l.sku_id, l.qty, l.unit_price, l.discount, l.amount, l.location_id, l.held, l.shipped, l.returned, l.adjustments", "l.line_no") + `
			FROM order_lines l WHERE l.order_id = o.id),
		(SELECT ` + j("p.id, p.provider, p.method, p.amount, p.refunded, p.status, p.out_trade_no, p.provider_ref, p.created_at, p.captured_at", "p.id") + `
			FROM payments p WHERE p.order_id = o.id),
		(SELECT ` + j("r.id, r.payment_id, r.after_sale_id, r.amount, r.reason, r.status, r.out_refund_no, r.created_at", "r.id") + `
			FROM refunds r WHERE r.order_id = o.id),
		(SELECT ` + j("h.from_status, h.to_status, h.note, h.actor, h.created_at", "h.id") + `
			FROM order_history h WHERE h.order_id = o.id),
		EXISTS (SELECT 1 FROM shipments sh WHERE sh.order_id = o.id)` + orderFrom + ` WHERE o.id = ?`
}

// Get returns an order with its lines, payments, refunds, shipments and
// history. A store-scoped caller sees only its store's orders.
//
// One query reads the order with its lines, payments, refunds and history
// (gathered as JSON rows); shipments, which have children of their own,
// are read only when the order has some.
func (s *Service) Get(ctx context.Context, id int64) (Order, error) {
	var lines, pays, refunds, history []byte
	var shipped bool
	o, err := s.scanOrder(ctx, s.db.QueryRow(ctx, s.getSQL, id), &lines, &pays, &refunds, &history, &shipped)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound.Withf("no order %d", id)
	}
	if err != nil {
		return o, fmt.Errorf("orders: get: %w", err)
	}
	if o.Lines, err = s.decodeLines(ctx, lines); err != nil {
		return o, err
	}
	if p := auth.From(ctx); p != nil && p.LocationID != 0 {
		mine := false
		if l, err := s.net.LocationByID(ctx, p.LocationID); err == nil {
			mine = l.Code == o.Store
			for _, ln := range o.Lines {
				mine = mine || ln.Location == l.Code
			}
		}
		if !mine {
			return Order{}, ErrNotFound.Withf("no order %d", id)
		}
	}
	o.Payments, o.Refunds, o.History = []Payment{}, []Refund{}, []Change{}
	var p Payment
	var r Refund
	var c Change
	var at int64
	var captured, afterSale *int64
	if err := db.DecodeRows(pays, []any{&p.ID, &p.Provider, &p.Method, &p.Amount, &p.Refunded, &p.Status, &p.OutTradeNo, &p.ProviderRef, &at, &captured}, func() error {
		p.CreatedAt, p.CapturedAt = time.UnixMilli(at).UTC(), msPtr(nullMs(captured))
		o.Payments = append(o.Payments, p)
		return nil
	}); err != nil {
		return o, fmt.Errorf("orders: payments of %d: %w", id, err)
	}
	if err := db.DecodeRows(refunds, []any{&r.ID, &r.Payment, &afterSale, &r.Amount, &r.Reason, &r.Status, &r.OutRefundNo, &at}, func() error {
		r.AfterSale, r.CreatedAt = nil, time.UnixMilli(at).UTC()
		if afterSale != nil {
			r.AfterSale = new(*afterSale)
		}
		o.Refunds = append(o.Refunds, r)
		return nil
	}); err != nil {
		return o, fmt.Errorf("orders: refunds of %d: %w", id, err)
	}
	if err := db.DecodeRows(history, []any{&c.From, &c.To, &c.Note, &c.Actor, &at}, func() error {
		c.At = time.UnixMilli(at).UTC()
		o.History = append(o.History, c)
		return nil
	}); err != nil {
		return o, fmt.Errorf("orders: history of %d: %w", id, err)
	}
	o.Shipments = []Shipment{}
	if shipped {
		if o.Shipments, err = s.shipments(ctx, id); err != nil {
			return o, err
		}
	}
	return o, nil
}

// nullMs is the sql.NullInt64 of a nullable millisecond column read by
// DecodeRows.
func nullMs(ms *int64) sql.NullInt64 {
	if ms == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *ms, Valid: true}
}

// decodeLines reads the order lines gathered by Get.
func (s *Service) decodeLines(ctx context.Context, data []byte) ([]Line, error) {
	list := []Line{}
	var l Line
	var sku int64
	var loc *int64
	var adj string
	err := db.DecodeRows(data, []any{&l.Line, &sku, &l.Qty, &l.UnitPrice, &l.Discount, &l.Amount, &loc, &l.Held, &l.Shipped, &l.Returned, &adj}, func() error {
		ref, err := s.cat.SKURefByID(ctx, sku)
		if err != nil {
			return err
		}
		l.SKU, l.Style, l.Location, l.Adjustments = ref.Code, ref.StyleCode, "", nil
		if loc != nil {
			lc, err := s.net.LocationByID(ctx, *loc)
			if err != nil {
				return err
			}
			l.Location = lc.Code
		}
		_ = json.Unmarshal([]byte(adj), &l.Adjustments)
		list = append(list, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("orders: lines: %w", err)
	}
	return list, nil
}

// ListParams filter the order list (newest first, paged by id).
type ListParams struct {
	Status  string `query:"status" description:"one state"`
	Channel string `query:"channel"`
	Store   string `query:"store" description:"pickup or POS store"`
	Mobile  string `query:"mobile"`
	Mode    string `query:"mode"`
	Limit   int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor  string `query:"cursor" description:"from next_cursor"`
}

// List lists orders (without their lines' details beyond the order row),
// newest first.
func (s *Service) List(ctx context.Context, f ListParams) ([]Order, string, error) {
	var where []string
	var args []any
	var v errs.Validator
	if f.Status != "" {
		v.OneOf(f.Status, "status", statesText()...)
		where, args = append(where, "o.status = ?"), append(args, f.Status)
	}
	if f.Mode != "" {
		v.OneOf(f.Mode, "mode", "pickup", "instant", "standard", "pos")
		where, args = append(where, "o.mode = ?"), append(args, f.Mode)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	v.Range(int64(f.Limit), 1, 200, "limit")
	if f.Cursor != "" {
		c, err := strconv.ParseInt(f.Cursor, 10, 64)
		v.Check(err == nil && c > 0, "cursor", "invalid", "is not a cursor from next_cursor")
		where, args = append(where, "o.id < ?"), append(args, c)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if f.Channel != "" {
		ch, err := s.channel(ctx, "channel", f.Channel)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "o.channel_id = ?"), append(args, ch.ID)
	}
	if p := auth.From(ctx); p != nil && p.LocationID != 0 {
		where, args = append(where, "o.store_id = ?"), append(args, p.LocationID)
	} else if f.Store != "" {
		st, err := s.location(ctx, "store", f.Store)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "o.store_id = ?"), append(args, st.ID)
	}
	if f.Mobile != "" {
		where, args = append(where, "o.customer_mobile = ?"), append(args, f.Mobile)
	}
	q := orderCols
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY o.id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	list, err := db.Collect(func(sc db.Scanner) (Order, error) { return s.scanOrder(ctx, sc) })(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	next := ""
	if len(list) > f.Limit {
		list = list[:f.Limit]
		next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	for i := range list {
		list[i].Routing = nil
	}
	return list, next, nil
}

func statesText() []string {
	out := make([]string, len(States))
	for i, s := range States {
		out[i] = string(s)
	}
	return out
}

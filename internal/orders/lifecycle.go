package orders

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// head is what the lifecycle needs of an order row.
type head struct {
	id      int64
	channel int64
	mode    fulfilment.Mode
	status  Status
	store   sql.NullInt64
	presale sql.NullInt64
	code    string
	paid    int64
	refund  int64
	promise sql.NullInt64
}

func (s *Service) head(ctx context.Context, tx *db.Tx, id int64) (head, error) {
	const q = `SELECT id, channel_id, mode, status, store_id, presale_id, pickup_code, paid, refunded, promised_at FROM orders WHERE id = ?`
	var row db.Row
	if tx != nil {
		row = tx.QueryRow(q, id)
	} else {
		row = s.db.QueryRow(ctx, q, id)
	}
	var h head
	err := row.Scan(&h.id, &h.channel, &h.mode, &h.status, &h.store, &h.presale, &h.code, &h.paid, &h.refund, &h.promise)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound.Withf("no order %d", id)
	}
	if err != nil {
		return h, fmt.Errorf("orders: read order: %w", err)
	}
	return h, nil
}

// lineRow is an order line as the lifecycle needs it.
type lineRow struct {
	no                       int
	sku                      catalog.SKURef
	qty, held, shipped, back int64
	amount                   int64
	loc                      sql.NullInt64
	capped                   bool
}

// lineRows reads an order's lines.
func (s *Service) lineRows(ctx context.Context, id int64) ([]lineRow, error) {
	rows, err := s.db.Query(ctx, `SELECT line_no, sku_id, qty, held, shipped, returned, amount, location_id, capped_style_id IS NOT NULL
		FROM order_lines WHERE order_id = ? ORDER BY line_no`, id)
	type raw struct {
		lineRow
		sku int64
	}
	list, err := db.Collect(func(sc db.Scanner) (raw, error) {
		var r raw
		return r, sc.Scan(&r.no, &r.sku, &r.qty, &r.held, &r.shipped, &r.back, &r.amount, &r.loc, &r.capped)
	})(rows, err)
	if err != nil {
		return nil, fmt.Errorf("orders: read lines: %w", err)
	}
	out := make([]lineRow, len(list))
	for i, r := range list {
		out[i] = r.lineRow
		if out[i].sku, err = s.cat.SKURefByID(ctx, r.sku); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// holdLines turns order lines into inventory lines of qty units each.
func (s *Service) holdLines(ctx context.Context, lines []lineRow, qty func(lineRow) int64) ([]inventory.HoldLine, []lineRow, error) {
	var out []inventory.HoldLine
	var used []lineRow
	for _, l := range lines {
		n := qty(l)
		if n <= 0 || !l.loc.Valid {
			continue
		}
		loc, err := s.net.LocationByID(ctx, l.loc.Int64)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, inventory.HoldLine{SKU: l.sku, Location: loc, Qty: n, Capped: l.capped})
		used = append(used, l)
	}
	return out, used, nil
}

// atStores checks a store-scoped caller against every fulfilment location.
func atStores(ctx context.Context, lines []lineRow, store sql.NullInt64) error {
	if store.Valid {
		return auth.RequireLocation(ctx, store.Int64)
	}
	for _, l := range lines {
		if l.loc.Valid {
			if err := auth.RequireLocation(ctx, l.loc.Int64); err != nil {
				return err
			}
		}
	}
	return nil
}

// step moves an order to a state that needs no other change (picking,
// ready for pickup, completed).
func (s *Service) step(ctx context.Context, id int64, to Status, note string) (Order, error) {
	lines, err := s.lineRows(ctx, id)
	if err != nil {
		return Order{}, err
	}
	h, err := s.head(ctx, nil, id)
	if err != nil {
		return Order{}, err
	}
	if err := atStores(ctx, lines, h.store); err != nil {
		return Order{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		set := ""
		var args []any
		if to == Completed {
			set, args = ", completed_at = ?", []any{at}
		}
		if to == Picking {
			if err := s.mayPick(tx, id); err != nil {
				return err
			}
		}
		_, err := s.move(tx, id, to, note, auth.Actor(ctx), at, set, args...)
		return err
	})
	if err != nil {
		return Order{}, err
	}
	return s.Get(ctx, id)
}

// Pick starts picking an allocated order.
func (s *Service) Pick(ctx context.Context, id int64) (Order, error) {
	return s.step(ctx, id, Picking, "")
}

// Ready marks a picked pickup order ready at its store.
func (s *Service) Ready(ctx context.Context, id int64) (Order, error) {
	return s.step(ctx, id, ReadyForPickup, "")
}

// Complete closes a handed-over or delivered order.
func (s *Service) Complete(ctx context.Context, id int64) (Order, error) {
	return s.step(ctx, id, Completed, "")
}

// HandOver gives a ready pickup order to the customer against the pickup
// code (核销): the held units leave the store as a sale.
func (s *Service) HandOver(ctx context.Context, id int64, in PickupRequest) (Order, error) {
	h, err := s.head(ctx, nil, id)
	if err != nil {
		return Order{}, err
	}
	lines, err := s.lineRows(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if err := atStores(ctx, lines, h.store); err != nil {
		return Order{}, err
	}
	if h.mode != fulfilment.Pickup {
		return Order{}, illegal(id, h.mode, h.status, PickedUp)
	}
	if h.code == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(in.Code)), []byte(h.code)) != 1 {
		return Order{}, ErrPickupCode.Withf("code: the pickup code does not match order %s", number(id)).With("field", "code")
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		if _, err := s.move(tx, id, PickedUp, "pickup code verified", auth.Actor(ctx), at, ""); err != nil {
			return err
		}
		return s.sell(ctx, tx, id, h.channel, lines, nil)
	})
	if err != nil {
		return Order{}, err
	}
	return s.Get(ctx, id)
}

// sell lets held units leave as a sale in tx: qty per line, or every held
// unit when qty is nil.
func (s *Service) sell(ctx context.Context, tx *db.Tx, id, channel int64, lines []lineRow, qty map[int]int64) error {
	ch, err := s.net.ChannelByID(ctx, channel)
	if err != nil {
		return err
	}
	hl, used, err := s.holdLines(ctx, lines, func(l lineRow) int64 {
		if qty == nil {
			return l.held
		}
		return qty[l.no]
	})
	if err != nil {
		return err
	}
	for i, l := range used {
		res, err := tx.Exec(`UPDATE order_lines SET held = held - ?, shipped = shipped + ? WHERE order_id = ? AND line_no = ? AND held >= ?`,
			hl[i].Qty, hl[i].Qty, id, l.no, hl[i].Qty)
		if err != nil {
			return fmt.Errorf("orders: line shipped: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.Conflict, "not_held", "line %d: fewer than %d units are held", l.no, hl[i].Qty)
		}
	}
	if len(hl) == 0 {
		return nil
	}
	return s.inv.SellHeld(tx, ch, hl, inventory.Ref{Type: "order", ID: strconv.FormatInt(id, 10), Actor: auth.Actor(ctx)})
}

// Cancel cancels an order that has not left yet: its held stock is
// released, a presale's cap given back and what was paid refunded.
func (s *Service) Cancel(ctx context.Context, id int64, in CancelRequest) (Order, error) {
	if len(in.Reason) > 500 {
		return Order{}, errs.E(errs.Invalid, "validation_failed", "reason must be at most 500 bytes").With("field", "reason")
	}
	lines, err := s.lineRows(ctx, id)
	if err != nil {
		return Order{}, err
	}
	h, err := s.head(ctx, nil, id)
	if err != nil {
		return Order{}, err
	}
	if err := atStores(ctx, lines, h.store); err != nil {
		return Order{}, err
	}
	reason := in.Reason
	if reason == "" {
		reason = "cancelled"
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		return s.cancelTx(ctx, tx, id, h.channel, lines, reason, auth.Actor(ctx), s.now().UnixMilli(), false)
	})
	if err != nil {
		return Order{}, err
	}
	return s.Get(ctx, id)
}

var errNotDue = errors.New("orders: not due")

// cancelTx cancels in tx. With onlyExpired it acts only on an unpaid order
// past its deadline (the expiry worker) and returns errNotDue otherwise.
func (s *Service) cancelTx(ctx context.Context, tx *db.Tx, id, channel int64, lines []lineRow, reason, actor string, at int64, onlyExpired bool) error {
	if onlyExpired {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM orders WHERE id = ? AND status = 'created' AND expires_at <= ?`, id, at).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errNotDue
		}
	}
	if _, err := s.move(tx, id, Cancelled, reason, actor, at, ", cancelled_at = ?, expires_at = NULL", at); err != nil {
		return err
	}
	ch, err := s.net.ChannelByID(ctx, channel)
	if err != nil {
		return err
	}
	hl, used, err := s.holdLines(ctx, lines, func(l lineRow) int64 { return l.held })
	if err != nil {
		return err
	}
	for i, l := range used {
		if _, err := tx.Exec(`UPDATE order_lines SET held = held - ? WHERE order_id = ? AND line_no = ?`, hl[i].Qty, id, l.no); err != nil {
			return fmt.Errorf("orders: release line: %w", err)
		}
	}
	if len(hl) > 0 {
		if err := s.inv.Unhold(tx, ch, hl, inventory.Ref{Type: "order", ID: strconv.FormatInt(id, 10), Actor: actor}, reason); err != nil {
			return err
		}
	}
	var presale sql.NullInt64
	var refundable int64
	if err := tx.QueryRow(`SELECT presale_id, (SELECT COALESCE(SUM(amount - refunded), 0) FROM payments WHERE order_id = ? AND status = 'captured')
		FROM orders WHERE id = ?`, id, id).Scan(&presale, &refundable); err != nil {
		return err
	}
	if presale.Valid {
		var qty int64
		for _, l := range lines {
			qty += l.qty
		}
		if _, err := tx.Exec(`UPDATE presales SET sold = sold - ?, updated_at = ? WHERE id = ?`, qty, at, presale.Int64); err != nil {
			return fmt.Errorf("orders: presale cap: %w", err)
		}
	}
	// Pending tenders are abandoned; captured ones are refunded.
	if _, err := tx.Exec(`UPDATE payments SET status = 'cancelled', updated_at = ? WHERE order_id = ? AND status = 'pending'`, at, id); err != nil {
		return err
	}
	if err := s.loyaltyEvent(tx, id, at, func(l Loyalty, f OrderFacts) error { return l.OrderCancelled(tx, f) }); err != nil {
		return err
	}
	if refundable > 0 {
		return s.refundTx(tx, id, nil, refundable, "order cancelled: "+reason, actor, at)
	}
	return nil
}

// ExpireUnpaid cancels unpaid orders past their deadline (at most limit)
// and returns how many it cancelled. The expiry worker calls it every
// second; it is safe on several instances.
func (s *Service) ExpireUnpaid(ctx context.Context, limit int) (int, error) {
	now := s.now().UnixMilli()
	rows, err := s.db.Query(ctx, `SELECT id, channel_id FROM orders WHERE status = 'created' AND expires_at <= ? ORDER BY expires_at LIMIT ?`, now, limit)
	due, err := db.Collect(func(sc db.Scanner) ([2]int64, error) {
		var r [2]int64
		return r, sc.Scan(&r[0], &r[1])
	})(rows, err)
	if err != nil {
		return 0, fmt.Errorf("orders: due orders: %w", err)
	}
	n := 0
	for _, d := range due {
		lines, err := s.lineRows(ctx, d[0])
		if err != nil {
			return n, err
		}
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			return s.cancelTx(ctx, tx, d[0], d[1], lines, "unpaid: expired", "system", s.now().UnixMilli(), true)
		})
		switch {
		case errors.Is(err, errNotDue):
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// ── POS ─────────────────────────────────────────────────────────────────

// SaleRequest is a sale at the till: scanned SKUs (by code or barcode),
// the tenders, and optionally the customer.
type SaleRequest struct {
	Store    string       `json:"store" required:"true"`
	Channel  string       `json:"channel,omitempty" description:"the POS channel; default: the first active POS channel serving the store"`
	Customer Customer     `json:"customer,omitempty"`
	Lines    []SaleLine   `json:"lines" required:"true" minItems:"1" maxItems:"50"`
	Tenders  []PayRequest `json:"tenders" required:"true" minItems:"1" maxItems:"5" description:"offline tenders (cash, card); amounts must add up to the total (the last may omit its amount)"`
	Redeem
}

// SaleLine is one scanned item.
type SaleLine struct {
	SKU     string `json:"sku,omitempty" description:"the SKU code, or"`
	Barcode string `json:"barcode,omitempty" description:"the scanned GS1 barcode"`
	Qty     int64  `json:"qty" required:"true" minimum:"1"`
}

// Channels lists channels for POS defaults.
type Channels interface {
	ListChannels(ctx context.Context, f network.ChannelFilter) ([]network.Channel, string, error)
}

// Sell completes a till sale in one step and one transaction: the order,
// its tenders, and the units leaving the store's stock.
func (s *Service) Sell(ctx context.Context, in SaleRequest, chans Channels) (Order, error) {
	var v errs.Validator
	v.Required(in.Store, "store")
	v.Check(len(in.Tenders) >= 1 && len(in.Tenders) <= 5, "tenders", "count", "give 1 to 5 tenders")
	for i, t := range in.Tenders {
		v.OneOf(t.Provider, fmt.Sprintf("tenders[%d].provider", i), "offline", "test")
		if t.Provider == "offline" {
			v.OneOf(t.Method, fmt.Sprintf("tenders[%d].method", i), "cash", "card")
		}
		v.Check(t.Amount >= 0, fmt.Sprintf("tenders[%d].amount", i), "out_of_range", "must not be negative")
		v.Check(t.Amount > 0 || i == len(in.Tenders)-1, fmt.Sprintf("tenders[%d].amount", i), "required", "only the last tender may omit its amount")
	}
	req := CheckoutRequest{Channel: in.Channel, Mode: fulfilment.POS, Store: in.Store, Customer: in.Customer, Redeem: in.Redeem}
	for i, l := range in.Lines {
		code := l.SKU
		if code == "" && l.Barcode != "" {
			k, err := s.cat.GetSKUByBarcode(ctx, l.Barcode)
			if err != nil {
				v.Add(fmt.Sprintf("lines[%d].barcode", i), "unknown_barcode", "no SKU has this barcode")
				continue
			}
			code = k.Code
		}
		v.Check(code != "", fmt.Sprintf("lines[%d]", i), "required", "give a sku or a barcode")
		req.Lines = append(req.Lines, LineRequest{SKU: code, Qty: l.Qty})
	}
	if err := v.Err(); err != nil {
		return Order{}, err
	}
	if req.Channel == "" {
		st, err := s.location(ctx, "store", in.Store)
		if err != nil {
			return Order{}, err
		}
		if req.Channel, err = s.posChannel(ctx, st, chans); err != nil {
			return Order{}, err
		}
	}
	p, err := s.prepare(ctx, req)
	if err != nil {
		return Order{}, err
	}
	var tendered int64
	for _, t := range in.Tenders {
		tendered += t.Amount
	}
	last := in.Tenders[len(in.Tenders)-1]
	if last.Amount == 0 {
		tendered += max(0, p.quote.Total-tendered)
	}
	if tendered != p.quote.Total {
		return Order{}, errs.E(errs.Invalid, "tender_mismatch", "tenders: they add up to %d fen; the sale is %d fen", tendered, p.quote.Total).
			With("field", "tenders").With("total", p.quote.Total)
	}
	var tenders []Payment
	err = s.placeRetrying(ctx, p, func(tx *db.Tx) error {
		tenders = tenders[:0]
		if err := s.write(tx, p); err != nil {
			return err
		}
		paid := int64(0)
		for i, t := range in.Tenders {
			if p.quote.Total == 0 {
				break // settled at placing
			}
			if i == len(in.Tenders)-1 && t.Amount == 0 {
				t.Amount = p.quote.Total - paid
			}
			paid += t.Amount
			res, err := s.payTx(tx, p.id, t, p.actor, p.at)
			if err != nil {
				return err
			}
			tenders = append(tenders, res.Payment)
		}
		if len(p.lines) > 0 { // every line is handed over at the till
			if err := tx.Defer(`UPDATE order_lines SET held = 0, shipped = qty WHERE order_id = ?`, p.id); err != nil {
				return err
			}
		}
		// Paid in full above: the sale moves on from paid.
		if moved, err := s.moveFrom(tx, p.id, fulfilment.POS, Paid, Completed, "sold at the till", p.actor, p.at, ", completed_at = ?", p.at); err != nil {
			return err
		} else if !moved {
			return fmt.Errorf("orders: till sale %s: not paid in full", number(p.id))
		}
		return s.inv.SellHeld(tx, p.ch, p.lines, inventory.Ref{Type: "order", ID: strconv.FormatInt(p.id, 10), Actor: p.actor})
	})
	if err != nil {
		return Order{}, err
	}
	return p.sold(tenders), nil
}

// sold renders a completed till sale without reading it back: the placed
// order, paid by its tenders and handed over (its history is Get's).
func (p *placement) sold(tenders []Payment) Order {
	o := p.order()
	at := time.UnixMilli(p.at).UTC()
	o.Status, o.Paid, o.PaidAt, o.CompletedAt, o.ExpiresAt = Completed, p.quote.Total, &at, &at, nil
	o.Payments, o.Refunds = tenders, []Refund{}
	if o.Payments == nil {
		o.Payments = []Payment{}
	}
	for i := range o.Lines {
		o.Lines[i].Shipped, o.Lines[i].Held = o.Lines[i].Held, 0
	}
	o.AvailableFor = Next(o.Mode, Completed)
	return o
}

// posChannel returns the code of the first active POS channel serving a
// store (remembered for settingsTTL).
func (s *Service) posChannel(ctx context.Context, st network.Location, chans Channels) (string, error) {
	s.mu.Lock()
	c, ok := s.posChannels[st.ID]
	s.mu.Unlock()
	if ok && time.Since(c.at) < settingsTTL {
		return c.code, nil
	}
	list, _, err := chans.ListChannels(ctx, network.ChannelFilter{Limit: 100})
	if err != nil {
		return "", err
	}
	for _, ch := range list {
		if ch.Kind == network.POS && ch.Active && slices.Contains(ch.LocationIDs, st.ID) {
			s.mu.Lock()
			s.posChannels[st.ID] = cachedCode{code: ch.Code, at: time.Now()}
			s.mu.Unlock()
			return ch.Code, nil
		}
	}
	return "", errs.E(errs.Invalid, "no_pos_channel", "store: no active POS channel serves %s", st.Code).With("field", "store")
}

type cachedCode struct {
	code string
	at   time.Time
}

package orders

import (
	"context"
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

// After-sales (售后): return and exchange requests (一键退换货) for goods the
// customer has received, under the order's channel policy (Settings:
// ReturnWindowDays, NoReason, Conditions).
//
//	requested → approved → received → completed
//	requested → rejected
//	requested | approved → cancelled (by the customer)
//
// Rules:
//   - A request names order lines and units. Only units handed over can
//     come back: per line, qty ≤ shipped − returned − the units of the
//     line's open (requested or approved) requests. The order must be
//     picked up, shipped (partially or fully), delivered or completed.
//   - The window runs from the line's handover: the earliest delivered_at
//     of the line's delivered shipments; else the order's first pickup,
//     delivery or completion in its history (a POS sale's completion is
//     the purchase). Units shipped but not yet delivered have not reached
//     the customer: their window has not started, so it is open. It closes
//     ReturnWindowDays × 24 h after the handover (422 return_window_closed
//     naming both times).
//   - The reason no_reason (7天无理由) is refused when the channel does not
//     accept it; the declared condition must be one of the channel's codes.
//   - SLA: a request is due to be handled (approved or rejected) within
//     AfterSaleSLA of its creation; handled_at records when it was.
//   - Receipt books the units back at a chosen location, as sellable stock
//     or, when damaged, as a return followed by a write-off
//     (inventory.TakeBack), and counts them in order_lines.returned.
//   - Completing a return refunds, to the original tenders, the units'
//     share of what was paid for their line: the line's amount less its
//     share of the order-level discount (allocated by amount, the last line
//     taking the remainder), split over its units so that the line's
//     completed after-sales together give back exactly that (integer fen,
//     the last units taking the remainder). It is capped by what is still
//     refundable; the shipping fee is not included. Staff may give another
//     amount (a deduction, or the shipping fee too); more than what was
//     paid and not yet refunded is 422 refund_above_paid.
//   - Completing an exchange places the replacement order (exchange_of =
//     the original) for the exchange SKUs, which must be of the same style
//     (another size or colour). It is free of charge: each line's list
//     price is recorded and fully discounted by an "exchange" adjustment,
//     with no shipping fee, so its total is 0 and it counts as paid without
//     any money moving (created → paid → allocated, recorded in its
//     history). It goes to the original store for pickup orders, is handed
//     over at once at the till for POS orders, and otherwise is delivered
//     by standard delivery to the original address, routed like any order.
//
// Every status change appends an after_sale.<status> event in its
// transaction; a refused request writes nothing.

// AfterSaleKind is what the customer wants: money back or other goods.
type AfterSaleKind string

// The after-sale kinds.
const (
	ReturnKind   AfterSaleKind = "return"
	ExchangeKind AfterSaleKind = "exchange"
)

// AfterSaleStatus is the state of an after-sale request.
type AfterSaleStatus string

// The after-sale states.
const (
	AfterSaleRequested AfterSaleStatus = "requested"
	AfterSaleApproved  AfterSaleStatus = "approved"
	AfterSaleRejected  AfterSaleStatus = "rejected"
	AfterSaleReceived  AfterSaleStatus = "received"
	AfterSaleCompleted AfterSaleStatus = "completed"
	AfterSaleCancelled AfterSaleStatus = "cancelled"
)

// AfterSaleStates lists every after-sale state.
var AfterSaleStates = []AfterSaleStatus{AfterSaleRequested, AfterSaleApproved, AfterSaleRejected, AfterSaleReceived,
	AfterSaleCompleted, AfterSaleCancelled}

var afterSaleFlow = map[AfterSaleStatus][]AfterSaleStatus{
	AfterSaleRequested: {AfterSaleApproved, AfterSaleRejected, AfterSaleCancelled},
	AfterSaleApproved:  {AfterSaleReceived, AfterSaleCancelled},
	AfterSaleReceived:  {AfterSaleCompleted},
}

// NextAfterSale lists the states an after-sale may move to from st.
func NextAfterSale(st AfterSaleStatus) []AfterSaleStatus {
	if n := afterSaleFlow[st]; n != nil {
		return n
	}
	return []AfterSaleStatus{}
}

// ReturnReasons are the reason codes of after-sale requests. no_reason
// (7天无理由) is accepted only where the channel's settings allow it.
var ReturnReasons = []string{"no_reason", "size", "defective", "wrong_item", "quality", "not_as_described"}

// Receipt conditions: what the goods are found to be when they come back.
const (
	Sellable = "sellable"
	Damaged  = "damaged"
)

// AfterSaleSLA is how long a request may wait to be approved or rejected.
const AfterSaleSLA = 24 * time.Hour

// AfterSaleRequest asks to return or exchange handed-over units.
type AfterSaleRequest struct {
	Kind   AfterSaleKind          `json:"kind" required:"true" enum:"return,exchange"`
	Reason string                 `json:"reason" required:"true" enum:"no_reason,size,defective,wrong_item,quality,not_as_described" description:"no_reason (7天无理由) only where the channel accepts it"`
	Note   string                 `json:"note,omitempty" maxLength:"500"`
	Lines  []AfterSaleLineRequest `json:"lines" required:"true" minItems:"1" maxItems:"50"`
}

// AfterSaleLineRequest is units of one order line coming back.
type AfterSaleLineRequest struct {
	Line        int    `json:"line" required:"true" minimum:"1" description:"the order line"`
	Qty         int64  `json:"qty" required:"true" minimum:"1" maximum:"999"`
	Condition   string `json:"condition" required:"true" description:"as declared: one of the channel's accepted condition codes (order settings)"`
	ExchangeSKU string `json:"exchange_sku,omitempty" description:"exchanges only (required there): the SKU wanted instead, of the same style"`
}

// AfterSaleReceipt books an approved request's goods in at a location.
type AfterSaleReceipt struct {
	Location string         `json:"location" required:"true" description:"where the goods came back (a store key: its own store)"`
	Lines    []ReceivedLine `json:"lines" required:"true" minItems:"1" maxItems:"50" description:"every line of the request, once"`
}

// ReceivedLine is the condition one line's units came back in.
type ReceivedLine struct {
	Line      int    `json:"line" required:"true" minimum:"1"`
	Condition string `json:"condition" required:"true" enum:"sellable,damaged" description:"damaged units are written off"`
}

// AfterSaleDecision gives the reason of a rejection (required) or a
// cancellation (optional).
type AfterSaleDecision struct {
	Reason string `json:"reason,omitempty" maxLength:"500"`
}

// AfterSaleCompletion completes a received request; the body is optional.
type AfterSaleCompletion struct {
	RefundAmount *int64 `json:"refund_amount,omitempty" minimum:"0" description:"returns only, fen; default: the units' share of what was paid for their lines, capped by what is refundable. More than what was paid and not yet refunded is 422 refund_above_paid"`
}

// AfterSaleListParams filter the after-sales list.
type AfterSaleListParams struct {
	Status  string `query:"status" enum:"requested,approved,rejected,received,completed,cancelled"`
	Overdue bool   `query:"overdue" description:"only requests still waiting past their due time, oldest due first"`
	Order   int64  `query:"order" description:"one order's requests"`
	Limit   int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor  string `query:"cursor" description:"from next_cursor"`
}

// AfterSale is a return or exchange request.
type AfterSale struct {
	ID            int64             `json:"id"`
	Number        string            `json:"number"`
	Order         int64             `json:"order"`
	OrderNumber   string            `json:"order_number"`
	Kind          AfterSaleKind     `json:"kind" enum:"return,exchange"`
	Status        AfterSaleStatus   `json:"status" enum:"requested,approved,rejected,received,completed,cancelled"`
	Reason        string            `json:"reason"`
	Note          string            `json:"note,omitempty" description:"the customer's note, then staff decisions"`
	RefundAmount  int64             `json:"refund_amount" description:"fen refunded on completion"`
	Location      string            `json:"location,omitempty" description:"where the goods came back"`
	ExchangeOrder *int64            `json:"exchange_order,omitempty" description:"the replacement order of a completed exchange"`
	DueAt         time.Time         `json:"due_at" description:"SLA: to be approved or rejected by then"`
	HandledAt     *time.Time        `json:"handled_at,omitempty"`
	Overdue       bool              `json:"overdue" description:"still requested past due_at"`
	HandledLate   bool              `json:"handled_late" description:"approved or rejected after due_at"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	Lines         []AfterSaleLine   `json:"lines"`
	AvailableFor  []AfterSaleStatus `json:"next" description:"the states this request may move to"`
}

// AfterSaleLine is units of one order line in a request.
type AfterSaleLine struct {
	Line        int    `json:"line"`
	SKU         string `json:"sku"`
	Qty         int64  `json:"qty"`
	Condition   string `json:"condition" description:"as declared, then as received: sellable or damaged"`
	ExchangeSKU string `json:"exchange_sku,omitempty"`
}

// Errors of after-sales.
var (
	ErrAfterSaleNF     = errs.New(errs.NotFound, "after_sale_not_found", "no such after-sale request")
	ErrAfterSaleState  = errs.New(errs.Conflict, "illegal_transition", "the after-sale request cannot make this change in its current state")
	ErrNotHandedOver   = errs.New(errs.Conflict, "not_handed_over", "the order's goods have not been handed over")
	ErrReturnWindow    = errs.New(errs.Invalid, "return_window_closed", "the channel's return window has closed")
	ErrNotReturnable   = errs.New(errs.Invalid, "more_than_returnable", "more units than were handed over and are not yet returned or requested")
	ErrReasonRefused   = errs.New(errs.Invalid, "reason_not_accepted", "the channel does not accept this reason")
	ErrExchangeStyle   = errs.New(errs.Invalid, "exchange_other_style", "an exchange is for another SKU of the same style")
	ErrMoreThanShipped = errs.New(errs.Conflict, "more_than_shipped", "the order line has fewer units handed over and not yet returned")
)

// asNumber is an after-sale's display number.
func asNumber(id int64) string { return fmt.Sprintf("AS%010d", id) }

// handedOver are the order states in which goods have reached (or left
// towards) the customer.
var handedOver = []Status{PickedUp, PartiallyShipped, Shipped, Delivered, Completed}

// ── request ─────────────────────────────────────────────────────────────

// RequestAfterSale files a return or exchange request for an order's
// handed-over units, under its channel's policy. A refused request writes
// nothing.
func (s *Service) RequestAfterSale(ctx context.Context, orderID int64, in AfterSaleRequest) (AfterSale, error) {
	var v errs.Validator
	v.OneOf(string(in.Kind), "kind", string(ReturnKind), string(ExchangeKind))
	v.OneOf(in.Reason, "reason", ReturnReasons...)
	v.Check(len(in.Note) <= 500, "note", "too_long", "must be at most 500 bytes")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= MaxLines, "lines", "count", fmt.Sprintf("must hold 1 to %d lines", MaxLines))
	seen := map[int]bool{}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Check(l.Line >= 1, f+".line", "out_of_range", "must be a line number")
		v.Check(!seen[l.Line], f+".line", "duplicate", "appears twice; merge the lines")
		seen[l.Line] = true
		v.Range(l.Qty, 1, 999, f+".qty")
		v.Required(l.Condition, f+".condition")
		if in.Kind == ExchangeKind {
			v.Required(l.ExchangeSKU, f+".exchange_sku")
		} else {
			v.Check(l.ExchangeSKU == "", f+".exchange_sku", "not_allowed", "is for exchanges only")
		}
	}
	if err := v.Err(); err != nil {
		return AfterSale{}, err
	}
	h, err := s.head(ctx, nil, orderID)
	if err != nil {
		return AfterSale{}, err
	}
	lines, err := s.lineRows(ctx, orderID)
	if err != nil {
		return AfterSale{}, err
	}
	if err := atStores(ctx, lines, h.store); err != nil {
		return AfterSale{}, err
	}
	if !slices.Contains(handedOver, h.status) {
		return AfterSale{}, ErrNotHandedOver.Withf("order %s is %s: only goods handed over can be returned or exchanged", number(orderID), h.status).
			With("current_status", string(h.status))
	}
	ch, err := s.net.ChannelByID(ctx, h.channel)
	if err != nil {
		return AfterSale{}, err
	}
	set, err := s.channelSettings(ctx, ch)
	if err != nil {
		return AfterSale{}, err
	}
	if in.Reason == "no_reason" && !set.NoReason {
		return AfterSale{}, ErrReasonRefused.Withf("reason: channel %s does not take returns without a reason (7天无理由); give one of %s",
			ch.Code, strings.Join(ReturnReasons[1:], ", ")).With("field", "reason")
	}
	byNo := make(map[int]lineRow, len(lines))
	for _, l := range lines {
		byNo[l.no] = l
	}
	exch := make([]any, len(in.Lines))
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		ol, ok := byNo[l.Line]
		if !ok {
			v.Add(f+".line", "no_such_line", fmt.Sprintf("order %s has no line %d", number(orderID), l.Line))
			continue
		}
		v.OneOf(l.Condition, f+".condition", set.Conditions...)
		if in.Kind == ExchangeKind {
			id, err := s.exchangeSKU(ctx, f+".exchange_sku", l.ExchangeSKU, ol.sku)
			if err != nil {
				return AfterSale{}, err
			}
			exch[i] = id
		}
	}
	if err := v.Err(); err != nil {
		return AfterSale{}, err
	}
	now := s.now()
	hand, err := s.handovers(ctx, h)
	if err != nil {
		return AfterSale{}, err
	}
	for i, l := range in.Lines {
		if err := returnWindow(ch.Code, set.ReturnWindowDays, hand.of(l.Line), now, fmt.Sprintf("lines[%d].line", i)); err != nil {
			return AfterSale{}, err
		}
	}
	actor := auth.Actor(ctx)
	var id int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		if err := lockOrder(tx, orderID); err != nil {
			return err
		}
		left, err := returnable(tx, orderID)
		if err != nil {
			return err
		}
		for i, l := range in.Lines {
			if n := left[l.Line]; l.Qty > n {
				f := fmt.Sprintf("lines[%d].qty", i)
				return ErrNotReturnable.Withf("%s: line %d has %d units that can still be returned or exchanged (handed over, not returned, not in an open request)",
					f, l.Line, max(n, 0)).With("field", f).With("returnable", max(n, 0))
			}
		}
		if err := tx.QueryRow(`INSERT INTO after_sales (order_id, kind, status, reason, note, due_at, created_at, updated_at)
			VALUES (?, ?, 'requested', ?, ?, ?, ?, ?) RETURNING id`,
			orderID, string(in.Kind), in.Reason, in.Note, at+AfterSaleSLA.Milliseconds(), at, at).Scan(&id); err != nil {
			return fmt.Errorf("orders: insert after-sale: %w", err)
		}
		for i, l := range in.Lines {
			if err := tx.Defer(`INSERT INTO after_sale_lines (after_sale_id, line_no, qty, condition, exchange_sku_id) VALUES (?, ?, ?, ?, ?)`,
				id, l.Line, l.Qty, l.Condition, exch[i]); err != nil {
				return fmt.Errorf("orders: insert after-sale line: %w", err)
			}
		}
		return s.ob.Append(tx, "after_sale."+string(AfterSaleRequested), asNumber(id), afterSaleEvent{AfterSale: id, Number: asNumber(id),
			Order: orderID, OrderNumber: number(orderID), Kind: in.Kind, To: AfterSaleRequested, Reason: in.Reason, Actor: actor})
	})
	if err != nil {
		return AfterSale{}, err
	}
	return s.GetAfterSale(ctx, id)
}

// exchangeSKU resolves an exchange SKU: active and of the original's style.
func (s *Service) exchangeSKU(ctx context.Context, field, code string, orig catalog.SKURef) (int64, error) {
	r, err := s.cat.SKURef(ctx, code)
	if errors.Is(err, catalog.ErrSKUNotFound) {
		return 0, errs.E(errs.NotFound, "sku_not_found", "%s: no SKU %q", field, code).With("field", field)
	}
	if err != nil {
		return 0, err
	}
	if r.StyleID != orig.StyleID {
		return 0, ErrExchangeStyle.Withf("%s: %s is not of style %s (the line's %s); exchanges are for another size or colour", field, r.Code, orig.StyleCode, orig.Code).
			With("field", field)
	}
	facts, err := s.cat.SKUFactsByID(ctx, []int64{r.ID})
	if err != nil {
		return 0, err
	}
	if !facts[r.ID].Active {
		return 0, errs.E(errs.Invalid, "sku_inactive", "%s: %s is not on sale", field, r.Code).With("field", field)
	}
	return r.ID, nil
}

// lockOrder serialises after-sale changes of one order: on PostgreSQL it
// locks the order row until the transaction ends (SQLite has one writer).
func lockOrder(tx *db.Tx, id int64) error {
	q := `SELECT id FROM orders WHERE id = ?`
	if tx.Engine() == db.Postgres {
		q += ` FOR UPDATE`
	}
	var got int64
	if err := tx.QueryRow(q, id).Scan(&got); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound.Withf("no order %d", id)
		}
		return fmt.Errorf("orders: lock order: %w", err)
	}
	return nil
}

// returnable is, per line, how many units may still be requested: handed
// over, not returned, and not in an open (requested or approved) request.
func returnable(tx *db.Tx, orderID int64) (map[int]int64, error) {
	rows, err := tx.Query(`SELECT l.line_no, l.shipped - l.returned - COALESCE((SELECT SUM(sl.qty) FROM after_sale_lines sl
			JOIN after_sales a ON a.id = sl.after_sale_id
			WHERE a.order_id = l.order_id AND sl.line_no = l.line_no AND a.status IN ('requested', 'approved')), 0)
		FROM order_lines l WHERE l.order_id = ?`, orderID)
	list, err := db.Collect(func(sc db.Scanner) ([2]int64, error) {
		var r [2]int64
		return r, sc.Scan(&r[0], &r[1])
	})(rows, err)
	if err != nil {
		return nil, fmt.Errorf("orders: returnable units: %w", err)
	}
	out := make(map[int]int64, len(list))
	for _, r := range list {
		out[int(r[0])] = r[1]
	}
	return out, nil
}

// handover is when an order line's units reached the customer.
type handover struct {
	at   time.Time
	what string // delivery, pickup, purchase, completion
}

// orderHandovers are the handovers of an order's lines: per line from its
// delivered shipments, else the order's from its history.
type orderHandovers struct {
	lines map[int]handover
	order *handover
}

// of is line no's handover, nil when its units have not reached the
// customer yet (shipped, on the way).
func (o orderHandovers) of(no int) *handover {
	if h, ok := o.lines[no]; ok {
		return &h
	}
	return o.order
}

func (s *Service) handovers(ctx context.Context, h head) (orderHandovers, error) {
	out := orderHandovers{lines: map[int]handover{}}
	rows, err := s.db.Query(ctx, `SELECT sl.line_no, MIN(s.delivered_at) FROM shipments s JOIN shipment_lines sl ON sl.shipment_id = s.id
		WHERE s.order_id = ? AND s.delivered_at IS NOT NULL GROUP BY sl.line_no`, h.id)
	del, err := db.Collect(func(sc db.Scanner) ([2]int64, error) {
		var r [2]int64
		return r, sc.Scan(&r[0], &r[1])
	})(rows, err)
	if err != nil {
		return out, fmt.Errorf("orders: deliveries: %w", err)
	}
	for _, d := range del {
		out.lines[int(d[0])] = handover{at: time.UnixMilli(d[1]).UTC(), what: "delivery"}
	}
	rows, err = s.db.Query(ctx, `SELECT to_status, MIN(created_at) FROM order_history
		WHERE order_id = ? AND to_status IN ('picked_up', 'delivered', 'completed') GROUP BY to_status`, h.id)
	type change struct {
		to string
		at int64
	}
	hist, err := db.Collect(func(sc db.Scanner) (change, error) {
		var c change
		return c, sc.Scan(&c.to, &c.at)
	})(rows, err)
	if err != nil {
		return out, fmt.Errorf("orders: handover history: %w", err)
	}
	for _, c := range hist {
		what := map[string]string{"picked_up": "pickup", "delivered": "delivery", "completed": "completion"}[c.to]
		if c.to == "completed" && h.mode == fulfilment.POS {
			what = "purchase"
		}
		at := time.UnixMilli(c.at).UTC()
		if out.order == nil || at.Before(out.order.at) {
			out.order = &handover{at: at, what: what}
		}
	}
	return out, nil
}

// returnWindow refuses a request after the channel's window: days × 24 h
// from the handover. Without a handover (units on the way) it is open.
func returnWindow(channel string, days int, h *handover, now time.Time, field string) error {
	if h == nil {
		return nil
	}
	closes := h.at.Add(time.Duration(days) * 24 * time.Hour)
	if !now.After(closes) {
		return nil
	}
	const layout = "2006-01-02 15:04"
	return ErrReturnWindow.Withf("%s: the return window of channel %s is %d days after %s on %s; it closed %s (Asia/Shanghai)",
		field, channel, days, h.what, h.at.In(network.Shanghai).Format(layout), closes.In(network.Shanghai).Format(layout)).
		With("field", field).With("window_days", days).With("handover", h.what).With("handover_at", h.at).With("closed_at", closes)
}

// ── decisions ───────────────────────────────────────────────────────────

// afterSaleEvent is the payload of the after_sale.<status> events.
type afterSaleEvent struct {
	AfterSale     int64           `json:"after_sale"`
	Number        string          `json:"number"`
	Order         int64           `json:"order"`
	OrderNumber   string          `json:"order_number"`
	Kind          AfterSaleKind   `json:"kind"`
	From          AfterSaleStatus `json:"from,omitempty"`
	To            AfterSaleStatus `json:"to"`
	Reason        string          `json:"reason,omitempty"`
	Location      string          `json:"location,omitempty"`
	RefundAmount  int64           `json:"refund_amount,omitempty"`
	ExchangeOrder int64           `json:"exchange_order,omitempty"`
	Actor         string          `json:"actor,omitempty"`
}

// asMove changes an after-sale's status in tx when the flow allows it from
// the current state (compare-and-swap on the state just read), and
// announces it with ev's details. set adds column assignments with their
// args. An illegal move is 409 naming the current state.
func (s *Service) asMove(tx *db.Tx, id int64, to AfterSaleStatus, ev timedEvent, set string, args ...any) error {
	for range 3 {
		var cur, kind string
		var order int64
		if err := tx.QueryRow(`SELECT status, kind, order_id FROM after_sales WHERE id = ?`, id).Scan(&cur, &kind, &order); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrAfterSaleNF.Withf("no after-sale %d", id)
			}
			return fmt.Errorf("orders: read after-sale: %w", err)
		}
		if !slices.Contains(afterSaleFlow[AfterSaleStatus(cur)], to) {
			return asIllegal(id, AfterSaleStatus(cur), to)
		}
		at := ev.at
		a := append([]any{string(to), at}, args...)
		a = append(a, id, cur)
		res, err := tx.Exec(`UPDATE after_sales SET status = ?, updated_at = ?`+set+` WHERE id = ? AND status = ?`, a...)
		if err != nil {
			return fmt.Errorf("orders: after-sale to %s: %w", to, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			e := ev.afterSaleEvent
			e.AfterSale, e.Number, e.Order, e.OrderNumber, e.Kind = id, asNumber(id), order, number(order), AfterSaleKind(kind)
			e.From, e.To = AfterSaleStatus(cur), to
			return s.ob.Append(tx, "after_sale."+string(to), asNumber(id), e)
		}
	}
	return errs.E(errs.Conflict, "concurrent_change", "after-sale %s is being changed concurrently; retry", asNumber(id))
}

// asIllegal is the 409 for a refused move, naming the current state.
func asIllegal(id int64, cur, to AfterSaleStatus) error {
	return ErrAfterSaleState.Withf("after-sale %s is %s and cannot become %s", asNumber(id), cur, to).
		With("current_status", string(cur)).With("requested_status", string(to)).With("allowed", NextAfterSale(cur))
}

// timedEvent is an event with the time (ms) of the change.
type timedEvent struct {
	afterSaleEvent
	at int64
}

func (s *Service) event(ctx context.Context) timedEvent {
	return timedEvent{afterSaleEvent: afterSaleEvent{Actor: auth.Actor(ctx)}, at: s.now().UnixMilli()}
}

// appendNote is the SQL that appends a staff decision to the note.
const appendNote = `, note = CASE WHEN note = '' THEN CAST(? AS TEXT) ELSE note || CAST(? AS TEXT) END`

func noteArgs(what, reason string) []any {
	n := what
	if reason != "" {
		n += ": " + reason
	}
	return []any{n, "\n" + n}
}

// ApproveAfterSale approves a requested after-sale (handled, for the SLA).
func (s *Service) ApproveAfterSale(ctx context.Context, id int64) (AfterSale, error) {
	return s.decide(ctx, id, AfterSaleApproved, "", false)
}

// RejectAfterSale rejects a requested after-sale with a reason.
func (s *Service) RejectAfterSale(ctx context.Context, id int64, in AfterSaleDecision) (AfterSale, error) {
	var v errs.Validator
	v.Required(in.Reason, "reason")
	v.Check(len(in.Reason) <= 500, "reason", "too_long", "must be at most 500 bytes")
	if err := v.Err(); err != nil {
		return AfterSale{}, err
	}
	return s.decide(ctx, id, AfterSaleRejected, in.Reason, true)
}

// CancelAfterSale withdraws a requested or approved after-sale (the
// customer changed their mind).
func (s *Service) CancelAfterSale(ctx context.Context, id int64, in AfterSaleDecision) (AfterSale, error) {
	if len(in.Reason) > 500 {
		return AfterSale{}, errs.E(errs.Invalid, "validation_failed", "reason must be at most 500 bytes").With("field", "reason")
	}
	return s.decide(ctx, id, AfterSaleCancelled, in.Reason, in.Reason != "")
}

// decide approves, rejects or cancels.
func (s *Service) decide(ctx context.Context, id int64, to AfterSaleStatus, reason string, note bool) (AfterSale, error) {
	a, err := s.afterSaleRow(ctx, id)
	if err != nil {
		return AfterSale{}, err
	}
	if err := s.mayAct(ctx, a); err != nil {
		return AfterSale{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		ev := s.event(ctx)
		ev.Reason = reason
		set, args := "", []any{}
		if to == AfterSaleApproved || to == AfterSaleRejected {
			set, args = ", handled_at = ?", append(args, ev.at)
		}
		if note {
			set, args = set+appendNote, append(args, noteArgs(string(to), reason)...)
		}
		return s.asMove(tx, id, to, ev, set, args...)
	})
	if err != nil {
		return AfterSale{}, err
	}
	return s.GetAfterSale(ctx, id)
}

// ── receipt ─────────────────────────────────────────────────────────────

// ReceiveAfterSale books an approved request's goods in at a location:
// sellable units back into stock, damaged ones returned and written off.
// The order lines count them as returned.
func (s *Service) ReceiveAfterSale(ctx context.Context, id int64, in AfterSaleReceipt) (AfterSale, error) {
	var v errs.Validator
	v.Required(in.Location, "location")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= MaxLines, "lines", "count", fmt.Sprintf("must hold 1 to %d lines", MaxLines))
	cond := map[int]string{}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Check(l.Line >= 1, f+".line", "out_of_range", "must be a line number")
		_, dup := cond[l.Line]
		v.Check(!dup, f+".line", "duplicate", "appears twice")
		v.OneOf(l.Condition, f+".condition", Sellable, Damaged)
		cond[l.Line] = l.Condition
	}
	if err := v.Err(); err != nil {
		return AfterSale{}, err
	}
	a, err := s.afterSaleRow(ctx, id)
	if err != nil {
		return AfterSale{}, err
	}
	loc, err := s.location(ctx, "location", in.Location)
	if err != nil {
		return AfterSale{}, err
	}
	if err := auth.RequireLocation(ctx, loc.ID); err != nil {
		return AfterSale{}, err
	}
	lines, err := s.afterSaleLines(ctx, []int64{id})
	if err != nil {
		return AfterSale{}, err
	}
	mine := lines[id]
	for i, l := range in.Lines {
		if !slices.ContainsFunc(mine, func(x asLine) bool { return x.no == l.Line }) {
			v.Add(fmt.Sprintf("lines[%d].line", i), "not_in_request", fmt.Sprintf("after-sale %s has no line %d", asNumber(id), l.Line))
		}
	}
	for _, l := range mine {
		if _, ok := cond[l.no]; !ok {
			v.Add("lines", "missing_line", fmt.Sprintf("give the condition of line %d", l.no))
		}
	}
	if err := v.Err(); err != nil {
		return AfterSale{}, err
	}
	if a.status != AfterSaleApproved {
		return AfterSale{}, asIllegal(id, a.status, AfterSaleReceived)
	}
	ref := inventory.Ref{Type: "after_sale", ID: strconv.FormatInt(id, 10), Actor: auth.Actor(ctx)}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		ev := s.event(ctx)
		ev.Location = loc.Code
		if err := s.asMove(tx, id, AfterSaleReceived, ev, ", location_id = ?", loc.ID); err != nil {
			return err
		}
		for _, l := range mine {
			c := cond[l.no]
			if _, err := tx.Exec(`UPDATE after_sale_lines SET condition = ? WHERE after_sale_id = ? AND line_no = ?`, c, id, l.no); err != nil {
				return fmt.Errorf("orders: after-sale line condition: %w", err)
			}
			res, err := tx.Exec(`UPDATE order_lines SET returned = returned + ? WHERE order_id = ? AND line_no = ? AND returned + ? <= shipped`,
				l.qty, a.order, l.no, l.qty)
			if err != nil {
				return fmt.Errorf("orders: line returned: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrMoreThanShipped.Withf("line %d of order %s has fewer than %d units handed over and not yet returned", l.no, number(a.order), l.qty)
			}
			if err := s.inv.TakeBack(tx, l.sku, loc, l.qty, c == Damaged, ref); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return AfterSale{}, err
	}
	return s.GetAfterSale(ctx, id)
}

// ── completion ──────────────────────────────────────────────────────────

// CompleteAfterSale completes a received request: a return is refunded to
// the original tenders; an exchange places its free replacement order.
func (s *Service) CompleteAfterSale(ctx context.Context, id int64, in AfterSaleCompletion) (AfterSale, error) {
	if in.RefundAmount != nil && *in.RefundAmount < 0 {
		return AfterSale{}, errs.E(errs.Invalid, "validation_failed", "refund_amount must not be negative").With("field", "refund_amount")
	}
	a, err := s.afterSaleRow(ctx, id)
	if err != nil {
		return AfterSale{}, err
	}
	if err := s.mayAct(ctx, a); err != nil {
		return AfterSale{}, err
	}
	if a.kind == ExchangeKind && in.RefundAmount != nil {
		return AfterSale{}, errs.E(errs.Invalid, "validation_failed", "refund_amount: an exchange refunds nothing").With("field", "refund_amount")
	}
	if a.status != AfterSaleReceived {
		return AfterSale{}, asIllegal(id, a.status, AfterSaleCompleted)
	}
	if a.kind == ExchangeKind {
		err = s.completeExchange(ctx, a)
	} else {
		err = s.db.Write(ctx, func(tx *db.Tx) error { return s.completeReturn(ctx, tx, a, in.RefundAmount) })
	}
	if err != nil {
		return AfterSale{}, err
	}
	return s.GetAfterSale(ctx, id)
}

// completeReturn refunds a received return in tx.
func (s *Service) completeReturn(ctx context.Context, tx *db.Tx, a asRow, amount *int64) error {
	if err := lockOrder(tx, a.order); err != nil {
		return err
	}
	var orderDisc, refundable int64
	if err := tx.QueryRow(`SELECT o.discount - COALESCE((SELECT SUM(l.discount) FROM order_lines l WHERE l.order_id = o.id), 0),
			(SELECT COALESCE(SUM(p.amount - p.refunded), 0) FROM payments p WHERE p.order_id = o.id AND p.status = 'captured')
		FROM orders o WHERE o.id = ?`, a.order).Scan(&orderDisc, &refundable); err != nil {
		return fmt.Errorf("orders: read order: %w", err)
	}
	rows, err := tx.Query(`SELECT l.line_no, l.qty, l.amount,
			COALESCE((SELECT SUM(sl.qty) FROM after_sale_lines sl JOIN after_sales x ON x.id = sl.after_sale_id
				WHERE x.order_id = l.order_id AND sl.line_no = l.line_no AND x.status = 'completed'), 0),
			COALESCE((SELECT sl.qty FROM after_sale_lines sl WHERE sl.after_sale_id = ? AND sl.line_no = l.line_no), 0)
		FROM order_lines l WHERE l.order_id = ? ORDER BY l.line_no`, a.id, a.order)
	shares, err := db.Collect(func(sc db.Scanner) (ShareLine, error) {
		var l ShareLine
		return l, sc.Scan(&l.Line, &l.Qty, &l.Amount, &l.Done, &l.Now)
	})(rows, err)
	if err != nil {
		return fmt.Errorf("orders: refund lines: %w", err)
	}
	refund := min(RefundShare(shares, max(orderDisc, 0)), max(refundable, 0))
	if amount != nil {
		refund = *amount
	}
	ev := s.event(ctx)
	ev.RefundAmount = refund
	if err := s.asMove(tx, a.id, AfterSaleCompleted, ev, ", refund_amount = ?", refund); err != nil {
		return err
	}
	if refund == 0 {
		return nil
	}
	if err := s.loyaltyRefund(tx, a.order, refund, ev.at); err != nil {
		return err
	}
	return s.refundTx(tx, a.order, &a.id, refund, fmt.Sprintf("after-sale %s: %s", asNumber(a.id), a.reason), ev.Actor, ev.at)
}

// ShareLine is an order line as the refund of a return sees it.
type ShareLine struct {
	Line   int
	Qty    int64 // units of the line
	Amount int64 // fen, unit_price × qty − line discount
	Done   int64 // units already given back by completed after-sales
	Now    int64 // units given back now
}

// RefundShare is what the units given back now paid: per line, its amount
// less its share of the order-level discount (allocated in proportion to
// the line amounts, the last line taking the remainder), of which the
// line's first k given-back units are worth ⌊net × k ÷ qty⌋; the units
// now are worth the difference between the worth with and without them,
// so that the line's after-sales together give back exactly net.
func RefundShare(lines []ShareLine, orderDiscount int64) int64 {
	var sum int64
	for _, l := range lines {
		sum += l.Amount
	}
	orderDiscount = min(orderDiscount, sum)
	var out, given int64
	for i, l := range lines {
		alloc := orderDiscount - given
		if i < len(lines)-1 && sum > 0 {
			alloc = mulDiv(orderDiscount, l.Amount, sum)
		}
		given += alloc
		if l.Now <= 0 || l.Qty <= 0 {
			continue
		}
		net := max(l.Amount-alloc, 0)
		done := min(l.Done, l.Qty)
		upto := min(done+l.Now, l.Qty)
		out += mulDiv(net, upto, l.Qty) - mulDiv(net, done, l.Qty)
	}
	return out
}

// mulDiv is ⌊a × b ÷ c⌋ for non-negative values, without overflow for
// fen amounts and unit counts.
func mulDiv(a, b, c int64) int64 {
	if c == 0 {
		return 0
	}
	q, r := a/c, a%c
	return q*b + r*b/c
}

// completeExchange places the free replacement order of a received
// exchange and completes the request, in one transaction.
func (s *Service) completeExchange(ctx context.Context, a asRow) error {
	orig, err := s.scanOrder(ctx, s.db.QueryRow(ctx, orderCols+` WHERE o.id = ?`, a.order))
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound.Withf("no order %d", a.order)
	}
	if err != nil {
		return fmt.Errorf("orders: read order: %w", err)
	}
	lines, err := s.afterSaleLines(ctx, []int64{a.id})
	if err != nil {
		return err
	}
	req := CheckoutRequest{Channel: orig.Channel, Customer: orig.Customer, Note: "exchange " + asNumber(a.id) + " of " + number(a.order)}
	switch orig.Mode {
	case fulfilment.Pickup, fulfilment.POS:
		req.Mode, req.Store = orig.Mode, orig.Store
	default:
		req.Mode, req.Address = fulfilment.Standard, orig.Address
	}
	at := map[string]int{}
	for _, l := range lines[a.id] {
		if l.exchange == nil {
			return fmt.Errorf("orders: exchange %s line %d has no exchange SKU", asNumber(a.id), l.no)
		}
		if i, ok := at[l.exchange.Code]; ok {
			req.Lines[i].Qty += l.qty
			continue
		}
		at[l.exchange.Code] = len(req.Lines)
		req.Lines = append(req.Lines, LineRequest{SKU: l.exchange.Code, Qty: l.qty})
	}
	p, err := s.prepare(ctx, req)
	if err != nil {
		return err
	}
	p.exchangeOf = &a.order
	freeOfCharge(&p.quote, asNumber(a.id))
	return s.placeRetrying(ctx, p, func(tx *db.Tx) error {
		if err := lockOrder(tx, a.order); err != nil {
			return err
		}
		if err := s.write(tx, p); err != nil {
			return err
		}
		ev := s.event(ctx)
		ev.ExchangeOrder = p.id
		if err := s.asMove(tx, a.id, AfterSaleCompleted, ev, ", exchange_order_id = ?", p.id); err != nil {
			return err
		}
		note := "exchange " + asNumber(a.id) + ": nothing to pay"
		if _, err := s.move(tx, p.id, Paid, note, ev.Actor, ev.at, ", paid_at = ?, expires_at = NULL", ev.at); err != nil {
			return err
		}
		switch {
		case p.in.Mode == fulfilment.POS:
			if _, err := s.move(tx, p.id, Completed, "exchanged at the till", ev.Actor, ev.at, ", completed_at = ?", ev.at); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE order_lines SET held = 0, shipped = qty WHERE order_id = ?`, p.id); err != nil {
				return err
			}
			return s.inv.SellHeld(tx, p.ch, p.lines, inventory.Ref{Type: "order", ID: strconv.FormatInt(p.id, 10), Actor: ev.Actor})
		case p.presale != nil:
			_, err := s.move(tx, p.id, PresaleWait, "waiting for the presale's stock", ev.Actor, ev.at, "")
			return err
		default:
			_, err := s.move(tx, p.id, Allocated, "stock held at checkout", ev.Actor, ev.at, "")
			return err
		}
	})
}

// freeOfCharge prices an exchange's replacement at nothing: every line's
// list price is discounted in full by an "exchange" adjustment, the order
// keeps no order-level adjustment but a zero shipping fee.
func freeOfCharge(q *Quote, ref string) {
	for i := range q.Lines {
		l := &q.Lines[i]
		if amt := l.Amount(); amt > 0 {
			l.Adjust("exchange", ref, "exchange: no charge", -amt)
		}
	}
	q.Order = []Adjustment{{Step: "shipping", Amount: 0, Description: "exchange: no delivery fee"}}
	q.Subtotal, q.Discount, q.ShippingFee = 0, 0, 0
	for i := range q.Lines {
		q.Subtotal += q.Lines[i].UnitPrice * q.Lines[i].Qty
		q.Discount += q.Lines[i].Discount
	}
	q.Total = q.Subtotal - q.Discount
}

// ── reading ─────────────────────────────────────────────────────────────

// asRow is an after_sales row.
type asRow struct {
	id, order             int64
	kind                  AfterSaleKind
	status                AfterSaleStatus
	reason, note          string
	refund                int64
	loc, exch, handled    sql.NullInt64
	due, created, updated int64
}

const afterSaleCols = `SELECT id, order_id, kind, status, reason, note, refund_amount, location_id, exchange_order_id,
	due_at, handled_at, created_at, updated_at FROM after_sales`

func scanAfterSale(sc db.Scanner) (asRow, error) {
	var a asRow
	return a, sc.Scan(&a.id, &a.order, &a.kind, &a.status, &a.reason, &a.note, &a.refund, &a.loc, &a.exch,
		&a.due, &a.handled, &a.created, &a.updated)
}

func (s *Service) afterSaleRow(ctx context.Context, id int64) (asRow, error) {
	a, err := scanAfterSale(s.db.QueryRow(ctx, afterSaleCols+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrAfterSaleNF.Withf("no after-sale %d", id)
	}
	if err != nil {
		return a, fmt.Errorf("orders: read after-sale: %w", err)
	}
	return a, nil
}

// asLine is an after_sale_lines row with its SKUs.
type asLine struct {
	no        int
	qty       int64
	condition string
	sku       catalog.SKURef
	exchange  *catalog.SKURef
}

// afterSaleLines reads the lines of after-sales, keyed by after-sale id.
func (s *Service) afterSaleLines(ctx context.Context, ids []int64) (map[int64][]asLine, error) {
	out := make(map[int64][]asLine, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	type raw struct {
		as       int64
		no       int
		qty      int64
		cond     string
		exchange sql.NullInt64
		sku      int64
	}
	rows, err := s.db.Query(ctx, `SELECT sl.after_sale_id, sl.line_no, sl.qty, sl.condition, sl.exchange_sku_id, ol.sku_id
		FROM after_sale_lines sl JOIN after_sales a ON a.id = sl.after_sale_id
		JOIN order_lines ol ON ol.order_id = a.order_id AND ol.line_no = sl.line_no
		WHERE sl.after_sale_id IN (`+marks(len(ids))+`) ORDER BY sl.after_sale_id, sl.line_no`, args...)
	list, err := db.Collect(func(sc db.Scanner) (raw, error) {
		var r raw
		return r, sc.Scan(&r.as, &r.no, &r.qty, &r.cond, &r.exchange, &r.sku)
	})(rows, err)
	if err != nil {
		return nil, fmt.Errorf("orders: after-sale lines: %w", err)
	}
	for _, r := range list {
		l := asLine{no: r.no, qty: r.qty, condition: r.cond}
		if l.sku, err = s.cat.SKURefByID(ctx, r.sku); err != nil {
			return nil, err
		}
		if r.exchange.Valid {
			x, err := s.cat.SKURefByID(ctx, r.exchange.Int64)
			if err != nil {
				return nil, err
			}
			l.exchange = &x
		}
		out[r.as] = append(out[r.as], l)
	}
	return out, nil
}

// mayAct refuses a store-scoped caller an after-sale neither received at
// its store nor of an order of its store.
func (s *Service) mayAct(ctx context.Context, a asRow) error {
	ok, err := s.visible(ctx, a)
	if err != nil {
		return err
	}
	if !ok {
		return auth.ErrForbiddenLocation
	}
	return nil
}

// visible reports whether the caller may see an after-sale: any caller
// but a store-scoped one, which sees those received at its store and those
// of orders picked up, sold or fulfilled there.
func (s *Service) visible(ctx context.Context, a asRow) (bool, error) {
	p := auth.From(ctx)
	if p == nil || p.LocationID == 0 {
		return true, nil
	}
	if a.loc.Valid && a.loc.Int64 == p.LocationID {
		return true, nil
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM orders o WHERE o.id = ? AND (o.store_id = ?
		OR EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.location_id = ?))`, a.order, p.LocationID, p.LocationID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("orders: after-sale scope: %w", err)
	}
	return n > 0, nil
}

// GetAfterSale returns an after-sale with its lines. A store-scoped caller
// sees only its store's (see visible).
func (s *Service) GetAfterSale(ctx context.Context, id int64) (AfterSale, error) {
	a, err := s.afterSaleRow(ctx, id)
	if err != nil {
		return AfterSale{}, err
	}
	if ok, err := s.visible(ctx, a); err != nil {
		return AfterSale{}, err
	} else if !ok {
		return AfterSale{}, ErrAfterSaleNF.Withf("no after-sale %d", id)
	}
	out, err := s.renderAfterSales(ctx, []asRow{a})
	if err != nil {
		return AfterSale{}, err
	}
	return out[0], nil
}

func (s *Service) renderAfterSales(ctx context.Context, rows []asRow) ([]AfterSale, error) {
	ids := make([]int64, len(rows))
	for i, a := range rows {
		ids[i] = a.id
	}
	lines, err := s.afterSaleLines(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]AfterSale, len(rows))
	for i, a := range rows {
		o := AfterSale{ID: a.id, Number: asNumber(a.id), Order: a.order, OrderNumber: number(a.order), Kind: a.kind, Status: a.status,
			Reason: a.reason, Note: a.note, RefundAmount: a.refund, DueAt: time.UnixMilli(a.due).UTC(), HandledAt: msPtr(a.handled),
			CreatedAt: time.UnixMilli(a.created).UTC(), UpdatedAt: time.UnixMilli(a.updated).UTC(), AvailableFor: NextAfterSale(a.status),
			Lines: []AfterSaleLine{}}
		o.Overdue = a.status == AfterSaleRequested && now.After(o.DueAt)
		o.HandledLate = a.handled.Valid && a.handled.Int64 > a.due
		if a.exch.Valid {
			x := a.exch.Int64
			o.ExchangeOrder = &x
		}
		if a.loc.Valid {
			l, err := s.net.LocationByID(ctx, a.loc.Int64)
			if err != nil {
				return nil, err
			}
			o.Location = l.Code
		}
		for _, l := range lines[a.id] {
			ln := AfterSaleLine{Line: l.no, SKU: l.sku.Code, Qty: l.qty, Condition: l.condition}
			if l.exchange != nil {
				ln.ExchangeSKU = l.exchange.Code
			}
			o.Lines = append(o.Lines, ln)
		}
		out[i] = o
	}
	return out, nil
}

// ListAfterSales lists after-sales newest first, or with Overdue the
// requests still waiting past their due time, the oldest due first (the
// SLA queue). A store-scoped caller sees its store's.
func (s *Service) ListAfterSales(ctx context.Context, f AfterSaleListParams) ([]AfterSale, string, error) {
	var v errs.Validator
	var where []string
	var args []any
	if f.Status != "" {
		st := make([]string, len(AfterSaleStates))
		for i, x := range AfterSaleStates {
			st[i] = string(x)
		}
		v.OneOf(f.Status, "status", st...)
		v.Check(!f.Overdue || f.Status == string(AfterSaleRequested), "status", "conflict", "overdue requests are requested; leave status out")
		where, args = append(where, "a.status = ?"), append(args, f.Status)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	v.Range(int64(f.Limit), 1, 200, "limit")
	v.Check(f.Order >= 0, "order", "out_of_range", "must be an order id")
	order := " ORDER BY a.id DESC"
	if f.Overdue {
		where, args = append(where, "a.status = 'requested'", "a.due_at < ?"), append(args, s.now().UnixMilli())
		order = " ORDER BY a.due_at, a.id"
	}
	if f.Cursor != "" {
		if f.Overdue {
			due, id, ok := strings.Cut(f.Cursor, "-")
			d, err1 := strconv.ParseInt(due, 10, 64)
			n, err2 := strconv.ParseInt(id, 10, 64)
			if v.Check(ok && err1 == nil && err2 == nil, "cursor", "invalid", "is not a cursor from next_cursor") {
				where, args = append(where, "(a.due_at > ? OR (a.due_at = ? AND a.id > ?))"), append(args, d, d, n)
			}
		} else {
			c, err := strconv.ParseInt(f.Cursor, 10, 64)
			if v.Check(err == nil && c > 0, "cursor", "invalid", "is not a cursor from next_cursor") {
				where, args = append(where, "a.id < ?"), append(args, c)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if f.Order > 0 {
		where, args = append(where, "a.order_id = ?"), append(args, f.Order)
	}
	if p := auth.From(ctx); p != nil && p.LocationID != 0 {
		where = append(where, `(a.location_id = ? OR EXISTS (SELECT 1 FROM orders o WHERE o.id = a.order_id AND (o.store_id = ?
			OR EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.location_id = ?))))`)
		args = append(args, p.LocationID, p.LocationID, p.LocationID)
	}
	q := `SELECT a.id, a.order_id, a.kind, a.status, a.reason, a.note, a.refund_amount, a.location_id, a.exchange_order_id,
		a.due_at, a.handled_at, a.created_at, a.updated_at FROM after_sales a`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += order + " LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := db.Collect(scanAfterSale)(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, "", fmt.Errorf("orders: list after-sales: %w", err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = strconv.FormatInt(last.id, 10)
		if f.Overdue {
			next = strconv.FormatInt(last.due, 10) + "-" + next
		}
	}
	list, err := s.renderAfterSales(ctx, rows)
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

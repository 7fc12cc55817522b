package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Shipment is a parcel (or an instant-delivery run) of an order.
type Shipment struct {
	ID          int64           `json:"id"`
	Order       int64           `json:"order"`
	Location    string          `json:"location"`
	Carrier     string          `json:"carrier"`
	TrackingNo  string          `json:"tracking_no"`
	Status      string          `json:"status" enum:"shipped,in_transit,out_for_delivery,delivered,exception"`
	PromisedAt  *time.Time      `json:"promised_at,omitempty"`
	ShippedAt   time.Time       `json:"shipped_at"`
	DeliveredAt *time.Time      `json:"delivered_at,omitempty"`
	Late        bool            `json:"late" description:"delivered after the promise, or still on the way past it"`
	Lines       []ShipLine      `json:"lines"`
	Events      []TrackingEvent `json:"events"`
}

// ShipLine is units of one order line in a shipment.
type ShipLine struct {
	Line int   `json:"line" required:"true" minimum:"1"`
	Qty  int64 `json:"qty" required:"true" minimum:"1"`
}

// ShipRequest ships held units of an order from one location.
type ShipRequest struct {
	Carrier    string     `json:"carrier" required:"true" description:"e.g. SF, ZTO, YTO, JD, or a rider service for instant delivery"`
	TrackingNo string     `json:"tracking_no" required:"true"`
	Location   string     `json:"location,omitempty" description:"the shipping location; default: the location of the lines"`
	Lines      []ShipLine `json:"lines,omitempty" description:"default: every held unit at the location (partial shipments name lines)"`
}

// TrackingEvent is one step of a shipment's timeline (物流轨迹).
type TrackingEvent struct {
	Status      string    `json:"status" required:"true" enum:"in_transit,out_for_delivery,delivered,exception"`
	Description string    `json:"description,omitempty"`
	Place       string    `json:"place,omitempty"`
	OccurredAt  time.Time `json:"occurred_at" required:"true"`
}

// ShipmentStates are the shipment states, in order.
var ShipmentStates = []string{"shipped", "in_transit", "out_for_delivery", "delivered", "exception"}

// StandardPromise is the delivery promise of standard parcels.
const StandardPromise = 72 * time.Hour

// Ship sends held units of an order: the units leave the location's stock
// as a sale, and the order becomes shipped (or partially shipped while
// units remain held).
func (s *Service) Ship(ctx context.Context, id int64, in ShipRequest) (Shipment, error) {
	var v errs.Validator
	v.Required(in.Carrier, "carrier")
	v.Required(in.TrackingNo, "tracking_no")
	v.Check(len(in.Carrier) <= 50, "carrier", "too_long", "must be at most 50 bytes")
	v.Check(len(in.TrackingNo) <= 64, "tracking_no", "too_long", "must be at most 64 bytes")
	for i, l := range in.Lines {
		v.Check(l.Line >= 1, fmt.Sprintf("lines[%d].line", i), "out_of_range", "must be a line number")
		v.Range(l.Qty, 1, 999, fmt.Sprintf("lines[%d].qty", i))
	}
	if err := v.Err(); err != nil {
		return Shipment{}, err
	}
	h, err := s.head(ctx, nil, id)
	if err != nil {
		return Shipment{}, err
	}
	if h.mode != fulfilment.Standard && h.mode != fulfilment.Instant || !CanMove(h.mode, h.status, Shipped) && !CanMove(h.mode, h.status, PartiallyShipped) {
		return Shipment{}, illegal(id, h.mode, h.status, Shipped)
	}
	lines, err := s.lineRows(ctx, id)
	if err != nil {
		return Shipment{}, err
	}
	var locID int64
	if in.Location != "" {
		l, err := s.location(ctx, "location", in.Location)
		if err != nil {
			return Shipment{}, err
		}
		locID = l.ID
	} else {
		for _, l := range lines {
			if l.held > 0 && l.loc.Valid {
				locID = l.loc.Int64
				break
			}
		}
	}
	if err := auth.RequireLocation(ctx, locID); err != nil {
		return Shipment{}, err
	}
	qty := map[int]int64{}
	if len(in.Lines) == 0 {
		for _, l := range lines {
			if l.loc.Valid && l.loc.Int64 == locID && l.held > 0 {
				qty[l.no] = l.held
			}
		}
	}
	for i, sl := range in.Lines {
		j := slices.IndexFunc(lines, func(l lineRow) bool { return l.no == sl.Line })
		f := fmt.Sprintf("lines[%d]", i)
		switch {
		case j < 0:
			return Shipment{}, errs.E(errs.Invalid, "no_such_line", "%s.line: order %s has no line %d", f, number(id), sl.Line).With("field", f+".line")
		case !lines[j].loc.Valid || lines[j].loc.Int64 != locID:
			return Shipment{}, errs.E(errs.Invalid, "wrong_location", "%s.line: line %d is not fulfilled from the shipping location", f, sl.Line).With("field", f+".line")
		case sl.Qty+qty[sl.Line] > lines[j].held:
			return Shipment{}, errs.E(errs.Invalid, "more_than_held", "%s.qty: line %d has %d units held", f, sl.Line, lines[j].held).With("field", f+".qty")
		}
		qty[sl.Line] += sl.Qty
	}
	if len(qty) == 0 {
		return Shipment{}, errs.E(errs.Conflict, "nothing_to_ship", "order %s holds nothing to ship from this location", number(id)).
			With("current_status", string(h.status))
	}
	var sid int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		left := int64(0)
		for _, l := range lines {
			left += l.held - qty[l.no]
		}
		to := Shipped
		if left > 0 {
			to = PartiallyShipped
		}
		if _, err := s.move(tx, id, to, in.Carrier+" "+in.TrackingNo, auth.Actor(ctx), at, ""); err != nil {
			return err
		}
		promised := h.promise
		if !promised.Valid {
			promised = sql.NullInt64{Int64: at + StandardPromise.Milliseconds(), Valid: true}
		}
		err := tx.QueryRow(`INSERT INTO shipments (order_id, location_id, carrier, tracking_no, status, promised_at, shipped_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'shipped', ?, ?, ?, ?) RETURNING id`, id, locID, in.Carrier, in.TrackingNo, promised, at, at, at).Scan(&sid)
		if err != nil {
			if strings.Contains(strings.ToLower(err.Error()), "unique") {
				return errs.E(errs.Conflict, "duplicate_tracking_no", "tracking_no: %s %s is already used", in.Carrier, in.TrackingNo).With("field", "tracking_no")
			}
			return fmt.Errorf("orders: insert shipment: %w", err)
		}
		for no, n := range qty {
			if _, err := tx.Exec(`INSERT INTO shipment_lines (shipment_id, line_no, qty) VALUES (?, ?, ?)`, sid, no, n); err != nil {
				return err
			}
		}
		if err := s.sell(ctx, tx, id, h.channel, lines, qty); err != nil {
			return err
		}
		return s.ob.Append(tx, "shipment.shipped", number(id), map[string]any{"order": id, "shipment": sid, "carrier": in.Carrier, "tracking_no": in.TrackingNo})
	})
	if err != nil {
		return Shipment{}, err
	}
	return s.GetShipment(ctx, sid)
}

// Track appends a carrier event to a shipment's timeline. A delivered
// event stamps the delivery (late when after the promise); when every
// shipment of a shipped order is delivered, the order is delivered.
// Repeating an event (same status and time) changes nothing.
func (s *Service) Track(ctx context.Context, sid int64, in TrackingEvent) (Shipment, error) {
	var v errs.Validator
	v.OneOf(in.Status, "status", "in_transit", "out_for_delivery", "delivered", "exception")
	v.Check(!in.OccurredAt.IsZero(), "occurred_at", "required", "is required")
	v.Check(len(in.Description) <= 500, "description", "too_long", "must be at most 500 bytes")
	v.Check(len(in.Place) <= 200, "place", "too_long", "must be at most 200 bytes")
	if err := v.Err(); err != nil {
		return Shipment{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		occ := in.OccurredAt.UnixMilli()
		var order int64
		var status string
		var promised sql.NullInt64
		err := tx.QueryRow(`SELECT order_id, status, promised_at FROM shipments WHERE id = ?`, sid).Scan(&order, &status, &promised)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "shipment_not_found", "no shipment %d", sid)
		}
		if err != nil {
			return err
		}
		var dup int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM shipment_events WHERE shipment_id = ? AND status = ? AND occurred_at = ?`, sid, in.Status, occ).Scan(&dup); err != nil {
			return err
		}
		if dup > 0 {
			return nil
		}
		if status == "delivered" {
			return errs.E(errs.Conflict, "shipment_delivered", "shipment %d is already delivered", sid).With("current_status", status)
		}
		if _, err := tx.Exec(`INSERT INTO shipment_events (shipment_id, status, description, place, occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			sid, in.Status, in.Description, in.Place, occ, at); err != nil {
			return err
		}
		late := promised.Valid && occ > promised.Int64
		set := `status = ?, updated_at = ?`
		args := []any{in.Status, at}
		if in.Status == "delivered" {
			set += `, delivered_at = ?, late = ?`
			args = append(args, occ, late)
		}
		if _, err := tx.Exec(`UPDATE shipments SET `+set+` WHERE id = ?`, append(args, sid)...); err != nil {
			return err
		}
		if err := s.ob.Append(tx, "shipment."+in.Status, number(order), map[string]any{"order": order, "shipment": sid, "place": in.Place,
			"occurred_at": in.OccurredAt, "late": late && in.Status == "delivered"}); err != nil {
			return err
		}
		if in.Status != "delivered" {
			return nil
		}
		var open int
		var ostatus string
		if err := tx.QueryRow(`SELECT (SELECT COUNT(*) FROM shipments WHERE order_id = ? AND status <> 'delivered'), status FROM orders WHERE id = ?`,
			order, order).Scan(&open, &ostatus); err != nil {
			return err
		}
		if open == 0 && Status(ostatus) == Shipped {
			_, err := s.move(tx, order, Delivered, "all shipments delivered", auth.Actor(ctx), at, "")
			return err
		}
		return nil
	})
	if err != nil {
		return Shipment{}, err
	}
	return s.GetShipment(ctx, sid)
}

const shipmentCols = `SELECT s.id, s.order_id, l.code, s.carrier, s.tracking_no, s.status, s.promised_at, s.shipped_at, s.delivered_at, s.late
	FROM shipments s JOIN locations l ON l.id = s.location_id`

func (s *Service) scanShipment(ctx context.Context, sc db.Scanner) (Shipment, error) {
	var sh Shipment
	var promised, delivered sql.NullInt64
	var shipped int64
	if err := sc.Scan(&sh.ID, &sh.Order, &sh.Location, &sh.Carrier, &sh.TrackingNo, &sh.Status, &promised, &shipped, &delivered, &sh.Late); err != nil {
		return sh, err
	}
	sh.PromisedAt, sh.DeliveredAt, sh.ShippedAt = msPtr(promised), msPtr(delivered), time.UnixMilli(shipped).UTC()
	if !sh.Late && sh.DeliveredAt == nil && sh.PromisedAt != nil && s.now().After(*sh.PromisedAt) {
		sh.Late = true
	}
	return sh, nil
}

// GetShipment returns a shipment with its lines and timeline.
func (s *Service) GetShipment(ctx context.Context, id int64) (Shipment, error) {
	sh, err := s.scanShipment(ctx, s.db.QueryRow(ctx, shipmentCols+` WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sh, errs.E(errs.NotFound, "shipment_not_found", "no shipment %d", id)
	}
	if err != nil {
		return sh, err
	}
	return sh, s.fillShipment(ctx, &sh)
}

func (s *Service) fillShipment(ctx context.Context, sh *Shipment) error {
	var err error
	if sh.Lines, err = db.Collect(func(sc db.Scanner) (ShipLine, error) {
		var l ShipLine
		return l, sc.Scan(&l.Line, &l.Qty)
	})(s.db.Query(ctx, `SELECT line_no, qty FROM shipment_lines WHERE shipment_id = ? ORDER BY line_no`, sh.ID)); err != nil {
		return err
	}
	sh.Events, err = db.Collect(func(sc db.Scanner) (TrackingEvent, error) {
		var e TrackingEvent
		var at int64
		err := sc.Scan(&e.Status, &e.Description, &e.Place, &at)
		e.OccurredAt = time.UnixMilli(at).UTC()
		return e, err
	})(s.db.Query(ctx, `SELECT status, description, place, occurred_at FROM shipment_events WHERE shipment_id = ? ORDER BY occurred_at, id`, sh.ID))
	if sh.Events == nil {
		sh.Events = []TrackingEvent{}
	}
	return err
}

func (s *Service) shipments(ctx context.Context, order int64) ([]Shipment, error) {
	list, err := db.Collect(func(sc db.Scanner) (Shipment, error) { return s.scanShipment(ctx, sc) })(
		s.db.Query(ctx, shipmentCols+` WHERE s.order_id = ? ORDER BY s.id`, order))
	if err != nil {
		return nil, err
	}
	for i := range list {
		if err := s.fillShipment(ctx, &list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// LateShipments lists shipments past their promise and not delivered, or
// delivered late, newest first.
func (s *Service) LateShipments(ctx context.Context, limit int) ([]Shipment, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	now := s.now().UnixMilli()
	return db.Collect(func(sc db.Scanner) (Shipment, error) { return s.scanShipment(ctx, sc) })(
		s.db.Query(ctx, shipmentCols+` WHERE (s.status <> 'delivered' AND s.promised_at < ?) OR s.late ORDER BY s.id DESC LIMIT ?`, now, limit))
}

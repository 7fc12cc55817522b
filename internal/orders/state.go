package orders

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// The order lifecycle. Each mode has its own path to completion; any state
// before the goods leave may be cancelled.
//
//	pickup:   created → paid → allocated → picking → ready_for_pickup → picked_up → completed
//	instant,
//	standard: created → paid → allocated → picking → (partially_shipped →) shipped → delivered → completed
//	pos:      created → paid → completed
//	presale:  … paid → presale → allocated → …  (waits for the expected stock)
var lifecycle = map[fulfilment.Mode]map[Status][]Status{
	fulfilment.Pickup: {
		Created: {Paid, Cancelled}, Paid: {Allocated, PresaleWait, Cancelled}, PresaleWait: {Allocated, Cancelled},
		Allocated: {Picking, Cancelled}, Picking: {ReadyForPickup, Cancelled}, ReadyForPickup: {PickedUp, Cancelled},
		PickedUp: {Completed},
	},
	fulfilment.Instant:  deliveryPath(),
	fulfilment.Standard: deliveryPath(),
	fulfilment.POS: {
		Created: {Paid, Cancelled}, Paid: {Completed, Cancelled},
	},
}

func deliveryPath() map[Status][]Status {
	return map[Status][]Status{
		Created: {Paid, Cancelled}, Paid: {Allocated, PresaleWait, Cancelled}, PresaleWait: {Allocated, Cancelled},
		Allocated: {Picking, Cancelled}, Picking: {PartiallyShipped, Shipped, Cancelled},
		PartiallyShipped: {PartiallyShipped, Shipped}, Shipped: {Delivered}, Delivered: {Completed},
	}
}

// Next lists the states an order of mode m may move to from s.
func Next(m fulfilment.Mode, s Status) []Status {
	if n := lifecycle[m][s]; n != nil {
		return n
	}
	return []Status{} // a final state: none (a JSON list, never null)
}

// CanMove reports whether an order of mode m may move from one state to
// another.
func CanMove(m fulfilment.Mode, from, to Status) bool { return slices.Contains(lifecycle[m][from], to) }

// States lists every order state.
var States = []Status{Created, Paid, PresaleWait, Allocated, Picking, ReadyForPickup, PartiallyShipped, Shipped, PickedUp,
	Delivered, Completed, Cancelled}

// move changes an order's status in tx to to, when its mode allows the move
// from the current state, and records and announces the change. The
// UPDATE is conditional on the state just read (compare-and-swap), so two
// concurrent moves cannot both succeed from the same state. set adds
// column assignments (", paid_at = ?") with their args. An illegal move is
// ErrState naming the current state.
func (s *Service) move(tx *db.Tx, id int64, to Status, note, actor string, at int64, set string, args ...any) (Status, error) {
	for range 3 {
		var old, mode string
		if err := tx.QueryRow(`SELECT status, mode FROM orders WHERE id = ?`, id).Scan(&old, &mode); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return "", ErrNotFound.Withf("no order %d", id)
			}
			return "", fmt.Errorf("orders: read status: %w", err)
		}
		moved, err := s.moveFrom(tx, id, fulfilment.Mode(mode), Status(old), to, note, actor, at, set, args...)
		if err != nil {
			return "", err
		}
		if moved {
			return Status(old), nil
		}
	}
	return "", errs.E(errs.Conflict, "concurrent_change", "order %s is being changed concurrently; retry", number(id))
}

// moveFrom is move from a state the caller knows (an order of mode m it
// has just written, say): one conditional UPDATE, and moved is false when
// the order was no longer in that state.
func (s *Service) moveFrom(tx *db.Tx, id int64, m fulfilment.Mode, from, to Status, note, actor string, at int64, set string, args ...any) (moved bool, err error) {
	if !CanMove(m, from, to) {
		return false, illegal(id, m, from, to)
	}
	a := append([]any{string(to), at}, args...)
	a = append(a, id, string(from))
	res, err := tx.Exec(`UPDATE orders SET status = ?, updated_at = ?`+set+` WHERE id = ? AND status = ?`, a...)
	if err != nil {
		return false, fmt.Errorf("orders: move to %s: %w", to, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	return true, s.changed(tx, id, from, to, note, actor, at)
}

// changed records and announces a status change made in tx.
func (s *Service) changed(tx *db.Tx, id int64, from, to Status, note, actor string, at int64) error {
	return s.changedPath(tx, id, note, actor, at, from, to)
}

// changedPath records and announces the changes along path (from, to, …)
// made in tx: one history row and one event per step, appended (db.Tx.Append).
// note goes with the last step.
func (s *Service) changedPath(tx *db.Tx, id int64, note, actor string, at int64, path ...Status) error {
	steps := len(path) - 1
	vals := make([]any, 0, 6*steps)
	evs := make([]outbox.Event, steps)
	for i := range steps {
		n := ""
		if i == steps-1 {
			n = note
		}
		vals = append(vals, id, string(path[i]), string(path[i+1]), n, actor, at)
		evs[i] = outbox.Event{Topic: "order." + string(path[i+1]), Subject: number(id),
			Payload: statusEvent{Order: id, Number: number(id), From: path[i], To: path[i+1], Note: n}}
	}
	if err := tx.Append("order_history (order_id, from_status, to_status, note, actor, created_at)", vals...); err != nil {
		return fmt.Errorf("orders: history: %w", err)
	}
	return s.ob.AppendAll(tx, evs)
}

// statusEvent is the payload of the order.<status> events.
type statusEvent struct {
	Order  int64  `json:"order"`
	Number string `json:"number"`
	From   Status `json:"from,omitempty"`
	To     Status `json:"to"`
	Note   string `json:"note,omitempty"`
}

// illegal is the 409 for a refused move, naming the current state.
func illegal(id int64, m fulfilment.Mode, cur, to Status) error {
	return ErrState.Withf("order %s is %s and cannot become %s", number(id), cur, to).
		With("current_status", string(cur)).With("requested_status", string(to)).With("allowed", Next(m, cur))
}

func marks(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

// number is an order's display number.
func number(id int64) string { return fmt.Sprintf("SO%010d", id) }

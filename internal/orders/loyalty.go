package orders

import (
	"database/sql"
	"fmt"

	"github.com/omni-retail/omni/internal/platform/db"
)

// Loyalty is what the members and coupons modules do along a member's
// order. Each method runs inside the transaction that changes the order,
// so what it does (a coupon taken, points spent or earned) commits or
// rolls back with the order, and an error aborts the change. Guests'
// orders (no member) are not passed on.
//
// The price pipeline's member steps decide what an order gets; the hooks
// make it stick:
//
//   - OrderPlaced takes what the quote applied (coupons locked to the
//     order, points spent) with conditional statements; a coupon used by a
//     concurrent order or points spent meanwhile is a conflict.
//   - OrderPaid awards what the order earns (points, growth) once.
//   - OrderCancelled gives back what the order took and takes back what
//     it earned (a cancelled paid order is refunded in full).
//   - OrderRefunded takes back earnings in proportion to a partial refund
//     (a return, a goodwill refund); amount is this refund, in fen.
type Loyalty interface {
	OrderPlaced(tx *db.Tx, o OrderFacts, q *Quote) error
	OrderPaid(tx *db.Tx, o OrderFacts) error
	OrderCancelled(tx *db.Tx, o OrderFacts) error
	OrderRefunded(tx *db.Tx, o OrderFacts, amount int64) error
}

// OrderFacts is what the loyalty hooks see of an order.
type OrderFacts struct {
	ID       int64
	Number   string // SO0000000123
	MemberID int64
	Channel  int64 // channel id
	Store    int64 // pickup or POS store id; 0 for deliveries
	// Goods is what the goods cost after every discount (total less
	// shipping): the base for earning points.
	Goods    int64
	Shipping int64
	Total    int64
	Paid     int64 // captured so far
	Refunded int64 // succeeded refunds so far, before this change
	At       int64 // unix ms of the change
}

// AddLoyalty registers loyalty hooks, called in the order they were added.
// Call it at wiring, before serving.
func (s *Service) AddLoyalty(l Loyalty) { s.loyalty = append(s.loyalty, l) }

// orderFacts reads the facts of order id in tx; ok is false for a guest's
// order or when no hook is registered.
func (s *Service) orderFacts(tx *db.Tx, id, at int64) (OrderFacts, bool, error) {
	if len(s.loyalty) == 0 {
		return OrderFacts{}, false, nil
	}
	var member, store sql.NullInt64
	f := OrderFacts{ID: id, Number: number(id), At: at}
	err := tx.QueryRow(`SELECT member_id, channel_id, store_id, total - shipping_fee, shipping_fee, total, paid, refunded FROM orders WHERE id = ?`, id).
		Scan(&member, &f.Channel, &store, &f.Goods, &f.Shipping, &f.Total, &f.Paid, &f.Refunded)
	if err != nil {
		return f, false, fmt.Errorf("orders: read order for loyalty: %w", err)
	}
	f.MemberID, f.Store = member.Int64, store.Int64
	return f, member.Valid, nil
}

// loyaltyEvent runs one hook kind over every registered hook for order id.
func (s *Service) loyaltyEvent(tx *db.Tx, id, at int64, call func(Loyalty, OrderFacts) error) error {
	f, ok, err := s.orderFacts(tx, id, at)
	if err != nil || !ok {
		return err
	}
	for _, l := range s.loyalty {
		if err := call(l, f); err != nil {
			return err
		}
	}
	return nil
}

// placed runs the OrderPlaced hooks for a just-written order.
func (s *Service) placed(tx *db.Tx, p *placement) error {
	if len(s.loyalty) == 0 || p.in.Customer.MemberID == nil {
		return nil
	}
	q := &p.quote
	f := OrderFacts{ID: p.id, Number: number(p.id), MemberID: *p.in.Customer.MemberID, Channel: p.ch.ID,
		Goods: q.Total - q.ShippingFee, Shipping: q.ShippingFee, Total: q.Total, At: p.at}
	if p.store != nil {
		f.Store = p.store.ID
	}
	for _, l := range s.loyalty {
		if err := l.OrderPlaced(tx, f, q); err != nil {
			return err
		}
	}
	return nil
}

// loyaltyRefund runs the OrderRefunded hooks before a partial refund of
// amount fen (the refund itself checks the amount).
func (s *Service) loyaltyRefund(tx *db.Tx, id, amount, at int64) error {
	return s.loyaltyEvent(tx, id, at, func(l Loyalty, f OrderFacts) error {
		if amount > f.Paid-f.Refunded {
			return nil // refundTx refuses it
		}
		return l.OrderRefunded(tx, f, amount)
	})
}

// settleFree moves an order with nothing to pay (points and coupons
// covered it) on as if paid, in the transaction that placed it.
func (s *Service) settleFree(tx *db.Tx, p *placement) error {
	if p.quote.Total != 0 || p.exchangeOf != nil {
		return nil
	}
	_, err := s.capture(tx, p.id, 0, 0, p.actor, p.at)
	return err
}

// Gate holds orders back from fulfilment: a group-buy order waits until
// its group forms. MayPick runs in the transaction that would start
// picking order id and returns an error (a 409 naming why) to refuse.
type Gate interface {
	MayPick(tx *db.Tx, orderID int64) error
}

// AddGate registers a fulfilment gate. Call it at wiring, before serving.
func (s *Service) AddGate(g Gate) { s.gates = append(s.gates, g) }

// mayPick asks every gate whether order id may be picked.
func (s *Service) mayPick(tx *db.Tx, id int64) error {
	for _, g := range s.gates {
		if err := g.MayPick(tx, id); err != nil {
			return err
		}
	}
	return nil
}

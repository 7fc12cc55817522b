package orders_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/orders"
)

// edge is one legal status change.
type edge struct{ from, to orders.Status }

// lifecycle is the order lifecycle as the orders notes define it, written
// out edge by edge (independently of the package's table):
//
//	pickup:   created → paid → allocated → picking → ready_for_pickup → picked_up → completed
//	instant,
//	standard: created → paid → allocated → picking → (partially_shipped →) shipped → delivered → completed
//	          (partially_shipped repeats for each further partial shipment)
//	pos:      created → paid → completed
//	presale:  paid → presale → allocated
//	cancel:   from any state before the goods leave
func lifecycle() map[fulfilment.Mode][]edge {
	const (
		created, paid, presale, allocated = orders.Created, orders.Paid, orders.PresaleWait, orders.Allocated
		picking, ready, partial, shipped  = orders.Picking, orders.ReadyForPickup, orders.PartiallyShipped, orders.Shipped
		pickedUp, delivered, completed    = orders.PickedUp, orders.Delivered, orders.Completed
		cancelled                         = orders.Cancelled
	)
	delivery := []edge{
		{created, paid}, {paid, allocated}, {allocated, picking}, {picking, shipped}, {picking, partial}, {partial, partial}, {partial, shipped},
		{shipped, delivered}, {delivered, completed},
		{paid, presale}, {presale, allocated},
		{created, cancelled}, {paid, cancelled}, {presale, cancelled}, {allocated, cancelled}, {picking, cancelled},
	}
	return map[fulfilment.Mode][]edge{
		fulfilment.Pickup: {
			{created, paid}, {paid, allocated}, {allocated, picking}, {picking, ready}, {ready, pickedUp}, {pickedUp, completed},
			{paid, presale}, {presale, allocated},
			{created, cancelled}, {paid, cancelled}, {presale, cancelled}, {allocated, cancelled}, {picking, cancelled}, {ready, cancelled},
		},
		fulfilment.Instant:  delivery,
		fulfilment.Standard: delivery,
		fulfilment.POS:      {{created, paid}, {paid, completed}, {created, cancelled}, {paid, cancelled}},
	}
}

var modes = []fulfilment.Mode{fulfilment.Pickup, fulfilment.Instant, fulfilment.Standard, fulfilment.POS}

// Every pair of states of every mode: the legal ones move, every other
// one is refused.
func TestTransitions(t *testing.T) {
	t.Parallel()
	want := lifecycle()
	if len(orders.States) != 12 {
		t.Fatalf("States lists %d states; the schema has 12", len(orders.States))
	}
	for _, m := range modes {
		for _, from := range orders.States {
			for _, to := range orders.States {
				legal := slices.Contains(want[m], edge{from, to})
				t.Run(fmt.Sprintf("%s/%s→%s", m, from, to), func(t *testing.T) {
					if got := orders.CanMove(m, from, to); got != legal {
						t.Fatalf("CanMove = %v; want %v", got, legal)
					}
					if got := slices.Contains(orders.Next(m, from), to); got != legal {
						t.Fatalf("Next(%s, %s) = %v; contains %s = %v, want %v", m, from, orders.Next(m, from), to, got, legal)
					}
				})
			}
		}
	}
}

// The table's shape: finished orders never move; every state an order of
// a mode can reach leads on to completed or cancelled; Next names only
// known states, once each; an unknown mode has no moves.
func TestLifecycleShape(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		for _, end := range []orders.Status{orders.Completed, orders.Cancelled} {
			if n := orders.Next(m, end); len(n) != 0 {
				t.Errorf("%s: %s moves on to %v", m, end, n)
			}
		}
		reach := map[orders.Status]bool{orders.Created: true}
		for queue := []orders.Status{orders.Created}; len(queue) > 0; queue = queue[1:] {
			next := orders.Next(m, queue[0])
			seen := map[orders.Status]bool{}
			for _, s := range next {
				if !slices.Contains(orders.States, s) || seen[s] {
					t.Errorf("%s: Next(%s) = %v: unknown or repeated state", m, queue[0], next)
				}
				seen[s] = true
				if !reach[s] {
					reach[s] = true
					queue = append(queue, s)
				}
			}
		}
		if !reach[orders.Completed] || !reach[orders.Cancelled] {
			t.Errorf("%s: completed or cancelled unreachable from created: %v", m, reach)
		}
		for s := range reach {
			if s != orders.Completed && s != orders.Cancelled && len(orders.Next(m, s)) == 0 {
				t.Errorf("%s: %s is a dead end", m, s)
			}
		}
	}
	if orders.CanMove("drone", orders.Created, orders.Paid) || len(orders.Next("drone", orders.Created)) != 0 {
		t.Error("an unknown mode may move")
	}
}

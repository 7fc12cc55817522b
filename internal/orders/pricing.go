package orders

import (
	"context"
	"fmt"
	"slices"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Quote is an order being priced: the price pipeline's working state.
// Steps lower line prices through QuoteLine.Adjust and add order-level
// amounts through Quote.Adjust; Totals sums it up.
type Quote struct {
	Channel  network.Channel
	Mode     fulfilment.Mode
	Customer Customer
	// Coupons and Points are what the customer asked to redeem; the
	// members steps apply them (or refuse with a reason).
	Coupons []string
	Points  int64
	// FreeShipping, when set, names why delivery is free (a tier
	// privilege, a free-shipping coupon); the shipping step honours it.
	FreeShipping string
	// Promotion is CheckoutRequest.Promotion: set only by modules that
	// place orders themselves (group buy); their price step reads it.
	Promotion string
	Lines     []QuoteLine
	// Order holds order-level adjustments (shipping, order discounts).
	Order       []Adjustment
	Subtotal    int64
	Discount    int64
	ShippingFee int64
	Total       int64
}

// QuoteLine is one line being priced.
type QuoteLine struct {
	SKU         catalog.SKUFacts
	Qty         int64
	UnitPrice   int64
	Discount    int64 // over the whole line, ≥ 0
	Adjustments []Adjustment
}

// Amount is what the line costs now.
func (l *QuoteLine) Amount() int64 { return l.UnitPrice*l.Qty - l.Discount }

// Adjust lowers (amount < 0) the line's price; the line never goes below
// zero, so a larger reduction is cut to what is left.
func (l *QuoteLine) Adjust(step, code, desc string, amount int64) {
	if amount < 0 {
		amount = -min(-amount, l.Amount())
		l.Discount -= amount
	}
	l.Adjustments = append(l.Adjustments, Adjustment{Step: step, Code: code, Amount: amount, Description: desc})
}

// Adjust records an order-level amount (a fee > 0 or a discount < 0).
func (q *Quote) Adjust(step, code, desc string, amount int64) {
	q.Order = append(q.Order, Adjustment{Step: step, Code: code, Amount: amount, Description: desc})
}

// PriceStep is one step of the price pipeline.
type PriceStep interface {
	Name() string
	Apply(ctx context.Context, q *Quote) error
}

// Pipeline is the ordered price calculation. The default is
//
//	list_price → shipping → totals
//
// and other modules insert their steps before shipping (members: tier
// discount, then coupons, then points), so that discounts apply to goods
// and a free-shipping threshold sees the discounted amount. A step that
// waives delivery sets Quote.FreeShipping.
type Pipeline struct{ steps []PriceStep }

// DefaultPipeline returns list price, shipping and totals.
func DefaultPipeline(fees ShippingFees) *Pipeline {
	return &Pipeline{steps: []PriceStep{listPrice{}, fees, totals{}}}
}

// InsertBefore adds a step before the step named before (at the end
// before totals when no such step exists).
func (p *Pipeline) InsertBefore(before string, step PriceStep) {
	i := slices.IndexFunc(p.steps, func(s PriceStep) bool { return s.Name() == before })
	if i < 0 {
		i = len(p.steps) - 1
	}
	p.steps = slices.Insert(p.steps, i, step)
}

// Steps names the steps in order.
func (p *Pipeline) Steps() []string {
	out := make([]string, len(p.steps))
	for i, s := range p.steps {
		out[i] = s.Name()
	}
	return out
}

// Price runs the pipeline over q.
func (p *Pipeline) Price(ctx context.Context, q *Quote) error {
	for _, s := range p.steps {
		if err := s.Apply(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// listPrice sets each line's unit price from the catalog.
type listPrice struct{}

func (listPrice) Name() string { return "list_price" }

func (listPrice) Apply(_ context.Context, q *Quote) error {
	for i := range q.Lines {
		l := &q.Lines[i]
		if !l.SKU.Active {
			return errs.E(errs.Invalid, "sku_inactive", "lines[%d].sku: %s is not on sale", i, l.SKU.Code).With("field", fmt.Sprintf("lines[%d].sku", i))
		}
		l.UnitPrice = l.SKU.ListPrice
		l.Adjustments = append(l.Adjustments, Adjustment{Step: "list_price", Amount: l.UnitPrice * l.Qty,
			Description: fmt.Sprintf("%d × %d fen", l.Qty, l.UnitPrice)})
	}
	return nil
}

// ShippingFees is the shipping step: a fee per delivery mode, waived for
// standard delivery from a threshold of goods value.
type ShippingFees struct {
	Standard      int64 // fen
	FreeFrom      int64 // fen of goods after discounts; 0 = never free
	InstantFee    int64 // fen
	PickupAndPOS  int64 // fen, normally 0
	FreeShipLabel string
}

// DefaultFees are the demo retailer's fees: standard 10 CNY, free from
// 99 CNY; instant delivery 6 CNY; pickup and POS free.
var DefaultFees = ShippingFees{Standard: 1000, FreeFrom: 9900, InstantFee: 600}

// Name implements PriceStep.
func (ShippingFees) Name() string { return "shipping" }

// Apply implements PriceStep.
func (f ShippingFees) Apply(_ context.Context, q *Quote) error {
	var goods int64
	for i := range q.Lines {
		goods += q.Lines[i].Amount()
	}
	fee, desc := f.PickupAndPOS, "no delivery"
	switch q.Mode {
	case fulfilment.Standard:
		fee, desc = f.Standard, "standard delivery"
		if f.FreeFrom > 0 && goods >= f.FreeFrom {
			fee, desc = 0, fmt.Sprintf("free standard delivery from %d fen", f.FreeFrom)
		}
	case fulfilment.Instant:
		fee, desc = f.InstantFee, "instant delivery"
	}
	if fee > 0 && q.FreeShipping != "" {
		fee, desc = 0, "free delivery: "+q.FreeShipping
	}
	q.ShippingFee = fee
	q.Adjust("shipping", "", desc, fee)
	return nil
}

// totals sums the quote and checks its invariants.
type totals struct{}

func (totals) Name() string { return "totals" }

func (totals) Apply(_ context.Context, q *Quote) error {
	q.Subtotal, q.Discount = 0, 0
	for i := range q.Lines {
		l := &q.Lines[i]
		if l.Discount < 0 || l.Discount > l.UnitPrice*l.Qty {
			return fmt.Errorf("orders: pricing: line %d discount %d outside 0..%d", i+1, l.Discount, l.UnitPrice*l.Qty)
		}
		q.Subtotal += l.UnitPrice * l.Qty
		q.Discount += l.Discount
	}
	for _, a := range q.Order {
		if a.Step != "shipping" && a.Amount < 0 {
			q.Discount -= a.Amount
		}
	}
	q.Total = q.Subtotal - q.Discount + q.ShippingFee
	if q.Total < 0 {
		return fmt.Errorf("orders: pricing: negative total %d", q.Total)
	}
	return nil
}

package orders

import (
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Status is the state of an order.
type Status string

// The order states.
const (
	Created          Status = "created"
	Paid             Status = "paid"
	PresaleWait      Status = "presale" // paid, waiting for the presale's stock
	Allocated        Status = "allocated"
	Picking          Status = "picking"
	ReadyForPickup   Status = "ready_for_pickup"
	PartiallyShipped Status = "partially_shipped"
	Shipped          Status = "shipped"
	PickedUp         Status = "picked_up"
	Delivered        Status = "delivered"
	Completed        Status = "completed"
	Cancelled        Status = "cancelled"
)

// Customer is who orders: a member, or a guest known by a mobile number.
type Customer struct {
	MemberID *int64 `json:"member_id,omitempty" description:"a member's id (members module)"`
	Mobile   string `json:"mobile,omitempty" description:"mainland mobile number, 11 digits starting with 1[3-9]; required for guests"`
	Name     string `json:"name,omitempty"`
}

// Address is a delivery address. Instant delivery needs its coordinates.
type Address struct {
	Province string   `json:"province,omitempty"`
	City     string   `json:"city,omitempty"`
	Address  string   `json:"address" required:"true"`
	Lat      *float64 `json:"lat,omitempty"`
	Lng      *float64 `json:"lng,omitempty"`
}

// LineRequest is one SKU of a checkout. Prices come from the catalog.
type LineRequest struct {
	SKU string `json:"sku" required:"true"`
	Qty int64  `json:"qty" required:"true" minimum:"1" maximum:"999"`
}

// CheckoutRequest places an order.
type CheckoutRequest struct {
	Channel  string          `json:"channel" required:"true"`
	Mode     fulfilment.Mode `json:"mode" required:"true" enum:"pickup,instant,standard,pos"`
	Store    string          `json:"store,omitempty" description:"pickup and pos: the store"`
	Customer Customer        `json:"customer"`
	Address  *Address        `json:"address,omitempty" description:"instant and standard: where to deliver"`
	Lines    []LineRequest   `json:"lines" required:"true" minItems:"1" maxItems:"50"`
	Note     string          `json:"note,omitempty"`
	Redeem
	// Promotion names a promotion the order is placed under (e.g. a group
	// buy) when another module places it; clients cannot set it.
	Promotion string `json:"-"`
}

// Redeem is what a member redeems at checkout: coupons (by code) and
// points as part payment. Both need a member.
type Redeem struct {
	Coupons []string `json:"coupons,omitempty" maxItems:"5" description:"codes of the member's coupons to apply"`
	Points  int64    `json:"points,omitempty" minimum:"0" description:"points to spend as part payment (capped per order)"`
}

// Adjustment is one price-pipeline step's change to a line or the order.
type Adjustment struct {
	Step        string `json:"step" description:"the pipeline step, e.g. list_price, shipping"`
	Code        string `json:"code,omitempty" description:"the rule, coupon or promotion applied"`
	Amount      int64  `json:"amount" description:"fen; negative lowers the price"`
	Description string `json:"description,omitempty"`
}

// Line is one SKU of an order.
type Line struct {
	Line        int          `json:"line"`
	SKU         string       `json:"sku"`
	Style       string       `json:"style"`
	Qty         int64        `json:"qty"`
	UnitPrice   int64        `json:"unit_price" description:"fen, the catalog's list price at checkout"`
	Discount    int64        `json:"discount" description:"fen, over the whole line"`
	Amount      int64        `json:"amount" description:"fen, unit_price × qty − discount"`
	Location    string       `json:"location,omitempty" description:"where the line is fulfilled from (empty while a presale waits)"`
	Held        int64        `json:"held"`
	Shipped     int64        `json:"shipped"`
	Returned    int64        `json:"returned"`
	Adjustments []Adjustment `json:"adjustments"`
}

// Order is an order with its lines.
type Order struct {
	ID           int64                `json:"id"`
	Number       string               `json:"number"`
	Channel      string               `json:"channel"`
	Mode         fulfilment.Mode      `json:"mode"`
	Status       Status               `json:"status"`
	Customer     Customer             `json:"customer"`
	Store        string               `json:"store,omitempty"`
	Address      *Address             `json:"address,omitempty"`
	Region       string               `json:"region,omitempty"`
	Presale      *int64               `json:"presale,omitempty"`
	ExchangeOf   *int64               `json:"exchange_of,omitempty"`
	Subtotal     int64                `json:"subtotal"`
	Discount     int64                `json:"discount"`
	ShippingFee  int64                `json:"shipping_fee"`
	Total        int64                `json:"total"`
	Paid         int64                `json:"paid"`
	Refunded     int64                `json:"refunded"`
	PickupCode   string               `json:"pickup_code,omitempty" description:"核销码: shown to the customer, checked at hand-over"`
	Pricing      []Adjustment         `json:"pricing" description:"order-level adjustments"`
	Routing      *fulfilment.Decision `json:"routing,omitempty"`
	PromisedAt   *time.Time           `json:"promised_at,omitempty"`
	ExpiresAt    *time.Time           `json:"expires_at,omitempty"`
	Note         string               `json:"note,omitempty"`
	CreatedAt    time.Time            `json:"created_at"`
	PaidAt       *time.Time           `json:"paid_at,omitempty"`
	CompletedAt  *time.Time           `json:"completed_at,omitempty"`
	CancelledAt  *time.Time           `json:"cancelled_at,omitempty"`
	UpdatedAt    time.Time            `json:"updated_at"`
	Lines        []Line               `json:"lines"`
	Payments     []Payment            `json:"payments,omitempty"`
	Refunds      []Refund             `json:"refunds,omitempty"`
	Shipments    []Shipment           `json:"shipments,omitempty"`
	History      []Change             `json:"history,omitempty"`
	AvailableFor []Status             `json:"next" description:"the states this order may move to"`
}

// Change is one status change of an order.
type Change struct {
	From  Status    `json:"from"`
	To    Status    `json:"to"`
	Note  string    `json:"note,omitempty"`
	Actor string    `json:"actor,omitempty"`
	At    time.Time `json:"at"`
}

// PaymentStatus is the state of a payment.
type PaymentStatus string

// The payment states.
const (
	PaymentPending  PaymentStatus = "pending"
	PaymentCaptured PaymentStatus = "captured"
	PaymentFailed   PaymentStatus = "failed"
)

// Payment is one tender of an order.
type Payment struct {
	ID          int64         `json:"id"`
	Provider    string        `json:"provider"`
	Method      string        `json:"method,omitempty"`
	Amount      int64         `json:"amount"`
	Refunded    int64         `json:"refunded"`
	Status      PaymentStatus `json:"status"`
	OutTradeNo  string        `json:"out_trade_no"`
	ProviderRef string        `json:"provider_ref,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	CapturedAt  *time.Time    `json:"captured_at,omitempty"`
}

// PaymentResult answers a payment: the tender recorded and the state it
// left the order in. The whole order is GET /api/v1/orders/{id}.
type PaymentResult struct {
	Payment Payment    `json:"payment"`
	Order   OrderState `json:"order"`
}

// OrderState is an order's status and money after a change.
type OrderState struct {
	ID           int64      `json:"id"`
	Number       string     `json:"number"`
	Status       Status     `json:"status"`
	Total        int64      `json:"total"`
	Paid         int64      `json:"paid"`
	Due          int64      `json:"due" description:"fen still to pay"`
	PaidAt       *time.Time `json:"paid_at,omitempty"`
	AvailableFor []Status   `json:"next" description:"the states this order may move to"`
}

// of completes st for order id of mode m.
func (st OrderState) of(id int64, m fulfilment.Mode) OrderState {
	st.ID, st.Number, st.Due, st.AvailableFor = id, number(id), max(0, st.Total-st.Paid), Next(m, st.Status)
	return st
}

// PayRequest pays (part of) an order.
type PayRequest struct {
	Provider string `json:"provider" required:"true" enum:"offline,test,wechat,alipay"`
	Method   string `json:"method,omitempty" description:"offline: cash or card; wechat/alipay: jsapi, native, app, h5"`
	Amount   int64  `json:"amount,omitempty" description:"fen; default: what is still due. Less than due is a split tender"`
}

// Refund is money given back on a payment.
type Refund struct {
	ID          int64     `json:"id"`
	Payment     int64     `json:"payment"`
	AfterSale   *int64    `json:"after_sale,omitempty"`
	Amount      int64     `json:"amount"`
	Reason      string    `json:"reason,omitempty"`
	Status      string    `json:"status" enum:"pending,succeeded,failed"`
	OutRefundNo string    `json:"out_refund_no"`
	CreatedAt   time.Time `json:"created_at"`
}

// RefundRequest refunds part or all of what was paid, to the original
// tenders (the latest payment first).
type RefundRequest struct {
	Amount int64  `json:"amount" required:"true" minimum:"1" description:"fen"`
	Reason string `json:"reason" required:"true"`
}

// CancelRequest says why an order is cancelled.
type CancelRequest struct {
	Reason string `json:"reason,omitempty"`
}

// PickupRequest hands a pickup order over against its code.
type PickupRequest struct {
	Code string `json:"code" required:"true" description:"the customer's 6-digit pickup code (核销码)"`
}

// Errors of orders.
var (
	ErrNotFound       = errs.New(errs.NotFound, "order_not_found", "no such order")
	ErrState          = errs.New(errs.Conflict, "illegal_transition", "the order cannot make this change in its current state")
	ErrPickupCode     = errs.New(errs.Invalid, "wrong_pickup_code", "the pickup code does not match")
	ErrOverpay        = errs.New(errs.Invalid, "amount_above_due", "the amount is more than the order still owes")
	ErrRefundTooLarge = errs.New(errs.Invalid, "refund_above_paid", "the refund is more than was paid and not yet refunded")
	ErrPaymentNF      = errs.New(errs.NotFound, "payment_not_found", "no such payment")
	ErrMemberNF       = errs.New(errs.NotFound, "member_not_found", "no such member")
	ErrPresaleCap     = errs.New(errs.Conflict, "presale_sold_out", "the presale's cap is reached")
)

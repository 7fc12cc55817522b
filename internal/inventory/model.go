package inventory

import (
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Level is the stock of one SKU at one location.
type Level struct {
	SKU          string    `json:"sku"`
	Location     string    `json:"location"`
	OnHand       int64     `json:"on_hand"`
	Reserved     int64     `json:"reserved"`
	InTransit    int64     `json:"in_transit"`
	SafetyStock  int64     `json:"safety_stock"`
	Available    int64     `json:"available"`
	LowThreshold int64     `json:"low_threshold"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// MovementKind names why a level changed.
type MovementKind string

// The movement kinds.
const (
	Receipt     MovementKind = "receipt"      // goods in: on_hand +
	Sale        MovementKind = "sale"         // goods out to a customer: on_hand − (and reserved − when confirmed)
	Return      MovementKind = "return"       // goods back from a customer: on_hand +
	TransferOut MovementKind = "transfer_out" // shipped to another location: on_hand −, reserved −
	TransferIn  MovementKind = "transfer_in"  // received from another location: on_hand +, in_transit −
	Transit     MovementKind = "transit"      // shipped towards this location: in_transit +
	Adjustment  MovementKind = "adjustment"   // correction with a reason: on_hand ± (or in_transit − for a transfer shortfall)
	CountKind   MovementKind = "count"        // stock count difference: on_hand ±
	Reserve     MovementKind = "reserve"      // held for an order or transfer: reserved +
	Release     MovementKind = "release"      // hold given back: reserved −
)

// Movement is one append-only ledger entry.
type Movement struct {
	ID             int64        `json:"id"`
	SKU            string       `json:"sku"`
	Location       string       `json:"location"`
	Kind           MovementKind `json:"kind"`
	OnHandDelta    int64        `json:"on_hand_delta"`
	ReservedDelta  int64        `json:"reserved_delta"`
	InTransitDelta int64        `json:"in_transit_delta"`
	Reason         string       `json:"reason,omitempty"`
	RefType        string       `json:"ref_type,omitempty"`
	RefID          string       `json:"ref_id,omitempty"`
	Actor          string       `json:"actor,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
}

// PostRequest posts goods movements at one location: receipts, returns,
// direct sales (e.g. at the till without a reservation) and adjustments.
type PostRequest struct {
	Kind      MovementKind `json:"kind" enum:"receipt,return,sale,adjustment" required:"true"`
	Location  string       `json:"location" required:"true"`
	Reason    string       `json:"reason,omitempty" description:"required for adjustments"`
	Reference string       `json:"reference,omitempty" description:"the document behind the movement, e.g. an ASN or order number"`
	Lines     []PostLine   `json:"lines" required:"true" minItems:"1" maxItems:"1000"`
}

// PostLine is one SKU of a PostRequest. Qty is positive, except that an
// adjustment may be negative.
type PostLine struct {
	SKU string `json:"sku" required:"true"`
	Qty int64  `json:"qty" required:"true"`
}

// PostResult lists the levels after a post.
type PostResult struct {
	Levels []Level `json:"levels"`
}

// ReserveRequest holds stock for a channel.
type ReserveRequest struct {
	Channel    string        `json:"channel" required:"true"`
	Reference  string        `json:"reference,omitempty" description:"the caller's order or cart id"`
	TTLSeconds int64         `json:"ttl_seconds,omitempty" description:"hold duration; default from the server's configuration (15 minutes)"`
	Lines      []ReserveLine `json:"lines" required:"true" minItems:"1" maxItems:"100"`
}

// ReserveLine is one SKU at one location of a reservation.
type ReserveLine struct {
	SKU      string `json:"sku" required:"true"`
	Location string `json:"location" required:"true"`
	Qty      int64  `json:"qty" required:"true" minimum:"1" maximum:"100000"`
}

// ReservationStatus is the state of a reservation.
type ReservationStatus string

// The reservation states.
const (
	Active    ReservationStatus = "active"
	Confirmed ReservationStatus = "confirmed"
	Released  ReservationStatus = "released"
	Expired   ReservationStatus = "expired"
)

// Reservation is a hold on stock.
type Reservation struct {
	ID        int64             `json:"id"`
	Channel   string            `json:"channel"`
	Reference string            `json:"reference,omitempty"`
	Status    ReservationStatus `json:"status"`
	ExpiresAt time.Time         `json:"expires_at"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Lines     []ReserveLine     `json:"lines"`
}

// ReleaseRequest says why a reservation is given back.
type ReleaseRequest struct {
	Reason string `json:"reason,omitempty"`
}

// SettingsRequest changes the per-level settings; omitted fields stay.
type SettingsRequest struct {
	SafetyStock  *int64 `json:"safety_stock,omitempty" minimum:"0"`
	LowThreshold *int64 `json:"low_threshold,omitempty" minimum:"0" description:"raise a low-stock alert when available falls to this or below; 0 = off"`
}

// TransferStatus is the state of a transfer.
type TransferStatus string

// The transfer states.
const (
	Requested        TransferStatus = "requested"
	Shipped          TransferStatus = "shipped"
	Received         TransferStatus = "received"
	TransferCanceled TransferStatus = "cancelled"
)

// TransferRequest asks to move stock between locations (调拨).
type TransferRequest struct {
	From   string         `json:"from" required:"true"`
	To     string         `json:"to" required:"true"`
	Reason string         `json:"reason,omitempty"`
	Lines  []TransferLine `json:"lines" required:"true" minItems:"1" maxItems:"1000"`
}

// TransferLine is one SKU of a transfer.
type TransferLine struct {
	SKU         string `json:"sku" required:"true"`
	Qty         int64  `json:"qty" required:"true" minimum:"1"`
	ReceivedQty int64  `json:"received_qty"`
}

// Transfer is a movement of stock between two locations.
type Transfer struct {
	ID          int64          `json:"id"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	Status      TransferStatus `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	RequestedBy string         `json:"requested_by,omitempty"`
	Lines       []TransferLine `json:"lines"`
	CreatedAt   time.Time      `json:"created_at"`
	ShippedAt   *time.Time     `json:"shipped_at,omitempty"`
	ReceivedAt  *time.Time     `json:"received_at,omitempty"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// ReceiveRequest records what arrived; lines omitted arrived in full.
type ReceiveRequest struct {
	Lines []ReceiveLine `json:"lines,omitempty"`
}

// ReceiveLine is the quantity of a SKU that arrived.
type ReceiveLine struct {
	SKU         string `json:"sku" required:"true"`
	ReceivedQty int64  `json:"received_qty" minimum:"0"`
}

// CountRequest posts a stock count (盘点) at a location.
type CountRequest struct {
	Location string      `json:"location" required:"true"`
	Note     string      `json:"note,omitempty"`
	Lines    []CountLine `json:"lines" required:"true" minItems:"1" maxItems:"5000"`
}

// CountLine is the counted quantity of one SKU.
type CountLine struct {
	SKU     string `json:"sku" required:"true"`
	Counted int64  `json:"counted" minimum:"0"`
}

// CountResult is a posted count with its differences.
type CountResult struct {
	ID        int64             `json:"id"`
	Location  string            `json:"location"`
	Note      string            `json:"note,omitempty"`
	CountedBy string            `json:"counted_by,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	Lines     []CountResultLine `json:"lines"`
}

// CountResultLine is one SKU of a posted count.
type CountResultLine struct {
	SKU        string `json:"sku"`
	Expected   int64  `json:"expected"`
	Counted    int64  `json:"counted"`
	Difference int64  `json:"difference"`
}

// Alert is a low-stock warning for a SKU at a location.
type Alert struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	SKU       string    `json:"sku"`
	Location  string    `json:"location"`
	Available int64     `json:"available"`
	Threshold int64     `json:"threshold"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Errors of the inventory module.
var (
	ErrInsufficientStock = errs.New(errs.Conflict, "insufficient_stock", "not enough stock available")
	ErrShareExceeded     = errs.New(errs.Conflict, "channel_share_exceeded", "the channel's share of this style is used up")
	ErrNotInChannel      = errs.New(errs.Invalid, "location_not_in_channel", "the location does not serve this channel")
	ErrReservationState  = errs.New(errs.Conflict, "reservation_not_active", "the reservation is no longer active")
	ErrTransferState     = errs.New(errs.Conflict, "transfer_state", "the transfer is not in a state that allows this")
	ErrCountBelowHeld    = errs.New(errs.Conflict, "count_below_reserved", "the counted quantity is below the reserved quantity")
	ErrReservationNF     = errs.New(errs.NotFound, "reservation_not_found", "no such reservation")
	ErrTransferNF        = errs.New(errs.NotFound, "transfer_not_found", "no such transfer")
	ErrAlertNF           = errs.New(errs.NotFound, "alert_not_found", "no such alert")
)

// MaxQty bounds one line's quantity: anything larger is a typo, not stock.
const MaxQty = 1_000_000

package events

import (
	"encoding/json"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Event is one entry of the outbox, as listed, streamed and delivered.
type Event struct {
	ID        int64           `json:"id"`
	Topic     string          `json:"topic"`
	Subject   string          `json:"subject"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

// Webhook is a subscription of a URL to topic patterns, as listed (never with
// its secret).
type Webhook struct {
	ID     int64    `json:"id"`
	URL    string   `json:"url"`
	Topics []string `json:"topics"`
	Active bool     `json:"active"`
	// Cursor is the id of the last event fanned out to this webhook.
	Cursor    int64     `json:"cursor"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreatedWebhook is a new webhook with its signing secret, shown only in the
// answer that created it.
type CreatedWebhook struct {
	Webhook
	Secret string `json:"secret"`
}

// NewWebhook is a request to subscribe a URL.
type NewWebhook struct {
	URL    string   `json:"url" description:"absolute http or https URL" example:"https://shop.example.com/omni/hooks"`
	Topics []string `json:"topics" description:"1 to 20 patterns: \"*\", a prefix such as \"inventory.*\", or an exact topic" example:"[\"inventory.*\"]"`
	// Secret signs the deliveries; when empty, 32 random bytes in hex are
	// generated.
	Secret string `json:"secret,omitempty" description:"16 to 256 printable ASCII characters; generated when empty"`
	// FromEventID makes the webhook start with this event (replaying the
	// outbox from there); without it the webhook receives only events
	// appended after its creation.
	FromEventID *int64 `json:"from_event_id,omitempty" description:"first event id to deliver (0 or 1: the whole outbox); default: only new events"`
}

// WebhookPatch changes a webhook; absent fields are left as they are.
type WebhookPatch struct {
	URL    *string  `json:"url,omitempty"`
	Topics []string `json:"topics,omitempty"`
	// Active pauses (false) or resumes (true) deliveries. A resumed webhook
	// catches up on the events appended while it was paused.
	Active *bool `json:"active,omitempty"`
}

// DeliveryStatus is the state of a delivery.
type DeliveryStatus string

// The delivery states: pending (waiting for its first or next attempt),
// delivered (a 2xx answer) and failed (MaxAttempts attempts failed).
const (
	Pending   DeliveryStatus = "pending"
	Delivered DeliveryStatus = "delivered"
	Failed    DeliveryStatus = "failed"
)

// Delivery is one event to be posted to one webhook.
type Delivery struct {
	ID        int64          `json:"id"`
	WebhookID int64          `json:"webhook_id"`
	EventID   int64          `json:"event_id"`
	Topic     string         `json:"topic"`
	Status    DeliveryStatus `json:"status"`
	Attempts  int            `json:"attempts"`
	// NextAttemptAt is set while the delivery is pending.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// LastStatus is the HTTP status of the last attempt (0: no answer).
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// Refusals of the events module.
var (
	ErrWebhookNotFound  = errs.New(errs.NotFound, "webhook_not_found", "no such webhook")
	ErrDeliveryNotFound = errs.New(errs.NotFound, "delivery_not_found", "no such delivery")
	ErrDeliveryPending  = errs.New(errs.Conflict, "delivery_pending", "the delivery is still pending; only a failed or delivered one can be sent again")
)

// EventListParams are the query parameters of GET /api/v1/events.
type EventListParams struct {
	After  int64    `query:"after" minimum:"0" description:"only events with a greater id"`
	Cursor string   `query:"cursor" description:"next_cursor of the previous page (same as after)"`
	Topic  []string `query:"topic" description:"topic patterns (repeat or comma-separate): *, inventory.*, or an exact topic"`
	Limit  int      `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

// StreamParams are the parameters of GET /api/v1/events/stream.
type StreamParams struct {
	Topic       []string `query:"topic" description:"topic patterns (repeat or comma-separate); default every topic"`
	After       int64    `query:"after" minimum:"0" description:"resume after this event id; default: the current end of the outbox"`
	LastEventID string   `header:"Last-Event-ID" description:"resume after this event id (sent by EventSource on reconnect)"`
}

// WebhookPath names a webhook.
type WebhookPath struct {
	ID int64 `path:"id" required:"true"`
}

// DeliveryListParams are the parameters of GET /api/v1/webhooks/{id}/deliveries.
type DeliveryListParams struct {
	ID     int64  `path:"id" required:"true"`
	Status string `query:"status" enum:"pending,delivered,failed"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor string `query:"cursor" description:"next_cursor of the previous page"`
}

// DeliveryPath names a delivery.
type DeliveryPath struct {
	ID int64 `path:"id" required:"true"`
}

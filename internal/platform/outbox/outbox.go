// Package outbox records domain events in the same transaction as the change
// they describe (the transactional outbox), so that no committed change goes
// unannounced and no announced change is rolled back. Delivery to webhooks
// and the event stream is the events module's job; this package only
// appends and wakes the readers of this process.
package outbox

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
)

// Outbox appends events and signals new ones.
type Outbox struct {
	now  func() time.Time
	mu   sync.Mutex
	wake chan struct{}
}

// New returns an outbox using now for event times.
func New(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{now: now, wake: make(chan struct{})}
}

// Append records an event of topic (e.g. "inventory.level_changed") about
// subject (e.g. "SKU-1@SH01") in tx. The payload is stored as JSON. The row
// is appended (db.Tx.Append): it commits with the transaction, but no query
// of the transaction sees it.
func (o *Outbox) Append(tx *db.Tx, topic, subject string, payload any) error {
	return o.AppendAll(tx, []Event{{Topic: topic, Subject: subject, Payload: payload}})
}

// eventRow is the Append target of events.
const eventRow = "events (topic, subject, payload, created_at)"

// Wait returns a channel that is closed when an event is next committed by
// this process. Readers also poll, for events written by other instances.
func (o *Outbox) Wait() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.wake
}

func (o *Outbox) signal() {
	o.mu.Lock()
	close(o.wake)
	o.wake = make(chan struct{})
	o.mu.Unlock()
}

// Event is one event for AppendAll.
type Event struct {
	Topic, Subject string
	Payload        any
}

// AppendAll records several events in tx (in order), like Append for each.
func (o *Outbox) AppendAll(tx *db.Tx, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	at := o.now().UnixMilli()
	vals := make([]any, 0, 4*len(evs))
	for _, e := range evs {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return fmt.Errorf("outbox: encode %s: %w", e.Topic, err)
		}
		vals = append(vals, e.Topic, e.Subject, string(b), at)
	}
	if err := tx.Append(eventRow, vals...); err != nil {
		return fmt.Errorf("outbox: append %d events: %w", len(evs), err)
	}
	tx.AfterCommit(o.signal)
	return nil
}

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
// is written as a deferred statement (db.Tx.Defer): it commits with the
// transaction, but a query later in the same closure does not see it.
func (o *Outbox) Append(tx *db.Tx, topic, subject string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("outbox: encode %s: %w", topic, err)
	}
	if err := tx.Defer(`INSERT INTO events (topic, subject, payload, created_at) VALUES (?, ?, ?, ?)`,
		topic, subject, string(b), o.now().UnixMilli()); err != nil {
		return fmt.Errorf("outbox: append %s: %w", topic, err)
	}
	tx.AfterCommit(o.signal)
	return nil
}

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

// AppendAll records several events in tx with one statement (in order),
// like Append for each.
func (o *Outbox) AppendAll(tx *db.Tx, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	at := o.now().UnixMilli()
	q := make([]byte, 0, 80+len(evs)*16)
	q = append(q, "INSERT INTO events (topic, subject, payload, created_at) VALUES "...)
	args := make([]any, 0, 4*len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return fmt.Errorf("outbox: encode %s: %w", e.Topic, err)
		}
		if i > 0 {
			q = append(q, ", "...)
		}
		q = append(q, "(?, ?, ?, ?)"...)
		args = append(args, e.Topic, e.Subject, string(b), at)
	}
	if err := tx.Defer(string(q), args...); err != nil {
		return fmt.Errorf("outbox: append %d events: %w", len(evs), err)
	}
	tx.AfterCommit(o.signal)
	return nil
}

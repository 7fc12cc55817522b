package events

import (
	"context"
	"fmt"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
)

// Gap handling defaults (see the package comment).
const (
	// gapGrace is how long a missing id is waited for before it may be
	// stepped over (on PostgreSQL also only once the transactions running
	// when it was first seen have ended).
	gapGrace = 10 * time.Second
	// gapMaxWait steps over a missing id whatever the transaction horizon
	// says: longer than the store's own transaction bound (60 s), so only a
	// foreign transaction left open can lose its events to a reader.
	gapMaxWait = 2 * time.Minute
)

// observation is what a reader knew when it read the outbox.
type observation struct {
	at time.Time
	// xmin and xmax are the bounds of the PostgreSQL snapshot the read ran
	// under (pg_current_snapshot); 0 when unknown (SQLite).
	xmin, xmax int64
}

// mark records that ids up to upTo had been seen at a time, by a read whose
// snapshot had xmax: every id ≤ upTo still missing had been allocated by then.
type mark struct {
	upTo int64
	at   time.Time
	xmax int64
}

// gapTracker decides how far a reader may advance its cursor over ids read
// in ascending order. It is the pure heart of tail, kept apart for tests.
// It is not safe for concurrent use; each reader has its own.
type gapTracker struct {
	grace, maxWait time.Duration
	marks          []mark // ascending in upTo and at
}

// advance returns how many of ids (ascending, all > cursor) may be consumed
// now: a prefix that stops before the first gap still young enough to be
// filled by a transaction that has not committed yet.
func (g *gapTracker) advance(cursor int64, ids []int64, o observation) int {
	i := 0
	for i < len(g.marks) && g.marks[i].upTo <= cursor {
		i++
	}
	g.marks = g.marks[i:]
	if len(ids) == 0 {
		return 0
	}
	g.observe(ids[len(ids)-1], o)
	next, n := cursor+1, 0
	for _, id := range ids {
		if id > next && !g.abandoned(id-1, o) {
			break
		}
		n++
		next = id + 1
	}
	return n
}

// observe records that ids up to upTo are known at o. Observations closer
// together than an eighth of the grace period share a mark (which makes the
// later ids look older by less than that), so a stalled reader keeps only a
// few dozen marks.
func (g *gapTracker) observe(upTo int64, o observation) {
	if k := len(g.marks); k > 0 {
		last := &g.marks[k-1]
		if upTo <= last.upTo {
			return
		}
		if o.at.Sub(last.at) < g.grace/8 {
			last.upTo = upTo
			last.xmax = max(last.xmax, o.xmax)
			return
		}
	}
	g.marks = append(g.marks, mark{upTo: upTo, at: o.at, xmax: o.xmax})
}

// abandoned reports whether every missing id up to m may be given up: it
// has been missing for the grace period and every transaction that could
// still insert it has ended, or it has been missing for maxWait.
func (g *gapTracker) abandoned(m int64, o observation) bool {
	for _, k := range g.marks {
		if k.upTo <= m {
			continue
		}
		// k is the first observation of an id above m: m was missing since.
		age := o.at.Sub(k.at)
		if g.maxWait > 0 && age >= g.maxWait {
			return true
		}
		return age >= g.grace && (k.xmax == 0 || o.xmin >= k.xmax)
	}
	return false
}

// tail reads the outbox after a cursor, in id order, without stepping over
// an id that may still commit. Both the webhook fan-out and the event stream
// read through a tail.
type tail struct {
	d   *db.DB
	gap gapTracker
	now func() time.Time
}

func newTail(d *db.DB, now func() time.Time, grace, maxWait time.Duration) *tail {
	if d.Engine != db.Postgres {
		// One writer: ids become visible in order, so a gap never fills.
		grace, maxWait = 0, 0
	}
	return &tail{d: d, now: now, gap: gapTracker{grace: grace, maxWait: maxWait}}
}

// snapshotCols reads the bounds of the statement's own snapshot, so that
// they describe exactly what the rows beside them could see.
const snapshotCols = `, CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT),
	CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT)`

// read returns up to limit events after cursor that may be consumed now (with
// their subject, payload and time only when body is set), and the cursor to
// continue from. more reports that the read was full and wholly consumed, so
// more events may be waiting right away.
func (t *tail) read(ctx context.Context, cursor int64, limit int, body bool) (evs []Event, next int64, more bool, err error) {
	q := `SELECT id, topic`
	if body {
		q += `, subject, payload, created_at`
	}
	pg := t.d.Engine == db.Postgres
	if pg {
		q += snapshotCols
	}
	q += ` FROM events WHERE id > ? ORDER BY id LIMIT ?`
	rows, err := t.d.Query(ctx, q, cursor, limit)
	if err != nil {
		return nil, cursor, false, fmt.Errorf("events: read outbox: %w", err)
	}
	defer rows.Close()
	o := observation{}
	var ids []int64
	for rows.Next() {
		var e Event
		var payload string
		var created int64
		dest := []any{&e.ID, &e.Topic}
		if body {
			dest = append(dest, &e.Subject, &payload, &created)
		}
		if pg {
			dest = append(dest, &o.xmin, &o.xmax)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, cursor, false, fmt.Errorf("events: read outbox: %w", err)
		}
		if body {
			e.Payload = []byte(payload)
			e.CreatedAt = time.UnixMilli(created).UTC()
		}
		evs = append(evs, e)
		ids = append(ids, e.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, cursor, false, fmt.Errorf("events: read outbox: %w", err)
	}
	o.at = t.now()
	n := t.gap.advance(cursor, ids, o)
	if n > 0 {
		cursor = ids[n-1]
	}
	return evs[:n], cursor, n == len(ids) && len(ids) == limit, nil
}

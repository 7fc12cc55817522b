package events

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

func TestGapTrackerAdvance(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		ids        []int64
		after      time.Duration // since t0
		xmin, xmax int64
		want       int // ids consumed
	}
	cases := []struct {
		name           string
		grace, maxWait time.Duration
		cursor         int64
		steps          []step
	}{
		{"contiguous run is consumed whole", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 2, 3}, want: 3},
			{ids: []int64{4}, after: time.Second, want: 1},
		}},
		{"young gap stops the reader before it", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 2, 4, 5}, want: 2},
			{ids: []int64{4, 5}, after: 9 * time.Second, want: 0},
		}},
		{"late commit fills the gap in order", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, want: 1},
			{ids: []int64{2, 3}, after: 2 * time.Second, want: 2},
		}},
		{"gap at the cursor blocks everything", 10 * time.Second, time.Minute, 5, []step{
			{ids: []int64{7, 8}, want: 0},
		}},
		{"gap older than the grace period is stepped over (no horizon known)", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, want: 1},
			{ids: []int64{3}, after: 10 * time.Second, want: 1},
		}},
		{"no grace (SQLite): gaps are permanent at once", 0, 0, 0, []step{
			{ids: []int64{2, 5, 9}, want: 3},
		}},
		{"horizon: old gap waits while its writer may still run", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, xmin: 90, xmax: 100, want: 1},
			{ids: []int64{3}, after: 20 * time.Second, xmin: 99, xmax: 120, want: 0},
			{ids: []int64{3}, after: 21 * time.Second, xmin: 100, xmax: 120, want: 1},
		}},
		{"horizon passed but gap still young: wait for the grace period", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, xmin: 90, xmax: 100, want: 1},
			{ids: []int64{3}, after: 5 * time.Second, xmin: 150, xmax: 150, want: 0},
			{ids: []int64{3}, after: 10 * time.Second, xmin: 150, xmax: 150, want: 1},
		}},
		{"max wait steps over a gap held by a transaction left open", 10 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, xmin: 90, xmax: 100, want: 1},
			{ids: []int64{3}, after: 59 * time.Second, xmin: 95, xmax: 130, want: 0},
			{ids: []int64{3}, after: 60 * time.Second, xmin: 95, xmax: 130, want: 1},
		}},
		{"each gap is timed from when an id above it was first seen", 8 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, want: 1},
			{ids: []int64{3, 5}, after: 2 * time.Second, want: 0},                // gap 2 seen at 0 s, gap 4 at 2 s
			{ids: []int64{3, 5}, after: 8 * time.Second, want: 1},                // 2 is 8 s old, 4 only 6 s
			{ids: []int64{5, 6}, after: 10 * time.Second, want: 2},               // now 4 is 8 s old too
			{ids: []int64{7}, after: 10*time.Second + time.Millisecond, want: 1}, // contiguous again
		}},
		{"observations within an eighth of the grace period share a mark", 8 * time.Second, time.Minute, 0, []step{
			{ids: []int64{1, 3}, want: 1},
			{ids: []int64{3, 5}, after: 500 * time.Millisecond, want: 0},
			{ids: []int64{3, 5}, after: 8 * time.Second, want: 2}, // 4 counts as seen at 0 s
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := gapTracker{grace: tc.grace, maxWait: tc.maxWait}
			cursor := tc.cursor
			for i, st := range tc.steps {
				n := g.advance(cursor, st.ids, observation{at: t0.Add(st.after), xmin: st.xmin, xmax: st.xmax})
				if n != st.want {
					t.Fatalf("step %d: advance(%d, %v) consumed %d, want %d", i, cursor, st.ids, n, st.want)
				}
				if n > 0 {
					cursor = st.ids[n-1]
				}
			}
		})
	}
}

func TestGapTrackerPrunesMarks(t *testing.T) {
	t.Parallel()
	g := gapTracker{grace: 8 * time.Second, maxWait: time.Minute}
	t0 := time.Unix(0, 0)
	cursor := int64(0)
	for i := range 1000 {
		id := int64(i + 1)
		n := g.advance(cursor, []int64{id}, observation{at: t0.Add(time.Duration(i) * time.Second)})
		if n != 1 {
			t.Fatalf("contiguous id %d not consumed", id)
		}
		cursor = id
	}
	if len(g.marks) > 1 {
		t.Fatalf("a reader that keeps up holds %d marks, want at most 1", len(g.marks))
	}
}

// TestTailPostgresOutOfOrderCommits commits ids out of order with two real
// transactions and checks that the tail neither skips the late one nor
// stalls for good on a rolled-back one.
func TestTailPostgresOutOfOrderCommits(t *testing.T) {
	t.Parallel()
	u := dbtest.PostgresURL(t)
	ctx := context.Background()
	d, err := db.Open(ctx, u, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	clk := newClock()
	f := &fixture{d: d, ob: outbox.New(clk.Now), clk: clk}
	tl := newTail(d, clk.Now, 10*time.Second, time.Minute)

	// open begins a transaction that has inserted an event and not committed.
	open := func() (*sql.Tx, int64) {
		t.Helper()
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// An open transaction would block dropping the test schema.
		t.Cleanup(func() { _ = tx.Rollback() })
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO events (topic, subject, payload, created_at) VALUES ('slow.txn', '', '{}', 0) RETURNING id`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return tx, id
	}
	cursor := int64(0)
	read := func() []int64 {
		t.Helper()
		evs, next, _, err := tl.read(ctx, cursor, 100, true)
		if err != nil {
			t.Fatal(err)
		}
		cursor = next
		var ids []int64
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
		return ids
	}
	// readEventually retries while other transactions on the shared test
	// server hold the horizon back (other packages' tests run at the same
	// time; a bulk load holds its transaction open for seconds).
	readEventually := func(want int) []int64 {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		var ids []int64
		for {
			ids = append(ids, read()...)
			if len(ids) >= want || time.Now().After(deadline) {
				return ids
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	same := func(got, want []int64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}

	// 1. The earlier id commits after the later one.
	slow, id1 := open()
	id2 := f.emit(t, "fast.txn")[0]
	if id2 <= id1 {
		t.Fatalf("ids %d, %d not in allocation order", id1, id2)
	}
	if got := read(); len(got) != 0 {
		t.Fatalf("read %v past an uncommitted earlier id %d", got, id1)
	}
	clk.Advance(30 * time.Second) // older than the grace period, but its writer still runs
	if got := read(); len(got) != 0 {
		t.Fatalf("read %v past id %d while its transaction is open", got, id1)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readEventually(2); !same(got, []int64{id1, id2}) {
		t.Fatalf("after the late commit read %v, want [%d %d]", got, id1, id2)
	}

	// 2. A rolled-back id leaves a permanent gap: stepped over after the grace period.
	gone, id3 := open()
	if err := gone.Rollback(); err != nil {
		t.Fatal(err)
	}
	id4 := f.emit(t, "after.rollback")[0]
	if got := read(); len(got) != 0 {
		t.Fatalf("read %v over the young gap at %d", got, id3)
	}
	clk.Advance(10 * time.Second)
	if got := readEventually(1); !same(got, []int64{id4}) {
		t.Fatalf("after the grace period read %v, want [%d]", got, id4)
	}

	// 3. A transaction left open is given up on after maxWait.
	_, id5 := open()
	id6 := f.emit(t, "behind.stuck")[0]
	if got := read(); len(got) != 0 {
		t.Fatalf("read %v past the open transaction's id %d", got, id5)
	}
	clk.Advance(30 * time.Second)
	if got := read(); len(got) != 0 {
		t.Fatalf("read %v past id %d within maxWait", got, id5)
	}
	clk.Advance(30 * time.Second)
	if got := read(); !same(got, []int64{id6}) {
		t.Fatalf("after maxWait read %v, want [%d]", got, id6)
	}
}

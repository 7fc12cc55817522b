package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func TestMigrateIsIdempotentAndRefusesNewerSchema(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		applied, err := d.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
		}
		v, err := d.SchemaVersion(ctx)
		if err != nil || v != db.LatestVersion() {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, db.LatestVersion())
		}
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`, v+1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var tooNew db.ErrSchemaTooNew
		if _, err := d.Migrate(ctx); !errors.As(err, &tooNew) || tooNew.Store != v+1 {
			t.Fatalf("Migrate on newer schema = %v; want ErrSchemaTooNew", err)
		}
	})
}

// A failing closure in a shared batch must not undo its neighbours, and
// every successful closure must be durable once Write returns.
func TestWriteBatchesIsolateFailures(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 400
		var wg sync.WaitGroup
		errsSeen := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errsSeen[i] = d.Write(ctx, func(tx *db.Tx) error {
					if _, err := tx.Exec(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('t', ?, '{}', 0)`, fmt.Sprint(i)); err != nil {
						return err
					}
					if i%3 == 0 {
						return errs.New(errs.Conflict, "odd_one", "refused")
					}
					return nil
				})
			})
		}
		wg.Wait()
		want := 0
		for i, err := range errsSeen {
			if i%3 == 0 {
				if !errors.Is(err, errs.New(errs.Conflict, "odd_one", "")) {
					t.Fatalf("job %d: err = %v; want odd_one", i, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
			want++
		}
		var got int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("committed rows = %d; want %d", got, want)
		}
	})
}

func TestWritePanicIsAnError(t *testing.T) {
	d := dbtest.SQLite(t)
	err := d.Write(context.Background(), func(tx *db.Tx) error { panic("boom") })
	if err == nil {
		t.Fatal("panicking closure reported success")
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		eng  db.Engine
		dsn  string
		fail bool
	}{
		{"sqlite:./omni.db", db.SQLite, "./omni.db", false},
		{"sqlite:///tmp/x.db", db.SQLite, "/tmp/x.db", false},
		{"data/omni.db", db.SQLite, "data/omni.db", false},
		{"postgres://u:p@h/db", db.Postgres, "postgres://u:p@h/db", false},
		{"mysql://x", "", "", true},
		{"", "", "", true},
	} {
		eng, dsn, err := db.ParseURL(c.in)
		if (err != nil) != c.fail || eng != c.eng || dsn != c.dsn {
			t.Errorf("ParseURL(%q) = %q, %q, %v", c.in, eng, dsn, err)
		}
	}
	if got := db.Redact("postgres://u:secret@h/db"); got != "postgres://u:xxxxx@h/db" {
		t.Errorf("Redact = %q", got)
	}
}

// A deferred statement that fails fails its own closure — undoing the
// closure's other writes — and nothing else of the shared batch.
func TestDeferredFailureUndoesOnlyItsClosure(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 120
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i] = d.Write(ctx, func(tx *db.Tx) error {
					if _, err := tx.Exec(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('immediate', ?, '{}', 0)`, fmt.Sprint(i)); err != nil {
						return err
					}
					if err := tx.Defer(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('deferred', ?, '{}', 0)`, fmt.Sprint(i)); err != nil {
						return err
					}
					if i%4 == 0 { // version 1 exists: a primary-key violation, found late on PostgreSQL
						return tx.Defer(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'dup', 0)`)
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range results {
			if (i%4 == 0) != (err != nil) {
				t.Fatalf("closure %d: err = %v", i, err)
			}
		}
		for _, topic := range []string{"immediate", "deferred"} {
			var got int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = ?`, topic).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != n-n/4 {
				t.Fatalf("%s rows = %d; want %d (failed closures must leave nothing)", topic, got, n-n/4)
			}
		}
	})
}

// An Exec after deferred statements runs after them (on PostgreSQL in the
// same round trip), sees their rows and counts them; when a deferred
// statement fails, the Exec after it fails and the closure leaves nothing.
func TestExecAfterDeferred(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var n int64
		err := d.Write(ctx, func(tx *db.Tx) error {
			for i := range 3 {
				if err := tx.Defer(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('after', ?, '{}', 0)`, fmt.Sprint(i)); err != nil {
					return err
				}
			}
			res, err := tx.Exec(`UPDATE events SET payload = '[]' WHERE topic = 'after'`)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil || n != 3 {
			t.Fatalf("rows affected %d, err %v; want the 3 deferred rows", n, err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.Defer(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('after', 'x', '{}', 0)`); err != nil {
				return err
			}
			if err := tx.Defer(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'dup', 0)`); err != nil {
				return err
			}
			_, err := tx.Exec(`UPDATE events SET payload = '{}' WHERE topic = 'after'`)
			return err
		})
		if err == nil {
			t.Fatal("a failed deferred statement did not fail the write")
		}
		var rows, changed int
		if err := d.QueryRow(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE payload <> '[]') FROM events WHERE topic = 'after'`).Scan(&rows, &changed); err != nil {
			t.Fatal(err)
		}
		if rows != 3 || changed != 0 {
			t.Fatalf("after the failed write: %d rows, %d changed; want 3 and 0", rows, changed)
		}
	})
}

// Query and QueryRow after deferred statements see their rows (on
// PostgreSQL they go in the same round trip and are read there), with NULLs
// and the usual conversions; QueryRow without a row is sql.ErrNoRows; a
// failed deferred statement fails the read, and the write leaves nothing.
// Closures batched together each see their own rows and keep them.
func TestQueryAfterDeferred(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := `INSERT INTO events (topic, subject, payload, created_at) VALUES (?, ?, '{}', ?)`
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for w := range errs {
			wg.Go(func() {
				topic := fmt.Sprint("read-", w)
				errs[w] = d.Write(ctx, func(tx *db.Tx) error {
					for i := range 3 {
						if err := tx.Defer(insert, topic, fmt.Sprint(i), int64(i)*1000); err != nil {
							return err
						}
					}
					var n, sum int64
					var none sql.NullString
					if err := tx.QueryRow(`SELECT COUNT(*), SUM(created_at), NULL FROM events WHERE topic = ?`, topic).Scan(&n, &sum, &none); err != nil {
						return err
					}
					if n != 3 || sum != 3000 || none.Valid {
						return fmt.Errorf("QueryRow saw %d rows summing to %d, null %v; want 3, 3000, NULL", n, sum, none)
					}
					if err := tx.Defer(insert, topic, "3", int64(3000)); err != nil {
						return err
					}
					rows, err := tx.Query(`SELECT subject, created_at FROM events WHERE topic = ? ORDER BY id`, topic)
					if err != nil {
						return err
					}
					defer rows.Close()
					var got []string
					for rows.Next() {
						var subject string
						var at int
						if err := rows.Scan(&subject, &at); err != nil {
							return err
						}
						got = append(got, fmt.Sprint(subject, "@", at))
					}
					if err := rows.Err(); err != nil {
						return err
					}
					if strings.Join(got, " ") != "0@0 1@1000 2@2000 3@3000" {
						return fmt.Errorf("Query saw %v", got)
					}
					if err := tx.Defer(insert, topic, "4", int64(0)); err != nil {
						return err
					}
					var id int64
					if err := tx.QueryRow(`SELECT id FROM events WHERE topic = 'nowhere'`).Scan(&id); !errors.Is(err, sql.ErrNoRows) {
						return fmt.Errorf("QueryRow without a row: %v; want sql.ErrNoRows", err)
					}
					return nil
				})
			})
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("closure %d: %v", w, err)
			}
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = ?`, fmt.Sprint("read-", w)).Scan(&n); err != nil || n != 5 {
				t.Fatalf("closure %d kept %d rows (%v); want 5", w, n, err)
			}
		}

		err := d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.Defer(insert, "read-failed", "x", 0); err != nil {
				return err
			}
			if err := tx.Defer(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'dup', 0)`); err != nil {
				return err
			}
			var n int
			return tx.QueryRow(`SELECT COUNT(*) FROM events WHERE topic = 'read-failed'`).Scan(&n)
		})
		if err == nil {
			t.Fatal("a failed deferred statement did not fail the read after it")
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = 'read-failed'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after the failed write: %d rows (%v); want none", n, err)
		}
	})
}

// On PostgreSQL a write transaction opens and ends with statements of its
// pipelines, out of database/sql's sight: after writes that fail in every
// way, no write runs inside a transaction left open (it would see that
// transaction's start as its own), and a connection whose transaction
// failed is rolled back and serves again rather than being dropped.
func TestConnectionsLeaveTransactionsClosed(t *testing.T) {
	d := dbtest.Postgres(t)
	ctx := context.Background()
	insert := `INSERT INTO events (topic, subject, payload, created_at) VALUES ('closed', ?, '{}', 0)`
	fails := []func(tx *db.Tx) error{
		func(tx *db.Tx) error { return errors.New("refused") },
		func(tx *db.Tx) error { _ = tx.Defer(insert, "a"); return errors.New("refused after a deferred insert") },
		func(tx *db.Tx) error {
			_ = tx.Defer(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'dup', 0)`)
			_, err := tx.Exec(insert, "b")
			return err
		},
		func(tx *db.Tx) error { _ = tx.Defer(insert, "c"); panic("closure panics") },
		func(tx *db.Tx) error { _, err := tx.Exec(insert, "ok"); return err },
	}
	// A write's read of its transaction's start, and its connection's backend.
	started := func() (time.Time, int) {
		t.Helper()
		var ms int64
		var pid int
		err := d.InTx(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT (EXTRACT(EPOCH FROM transaction_timestamp()) * 1000)::bigint, pg_backend_pid()`).Scan(&ms, &pid)
		})
		if err != nil {
			t.Fatalf("a write after the writes: %v", err)
		}
		return time.UnixMilli(ms), pid
	}
	fresh := func(after time.Time) {
		t.Helper()
		if started, _ := started(); started.Before(after.Add(-time.Millisecond)) {
			t.Fatalf("a write ran inside a transaction left open since %v (the writes ended at %v)", started, after)
		}
	}
	// Alone: the connection a transaction gave back is the next one's.
	for i, f := range fails {
		_ = d.InTx(ctx, f)
		if i%2 == 0 {
			_ = d.Write(ctx, f)
		}
		fresh(time.Now())
	}
	var failed int
	err := d.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(`SELECT pg_backend_pid()`).Scan(&failed); err != nil {
			return err
		}
		return fails[2](tx)
	})
	if err == nil {
		t.Fatal("the duplicate row did not fail the write")
	}
	if _, next := started(); next != failed {
		t.Fatalf("after the failed write the next one ran on backend %d, not on its %d: its connection was dropped", next, failed)
	}
	// In batches.
	var wg sync.WaitGroup
	for range 4 {
		for _, f := range fails {
			wg.Go(func() { _ = d.Write(ctx, f) })
		}
	}
	wg.Wait()
	after := time.Now()
	for range 50 {
		fresh(after)
	}
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = 'closed'`).Scan(&n); err != nil || n != 6 {
		t.Fatalf("%d rows kept (%v); want the 6 of the closure that succeeded", n, err)
	}
}

// TestDeadlockRunAgain: two writes on different PostgreSQL committers take
// the same two rows in opposite orders, so the server kills one of them as
// a deadlock victim; the store runs that write again on its own, and both
// succeed exactly once.
func TestDeadlockRunAgain(t *testing.T) {
	d := dbtest.Postgres(t)
	ctx := context.Background()
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`CREATE TABLE dl (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO dl (id, v) VALUES (1, 0), (2, 0)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	firstDone := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var once [2]sync.Once
	var runs [2]atomic.Int64
	write := func(k int) error {
		first, second := k+1, 2-k // 1 then 2, or 2 then 1
		return d.WriteKeyed(ctx, int64(k), func(tx *db.Tx) error {
			runs[k].Add(1)
			if _, err := tx.Exec(`UPDATE dl SET v = v + 1 WHERE id = ?`, first); err != nil {
				return err
			}
			once[k].Do(func() { close(firstDone[k]) })
			select { // the first attempt waits until the other holds its first row
			case <-firstDone[1-k]:
			case <-time.After(5 * time.Second):
			}
			_, err := tx.Exec(`UPDATE dl SET v = v + 1 WHERE id = ?`, second)
			return err
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for k := range 2 {
		wg.Go(func() { errs[k] = write(k) })
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", k, err)
		}
	}
	var v1, v2 int64
	if err := d.QueryRow(ctx, `SELECT (SELECT v FROM dl WHERE id = 1), (SELECT v FROM dl WHERE id = 2)`).Scan(&v1, &v2); err != nil {
		t.Fatal(err)
	}
	if v1 != 2 || v2 != 2 {
		t.Fatalf("rows %d, %d; want 2, 2 (each write once)", v1, v2)
	}
	if runs[0].Load()+runs[1].Load() < 3 {
		t.Fatalf("runs %d and %d: no deadlock happened, the test proves nothing", runs[0].Load(), runs[1].Load())
	}
}

// TestIdempotentResponsesStoredDeflated: a stored response comes back as
// it was given, small or large, and large ones (over 8 KiB) take less room.
func TestIdempotentResponsesStoredDeflated(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		large := []byte(`{"items":[` + strings.Repeat(`{"sku":"TS25SS001-PK-M","qty":1,"location":"SH-NJD"},`, 200) + `{}]}`)
		for i, body := range [][]byte{[]byte(`{"ok":true}`), large} {
			key := fmt.Sprintf("deflate-%d", i)
			claim := &db.IdemClaim{Scope: "test", Key: key, Hash: "hash", At: time.Now()}
			ictx := db.WithIdemClaim(ctx, claim)
			if err := d.Write(ictx, func(*db.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			d.QueueIdemResponse(claim, 201, "application/json", body)
			var rec db.IdemRecord
			for range 200 { // the response is stored by the next write
				var ok bool
				var err error
				if rec, ok, err = d.LookupIdem(ctx, "test", key); err != nil || !ok {
					t.Fatalf("lookup %s: %v, %v", key, ok, err)
				}
				if rec.Status != 0 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if rec.Status != 201 || string(rec.Body) != string(body) {
				t.Fatalf("%s: status %d body %q; want 201 and the body given", key, rec.Status, rec.Body)
			}
		}
		var stored int
		if err := d.QueryRow(ctx, `SELECT LENGTH(response) FROM idempotency_keys WHERE idem_key = 'deflate-1'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored >= len(large)/3 {
			t.Fatalf("a %d-byte response is stored in %d bytes; want it deflated", len(large), stored)
		}
	})
}

// Appended rows commit with their closure: a closure that fails after
// appending leaves none; one whose rows the table refuses (found only when
// the batch writes them) fails alone while its neighbours commit; large
// appends cross the per-statement chunk in order.
func TestAppendedRowsCommitWithTheirClosure(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 150
		const into = "events (topic, subject, payload, created_at)"
		rowsOf := func(i int) int { return 1 + i%7*23 } // 1 to 139 rows
		for _, poison := range []bool{false, true} {
			topic := fmt.Sprintf("appended-%t", poison)
			// The first closure holds the committer until the others have
			// queued, so that they share batches.
			hold := make(chan struct{})
			go func() { _ = d.Write(ctx, func(*db.Tx) error { <-hold; return nil }) }()
			var wg sync.WaitGroup
			results := make([]error, n)
			for i := range n {
				wg.Go(func() {
					results[i] = d.Write(ctx, func(tx *db.Tx) error {
						var vals []any
						for r := range rowsOf(i) {
							vals = append(vals, topic, fmt.Sprint(i), fmt.Sprintf(`{"row":%d}`, r), 0)
						}
						if err := tx.Append(into, vals...); err != nil {
							return err
						}
						switch {
						case i%5 == 0:
							return errs.New(errs.Conflict, "refused", "after appending")
						case poison && i == n/2: // NULL payload: refused by the table at the commit
							return tx.Append(into, topic, fmt.Sprint(i), nil, 0)
						}
						return nil
					})
				})
			}
			time.Sleep(100 * time.Millisecond)
			b0, j0 := d.Stats().Snapshot()
			close(hold)
			wg.Wait()
			if b, j := d.Stats().Snapshot(); !poison && j-j0 < 2*(b-b0) {
				t.Fatalf("%d closures in %d batches: they did not share batches, the test proves little", j-j0, b-b0)
			}
			want := map[string]int{}
			for i, err := range results {
				switch {
				case i%5 == 0 || poison && i == n/2:
					if err == nil {
						t.Fatalf("closure %d succeeded; want its failure", i)
					}
				case err != nil:
					t.Fatalf("closure %d: %v", i, err)
				default:
					want[fmt.Sprint(i)] = rowsOf(i)
				}
			}
			rows, err := d.Query(ctx, `SELECT subject, payload FROM events WHERE topic = ? ORDER BY id`, topic)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for rows.Next() {
				var subject, payload string
				if err := rows.Scan(&subject, &payload); err != nil {
					t.Fatal(err)
				}
				if exp := fmt.Sprintf(`{"row":%d}`, got[subject]); payload != exp {
					t.Fatalf("closure %s: row %d is %s; want %s (rows out of order)", subject, got[subject], payload, exp)
				}
				got[subject]++
			}
			rows.Close()
			for i := range n {
				if k := fmt.Sprint(i); got[k] != want[k] {
					t.Fatalf("poison %t: closure %d has %d appended rows; want %d", poison, i, got[k], want[k])
				}
			}
		}
		err := d.Write(ctx, func(tx *db.Tx) error { return tx.Append("events (topic, subject)", "a", "b", "c") })
		if err == nil || !strings.Contains(err.Error(), "2-column rows") {
			t.Fatalf("three values for two columns: err = %v; want it refused", err)
		}
	})
}

// An engine's own migration runs on that engine only; the other records it.
func TestEngineOnlyMigration(t *testing.T) {
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	m := ms[9]
	if m.Version != 10 || m.Name != "stock_levels_clustered" || m.Only != db.SQLite {
		t.Fatalf("migration 10 = %d %q only %q; want stock_levels_clustered for sqlite", m.Version, m.Name, m.Only)
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		var n int
		q := `SELECT COUNT(*) FROM sqlite_master WHERE name = 'stock_levels' AND sql LIKE '%WITHOUT ROWID'`
		if d.Engine == db.Postgres {
			q = `SELECT COUNT(*) FROM schema_migrations WHERE version = 10`
		}
		if err := d.QueryRow(context.Background(), q).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: %d, %v; want the clustered table on SQLite and the version recorded on PostgreSQL", d.Engine, n, err)
		}
	})
}

// JSONRows gathers child rows in order, with their types and NULLs, on
// both engines; no rows give an empty list.
func TestJSONRowsRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Write(ctx, func(tx *db.Tx) error {
			for i, p := range []string{`{"a":1}`, "", "line \"two\"\n"} {
				var sub any = fmt.Sprint("s", i)
				if i == 1 {
					sub = "" // kept as an empty string, not NULL
				}
				if _, err := tx.Exec(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('json.rows', ?, ?, ?)`, sub, p, int64(1)<<50+int64(i)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.DecodeRows([]byte(`[[1,2]]`), []any{new(int64)}, func() error { return nil }); err == nil {
			t.Error("a row with more columns than dest decoded")
		}
		q := `SELECT (SELECT ` + d.JSONRows("e.id, e.subject, e.payload, e.created_at, NULL", "e.id DESC") + ` FROM events e WHERE e.topic = ?),
			(SELECT ` + d.JSONRows("e.id", "e.id") + ` FROM events e WHERE e.topic = 'none')`
		var some, none []byte
		if err := d.QueryRow(ctx, q, "json.rows").Scan(&some, &none); err != nil {
			t.Fatal(err)
		}
		type row struct {
			id       int64
			sub, pay string
			at       int64
			null     *int64
		}
		var got []row
		r := row{null: new(int64)}
		if err := db.DecodeRows(some, []any{&r.id, &r.sub, &r.pay, &r.at, &r.null}, func() error {
			got = append(got, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("got %d rows from %s; want 3", len(got), some)
		}
		for i, r := range got {
			want := 2 - i // newest first
			if r.at != int64(1)<<50+int64(want) || r.null != nil || (i > 0 && r.id >= got[i-1].id) {
				t.Errorf("row %d = %+v; want created_at 2^50+%d, null nil, ids descending", i, r, want)
			}
		}
		if got[0].pay != "line \"two\"\n" || got[1].sub != "" || got[2].pay != `{"a":1}` {
			t.Errorf("texts = %+v", got)
		}
		if err := db.DecodeRows(none, []any{new(int64)}, func() error { t.Error("a row in an empty list"); return nil }); err != nil || string(none) != "[]" {
			t.Errorf("no rows = %q, %v; want []", none, err)
		}
	})
}

// The SQLite writer holds a transaction's log frames until the commit's
// sync (walVFS). A transaction larger than the writer's page cache spills
// frames and reads them back before it commits; readers, checkpoints and a
// reopened store must all see every committed row, and the file must stay
// sound.
func TestSQLiteLogFramesHeldUntilSync(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/held.db"
	d, err := db.Open(ctx, path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	payload := strings.Repeat("p", 3000)
	const big = 6000 // about 18 MB: several times the writer's page cache
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		for i := range big {
			if _, err := tx.Exec(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('held', ?, ?, 0)`, fmt.Sprint(i), payload); err != nil {
				return err
			}
		}
		// Change rows whose pages were spilled to the log early on: their
		// frames are written again, in place.
		for round := range 3 {
			if _, err := tx.Exec(`UPDATE events SET payload = ? WHERE topic = 'held' AND CAST(subject AS INTEGER) % 50 = 0`, strings.Repeat(fmt.Sprint(round), 3000)); err != nil {
				return err
			}
		}
		// Read back rows whose pages were spilled to the log early on.
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM events WHERE topic = 'held' AND subject IN ('0', '1', '2')`).Scan(&n); err != nil || n != 3 {
			return fmt.Errorf("early rows in the transaction: %d, %v", n, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var readErr atomic.Value
	for w := range 200 {
		wg.Go(func() {
			if err := d.Write(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('small', ?, ?, 0)`, fmt.Sprint(w), payload)
				return err
			}); err != nil {
				readErr.Store(err)
				return
			}
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = 'small' AND subject = ?`, fmt.Sprint(w)).Scan(&n); err != nil || n != 1 {
				readErr.Store(fmt.Errorf("reader after commit %d: %d rows, %v", w, n, err))
			}
		})
	}
	wg.Wait()
	if err, _ := readErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = db.Open(ctx, path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var held, small int
	var check string
	if err := d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM events WHERE topic = 'held'), (SELECT COUNT(*) FROM events WHERE topic = 'small')`).Scan(&held, &small); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRow(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	var changed int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = 'held' AND payload = ?`, strings.Repeat("2", 3000)).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	if changed != big/50 {
		t.Errorf("%d rows carry the last update; want %d", changed, big/50)
	}
	if held != big || small != 200 || check != "ok" {
		t.Fatalf("after reopening: %d large-transaction rows (want %d), %d small (want 200), integrity %q", held, big, small, check)
	}
}

// TestStatementsThatCannotBePrepared: a write whose statement the server
// cannot prepare (a syntax error, two commands in one statement) or whose
// argument cannot be encoded fails with that error, alone or batched with
// other writes, which still commit; on PostgreSQL such a statement may be
// the first of its transaction, sent with the BEGIN or savepoint handed on
// to it, and it is the write that failed, not the transaction.
func TestStatementsThatCannotBePrepared(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := `INSERT INTO events (topic, subject, payload, created_at) VALUES ('prepared', ?, '{}', 0)`
		bad := []func(tx *db.Tx) error{
			func(tx *db.Tx) error { _, err := tx.Exec(`INSERT INTO events VALUES (`); return err },
			func(tx *db.Tx) error {
				_, err := tx.Exec(`DELETE FROM events WHERE topic = 'prepared'; DELETE FROM nowhere`)
				return err
			},
			func(tx *db.Tx) error { return tx.QueryRow(`SELECT no_such_column FROM events`).Scan(new(int)) },
			func(tx *db.Tx) error {
				_ = tx.Defer(insert, "deferred")
				_, err := tx.Exec(`UPDATE nowhere SET x = 1`)
				return err
			},
			func(tx *db.Tx) error { _, err := tx.Exec(insert, struct{ A chan int }{}); return err },
		}
		good := func(s string) func(tx *db.Tx) error {
			return func(tx *db.Tx) error { _, err := tx.Exec(insert, s); return err }
		}
		for i, f := range bad {
			if err := d.InTx(ctx, f); err == nil {
				t.Fatalf("bad write %d alone succeeded", i)
			}
			if err := d.Write(ctx, f); err == nil {
				t.Fatalf("bad write %d succeeded", i)
			}
		}
		var wg sync.WaitGroup
		for r := range 6 {
			for i, f := range bad {
				wg.Go(func() {
					if err := d.Write(ctx, f); err == nil {
						t.Errorf("bad write %d succeeded in a batch", i)
					}
				})
				wg.Go(func() {
					if err := d.Write(ctx, good(fmt.Sprint(r, "-", i))); err != nil {
						t.Errorf("a good write batched with bad ones: %v", err)
					}
				})
			}
		}
		wg.Wait()
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE topic = 'prepared'`).Scan(&n); err != nil || n != 6*len(bad) {
			t.Fatalf("%d rows kept (%v); want the %d of the good writes", n, err, 6*len(bad))
		}
	})
}

// TestWritesAfterConnectionsDie: the server ends every connection of the
// store (a restart, a failover); the next writes begin on fresh ones, alone
// and batched, and each commits once.
func TestWritesAfterConnectionsDie(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(dbtest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	app := fmt.Sprintf("omni_revive_%d", time.Now().UnixNano()) // only this store's connections die
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	d, err := db.Open(ctx, u.String(), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO events (topic, subject, payload, created_at) VALUES ('revived', ?, '{}', 0)`
	write := func(s string) error {
		return d.Write(ctx, func(tx *db.Tx) error { _, err := tx.Exec(insert, s); return err })
	}
	var wg sync.WaitGroup
	for i := range 16 { // open the writers' connections
		wg.Go(func() { _ = write(fmt.Sprint("warm-", i)) })
	}
	wg.Wait()
	kill := func() {
		t.Helper()
		admin, err := sql.Open("pgx", os.Getenv(dbtest.EnvPostgres))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		var n int
		if err := admin.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1`, app).Scan(&n); err != nil || n == 0 {
			t.Fatalf("terminated %d connections (%v)", n, err)
		}
	}
	kill()
	if err := write("alone"); err != nil {
		t.Fatalf("a write after the connections died: %v", err)
	}
	kill()
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { errs[i] = write(fmt.Sprint("batched-", i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("batched write %d after the connections died: %v", i, err)
		}
	}
	var n, distinct int
	// Read on a writer: the readers' pool, whose connections died too,
	// finds that out on each one's next use (pgx pings it only after a
	// second idle).
	err = d.InTx(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT subject) FROM events WHERE topic = 'revived' AND subject NOT LIKE 'warm-%'`).Scan(&n, &distinct)
	})
	if err != nil || n != 17 || distinct != 17 {
		t.Fatalf("%d rows, %d distinct (%v); want each of the 17 writes once", n, distinct, err)
	}
}

// TestCheckoutRules: the rules of the tables every order writes hold on
// both engines, whether a CHECK constraint (SQLite) or a domain
// (PostgreSQL, migration 12) states them: each breach fails and leaves
// nothing, and the edge values are accepted.
func TestCheckoutRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		setup := []string{
			`INSERT INTO styles (id, code, name, category, lifecycle, launch_date, created_at, updated_at) VALUES (1, 'S1', 'Style', 'tops', 'classic', '2026-01-01', 0, 0)`,
			`INSERT INTO skus (id, code, style_id, color, size, barcode, list_price, cost, created_at, updated_at) VALUES (1, 'S1-BK-M', 1, 'BK', 'M', '690001', 100, 50, 0, 0)`,
			`INSERT INTO locations (id, code, name, kind, province, city, lat, lng, created_at, updated_at) VALUES (1, 'L1', 'Store', 'store', 'SH', 'SH', 31.2, 121.5, 0, 0)`,
			`INSERT INTO channels (id, code, name, kind, created_at, updated_at) VALUES (1, 'C1', 'Shop', 'online_shop', 0, 0)`,
			`INSERT INTO stock_levels (sku_id, location_id, style_id, on_hand, reserved, updated_at) VALUES (1, 1, 1, 5, 2, 0)`,
			`INSERT INTO orders (id, channel_id, mode, status, subtotal, total, paid, created_at, updated_at) VALUES (1, 1, 'standard', 'paid', 200, 200, 200, 0, 0)`,
			`INSERT INTO order_lines (order_id, line_no, sku_id, qty, unit_price, amount, held, shipped) VALUES (1, 1, 1, 2, 100, 200, 1, 1)`,
			`INSERT INTO payments (id, order_id, provider, amount, status, out_trade_no, created_at, updated_at) VALUES (1, 1, 'test', 200, 'captured', 'T1', 0, 0)`,
			`INSERT INTO channel_style_usage (channel_id, style_id, held, sold) VALUES (1, 1, 1, 1)`,
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, q := range setup {
				if _, err := tx.Exec(q); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		breaches := []string{
			`UPDATE orders SET status = 'lost' WHERE id = 1`,
			`UPDATE orders SET mode = 'drone' WHERE id = 1`,
			`UPDATE orders SET subtotal = -1 WHERE id = 1`,
			`UPDATE orders SET discount = -1 WHERE id = 1`,
			`UPDATE orders SET shipping_fee = -1 WHERE id = 1`,
			`UPDATE orders SET paid = paid + 1 WHERE id = 1`,
			`UPDATE orders SET refunded = 201 WHERE id = 1`,
			`UPDATE orders SET refunded = -1 WHERE id = 1`,
			`UPDATE orders SET total = -1, paid = 0 WHERE id = 1`,
			`UPDATE order_lines SET qty = 0, held = 0, shipped = 0 WHERE order_id = 1`,
			`UPDATE order_lines SET unit_price = -1 WHERE order_id = 1`,
			`UPDATE order_lines SET discount = -1 WHERE order_id = 1`,
			`UPDATE order_lines SET amount = -1 WHERE order_id = 1`,
			`UPDATE order_lines SET held = held - 2 WHERE order_id = 1`,
			`UPDATE order_lines SET held = held + 1 WHERE order_id = 1`,
			`UPDATE order_lines SET returned = 2 WHERE order_id = 1`,
			`UPDATE order_lines SET returned = -1 WHERE order_id = 1`,
			`UPDATE payments SET provider = 'cheque' WHERE id = 1`,
			`UPDATE payments SET status = 'lost' WHERE id = 1`,
			`UPDATE payments SET amount = 0 WHERE id = 1`,
			`UPDATE payments SET refunded = 201 WHERE id = 1`,
			`UPDATE payments SET refunded = -1 WHERE id = 1`,
			`UPDATE stock_levels SET reserved = reserved + 4`,
			`UPDATE stock_levels SET on_hand = on_hand - 4`,
			`UPDATE stock_levels SET reserved = -1`,
			`UPDATE stock_levels SET in_transit = -1`,
			`UPDATE stock_levels SET safety_stock = -1`,
			`UPDATE stock_levels SET low_threshold = -1`,
			`INSERT INTO stock_movements (sku_id, location_id, kind, created_at) VALUES (1, 1, 'gift', 0)`,
			`UPDATE channel_style_usage SET held = held - 2`,
			`UPDATE channel_style_usage SET sold = -1`,
		}
		for _, q := range breaches {
			err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.Exec(q); return err })
			if err == nil {
				t.Errorf("accepted: %s", q)
			}
		}
		var sum int64
		if err := d.QueryRow(ctx, `SELECT
			(SELECT paid + refunded + total + subtotal + discount + shipping_fee FROM orders WHERE id = 1) +
			(SELECT qty + held + shipped + returned + unit_price + amount FROM order_lines WHERE order_id = 1) +
			(SELECT amount + refunded FROM payments WHERE id = 1) +
			(SELECT on_hand + reserved + in_transit + safety_stock + low_threshold FROM stock_levels) +
			(SELECT held + sold FROM channel_style_usage) +
			(SELECT COUNT(*) FROM stock_movements)`).Scan(&sum); err != nil || sum != 600+304+200+7+2 {
			t.Fatalf("after the breaches the rows sum to %d (%v); want them unchanged, %d", sum, err, 600+304+200+7+2)
		}
		edges := []string{
			`UPDATE orders SET status = 'completed', mode = 'pos', refunded = 200, discount = 0, shipping_fee = 0 WHERE id = 1`,
			`UPDATE order_lines SET held = 0, shipped = 2, returned = 2, discount = 0, unit_price = 0, amount = 0 WHERE order_id = 1`,
			`UPDATE payments SET provider = 'points', status = 'cancelled', refunded = 200 WHERE id = 1`,
			`UPDATE stock_levels SET reserved = on_hand, in_transit = 0, safety_stock = 0, low_threshold = 0`,
			`INSERT INTO stock_movements (sku_id, location_id, kind, created_at) VALUES (1, 1, 'release', 0)`,
			`UPDATE channel_style_usage SET held = 0, sold = 0`,
		}
		for _, q := range edges {
			if err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.Exec(q); return err }); err != nil {
				t.Errorf("refused %s: %v", q, err)
			}
		}
	})
}

// TestReserveID: on PostgreSQL reserved ids are unique across goroutines
// and stores (processes) sharing the database, increase within one store,
// name rows the store would not number again, and outlast a block; on
// SQLite there are none (the store numbers the row).
func TestReserveID(t *testing.T) {
	ctx := context.Background()
	if id, err := dbtest.SQLite(t).ReserveID(ctx, "events"); id != 0 || err != nil {
		t.Fatalf("SQLite ReserveID = %d, %v; want 0, nil", id, err)
	}
	t.Run("postgres", func(t *testing.T) {
		u := dbtest.PostgresURL(t)
		var stores [2]*db.DB
		for i := range stores {
			s, err := db.Open(ctx, u, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			stores[i] = s
		}
		d, other := stores[0], stores[1]
		const per = 150 // more than two blocks each
		got := make([][]int64, 8)
		var wg sync.WaitGroup
		for g := range got {
			wg.Go(func() {
				s := d
				if g%2 == 1 {
					s = other
				}
				for range per {
					id, err := s.ReserveID(ctx, "events")
					if err != nil {
						t.Error(err)
						return
					}
					got[g] = append(got[g], id)
				}
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for g, ids := range got {
			for i, id := range ids {
				if id <= 0 || seen[id] {
					t.Fatalf("goroutine %d got id %d twice or not positive", g, id)
				}
				seen[id] = true
				if i > 0 && id <= ids[i-1] {
					t.Fatalf("goroutine %d got %d after %d", g, id, ids[i-1])
				}
			}
		}
		if len(seen) != 8*per {
			t.Fatalf("%d ids; want %d", len(seen), 8*per)
		}
		// A reserved id names a row; the rows the store numbers itself never collide with it.
		id, err := d.ReserveID(ctx, "events")
		if err != nil {
			t.Fatal(err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.Defer(`INSERT INTO events (id, topic, subject, payload, created_at) VALUES (?, 'reserved', '', '{}', 0)`, id); err != nil {
				return err
			}
			for range 3 * 64 {
				if err := tx.Defer(`INSERT INTO events (topic, subject, payload, created_at) VALUES ('numbered', '', '{}', 0)`); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("rows numbered by the store after a reserved one: %v", err)
		}
	})
}

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// job is one Write closure waiting for a transaction.
type job struct {
	ctx   context.Context
	fn    func(*Tx) error
	solo  bool
	done  chan struct{}
	err   error
	hooks []func()
}

// lane is one committer: a goroutine that owns the writes of its queue.
type lane struct {
	d   *DB
	ch  chan *job
	max int
}

// txn is a write transaction on a connection held for it alone: Defer's
// pipeline reaches the transaction's session through the connection,
// around database/sql. Commit and Rollback give the connection back.
type txn struct {
	sqlTx *sql.Tx // SQLite: database/sql's transaction
	conn  *sql.Conn
	d     *DB
	// carry holds statements handed on to the next round trip (PostgreSQL):
	// the transaction's BEGIN and the batch's opening, or the previous
	// closure's savepoint release and the next savepoint.
	carry []deferred
}

// runner is what runs a statement in the transaction: SQLite's sql.Tx, or
// on PostgreSQL the connection itself, which opens and ends the transaction
// with statements of its pipelines (BEGIN goes with the first round trip,
// COMMIT with the last).
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// begin starts a write transaction on a connection of pool.
func (d *DB) begin(ctx context.Context, pool *sql.DB) (*txn, error) {
	c, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if d.Engine == Postgres {
		return &txn{conn: c, d: d, carry: []deferred{{q: "BEGIN"}}}, nil
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &txn{sqlTx: tx, conn: c, d: d}, nil
}

func (x *txn) runner() runner {
	if x.sqlTx != nil {
		return x.sqlTx
	}
	return x.conn
}

// ExecContext runs a statement of the transaction's own (a savepoint's)
// at once.
func (x *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return x.runner().ExecContext(ctx, q, args...)
}

// tx is a Tx for a closure (or the committer itself) in x. It starts with
// the statements handed on to it.
func (x *txn) tx(ctx, jctx context.Context, stmts map[string]*sql.Stmt) *Tx {
	t := &Tx{d: x.d, x: x, ctx: ctx, jctx: jctx, stmts: stmts, pending: x.carry, carried: len(x.carry)}
	x.carry = nil
	return t
}

// Commit commits: on PostgreSQL in one round trip with what is still
// handed on.
func (x *txn) Commit() error {
	defer x.release()
	if x.sqlTx != nil {
		return x.sqlTx.Commit()
	}
	ctx := context.Background()
	tag, _, err := x.tx(ctx, ctx, nil).send(&deferred{q: "COMMIT"}, false)
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("db: commit ended as %s", tag)
	}
	if err != nil {
		x.end()
	}
	return err
}

// Rollback ends the transaction without its changes.
func (x *txn) Rollback() error {
	defer x.release()
	if x.sqlTx != nil {
		return x.sqlTx.Rollback()
	}
	return x.end()
}

// end rolls back a PostgreSQL transaction (in any state), so that its
// connection can serve again.
func (x *txn) end() error {
	_, err := x.conn.ExecContext(context.Background(), "ROLLBACK", pgx.QueryExecModeSimpleProtocol)
	return err
}

// release gives the connection back to the pool. (pgx's driver closes one
// that is still inside a transaction rather than let a read run in it.)
func (x *txn) release() { x.conn.Close() }

// txContext is the context of a write transaction: never cancelled by a
// caller (it may be shared), and without a deadline, because both drivers
// watch a cancellable context with a goroutine per statement. SQLite's busy
// timeout and PostgreSQL's statement_timeout on the writer connections
// (see openPostgres) bound waiting instead.
func (d *DB) txContext(parent context.Context) (context.Context, context.CancelFunc) {
	return parent, func() {}
}

func (l *lane) run() {
	defer l.d.wg.Done()
	batch := make([]*job, 0, l.max)
	for j := range l.ch {
		if l.d.Engine == SQLite {
			l.d.prepareQueued()
		}
		if j.solo {
			l.finish([]*job{j}, l.d.runSolo(l.d.write, j, false))
			continue
		}
		batch = append(batch[:0], j)
		var solo *job
	drain:
		for len(batch) < l.max {
			select {
			case n, ok := <-l.ch:
				if !ok {
					break drain
				}
				if n.solo {
					solo = n
					break drain
				}
				batch = append(batch, n)
			default:
				break drain
			}
		}
		l.exec(batch)
		if solo != nil {
			l.finish([]*job{solo}, l.d.runSolo(l.d.write, solo, false))
		}
	}
}

// finish wakes the waiting callers and runs their hooks.
func (l *lane) finish(batch []*job, committed bool) {
	l.d.stats.mu.Lock()
	l.d.stats.Batches++
	l.d.stats.Jobs += int64(len(batch))
	l.d.stats.mu.Unlock()
	for _, j := range batch {
		if committed && j.err == nil {
			for _, h := range j.hooks {
				h()
			}
		}
		close(j.done)
	}
}

// exec runs a batch in one transaction, each job under a savepoint. If the
// transaction cannot be committed, every job is run again on its own.
var laneDebug = os.Getenv("OMNI_DEBUG_LANES") != ""

func (l *lane) exec(batch []*job) {
	if laneDebug {
		t0 := time.Now()
		defer func() { fmt.Fprintf(os.Stderr, "lane %p batch %d took %s\n", l, len(batch), time.Since(t0)) }()
	}
	if len(batch) == 1 {
		l.finish(batch, l.d.runSolo(l.d.write, batch[0], true))
		return
	}
	ctx, cancel := l.d.txContext(context.Background())
	defer cancel()
	tx, err := l.d.begin(ctx, l.d.write)
	if err != nil {
		l.retryAlone(batch)
		return
	}
	idem := l.d.takeIdemQueue()
	err = l.d.storeIdem(ctx, tx, idem)
	if err == nil && l.d.Engine == Postgres {
		tx.carry = append(tx.carry, deferred{q: "SAVEPOINT omni_job"}) // with the first closure's first round trip
	}
	if err != nil {
		_ = tx.Rollback()
		l.d.requeueIdem(idem)
		l.retryAlone(batch)
		return
	}
	broken := false
	stmts := map[string]*sql.Stmt{}
	var rows rowBuf
	var again []*job // lost a deadlock or serialization conflict: run alone after the batch
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		j.hooks, j.err, broken = l.d.call(ctx, tx, stmts, j, true, &rows)
		if broken {
			break
		}
		if transient(j.err) {
			again = append(again, j)
		}
	}
	if !broken {
		t := tx.tx(ctx, ctx, stmts)
		if err := t.writeRows(&rows); err != nil {
			l.d.log.Warn("db: writing a batch's appended rows failed; retrying its writes one by one", "jobs", len(batch), "err", err)
			broken = true
		}
	}
	if broken {
		_ = tx.Rollback()
		l.d.requeueIdem(idem)
		l.retryAlone(batch)
		return
	}
	if err := tx.Commit(); err != nil {
		l.d.log.Warn("db: batch commit failed; retrying its writes one by one", "jobs", len(batch), "err", err)
		l.d.requeueIdem(idem)
		l.retryAlone(batch)
		return
	}
	if len(again) == 0 {
		l.finish(batch, true)
		return
	}
	l.finish(slices.DeleteFunc(slices.Clone(batch), func(j *job) bool { return slices.Contains(again, j) }), true)
	l.retryAlone(again)
}

// transient reports whether err is a conflict between concurrent
// transactions that running the write again resolves: a PostgreSQL
// deadlock (two batches taking the same rows in another order) or
// serialization failure.
func transient(err error) bool {
	var pe *pgconn.PgError
	return err != nil && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// maxTransientRetries bounds how often runSolo runs a write again after a
// transient conflict or a transaction that could not begin.
const maxTransientRetries = 5

// errBroken marks a write whose transaction could not begin on its
// connection; runSolo runs it again on another.
var errBroken = errors.New("db: transaction broken")

func (l *lane) retryAlone(batch []*job) {
	for _, j := range batch {
		j.err, j.hooks = nil, nil
		committed := l.d.runSolo(l.d.write, j, false)
		if !committed && j.err == nil {
			j.err = errors.New("db: write not committed")
		}
		l.d.stats.mu.Lock()
		l.d.stats.Batches++
		l.d.stats.Jobs++
		l.d.stats.mu.Unlock()
		if committed && j.err == nil {
			for _, h := range j.hooks {
				h()
			}
		}
		close(j.done)
	}
}

// runSolo runs one job in its own transaction and reports whether it
// committed. With withIdem, the queued idempotent responses are stored in
// the same transaction.
func (d *DB) runSolo(pool *sql.DB, j *job, withIdem bool) bool {
	for attempt := 1; ; attempt++ {
		committed := d.runOnce(pool, j, withIdem)
		if committed || !(transient(j.err) || errors.Is(j.err, errBroken)) || attempt > maxTransientRetries {
			return committed
		}
		withIdem = false // the queued responses went with the first attempt
		time.Sleep(time.Duration(attempt*attempt) * time.Millisecond)
	}
}

// runOnce is one attempt of runSolo.
func (d *DB) runOnce(pool *sql.DB, j *job, withIdem bool) bool {
	if err := j.ctx.Err(); err != nil {
		j.err = err
		return false
	}
	ctx, cancel := d.txContext(context.WithoutCancel(j.ctx))
	defer cancel()
	tx, err := d.begin(ctx, pool)
	if err != nil {
		j.err = fmt.Errorf("db: begin: %w", err)
		return false
	}
	var idem []idemResponse
	if withIdem {
		idem = d.takeIdemQueue()
		if err := d.storeIdem(ctx, tx, idem); err != nil {
			_ = tx.Rollback()
			d.requeueIdem(idem)
			return d.runOnce(pool, j, false)
		}
	}
	var rows rowBuf
	stmts := map[string]*sql.Stmt{}
	var broken bool
	j.hooks, j.err, broken = d.call(ctx, tx, stmts, j, false, &rows)
	if broken {
		_ = tx.Rollback()
		d.requeueIdem(idem)
		if withIdem { // the stored responses sent with the closure failed, not the closure
			j.err, j.hooks = nil, nil
			return d.runOnce(pool, j, false)
		}
		// The transaction's BEGIN failed: its connection, not the closure.
		j.err = fmt.Errorf("%w: %w", errBroken, j.err)
		return false
	}
	if j.err == nil {
		t := tx.tx(ctx, j.ctx, stmts)
		if err := t.writeRows(&rows); err != nil {
			j.err = deferredError(err)
		}
	}
	if j.err != nil {
		_ = tx.Rollback()
		if len(idem) > 0 { // keep the responses: run them alone
			return d.retryIdem(idem)
		}
		return false
	}
	if err := tx.Commit(); err != nil {
		d.requeueIdem(idem)
		j.err = fmt.Errorf("db: commit: %w", err)
		return false
	}
	return true
}

// retryIdem stores queued responses in a transaction of their own after the
// job they shared one with failed; it reports false (the job did not commit).
func (d *DB) retryIdem(q []idemResponse) bool {
	ctx := context.Background()
	tx, err := d.begin(ctx, d.write)
	if err == nil {
		if err = d.storeIdem(ctx, tx, q); err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		d.log.Warn("db: storing idempotent responses failed", "count", len(q), "err", err)
	}
	return false
}

// call runs a job's closure, under a savepoint of its own when it shares the
// transaction. broken reports that the transaction itself can no longer be
// used (its savepoint could not be set, released or rolled back).
//
// The rows the closure appends (Tx.Append) join rows when it succeeds.
func (d *DB) call(ctx context.Context, tx *txn, stmts map[string]*sql.Stmt, j *job, savepoint bool, rows *rowBuf) (hooks []func(), err error, broken bool) {
	t := tx.tx(ctx, j.ctx, stmts)
	defer func() {
		if err == nil && !broken {
			rows.merge(&t.rows)
		}
	}()
	pg := d.Engine == Postgres
	if savepoint && !pg {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT omni_job"); err != nil {
			return nil, err, true
		}
	}
	// On PostgreSQL the savepoint is set by this closure's first round trip
	// (exec or the previous closure handed it on), and the closure hands on
	// its release and the next savepoint to the next round trip.
	err = d.run(t, j, savepoint && pg)
	if err == nil {
		if savepoint && !pg {
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT omni_job"); err != nil {
				return nil, err, true
			}
		}
		return t.hooks, nil, false
	}
	if !savepoint {
		return nil, err, pg && t.carryFailed
	}
	if pg {
		if t.carryFailed {
			return nil, err, true // a statement handed on to this closure failed
		}
		if !t.sent {
			// Nothing reached the server; what was handed on still waits.
			tx.carry = t.pending[:t.carried]
			return nil, err, false
		}
		// ROLLBACK TO keeps the savepoint for the next closure.
		_, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT omni_job", pgx.QueryExecModeSimpleProtocol)
		return nil, err, rerr != nil
	}
	if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT omni_job"); rerr != nil {
		return nil, err, true
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE SAVEPOINT omni_job"); rerr != nil {
		return nil, err, true
	}
	return nil, err, false
}

// run runs the closure with the request's idempotency claim, then sends its
// deferred statements (with the savepoint's release when asked), turning a
// panic into an error.
func (d *DB) run(t *Tx, j *job, release bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("db: write panicked: %v", p)
		}
	}()
	err = claimIdempotency(t)
	if err == nil {
		err = j.fn(t)
	}
	if t.err != nil { // a deferred statement failed: that is the cause
		return deferredError(t.err)
	}
	if err != nil {
		return err
	}
	if !release {
		if err := t.flush(); err != nil {
			return deferredError(err)
		}
		return nil
	}
	// The closure's own statements go now (their failure is its own); the
	// savepoint's release and the next closure's savepoint go with the next
	// round trip of the transaction (COMMIT drops an unused savepoint).
	if len(t.pending) > t.carried {
		if err := t.flush(); err != nil {
			return deferredError(err)
		}
	}
	t.x.carry = append(t.pending[:t.carried:t.carried], deferred{q: "RELEASE SAVEPOINT omni_job"}, deferred{q: "SAVEPOINT omni_job"})
	t.pending, t.carried = nil, 0
	return nil
}

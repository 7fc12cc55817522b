package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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

// batchTimeout bounds one PostgreSQL transaction, whatever its closures'
// contexts. SQLite transactions get no deadline: the driver would watch a
// cancellable context with a goroutine per statement, and SQLite's own busy
// timeout already bounds waiting for the file lock.
const batchTimeout = 60 * time.Second

func (d *DB) txContext(parent context.Context) (context.Context, context.CancelFunc) {
	if d.Engine == SQLite {
		return parent, func() {}
	}
	return context.WithTimeout(parent, batchTimeout)
}

func (l *lane) run() {
	defer l.d.wg.Done()
	batch := make([]*job, 0, l.max)
	for j := range l.ch {
		if l.d.Engine == SQLite {
			l.d.prepareQueued()
		}
		if j.solo {
			l.finish([]*job{j}, l.d.runSolo(l.d.write, j))
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
			l.finish([]*job{solo}, l.d.runSolo(l.d.write, solo))
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
func (l *lane) exec(batch []*job) {
	if len(batch) == 1 {
		l.finish(batch, l.d.runSolo(l.d.write, batch[0]))
		return
	}
	ctx, cancel := l.d.txContext(context.Background())
	defer cancel()
	tx, err := l.d.write.BeginTx(ctx, nil)
	if err != nil {
		l.retryAlone(batch)
		return
	}
	broken := false
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT omni_job"); err != nil {
			broken = true
			break
		}
		j.hooks, j.err = l.d.call(ctx, tx, j)
		if j.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT omni_job"); err != nil {
				broken = true
				break
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT omni_job"); err != nil {
			broken = true
			break
		}
	}
	if broken {
		_ = tx.Rollback()
		l.retryAlone(batch)
		return
	}
	if err := tx.Commit(); err != nil {
		l.d.log.Warn("db: batch commit failed; retrying its writes one by one", "jobs", len(batch), "err", err)
		l.retryAlone(batch)
		return
	}
	l.finish(batch, true)
}

func (l *lane) retryAlone(batch []*job) {
	for _, j := range batch {
		j.err, j.hooks = nil, nil
		committed := l.d.runSolo(l.d.write, j)
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

// runSolo runs one job in its own transaction and reports whether it committed.
func (d *DB) runSolo(pool *sql.DB, j *job) bool {
	if err := j.ctx.Err(); err != nil {
		j.err = err
		return false
	}
	ctx, cancel := d.txContext(context.WithoutCancel(j.ctx))
	defer cancel()
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		j.err = fmt.Errorf("db: begin: %w", err)
		return false
	}
	j.hooks, j.err = d.call(ctx, tx, j)
	if j.err != nil {
		_ = tx.Rollback()
		return false
	}
	if err := tx.Commit(); err != nil {
		j.err = fmt.Errorf("db: commit: %w", err)
		return false
	}
	return true
}

// call runs a job's closure, turning a panic into an error.
func (d *DB) call(ctx context.Context, tx *sql.Tx, j *job) (hooks []func(), err error) {
	t := &Tx{d: d, tx: tx, ctx: ctx, jctx: j.ctx}
	defer func() {
		if p := recover(); p != nil {
			hooks, err = nil, fmt.Errorf("db: write panicked: %v", p)
		}
	}()
	if err := claimIdempotency(t); err != nil {
		return nil, err
	}
	if err := j.fn(t); err != nil {
		return nil, err
	}
	return t.hooks, nil
}

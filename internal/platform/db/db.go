// Package db opens Omni's store — embedded SQLite or PostgreSQL — and gives
// every module one way to read and one way to write.
//
// Reads go to a pool (on SQLite a pool of read-only connections beside the
// single writer). Writes are closures passed to Write: they run inside a
// transaction owned by a committer goroutine that groups the closures waiting
// at the same moment into one transaction, each under its own savepoint, and
// commits them with one durable flush. A closure that fails is rolled back to
// its savepoint without touching its neighbours; if the shared commit fails,
// every closure of the batch is run again alone. Rows of append-only tables
// (Tx.Append) are gathered over the batch and written just before its commit. Closures must therefore be
// re-runnable: they must not keep state from an earlier attempt.
//
// SQL is written once with '?' placeholders; on PostgreSQL they are rebound
// to $1, $2, ... Times are stored as BIGINT milliseconds since the Unix epoch
// (UTC) on both engines, money as BIGINT fen.
package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"         // PostgreSQL through pgx's database/sql driver
	_ "github.com/ncruces/go-sqlite3/driver" // pure-Go SQLite (WebAssembly build run by wazero): no cgo, one static binary
)

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("db: the store is closed")

// Engine names a storage engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Options tune an opened store.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: FULL (default, every commit
	// is flushed to disk) or NORMAL. PostgreSQL always runs with
	// synchronous_commit=on.
	Synchronous string
	// MaxBatch caps how many Write closures share one commit (default 256).
	MaxBatch int
	// Lanes is the number of committer goroutines (SQLite: always 1;
	// PostgreSQL: default 4).
	Lanes int
	// ReadConns is the size of the read pool (default 8×GOMAXPROCS, min 8).
	ReadConns int
	Logger    *slog.Logger
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	Engine Engine
	write  *sql.DB // SQLite: exactly one connection; PostgreSQL: the shared pool
	read   *sql.DB // SQLite: read-only pool; PostgreSQL: the same pool as write
	log    *slog.Logger

	lanes        []*lane
	rr           uint64
	rrMu         sync.Mutex
	stmts        sync.Map // query text → *sql.Stmt prepared on write or read
	toPrepare    sync.Map // write queries waiting to be prepared
	rebinds      sync.Map // '?' query → '$n' query
	appendCols   sync.Map // Append target → its column count
	generatedSQL sync.Map // generated statement texts by sqlKey (see generated)
	closeMu      sync.Once
	gate         sync.RWMutex // held for reading while queueing, for writing while closing
	closed       bool
	idemMu       sync.Mutex
	idemQ        []idemResponse // responses of idempotent requests, stored by the next transaction
	typeMaps     sync.Pool      // *pgtype.Map: scans rows read in pipelines (one goroutine at a time each)
	ids          sync.Map       // table → *idBlock (PostgreSQL: ids reserved ahead, see ReserveID)
	wg           sync.WaitGroup
	stats        Stats
}

// Stats counts committer activity, for metrics and benchmarks.
type Stats struct {
	mu      sync.Mutex
	Batches int64
	Jobs    int64
}

// Snapshot returns the counters.
func (s *Stats) Snapshot() (batches, jobs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Batches, s.Jobs
}

// Stats returns the committer counters.
func (d *DB) Stats() *Stats { return &d.stats }

// ParseURL splits a --db value into engine and driver DSN parts. Accepted:
// "sqlite:PATH", "sqlite://PATH", a bare file path, "postgres://..." and
// "postgresql://...".
func ParseURL(raw string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		return SQLite, strings.TrimPrefix(raw, "sqlite://"), nil
	case strings.HasPrefix(raw, "sqlite:"):
		return SQLite, strings.TrimPrefix(raw, "sqlite:"), nil
	case raw == "":
		return "", "", errors.New("db: empty database URL")
	case strings.Contains(raw, "://"):
		return "", "", fmt.Errorf("db: unsupported database URL scheme in %q (want sqlite:PATH or postgres://...)", Redact(raw))
	}
	return SQLite, raw, nil
}

// Redact hides the password of a database URL for printing.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Open opens the store named by rawURL. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, o Options) (*DB, error) {
	eng, dsn, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
		if eng == Postgres {
			// Each closure is a subtransaction: past 64 of them PostgreSQL's
			// per-backend subtransaction cache overflows, and repeated updates
			// of one hot row lengthen its version chain within the
			// transaction. Batches stay under the cache's size.
			o.MaxBatch = 60
		}
	}
	if o.ReadConns <= 0 {
		o.ReadConns = max(8, 8*runtime.GOMAXPROCS(0))
	}
	d := &DB{Engine: eng, log: o.Logger}
	switch eng {
	case SQLite:
		err = d.openSQLite(ctx, dsn, o)
		o.Lanes = 1
	case Postgres:
		if o.Lanes <= 0 {
			o.Lanes = 4
		}
		err = d.openPostgres(ctx, dsn, o)
	}
	if err != nil {
		return nil, err
	}
	for range o.Lanes {
		l := &lane{d: d, ch: make(chan *job, 4*o.MaxBatch), max: o.MaxBatch}
		d.lanes = append(d.lanes, l)
		d.wg.Add(1)
		go l.run()
	}
	return d, nil
}

func (d *DB) openSQLite(ctx context.Context, path string, o Options) error {
	syncMode := strings.ToUpper(o.Synchronous)
	if syncMode == "" {
		syncMode = "FULL"
	}
	if syncMode != "FULL" && syncMode != "NORMAL" && syncMode != "OFF" {
		return fmt.Errorf("db: synchronous must be FULL, NORMAL or OFF, not %q", o.Synchronous)
	}
	if path == "" {
		return errors.New("db: sqlite needs a file path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("db: create directory for %s: %w", path, err)
		}
	}
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	wvfs := ""
	if syncMode == "FULL" {
		wvfs = "vfs=" + walVFSName + "&" // see walVFS: it relies on a sync at every commit
	}
	// Savepoint sub-journals stay in memory. The writer's page cache is
	// small (4 MiB): at the end of every write transaction SQLite drops the
	// cached pages past the end of the database, and in the checkout
	// benchmark that walked the whole cache's hash table, about 0.4 ms per
	// commit with 64 MiB (a tenth of the writer's time). Pages it misses
	// come back from the OS page cache for a few microseconds each.
	w, err := sql.Open("sqlite3", "file:"+path+"?"+wvfs+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous("+syncMode+")"+
		"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-4096)")
	if err != nil {
		return fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		w.Close()
		return fmt.Errorf("db: sqlite %s: WAL journal not enabled (got %q): %v", path, mode, err)
	}
	r, err := sql.Open("sqlite3", "file:"+path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("db: open sqlite readers %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.ReadConns)
	r.SetMaxIdleConns(o.ReadConns)
	r.SetConnMaxIdleTime(0)
	d.write, d.read = w, r
	return nil
}

func (d *DB) openPostgres(ctx context.Context, dsn string, o Options) error {
	// Committers get a pool of their own, so that a burst of reads can never
	// keep a commit waiting for a connection.
	wdsn := dsn
	if u, err := url.Parse(dsn); err == nil {
		q := u.Query()
		if q.Get("statement_timeout") == "" {
			q.Set("statement_timeout", "60000") // ms; bounds a writer stuck on a lock
		}
		if q.Get("plan_cache_mode") == "" {
			// The writers' statements look rows up by key: one generic plan
			// serves every execution, where the default would plan most of
			// them again each time.
			q.Set("plan_cache_mode", "force_generic_plan")
		}
		u.RawQuery = q.Encode()
		wdsn = u.String()
	}
	w, err := sql.Open("pgx", wdsn)
	if err != nil {
		return fmt.Errorf("db: open postgres %s: %w", Redact(dsn), err)
	}
	w.SetMaxOpenConns(o.Lanes + 4) // the lanes plus InTx callers
	w.SetMaxIdleConns(o.Lanes + 4)
	w.SetConnMaxIdleTime(5 * time.Minute)
	// A writer keeps the plans it made, and a plan made while a table was
	// small may scan it whole: fresh connections plan on today's sizes.
	w.SetConnMaxLifetime(30 * time.Minute)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("db: connect postgres %s: %w", Redact(dsn), err)
	}
	r, err := sql.Open("pgx", dsn)
	if err != nil {
		w.Close()
		return fmt.Errorf("db: open postgres %s: %w", Redact(dsn), err)
	}
	r.SetMaxOpenConns(o.ReadConns)
	r.SetMaxIdleConns(o.ReadConns)
	r.SetConnMaxIdleTime(5 * time.Minute)
	d.write, d.read = w, r
	return nil
}

// Close stops the committers (after the queued writes) and closes the pools.
func (d *DB) Close() error {
	var err error
	d.closeMu.Do(func() {
		d.gate.Lock()
		d.closed = true
		d.gate.Unlock()
		for _, l := range d.lanes {
			close(l.ch)
		}
		d.wg.Wait()
		d.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		err = errors.Join(d.write.Close())
		if d.read != d.write {
			err = errors.Join(err, d.read.Close())
		}
	})
	return err
}

// Ping checks that the store answers.
func (d *DB) Ping(ctx context.Context) error { return d.read.PingContext(ctx) }

// ILike is the case-insensitive LIKE operator of the engine.
func (d *DB) ILike() string {
	if d.Engine == Postgres {
		return "ILIKE"
	}
	return "LIKE"
}

// Rebind rewrites '?' placeholders for the engine.
func (d *DB) Rebind(q string) string {
	if d.Engine != Postgres {
		return q
	}
	if v, ok := d.rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, inStr := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
		case c == '?' && !inStr:
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(c)
	}
	s := b.String()
	d.rebinds.Store(q, s)
	return s
}

// stmt returns a statement prepared once per pool (SQLite only: pgx caches
// prepared statements itself). The writer's only connection is busy while a
// transaction is open, so a write statement seen for the first time is
// queued and prepared by the committer between transactions; until then it
// runs unprepared (nil is returned).
func (d *DB) stmt(ctx context.Context, pool *sql.DB, q string) (*sql.Stmt, error) {
	key := q
	if pool == d.read {
		key = "r\x00" + q
	}
	if v, ok := d.stmts.Load(key); ok {
		return v.(*sql.Stmt), nil
	}
	if pool == d.write {
		d.toPrepare.Store(q, struct{}{})
		return nil, nil
	}
	s, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := d.stmts.LoadOrStore(key, s); loaded {
		s.Close()
		return v.(*sql.Stmt), nil
	}
	return s, nil
}

// Prepare prepares write statements ahead of a bulk load, so that its
// first transaction binds prepared statements instead of compiling each
// one (SQLite; pgx caches prepared statements itself). A statement that
// does not prepare is an error.
func (d *DB) Prepare(ctx context.Context, queries ...string) error {
	if d.Engine != SQLite {
		return nil
	}
	for _, q := range queries {
		if _, ok := d.stmts.Load(q); ok {
			continue
		}
		s, err := d.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("db: prepare: %w", err)
		}
		if _, loaded := d.stmts.LoadOrStore(q, s); loaded {
			s.Close()
		}
	}
	return nil
}

// prepareQueued prepares the write statements seen since the last call. The
// committer calls it while no transaction is open.
func (d *DB) prepareQueued() {
	d.toPrepare.Range(func(k, _ any) bool {
		q := k.(string)
		d.toPrepare.Delete(q)
		if _, ok := d.stmts.Load(q); ok {
			return true
		}
		s, err := d.write.PrepareContext(context.Background(), q)
		if err != nil {
			return true // it will fail again, unprepared, where it is used
		}
		d.stmts.Store(q, s)
		return true
	})
}

// Query runs a read on the read pool.
func (d *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if d.Engine == SQLite {
		s, err := d.stmt(ctx, d.read, q)
		if err != nil {
			return nil, err
		}
		return s.QueryContext(ctx, args...)
	}
	return d.read.QueryContext(ctx, d.Rebind(q), args...)
}

// QueryRow runs a one-row read on the read pool.
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if d.Engine == SQLite {
		s, err := d.stmt(ctx, d.read, q)
		if err != nil {
			// Surface the prepare error through Row.Scan.
			return d.read.QueryRowContext(ctx, q, args...)
		}
		return s.QueryRowContext(ctx, args...)
	}
	return d.read.QueryRowContext(ctx, d.Rebind(q), args...)
}

// Tx is a write transaction (or, inside a batch, one closure's share of it).
// Its statements run under the transaction's own context: a caller that goes
// away cannot interrupt a transaction that other callers share.
type Tx struct {
	d     *DB
	x     *txn            // the transaction (PostgreSQL: Defer's pipeline goes through its connection)
	ctx   context.Context // the transaction's context
	jctx  context.Context // the caller's context, for values
	hooks []func()
	stmts map[string]*sql.Stmt // SQLite: statements bound to this transaction
	rows  rowBuf               // appended rows, written at the commit

	// PostgreSQL only: statements queued by Defer, sent as one round trip.
	// The first carried of them were handed on by the closure before this
	// one in the batch (its savepoint's release, the next savepoint): they
	// go with this closure's first round trip.
	pending []deferred
	carried int
	err     error // the first failure of a deferred statement
	sent    bool  // something deferred has reached the server
	// carryFailed reports that a statement handed on by the closure before
	// failed: the shared transaction can no longer be trusted.
	carryFailed bool
}

// deferred is a statement queued by Defer.
type deferred struct {
	q    string
	args []any
}

// Engine returns the engine the transaction runs on.
func (t *Tx) Engine() Engine { return t.d.Engine }

// DB returns the store the transaction belongs to.
func (t *Tx) DB() *DB { return t.d }

// Context returns the context of the caller that submitted the write.
func (t *Tx) Context() context.Context { return t.jctx }

func (t *Tx) prep(q string) (*sql.Stmt, string, error) {
	if t.d.Engine == SQLite {
		if s := t.stmts[q]; s != nil {
			return s, "", nil
		}
		if s, _ := t.d.stmt(t.ctx, t.d.write, q); s != nil {
			ts := t.x.sqlTx.StmtContext(t.ctx, s)
			if t.stmts != nil {
				t.stmts[q] = ts // reused by the batch's later closures
			}
			return ts, "", nil
		}
		return nil, q, nil
	}
	return nil, t.d.Rebind(q), nil
}

// Defer runs a statement whose result the caller does not need (rows of
// an append-only table go through Append instead). On SQLite it runs at
// once. On PostgreSQL it is queued and sent together with the other queued
// statements in one round trip, with the closure's next statement (Exec,
// Query or QueryRow, which see its effects) or when the closure returns;
// its failure then fails the closure, which is rolled back as a whole.
func (t *Tx) Defer(q string, args ...any) error {
	if t.d.Engine != Postgres {
		_, err := t.Exec(q, args...)
		return err
	}
	if t.err != nil {
		return t.err
	}
	t.pending = append(t.pending, deferred{q, args})
	return nil
}

// flush sends the deferred statements (PostgreSQL) as one pipeline of
// prepared statements: pgx keeps each text prepared on the connection, so
// the server binds and runs them without parsing or planning them again,
// and the whole queue costs one round trip.
func (t *Tx) flush() error {
	if t.err != nil || len(t.pending) == 0 {
		return t.err
	}
	_, _, err := t.send(nil, false)
	return err
}

// send runs the deferred statements and then next (when not nil) in one
// pipeline, and returns next's command tag, or with query its rows, read
// whole. A deferred statement's failure is kept in t.err; next's own
// failure is only returned.
func (t *Tx) send(next *deferred, query bool) (pgconn.CommandTag, *pipedRows, error) {
	var b pgx.Batch
	for _, p := range t.pending {
		b.Queue(t.d.Rebind(p.q), p.args...)
	}
	n, carried := len(t.pending), t.carried
	if next != nil {
		b.Queue(t.d.Rebind(next.q), next.args...)
	}
	sent := t.sent
	t.sent = true
	unsent := false
	var tag pgconn.CommandTag
	var rows *pipedRows
	var nextErr error
	err := t.x.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("db: deferred statements need a pgx connection, not %T", dc)
		}
		br := c.Conn().SendBatch(t.ctx, &b)
		for i := range n {
			if _, err := br.Exec(); err != nil {
				br.Close()
				// pgx prepares and encodes every statement of a pipeline
				// before it sends one: when that fails nothing ran, the
				// failure is the closure's, and what was handed on waits.
				var pre pgx.ErrPreprocessingBatch
				unsent = errors.As(err, &pre)
				t.carryFailed = i < carried && !unsent
				return err
			}
		}
		switch {
		case next == nil:
		case query:
			if rows, nextErr = t.readPiped(br); nextErr != nil {
				br.Close()
				return nil
			}
		default:
			if tag, nextErr = br.Exec(); nextErr != nil {
				br.Close()
				return nil
			}
		}
		return br.Close()
	})
	if unsent { // nothing ran: what was handed on waits for the next round trip
		clear(t.pending[carried:])
		t.pending, t.sent = t.pending[:carried], sent
	} else {
		clear(t.pending)
		t.pending, t.carried = t.pending[:0], 0
	}
	if err != nil {
		t.err = err
		return tag, nil, err
	}
	return tag, rows, nextErr
}

// typeMap lends a pgx type map; pipedRows give it back when done.
func (d *DB) typeMap() *pgtype.Map {
	if m, ok := d.typeMaps.Get().(*pgtype.Map); ok {
		return m
	}
	return pgtype.NewMap()
}

// readPiped reads the next result of a pipeline whole.
func (t *Tx) readPiped(br pgx.BatchResults) (*pipedRows, error) {
	rs, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	r := &pipedRows{d: t.d, fields: slices.Clone(rs.FieldDescriptions())}
	for rs.Next() {
		raw := rs.RawValues()
		row := make([][]byte, len(raw))
		for i, v := range raw {
			if v != nil {
				row[i] = slices.Clone(v)
			}
		}
		r.rows = append(r.rows, row)
	}
	rs.Close()
	return r, rs.Err()
}

// Row is one row read by Tx.QueryRow: a *sql.Row, or on PostgreSQL a row
// read in the pipeline of deferred statements.
type Row interface {
	Scan(dest ...any) error
	Err() error
}

// Rows are the rows read by Tx.Query: *sql.Rows, or on PostgreSQL rows
// read in the pipeline of deferred statements.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// pipedRows are the rows of a query sent after deferred statements in one
// pipeline, read whole before the pipeline closed; Scan converts them with
// pgx's type map, as pgx's own rows do.
type pipedRows struct {
	d      *DB
	m      *pgtype.Map // lent by d while scanning, until Close
	fields []pgconn.FieldDescription
	rows   [][][]byte
	at     int // 1 + the index of the current row; 0 before the first Next
}

func (r *pipedRows) Next() bool {
	if r.at >= len(r.rows) {
		r.at = len(r.rows) + 1
		return false
	}
	r.at++
	return true
}

func (r *pipedRows) Scan(dest ...any) error {
	if r.at == 0 || r.at > len(r.rows) {
		return errors.New("db: Scan without a current row")
	}
	if len(dest) != len(r.fields) {
		return fmt.Errorf("db: Scan of %d columns into %d values", len(r.fields), len(dest))
	}
	if r.m == nil {
		r.m = r.d.typeMap()
	}
	row := r.rows[r.at-1]
	for i, f := range r.fields {
		if err := r.m.Scan(f.DataTypeOID, f.Format, row[i], dest[i]); err != nil {
			return fmt.Errorf("db: scan column %d (%s): %w", i, f.Name, err)
		}
	}
	return nil
}

func (r *pipedRows) Err() error { return nil }

func (r *pipedRows) Close() error {
	if r.m != nil {
		r.d.typeMaps.Put(r.m)
		r.m = nil
	}
	r.at = len(r.rows) + 1
	return nil
}

// pipedRow is QueryRow's answer from a pipeline (or its failure).
type pipedRow struct {
	r   *pipedRows
	err error
}

func (p pipedRow) Scan(dest ...any) error {
	if p.err != nil {
		return p.err
	}
	defer p.r.Close()
	if !p.r.Next() {
		return sql.ErrNoRows
	}
	return p.r.Scan(dest...)
}

func (p pipedRow) Err() error { return p.err }

// result is the sql.Result of a statement sent in a pipeline.
type result int64

func (r result) LastInsertId() (int64, error) {
	return 0, errors.New("db: no LastInsertId on PostgreSQL; use RETURNING")
}
func (r result) RowsAffected() (int64, error) { return int64(r), nil }

// Exec runs a statement in the transaction, after the deferred ones (on
// PostgreSQL in the same round trip as them).
func (t *Tx) Exec(q string, args ...any) (sql.Result, error) {
	if t.d.Engine == Postgres && t.err == nil && len(t.pending) > 0 {
		tag, _, err := t.send(&deferred{q, args}, false)
		if err != nil {
			return nil, err
		}
		return result(tag.RowsAffected()), nil
	}
	if err := t.flush(); err != nil {
		return nil, err
	}
	t.sent = true
	s, rq, err := t.prep(q)
	if err != nil {
		return nil, err
	}
	if s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.x.runner().ExecContext(t.ctx, rq, args...)
}

// Query runs a query in the transaction, after the deferred statements
// (on PostgreSQL in the same round trip as them).
func (t *Tx) Query(q string, args ...any) (Rows, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.d.Engine == Postgres && len(t.pending) > 0 {
		_, rows, err := t.send(&deferred{q, args}, true)
		if err != nil {
			return nil, err
		}
		return rows, nil
	}
	t.sent = true
	s, rq, err := t.prep(q)
	if err != nil {
		return nil, err
	}
	if s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return t.x.runner().QueryContext(t.ctx, rq, args...)
}

// QueryRow runs a one-row query in the transaction, after the deferred
// statements (on PostgreSQL in the same round trip as them).
func (t *Tx) QueryRow(q string, args ...any) Row {
	if t.err != nil {
		// The closure's result is replaced by the deferred statement's error anyway.
		return pipedRow{err: t.err}
	}
	if t.d.Engine == Postgres && len(t.pending) > 0 {
		_, rows, err := t.send(&deferred{q, args}, true)
		return pipedRow{r: rows, err: err}
	}
	t.sent = true
	s, rq, err := t.prep(q)
	if err != nil {
		return t.x.runner().QueryRowContext(t.ctx, q, args...) // reports the prepare error on Scan
	}
	if s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return t.x.runner().QueryRowContext(t.ctx, rq, args...)
}

// AfterCommit registers f to run after the transaction commits (never if it
// rolls back). Hooks run on the committer goroutine before the caller of
// Write is woken: keep them short and non-blocking.
func (t *Tx) AfterCommit(f func()) { t.hooks = append(t.hooks, f) }

// Write runs fn in a write transaction shared with other closures queued at
// the same moment, and returns once the transaction is durably committed (or
// fn's error). See the package comment for the contract on fn.
func (d *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	return d.submit(ctx, -1, false, fn)
}

// WriteKeyed is Write with a routing key: on PostgreSQL, closures with equal
// keys go to the same committer, so writes to one hot row are batched rather
// than contending for its lock. On SQLite it is Write.
func (d *DB) WriteKeyed(ctx context.Context, key int64, fn func(*Tx) error) error {
	return d.submit(ctx, key, false, fn)
}

// InTx runs fn in a transaction of its own (for large writes such as imports,
// which must not hold a shared batch open). On SQLite it still goes through
// the single writer, so it waits for the batch in progress.
func (d *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	if d.Engine == Postgres {
		j := &job{ctx: ctx, fn: fn}
		d.runSolo(d.write, j, false)
		if j.err == nil {
			for _, h := range j.hooks {
				h()
			}
		}
		return j.err
	}
	return d.submit(ctx, -1, true, fn)
}

func (d *DB) submit(ctx context.Context, key int64, solo bool, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, solo: solo, done: make(chan struct{})}
	var l *lane
	if len(d.lanes) == 1 {
		l = d.lanes[0]
	} else if key >= 0 {
		l = d.lanes[key%int64(len(d.lanes))]
	} else {
		d.rrMu.Lock()
		d.rr++
		l = d.lanes[d.rr%uint64(len(d.lanes))]
		d.rrMu.Unlock()
	}
	d.gate.RLock()
	if d.closed {
		d.gate.RUnlock()
		return ErrClosed
	}
	select {
	case l.ch <- j:
	case <-ctx.Done():
		d.gate.RUnlock()
		return ctx.Err()
	}
	d.gate.RUnlock()
	<-j.done // once queued, a job always runs or is refused; wait for its outcome
	return j.err
}

// Scanner is what a row scanner reads from: a Row or Rows.
type Scanner interface{ Scan(dest ...any) error }

// Collect reads every row of a query's result with scan and closes the
// rows. It takes Query's results as they come: Collect(scan)(d.Query(...)).
// The slice is empty, never nil, when there are no rows.
func Collect[T any](scan func(Scanner) (T, error)) func(Rows, error) ([]T, error) {
	return func(rows Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}

// JSONRows is an aggregate expression, for a correlated subquery, that
// gathers the subquery's rows into one JSON array of arrays: each row is
// the array of cols (a comma-separated expression list), in orderBy order;
// no rows give []. It lets one query read a record with its child rows
// instead of one query per child table. Read it with DecodeRows.
func (d *DB) JSONRows(cols, orderBy string) string {
	if d.Engine == Postgres {
		return "COALESCE(json_agg(json_build_array(" + cols + ") ORDER BY " + orderBy + ")::text, '[]')"
	}
	return "json_group_array(json_array(" + cols + ") ORDER BY " + orderBy + ")"
}

// DecodeRows reads a JSONRows value row by row, as a Scan loop would:
// each row's columns are decoded into dest (pointers, in column order; a
// nullable column takes a pointer to a pointer, which a JSON null sets to
// nil), then each is called to use them before the next row overwrites
// them.
func DecodeRows(data []byte, dest []any, each func() error) error {
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return fmt.Errorf("db: decode rows: %w", err)
	}
	for i, r := range rows {
		to := dest
		if err := json.Unmarshal(r, &to); err != nil {
			return fmt.Errorf("db: decode row %d: %w", i, err)
		}
		if len(to) != len(dest) {
			return fmt.Errorf("db: decode row %d: %d columns, want %d", i, len(to), len(dest))
		}
		if err := each(); err != nil {
			return err
		}
	}
	return nil
}

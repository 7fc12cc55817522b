package analytics

// Store: imported datasets kept in the database (tables analytics_imports and
// analytics_lines), so that the API can analyse them again without the file.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// ImportRecord is one stored import.
type ImportRecord struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	Format    Format        `json:"format"`
	Currency  string        `json:"currency"`
	Lines     int64         `json:"lines"` // lines stored (the Dataset's length)
	Summary   ImportSummary `json:"summary"`
	CreatedAt time.Time     `json:"created_at"`
}

// ErrImportNotFound is returned for an import id that does not exist.
var ErrImportNotFound = errs.New(errs.NotFound, "import_not_found", "no such analytics import")

// storeRowsPerInsert is the number of lines per multi-row INSERT: 100 rows ×
// 10 parameters stays far below SQLite's and PostgreSQL's parameter limits.
const storeRowsPerInsert = 100

// storeCacheSize is how many loaded datasets the Store keeps in memory.
const storeCacheSize = 2

// Store saves imported datasets and loads them back. Loaded datasets are
// cached (the last storeCacheSize by use) and must be treated as read-only.
type Store struct {
	db  *db.DB
	ob  *outbox.Outbox
	now func() time.Time

	mu    sync.Mutex
	cache []storeEntry // most recently used last

	ordersMu    sync.Mutex // held while the live orders are checked or loaded
	orders      *Dataset   // the live orders as last loaded, or nil
	ordersSum   OrdersSummary
	ordersStamp ordersStamp
	ordersAt    time.Time // when orders was loaded
}

type storeEntry struct {
	rec ImportRecord
	d   *Dataset
}

// NewStore returns a Store over d that records events in ob.
func NewStore(d *db.DB, ob *outbox.Outbox, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, ob: ob, now: now}
}

// ImportedEvent is the payload of the analytics.imported event.
type ImportedEvent struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Format   Format `json:"format"`
	Currency string `json:"currency"`
	Lines    int64  `json:"lines"`
}

// SaveImport stores a dataset with its import summary, all lines or none, in
// one transaction of its own, and appends an analytics.imported event.
func (s *Store) SaveImport(ctx context.Context, name string, d *Dataset, sum ImportSummary) (ImportRecord, error) {
	var v errs.Validator
	name = strings.TrimSpace(name)
	v.Check(name != "" && len(name) <= 200, "name", "invalid", "must be 1 to 200 characters")
	v.Check(d != nil, "dataset", "required", "is required")
	if err := v.Err(); err != nil {
		return ImportRecord{}, err
	}
	if err := storeCheck(d); err != nil {
		return ImportRecord{}, err
	}
	if sum.Format == "" {
		sum.Format = FormatCSV
	}
	if sum.Currency == "" {
		sum.Currency = d.Currency
	}
	js, err := json.Marshal(sum)
	if err != nil {
		return ImportRecord{}, fmt.Errorf("analytics: encode summary: %w", err)
	}
	now := s.now().UTC()
	rec := ImportRecord{Name: name, Format: sum.Format, Currency: d.Currency, Lines: int64(d.Len()), Summary: sum,
		CreatedAt: time.UnixMilli(now.UnixMilli()).UTC()}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(`INSERT INTO analytics_imports (name, format, currency, summary, lines, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, name, string(rec.Format), rec.Currency, string(js), rec.Lines,
			now.UnixMilli()).Scan(&rec.ID); err != nil {
			return err
		}
		if err := storeInsertLines(tx, rec.ID, d); err != nil {
			return err
		}
		return s.ob.Append(tx, "analytics.imported", fmt.Sprint(rec.ID),
			ImportedEvent{ID: rec.ID, Name: name, Format: rec.Format, Currency: rec.Currency, Lines: rec.Lines})
	})
	if err != nil {
		return ImportRecord{}, fmt.Errorf("analytics: save import: %w", err)
	}
	return rec, nil
}

// storeCheck refuses a dataset whose columns differ in length or point
// outside their dictionaries.
func storeCheck(d *Dataset) error {
	n := d.Len()
	if len(d.Customer) != n || len(d.SKU) != n || len(d.Qty) != n || len(d.Price) != n || len(d.At) != n ||
		len(d.Channel) != n || len(d.Region) != n || (d.Value != nil && len(d.Value) != n) {
		return errs.New(errs.Invalid, "dataset_malformed", "the dataset's columns differ in length")
	}
	for i := 0; i < n; i++ {
		if d.Order[i] < 0 || int(d.Order[i]) >= len(d.OrderIDs) || d.SKU[i] < 0 || int(d.SKU[i]) >= len(d.SKUIDs) ||
			int(d.Customer[i]) >= len(d.CustomerIDs) || int(d.Channel[i]) >= len(d.Channels) || int(d.Region[i]) >= len(d.Regions) {
			return errs.E(errs.Invalid, "dataset_malformed", "line %d refers outside the dataset's dictionaries", i)
		}
	}
	return nil
}

func storeInsertLines(tx *db.Tx, importID int64, d *Dataset) error {
	const head = `INSERT INTO analytics_lines (import_id, seq, order_id, customer_id, sku, qty, price, value, at, channel, region) VALUES `
	const row = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	full := head + strings.TrimSuffix(strings.Repeat(row+", ", storeRowsPerInsert), ", ")
	args := make([]any, 0, storeRowsPerInsert*11)
	opt := func(list []string, i int32) any {
		if i < 0 {
			return nil
		}
		return list[i]
	}
	n := d.Len()
	for lo := 0; lo < n; lo += storeRowsPerInsert {
		hi := min(lo+storeRowsPerInsert, n)
		args = args[:0]
		for i := lo; i < hi; i++ {
			var value any
			if d.Value != nil {
				value = d.Value[i]
			}
			args = append(args, importID, int64(i), d.OrderIDs[d.Order[i]], opt(d.CustomerIDs, d.Customer[i]),
				d.SKUIDs[d.SKU[i]], d.Qty[i], d.Price[i], value, d.At[i],
				opt(d.Channels, d.Channel[i]), opt(d.Regions, d.Region[i]))
		}
		q := full
		if hi-lo < storeRowsPerInsert {
			q = head + strings.TrimSuffix(strings.Repeat(row+", ", hi-lo), ", ")
		}
		if _, err := tx.Exec(q, args...); err != nil {
			return fmt.Errorf("lines %d–%d: %w", lo, hi-1, err)
		}
	}
	return nil
}

const storeImportCols = `id, name, format, currency, summary, lines, created_at`

func storeScanImport(sc db.Scanner) (ImportRecord, error) {
	var r ImportRecord
	var format, js string
	var created int64
	if err := sc.Scan(&r.ID, &r.Name, &format, &r.Currency, &js, &r.Lines, &created); err != nil {
		return r, err
	}
	r.Format = Format(format)
	r.CreatedAt = time.UnixMilli(created).UTC()
	if err := json.Unmarshal([]byte(js), &r.Summary); err != nil {
		return r, fmt.Errorf("import %d: decode summary: %w", r.ID, err)
	}
	return r, nil
}

// ListImports returns every stored import, newest first.
func (s *Store) ListImports(ctx context.Context) ([]ImportRecord, error) {
	out, err := db.Collect(storeScanImport)(s.db.Query(ctx, `SELECT `+storeImportCols+` FROM analytics_imports ORDER BY id DESC`))
	if err != nil {
		return nil, fmt.Errorf("analytics: list imports: %w", err)
	}
	return out, nil
}

// Import returns one stored import.
func (s *Store) Import(ctx context.Context, id int64) (ImportRecord, error) {
	r, err := storeScanImport(s.db.QueryRow(ctx, `SELECT `+storeImportCols+` FROM analytics_imports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ImportRecord{}, ErrImportNotFound.Withf("analytics import %d does not exist", id)
	}
	if err != nil {
		return ImportRecord{}, fmt.Errorf("analytics: import %d: %w", id, err)
	}
	return r, nil
}

// LoadDataset rebuilds a stored import's Dataset from its lines, in their
// original order, streaming the rows into a Builder. Dictionaries are in
// first-use order, as Builder makes them.
func (s *Store) LoadDataset(ctx context.Context, importID int64) (*Dataset, error) {
	rec, err := s.Import(ctx, importID)
	if err != nil {
		return nil, err
	}
	return s.loadLines(ctx, rec)
}

func (s *Store) loadLines(ctx context.Context, rec ImportRecord) (*Dataset, error) {
	rows, err := s.db.Query(ctx, `SELECT order_id, customer_id, sku, qty, price, value, at, channel, region
		FROM analytics_lines WHERE import_id = ? ORDER BY seq`, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("analytics: load import %d: %w", rec.ID, err)
	}
	defer rows.Close()
	b := NewBuilder(rec.Currency)
	d := b.D
	d.Order = make([]int32, 0, rec.Lines)
	var (
		order, sku           string
		cust, chann, region  sql.NullString
		qty                  int32
		price, at            int64
		value                sql.NullInt64
		values               []int64
		sawValue, sawNoValue bool
	)
	for rows.Next() {
		if err := rows.Scan(&order, &cust, &sku, &qty, &price, &value, &at, &chann, &region); err != nil {
			return nil, fmt.Errorf("analytics: load import %d: %w", rec.ID, err)
		}
		b.Add(order, cust.String, sku, qty, price, time.Unix(at, 0), chann.String, region.String)
		if value.Valid {
			sawValue = true
		} else {
			sawNoValue = true
		}
		values = append(values, value.Int64)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: load import %d: %w", rec.ID, err)
	}
	if sawValue && !sawNoValue {
		d.Value = values
	} else if sawValue {
		return nil, fmt.Errorf("analytics: load import %d: some lines have a value and some do not", rec.ID)
	}
	if d.Value == nil && d.Len() == 0 && rec.Format == FormatCDNOW {
		d.Value = []int64{} // an empty cdnow import still says it holds line values
	}
	return d, nil
}

// Dataset returns a stored import with its Dataset, from the in-memory cache
// when it was loaded recently. The Dataset is shared: do not modify it.
func (s *Store) Dataset(ctx context.Context, importID int64) (ImportRecord, *Dataset, error) {
	s.mu.Lock()
	for i, e := range s.cache {
		if e.rec.ID == importID {
			s.cache = append(append(s.cache[:i:i], s.cache[i+1:]...), e)
			s.mu.Unlock()
			return e.rec, e.d, nil
		}
	}
	s.mu.Unlock()
	rec, err := s.Import(ctx, importID)
	if err != nil {
		return ImportRecord{}, nil, err
	}
	d, err := s.loadLines(ctx, rec)
	if err != nil {
		return ImportRecord{}, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.cache { // loaded concurrently by another caller
		if e.rec.ID == importID {
			return e.rec, e.d, nil
		}
	}
	s.cache = append(s.cache, storeEntry{rec: rec, d: d})
	if len(s.cache) > storeCacheSize {
		s.cache = append(s.cache[:0:0], s.cache[len(s.cache)-storeCacheSize:]...)
	}
	return rec, d, nil
}

// churnRowsPerInsert is the number of P(alive) rows per multi-row INSERT
// (3 parameters each, below SQLite's and PostgreSQL's parameter limits).
const churnRowsPerInsert = 300

// CLVRunSavedEvent is the payload of the analytics.clv_run_saved event.
type CLVRunSavedEvent struct {
	ID             int64  `json:"id"`
	ImportID       int64  `json:"import_id"`
	CalibrationEnd string `json:"calibration_end"`
	Customers      int    `json:"customers"`
}

// SaveCLVRun stores a CLV run — the BG/NBD model and every customer's
// P(alive) (customer id → probability in [0, 1]) — in one transaction of its
// own, appends an analytics.clv_run_saved event, and returns the run's id.
// A later run compares its P(alive) with this one through LatestPAlive.
func (s *Store) SaveCLVRun(ctx context.Context, importID int64, calibrationEnd time.Time, model BGNBD, palive map[string]float64) (runID int64, err error) {
	var v errs.Validator
	v.Check(!calibrationEnd.IsZero(), "calibration_end", "required", "is required")
	for c, p := range palive {
		if c == "" || !(p >= 0 && p <= 1) { // also refuses NaN
			v.Check(false, "palive", "invalid", "customer ids must be non-empty and P(alive) within [0, 1]")
			break
		}
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	if _, err := s.Import(ctx, importID); err != nil {
		return 0, err
	}
	js, err := json.Marshal(model)
	if err != nil {
		return 0, fmt.Errorf("analytics: encode model: %w", err)
	}
	customers := make([]string, 0, len(palive))
	for c := range palive {
		customers = append(customers, c)
	}
	slices.Sort(customers)
	end := calibrationEnd.UTC().Format("2006-01-02")
	now := s.now().UTC().UnixMilli()
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(`INSERT INTO analytics_clv_runs (import_id, calibration_end, bgnbd, created_at)
			VALUES (?, ?, ?, ?) RETURNING id`, importID, end, string(js), now).Scan(&runID); err != nil {
			return err
		}
		const head = `INSERT INTO analytics_palive (run_id, customer_id, p_alive) VALUES `
		args := make([]any, 0, churnRowsPerInsert*3)
		for lo := 0; lo < len(customers); lo += churnRowsPerInsert {
			hi := min(lo+churnRowsPerInsert, len(customers))
			args = args[:0]
			for _, c := range customers[lo:hi] {
				args = append(args, runID, c, palive[c])
			}
			q := head + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", hi-lo), ", ")
			if _, err := tx.Exec(q, args...); err != nil {
				return fmt.Errorf("customers %d–%d: %w", lo, hi-1, err)
			}
		}
		return s.ob.Append(tx, "analytics.clv_run_saved", fmt.Sprint(runID),
			CLVRunSavedEvent{ID: runID, ImportID: importID, CalibrationEnd: end, Customers: len(customers)})
	})
	if err != nil {
		return 0, fmt.Errorf("analytics: save CLV run: %w", err)
	}
	return runID, nil
}

// LatestPAlive returns the P(alive) of every customer in the most recent
// stored CLV run before run id before (before <= 0: the most recent of all),
// whatever its import — customer ids belong to the same retailer — and that
// run's id. Without such a run it returns an empty map and run id 0.
func (s *Store) LatestPAlive(ctx context.Context, before int64) (map[string]float64, int64, error) {
	q := `SELECT id FROM analytics_clv_runs ORDER BY id DESC LIMIT 1`
	var args []any
	if before > 0 {
		q = `SELECT id FROM analytics_clv_runs WHERE id < ? ORDER BY id DESC LIMIT 1`
		args = append(args, before)
	}
	var runID int64
	err := s.db.QueryRow(ctx, q, args...).Scan(&runID)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]float64{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("analytics: latest CLV run: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT customer_id, p_alive FROM analytics_palive WHERE run_id = ?`, runID)
	if err != nil {
		return nil, 0, fmt.Errorf("analytics: P(alive) of CLV run %d: %w", runID, err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var c string
		var p float64
		if err := rows.Scan(&c, &p); err != nil {
			return nil, 0, fmt.Errorf("analytics: P(alive) of CLV run %d: %w", runID, err)
		}
		out[c] = p
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("analytics: P(alive) of CLV run %d: %w", runID, err)
	}
	return out, runID, nil
}

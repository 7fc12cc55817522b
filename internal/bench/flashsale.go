// Package bench holds Omni's benchmark commands. They drive the real HTTP
// API of an in-process server over loopback, with durable commits, and
// check correctness after the run; they are not tests.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/server"
)

// FlashSaleOptions configure the flash-sale benchmark.
type FlashSaleOptions struct {
	DB          string // empty: a fresh SQLite file in a temporary directory
	Synchronous string // SQLite synchronous mode (FULL = durable)
	Stock       int64
	Attempts    int64
	Clients     int
	Log         *slog.Logger
}

// FlashSaleResult is the benchmark's report.
type FlashSaleResult struct {
	DB               string  `json:"db"`
	Durable          bool    `json:"durable"`
	Durability       string  `json:"durability"`
	Stock            int64   `json:"stock"`
	Attempts         int64   `json:"attempts"`
	Clients          int     `json:"clients"`
	Succeeded        int64   `json:"succeeded"`
	Rejected         int64   `json:"rejected"`
	Errors           int64   `json:"errors"`
	Oversold         int64   `json:"oversold"`
	LedgerConsistent bool    `json:"ledger_consistent"`
	LevelMatches     bool    `json:"level_matches"`
	DurationS        float64 `json:"duration_s"`
	AttemptsPerSec   float64 `json:"attempts_per_sec"`
	P50Ms            float64 `json:"p50_ms"`
	P99Ms            float64 `json:"p99_ms"`
	MaxMs            float64 `json:"max_ms"`
	Commits          int64   `json:"commits"`
	WritesPerCommit  float64 `json:"writes_per_commit"`
	FirstError       string  `json:"first_error,omitempty"`
	GOMAXPROCS       int     `json:"gomaxprocs" description:"Go processors the run had"`
}

// FlashSale runs the benchmark: one SKU with Stock units at one store, and
// Clients concurrent HTTP clients each trying to reserve one unit through
// POST /api/v1/inventory/reservations until Attempts attempts were made.
func FlashSale(ctx context.Context, o FlashSaleOptions) (FlashSaleResult, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := FlashSaleResult{Stock: o.Stock, Attempts: o.Attempts, Clients: o.Clients, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	app, stop, err := startApp(ctx, o.DB, o.Synchronous, o.Log, func(c *config.Config) { c.ReservationTTL = time.Hour })
	if err != nil {
		return r, err
	}
	defer stop()
	r.DB = string(app.DB.Engine)
	r.Durability, r.Durable = durability(ctx, app.DB, o.Synchronous)

	// The sale: a fresh style, SKU, store and channel, so a shared database
	// is not disturbed.
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	skuCode, locCode, chCode := "FLASH-"+tag+"-BLK-M", "FLASH-"+tag, "flash-"+tag
	if _, err := app.Modules.Catalog.BulkUpsert(ctx, []catalog.Style{{
		Code: "FLASH-" + tag, Name: "秒杀款 羽绒服", Category: "羽绒服", Brand: "Omni", Season: "2026秋冬",
		Lifecycle: catalog.Fashion, LaunchDate: "2026-11-11",
		SKUs: []catalog.SKU{{Code: skuCode, Color: "黑色", Size: "M", Barcode: ean13("69" + tag12(tag)), ListPrice: 59900, Cost: 21000, Active: true}},
	}}); err != nil {
		return r, fmt.Errorf("bench: create SKU: %w", err)
	}
	if err := app.Modules.Network.BulkUpsert(ctx, []network.Location{{
		Code: locCode, Name: "Omni 上海南京东路店 (flash sale)", Kind: network.Store, Region: "east", Province: "上海市", City: "上海市",
		Address: "南京东路 800 号", Lat: 31.2355, Lng: 121.4800, OpeningHours: "10:00-22:00",
		Capabilities: network.Capabilities{POS: true, Pickup: true}, Active: true,
	}}, []network.Channel{{Code: chCode, Name: "小程序秒杀", Kind: "mini_program", Locations: []string{locCode}, MaxSharePct: 100, Active: true}}); err != nil {
		return r, fmt.Errorf("bench: create store: %w", err)
	}
	if _, err := app.Modules.Inventory.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: locCode, Reference: "flash sale stock",
		Lines: []inventory.PostLine{{SKU: skuCode, Qty: o.Stock}}}); err != nil {
		return r, fmt.Errorf("bench: receive stock: %w", err)
	}
	_, key, err := app.Auth.Create(ctx, auth.NewKey{Name: "bench " + tag, Role: auth.Ops})
	if err != nil {
		return r, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- app.Serve(sctx, ln, nil) }()
	url := "http://" + ln.Addr().String() + "/api/v1/inventory/reservations"
	tr := &http.Transport{MaxIdleConns: o.Clients, MaxIdleConnsPerHost: o.Clients, MaxConnsPerHost: o.Clients, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	b0, j0 := app.DB.Stats().Snapshot()
	var next, ok, rejected, failed atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, o.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range o.Clients {
		wg.Go(func() {
			body := []byte(fmt.Sprintf(`{"channel":%q,"reference":"","lines":[{"sku":%q,"location":%q,"qty":1}]}`, chCode, skuCode, locCode))
			for {
				n := next.Add(1)
				if n > o.Attempts || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", tag+"-"+strconv.FormatInt(n, 10))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				rb, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				switch {
				case resp.StatusCode == http.StatusCreated:
					ok.Add(1)
				case resp.StatusCode == http.StatusConflict && bytes.Contains(rb, []byte(`"insufficient_stock"`)):
					rejected.Add(1)
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, rb))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b1, j1 := app.DB.Stats().Snapshot()
	stop()
	<-served
	tr.CloseIdleConnections()

	r.Succeeded, r.Rejected, r.Errors = ok.Load(), rejected.Load(), failed.Load()
	if s, _ := firstErr.Load().(string); s != "" {
		r.FirstError = s
	}
	r.Oversold = max(0, r.Succeeded-r.Stock)
	r.DurationS = elapsed.Seconds()
	r.AttemptsPerSec = float64(r.Succeeded+r.Rejected+r.Errors) / elapsed.Seconds()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		r.P50Ms = ms(all[len(all)*50/100])
		r.P99Ms = ms(all[min(len(all)-1, len(all)*99/100)])
		r.MaxMs = ms(all[len(all)-1])
	}
	r.Commits = b1 - b0
	if r.Commits > 0 {
		r.WritesPerCommit = float64(j1-j0) / float64(r.Commits)
	}
	rep, err := app.Modules.Inventory.CheckLedger(ctx)
	if err != nil {
		return r, err
	}
	lv, err := app.Modules.Inventory.GetLevel(ctx, skuCode, locCode)
	if err != nil {
		return r, err
	}
	r.LedgerConsistent = rep.Consistent && lv.Available >= 0
	r.LevelMatches = lv.OnHand == o.Stock && lv.Reserved == r.Succeeded
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// durability reports the engine's commit durability.
func durability(ctx context.Context, d *db.DB, sqliteSync string) (string, bool) {
	if d.Engine == db.SQLite {
		if sqliteSync == "" {
			sqliteSync = "FULL"
		}
		return "sqlite synchronous=" + sqliteSync + ", WAL", sqliteSync == "FULL"
	}
	var sc, fs string
	_ = d.QueryRow(ctx, `SELECT current_setting('synchronous_commit'), current_setting('fsync')`).Scan(&sc, &fs)
	return "postgresql synchronous_commit=" + sc + ", fsync=" + fs, sc == "on" && fs == "on"
}

// tag12 turns a tag into 10 digits for a barcode body.
func tag12(tag string) string {
	n, _ := strconv.ParseInt(tag, 36, 64)
	s := strconv.FormatInt(n%10_000_000_000, 10)
	for len(s) < 10 {
		s = "0" + s
	}
	return s
}

// ean13 appends the GS1 check digit to 12 digits.
func ean13(body string) string {
	sum := 0
	for i, c := range body {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return body + strconv.Itoa((10-sum%10)%10)
}

// PrintFlashSale writes the human summary.
func PrintFlashSale(w io.Writer, r FlashSaleResult) {
	fmt.Fprintf(w, "flash sale on %s (%s)\n", r.DB, r.Durability)
	fmt.Fprintf(w, "  stock %d, %d attempts by %d clients in %.2f s\n", r.Stock, r.Succeeded+r.Rejected+r.Errors, r.Clients, r.DurationS)
	fmt.Fprintf(w, "  succeeded %d, rejected %d (insufficient_stock), errors %d, oversold %d\n", r.Succeeded, r.Rejected, r.Errors, r.Oversold)
	fmt.Fprintf(w, "  %.0f attempts/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.AttemptsPerSec, r.P50Ms, r.P99Ms, r.MaxMs)
	fmt.Fprintf(w, "  %d commits, %.1f writes per commit\n", r.Commits, r.WritesPerCommit)
	fmt.Fprintf(w, "  ledger consistent: %t, level matches: %t\n", r.LedgerConsistent, r.LevelMatches)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
}

// JSON encodes a result on one line.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// startApp starts the server in process, without background workers, on
// dbURL — a fresh SQLite file in a temporary directory when empty — with
// tune's changes to the configuration. stop closes it and removes the
// temporary store.
func startApp(ctx context.Context, dbURL, sync string, log *slog.Logger, tune func(*config.Config)) (*server.App, func(), error) {
	dir := ""
	if dbURL == "" {
		var err error
		if dir, err = os.MkdirTemp("", "omni-bench-"); err != nil {
			return nil, nil, err
		}
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	cfg := config.Default()
	cfg.DB, cfg.Synchronous, cfg.Workers, cfg.LogLevel = dbURL, sync, false, "warn"
	if tune != nil {
		tune(&cfg)
	}
	app, err := server.New(ctx, cfg, log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return app, func() {
		app.Close()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}, nil
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omni-retail/omni/internal/demo"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/server"
)

// CheckoutOptions configure the checkout benchmark.
type CheckoutOptions struct {
	DB          string // empty: a fresh SQLite file in a temporary directory
	Synchronous string // SQLite synchronous mode (FULL = durable)
	Clients     int
	Duration    time.Duration
	Seed        int64
	// AckLog, when set, receives the id of every acknowledged order, one
	// per line, as it is acknowledged.
	AckLog io.Writer
	Log    *slog.Logger
}

// CheckoutResult is the benchmark's report.
type CheckoutResult struct {
	DB               string           `json:"db"`
	Durable          bool             `json:"durable"`
	Durability       string           `json:"durability"`
	Clients          int              `json:"clients"`
	DurationS        float64          `json:"duration_s"`
	Orders           int64            `json:"orders" description:"orders placed and paid (both acknowledged)"`
	OrdersPerSec     float64          `json:"orders_per_sec"`
	P50Ms            float64          `json:"p50_ms" description:"place + pay, per order"`
	P99Ms            float64          `json:"p99_ms"`
	MaxMs            float64          `json:"max_ms"`
	RequestP99Ms     float64          `json:"request_p99_ms" description:"per HTTP request"`
	Rejected         int64            `json:"rejected" description:"checkouts refused for stock (409) or delivery radius (422): correct answers, not errors"`
	Errors           int64            `json:"errors"`
	Modes            map[string]int64 `json:"modes" description:"paid orders by delivery mode"`
	Lines            int64            `json:"lines"`
	Oversold         int64            `json:"oversold" description:"levels whose reserved units differ from the open holds, or exceed on hand"`
	LedgerConsistent bool             `json:"ledger_consistent"`
	Lost             int64            `json:"lost" description:"orders acknowledged to a client but missing or unpaid afterwards"`
	Duplicated       int64            `json:"duplicated" description:"acknowledged orders stored more than once"`
	Commits          int64            `json:"commits"`
	WritesPerCommit  float64          `json:"writes_per_commit"`
	FirstError       string           `json:"first_error,omitempty"`
	GOMAXPROCS       int              `json:"gomaxprocs" description:"Go processors the run had"`
}

// shopper is what the clients draw orders from: the demo retailer's
// channels, stores and stocked SKUs.
type shopper struct {
	stocked  []string            // SKU codes with stock somewhere
	byStore  map[string][]string // SKU codes stocked at each store
	pickup   []string            // pickup stores of the app channel
	pos      []string            // stores of the POS channel
	instant  []network.Location  // instant-capable locations of the mini-program
	instSKUs map[string][]string
}

// Checkout runs the benchmark: Clients concurrent HTTP clients place
// realistic orders (1–5 lines, mixed channels and delivery modes) on the
// demo retailer and pay them, for Duration; then it checks that nothing
// was oversold, lost or duplicated and that the ledger is consistent.
func Checkout(ctx context.Context, o CheckoutOptions) (CheckoutResult, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := CheckoutResult{Clients: o.Clients, Modes: map[string]int64{}, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	app, stop, err := startApp(ctx, o.DB, o.Synchronous, o.Log, nil)
	if err != nil {
		return r, err
	}
	defer stop()
	r.DB = string(app.DB.Engine)
	r.Durability, r.Durable = durability(ctx, app.DB, o.Synchronous)
	if err := LoadDemo(ctx, app, o.Seed); err != nil {
		return r, err
	}
	_, key, err := app.Auth.Create(ctx, auth.NewKey{Name: "bench checkout", Role: auth.Ops})
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
	b0, j0 := app.DB.Stats().Snapshot()
	acked, err := drive(ctx, &r, o, "http://"+ln.Addr().String(), key, app.DB)
	b1, j1 := app.DB.Stats().Snapshot()
	stop()
	<-served
	if err != nil {
		return r, err
	}
	r.Commits = b1 - b0
	if r.Commits > 0 {
		r.WritesPerCommit = float64(j1-j0) / float64(r.Commits)
	}
	return r, Verify(ctx, app, acked, &r)
}

// LoadDemo loads the demo retailer's catalog, network and stock (not its
// history) into a fresh store.
func LoadDemo(ctx context.Context, app *server.App, seed int64) error {
	m := app.Modules
	receive := func(ctx context.Context, lines []demo.StockLine) error {
		bulk := make([]inventory.BulkLine, 0, len(lines))
		for _, l := range lines {
			sku, err := m.Catalog.SKURef(ctx, l.SKUCode)
			if err != nil {
				return err
			}
			loc, err := m.Network.Location(ctx, l.LocationCode)
			if err != nil {
				return err
			}
			bulk = append(bulk, inventory.BulkLine{SKUID: sku.ID, StyleID: sku.StyleID, LocationID: loc.ID, Qty: l.Qty})
		}
		return m.Inventory.BulkReceive(ctx, bulk, "demo opening stock")
	}
	_, err := demo.Generate(ctx, demo.Deps{Catalog: m.Catalog, Network: m.Network, Receive: receive}, seed)
	return err
}

// newShopper reads the demo retailer's stocked SKUs per location.
func newShopper(ctx context.Context, d *db.DB) (*shopper, error) {
	sh := &shopper{byStore: map[string][]string{}, instSKUs: map[string][]string{}}
	rows, err := d.Query(ctx, `SELECT k.code, l.code, l.kind FROM stock_levels s JOIN skus k ON k.id = s.sku_id JOIN locations l ON l.id = s.location_id
		WHERE s.on_hand - s.reserved - s.safety_stock >= 3 ORDER BY k.code, l.code`)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for rows.Next() {
		var sku, loc, kind string
		if err := rows.Scan(&sku, &loc, &kind); err != nil {
			rows.Close()
			return nil, err
		}
		if !seen[sku] {
			seen[sku] = true
			sh.stocked = append(sh.stocked, sku)
		}
		sh.byStore[loc] = append(sh.byStore[loc], sku)
	}
	rows.Close()
	for _, l := range demo.Locations() {
		switch {
		case l.Kind == network.Store && l.Capabilities.Pickup:
			sh.pickup = append(sh.pickup, l.Code)
		}
		if l.Kind == network.Store {
			sh.pos = append(sh.pos, l.Code)
		}
		if l.Capabilities.Instant {
			sh.instant = append(sh.instant, l)
		}
	}
	if len(sh.stocked) == 0 || len(sh.pickup) == 0 || len(sh.instant) == 0 {
		return nil, fmt.Errorf("bench checkout: the store does not hold the demo retailer (run on a fresh database)")
	}
	return sh, nil
}

// order draws one checkout (the body of POST /api/v1/orders, or of
// POST /api/v1/pos/sales for a till sale) and its mode.
func (sh *shopper) order(rng *rand.Rand) (path string, body []byte, mode string) {
	n := 1 + min(4, int(rng.ExpFloat64()*1.2)) // 1–5 lines, mostly 1–2
	pick := func(from []string) []map[string]any {
		if len(from) == 0 {
			from = sh.stocked
		}
		var lines []map[string]any
		used := map[string]bool{}
		for len(lines) < n && len(used) < len(from) {
			k := from[rng.IntN(len(from))]
			if used[k] {
				continue
			}
			used[k] = true
			lines = append(lines, map[string]any{"sku": k, "qty": 1 + int(rng.ExpFloat64()*0.3)})
		}
		return lines
	}
	mobile := fmt.Sprintf("13%09d", rng.IntN(1_000_000_000))
	var req map[string]any
	switch x := rng.IntN(100); {
	case x < 35: // online shop, parcel
		lat, lng := 22+rng.Float64()*18, 102+rng.Float64()*20
		req = map[string]any{"channel": "shop", "mode": "standard", "customer": map[string]any{"mobile": mobile},
			"address": map[string]any{"address": "bench address", "lat": lat, "lng": lng}, "lines": pick(nil)}
		mode = "standard"
	case x < 55: // app, buy online pick up in store
		st := sh.pickup[rng.IntN(len(sh.pickup))]
		req = map[string]any{"channel": "app", "mode": "pickup", "store": st, "customer": map[string]any{"mobile": mobile}, "lines": pick(sh.byStore[st])}
		mode = "pickup"
	case x < 70: // mini-program, instant delivery near an instant location
		l := sh.instant[rng.IntN(len(sh.instant))]
		r := float64(l.Capabilities.InstantRadiusM) * 0.8 * rng.Float64()
		dLat := r / 111_000 * (rng.Float64()*2 - 1)
		req = map[string]any{"channel": "mini", "mode": "instant", "customer": map[string]any{"mobile": mobile},
			"address": map[string]any{"address": "bench address", "lat": l.Lat + dLat, "lng": l.Lng}, "lines": pick(sh.byStore[l.Code])}
		mode = "instant"
	case x < 80: // live stream, parcel from the central warehouse
		req = map[string]any{"channel": "live", "mode": "standard", "customer": map[string]any{"mobile": mobile},
			"address": map[string]any{"address": "bench address", "province": "上海市", "city": "上海市"}, "lines": pick(sh.byStore["CW-JX"])}
		mode = "standard"
	default: // till sale
		st := sh.pos[rng.IntN(len(sh.pos))]
		b, _ := json.Marshal(map[string]any{"store": st, "lines": pick(sh.byStore[st]), "tenders": []map[string]any{{"provider": "offline", "method": "card"}}})
		return "/api/v1/pos/sales", b, "pos"
	}
	b, _ := json.Marshal(req)
	return "/api/v1/orders", b, mode
}

// drive runs the clients against base and returns the acknowledged
// (placed and paid) order ids.
func drive(ctx context.Context, r *CheckoutResult, o CheckoutOptions, base, key string, d *db.DB) ([]int64, error) {
	sh, err := newShopper(ctx, d)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: o.Clients, MaxIdleConnsPerHost: o.Clients, MaxConnsPerHost: o.Clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	var rejected, failed, lines atomic.Int64
	var firstErr atomic.Value
	var ackMu sync.Mutex
	var acked []int64
	modes := make([]map[string]int64, o.Clients)
	orderLat := make([][]time.Duration, o.Clients)
	reqLat := make([][]time.Duration, o.Clients)
	post := func(c int, path string, body []byte, idem string) (int, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", idem)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		rb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		reqLat[c] = append(reqLat[c], time.Since(t0))
		return resp.StatusCode, rb, err
	}
	fail := func(msg string) {
		failed.Add(1)
		firstErr.CompareAndSwap(nil, msg)
	}
	deadline := time.Now().Add(o.Duration)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range o.Clients {
		modes[c] = map[string]int64{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(c)))
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				path, body, mode := sh.order(rng)
				idem := fmt.Sprintf("%s-%d-%d", tag, c, n)
				t0 := time.Now()
				st, rb, err := post(c, path, body, idem+"-o")
				if err != nil {
					fail(err.Error())
					continue
				}
				if st == http.StatusConflict || st == http.StatusUnprocessableEntity {
					rejected.Add(1)
					continue
				}
				if st != http.StatusCreated {
					fail(fmt.Sprintf("checkout %d %s", st, rb))
					continue
				}
				var placed struct {
					ID     int64             `json:"id"`
					Status string            `json:"status"`
					Lines  []json.RawMessage `json:"lines"`
				}
				if err := json.Unmarshal(rb, &placed); err != nil {
					fail(err.Error())
					continue
				}
				if mode != "pos" {
					st, rb, err = post(c, "/api/v1/orders/"+strconv.FormatInt(placed.ID, 10)+"/payments", []byte(`{"provider":"test"}`), idem+"-p")
					if err != nil || st != http.StatusOK {
						fail(fmt.Sprintf("pay %d %s %v", st, rb, err))
						continue
					}
				}
				orderLat[c] = append(orderLat[c], time.Since(t0))
				modes[c][mode]++
				lines.Add(int64(len(placed.Lines)))
				ackMu.Lock()
				acked = append(acked, placed.ID)
				if o.AckLog != nil {
					fmt.Fprintln(o.AckLog, placed.ID)
				}
				ackMu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r.DurationS = elapsed.Seconds()
	r.Orders = int64(len(acked))
	r.OrdersPerSec = float64(r.Orders) / elapsed.Seconds()
	r.Rejected, r.Errors, r.Lines = rejected.Load(), failed.Load(), lines.Load()
	if s, _ := firstErr.Load().(string); s != "" {
		r.FirstError = s
	}
	for _, m := range modes {
		for k, v := range m {
			r.Modes[k] += v
		}
	}
	r.P50Ms, r.P99Ms, r.MaxMs = quantiles(orderLat)
	_, r.RequestP99Ms, _ = quantiles(reqLat)
	return acked, nil
}

func quantiles(per [][]time.Duration) (p50, p99, mx float64) {
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return 0, 0, 0
	}
	slices.Sort(all)
	return ms(all[len(all)*50/100]), ms(all[min(len(all)-1, len(all)*99/100)]), ms(all[len(all)-1])
}

// Verify checks the store after a run: every acknowledged order exists
// once and is paid; every level's reserved units equal the open holds of
// orders and reservations and never exceed on hand; the ledger adds up.
func Verify(ctx context.Context, app *server.App, acked []int64, r *CheckoutResult) error {
	d := app.DB
	seen := map[int64]int{}
	for _, id := range acked {
		seen[id]++
	}
	for id, n := range seen {
		r.Duplicated += int64(n - 1)
		var status string
		var paid, total int64
		err := d.QueryRow(ctx, `SELECT status, paid, total FROM orders WHERE id = ?`, id).Scan(&status, &paid, &total)
		if err != nil || paid != total || status == "created" || status == "cancelled" {
			r.Lost++
		}
	}
	var bad int64
	err := d.QueryRow(ctx, `SELECT COUNT(*) FROM stock_levels s
		LEFT JOIN (SELECT l.sku_id, l.location_id, SUM(l.held) AS held FROM order_lines l WHERE l.held > 0 GROUP BY l.sku_id, l.location_id) o
		  ON o.sku_id = s.sku_id AND o.location_id = s.location_id
		LEFT JOIN (SELECT rl.sku_id, rl.location_id, SUM(rl.qty) AS qty FROM reservation_lines rl JOIN reservations v ON v.id = rl.reservation_id
		           WHERE v.status = 'active' GROUP BY rl.sku_id, rl.location_id) h
		  ON h.sku_id = s.sku_id AND h.location_id = s.location_id
		WHERE s.reserved <> COALESCE(o.held, 0) + COALESCE(h.qty, 0) OR s.reserved > s.on_hand OR s.on_hand < 0`).Scan(&bad)
	if err != nil {
		return fmt.Errorf("bench: check holds: %w", err)
	}
	r.Oversold = bad
	rep, err := app.Modules.Inventory.CheckLedger(ctx)
	if err != nil {
		return err
	}
	r.LedgerConsistent = rep.Consistent
	return nil
}

// PrintCheckout writes a human summary.
func PrintCheckout(w io.Writer, r CheckoutResult) {
	fmt.Fprintf(w, "checkout on %s (%s), %d clients, %.1f s\n", r.DB, r.Durability, r.Clients, r.DurationS)
	fmt.Fprintf(w, "  orders placed and paid: %d (%.0f/s), lines %d, by mode %v\n", r.Orders, r.OrdersPerSec, r.Lines, r.Modes)
	fmt.Fprintf(w, "  latency place+pay: p50 %.1f ms, p99 %.1f ms, max %.1f ms; per request p99 %.1f ms\n", r.P50Ms, r.P99Ms, r.MaxMs, r.RequestP99Ms)
	fmt.Fprintf(w, "  rejected %d, errors %d; commits %d (%.1f writes each)\n", r.Rejected, r.Errors, r.Commits, r.WritesPerCommit)
	fmt.Fprintf(w, "  oversold %d, lost %d, duplicated %d, ledger consistent %v\n", r.Oversold, r.Lost, r.Duplicated, r.LedgerConsistent)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
}

// DriveRemote runs the checkout clients against a running server at base
// (which holds the demo retailer in the store d reads), for the crash test
// and for measuring a separately started server. Acknowledged order ids
// are written to o.AckLog as they are acknowledged.
func DriveRemote(ctx context.Context, o CheckoutOptions, base, key string, d *db.DB) (CheckoutResult, []int64, error) {
	r := CheckoutResult{Clients: o.Clients, Modes: map[string]int64{}, GOMAXPROCS: runtime.GOMAXPROCS(0), DB: string(d.Engine)}
	acked, err := drive(ctx, &r, o, base, key, d)
	return r, acked, err
}

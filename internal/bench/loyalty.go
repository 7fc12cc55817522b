package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// LoyaltyOptions configure the loyalty benchmark.
type LoyaltyOptions struct {
	DB          string // empty: a fresh SQLite file in a temporary directory
	Synchronous string // SQLite synchronous mode (FULL = durable)
	Clients     int
	Duration    time.Duration
	Members     int // generated members, loaded in bulk before the run
	Seed        int64
	Log         *slog.Logger
}

// LoyaltyResult is the benchmark's report.
type LoyaltyResult struct {
	DB               string           `json:"db"`
	Durable          bool             `json:"durable"`
	Durability       string           `json:"durability"`
	Mode             string           `json:"mode"`
	Clients          int              `json:"clients"`
	Members          int              `json:"members"`
	LoadS            float64          `json:"load_s" description:"bulk load of the members"`
	DurationS        float64          `json:"duration_s"`
	Ops              int64            `json:"ops" description:"operations committed: check-ins, awards and redemptions"`
	OpsPerSec        float64          `json:"ops_per_sec"`
	P50Ms            float64          `json:"p50_ms"`
	P99Ms            float64          `json:"p99_ms"`
	MaxMs            float64          `json:"max_ms"`
	ByKind           map[string]int64 `json:"by_kind"`
	Rejected         map[string]int64 `json:"rejected" description:"correct refusals (409 already_checked_in, insufficient_points), not counted in ops"`
	Errors           int64            `json:"errors"`
	NegativeBalances int64            `json:"negative_balances"`
	LedgerConsistent bool             `json:"ledger_consistent" description:"every balance = Σ its lots = Σ its ledger rows"`
	Lost             int64            `json:"lost" description:"acknowledged operations missing from the ledger afterwards"`
	Commits          int64            `json:"commits"`
	WritesPerCommit  float64          `json:"writes_per_commit"`
	FirstError       string           `json:"first_error,omitempty"`
	GOMAXPROCS       int              `json:"gomaxprocs" description:"Go processors the run had"`
}

// loyaltyMode says how the clients reach the store.
const loyaltyMode = "in-process: clients call members.Service (CheckIn, Award, Spend); each call is one durable group-committed write (db.Write)"

// Loyalty runs the benchmark. It loads Members generated members in bulk
// (members.Service.Bulk: identities and an opening lot of 1,000 points
// each), then Clients concurrent clients, for Duration, each pick a random
// member and check it in (40 %), award it 10–100 points (30 %) or redeem
// 10–200 of its points (30 %). The clients call the members service in
// process, not over HTTP, so that the figure is the loyalty store's: each
// operation is one durable write through the group committer (db.Write)
// with ONE conditional UPDATE of the balance. Afterwards it checks that no
// balance is negative, that every balance equals the sum of its lots and
// of its ledger, and that every acknowledged operation is in the ledger.
func Loyalty(ctx context.Context, o LoyaltyOptions) (LoyaltyResult, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := LoyaltyResult{Clients: o.Clients, Members: o.Members, Mode: loyaltyMode, ByKind: map[string]int64{}, Rejected: map[string]int64{}, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	app, stop, err := startApp(ctx, o.DB, o.Synchronous, o.Log, nil)
	if err != nil {
		return r, err
	}
	defer stop()
	r.DB = string(app.DB.Engine)
	r.Durability, r.Durable = durability(ctx, app.DB, o.Synchronous)
	svc := app.Modules.Members
	t0 := time.Now()
	ids, err := loadMembers(ctx, svc, o.Members, o.Seed)
	if err != nil {
		return r, err
	}
	r.LoadS = time.Since(t0).Seconds()

	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	lat := make([][]time.Duration, o.Clients)
	kinds := make([]map[string]int64, o.Clients)
	rejected := make([]map[string]int64, o.Clients)
	var failed atomic.Int64
	var firstErr atomic.Value
	b0, j0 := app.DB.Stats().Snapshot()
	deadline := time.Now().Add(o.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range o.Clients {
		kinds[c], rejected[c] = map[string]int64{}, map[string]int64{}
		lat[c] = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(c)+1))
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				id := ids[rng.IntN(len(ids))]
				src := tag + ":" + strconv.Itoa(c) + ":" + strconv.Itoa(n)
				var kind string
				var err error
				t := time.Now()
				switch x := rng.IntN(100); {
				case x < 40:
					kind = "checkin"
					_, err = svc.CheckIn(ctx, id)
				case x < 70:
					kind = "award"
					_, err = svc.Award(ctx, id, 10+rng.Int64N(91), "bench:"+src, "bench award")
				default:
					kind = "redeem"
					_, err = svc.Spend(ctx, id, 10+rng.Int64N(191), "bench:"+src, "bench redemption")
				}
				if err != nil {
					if e, ok := errs.As(err); ok && (e.Code == "already_checked_in" || e.Code == "insufficient_points") {
						rejected[c][e.Code]++
						continue
					}
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[c] = append(lat[c], time.Since(t))
				kinds[c][kind]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b1, j1 := app.DB.Stats().Snapshot()
	r.DurationS = elapsed.Seconds()
	for c := range o.Clients {
		for k, v := range kinds[c] {
			r.ByKind[k] += v
			r.Ops += v
		}
		for k, v := range rejected[c] {
			r.Rejected[k] += v
		}
	}
	r.OpsPerSec = float64(r.Ops) / elapsed.Seconds()
	r.P50Ms, r.P99Ms, r.MaxMs = quantiles(lat)
	r.Errors = failed.Load()
	if s, _ := firstErr.Load().(string); s != "" {
		r.FirstError = s
	}
	r.Commits = b1 - b0
	if r.Commits > 0 {
		r.WritesPerCommit = float64(j1-j0) / float64(r.Commits)
	}
	// Correctness after the run.
	if err := app.DB.QueryRow(ctx, `SELECT COUNT(*) FROM members WHERE points < 0`).Scan(&r.NegativeBalances); err != nil {
		return r, err
	}
	rep, err := svc.CheckLedger(ctx)
	if err != nil {
		return r, err
	}
	r.LedgerConsistent = rep.Consistent
	var inLedger int64
	if err := app.DB.QueryRow(ctx, `SELECT COUNT(*) FROM points_ledger WHERE kind IN ('checkin', 'award', 'spend') AND created_at >= ?`,
		start.Add(-time.Second).UnixMilli()).Scan(&inLedger); err != nil {
		return r, err
	}
	r.Lost = max(0, r.Ops-inLedger)
	return r, nil
}

// loadMembers generates n members (a card number and an email address
// each, unique to this run so that a store can be benchmarked again;
// registered over the last two years, with 1,000 points) and loads them
// in bulk, 10,000 a transaction.
func loadMembers(ctx context.Context, svc *members.Service, n int, seed int64) ([]int64, error) {
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	if n < 1 {
		return nil, errors.New("bench loyalty: --members must be at least 1")
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	now := time.Now()
	ids := make([]int64, 0, n)
	for start := 0; start < n; start += 10_000 {
		part := make([]members.BulkMember, 0, min(10_000, n-start))
		for i := start; i < min(start+10_000, n); i++ {
			created := now.Add(-time.Duration(rng.Int64N(int64(700 * 24 * time.Hour)))).Truncate(time.Millisecond)
			part = append(part, members.BulkMember{
				Name:       "bench member " + strconv.Itoa(i),
				Identities: []members.Identity{{Kind: members.Card, Value: fmt.Sprintf("BENCH-%s-%d", tag, i)}, {Kind: members.Email, Value: fmt.Sprintf("m%d.%s@bench.example", i, tag)}},
				CreatedAt:  created,
				History: []members.BulkMove{{At: created, Kind: members.KindOpening, Points: 1000, Source: "opening", Reason: "bench opening balance",
					ExpiresAt: now.Add(365 * 24 * time.Hour)}},
			})
		}
		res, err := svc.Bulk(ctx, part)
		if err != nil {
			return nil, err
		}
		ids = append(ids, res.IDs...)
	}
	return ids, nil
}

// PrintLoyalty writes a human summary.
func PrintLoyalty(w io.Writer, r LoyaltyResult) {
	fmt.Fprintf(w, "loyalty on %s (%s), %d clients, %d members (loaded in %.1f s), %.1f s\n", r.DB, r.Durability, r.Clients, r.Members, r.LoadS, r.DurationS)
	fmt.Fprintf(w, "  mode: %s\n", r.Mode)
	fmt.Fprintf(w, "  ops committed: %d (%.0f/s) — %v; refused %v, errors %d\n", r.Ops, r.OpsPerSec, r.ByKind, r.Rejected, r.Errors)
	fmt.Fprintf(w, "  latency per op: p50 %.1f ms, p99 %.1f ms, max %.1f ms; commits %d (%.1f writes each)\n", r.P50Ms, r.P99Ms, r.MaxMs, r.Commits, r.WritesPerCommit)
	fmt.Fprintf(w, "  negative balances %d, ledger consistent %v, lost %d\n", r.NegativeBalances, r.LedgerConsistent, r.Lost)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
}

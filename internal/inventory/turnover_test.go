package inventory_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/web"
)

func (f *fixture) post(t *testing.T, kind inventory.MovementKind, loc, sku string, qty int64) {
	t.Helper()
	if _, err := f.inv.Post(context.Background(), inventory.PostRequest{Kind: kind, Location: loc, Lines: []inventory.PostLine{{SKU: sku, Qty: qty}}}); err != nil {
		t.Fatalf("%s %d %s at %s: %v", kind, qty, sku, loc, err)
	}
}

func turnRow(t *testing.T, rep inventory.TurnoverReport, key string) inventory.TurnoverRow {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", key, rep.Rows)
	return inventory.TurnoverRow{}
}

func near(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }

func hasAlert(rep inventory.TurnoverReport, code, dim, key string) bool {
	for _, a := range rep.Alerts {
		if a.Code == code && a.Dimension == dim && a.Key == key {
			return true
		}
	}
	return false
}

func TestTurnover(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		t0 := f.clk.Now()
		// t0: 100 TEE-BLK-M at SH1, 20 at CW, 5 COAT-BLK-M at BJ1 (cost 3500 fen each).
		f.post(t, inventory.Receipt, "SH1", "TEE-BLK-M", 100)
		f.post(t, inventory.Receipt, "CW", "TEE-BLK-M", 20)
		f.post(t, inventory.Receipt, "BJ1", "COAT-BLK-M", 5)
		// t0+10d: SH1 sells 50 and takes 10 back; BJ1 sells 1 coat.
		f.clk.Add(10 * 24 * time.Hour)
		f.post(t, inventory.Sale, "SH1", "TEE-BLK-M", 50)
		f.post(t, inventory.Return, "SH1", "TEE-BLK-M", 10)
		f.post(t, inventory.Sale, "BJ1", "COAT-BLK-M", 1)
		f.clk.Add(20 * 24 * time.Hour) // now t0+30d: the default period is [t0, now)

		// By location: SH1 opens at 0, closes at 60, net 40 sold.
		// COGS 140000, avg (0+210000)/2 = 105000 → 105000×30/140000 = 22.5 days;
		// sell-through 40/100; stock-to-sales 210000/140000.
		rep, err := f.inv.Turnover(ctx, inventory.TurnoverRequest{By: "location"})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.From.Equal(t0) || rep.Days != 30 || rep.Total != 3 {
			t.Fatalf("report period %v..%v days %v total %d", rep.From, rep.To, rep.Days, rep.Total)
		}
		sh1 := turnRow(t, rep, "SH1")
		if sh1.UnitsSold != 40 || sh1.OpeningOnHand != 0 || sh1.ClosingOnHand != 60 || sh1.COGS != 140000 || sh1.AvgInventoryValue != 105000 ||
			!near(sh1.TurnoverDays, 22.5) || !near(sh1.SellThrough, 0.4) || !near(sh1.StockToSales, 1.5) || !near(sh1.StockAgeDays, 30) {
			t.Fatalf("SH1 = %+v", sh1)
		}
		// BJ1: 1 sold, closes at 4: avg 7000 → 7000×30/3500 = 60 days.
		bj1 := turnRow(t, rep, "BJ1")
		if !near(bj1.TurnoverDays, 60) || !near(bj1.SellThrough, 0.2) {
			t.Fatalf("BJ1 = %+v", bj1)
		}
		if cw := turnRow(t, rep, "CW"); cw.TurnoverDays != nil || cw.ClosingOnHand != 20 {
			t.Fatalf("CW = %+v", cw)
		}
		if rep.Rows[0].Key != "CW" || rep.Rows[1].Key != "BJ1" {
			t.Fatalf("rows not worst first: %+v", rep.Rows)
		}
		// Network: 41 sold, 84 on hand: avg 147000 → 147000×30/143500 ≈ 30.73 days.
		if !near(rep.Network.TurnoverDays, 147000.0*30/143500) {
			t.Fatalf("network = %+v", rep.Network)
		}
		for _, c := range []struct {
			code, dim, key string
			want           bool
		}{
			{inventory.AlertTurnoverAboveTarget, "location", "BJ1", true},
			{inventory.AlertTurnoverAboveTarget, "location", "SH1", false},
			{inventory.AlertNoSales, "location", "CW", true},
			{inventory.AlertWorseThanNetwork, "location", "BJ1", true},
			{inventory.AlertWorseThanNetwork, "location", "SH1", false},
			{inventory.AlertWorseThanNetwork, "channel", "pos", false},
			{inventory.AlertWorseThanNetwork, "channel", "shop", false},
			{inventory.AlertPastLifecycle, "sku_location", "COAT-BLK-M@BJ1", false}, // 71 days after launch
		} {
			if hasAlert(rep, c.code, c.dim, c.key) != c.want {
				t.Errorf("alert %s %s %s: want %v in %+v", c.code, c.dim, c.key, c.want, rep.Alerts)
			}
		}

		// By SKU over the whole network: TEE-BLK-M closes at 80 → 30 days,
		// not above a 30-day target but above a 25-day one.
		rep, err = f.inv.Turnover(ctx, inventory.TurnoverRequest{By: "sku", TargetDays: 25})
		if err != nil {
			t.Fatal(err)
		}
		tee := turnRow(t, rep, "TEE-BLK-M")
		if !near(tee.TurnoverDays, 30) || !near(tee.SellThrough, 40.0/120) || !near(tee.StockToSales, 2) ||
			tee.Stage != inventory.StageInSeason || tee.Lifecycle != "classic" || tee.DaysSinceLaunch == nil {
			t.Fatalf("TEE-BLK-M = %+v", tee)
		}
		if !hasAlert(rep, inventory.AlertTurnoverAboveTarget, "sku", "TEE-BLK-M") {
			t.Fatalf("no target alert for TEE-BLK-M: %+v", rep.Alerts)
		}

		// An explicit later-starting period: SH1 opens at 100 and closes at 60
		// over 20 days: avg 280000 → 280000×20/140000 = 40 days.
		rep, err = f.inv.Turnover(ctx, inventory.TurnoverRequest{By: "location", From: t0.Add(10 * 24 * time.Hour), To: f.clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if sh1 := turnRow(t, rep, "SH1"); sh1.OpeningOnHand != 100 || !near(sh1.TurnoverDays, 40) {
			t.Fatalf("SH1 from t0+10d = %+v", sh1)
		}
		// A period ending before the sales: SH1 closes at 100, sold nothing.
		rep, err = f.inv.Turnover(ctx, inventory.TurnoverRequest{By: "location", From: t0, To: t0.Add(5 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if sh1 := turnRow(t, rep, "SH1"); sh1.ClosingOnHand != 100 || sh1.UnitsSold != 0 || sh1.TurnoverDays != nil {
			t.Fatalf("SH1 to t0+5d = %+v", sh1)
		}

		// 30 days on, COAT (fashion, launched 2026-10-01) is 101 days old.
		f.clk.Add(30 * 24 * time.Hour)
		rep, err = f.inv.Turnover(ctx, inventory.TurnoverRequest{By: "style"})
		if err != nil {
			t.Fatal(err)
		}
		coat := turnRow(t, rep, "COAT")
		if coat.Stage != inventory.StagePastLifecycle || coat.DaysSinceLaunch == nil || *coat.DaysSinceLaunch != 101 || coat.PastLifecycleOnHand != 4 {
			t.Fatalf("COAT = %+v", coat)
		}
		if !hasAlert(rep, inventory.AlertPastLifecycle, "sku_location", "COAT-BLK-M@BJ1") {
			t.Fatalf("no past-lifecycle alert: %+v", rep.Alerts)
		}
		if turnRow(t, rep, "TEE").Stage != inventory.StageInSeason {
			t.Fatalf("TEE stage: %+v", rep.Rows)
		}
	})
}

func TestTurnoverHTTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		h := web.Adapt(slog.New(slog.NewTextHandler(io.Discard, nil)), (&inventory.Handler{S: f.inv}).Turnover)
		for _, c := range []struct {
			name, query string
			status      int
			field       string
		}{
			{"default", "", 200, ""},
			{"by category with dates", "?by=category&from=2026-10-01&to=2026-11-01&target_days=45&limit=10", 200, ""},
			{"unknown by", "?by=colour", 422, "by"},
			{"from after to", "?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", 422, "from"},
			{"bad time", "?to=yesterday", 422, "to"},
			{"bad target", "?target_days=0", 422, "target_days"},
			{"bad limit", "?limit=0", 422, "limit"},
		} {
			t.Run(c.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/inventory/turnover"+c.query, nil))
				if rec.Code != c.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
				}
				if c.field == "" {
					var rep inventory.TurnoverReport
					if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || rep.Rows == nil || rep.Alerts == nil {
						t.Fatalf("body %s: %v", rec.Body, err)
					}
					return
				}
				var p struct {
					Code   string `json:"code"`
					Errors []struct {
						Field string `json:"field"`
					} `json:"errors"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "validation_failed" || len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Fatalf("problem %s, want field %s", rec.Body, c.field)
				}
			})
		}
	})
}

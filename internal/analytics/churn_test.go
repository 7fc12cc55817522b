package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// TestStoreCLVRuns: each run's LatestPAlive is the previous run's P(alive),
// across imports, and bad input stores nothing.
func TestStoreCLVRuns(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d, outbox.New(nil), nil)
		imp1, err := s.SaveImport(ctx, "one", storeSmall(false), ImportSummary{})
		if err != nil {
			t.Fatal(err)
		}
		imp2, err := s.SaveImport(ctx, "two", storeSmall(true), ImportSummary{Format: FormatCDNOW})
		if err != nil {
			t.Fatal(err)
		}
		if p, id, err := s.LatestPAlive(ctx, 0); err != nil || id != 0 || p == nil || len(p) != 0 {
			t.Fatalf("LatestPAlive with no runs = %v, %d, %v; want empty, 0, nil", p, id, err)
		}
		first := map[string]float64{}
		for i := range 701 { // more than two INSERT chunks
			first[fmt.Sprintf("c%04d", i)] = float64(i%101) / 100
		}
		second := map[string]float64{"c0001": 0.001, "c0002": 1, "new": 0.5}
		bg := BGNBD{R: 0.24, Alpha: 4.4, A: 0.79, B: 2.4, Converged: true}
		id1, err := s.SaveCLVRun(ctx, imp1.ID, clvCalibrationEnd, bg, first)
		if err != nil {
			t.Fatal(err)
		}
		id2, err := s.SaveCLVRun(ctx, imp2.ID, clvCalibrationEnd, bg, second)
		if err != nil {
			t.Fatal(err)
		}
		if id2 <= id1 {
			t.Fatalf("run ids %d then %d", id1, id2)
		}
		cases := []struct {
			name   string
			before int64
			want   map[string]float64
			wantID int64
		}{
			{"before the second", id2, first, id1},
			{"latest", 0, second, id2},
			{"before the first", id1, map[string]float64{}, 0},
		}
		for _, c := range cases {
			got, id, err := s.LatestPAlive(ctx, c.before)
			if err != nil || id != c.wantID || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("%s: LatestPAlive = %d customers, run %d, %v; want %d customers, run %d",
					c.name, len(got), id, err, len(c.want), c.wantID)
			}
		}
		invalid := errs.New(errs.Invalid, "validation", "")
		bad := []struct {
			name     string
			importID int64
			palive   map[string]float64
			want     error
		}{
			{"above 1", imp1.ID, map[string]float64{"a": 1.5}, invalid},
			{"NaN", imp1.ID, map[string]float64{"a": math.NaN()}, invalid},
			{"empty id", imp1.ID, map[string]float64{"": 0.5}, invalid},
			{"unknown import", 999999, map[string]float64{"a": 0.5}, ErrImportNotFound},
		}
		for _, c := range bad {
			_, err := s.SaveCLVRun(ctx, c.importID, clvCalibrationEnd, bg, c.palive)
			if err == nil {
				t.Fatalf("%s: saved", c.name)
			}
			if e, ok := errs.As(err); c.want == ErrImportNotFound && !errors.Is(err, ErrImportNotFound) || c.want == invalid && (!ok || e.Kind != errs.Invalid) {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		var runs, rows, events int
		if err := d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM analytics_clv_runs), (SELECT COUNT(*) FROM analytics_palive),
			(SELECT COUNT(*) FROM events WHERE topic = 'analytics.clv_run_saved')`).Scan(&runs, &rows, &events); err != nil {
			t.Fatal(err)
		}
		if runs != 2 || rows != len(first)+len(second) || events != 2 {
			t.Fatalf("%d runs, %d P(alive) rows, %d events; want 2, %d, 2", runs, rows, events, len(first)+len(second))
		}
	})
}

// churnCLV calls the CLV handler on an import and decodes its answer.
func churnCLV(t *testing.T, h *Handler, importID int64, query string) CLVAnswer {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/api/v1/analytics/imports/%d/clv?calibration_end=1997-09-30&%s", importID, query), nil)
	r.SetPathValue("id", fmt.Sprint(importID))
	w := httptest.NewRecorder()
	if err := h.CLV(w, r); err != nil {
		t.Fatalf("CLV?%s: %v", query, err)
	}
	var out CLVAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("CLV?%s: %v\n%s", query, err, w.Body)
	}
	if !out.Converged {
		t.Fatalf("CLV?%s did not converge: %s", query, out.Warning)
	}
	return out
}

// TestCLVChurnWarnings: a CLV run over CDNOW_sample compares with the
// previous stored run and flags the customers whose P(alive) fell fastest.
func TestCLVChurnWarnings(t *testing.T) {
	path := filepath.Join(clvDataDir, "CDNOW_sample.txt.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("CDNOW data not found at %s (the shared data folder, ../../../shared/data from internal/analytics); skipping: %v", path, err)
	}
	ds, sum, err := ImportFile(path, ImportOptions{Format: FormatCDNOW})
	if err != nil {
		t.Fatal(err)
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d, outbox.New(nil), nil)
		rec, err := s.SaveImport(ctx, "cdnow sample", ds, sum)
		if err != nil {
			t.Fatal(err)
		}
		h := &Handler{S: s}

		// No previous run: threshold warnings only, and save=false stores nothing.
		a := churnCLV(t, h, rec.ID, "churn_threshold=0.3&save=false")
		if a.Churn.PreviousRunID != 0 || a.Churn.Saved || a.Churn.RunID != 0 || len(a.Churn.Warnings) == 0 {
			t.Fatalf("first run: %+v", a.Churn)
		}
		for _, w := range a.Churn.Warnings {
			if !w.BelowThreshold || w.FellFastest || w.PAlive >= 0.3 || w.Previous != nil {
				t.Fatalf("first run warning %+v", w)
			}
		}
		if _, id, err := s.LatestPAlive(ctx, 0); err != nil || id != 0 {
			t.Fatalf("save=false stored run %d (%v)", id, err)
		}

		// The default saves the run; its P(alive) are the model's.
		b := churnCLV(t, h, rec.ID, "churn_threshold=0")
		if !b.Churn.Saved || b.Churn.RunID == 0 || len(b.Churn.Warnings) != 0 {
			t.Fatalf("second run: %+v", b.Churn)
		}
		now, id, err := s.LatestPAlive(ctx, 0)
		if err != nil || id != b.Churn.RunID || len(now) != b.Customers {
			t.Fatalf("LatestPAlive = %d customers, run %d, %v; want %d, run %d", len(now), id, err, b.Customers, b.Churn.RunID)
		}

		// A previous run where three customers were more alive by 0.3, 0.2, 0.1.
		var mid []string
		for c, p := range now {
			if p > 0.35 && p < 0.6 {
				mid = append(mid, c)
			}
		}
		slices.Sort(mid)
		if len(mid) < 3 {
			t.Fatalf("only %d customers with P(alive) in (0.35, 0.6); fix the test", len(mid))
		}
		prev := map[string]float64{}
		for c, p := range now {
			prev[c] = p
		}
		drops := map[string]float64{mid[0]: 0.3, mid[1]: 0.2, mid[2]: 0.1}
		for c, dp := range drops {
			prev[c] += dp
		}
		prevID, err := s.SaveCLVRun(ctx, rec.ID, clvCalibrationEnd, b.BGNBD, prev)
		if err != nil {
			t.Fatal(err)
		}
		c := churnCLV(t, h, rec.ID, "churn_threshold=0.35&top=2")
		if c.Churn.PreviousRunID != prevID || !c.Churn.Saved || c.Churn.RunID <= prevID || c.Churn.Threshold != 0.35 || c.Churn.Top != 2 {
			t.Fatalf("third run: previous %d saved %v run %d threshold %v top %d; want previous %d",
				c.Churn.PreviousRunID, c.Churn.Saved, c.Churn.RunID, c.Churn.Threshold, c.Churn.Top, prevID)
		}
		var fell []string
		for _, w := range c.Churn.Warnings {
			if w.BelowThreshold != (w.PAlive < 0.35) {
				t.Fatalf("warning %+v: below_threshold wrong", w)
			}
			if !w.FellFastest {
				continue
			}
			fell = append(fell, w.Customer)
			if w.Previous == nil || math.Abs(w.Drop-drops[w.Customer]) > 1e-9 || w.Reason == "" {
				t.Fatalf("fell-fastest warning %+v; want drop %v", w, drops[w.Customer])
			}
		}
		slices.Sort(fell)
		if want := []string{mid[0], mid[1]}; !slices.Equal(fell, want) {
			t.Fatalf("fell fastest: %v; want %v", fell, want)
		}
	})
}

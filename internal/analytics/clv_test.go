package analytics

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
	"gonum.org/v1/gonum/stat/distuv"
)

// clvDataDir is shared/data seen from this package's directory.
const clvDataDir = "../../../shared/data"

var clvCalibrationEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)

const clvWeek = 7 * 24 * time.Hour

func clvOpenData(tb testing.TB, name string) *bufio.Reader {
	tb.Helper()
	path := filepath.Join(clvDataDir, name)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("CDNOW data not found at %s (the shared data folder, ../../../shared/data from internal/analytics); skipping", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return bufio.NewReader(zr)
}

// clvReadPublishedSummary reads cdnow_customers_summary_with_transactions
// (ID,x,t_x,T,zbar), keyed by the numeric ID, in file order.
func clvReadPublishedSummary(tb testing.TB) []CustomerSummary {
	tb.Helper()
	rows, err := csv.NewReader(clvOpenData(tb, "cdnow_customers_summary_with_transactions.csv.gz")).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "ID,x,t_x,T,zbar" {
		tb.Fatalf("header %q", got)
	}
	var out []CustomerSummary
	for i, r := range rows[1:] {
		var v [5]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(strings.TrimSpace(r[j]), 64); err != nil {
				tb.Fatalf("line %d column %d: %v", i+2, j+1, err)
			}
		}
		out = append(out, CustomerSummary{Customer: strconv.Itoa(int(v[0])), Frequency: v[1], Recency: v[2], T: v[3], Monetary: v[4]})
	}
	if len(out) != 2357 {
		tb.Fatalf("published summary has %d rows, want 2357", len(out))
	}
	return out
}

// clvReadCDNOW reads a CDNOW transaction file into a Dataset: whitespace-
// separated [master id,] [sample id,] date YYYYMMDD, number of CDs, dollar
// value (the line's total). idCol picks the customer id column; a header
// line (not starting with a digit) is skipped. Qty is 1 and Price the dollar
// value in cents, so Amount is the line's value exactly.
func clvReadCDNOW(tb testing.TB, name string, idCol int) *Dataset {
	tb.Helper()
	b := NewBuilder("USD")
	sc := bufio.NewScanner(clvOpenData(tb, name))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0][0] < '0' || f[0][0] > '9' {
			continue
		}
		day, err := time.Parse("20060102", f[len(f)-3])
		if err != nil {
			tb.Fatalf("%s line %d: %v", name, n, err)
		}
		whole, frac, _ := strings.Cut(f[len(f)-1], ".")
		cents, err := strconv.ParseInt(whole+(frac + "00")[:2], 10, 64)
		if err != nil || len(frac) > 2 {
			tb.Fatalf("%s line %d: dollar value %q", name, n, f[len(f)-1])
		}
		b.Add(strconv.Itoa(n), f[idCol], "CD", 1, cents, day, "", "")
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return b.D
}

func clvSummarizeSample(tb testing.TB) []CustomerSummary {
	tb.Helper()
	d := clvReadCDNOW(tb, "CDNOW_sample.txt.gz", 1)
	if d.Len() != 6919 {
		tb.Fatalf("CDNOW sample: %d lines, want 6919", d.Len())
	}
	s, err := Summarize(d, clvCalibrationEnd, clvWeek)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestSummarizeCDNOW: the calibration summary of CDNOW_sample with
// calibration end 1997-09-30 is the published one, row by row.
func TestSummarizeCDNOW(t *testing.T) {
	t.Parallel()
	want := clvReadPublishedSummary(t)
	got := clvSummarizeSample(t)
	if len(got) != len(want) {
		t.Fatalf("%d customers, want %d", len(got), len(want))
	}
	byID := map[int]CustomerSummary{}
	for _, s := range got {
		id, err := strconv.Atoi(s.Customer)
		if err != nil {
			t.Fatalf("customer id %q", s.Customer)
		}
		byID[id] = s
	}
	bad := 0
	for _, w := range want {
		id, _ := strconv.Atoi(w.Customer)
		g, ok := byID[id]
		if !ok {
			t.Errorf("customer %d missing", id)
			continue
		}
		// The published values are rounded to 2 dp.
		if g.Frequency != w.Frequency || math.Abs(g.Recency-w.Recency) > 0.005+1e-9 ||
			math.Abs(g.T-w.T) > 0.005+1e-9 || math.Abs(g.Monetary-w.Monetary) > 0.005+1e-9 {
			if bad++; bad <= 10 {
				t.Errorf("customer %d: got x=%v t_x=%.4f T=%.4f zbar=%.4f, want %v %.2f %.2f %.2f",
					id, g.Frequency, g.Recency, g.T, g.Monetary, w.Frequency, w.Recency, w.T, w.Monetary)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d rows differ", bad, len(want))
	}
	// Holdout: every line after 1997-09-30 is in some customer's holdout.
	holdout := 0
	for _, s := range got {
		holdout += s.HoldoutPurchases
	}
	if holdout == 0 {
		t.Error("no holdout purchases counted")
	}
}

// clvRelClose reports whether got is within rel (relative) of want.
func clvRelClose(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// TestFitCLVCDNOW fits both models on the published summary and on the one
// Summarize computes from the transactions, and checks the published
// estimates (within 0.5 %) and the published conditional expectations.
func TestFitCLVCDNOW(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		load func(testing.TB) []CustomerSummary
	}{
		{"published summary", clvReadPublishedSummary},
		{"summarized from CDNOW_sample", clvSummarizeSample},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			summaries := tc.load(t)
			start := time.Now()
			res, err := FitCLV(summaries)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("FitCLV: %v", err)
			}
			t.Logf("fit in %v: BG/NBD %+v; Gamma-Gamma %+v", elapsed, res.BGNBD, res.GammaGamma)
			if !res.BGNBD.Converged || !res.GammaGamma.Converged {
				t.Fatalf("converged: BG/NBD %v, Gamma-Gamma %v", res.BGNBD.Converged, res.GammaGamma.Converged)
			}
			if res.Customers != 2357 || res.RepeatCustomers != 946 || res.SpendCustomers != 946 {
				t.Errorf("customers %d, repeat %d, spend %d; want 2357, 946, 946", res.Customers, res.RepeatCustomers, res.SpendCustomers)
			}
			for _, p := range []struct {
				name      string
				got, want float64
			}{
				{"r", res.BGNBD.R, 0.2426},
				{"alpha", res.BGNBD.Alpha, 4.4136},
				{"a", res.BGNBD.A, 0.7929},
				{"b", res.BGNBD.B, 2.4259},
				{"BG/NBD loglik", res.BGNBD.LogLik, -9582.43},
				{"p", res.GammaGamma.P, 6.25},
				{"q", res.GammaGamma.Q, 3.74},
				{"gamma", res.GammaGamma.Gamma, 15.44},
				{"Gamma-Gamma loglik", res.GammaGamma.LogLik, -4055.92},
			} {
				if !clvRelClose(p.got, p.want, 0.005) {
					t.Errorf("%s = %.6g, want %v ± 0.5 %%", p.name, p.got, p.want)
				}
			}
			// The published expectations (lifetimes tests, from Hardie's spreadsheets).
			clvCheckExpectations(t, res.BGNBD)
			wantValue := []float64{24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17}
			byID := map[string]CustomerSummary{}
			for _, s := range summaries {
				byID[strings.TrimLeft(s.Customer, "0")] = s
			}
			for i, want := range wantValue {
				s := byID[strconv.Itoa(i+1)]
				got, err := res.GammaGamma.ExpectedAverageValue(s.Frequency, s.Monetary)
				if err != nil || math.Abs(got-want) > 0.01 {
					t.Errorf("customer %d: expected average value %.4f (%v), want %.2f ± 0.01", i+1, got, err, want)
				}
			}
		})
	}
}

func clvCheckExpectations(t *testing.T, m BGNBD) {
	t.Helper()
	got, err := m.ConditionalExpectedPurchases(39, 2, 30.43, 38.86)
	if err != nil || math.Abs(got-1.226) > 0.0005 {
		t.Errorf("E[X(39) | x=2, t_x=30.43, T=38.86] = %.5f (%v), want 1.226", got, err)
	}
	times := []float64{0.1429, 1, 3, 31.8571, 32, 78}
	want := []float64{0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576}
	for i, tt := range times {
		got, err := m.ExpectedPurchases(tt)
		// The published values have 4 decimals: allow their rounding, or 0.5 %.
		if err != nil || math.Abs(got-want[i]) > max(0.00005+1e-9, 0.005*want[i]) {
			t.Errorf("E[X(%v)] = %.6f (%v), want %v", tt, got, err, want[i])
		}
	}
}

// TestBGNBDExpectationsPublishedParams checks the expectations at the
// published parameters (Fader, Hardie & Lee 2005), independent of the fit.
func TestBGNBDExpectationsPublishedParams(t *testing.T) {
	t.Parallel()
	clvCheckExpectations(t, BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259})
}

func TestBGNBDProperties(t *testing.T) {
	t.Parallel()
	m := BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259}
	tests := []struct {
		name string
		got  func() float64
		want float64
		tol  float64
	}{
		{"P(alive) without repeat purchases is 1", func() float64 { return m.PAlive(0, 0, 38.86) }, 1, 0},
		// 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), by hand for x=2, t_x=30.43, T=38.86.
		{"P(alive) x=2", func() float64 { return m.PAlive(2, 30.43, 38.86) },
			1 / (1 + 0.7929/(2.4259+1)*math.Pow((4.4136+38.86)/(4.4136+30.43), 2.2426)), 1e-12},
		{"P(alive) bought at T", func() float64 { return m.PAlive(3, 20, 20) }, 1 / (1 + 0.7929/(2.4259+2)), 1e-12},
		{"E[X(0)] = 0", func() float64 { v, _ := m.ExpectedPurchases(0); return v }, 0, 0},
		{"a near 1 is continuous", func() float64 {
			lo, _ := BGNBD{R: 0.5, Alpha: 4, A: 1 - 2e-4, B: 2}.ExpectedPurchases(10)
			hi, _ := BGNBD{R: 0.5, Alpha: 4, A: 1 + 2e-4, B: 2}.ExpectedPurchases(10)
			mid, _ := BGNBD{R: 0.5, Alpha: 4, A: 1, B: 2}.ExpectedPurchases(10)
			return mid - (lo+hi)/2
		}, 0, 1e-6},
		// Lower P(alive) for a customer silent since t_x = 1 than since 30.
		{"P(alive) falls with silence", func() float64 {
			return math.Copysign(1, m.PAlive(2, 30, 38.86)-m.PAlive(2, 1, 38.86))
		}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.got(); math.Abs(got-tc.want) > tc.tol || math.IsNaN(got) {
				t.Errorf("got %.12g, want %.12g ± %g", got, tc.want, tc.tol)
			}
		})
	}
	if _, err := m.ExpectedPurchases(-1); err == nil {
		t.Error("E[X(-1)]: no error")
	}
	if _, err := m.ConditionalExpectedPurchases(10, 2, 5, 3); err == nil {
		t.Error("t_x > T: no error")
	}
}

func TestCLVHyp2F1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		a, b, c, z float64
		want       float64
	}{
		{"z = 0", 1.5, 2.5, 3.5, 0, 1},
		{"-ln(1-z)/z", 1, 1, 2, 0.3, -math.Log(1-0.3) / 0.3},
		{"-ln(1-z)/z near 1", 1, 1, 2, 0.999, -math.Log(1-0.999) / 0.999},
		{"(1-z)^-a", 2.7, 1.3, 1.3, 0.6, math.Pow(1-0.6, -2.7)},
		{"(1-z)^-a large", 40, 3, 3, 0.95, math.Pow(0.05, -40)},
		{"arcsin", 0.5, 0.5, 1.5, 0.49, math.Asin(0.7) / 0.7},
		{"atanh", 0.5, 1, 1.5, 0.81, math.Atanh(0.9) / 0.9},
		// Gauss's sum at z→1 is not reachable; check (1+z)^... via Euler: 2F1(a,b;b;z).
		{"beyond 1e308", 200, 1, 1, 0.99, math.NaN()}, // ln only: 200·ln(100)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := clvLogHyp2F1(tc.a, tc.b, tc.c, tc.z)
			if err != nil {
				t.Fatal(err)
			}
			want := math.Log(tc.want)
			if math.IsNaN(tc.want) {
				want = -tc.a * math.Log(1-tc.z)
			}
			if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
				t.Errorf("ln 2F1(%v, %v; %v; %v) = %.15g, want %.15g", tc.a, tc.b, tc.c, tc.z, got, want)
			}
		})
	}
	for _, bad := range [][4]float64{{1, 1, 2, 1}, {1, 1, 2, -0.5}, {-1, 1, 2, 0.5}, {1, 1, 0, 0.5}} {
		if _, err := clvLogHyp2F1(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("2F1%v: no error", bad)
		}
	}
}

// TestCLVGradients compares the analytic gradients with central differences.
func TestCLVGradients(t *testing.T) {
	t.Parallel()
	s := []CustomerSummary{
		{Frequency: 0, Recency: 0, T: 30}, {Frequency: 1, Recency: 2, T: 38}, {Frequency: 5, Recency: 30, T: 35},
		{Frequency: 2, Recency: 10, T: 12, Monetary: 20}, {Frequency: 5, Recency: 1, T: 39, Monetary: 11.5},
		{Frequency: 1, Recency: 3, T: 3, Monetary: 50},
	}
	bg := clvNewBGData(s)
	var gg clvGGData
	for _, c := range s {
		if c.Frequency > 0 && c.Monetary > 0 {
			gg.xs = append(gg.xs, c.Frequency)
			gg.counts = append(gg.counts, 1)
			gg.cx = append(gg.cx, int32(len(gg.xs)-1))
			gg.z = append(gg.z, c.Monetary)
			gg.lnZ = append(gg.lnZ, math.Log(c.Monetary))
		}
	}
	tests := []struct {
		name string
		f    func(p, grad []float64) float64
		at   []float64 // log parameters
	}{
		{"BG/NBD", func(p, g []float64) float64 {
			return bg.logLik(math.Exp(p[0]), math.Exp(p[1]), math.Exp(p[2]), math.Exp(p[3]), g)
		}, []float64{math.Log(0.3), math.Log(4), math.Log(0.8), math.Log(2.5)}},
		{"Gamma-Gamma", func(p, g []float64) float64 {
			return gg.logLik(math.Exp(p[0]), math.Exp(p[1]), math.Exp(p[2]), g)
		}, []float64{math.Log(6), math.Log(3.7), math.Log(15)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			grad := make([]float64, len(tc.at))
			tc.f(tc.at, grad)
			const h = 1e-6
			for i := range tc.at {
				p := append([]float64(nil), tc.at...)
				p[i] += h
				up := tc.f(p, nil)
				p[i] -= 2 * h
				down := tc.f(p, nil)
				num := (up - down) / (2 * h)
				if math.Abs(num-grad[i]) > 1e-6*max(1, math.Abs(num)) {
					t.Errorf("d/dθ%d: analytic %.10g, numeric %.10g", i, grad[i], num)
				}
			}
		})
	}
}

// TestFitNotConverged: a fit that stops early, or whose estimate runs off to
// the boundary, says so and is refused for forecasting.
func TestFitNotConverged(t *testing.T) {
	t.Parallel()
	sim, _ := clvSimulate(1000, 1, true)
	noDropout, _ := clvSimulate(2000, 3, false)
	bounded := clvBoundarySummaries(300)
	tests := []struct {
		name string
		fit  func() (bool, error)
	}{
		{"BG/NBD stopped after 2 iterations", func() (bool, error) { m, err := clvFitBGNBD(sim, 2); return m.Converged, err }},
		{"Gamma-Gamma stopped after 1 iteration", func() (bool, error) { m, err := clvFitGammaGamma(sim, 1); return m.Converged, err }},
		{"BG/NBD with no heterogeneity in dropout", func() (bool, error) { m, err := FitBGNBD(bounded); return m.Converged, err }},
		{"BG/NBD with no dropout at all", func() (bool, error) { m, err := FitBGNBD(noDropout); return m.Converged, err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			converged, err := tc.fit()
			t.Log(err)
			if converged || !errors.Is(err, ErrCLVNotConverged) {
				t.Errorf("converged %v, err %v; want not converged and ErrCLVNotConverged", converged, err)
			}
		})
	}
	res, err := FitCLV(bounded)
	if !errors.Is(err, ErrCLVNotConverged) || res.BGNBD.Converged || !res.GammaGamma.Converged {
		t.Errorf("FitCLV: %+v, %v; want BG/NBD not converged, Gamma-Gamma converged", res, err)
	}
	if _, err := PredictCLV(bounded, res, CLVOptions{Horizon: 52}); !errors.Is(err, ErrCLVNotConverged) {
		t.Errorf("PredictCLV with an unconverged model: err %v, want ErrCLVNotConverged", err)
	}
}

// TestFitCLVSimulated fits data simulated from both models with known
// parameters: the fit converges, its log-likelihood is at least that of the
// true parameters (it is the maximum), and the estimates are near the truth.
func TestFitCLVSimulated(t *testing.T) {
	t.Parallel()
	s, truth := clvSimulate(10000, 7, true)
	res, err := FitCLV(s)
	if err != nil {
		t.Fatal(err)
	}
	bgTrue := clvNewBGData(s).logLik(truth.BGNBD.R, truth.BGNBD.Alpha, truth.BGNBD.A, truth.BGNBD.B, nil)
	if res.BGNBD.LogLik < bgTrue {
		t.Errorf("BG/NBD loglik %v < %v at the true parameters", res.BGNBD.LogLik, bgTrue)
	}
	var gg clvGGData
	for _, c := range s {
		if c.Frequency > 0 {
			gg.xs = append(gg.xs, c.Frequency)
			gg.counts = append(gg.counts, 1)
			gg.cx = append(gg.cx, int32(len(gg.xs)-1))
			gg.z = append(gg.z, c.Monetary)
			gg.lnZ = append(gg.lnZ, math.Log(c.Monetary))
		}
	}
	ggTrue := gg.logLik(truth.GammaGamma.P, truth.GammaGamma.Q, truth.GammaGamma.Gamma, nil)
	if res.GammaGamma.LogLik < ggTrue || math.Abs(gg.logLik(res.GammaGamma.P, res.GammaGamma.Q, res.GammaGamma.Gamma, nil)-res.GammaGamma.LogLik) > 1e-6 {
		t.Errorf("Gamma-Gamma loglik %v < %v at the true parameters", res.GammaGamma.LogLik, ggTrue)
	}
	for _, p := range []struct {
		name      string
		got, want float64
	}{
		{"r", res.BGNBD.R, truth.BGNBD.R}, {"alpha", res.BGNBD.Alpha, truth.BGNBD.Alpha},
		{"a", res.BGNBD.A, truth.BGNBD.A}, {"b", res.BGNBD.B, truth.BGNBD.B},
		{"p", res.GammaGamma.P, truth.GammaGamma.P}, {"q", res.GammaGamma.Q, truth.GammaGamma.Q},
		{"gamma", res.GammaGamma.Gamma, truth.GammaGamma.Gamma},
	} {
		if !clvRelClose(p.got, p.want, 0.35) {
			t.Errorf("%s = %.4g, true %.4g", p.name, p.got, p.want)
		}
	}
	t.Logf("fitted %+v %+v; true %+v %+v", res.BGNBD, res.GammaGamma, truth.BGNBD, truth.GammaGamma)
}

// clvSimulate draws n customers from BG/NBD (r=0.25, α=4, a=0.8, b=2.5, T
// between 26 and 39 weeks) and Gamma-Gamma (p=6, q=4, γ=15) with a fixed seed;
// without dropout every customer stays alive (p = 0).
func clvSimulate(n int, seed uint64, dropout bool) ([]CustomerSummary, CLVResult) {
	truth := CLVResult{BGNBD: BGNBD{R: 0.25, Alpha: 4, A: 0.8, B: 2.5}, GammaGamma: GammaGamma{P: 6, Q: 4, Gamma: 15}}
	src := rand.NewPCG(seed, 1)
	rng := rand.New(src)
	gamma := func(shape, rate float64) float64 { return distuv.Gamma{Alpha: shape, Beta: rate, Src: src}.Rand() }
	out := make([]CustomerSummary, n)
	for i := range out {
		s := CustomerSummary{Customer: fmt.Sprintf("s%05d", i), T: 26 + 13*rng.Float64()}
		lambda := gamma(truth.BGNBD.R, truth.BGNBD.Alpha)
		g1, g2 := gamma(truth.BGNBD.A, 1), gamma(truth.BGNBD.B, 1)
		p := g1 / (g1 + g2)
		nu := gamma(truth.GammaGamma.Q, truth.GammaGamma.Gamma)
		sum := 0.0
		for t := 0.0; ; {
			t += rng.ExpFloat64() / lambda
			if t > s.T {
				break
			}
			s.Frequency++
			s.Recency = t
			sum += gamma(truth.GammaGamma.P, nu)
			if dropout && rng.Float64() < p {
				break
			}
		}
		if s.Frequency > 0 {
			s.Monetary = sum / s.Frequency
		}
		out[i] = s
	}
	return out, truth
}

// clvBoundarySummaries: every customer buys regularly until a purchase after
// which they stop, with no spread in how soon; the BG/NBD likelihood then
// increases without bound in a and b (a homogeneous dropout probability).
func clvBoundarySummaries(n int) []CustomerSummary {
	out := make([]CustomerSummary, n)
	for i := range out {
		T := float64(10 + i%30)
		x := float64((i * 7) % 5)
		tx, z := 0.0, 0.0
		if x > 0 {
			tx = T * float64(1+i%9) / 10
			z = 10 + float64((i*13)%40)
		}
		out[i] = CustomerSummary{Customer: fmt.Sprintf("c%04d", i), Frequency: x, Recency: tx, T: T, Monetary: z}
	}
	return out
}

func TestFitCLVBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    []CustomerSummary
	}{
		{"no customers", nil},
		{"no repeat customers", []CustomerSummary{{Customer: "a", T: 3}, {Customer: "b", T: 5}, {Customer: "c", T: 1}}},
		{"recency after T", []CustomerSummary{{Customer: "a", Frequency: 1, Recency: 5, T: 3, Monetary: 2}, {Customer: "b", T: 5}}},
		{"fractional frequency", []CustomerSummary{{Customer: "a", Frequency: 1.5, Recency: 1, T: 3, Monetary: 2}, {Customer: "b", T: 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := FitCLV(tc.s)
			if err == nil {
				t.Errorf("no error; result %+v", res)
			}
			if res.BGNBD.Converged || res.GammaGamma.Converged {
				t.Errorf("a failed fit claims convergence: %+v", res)
			}
		})
	}
}

// clvSmallDataset: hand-checkable lines.
func clvSmallDataset() *Dataset {
	b := NewBuilder("USD")
	day := func(s string) time.Time {
		t, _ := time.Parse(time.DateTime, s)
		return t
	}
	// customer A: 3 lines on 01-01 (one day), 01-08, 01-15 (two lines), holdout 02-05 and 02-20.
	b.Add("1", "A", "s1", 2, 500, day("2024-01-01 09:00:00"), "", "")
	b.Add("1", "A", "s2", 1, 250, day("2024-01-01 23:59:59"), "", "")
	b.Add("2", "A", "s1", 1, 1000, day("2024-01-08 10:00:00"), "", "")
	b.Add("3", "A", "s1", 1, 300, day("2024-01-15 10:00:00"), "", "")
	b.Add("3", "A", "s3", -1, 100, day("2024-01-15 11:00:00"), "", "") // a return nets off
	b.Add("4", "A", "s1", 1, 700, day("2024-02-05 10:00:00"), "", "")
	b.Add("5", "A", "s1", 1, 900, day("2024-02-20 10:00:00"), "", "")
	// customer B: one purchase on the calibration end date.
	b.Add("6", "B", "s1", 1, 400, day("2024-01-29 20:00:00"), "", "")
	// unknown customer: ignored for customers, but part of the date range.
	b.Add("7", "", "s1", 1, 100, day("2023-12-30 10:00:00"), "", "")
	// customer C: first purchase after the calibration end → excluded.
	b.Add("8", "C", "s1", 1, 100, day("2024-02-01 10:00:00"), "", "")
	return b.D
}

func TestSummarizeSmall(t *testing.T) {
	t.Parallel()
	d := clvSmallDataset()
	calEnd := time.Date(2024, 1, 29, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		holdout time.Time
		want    []CustomerSummary
	}{
		{"holdout to the end", time.Time{}, []CustomerSummary{
			// A: days 01-01 (12.50), 01-08 (10.00), 01-15 (3.00 − 1.00): x = 2,
			// t_x = 2 weeks, T = 4 weeks, zbar = (10 + 2)/2 = 6.
			{Customer: "A", Frequency: 2, Recency: 2, T: 4, Monetary: 6, Lines: 5, HoldoutPurchases: 2, HoldoutValue: 16,
				First: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Customer: "B", Frequency: 0, Recency: 0, T: 0, Monetary: 0, Lines: 1,
				First: time.Date(2024, 1, 29, 0, 0, 0, 0, time.UTC)},
		}},
		{"holdout to 02-10", time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC), []CustomerSummary{
			{Customer: "A", Frequency: 2, Recency: 2, T: 4, Monetary: 6, Lines: 5, HoldoutPurchases: 1, HoldoutValue: 7,
				First: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Customer: "B", Frequency: 0, Recency: 0, T: 0, Monetary: 0, Lines: 1,
				First: time.Date(2024, 1, 29, 0, 0, 0, 0, time.UTC)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := SummarizeHoldout(d, calEnd, tc.holdout, clvWeek)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// In days rather than weeks.
	got, err := Summarize(d, calEnd, 24*time.Hour)
	if err != nil || got[0].Recency != 14 || got[0].T != 28 {
		t.Errorf("in days: %+v, %v", got, err)
	}
}

func TestSummarizeErrors(t *testing.T) {
	t.Parallel()
	d := clvSmallDataset()
	day := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name             string
		d                *Dataset
		calEnd, holdout  time.Time
		unit             time.Duration
		field, inMessage string
	}{
		{"calibration end before the data", d, day(2023, 12, 29), time.Time{}, clvWeek, "calibration_end", "2023-12-30..2024-02-20"},
		{"calibration end after the data", d, day(2024, 2, 21), time.Time{}, clvWeek, "calibration_end", "2023-12-30..2024-02-20"},
		{"holdout before calibration", d, day(2024, 1, 29), day(2024, 1, 28), clvWeek, "holdout_end", "before"},
		{"zero unit", d, day(2024, 1, 29), time.Time{}, 0, "unit", "positive"},
		{"empty dataset", NewBuilder("USD").D, day(2024, 1, 29), time.Time{}, clvWeek, "input", "no lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := SummarizeHoldout(tc.d, tc.calEnd, tc.holdout, tc.unit)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid || len(e.Fields) != 1 {
				t.Fatalf("err = %v, want one invalid field", err)
			}
			if e.Fields[0].Field != tc.field || !strings.Contains(e.Error(), tc.inMessage) {
				t.Errorf("err = %v, want field %s and %q in the message", err, tc.field, tc.inMessage)
			}
		})
	}
	// The first and last dates themselves are fine.
	for _, c := range []time.Time{day(2023, 12, 30), day(2024, 2, 20)} {
		if _, err := Summarize(d, c, clvWeek); err != nil {
			t.Errorf("calibration end %s: %v", c.Format(time.DateOnly), err)
		}
	}
}

func TestCustomerCLV(t *testing.T) {
	t.Parallel()
	bg := BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259}
	gg := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	s := CustomerSummary{Customer: "1", Frequency: 2, Recency: 30.43, T: 38.86, Monetary: 22.35}
	plain, err := CustomerCLV(bg, gg, s, CLVOptions{Horizon: 39})
	if err != nil {
		t.Fatal(err)
	}
	wantValue := 6.25 * (15.44 + 2*22.35) / (6.25*2 + 3.74 - 1)
	if math.Abs(plain.ExpectedPurchases-1.226) > 0.0005 || math.Abs(plain.ExpectedValue-wantValue) > 1e-9 ||
		math.Abs(plain.CLV-plain.ExpectedPurchases*wantValue) > 1e-9 {
		t.Errorf("undiscounted: %+v", plain)
	}
	tests := []struct {
		name string
		opt  CLVOptions
		want float64
	}{
		// One month covering the whole horizon: everything discounted once.
		{"one month", CLVOptions{Horizon: 39, MonthlyDiscount: 0.01, PeriodsPerMonth: 39}, plain.CLV / 1.01},
		// A tiny rate barely changes the value.
		{"tiny rate", CLVOptions{Horizon: 39, MonthlyDiscount: 1e-12, PeriodsPerMonth: WeeksPerMonth}, plain.CLV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := CustomerCLV(bg, gg, s, tc.opt)
			if err != nil || math.Abs(v.CLV-tc.want) > 1e-9 {
				t.Errorf("CLV %.12g (%v), want %.12g", v.CLV, err, tc.want)
			}
		})
	}
	monthly, err := CustomerCLV(bg, gg, s, CLVOptions{Horizon: 39, MonthlyDiscount: 0.01, PeriodsPerMonth: WeeksPerMonth})
	if err != nil || !(monthly.CLV < plain.CLV && monthly.CLV > plain.CLV/1.01/1.01/1.01/1.01/1.01/1.01/1.01/1.01/1.01) {
		t.Errorf("monthly discounting over 9 months: %v (%v), undiscounted %v", monthly.CLV, err, plain.CLV)
	}
	for _, bad := range []CLVOptions{{Horizon: 0}, {Horizon: 10, MonthlyDiscount: 0.1}, {Horizon: 10, MonthlyDiscount: -1, PeriodsPerMonth: 4}} {
		if _, err := CustomerCLV(bg, gg, s, bad); err == nil {
			t.Errorf("options %+v: no error", bad)
		}
	}
}

func TestChurnWarnings(t *testing.T) {
	t.Parallel()
	m := BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259}
	s := []CustomerSummary{
		{Customer: "active", Frequency: 5, Recency: 38, T: 38.86},    // P(alive) ≈ 0.88
		{Customer: "silent", Frequency: 5, Recency: 5, T: 38.86},     // P(alive) ≈ 0.00
		{Customer: "new", Frequency: 0, Recency: 0, T: 2},            // 1
		{Customer: "fading", Frequency: 2, Recency: 20, T: 38.86},    // ≈ 0.5
		{Customer: "fading2", Frequency: 1, Recency: 36, T: 38.86},   // ≈ 0.74
		{Customer: "unchanged", Frequency: 1, Recency: 30, T: 38.86}, // no drop
	}
	p := PAliveByCustomer(s, m)
	for _, c := range []struct {
		name   string
		lo, hi float64
	}{{"active", 0.8, 1}, {"silent", 0, 0.05}, {"new", 1, 1}, {"fading", 0.3, 0.6}, {"fading2", 0.6, 0.9}} {
		if v := p[c.name]; v < c.lo || v > c.hi {
			t.Fatalf("P(alive) of %s = %v, not in [%v, %v]; fix the fixture", c.name, v, c.lo, c.hi)
		}
	}
	previous := map[string]float64{"fading": 0.95, "fading2": p["fading2"] + 0.1, "unchanged": p["unchanged"], "silent": 0.001} // silent rose
	tests := []struct {
		name      string
		threshold float64
		previous  map[string]float64
		topN      int
		want      string // customer:below/fell, in output order
	}{
		{"threshold only", 0.2, nil, 10, "silent:below"},
		{"drops only", 0, previous, 10, "fading:fell fading2:fell"},
		{"top 1 drop", 0, previous, 1, "fading:fell"},
		{"both", 0.6, previous, 1, "silent:below fading:below+fell"},
		{"nothing", 0, nil, 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, w := range ChurnWarningsTop(s, m, tc.threshold, tc.previous, tc.topN) {
				var why []string
				if w.BelowThreshold {
					why = append(why, "below")
				}
				if w.FellFastest {
					why = append(why, "fell")
				}
				if w.Reason == "" {
					t.Errorf("%s: no reason", w.Customer)
				}
				if w.FellFastest && (w.Previous == nil || math.Abs(w.Drop-(*w.Previous-w.PAlive)) > 1e-12) {
					t.Errorf("%s: previous %v, drop %v", w.Customer, w.Previous, w.Drop)
				}
				got = append(got, w.Customer+":"+strings.Join(why, "+"))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
	if n := len(ChurnWarnings(s, m, 0.2, nil)); n != 1 {
		t.Errorf("ChurnWarnings: %d warnings, want 1", n)
	}
}

// BenchmarkFitCLVMaster fits both models on the CDNOW master file
// (23,570 customers, calibration end 1997-09-30).
func BenchmarkFitCLVMaster(b *testing.B) {
	d := clvReadCDNOW(b, "CDNOW_master.txt.gz", 0)
	s, err := Summarize(d, clvCalibrationEnd, clvWeek)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := FitCLV(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummarizeMaster summarizes the CDNOW master file (69,659 lines).
func BenchmarkSummarizeMaster(b *testing.B) {
	d := clvReadCDNOW(b, "CDNOW_master.txt.gz", 0)
	for b.Loop() {
		if _, err := Summarize(d, clvCalibrationEnd, clvWeek); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCLVResultJSON: the shape `omni analytics clv --json` prints.
func TestCLVResultJSON(t *testing.T) {
	t.Parallel()
	res := CLVResult{
		BGNBD:      BGNBD{R: 0.25, Alpha: 4, A: 0.8, B: 2.5, LogLik: -1, Converged: true, Iterations: 7, Status: "GradientThreshold"},
		GammaGamma: GammaGamma{P: 6, Q: 4, Gamma: 15, LogLik: -2, Converged: false, Iterations: 3, Status: "Failure"},
		Customers:  10, RepeatCustomers: 4, SpendCustomers: 4,
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"bgnbd":{"r":0.25,"alpha":4,"a":0.8,"b":2.5,"loglik":-1,"converged":true},` +
		`"gamma_gamma":{"p":6,"q":4,"gamma":15,"loglik":-2,"converged":false},"customers":10,"repeat_customers":4}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// BenchmarkFitCLVSample fits both models on the CDNOW sample (2,357 customers).
func BenchmarkFitCLVSample(b *testing.B) {
	s := clvSummarizeSample(b)
	for b.Loop() {
		if _, err := FitCLV(s); err != nil {
			b.Fatal(err)
		}
	}
}

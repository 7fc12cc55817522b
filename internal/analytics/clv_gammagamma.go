package analytics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// GammaGamma is a fitted Gamma-Gamma spend model (Fader & Hardie 2013, "The
// Gamma-Gamma model of monetary value"): a customer's purchase values are
// Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, independent of the
// purchase process. It is fitted on repeat customers only (x > 0, zbar > 0),
// with values in major currency units.
type GammaGamma struct {
	P          float64 `json:"p"`
	Q          float64 `json:"q"`
	Gamma      float64 `json:"gamma"`
	LogLik     float64 `json:"loglik"`
	Converged  bool    `json:"converged"`
	Iterations int     `json:"-"`
	Status     string  `json:"-"`
}

// clvGGGradTol is the gradient threshold of the Gamma-Gamma fit, per customer.
const clvGGGradTol = 1e-7

// clvGGData is the fitting data grouped by frequency, like clvBGData.
type clvGGData struct {
	xs     []float64
	counts []float64
	cx     []int32
	z, lnZ []float64 // per customer: zbar and ln zbar
	n      float64
}

// logLik returns the log-likelihood at (p, q, γ) and, when grad is not nil,
// its gradient with respect to (ln p, ln q, ln γ). Per customer,
//
//	ln L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + px ln x
//	       + (px−1) ln zbar − (px+q) ln(γ + x zbar).
func (d *clvGGData) logLik(p, q, g float64, grad []float64) float64 {
	lgQ, _ := math.Lgamma(q)
	psiQ := mathext.Digamma(q)
	lnG := math.Log(g)
	type perX struct{ ll, dp, dq, lnX float64 }
	px := make([]perX, len(d.xs))
	for k, x := range d.xs {
		l1, _ := math.Lgamma(p*x + q)
		l2, _ := math.Lgamma(p * x)
		lnX := math.Log(x)
		v := perX{ll: l1 - l2 - lgQ + q*lnG + p*x*lnX, lnX: lnX}
		if grad != nil {
			psi := mathext.Digamma(p*x + q)
			v.dp = x * (psi - mathext.Digamma(p*x) + lnX)
			v.dq = psi - psiQ + lnG
		}
		px[k] = v
	}
	var ll, gp, gq, gg clvSum
	for k := range d.xs {
		w := d.counts[k]
		ll.add(w * px[k].ll)
		if grad != nil {
			gp.add(w * px[k].dp)
			gq.add(w * px[k].dq)
			gg.add(w * q / g)
		}
	}
	for i, k := range d.cx {
		x := d.xs[k]
		lnD := math.Log(g + x*d.z[i])
		ll.add((p*x-1)*d.lnZ[i] - (p*x+q)*lnD)
		if grad != nil {
			gp.add(x * (d.lnZ[i] - lnD))
			gq.add(-lnD)
			gg.add(-(p*x + q) / (g + x*d.z[i]))
		}
	}
	if grad != nil {
		grad[0], grad[1], grad[2] = gp.sum()*p, gq.sum()*q, gg.sum()*g
	}
	return ll.sum()
}

// FitGammaGamma fits the Gamma-Gamma model by maximum likelihood (gonum's
// BFGS on the logarithms of p, q, γ, with the analytic gradient) on the
// summaries with Frequency > 0 and Monetary > 0; the others are ignored.
//
// A run that does not converge, or whose likelihood has no interior maximum
// (p or q runs off to 0 or infinity, or the likelihood is flat along p, q,
// q and γ together, or p against γ), returns the model with Converged false and an error wrapping
// ErrCLVNotConverged. Fewer than 3 repeat customers, or an
// all-equal zbar (the likelihood then has no maximum), is an error.
func FitGammaGamma(summaries []CustomerSummary) (GammaGamma, error) {
	return clvFitGammaGamma(summaries, clvMaxIterations)
}

func clvFitGammaGamma(summaries []CustomerSummary, maxIter int) (GammaGamma, error) {
	d := &clvGGData{}
	index := map[float64]int32{}
	var lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range summaries {
		if err := clvCheckSummary(s); err != nil {
			return GammaGamma{}, fmt.Errorf("analytics: Gamma-Gamma: %w", err)
		}
		if s.Frequency <= 0 || s.Monetary <= 0 {
			continue
		}
		k, ok := index[s.Frequency]
		if !ok {
			k = int32(len(d.xs))
			index[s.Frequency] = k
			d.xs = append(d.xs, s.Frequency)
			d.counts = append(d.counts, 0)
		}
		d.counts[k]++
		d.cx = append(d.cx, k)
		d.z = append(d.z, s.Monetary)
		d.lnZ = append(d.lnZ, math.Log(s.Monetary))
		lo, hi = min(lo, s.Monetary), max(hi, s.Monetary)
	}
	d.n = float64(len(d.cx))
	if len(d.cx) < 3 {
		return GammaGamma{}, fmt.Errorf("analytics: Gamma-Gamma needs at least 3 repeat customers with a positive mean value, got %d", len(d.cx))
	}
	if lo == hi {
		return GammaGamma{}, fmt.Errorf("analytics: Gamma-Gamma: every repeat customer has the same mean value %v; the spread cannot be estimated", lo)
	}
	mean := 0.0
	for _, z := range d.z {
		mean += z / d.n
	}
	obj := clvObjective{dim: 3, eval: func(x, grad []float64) float64 {
		ll := d.logLik(math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2]), grad)
		for i := range grad {
			grad[i] = -grad[i] / d.n
		}
		return -ll / d.n
	}}
	// Start at p = 1, q = 2, γ = mean zbar, whose implied mean spend pγ/(q−1)
	// is the observed mean.
	res, err := obj.minimize([]float64{0, math.Log(2), math.Log(mean)}, clvGGGradTol, maxIter)
	if res == nil {
		return GammaGamma{}, fmt.Errorf("analytics: Gamma-Gamma fit: %w", err)
	}
	m := GammaGamma{P: math.Exp(res.X[0]), Q: math.Exp(res.X[1]), Gamma: math.Exp(res.X[2]),
		Iterations: res.MajorIterations, Status: res.Status.String()}
	m.LogLik = d.logLik(m.P, m.Q, m.Gamma, nil)
	if err == nil {
		err = clvBoundary("p q", m.P, m.Q)
	}
	if err == nil {
		err = clvFlat(func(th []float64) float64 {
			return d.logLik(math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), nil)
		}, res.X, []clvDirection{
			{"p", []float64{1, 0, 0}}, {"q", []float64{0, 1, 0}},
			{"q and gamma together", []float64{0, 1, 1}}, {"p against gamma", []float64{1, 0, -1}},
		})
	}
	m.Converged = err == nil
	switch {
	case err != nil && res.Status == optimize.GradientThreshold:
		m.Status = "Boundary"
		return m, ErrCLVNotConverged.Withf("Gamma-Gamma fit has no interior maximum: %v", err)
	case err != nil:
		return m, ErrCLVNotConverged.Withf("Gamma-Gamma fit stopped with status %s after %d iterations: %v", res.Status, res.MajorIterations, err)
	}
	return m, nil
}

// ExpectedAverageValue is E[Z | x, zbar], the expected mean value of a
// customer's future purchases given x repeat purchases of mean value zbar:
// p(γ + x zbar)/(px + q − 1), a weighted mean of the population mean
// pγ/(q−1) and zbar. For x = 0 it is the population mean, which exists only
// when q > 1; otherwise the result is an error.
func (m GammaGamma) ExpectedAverageValue(x, zbar float64) (float64, error) {
	if x <= 0 || zbar <= 0 {
		x, zbar = 0, 0
	}
	den := m.P*x + m.Q - 1
	if !(den > 0) {
		return math.NaN(), fmt.Errorf("analytics: Gamma-Gamma expected value is undefined for q = %v ≤ 1 and x = %v", m.Q, x)
	}
	return m.P * (m.Gamma + x*zbar) / den, nil
}

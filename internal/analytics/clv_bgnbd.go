package analytics

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// BGNBD is a fitted BG/NBD model (Fader, Hardie & Lee 2005, "Counting your
// customers the easy way"): while alive a customer buys as a Poisson process
// with rate λ ~ Gamma(r, α); after each purchase they drop out with
// probability p ~ Beta(a, b). Time is in the unit of the summaries it was
// fitted on (weeks for CDNOW).
//
// Converged is false when the maximiser stopped short of an optimum; the
// numbers are then not estimates and FitBGNBD returns an error with them.
type BGNBD struct {
	R          float64 `json:"r"`
	Alpha      float64 `json:"alpha"`
	A          float64 `json:"a"`
	B          float64 `json:"b"`
	LogLik     float64 `json:"loglik"`
	Converged  bool    `json:"converged"`
	Iterations int     `json:"-"` // major iterations of the optimiser
	Status     string  `json:"-"` // the optimiser's final status, e.g. "GradientThreshold"; "Boundary" when there is no interior maximum
}

// clvBGGradTol is the gradient threshold of the BG/NBD fit, per customer: the
// objective is the mean negative log-likelihood in log-parameter space.
const clvBGGradTol = 1e-7

// clvBGData is the fitting data grouped by frequency: the terms with lgamma
// and digamma depend on x alone, so they are computed once per distinct x.
type clvBGData struct {
	xs     []float64 // distinct frequencies
	counts []float64 // customers per distinct frequency
	cx     []int32   // per customer: index into xs
	tx, t  []float64 // per customer
	n      float64
}

func clvNewBGData(s []CustomerSummary) *clvBGData {
	d := &clvBGData{cx: make([]int32, len(s)), tx: make([]float64, len(s)), t: make([]float64, len(s)), n: float64(len(s))}
	index := map[float64]int32{}
	for i, c := range s {
		k, ok := index[c.Frequency]
		if !ok {
			k = int32(len(d.xs))
			index[c.Frequency] = k
			d.xs = append(d.xs, c.Frequency)
			d.counts = append(d.counts, 0)
		}
		d.counts[k]++
		d.cx[i], d.tx[i], d.t[i] = k, c.Recency, c.T
	}
	return d
}

// logLik returns the log-likelihood at (r, α, a, b) and, when grad is not
// nil, stores its gradient with respect to (ln r, ln α, ln a, ln b).
//
// Per customer, ln L = ln Γ(r+x) − ln Γ(r) + r ln α
// + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
// + ln( (α+T)^−(r+x) + [x>0] a/(b+x−1) (α+t_x)^−(r+x) ),
// the last term by log-sum-exp.
func (d *clvBGData) logLik(r, alpha, a, b float64, grad []float64) float64 {
	nx := len(d.xs)
	// Per distinct x: the Gamma-function part, and its partial derivatives.
	type perX struct{ ll, dr, da, db, lnA4c float64 }
	px := make([]perX, nx)
	lgR, _ := math.Lgamma(r)
	lgAB, _ := math.Lgamma(a + b)
	lgB, _ := math.Lgamma(b)
	psiR, psiAB, psiB := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	lnAlpha, lnA := math.Log(alpha), math.Log(a)
	for k, x := range d.xs {
		l1, _ := math.Lgamma(r + x)
		l2, _ := math.Lgamma(b + x)
		l3, _ := math.Lgamma(a + b + x)
		p := perX{ll: l1 - lgR + r*lnAlpha + lgAB + l2 - lgB - l3}
		if grad != nil {
			psiABX := mathext.Digamma(a + b + x)
			p.dr = mathext.Digamma(r+x) - psiR + lnAlpha
			p.da = psiAB - psiABX
			p.db = psiAB + mathext.Digamma(b+x) - psiB - psiABX
		}
		if x > 0 {
			p.lnA4c = lnA - math.Log(b+x-1)
		}
		px[k] = p
	}
	// Compensated sums: with tens of thousands of customers the rounding of
	// a plain sum is what stops the line search near the optimum.
	var ll, gr, gal, ga, gb clvSum
	for i, k := range d.cx {
		x := d.xs[k]
		p := &px[k]
		lnT := math.Log(alpha + d.t[i])
		l3 := -(r + x) * lnT
		if x == 0 {
			ll.add(l3)
			if grad != nil {
				gr.add(-lnT)
				gal.add(-(r + x) / (alpha + d.t[i]))
			}
			continue
		}
		lnTx := math.Log(alpha + d.tx[i])
		l4 := p.lnA4c - (r+x)*lnTx
		hi := max(l3, l4)
		e3, e4 := math.Exp(l3-hi), math.Exp(l4-hi)
		sum := e3 + e4
		ll.add(hi + math.Log(sum))
		if grad != nil {
			w3, w4 := e3/sum, e4/sum
			gr.add(-(w3*lnT + w4*lnTx))
			gal.add(-(r + x) * (w3/(alpha+d.t[i]) + w4/(alpha+d.tx[i])))
			ga.add(w4 / a)
			gb.add(-w4 / (b + x - 1))
		}
	}
	for k := range d.xs {
		w := d.counts[k]
		ll.add(w * px[k].ll)
		if grad != nil {
			gr.add(w * px[k].dr)
			ga.add(w * px[k].da)
			gb.add(w * px[k].db)
			gal.add(w * r / alpha)
		}
	}
	if grad != nil {
		grad[0], grad[1], grad[2], grad[3] = gr.sum()*r, gal.sum()*alpha, ga.sum()*a, gb.sum()*b
	}
	return ll.sum()
}

// clvSum is a Neumaier (compensated) running sum.
type clvSum struct{ s, c float64 }

func (k *clvSum) add(v float64) {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
}

func (k *clvSum) sum() float64 { return k.s + k.c }

// FitBGNBD fits the BG/NBD model by maximum likelihood (gonum's BFGS on the
// logarithms of the parameters, with the analytic gradient). Frequency,
// Recency and T of each summary are x, t_x and T.
//
// When the optimiser does not reach a point where the gradient vanishes, or
// the likelihood has no interior maximum (r, a or b runs off to 0 or
// infinity, or the likelihood is flat along a, b, a and b together, or r and
// α together — e.g. when no customer appears to drop out), the result has
// Converged false and the error wraps ErrCLVNotConverged; bad input
// (no customers, negative or non-integer frequency, t_x > T) is an error with
// a zero BGNBD.
func FitBGNBD(summaries []CustomerSummary) (BGNBD, error) {
	return clvFitBGNBD(summaries, clvMaxIterations)
}

// clvMaxIterations bounds the optimiser's major iterations; the CDNOW fits
// take about 25.
const clvMaxIterations = 1000

func clvFitBGNBD(summaries []CustomerSummary, maxIter int) (BGNBD, error) {
	if len(summaries) < 2 {
		return BGNBD{}, fmt.Errorf("analytics: BG/NBD needs at least 2 customers, got %d", len(summaries))
	}
	repeat := 0
	for _, s := range summaries {
		if err := clvCheckSummary(s); err != nil {
			return BGNBD{}, fmt.Errorf("analytics: BG/NBD: %w", err)
		}
		if s.Frequency > 0 {
			repeat++
		}
	}
	if repeat == 0 {
		return BGNBD{}, fmt.Errorf("analytics: BG/NBD needs at least one repeat customer (frequency > 0)")
	}
	data := clvNewBGData(summaries)
	meanT := 0.0
	for _, t := range data.t {
		meanT += t / data.n
	}
	obj := clvObjective{dim: 4, eval: func(p, grad []float64) float64 {
		ll := data.logLik(math.Exp(p[0]), math.Exp(p[1]), math.Exp(p[2]), math.Exp(p[3]), grad)
		for i := range grad {
			grad[i] = -grad[i] / data.n
		}
		return -ll / data.n
	}}
	// Start at r = 1, α = mean T (a rate of about one purchase per
	// observation period), a = b = 1 (dropout probability ½).
	x0 := []float64{0, math.Log(max(meanT, 1)), 0, 0}
	res, err := obj.minimize(x0, clvBGGradTol, maxIter)
	if res == nil {
		return BGNBD{}, fmt.Errorf("analytics: BG/NBD fit: %w", err)
	}
	m := BGNBD{
		R: math.Exp(res.X[0]), Alpha: math.Exp(res.X[1]), A: math.Exp(res.X[2]), B: math.Exp(res.X[3]),
		Iterations: res.MajorIterations, Status: res.Status.String(),
	}
	m.LogLik = data.logLik(m.R, m.Alpha, m.A, m.B, nil)
	if err == nil {
		err = clvBoundary("r a b", m.R, m.A, m.B)
	}
	if err == nil {
		err = clvFlat(func(th []float64) float64 {
			return data.logLik(math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), math.Exp(th[3]), nil)
		}, res.X, []clvDirection{
			{"a", []float64{0, 0, 1, 0}}, {"b", []float64{0, 0, 0, 1}},
			{"a and b together", []float64{0, 0, 1, 1}}, {"r and alpha together", []float64{1, 1, 0, 0}},
		})
	}
	m.Converged = err == nil
	switch {
	case err != nil && res.Status == optimize.GradientThreshold:
		m.Status = "Boundary"
		return m, ErrCLVNotConverged.Withf("BG/NBD fit has no interior maximum: %v", err)
	case err != nil:
		return m, ErrCLVNotConverged.Withf("BG/NBD fit stopped with status %s after %d iterations: %v", res.Status, res.MajorIterations, err)
	}
	return m, nil
}

// PAlive is the probability that a customer with frequency x, recency t_x and
// age T is still alive at T: 1 / (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)).
func (m BGNBD) PAlive(x, tx, T float64) float64 {
	if x <= 0 {
		return 1
	}
	lnOdds := math.Log(m.A/(m.B+x-1)) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	return 1 / (1 + math.Exp(lnOdds))
}

// ExpectedPurchases is E[X(t)], the expected number of repeat purchases of a
// customer in the first t units after their first purchase:
// (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))].
// The error reports a negative or non-finite t, a + b ≤ 1 (outside the
// domain of the ₂F₁ series used here), or a series that did not converge
// (t enormous against α).
func (m BGNBD) ExpectedPurchases(t float64) (float64, error) {
	if !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN(), fmt.Errorf("analytics: expected purchases: t = %v is not a finite value ≥ 0", t)
	}
	if t == 0 {
		return 0, nil
	}
	return clvNearOne(m.A, func(a float64) (float64, error) {
		c := a + m.B - 1
		lf, err := clvLogHyp2F1(m.R, m.B, c, t/(m.Alpha+t))
		if err != nil {
			return math.NaN(), err
		}
		g := math.Exp(m.R*(math.Log(m.Alpha)-math.Log(m.Alpha+t)) + lf)
		return c / (a - 1) * (1 - g), nil
	})
}

// ConditionalExpectedPurchases is E[X(T, T+t) | x, t_x, T], the expected
// number of purchases in the next t units of a customer with frequency x,
// recency t_x and age T (equation 10 of Fader, Hardie & Lee 2005):
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//	/ (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)).
//
// Errors are as for ExpectedPurchases, plus x < 0 or t_x outside 0..T.
func (m BGNBD) ConditionalExpectedPurchases(t, x, tx, T float64) (float64, error) {
	if !(t >= 0) || math.IsInf(t, 0) {
		return math.NaN(), fmt.Errorf("analytics: conditional expected purchases: t = %v is not a finite value ≥ 0", t)
	}
	if !(x >= 0) || !(tx >= 0) || !(T >= tx) {
		return math.NaN(), fmt.Errorf("analytics: conditional expected purchases: need x ≥ 0 and 0 ≤ t_x ≤ T, got x=%v t_x=%v T=%v", x, tx, T)
	}
	if t == 0 {
		return 0, nil
	}
	e, err := clvNearOne(m.A, func(a float64) (float64, error) {
		c := a + m.B + x - 1
		lf, err := clvLogHyp2F1(m.R+x, m.B+x, c, t/(m.Alpha+T+t))
		if err != nil {
			return math.NaN(), err
		}
		g := math.Exp((m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+T+t)) + lf)
		return c / (a - 1) * (1 - g), nil
	})
	return e * m.PAlive(x, tx, T), err
}

// clvNearOne evaluates f(a), which has a removable singularity at a = 1 (a
// 0/0 in the BG/NBD expectations), as the mean of f on either side of 1 when
// a is within 1e-4 of it.
func clvNearOne(a float64, f func(a float64) (float64, error)) (float64, error) {
	const h = 1e-4
	if math.Abs(a-1) >= h {
		return f(a)
	}
	lo, err := f(1 - h)
	if err != nil {
		return math.NaN(), err
	}
	hi, err := f(1 + h)
	if err != nil {
		return math.NaN(), err
	}
	return lo + (hi-lo)*(a-(1-h))/(2*h), nil
}

// clvObjective adapts a function that returns its value and fills its
// gradient to gonum's Problem, evaluating both at once and caching the last
// point (the line search asks for the value and the gradient at the same x).
type clvObjective struct {
	dim   int
	eval  func(x, grad []float64) float64
	lastX []float64
	lastF float64
	lastG []float64
}

func (o *clvObjective) at(x []float64) {
	if o.lastX != nil && slices.Equal(o.lastX, x) {
		return
	}
	if o.lastG == nil {
		o.lastG = make([]float64, o.dim)
	}
	o.lastF = o.eval(x, o.lastG)
	o.lastX = append(o.lastX[:0], x...)
}

// minimize runs BFGS from x0 until the gradient's infinity norm is below
// gradTol, for at most maxIter major iterations. (BFGS rather than L-BFGS:
// on the CDNOW Gamma-Gamma fit L-BFGS's line search stalls at a gradient
// of 2e-7 per customer, while BFGS reaches 2e-8 in 20 iterations.)
//
// It returns the result and a non-nil error when the run did not end at such
// a point (a line-search failure, the iteration limit, a non-finite value);
// the result is nil only when gonum could not start.
func (o *clvObjective) minimize(x0 []float64, gradTol float64, maxIter int) (*optimize.Result, error) {
	p := optimize.Problem{
		Func: func(x []float64) float64 { o.at(x); return o.lastF },
		Grad: func(g, x []float64) { o.at(x); copy(g, o.lastG) },
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIter,
		Converger:         optimize.NeverTerminate{},
	}
	res, err := optimize.Minimize(p, x0, settings, &optimize.BFGS{})
	if res == nil {
		return nil, err
	}
	if err == nil && res.Status != optimize.GradientThreshold {
		err = fmt.Errorf("optimizer ended with status %s", res.Status)
	}
	if math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		err = fmt.Errorf("log-likelihood is not finite (%v)", -res.F)
	}
	return res, err
}

// clvDirection is a direction in log-parameter space, named for messages.
type clvDirection struct {
	name string
	dir  []float64
}

// clvFlat reports a direction along which the log-likelihood is flat: moving
// the parameters by a factor of 10 either way changes it by less than 0.001.
// At a true interior maximum every such move costs likelihood; a flat one
// means the optimiser stopped on a ridge running to the boundary of the
// parameter space (e.g. a → 0, b → ∞ when no customer appears to drop out),
// where the gradient vanishes without there being an estimate.
func clvFlat(ll func(theta []float64) float64, theta []float64, dirs []clvDirection) error {
	const tol = 1e-3
	base := ll(theta)
	th := make([]float64, len(theta))
	for _, d := range dirs {
		flat := true
		for _, step := range []float64{math.Ln10, -math.Ln10} {
			for i := range th {
				th[i] = theta[i] + step*d.dir[i]
			}
			if math.Abs(ll(th)-base) >= tol {
				flat = false
			}
		}
		if flat {
			return fmt.Errorf("the log-likelihood changes by less than %g when %s is scaled by 10 or 1/10: "+
				"the maximum lies on the boundary of the parameter space and the data do not identify it", tol, d.name)
		}
	}
	return nil
}

// clvBoundary reports a shape parameter that ran off towards 0 or infinity:
// the likelihood then has no interior maximum (e.g. a, b → ∞ when the data
// show no heterogeneity in dropout), so the "estimate" is not one, even if
// the gradient has flattened out.
func clvBoundary(names string, values ...float64) error {
	const lo, hi = 1e-8, 1e6
	for i, v := range values {
		if !(v >= lo && v <= hi) {
			return fmt.Errorf("%s = %.4g ran to the boundary of the parameter space (outside %g..%g): the data do not identify the model",
				strings.Fields(names)[i], v, lo, hi)
		}
	}
	return nil
}

package analytics

import (
	"fmt"
	"math"
)

// clvHyp2F1MaxTerms bounds the series; z = 1 − 1e-5 needs about 4 million.
const clvHyp2F1MaxTerms = 5_000_000

// clvLogHyp2F1 returns ln ₂F₁(a, b; c; z), the Gauss hypergeometric
// function, for a, b, c > 0 and 0 ≤ z < 1 — the domain the BG/NBD
// expectations need.
//
// There every term of the series Σ (a)ₙ(b)ₙ/(c)ₙ zⁿ/n! is positive, so the
// plain sum has no cancellation however large it grows; the running sum is
// rescaled to stay finite and the scale is returned in the logarithm. The sum
// stops when a geometric bound on the remaining tail is below 1e-15 of the
// sum, and fails (rather than returning an inaccurate value) if that takes
// more than clvHyp2F1MaxTerms terms.
func clvLogHyp2F1(a, b, c, z float64) (float64, error) {
	if !(a > 0 && b > 0 && c > 0) || !(z >= 0 && z < 1) || math.IsInf(a+b+c, 0) {
		return math.NaN(), fmt.Errorf("analytics: 2F1(%g, %g; %g; %g) is outside a, b, c > 0, 0 ≤ z < 1", a, b, c, z)
	}
	const (
		eps      = 1e-15
		big      = 1e280
		logBig   = 644.7238260383328 // ln 1e280
		smallBig = 1e-280
	)
	sum, term, scale := 1.0, 1.0, 0.0
	for n := 0.0; n < clvHyp2F1MaxTerms; n++ {
		term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		sum += term
		if sum > big {
			sum *= smallBig
			term *= smallBig
			scale += logBig
		}
		if term > eps*sum {
			continue
		}
		// The ratio of successive terms tends to z; once past its extremes it
		// is monotone, so max(next ratio, z) bounds every later ratio and the
		// tail is at most term·ρ/(1−ρ).
		rho := max((a+n+1)*(b+n+1)/((c+n+1)*(n+2))*z, z)
		if rho < 1 && term*rho/(1-rho) <= eps*sum && n > a+b+c {
			return math.Log(sum) + scale, nil
		}
		if term == 0 {
			return math.Log(sum) + scale, nil
		}
	}
	return math.NaN(), fmt.Errorf("analytics: 2F1(%g, %g; %g; %g) did not converge in %d terms", a, b, c, z, clvHyp2F1MaxTerms)
}

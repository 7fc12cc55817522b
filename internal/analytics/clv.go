package analytics

// CLV: customer lifetime value from the BG/NBD purchase model and the
// Gamma-Gamma spend model, fitted by maximum likelihood on per-customer
// calibration summaries (see Summarize), and the churn warning built on the
// BG/NBD probability that a customer is still alive.

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// ErrCLVNotConverged reports a model fit whose optimiser stopped before it
// reached a maximum of the likelihood. Errors returned with a model whose
// Converged is false match it with errors.Is.
var ErrCLVNotConverged = errs.New(errs.Invalid, "clv_not_converged", "the CLV model fit did not converge")

// WeeksPerMonth is the number of weeks in an average month, for
// CLVOptions.PeriodsPerMonth when the summaries are in weeks.
const WeeksPerMonth = 365.25 / 12 / 7

// CLVResult is the pair of fitted models and the customers they were fitted on.
// Its JSON form is what `omni analytics clv --json` prints.
type CLVResult struct {
	BGNBD      BGNBD      `json:"bgnbd"`
	GammaGamma GammaGamma `json:"gamma_gamma"`
	// Customers is the number of summaries the BG/NBD model was fitted on.
	Customers int `json:"customers"`
	// RepeatCustomers is the number with a repeat purchase (x > 0).
	RepeatCustomers int `json:"repeat_customers"`
	// SpendCustomers is the number the Gamma-Gamma model was fitted on
	// (x > 0 and zbar > 0).
	SpendCustomers int `json:"-"`
}

// Converged reports whether both models converged.
func (r CLVResult) Converged() bool { return r.BGNBD.Converged && r.GammaGamma.Converged }

// FitCLV fits BG/NBD on all summaries and Gamma-Gamma on the repeat customers
// with a positive mean value.
//
// A fit that does not converge is reported, not hidden: its model has
// Converged false and the error wraps ErrCLVNotConverged, while the other
// model and the counts are still filled in. Unusable input (no customers,
// no repeat customers, malformed summaries) is an error with whatever could
// not be fitted left zero.
func FitCLV(summaries []CustomerSummary) (CLVResult, error) {
	res := CLVResult{Customers: len(summaries)}
	for _, s := range summaries {
		if s.Frequency > 0 {
			res.RepeatCustomers++
			if s.Monetary > 0 {
				res.SpendCustomers++
			}
		}
	}
	var errBG, errGG error
	res.BGNBD, errBG = FitBGNBD(summaries)
	res.GammaGamma, errGG = FitGammaGamma(summaries)
	return res, errors.Join(errBG, errGG)
}

// CLVOptions says over what horizon, and with what discounting, to value
// customers.
type CLVOptions struct {
	// Horizon is how far ahead to look, in the unit of the summaries
	// (e.g. 52 for a year in weeks). It must be > 0.
	Horizon float64
	// MonthlyDiscount is the discount rate per month (0.01 = 1 %); 0 means
	// no discounting.
	MonthlyDiscount float64
	// PeriodsPerMonth is the number of summary units in a month
	// (WeeksPerMonth for weeks); needed only when MonthlyDiscount > 0.
	PeriodsPerMonth float64
}

func (o CLVOptions) check() error {
	var v errs.Validator
	v.Check(o.Horizon > 0 && !math.IsInf(o.Horizon, 0), "horizon", "out_of_range", "must be a finite number > 0")
	v.Check(o.MonthlyDiscount >= 0 && o.MonthlyDiscount < 1, "monthly_discount", "out_of_range", "must be in [0, 1)")
	if o.MonthlyDiscount > 0 {
		v.Check(o.PeriodsPerMonth > 0 && !math.IsInf(o.PeriodsPerMonth, 0), "periods_per_month", "out_of_range",
			"must be a finite number > 0 when monthly_discount is set")
	}
	return v.Err()
}

// CustomerValue is one customer's forecast over a horizon.
type CustomerValue struct {
	Customer string  `json:"customer"`
	PAlive   float64 `json:"p_alive"`
	// ExpectedPurchases is the expected number of purchases in the horizon.
	ExpectedPurchases float64 `json:"expected_purchases"`
	// ExpectedValue is the expected mean value of a purchase (Gamma-Gamma),
	// in major currency units.
	ExpectedValue float64 `json:"expected_value"`
	// CLV is the (discounted) value expected over the horizon, major units.
	CLV float64 `json:"clv"`
}

// CustomerCLV forecasts one customer: expected purchases over the horizon ×
// expected value per purchase. With a monthly discount rate d the horizon is
// cut into months and month m's expected purchases are weighted by
// 1/(1+d)^m. The models are used as given; PredictCLV refuses unconverged ones.
func CustomerCLV(bg BGNBD, gg GammaGamma, s CustomerSummary, opt CLVOptions) (CustomerValue, error) {
	if err := opt.check(); err != nil {
		return CustomerValue{}, err
	}
	if err := clvCheckSummary(s); err != nil {
		return CustomerValue{}, fmt.Errorf("analytics: clv: %w", err)
	}
	v := CustomerValue{Customer: s.Customer, PAlive: bg.PAlive(s.Frequency, s.Recency, s.T)}
	var err error
	if v.ExpectedValue, err = gg.ExpectedAverageValue(s.Frequency, s.Monetary); err != nil {
		return CustomerValue{}, err
	}
	expected := func(t float64) (float64, error) {
		return bg.ConditionalExpectedPurchases(t, s.Frequency, s.Recency, s.T)
	}
	if v.ExpectedPurchases, err = expected(opt.Horizon); err != nil {
		return CustomerValue{}, fmt.Errorf("analytics: clv for customer %q: %w", s.Customer, err)
	}
	if opt.MonthlyDiscount == 0 {
		v.CLV = v.ExpectedPurchases * v.ExpectedValue
		return v, nil
	}
	prev := 0.0
	months := int(math.Ceil(opt.Horizon/opt.PeriodsPerMonth - 1e-9))
	for m := 1; m <= months; m++ {
		cum := v.ExpectedPurchases
		if m < months {
			if cum, err = expected(float64(m) * opt.PeriodsPerMonth); err != nil {
				return CustomerValue{}, fmt.Errorf("analytics: clv for customer %q: %w", s.Customer, err)
			}
		}
		v.CLV += (cum - prev) * v.ExpectedValue / math.Pow(1+opt.MonthlyDiscount, float64(m))
		prev = cum
	}
	return v, nil
}

// PredictCLV forecasts every customer with the fitted models, in the order of
// summaries. Models that did not converge are refused with ErrCLVNotConverged.
func PredictCLV(summaries []CustomerSummary, res CLVResult, opt CLVOptions) ([]CustomerValue, error) {
	if !res.Converged() {
		return nil, ErrCLVNotConverged.Withf("refusing to forecast with a model that did not converge (BG/NBD %v, Gamma-Gamma %v)",
			res.BGNBD.Converged, res.GammaGamma.Converged)
	}
	out := make([]CustomerValue, len(summaries))
	for i, s := range summaries {
		v, err := CustomerCLV(res.BGNBD, res.GammaGamma, s, opt)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// PAliveByCustomer is P(alive) of every customer, keyed by customer id — what
// a run keeps so that the next run's ChurnWarnings can see who fell.
func PAliveByCustomer(summaries []CustomerSummary, model BGNBD) map[string]float64 {
	out := make(map[string]float64, len(summaries))
	for _, s := range summaries {
		out[s.Customer] = model.PAlive(s.Frequency, s.Recency, s.T)
	}
	return out
}

// DefaultChurnTopDrops is how many of the largest falls in P(alive) since the
// previous run ChurnWarnings reports.
const DefaultChurnTopDrops = 10

// ChurnWarning flags a customer who may be lost.
type ChurnWarning struct {
	Customer string  `json:"customer"`
	PAlive   float64 `json:"p_alive"`
	// Previous is P(alive) in the previous run; nil when the customer was
	// not in it.
	Previous *float64 `json:"previous_p_alive,omitempty"`
	// Drop is Previous − PAlive (0 without a previous value).
	Drop float64 `json:"drop"`
	// BelowThreshold: PAlive is below the threshold.
	BelowThreshold bool `json:"below_threshold"`
	// FellFastest: the drop is among the largest since the previous run.
	FellFastest bool `json:"fell_fastest"`
	// Reason says why, in words.
	Reason string `json:"reason"`
}

// ChurnWarnings lists customers whose P(alive) is below threshold, and the
// DefaultChurnTopDrops customers whose P(alive) fell the most since the
// previous run (previous maps customer id → P(alive); nil for none). See
// ChurnWarningsTop.
func ChurnWarnings(summaries []CustomerSummary, model BGNBD, threshold float64, previous map[string]float64) []ChurnWarning {
	return ChurnWarningsTop(summaries, model, threshold, previous, DefaultChurnTopDrops)
}

// ChurnWarningsTop is ChurnWarnings reporting the topN largest drops. Only
// real drops count (P(alive) lower than before); a customer flagged for both
// reasons appears once. Warnings are sorted by P(alive), lowest first, then
// by customer id. The model should be a converged fit.
func ChurnWarningsTop(summaries []CustomerSummary, model BGNBD, threshold float64, previous map[string]float64, topN int) []ChurnWarning {
	type cand struct {
		i          int
		pAlive     float64
		prev, drop float64
		hasPrev    bool
	}
	cands := make([]cand, len(summaries))
	var drops []int
	for i, s := range summaries {
		c := cand{i: i, pAlive: model.PAlive(s.Frequency, s.Recency, s.T)}
		if p, ok := previous[s.Customer]; ok {
			c.prev, c.hasPrev, c.drop = p, true, p-c.pAlive
			if c.drop > 0 {
				drops = append(drops, i)
			}
		}
		cands[i] = c
	}
	slices.SortFunc(drops, func(a, b int) int {
		if c := cmp.Compare(cands[b].drop, cands[a].drop); c != 0 {
			return c
		}
		return cmp.Compare(summaries[a].Customer, summaries[b].Customer)
	})
	fell := make(map[int]bool, topN)
	for _, i := range drops[:min(max(topN, 0), len(drops))] {
		fell[i] = true
	}
	var out []ChurnWarning
	for i, c := range cands {
		below := c.pAlive < threshold
		if !below && !fell[i] {
			continue
		}
		w := ChurnWarning{Customer: summaries[i].Customer, PAlive: c.pAlive, BelowThreshold: below, FellFastest: fell[i]}
		if c.hasPrev {
			w.Previous = &c.prev
			w.Drop = c.drop
		}
		switch {
		case below && fell[i]:
			w.Reason = fmt.Sprintf("P(alive) %.3f is below the threshold %.3f and fell by %.3f since the last run (was %.3f)", c.pAlive, threshold, c.drop, c.prev)
		case below:
			w.Reason = fmt.Sprintf("P(alive) %.3f is below the threshold %.3f", c.pAlive, threshold)
		default:
			w.Reason = fmt.Sprintf("P(alive) fell by %.3f since the last run (%.3f → %.3f), among the %d largest falls", c.drop, c.prev, c.pAlive, topN)
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b ChurnWarning) int {
		if c := cmp.Compare(a.PAlive, b.PAlive); c != 0 {
			return c
		}
		return cmp.Compare(a.Customer, b.Customer)
	})
	return out
}

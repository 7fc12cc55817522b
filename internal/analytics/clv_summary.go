package analytics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// CustomerSummary is one customer's calibration-period summary, the input of
// the BG/NBD and Gamma-Gamma models ("RFM in the modellers' sense").
//
// Purchases are counted in purchase days: all of a customer's lines on the
// same calendar day (UTC) are one purchase whose value is their sum. A day
// with return lines only (negative quantity or value) is no purchase.
type CustomerSummary struct {
	Customer string `json:"customer"`
	// Frequency (x) is the number of repeat purchase days in the calibration
	// period: distinct purchase days − 1.
	Frequency float64 `json:"frequency"`
	// Recency (t_x) is the time from the first to the last purchase day in
	// the calibration period, in units.
	Recency float64 `json:"recency"`
	// T is the time from the first purchase day to the calibration end date,
	// in units.
	T float64 `json:"T"`
	// Monetary (zbar) is the mean value of the repeat purchase days (the
	// first purchase day excluded), in major currency units; 0 when x = 0.
	Monetary float64 `json:"monetary"`

	// First is the first purchase day (midnight UTC).
	First time.Time `json:"first_purchase"`
	// Lines is the number of the customer's lines in the calibration period.
	Lines int `json:"lines"`
	// HoldoutPurchases is the number of purchase days after the calibration
	// end, up to and including the holdout end; for validating forecasts.
	HoldoutPurchases int `json:"holdout_purchases"`
	// HoldoutValue is the value of those purchase days, in major units.
	HoldoutValue float64 `json:"holdout_value"`
}

// Summarize computes the calibration summary of every known customer with a
// purchase on or before calibrationEnd, in weeks when unit is 7×24 h. It is
// SummarizeHoldout with the holdout running to the end of the data.
func Summarize(d *Dataset, calibrationEnd time.Time, unit time.Duration) ([]CustomerSummary, error) {
	return SummarizeHoldout(d, calibrationEnd, time.Time{}, unit)
}

// SummarizeHoldout computes the calibration summary, sorted by customer id.
//
// Only lines with a known customer count. A line's purchase day is the UTC
// date of its timestamp; calibrationEnd and holdoutEnd are read as calendar
// dates (their year, month and day, in their own location) and are
// inclusive. Frequency, Recency and T are as documented on CustomerSummary;
// customers whose first purchase is after calibrationEnd are left out.
// HoldoutPurchases counts purchase days after calibrationEnd up to holdoutEnd
// (a zero holdoutEnd means the end of the data).
//
// The error is an *errs.Error naming the parameter ("calibration_end",
// "holdout_end", "unit") when calibrationEnd is outside the data's date range
// or the other parameters are unusable, and for an empty dataset.
func SummarizeHoldout(d *Dataset, calibrationEnd, holdoutEnd time.Time, unit time.Duration) ([]CustomerSummary, error) {
	var v errs.Validator
	if d == nil || d.Len() == 0 {
		v.Add("input", "empty", "the dataset has no lines")
		return nil, v.Err()
	}
	if unit <= 0 {
		v.Add("unit", "out_of_range", fmt.Sprintf("must be a positive duration, got %s", unit))
		return nil, v.Err()
	}
	minDay, maxDay := clvDay(d.At[0]), clvDay(d.At[0])
	for _, at := range d.At {
		day := clvDay(at)
		minDay = min(minDay, day)
		maxDay = max(maxDay, day)
	}
	calDay := clvDateDay(calibrationEnd)
	if calDay < minDay || calDay > maxDay {
		v.Add("calibration_end", "out_of_range", fmt.Sprintf("%s is outside the data's date range %s..%s",
			calibrationEnd.Format(time.DateOnly), clvDayString(minDay), clvDayString(maxDay)))
		return nil, v.Err()
	}
	holdDay := maxDay
	if !holdoutEnd.IsZero() {
		holdDay = clvDateDay(holdoutEnd)
		if holdDay < calDay {
			v.Add("holdout_end", "out_of_range", fmt.Sprintf("%s is before calibration_end %s",
				holdoutEnd.Format(time.DateOnly), calibrationEnd.Format(time.DateOnly)))
			return nil, v.Err()
		}
	}

	// Bucket the known-customer lines by customer (a counting sort), then
	// walk each customer's lines in day order.
	nc := len(d.CustomerIDs)
	start := make([]int32, nc+1)
	for _, c := range d.Customer {
		if c >= 0 {
			start[c+1]++
		}
	}
	for c := range nc {
		start[c+1] += start[c]
	}
	type dayLine struct {
		day    int64
		amount int64
		sale   bool // not a return line (negative quantity or value)
	}
	lines := make([]dayLine, start[nc])
	next := slices.Clone(start[:nc])
	for i, c := range d.Customer {
		if c >= 0 {
			amt := d.Amount(i)
			lines[next[c]] = dayLine{clvDay(d.At[i]), amt, d.Qty[i] >= 0 && amt >= 0}
			next[c]++
		}
	}

	perMajor := clvMinorPerMajor(d.Currency)
	daysPerUnit := float64(unit) / float64(24*time.Hour)
	out := make([]CustomerSummary, 0, nc)
	for c := range nc {
		ls := lines[start[c]:start[c+1]]
		if len(ls) == 0 {
			continue
		}
		slices.SortFunc(ls, func(a, b dayLine) int { return cmp.Compare(a.day, b.day) })
		k := slices.IndexFunc(ls, func(l dayLine) bool { return l.sale })
		if k < 0 {
			continue // returns only
		}
		first := ls[k].day
		if first > calDay {
			continue
		}
		s := CustomerSummary{Customer: d.CustomerIDs[c], First: time.Unix(first*86400, 0).UTC()}
		var (
			days        int   // distinct purchase days in calibration
			last        int64 // last purchase day in calibration
			repeatValue int64 // value of the repeat purchase days, minor units
			holdValue   int64
		)
		for i := 0; i < len(ls); {
			day, value, sale := ls[i].day, int64(0), false
			j := i
			for ; j < len(ls) && ls[j].day == day; j++ {
				value += ls[j].amount
				sale = sale || ls[j].sale
			}
			switch {
			case !sale:
				// A day of returns only is not a purchase (Omni's orders
				// return goods days after the sale); a return on a day
				// with purchases nets off that day's value.
			case day <= calDay:
				s.Lines += j - i
				if days > 0 {
					repeatValue += value
				}
				days++
				last = day
			case day <= holdDay:
				s.HoldoutPurchases++
				holdValue += value
			}
			i = j
		}
		s.Frequency = float64(days - 1)
		s.Recency = float64(last-first) / daysPerUnit
		s.T = float64(calDay-first) / daysPerUnit
		if days > 1 {
			s.Monetary = float64(repeatValue) / perMajor / float64(days-1)
		}
		s.HoldoutValue = float64(holdValue) / perMajor
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b CustomerSummary) int { return strings.Compare(a.Customer, b.Customer) })
	return out, nil
}

// clvDay is the UTC day number (days since 1970-01-01) of a Unix time.
func clvDay(unix int64) int64 {
	day := unix / 86400
	if unix%86400 < 0 {
		day--
	}
	return day
}

// clvDateDay is the day number of t's calendar date in t's own location.
func clvDateDay(t time.Time) int64 {
	y, m, d := t.Date()
	return clvDay(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix())
}

func clvDayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// clvMinorPerMajor is how many minor units make one major unit of an
// ISO 4217 currency (100 unless the currency has 0 or 3 decimals).
func clvMinorPerMajor(currency string) float64 {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 1
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 1000
	}
	return 100
}

// clvCheckSummary reports the first unusable value in s, if any.
func clvCheckSummary(s CustomerSummary) error {
	x, tx, t := s.Frequency, s.Recency, s.T
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0) || x < 0 || x != math.Trunc(x):
		return fmt.Errorf("customer %q: frequency %v is not a whole number ≥ 0", s.Customer, x)
	case math.IsNaN(t) || math.IsInf(t, 0) || t < 0:
		return fmt.Errorf("customer %q: T %v is not ≥ 0", s.Customer, t)
	case math.IsNaN(tx) || tx < 0 || tx > t:
		return fmt.Errorf("customer %q: recency %v is not within 0..T (%v)", s.Customer, tx, t)
	case math.IsNaN(s.Monetary) || math.IsInf(s.Monetary, 0):
		return fmt.Errorf("customer %q: monetary %v is not finite", s.Customer, s.Monetary)
	}
	return nil
}

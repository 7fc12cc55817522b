package coupons

import (
	"math/bits"
	"slices"
)

// covers reports whether the terms' scope includes a line of a style
// (code) in a catalog category.
func (t Terms) covers(category, style string) bool {
	switch t.Scope {
	case ScopeCategories:
		return slices.Contains(t.Categories, category)
	case ScopeStyles:
		return slices.Contains(t.Styles, style)
	}
	return true
}

// off is what a discount coupon takes off eligible fen of goods: its
// amount, or its percentage rounded down and capped at MaxOff; never more
// than eligible. Free shipping takes nothing off the goods.
func (t Terms) off(eligible int64) int64 {
	if eligible <= 0 {
		return 0
	}
	var off int64
	switch t.Kind {
	case Fixed, Threshold:
		off = t.AmountOff
	case Percent:
		off = mulDiv(eligible, int64(t.PercentOff), 100)
		if t.MaxOff > 0 {
			off = min(off, t.MaxOff)
		}
	}
	return min(max(off, 0), eligible)
}

// spread divides off fen over lines costing amounts, in proportion to the
// amounts. It rounds cumulatively — share i is ⌊off·Cᵢ/A⌋ − ⌊off·Cᵢ₋₁/A⌋,
// with Cᵢ the running sum of the amounts and A their total — so the shares
// add up to off exactly, the last line takes the remainder, and no share
// exceeds its line's amount. It needs 0 ≤ off ≤ A; lines of amount 0 get 0.
func spread(off int64, amounts []int64) []int64 {
	out := make([]int64, len(amounts))
	var total int64
	for _, a := range amounts {
		total += a
	}
	if off <= 0 || total <= 0 {
		return out
	}
	off = min(off, total)
	var cum, prev int64
	for i, a := range amounts {
		cum += a
		cur := mulDiv(off, cum, total)
		out[i] = cur - prev
		prev = cur
	}
	return out
}

// mulDiv is ⌊a·b/c⌋ for a, b ≥ 0 and c > 0 whose result fits in int64,
// without overflowing in the product.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

package payments

import (
	"errors"
	"strconv"
)

// MaxYuanDigits is the most digits ParseYuan accepts before the decimal
// point: amounts stay below 10¹² yuan, far above any provider's per-trade
// limit, so sums of them cannot overflow int64 fen.
const MaxYuanDigits = 12

var errYuan = errors.New(`not an amount in yuan: want digits with at most two decimals, such as "12.34"`)

// ParseYuan parses a provider's amount in yuan ("12.34", "0.1", "7") into
// fen exactly, without floating point. It accepts 1 to MaxYuanDigits digits,
// optionally followed by '.' and one or two digits; it rejects signs,
// exponents, spaces, more than two decimals, a bare or trailing '.', and
// anything else.
func ParseYuan(s string) (int64, error) {
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			if frac == "" || len(frac) > 2 {
				return 0, errYuan
			}
			break
		}
	}
	if whole == "" || len(whole) > MaxYuanDigits || !digits(whole) || !digits(frac) {
		return 0, errYuan
	}
	var fen int64
	for i := 0; i < len(whole); i++ {
		fen = fen*10 + int64(whole[i]-'0')
	}
	fen *= 100
	switch len(frac) {
	case 1:
		fen += int64(frac[0]-'0') * 10
	case 2:
		fen += int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	return fen, nil
}

// digits reports whether s holds only ASCII digits (true for "").
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatYuan formats fen as yuan with exactly two decimals, as the providers
// expect: 1234 → "12.34", 5 → "0.05", -150 → "-1.50".
func FormatYuan(fen int64) string {
	neg := fen < 0
	u := uint64(fen)
	if neg {
		u = -u // two's complement: correct for math.MinInt64 too
	}
	b := make([]byte, 0, 24)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, u/100, 10)
	c := u % 100
	return string(append(b, '.', byte('0'+c/10), byte('0'+c%10)))
}

package payments

import (
	"math"
	"testing"
)

func TestParseYuan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12.34", 1234, true},
		{"0.1", 10, true},
		{"0.01", 1, true},
		{"0.00", 0, true},
		{"0", 0, true},
		{"7", 700, true},
		{"100000000.00", 10000000000, true},
		{"007.5", 750, true},
		{"999999999999.99", 99999999999999, true}, // MaxYuanDigits digits
		{"1.234", 0, false},
		{"-1", 0, false},
		{"-0.01", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{"1E3", 0, false},
		{"", 0, false},
		{".", 0, false},
		{".5", 0, false},
		{"1.", 0, false},
		{"1..2", 0, false},
		{"1.2.3", 0, false},
		{" 1.00", 0, false},
		{"1.00 ", 0, false},
		{"1,000.00", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"１２", 0, false}, // full-width digits
		{"1000000000000", 0, false},
		{"92233720368547758.07", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseYuan(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseYuan(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestFormatYuan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fen  int64
		want string
	}{
		{1234, "12.34"},
		{0, "0.00"},
		{5, "0.05"},
		{10, "0.10"},
		{100, "1.00"},
		{-150, "-1.50"},
		{-1, "-0.01"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := FormatYuan(tt.fen); got != tt.want {
			t.Errorf("FormatYuan(%d) = %q, want %q", tt.fen, got, tt.want)
		}
	}
}

// TestYuanRoundTrip: FormatYuan and ParseYuan are inverses over the
// accepted range.
func TestYuanRoundTrip(t *testing.T) {
	t.Parallel()
	for _, fen := range []int64{0, 1, 9, 10, 99, 100, 101, 12345, 99999999, 1e12, 99999999999999} {
		got, err := ParseYuan(FormatYuan(fen))
		if err != nil || got != fen {
			t.Errorf("ParseYuan(FormatYuan(%d)) = %d, %v", fen, got, err)
		}
	}
}

func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"12.34", "0.1", "1.234", "-1", "1e3", "", ".", "999999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fen, err := ParseYuan(s)
		if err != nil {
			return
		}
		if fen < 0 || fen >= 1e14 {
			t.Fatalf("ParseYuan(%q) = %d out of range", s, fen)
		}
		// The canonical form parses to the same amount.
		if again, err := ParseYuan(FormatYuan(fen)); err != nil || again != fen {
			t.Fatalf("ParseYuan(FormatYuan(%d)) = %d, %v", fen, again, err)
		}
	})
}

package network

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDistanceM(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                   string
		lat1, lng1, lat2, lng2 float64
		want, tolerance        float64 // metres
	}{
		{"Shanghai People's Square to Beijing Tiananmen", 31.2304, 121.4737, 39.9042, 116.4074, 1_067_000, 10_670},
		{"same point", 31.2304, 121.4737, 31.2304, 121.4737, 0, 0},
		{"one degree of latitude", 30, 120, 31, 120, 111_195, 1},
		{"one degree of longitude on the equator", 0, 100, 0, 101, 111_195, 1},
		{"antipodes", 0, 0, 0, 180, math.Pi * earthRadiusM, 1},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111_195, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := DistanceM(c.lat1, c.lng1, c.lat2, c.lng2)
			if math.Abs(got-c.want) > c.tolerance {
				t.Errorf("DistanceM = %.1f m; want %.1f ± %.1f", got, c.want, c.tolerance)
			}
			if back := DistanceM(c.lat2, c.lng2, c.lat1, c.lng1); math.Abs(back-got) > 1e-6 {
				t.Errorf("not symmetric: %.3f vs %.3f", got, back)
			}
		})
	}
}

func TestOpenAt(t *testing.T) {
	t.Parallel()
	// at returns the instant of hh:mm on 2025-06-01 in Shanghai, expressed in UTC.
	at := func(hh, mm int) time.Time { return time.Date(2025, 6, 1, hh, mm, 0, 0, Shanghai).UTC() }
	cases := []struct {
		hours string
		t     time.Time
		want  bool
	}{
		{"", at(3, 0), true},
		{"10:00-22:00", at(10, 0), true},
		{"10:00-22:00", at(9, 59), false},
		{"10:00-22:00", at(21, 59), true},
		{"10:00-22:00", at(22, 0), false},
		{"10:00-22:00", at(2, 0), false},
		{"22:00-02:00", at(23, 30), true},
		{"22:00-02:00", at(1, 0), true},
		{"22:00-02:00", at(2, 0), false},
		{"22:00-02:00", at(12, 0), false},
		{"22:00-02:00", at(22, 0), true},
		{"08:00-24:00", at(23, 59), true},
		{"08:00-24:00", at(0, 0), false},
		{"00:00-24:00", at(0, 0), true},
		{"bad", at(12, 0), false},
		// 01:30 UTC is 09:30 in Shanghai: closed before 10:00 whatever the UTC hour says.
		{"10:00-22:00", time.Date(2025, 6, 1, 1, 30, 0, 0, time.UTC), false},
		// 14:00 UTC is 22:00 in Shanghai.
		{"10:00-22:00", time.Date(2025, 6, 1, 13, 59, 0, 0, time.UTC), true},
	}
	for _, c := range cases {
		l := Location{OpeningHours: c.hours}
		if got := l.OpenAt(c.t); got != c.want {
			t.Errorf("OpenAt(%q, %s Shanghai) = %v; want %v", c.hours, c.t.In(Shanghai).Format("15:04"), got, c.want)
		}
	}
}

func TestParseHours(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in       string
		from, to int
		ok       bool
	}{
		{"10:00-22:00", 600, 1320, true},
		{"22:00-02:00", 1320, 120, true},
		{"00:00-24:00", 0, 1440, true},
		{"10:00-10:00", 0, 0, false},
		{"24:00-10:00", 0, 0, false},
		{"10:60-22:00", 0, 0, false},
		{"9:00-22:00", 0, 0, false},
		{"10:00–22:00", 0, 0, false}, // en dash
		{"10:00 22:00", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		from, to, ok := parseHours(c.in)
		if ok != c.ok || ok && (from != c.from || to != c.to) {
			t.Errorf("parseHours(%q) = %d, %d, %v; want %d, %d, %v", c.in, from, to, ok, c.from, c.to, c.ok)
		}
	}
}

func TestValidCodeAndShare(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"SH-01": true, "a.b_c": true, "": false, "SH 01": false, "上海": false,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if got := ValidCode(code); got != want {
			t.Errorf("ValidCode(%q) = %v; want %v", code, got, want)
		}
	}
	for pct, bp := range map[float64]int64{100: 10000, 0: 0, 30: 3000, 33.333: 3333, 12.34: 1234, 0.01: 1} {
		if got := (Channel{MaxSharePct: pct}).MaxShareBP(); got != bp {
			t.Errorf("MaxShareBP(%v) = %d; want %d", pct, got, bp)
		}
	}
}

package campaigns

import (
	"testing"
	"time"
)

func TestParseMarker(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in          string
		deal, group int64
		ok          bool
	}{
		{"group_buy:open:7", 7, 0, true},
		{"group_buy:42", 0, 42, true},
		{"", 0, 0, false},
		{"flash_sale:3", 0, 0, false},
		{"group_buy:", 0, 0, false},
		{"group_buy:open:", 0, 0, false},
		{"group_buy:open:-1", 0, 0, false},
		{"group_buy:0", 0, 0, false},
		{"group_buy:12x", 0, 0, false},
	} {
		deal, group, ok := parseMarker(c.in)
		if ok != c.ok || ok && (deal != c.deal || group != c.group) {
			t.Errorf("parseMarker(%q) = %d, %d, %v; want %d, %d, %v", c.in, deal, group, ok, c.deal, c.group, c.ok)
		}
	}
}

func TestDay(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 9 March is 07:30 on 10 March in Shanghai.
	if got := day(mustTime(t, "2026-03-09T23:30:00Z")); got != "2026-03-10" {
		t.Fatalf("day = %s, want 2026-03-10", got)
	}
	if got := day(mustTime(t, "2026-03-09T15:59:59Z")); got != "2026-03-09" {
		t.Fatalf("day = %s, want 2026-03-09", got)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

package network

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Limits of the network's fields.
const (
	MaxInstantRadiusM = 50_000
	MaxSafetyStock    = 1_000_000
	maxText           = 200 // name, province, city, region
	maxAddress        = 500
	maxChannelLocs    = 5_000
)

// ValidCode reports whether s is a valid location or channel code:
// 1 to 64 of A–Z, a–z, 0–9, '.', '_' and '-'.
func ValidCode(s string) bool { return errs.ValidCode(s) }

func checkCode(v *errs.Validator, code, field string) {
	if code == "" {
		v.Add(field, "required", "is required")
		return
	}
	v.Check(ValidCode(code), field, "invalid_code", "must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'")
}

func checkText(v *errs.Validator, s, field string, required bool, maxLen int) {
	if required && !v.Required(s, field) {
		return
	}
	v.Check(utf8.RuneCountInString(s) <= maxLen, field, "too_long", fmt.Sprintf("must be at most %d characters", maxLen))
	v.Check(utf8.ValidString(s), field, "invalid_text", "must be valid UTF-8")
}

// validateLocation checks every rule of a location; p prefixes field names
// (e.g. "locations[3].").
func validateLocation(v *errs.Validator, p string, l Location) {
	checkCode(v, l.Code, p+"code")
	checkText(v, l.Name, p+"name", true, maxText)
	if !l.Kind.Valid() {
		v.Add(p+"kind", "one_of", "must be one of central_warehouse, regional_warehouse, front_warehouse, store")
	}
	checkText(v, l.Region, p+"region", false, 64)
	checkText(v, l.Province, p+"province", true, maxText)
	checkText(v, l.City, p+"city", true, maxText)
	checkText(v, l.Address, p+"address", false, maxAddress)
	latOK := v.Check(l.Lat >= -90 && l.Lat <= 90, p+"lat", "out_of_range", "must be between -90 and 90")
	lngOK := v.Check(l.Lng >= -180 && l.Lng <= 180, p+"lng", "out_of_range", "must be between -180 and 180")
	if latOK && lngOK && l.Lat == 0 && l.Lng == 0 {
		v.Add(p+"lat", "required", "lat and lng are required (0,0 is not a real position)")
	}
	if l.OpeningHours != "" {
		_, _, ok := parseHours(l.OpeningHours)
		v.Check(ok, p+"opening_hours", "invalid_hours", `must be "HH:MM-HH:MM" (start and end differ; the end may be 24:00) or empty for always open`)
	}
	c := l.Capabilities
	if c.Instant {
		v.Check(c.InstantRadiusM >= 1 && c.InstantRadiusM <= MaxInstantRadiusM, p+"capabilities.instant_radius_m", "out_of_range",
			fmt.Sprintf("must be between 1 and %d when instant delivery is offered", MaxInstantRadiusM))
	} else {
		v.Check(c.InstantRadiusM == 0, p+"capabilities.instant_radius_m", "not_allowed", "must be 0 when instant delivery is not offered")
	}
}

// validateChannel checks a channel's own fields (not whether its locations
// exist, which needs the store).
func validateChannel(v *errs.Validator, p string, c Channel) {
	checkCode(v, c.Code, p+"code")
	checkText(v, c.Name, p+"name", true, maxText)
	if !c.Kind.Valid() {
		v.Add(p+"kind", "one_of", "must be one of online_shop, mini_program, app, live_stream, pos")
	}
	v.Range(c.SafetyStock, 0, MaxSafetyStock, p+"safety_stock")
	checkSharePct(v, c.MaxSharePct, p+"max_share_pct")
	checkLocationCodes(v, c.Locations, p+"locations")
}

func checkSharePct(v *errs.Validator, pct float64, field string) {
	v.Check(pct >= 0 && pct <= 100, field, "out_of_range", "must be between 0 and 100")
}

// checkLocationCodes checks the form of a list of location codes: valid
// codes, no repeats, not too many.
func checkLocationCodes(v *errs.Validator, codes []string, field string) {
	if !v.Check(len(codes) <= maxChannelLocs, field, "too_many", fmt.Sprintf("must list at most %d locations", maxChannelLocs)) {
		return
	}
	seen := make(map[string]int, len(codes))
	for i, code := range codes {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !ValidCode(code) {
			v.Add(f, "invalid_code", "must be a location code")
			continue
		}
		if j, dup := seen[code]; dup {
			v.Add(f, "duplicate", fmt.Sprintf("repeats %s[%d]", field, j))
			continue
		}
		seen[code] = i
	}
}

// roundPct rounds a percentage to two decimals, the precision it is stored with.
func roundPct(p float64) float64 { return math.Round(p*100) / 100 }

func trimLocation(l *Location) {
	l.Name = strings.TrimSpace(l.Name)
	l.Region = strings.TrimSpace(l.Region)
	l.Province = strings.TrimSpace(l.Province)
	l.City = strings.TrimSpace(l.City)
	l.Address = strings.TrimSpace(l.Address)
	l.OpeningHours = strings.TrimSpace(l.OpeningHours)
}

package network

import (
	"math"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Kind is what a location is.
type Kind string

// The location kinds.
const (
	CentralWarehouse  Kind = "central_warehouse"
	RegionalWarehouse Kind = "regional_warehouse"
	FrontWarehouse    Kind = "front_warehouse" // 前置仓: small, close to customers, instant delivery
	Store             Kind = "store"
)

// Kinds lists the valid location kinds.
var Kinds = []Kind{CentralWarehouse, RegionalWarehouse, FrontWarehouse, Store}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Capabilities are the services a location offers.
type Capabilities struct {
	POS            bool `json:"pos"`              // sells over the counter
	Pickup         bool `json:"pickup"`           // hands over online orders (自提)
	Ship           bool `json:"ship"`             // ships parcels (门店直发 for stores)
	Instant        bool `json:"instant"`          // delivers within InstantRadiusM (即时配送)
	InstantRadiusM int  `json:"instant_radius_m"` // 1..50,000 when Instant, else 0
}

// Capability names accepted by list filters.
const (
	CapPOS     = "pos"
	CapPickup  = "pickup"
	CapShip    = "ship"
	CapInstant = "instant"
)

// Location is a place that holds stock.
type Location struct {
	ID       int64   `json:"-"`
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	Kind     Kind    `json:"kind"`
	Region   string  `json:"region"`
	Province string  `json:"province"`
	City     string  `json:"city"`
	Address  string  `json:"address"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	// OpeningHours is "HH:MM-HH:MM", daily, in Asia/Shanghai; an end before
	// the start runs past midnight ("22:00-02:00"); "" means always open.
	OpeningHours string       `json:"opening_hours"`
	Capabilities Capabilities `json:"capabilities"`
	Active       bool         `json:"active"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// ChannelKind is what a sales channel is.
type ChannelKind string

// The channel kinds.
const (
	OnlineShop  ChannelKind = "online_shop"
	MiniProgram ChannelKind = "mini_program"
	App         ChannelKind = "app"
	LiveStream  ChannelKind = "live_stream"
	POS         ChannelKind = "pos"
)

// ChannelKinds lists the valid channel kinds.
var ChannelKinds = []ChannelKind{OnlineShop, MiniProgram, App, LiveStream, POS}

// Valid reports whether k is a known channel kind.
func (k ChannelKind) Valid() bool {
	for _, x := range ChannelKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Channel is a way of selling, served by a set of locations.
type Channel struct {
	ID   int64       `json:"-"`
	Code string      `json:"code"`
	Name string      `json:"name"`
	Kind ChannelKind `json:"kind"`
	// SafetyStock is the number of units of each SKU at each location that
	// this channel never sells.
	SafetyStock int64 `json:"safety_stock"`
	// MaxSharePct is the most of a style's stock this channel may hold or
	// sell, 0..100 (100 = no cap), with two decimals (stored as basis points).
	MaxSharePct float64 `json:"max_share_pct"`
	// Locations are the codes of the locations serving the channel, sorted.
	Locations []string `json:"locations"`
	// LocationIDs are the same locations' ids, in the same order.
	LocationIDs []int64   `json:"-"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MaxShareBP is MaxSharePct in basis points (10,000 = no cap).
func (c Channel) MaxShareBP() int64 { return int64(math.Round(c.MaxSharePct * 100)) }

// Errors of the network.
var (
	ErrLocationNotFound = errs.New(errs.NotFound, "location_not_found", "no such location")
	ErrChannelNotFound  = errs.New(errs.NotFound, "channel_not_found", "no such channel")
	// ErrDuplicateCode means the code is already taken by another location
	// or channel (of the same table).
	ErrDuplicateCode = errs.New(errs.Conflict, "duplicate_code", "the code is already taken")
)

// earthRadiusM is the mean radius of the earth (IUGG), in metres.
const earthRadiusM = 6_371_008.8

// DistanceM is the great-circle distance in metres between two points given
// in degrees (haversine formula on a sphere of the earth's mean radius;
// within about 0.5 % of the ellipsoidal distance).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	φ1, φ2 := lat1*rad, lat2*rad
	dφ, dλ := (lat2-lat1)*rad, (lng2-lng1)*rad
	s1, s2 := math.Sin(dφ/2), math.Sin(dλ/2)
	h := s1*s1 + math.Cos(φ1)*math.Cos(φ2)*s2*s2
	return 2 * earthRadiusM * math.Asin(math.Sqrt(min(1, h)))
}

// Shanghai is the business time zone (China Standard Time, UTC+8, without
// daylight saving since 1991). A fixed zone needs no tz database at run time.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// OpenAt reports whether the location's opening hours include t (read in
// Asia/Shanghai). Empty hours mean always open; hours whose end is before
// their start run past midnight ("22:00-02:00" is open at 23:30 and 01:00).
// The start minute is included and the end minute excluded. OpenAt looks
// only at the hours: it does not consider Active.
func (l Location) OpenAt(t time.Time) bool {
	if l.OpeningHours == "" {
		return true
	}
	from, to, ok := parseHours(l.OpeningHours)
	if !ok {
		return false
	}
	lt := t.In(Shanghai)
	m := lt.Hour()*60 + lt.Minute()
	if from < to {
		return m >= from && m < to
	}
	return m >= from || m < to
}

// parseHours reads "HH:MM-HH:MM" into minutes after midnight. The end may
// be "24:00"; start and end must differ.
func parseHours(s string) (from, to int, ok bool) {
	if len(s) != 11 || s[5] != '-' {
		return 0, 0, false
	}
	from, ok1 := parseClock(s[:5], false)
	to, ok2 := parseClock(s[6:], true)
	if !ok1 || !ok2 || from == to {
		return 0, 0, false
	}
	return from, to, true
}

func parseClock(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if end && h == 24 && m == 0 {
		return 24 * 60, true
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

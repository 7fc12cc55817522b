package network

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// MaxWithinM is the largest radius of a near query: half the earth's
// circumference, which covers every place.
const MaxWithinM = 20_037_600

// DefaultWithinM is the radius of a near query that names none.
const DefaultWithinM = 50_000

// LocationFilter selects locations. Zero fields do not filter.
type LocationFilter struct {
	Kind       Kind
	Region     string
	Province   string
	City       string
	Capability string // pos, pickup, ship or instant
	Q          string // part of the code, name, city or address, case-insensitive
	Active     *bool

	// Near, when set, restricts the list to locations within WithinM metres
	// (DefaultWithinM when 0) of the point and orders it by distance, then code.
	Near    *Point
	WithinM float64

	Limit  int    // 1..500, default 50
	Cursor string // next_cursor of the previous page
}

// Point is a position in degrees.
type Point struct{ Lat, Lng float64 }

// ListedLocation is a location in a list; DistanceM is set by near queries.
type ListedLocation struct {
	Location
	// DistanceM is the great-circle distance from the near point, in metres
	// rounded to one decimal.
	DistanceM *float64 `json:"distance_m,omitempty"`
}

// Capabilities accepted by LocationFilter.Capability.
var capabilityColumn = map[string]string{
	CapPOS: "can_pos", CapPickup: "can_pickup", CapShip: "can_ship", CapInstant: "can_instant",
}

func (f *LocationFilter) validate() error {
	var v errs.Validator
	if f.Kind != "" && !f.Kind.Valid() {
		v.Add("kind", "one_of", "must be one of central_warehouse, regional_warehouse, front_warehouse, store")
	}
	if f.Capability != "" {
		v.OneOf(f.Capability, "capability", CapPOS, CapPickup, CapShip, CapInstant)
	}
	if f.Near != nil {
		v.Check(f.Near.Lat >= -90 && f.Near.Lat <= 90 && f.Near.Lng >= -180 && f.Near.Lng <= 180,
			"near", "out_of_range", "must be lat,lng with lat in -90..90 and lng in -180..180")
		if f.WithinM == 0 {
			f.WithinM = DefaultWithinM
		}
		v.Check(f.WithinM > 0 && f.WithinM <= MaxWithinM, "within_m", "out_of_range",
			fmt.Sprintf("must be more than 0 and at most %d", MaxWithinM))
	} else {
		v.Check(f.WithinM == 0, "within_m", "not_allowed", "applies only with near=lat,lng")
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	v.Check(f.Limit >= 1 && f.Limit <= 500, "limit", "out_of_range", "must be between 1 and 500")
	return v.Err()
}

func badCursor() error {
	return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "cursor is not a cursor of this list",
		Fields: []errs.FieldError{{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor of this list"}}}
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", badCursor()
	}
	return string(b), nil
}

// likePattern makes a LIKE pattern matching s anywhere, escaping with '!'.
func likePattern(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(s) + "%"
}

// ListLocations returns a page of locations matching f, ordered by code,
// or by distance for a near query. next is the cursor of the following
// page, "" on the last.
func (s *Service) ListLocations(ctx context.Context, f LocationFilter) (items []ListedLocation, next string, err error) {
	if err := f.validate(); err != nil {
		return nil, "", err
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.Region != "" {
		add("region = ?", f.Region)
	}
	if f.Province != "" {
		add("province = ?", f.Province)
	}
	if f.City != "" {
		add("city = ?", f.City)
	}
	if f.Capability != "" {
		where = append(where, capabilityColumn[f.Capability])
	}
	if f.Active != nil {
		add("active = ?", *f.Active)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		p, op := likePattern(q), s.db.ILike()
		add("(code "+op+" ? ESCAPE '!' OR name "+op+" ? ESCAPE '!' OR city "+op+" ? ESCAPE '!' OR address "+op+" ? ESCAPE '!')", p, p, p, p)
	}
	if f.Near != nil {
		return s.listNear(ctx, f, where, args)
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		add("code > ?", after)
	}
	q := `SELECT ` + locCols + ` FROM locations`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY code LIMIT ` + strconv.Itoa(f.Limit+1)
	locs, err := s.queryLocations(ctx, q, args)
	if err != nil {
		return nil, "", err
	}
	items = make([]ListedLocation, 0, min(len(locs), f.Limit))
	for _, l := range locs {
		items = append(items, ListedLocation{Location: l})
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		next = encodeCursor(items[len(items)-1].Code)
	}
	return items, next, nil
}

func (s *Service) queryLocations(ctx context.Context, q string, args []any) ([]Location, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("network: list locations: %w", err)
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, fmt.Errorf("network: list locations: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("network: list locations: %w", err)
	}
	return out, nil
}

// metresPerDegree is the length of one degree of latitude on the sphere.
const metresPerDegree = earthRadiusM * math.Pi / 180

// listNear answers a near query: a bounding box narrows the rows in SQL,
// the exact distance filters and orders them. The cursor holds the last
// (distance, code) pair.
func (s *Service) listNear(ctx context.Context, f LocationFilter, where []string, args []any) ([]ListedLocation, string, error) {
	p := *f.Near
	dLat := f.WithinM/metresPerDegree + 1e-9
	where = append(where, "lat BETWEEN ? AND ?")
	args = append(args, p.Lat-dLat, p.Lat+dLat)
	// Longitude narrows only away from the poles and the antimeridian.
	if cosLat := math.Cos((math.Abs(p.Lat) + dLat) * math.Pi / 180); p.Lat+dLat < 89 && p.Lat-dLat > -89 && cosLat > 0 {
		dLng := dLat / cosLat
		if p.Lng-dLng > -180 && p.Lng+dLng < 180 {
			where = append(where, "lng BETWEEN ? AND ?")
			args = append(args, p.Lng-dLng, p.Lng+dLng)
		}
	}
	var afterD float64
	var afterCode string
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		ds, code, ok := strings.Cut(c, "|")
		d, perr := strconv.ParseFloat(ds, 64)
		if !ok || perr != nil || code == "" {
			return nil, "", badCursor()
		}
		afterD, afterCode = d, code
	}
	locs, err := s.queryLocations(ctx, `SELECT `+locCols+` FROM locations WHERE `+strings.Join(where, " AND "), args)
	if err != nil {
		return nil, "", err
	}
	type hit struct {
		l Location
		d float64
	}
	hits := make([]hit, 0, len(locs))
	for _, l := range locs {
		d := DistanceM(p.Lat, p.Lng, l.Lat, l.Lng)
		if d > f.WithinM {
			continue
		}
		if f.Cursor != "" && (d < afterD || d == afterD && l.Code <= afterCode) {
			continue
		}
		hits = append(hits, hit{l, d})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.d, b.d), strings.Compare(a.l.Code, b.l.Code))
	})
	next := ""
	if len(hits) > f.Limit {
		hits = hits[:f.Limit]
		last := hits[len(hits)-1]
		next = encodeCursor(strconv.FormatFloat(last.d, 'g', -1, 64) + "|" + last.l.Code)
	}
	items := make([]ListedLocation, len(hits))
	for i, h := range hits {
		d := math.Round(h.d*10) / 10
		items[i] = ListedLocation{Location: h.l, DistanceM: &d}
	}
	return items, next, nil
}

// ChannelFilter selects channels. Zero fields do not filter.
type ChannelFilter struct {
	Kind     ChannelKind
	Active   *bool
	Location string // code of a location serving the channel
	Limit    int    // 1..500, default 50
	Cursor   string
}

// ListChannels returns a page of channels with their locations, ordered by
// code. next is the cursor of the following page, "" on the last.
func (s *Service) ListChannels(ctx context.Context, f ChannelFilter) (items []Channel, next string, err error) {
	var v errs.Validator
	if f.Kind != "" && !f.Kind.Valid() {
		v.Add("kind", "one_of", "must be one of online_shop, mini_program, app, live_stream, pos")
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	v.Check(f.Limit >= 1 && f.Limit <= 500, "limit", "out_of_range", "must be between 1 and 500")
	if f.Location != "" {
		v.Check(ValidCode(f.Location), "location", "invalid_code", "must be a location code")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	var where []string
	var args []any
	if f.Kind != "" {
		where, args = append(where, "c.kind = ?"), append(args, string(f.Kind))
	}
	if f.Active != nil {
		where, args = append(where, "c.active = ?"), append(args, *f.Active)
	}
	if f.Location != "" {
		where = append(where, `EXISTS (SELECT 1 FROM channel_locations cl JOIN locations l ON l.id = cl.location_id
			WHERE cl.channel_id = c.id AND l.code = ?)`)
		args = append(args, f.Location)
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "c.code > ?"), append(args, after)
	}
	q := `SELECT c.id, c.code, c.name, c.kind, c.safety_stock, c.max_share_bp, c.active, c.created_at, c.updated_at FROM channels c`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY c.code LIMIT ` + strconv.Itoa(f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("network: list channels: %w", err)
	}
	items = []Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("network: list channels: %w", err)
		}
		items = append(items, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("network: list channels: %w", err)
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		next = encodeCursor(items[len(items)-1].Code)
	}
	ptrs := make([]*Channel, len(items))
	for i := range items {
		ptrs[i] = &items[i]
	}
	if err := fillChannelLocations(dbq{ctx, s.db}, ptrs); err != nil {
		return nil, "", fmt.Errorf("network: list channels: %w", err)
	}
	return items, next, nil
}

// AllLocations returns every location, ordered by code (for small networks:
// reports, routing tables, the demo).
func (s *Service) AllLocations(ctx context.Context) ([]Location, error) {
	locs, err := s.queryLocations(ctx, `SELECT `+locCols+` FROM locations ORDER BY code`, nil)
	if locs == nil && err == nil {
		locs = []Location{}
	}
	return locs, err
}

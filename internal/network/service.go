package network

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Event topics of the network.
const (
	TopicLocationCreated = "network.location_created"
	TopicLocationUpdated = "network.location_updated"
	TopicChannelCreated  = "network.channel_created"
	TopicChannelUpdated  = "network.channel_updated"
)

// Service manages locations and channels. It is safe for concurrent use.
type Service struct {
	db    *db.DB
	ob    *outbox.Outbox
	now   func() time.Time
	cache *cache
}

// NewService returns the network service over d, announcing changes on ob
// and stamping them with now.
func NewService(d *db.DB, ob *outbox.Outbox, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, ob: ob, now: now, cache: newCache()}
}

// stamp is the current time at the stored precision (milliseconds, UTC).
func (s *Service) stamp() time.Time { return time.UnixMilli(s.now().UnixMilli()).UTC() }

// ── reading ────────────────────────────────────────────────────────────────

// querier is the part of *db.DB and *db.Tx that loading needs.
type querier interface {
	query(q string, args ...any) (db.Rows, error)
	queryRow(q string, args ...any) db.Row
}

type dbq struct {
	ctx context.Context
	d   *db.DB
}

func (r dbq) query(q string, args ...any) (db.Rows, error) { return r.d.Query(r.ctx, q, args...) }
func (r dbq) queryRow(q string, args ...any) db.Row        { return r.d.QueryRow(r.ctx, q, args...) }

type txq struct{ tx *db.Tx }

func (r txq) query(q string, args ...any) (db.Rows, error) { return r.tx.Query(q, args...) }
func (r txq) queryRow(q string, args ...any) db.Row        { return r.tx.QueryRow(q, args...) }

const locCols = `id, code, name, kind, region, province, city, address, lat, lng, opening_hours,
	can_pos, can_pickup, can_ship, can_instant, instant_radius_m, active, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanLocation(sc scanner) (Location, error) {
	var l Location
	var created, updated int64
	c := &l.Capabilities
	err := sc.Scan(&l.ID, &l.Code, &l.Name, &l.Kind, &l.Region, &l.Province, &l.City, &l.Address, &l.Lat, &l.Lng,
		&l.OpeningHours, &c.POS, &c.Pickup, &c.Ship, &c.Instant, &c.InstantRadiusM, &l.Active, &created, &updated)
	l.CreatedAt, l.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return l, err
}

// forUpdate locks the row read on PostgreSQL; SQLite's single writer
// serialises write transactions anyway.
func forUpdate(tx *db.Tx) string {
	if tx.Engine() == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func loadLocation(q querier, where string, arg any, lock string) (Location, error) {
	l, err := scanLocation(q.queryRow(`SELECT `+locCols+` FROM locations WHERE `+where+` = ?`+lock, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrLocationNotFound.Withf("no location %v", arg)
	}
	return l, err
}

// GetLocation reads a location from the store (not the cache).
func (s *Service) GetLocation(ctx context.Context, code string) (Location, error) {
	l, err := loadLocation(dbq{ctx, s.db}, "code", code, "")
	if err != nil {
		return l, fmt.Errorf("network: location %s: %w", code, err)
	}
	return l, nil
}

// Location returns a location by code, from a cache of a few seconds.
func (s *Service) Location(ctx context.Context, code string) (Location, error) {
	if l, ok := s.cache.location(code); ok {
		return l, nil
	}
	gen := s.cache.generation()
	l, err := s.GetLocation(ctx, code)
	if err != nil {
		return l, err
	}
	s.cache.putLocation(gen, l)
	return l, nil
}

// LocationByID returns a location by id, from a cache of a few seconds.
func (s *Service) LocationByID(ctx context.Context, id int64) (Location, error) {
	if l, ok := s.cache.locationByID(id); ok {
		return l, nil
	}
	gen := s.cache.generation()
	l, err := loadLocation(dbq{ctx, s.db}, "id", id, "")
	if err != nil {
		return l, fmt.Errorf("network: location #%d: %w", id, err)
	}
	s.cache.putLocation(gen, l)
	return l, nil
}

const chanCols = `id, code, name, kind, safety_stock, max_share_bp, active, created_at, updated_at`

func scanChannel(sc scanner) (Channel, error) {
	var c Channel
	var bp, created, updated int64
	err := sc.Scan(&c.ID, &c.Code, &c.Name, &c.Kind, &c.SafetyStock, &bp, &c.Active, &created, &updated)
	c.MaxSharePct = float64(bp) / 100
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	c.Locations, c.LocationIDs = []string{}, []int64{}
	return c, err
}

func loadChannel(q querier, where string, arg any, lock string) (Channel, error) {
	c, err := scanChannel(q.queryRow(`SELECT `+chanCols+` FROM channels WHERE `+where+` = ?`+lock, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrChannelNotFound.Withf("no channel %v", arg)
	}
	if err != nil {
		return c, err
	}
	err = fillChannelLocations(q, []*Channel{&c})
	return c, err
}

// fillChannelLocations loads the locations of the channels, sorted by code.
func fillChannelLocations(q querier, chans []*Channel) error {
	if len(chans) == 0 {
		return nil
	}
	byID := make(map[int64]*Channel, len(chans))
	ids := make([]any, 0, len(chans))
	for _, c := range chans {
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	rows, err := q.query(`SELECT cl.channel_id, l.id, l.code FROM channel_locations cl
		JOIN locations l ON l.id = cl.location_id
		WHERE cl.channel_id IN (`+placeholders(len(ids))+`) ORDER BY cl.channel_id, l.code`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var chID, locID int64
		var code string
		if err := rows.Scan(&chID, &locID, &code); err != nil {
			return err
		}
		c := byID[chID]
		c.Locations = append(c.Locations, code)
		c.LocationIDs = append(c.LocationIDs, locID)
	}
	return rows.Err()
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// GetChannel reads a channel and its locations from the store (not the cache).
func (s *Service) GetChannel(ctx context.Context, code string) (Channel, error) {
	c, err := loadChannel(dbq{ctx, s.db}, "code", code, "")
	if err != nil {
		return c, fmt.Errorf("network: channel %s: %w", code, err)
	}
	return c, nil
}

// Channel returns a channel with its locations by code, from a cache of a
// few seconds.
func (s *Service) Channel(ctx context.Context, code string) (Channel, error) {
	if c, ok := s.cache.channel(code); ok {
		return c, nil
	}
	gen := s.cache.generation()
	c, err := s.GetChannel(ctx, code)
	if err != nil {
		return c, err
	}
	s.cache.putChannel(gen, c)
	return c, nil
}

// ChannelByID returns a channel with its locations by id, from a cache of
// a few seconds.
func (s *Service) ChannelByID(ctx context.Context, id int64) (Channel, error) {
	if c, ok := s.cache.channelByID(id); ok {
		return c, nil
	}
	gen := s.cache.generation()
	c, err := loadChannel(dbq{ctx, s.db}, "id", id, "")
	if err != nil {
		return c, fmt.Errorf("network: channel #%d: %w", id, err)
	}
	s.cache.putChannel(gen, c)
	return c, nil
}

// ── locations ──────────────────────────────────────────────────────────────

// NewLocation is a request to create a location.
type NewLocation struct {
	Code         string       `json:"code" required:"true" pattern:"^[A-Za-z0-9._-]{1,64}$"`
	Name         string       `json:"name" required:"true"`
	Kind         Kind         `json:"kind" required:"true" enum:"central_warehouse,regional_warehouse,front_warehouse,store"`
	Region       string       `json:"region,omitempty" description:"e.g. east, south, north, southwest, northwest"`
	Province     string       `json:"province" required:"true"`
	City         string       `json:"city" required:"true"`
	Address      string       `json:"address,omitempty"`
	Lat          float64      `json:"lat" required:"true" minimum:"-90" maximum:"90"`
	Lng          float64      `json:"lng" required:"true" minimum:"-180" maximum:"180"`
	OpeningHours string       `json:"opening_hours,omitempty" description:"HH:MM-HH:MM daily in Asia/Shanghai; empty for always open"`
	Capabilities Capabilities `json:"capabilities"`
	// Active defaults to true.
	Active *bool `json:"active,omitempty"`
}

func (n NewLocation) location() Location {
	l := Location{Code: n.Code, Name: n.Name, Kind: n.Kind, Region: n.Region, Province: n.Province, City: n.City,
		Address: n.Address, Lat: n.Lat, Lng: n.Lng, OpeningHours: n.OpeningHours, Capabilities: n.Capabilities, Active: true}
	if n.Active != nil {
		l.Active = *n.Active
	}
	trimLocation(&l)
	return l
}

// insertLocation inserts l unless its code is taken, and reports whether it did.
func insertLocation(tx *db.Tx, l *Location) (bool, error) {
	c := l.Capabilities
	err := tx.QueryRow(`INSERT INTO locations (code, name, kind, region, province, city, address, lat, lng, opening_hours,
			can_pos, can_pickup, can_ship, can_instant, instant_radius_m, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO NOTHING RETURNING id`,
		l.Code, l.Name, string(l.Kind), l.Region, l.Province, l.City, l.Address, l.Lat, l.Lng, l.OpeningHours,
		c.POS, c.Pickup, c.Ship, c.Instant, c.InstantRadiusM, l.Active, l.CreatedAt.UnixMilli(), l.UpdatedAt.UnixMilli()).Scan(&l.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func updateLocation(tx *db.Tx, l Location) error {
	c := l.Capabilities
	_, err := tx.Exec(`UPDATE locations SET name = ?, kind = ?, region = ?, province = ?, city = ?, address = ?, lat = ?, lng = ?,
			opening_hours = ?, can_pos = ?, can_pickup = ?, can_ship = ?, can_instant = ?, instant_radius_m = ?, active = ?, updated_at = ?
		WHERE id = ?`,
		l.Name, string(l.Kind), l.Region, l.Province, l.City, l.Address, l.Lat, l.Lng,
		l.OpeningHours, c.POS, c.Pickup, c.Ship, c.Instant, c.InstantRadiusM, l.Active, l.UpdatedAt.UnixMilli(), l.ID)
	return err
}

// sameLocation reports whether a and b hold the same settings (ids and
// times aside).
func sameLocation(a, b Location) bool {
	a.ID, a.CreatedAt, a.UpdatedAt = 0, time.Time{}, time.Time{}
	b.ID, b.CreatedAt, b.UpdatedAt = 0, time.Time{}, time.Time{}
	return a == b
}

// CreateLocation adds a location. A taken code is ErrDuplicateCode; bad
// input is a validation error naming the fields.
func (s *Service) CreateLocation(ctx context.Context, in NewLocation) (Location, error) {
	l := in.location()
	var v errs.Validator
	validateLocation(&v, "", l)
	if err := v.Err(); err != nil {
		return Location{}, err
	}
	var out Location
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		out = l
		out.CreatedAt = s.stamp()
		out.UpdatedAt = out.CreatedAt
		ok, err := insertLocation(tx, &out)
		if err != nil {
			return err
		}
		if !ok {
			return ErrDuplicateCode.Withf("a location with code %s already exists", l.Code)
		}
		tx.AfterCommit(s.cache.invalidate)
		return s.ob.Append(tx, TopicLocationCreated, out.Code, out)
	})
	if err != nil {
		return Location{}, fmt.Errorf("network: create location %s: %w", l.Code, err)
	}
	return out, nil
}

// LocationPatch changes some fields of a location; nil fields stay as they are.
type LocationPatch struct {
	Name         *string            `json:"name,omitempty"`
	Kind         *Kind              `json:"kind,omitempty" enum:"central_warehouse,regional_warehouse,front_warehouse,store"`
	Region       *string            `json:"region,omitempty"`
	Province     *string            `json:"province,omitempty"`
	City         *string            `json:"city,omitempty"`
	Address      *string            `json:"address,omitempty"`
	Lat          *float64           `json:"lat,omitempty"`
	Lng          *float64           `json:"lng,omitempty"`
	OpeningHours *string            `json:"opening_hours,omitempty"`
	Capabilities *CapabilitiesPatch `json:"capabilities,omitempty"`
	Active       *bool              `json:"active,omitempty"`
}

// CapabilitiesPatch changes some capabilities; nil fields stay as they are.
// Turning instant delivery off without naming a radius also sets the radius
// to 0.
type CapabilitiesPatch struct {
	POS            *bool `json:"pos,omitempty"`
	Pickup         *bool `json:"pickup,omitempty"`
	Ship           *bool `json:"ship,omitempty"`
	Instant        *bool `json:"instant,omitempty"`
	InstantRadiusM *int  `json:"instant_radius_m,omitempty"`
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (p LocationPatch) apply(l Location) Location {
	set(&l.Name, p.Name)
	set(&l.Kind, p.Kind)
	set(&l.Region, p.Region)
	set(&l.Province, p.Province)
	set(&l.City, p.City)
	set(&l.Address, p.Address)
	set(&l.Lat, p.Lat)
	set(&l.Lng, p.Lng)
	set(&l.OpeningHours, p.OpeningHours)
	set(&l.Active, p.Active)
	if c := p.Capabilities; c != nil {
		set(&l.Capabilities.POS, c.POS)
		set(&l.Capabilities.Pickup, c.Pickup)
		set(&l.Capabilities.Ship, c.Ship)
		set(&l.Capabilities.Instant, c.Instant)
		set(&l.Capabilities.InstantRadiusM, c.InstantRadiusM)
		if c.Instant != nil && !*c.Instant && c.InstantRadiusM == nil {
			l.Capabilities.InstantRadiusM = 0
		}
	}
	trimLocation(&l)
	return l
}

// UpdateLocation applies a patch to a location. The code cannot change.
// A patch that changes nothing writes nothing.
func (s *Service) UpdateLocation(ctx context.Context, code string, p LocationPatch) (Location, error) {
	var out Location
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadLocation(txq{tx}, "code", code, forUpdate(tx))
		if err != nil {
			return err
		}
		next := p.apply(cur)
		var v errs.Validator
		validateLocation(&v, "", next)
		if err := v.Err(); err != nil {
			return err
		}
		out = next
		if sameLocation(cur, next) {
			return nil
		}
		out.UpdatedAt = s.stamp()
		if err := updateLocation(tx, out); err != nil {
			return err
		}
		tx.AfterCommit(s.cache.invalidate)
		return s.ob.Append(tx, TopicLocationUpdated, out.Code, out)
	})
	if err != nil {
		return Location{}, fmt.Errorf("network: update location %s: %w", code, err)
	}
	return out, nil
}

// ── channels ───────────────────────────────────────────────────────────────

// NewChannel is a request to create a channel.
type NewChannel struct {
	Code        string      `json:"code" required:"true" pattern:"^[A-Za-z0-9._-]{1,64}$"`
	Name        string      `json:"name" required:"true"`
	Kind        ChannelKind `json:"kind" required:"true" enum:"online_shop,mini_program,app,live_stream,pos"`
	SafetyStock int64       `json:"safety_stock,omitempty" minimum:"0" maximum:"1000000"`
	// MaxSharePct defaults to 100 (no cap).
	MaxSharePct *float64 `json:"max_share_pct,omitempty" minimum:"0" maximum:"100"`
	// Locations are the codes of the locations serving the channel.
	Locations []string `json:"locations,omitempty"`
	// Active defaults to true.
	Active *bool `json:"active,omitempty"`
}

func (n NewChannel) channel() Channel {
	c := Channel{Code: n.Code, Name: strings.TrimSpace(n.Name), Kind: n.Kind, SafetyStock: n.SafetyStock,
		MaxSharePct: 100, Locations: slices.Clone(n.Locations), Active: true}
	if n.MaxSharePct != nil {
		c.MaxSharePct = *n.MaxSharePct
	}
	if n.Active != nil {
		c.Active = *n.Active
	}
	if c.Locations == nil {
		c.Locations = []string{}
	}
	return c
}

// resolveLocations returns the ids of the codes, in order; a code naming no
// location is a validation error on field[i].
func resolveLocations(tx *db.Tx, codes []string, field string) ([]int64, error) {
	ids := make(map[string]int64, len(codes))
	const chunk = 500
	for start := 0; start < len(codes); start += chunk {
		part := codes[start:min(start+chunk, len(codes))]
		args := make([]any, len(part))
		for i, c := range part {
			args[i] = c
		}
		rows, err := tx.Query(`SELECT id, code FROM locations WHERE code IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var code string
			if err := rows.Scan(&id, &code); err != nil {
				rows.Close()
				return nil, err
			}
			ids[code] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var v errs.Validator
	out := make([]int64, len(codes))
	for i, c := range codes {
		id, ok := ids[c]
		v.Check(ok, fmt.Sprintf("%s[%d]", field, i), "unknown", "names no location: "+c)
		out[i] = id
	}
	return out, v.Err()
}

// replaceChannelLocations makes the channel's locations exactly ids.
func replaceChannelLocations(tx *db.Tx, channelID int64, ids []int64) error {
	if _, err := tx.Exec(`DELETE FROM channel_locations WHERE channel_id = ?`, channelID); err != nil {
		return err
	}
	const chunk = 400
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, 2*len(part))
		for _, id := range part {
			args = append(args, channelID, id)
		}
		q := `INSERT INTO channel_locations (channel_id, location_id) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(part)), ", ")
		if _, err := tx.Exec(q, args...); err != nil {
			return err
		}
	}
	return nil
}

// sortChannelLocations orders a channel's codes and ids by code.
func sortChannelLocations(c *Channel, ids []int64) {
	type pair struct {
		code string
		id   int64
	}
	ps := make([]pair, len(ids))
	for i := range ids {
		ps[i] = pair{c.Locations[i], ids[i]}
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.code, b.code) })
	c.Locations, c.LocationIDs = make([]string, len(ps)), make([]int64, len(ps))
	for i, p := range ps {
		c.Locations[i], c.LocationIDs[i] = p.code, p.id
	}
}

func insertChannel(tx *db.Tx, c *Channel) (bool, error) {
	err := tx.QueryRow(`INSERT INTO channels (code, name, kind, safety_stock, max_share_bp, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
		c.Code, c.Name, string(c.Kind), c.SafetyStock, c.MaxShareBP(), c.Active, c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli()).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func updateChannel(tx *db.Tx, c Channel) error {
	_, err := tx.Exec(`UPDATE channels SET name = ?, kind = ?, safety_stock = ?, max_share_bp = ?, active = ?, updated_at = ? WHERE id = ?`,
		c.Name, string(c.Kind), c.SafetyStock, c.MaxShareBP(), c.Active, c.UpdatedAt.UnixMilli(), c.ID)
	return err
}

// CreateChannel adds a channel with its locations. A taken code is
// ErrDuplicateCode; a location code naming no location is a validation
// error on locations[i].
func (s *Service) CreateChannel(ctx context.Context, in NewChannel) (Channel, error) {
	c := in.channel()
	var v errs.Validator
	validateChannel(&v, "", c)
	if err := v.Err(); err != nil {
		return Channel{}, err
	}
	c.MaxSharePct = roundPct(c.MaxSharePct)
	var out Channel
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		out = cloneChannel(c)
		ids, err := resolveLocations(tx, out.Locations, "locations")
		if err != nil {
			return err
		}
		out.CreatedAt = s.stamp()
		out.UpdatedAt = out.CreatedAt
		ok, err := insertChannel(tx, &out)
		if err != nil {
			return err
		}
		if !ok {
			return ErrDuplicateCode.Withf("a channel with code %s already exists", c.Code)
		}
		if err := replaceChannelLocations(tx, out.ID, ids); err != nil {
			return err
		}
		sortChannelLocations(&out, ids)
		tx.AfterCommit(s.cache.invalidate)
		return s.ob.Append(tx, TopicChannelCreated, out.Code, out)
	})
	if err != nil {
		return Channel{}, fmt.Errorf("network: create channel %s: %w", c.Code, err)
	}
	return out, nil
}

// ChannelPatch changes some fields of a channel; nil fields stay as they are.
type ChannelPatch struct {
	Name        *string  `json:"name,omitempty"`
	SafetyStock *int64   `json:"safety_stock,omitempty" minimum:"0" maximum:"1000000"`
	MaxSharePct *float64 `json:"max_share_pct,omitempty" minimum:"0" maximum:"100"`
	Active      *bool    `json:"active,omitempty"`
}

// UpdateChannel applies a patch to a channel. Its code and kind cannot
// change; its locations change with SetChannelLocations. A patch that
// changes nothing writes nothing.
func (s *Service) UpdateChannel(ctx context.Context, code string, p ChannelPatch) (Channel, error) {
	var out Channel
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadChannel(txq{tx}, "code", code, forUpdate(tx))
		if err != nil {
			return err
		}
		next := cloneChannel(cur)
		set(&next.Name, p.Name)
		next.Name = strings.TrimSpace(next.Name)
		set(&next.SafetyStock, p.SafetyStock)
		set(&next.MaxSharePct, p.MaxSharePct)
		set(&next.Active, p.Active)
		var v errs.Validator
		validateChannel(&v, "", next)
		if err := v.Err(); err != nil {
			return err
		}
		next.MaxSharePct = roundPct(next.MaxSharePct)
		out = next
		if cur.Name == next.Name && cur.SafetyStock == next.SafetyStock && cur.MaxShareBP() == next.MaxShareBP() && cur.Active == next.Active {
			return nil
		}
		out.UpdatedAt = s.stamp()
		if err := updateChannel(tx, out); err != nil {
			return err
		}
		tx.AfterCommit(s.cache.invalidate)
		return s.ob.Append(tx, TopicChannelUpdated, out.Code, out)
	})
	if err != nil {
		return Channel{}, fmt.Errorf("network: update channel %s: %w", code, err)
	}
	return out, nil
}

// ChannelLocations is the full list of locations serving a channel.
type ChannelLocations struct {
	Locations []string `json:"locations" required:"true"`
}

// SetChannelLocations replaces the locations serving a channel. A code
// naming no location is a validation error on locations[i].
func (s *Service) SetChannelLocations(ctx context.Context, code string, locations []string) (Channel, error) {
	var v errs.Validator
	checkLocationCodes(&v, locations, "locations")
	if err := v.Err(); err != nil {
		return Channel{}, err
	}
	var out Channel
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadChannel(txq{tx}, "code", code, forUpdate(tx))
		if err != nil {
			return err
		}
		ids, err := resolveLocations(tx, locations, "locations")
		if err != nil {
			return err
		}
		out = cloneChannel(cur)
		out.Locations = slices.Clone(locations)
		sortChannelLocations(&out, ids)
		if slices.Equal(out.LocationIDs, cur.LocationIDs) {
			return nil
		}
		out.UpdatedAt = s.stamp()
		if err := replaceChannelLocations(tx, out.ID, ids); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE channels SET updated_at = ? WHERE id = ?`, out.UpdatedAt.UnixMilli(), out.ID); err != nil {
			return err
		}
		tx.AfterCommit(s.cache.invalidate)
		return s.ob.Append(tx, TopicChannelUpdated, out.Code, out)
	})
	if err != nil {
		return Channel{}, fmt.Errorf("network: set locations of channel %s: %w", code, err)
	}
	return out, nil
}

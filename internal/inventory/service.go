package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Catalog is what inventory needs of the catalog module.
type Catalog interface {
	SKURef(ctx context.Context, code string) (catalog.SKURef, error)
	SKURefByID(ctx context.Context, id int64) (catalog.SKURef, error)
	StyleSKURefs(ctx context.Context, styleCode string) ([]catalog.SKURef, error)
	// SKUFactsByID returns cost and style attributes by SKU id (reports).
	SKUFactsByID(ctx context.Context, ids []int64) (map[int64]catalog.SKUFacts, error)
}

// Network is what inventory needs of the network module.
type Network interface {
	Location(ctx context.Context, code string) (network.Location, error)
	LocationByID(ctx context.Context, id int64) (network.Location, error)
	Channel(ctx context.Context, code string) (network.Channel, error)
	ChannelByID(ctx context.Context, id int64) (network.Channel, error)
	// ListChannels pages through the channels with their locations (reports).
	ListChannels(ctx context.Context, f network.ChannelFilter) ([]network.Channel, string, error)
}

// Service runs the stock ledger.
type Service struct {
	db      *db.DB
	ob      *outbox.Outbox
	cat     Catalog
	net     Network
	now     func() time.Time
	holdTTL time.Duration
}

// NewService returns the inventory service. holdTTL is the default
// lifetime of a reservation.
func NewService(d *db.DB, ob *outbox.Outbox, cat Catalog, net Network, now func() time.Time, holdTTL time.Duration) *Service {
	if now == nil {
		now = time.Now
	}
	if holdTTL <= 0 {
		holdTTL = 15 * time.Minute
	}
	return &Service{db: d, ob: ob, cat: cat, net: net, now: now, holdTTL: holdTTL}
}

// levelRow is a level as the store holds it.
type levelRow struct {
	sku, loc, style                               int64
	onHand, reserved, inTransit, safety, lowLimit int64
}

func (l levelRow) available() int64 { return max(0, l.onHand-l.reserved-l.safety) }

// change is one movement to apply to one level.
type change struct {
	sku      catalog.SKURef
	loc      int64
	kind     MovementKind
	dOnHand  int64
	dHeld    int64
	dTransit int64
	// guard: the change applies only if on_hand − reserved − (safety_stock
	// when useSafety) − buffer ≥ need, evaluated before the change.
	useSafety    bool
	buffer, need int64
	reason       string
	refType      string
	refID        string
	actor        string
}

const levelCols = `on_hand, reserved, in_transit, safety_stock, low_threshold`

// apply changes one level and appends its movement, in tx. A guarded
// change that fails its guard returns ok=false and changes nothing.
func (s *Service) apply(tx *db.Tx, c change, at int64) (l levelRow, ok bool, err error) {
	if l, ok, err = s.update(tx, c, at); err != nil || !ok {
		return l, ok, err
	}
	return l, true, s.record(tx, c, l, at)
}

// update changes one level by c's deltas if c's guard holds (one
// conditional statement), without the movement: callers that must know
// every line succeeds before writing anything else call record afterwards.
func (s *Service) update(tx *db.Tx, c change, at int64) (l levelRow, ok bool, err error) {
	l = levelRow{sku: c.sku.ID, loc: c.loc, style: c.sku.StyleID}
	var row db.Row
	if c.creates() {
		// Pure increments create the level on first use.
		row = tx.QueryRow(`INSERT INTO stock_levels (sku_id, location_id, style_id, on_hand, reserved, in_transit, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (sku_id, location_id) DO UPDATE SET
				on_hand = stock_levels.on_hand + excluded.on_hand,
				reserved = stock_levels.reserved + excluded.reserved,
				in_transit = stock_levels.in_transit + excluded.in_transit,
				updated_at = excluded.updated_at
			RETURNING `+levelCols, c.sku.ID, c.loc, c.sku.StyleID, c.dOnHand, c.dHeld, c.dTransit, at)
	} else {
		safety := 0
		if c.useSafety {
			safety = 1
		}
		row = tx.QueryRow(`UPDATE stock_levels
			SET on_hand = on_hand + ?, reserved = reserved + ?, in_transit = in_transit + ?, updated_at = ?
			WHERE sku_id = ? AND location_id = ? AND on_hand - reserved - safety_stock * ? - ? >= ?
			RETURNING `+levelCols, c.dOnHand, c.dHeld, c.dTransit, at, c.sku.ID, c.loc, safety, c.buffer, c.need)
	}
	err = row.Scan(&l.onHand, &l.reserved, &l.inTransit, &l.safety, &l.lowLimit)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("inventory: update level: %w", err)
	}
	return l, true, nil
}

// updateAll applies the level changes of a document's lines and reports
// the index of the first change whose guard failed, or -1. On PostgreSQL
// several changes of distinct levels go as one statement, so that an
// order's lines cost one round trip (on SQLite a statement is a function
// call, and SQLite's UPDATE … FROM, which materializes the join first, was
// no faster in interleaved runs). When one fails, the others may have
// applied: the caller fails its write, which rolls them back.
func (s *Service) updateAll(tx *db.Tx, cs []change, at int64) (ls []levelRow, failed int, err error) {
	ls = make([]levelRow, len(cs))
	if len(cs) == 1 || tx.Engine() != db.Postgres || !updatable(cs) {
		for i, c := range cs {
			l, ok, err := s.update(tx, c, at)
			if err != nil {
				return nil, -1, err
			}
			if !ok {
				return nil, i, nil
			}
			ls[i] = l
		}
		return ls, -1, nil
	}
	// The first row's casts type the VALUES columns on PostgreSQL.
	vals := strings.Repeat("CAST(? AS BIGINT), ", 7) + "CAST(? AS BIGINT)"
	vals = "(" + vals + ")" + strings.TrimPrefix(db.ValuesList(len(cs), 8), "(?, ?, ?, ?, ?, ?, ?, ?)")
	args := make([]any, 0, 1+8*len(cs))
	args = append(args, at)
	for _, c := range cs {
		safety := 0
		if c.useSafety {
			safety = 1
		}
		args = append(args, c.sku.ID, c.loc, c.dOnHand, c.dHeld, c.dTransit, safety, c.buffer, c.need)
	}
	got := make(map[levelKey]levelRow, len(cs))
	rows, err := tx.Query(`UPDATE stock_levels
		SET on_hand = on_hand + v.column3, reserved = reserved + v.column4, in_transit = in_transit + v.column5, updated_at = ?
		FROM (VALUES `+vals+`) AS v
		WHERE sku_id = v.column1 AND location_id = v.column2 AND on_hand - reserved - safety_stock * v.column6 - v.column7 >= v.column8
		RETURNING sku_id, location_id, `+levelCols, args...)
	if err != nil {
		return nil, -1, fmt.Errorf("inventory: update levels: %w", err)
	}
	for rows.Next() {
		var l levelRow
		if err := rows.Scan(&l.sku, &l.loc, &l.onHand, &l.reserved, &l.inTransit, &l.safety, &l.lowLimit); err != nil {
			rows.Close()
			return nil, -1, fmt.Errorf("inventory: update levels: %w", err)
		}
		got[levelKey{l.sku, l.loc}] = l
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, -1, fmt.Errorf("inventory: update levels: %w", err)
	}
	for i, c := range cs {
		l, ok := got[levelKey{c.sku.ID, c.loc}]
		if !ok {
			return nil, i, nil
		}
		l.style = c.sku.StyleID
		ls[i] = l
	}
	return ls, -1, nil
}

// levelKey names a stock level.
type levelKey struct{ sku, loc int64 }

// creates reports whether c may create its level: an unguarded pure
// increment, which update writes as an upsert.
func (c change) creates() bool {
	guarded := c.need > 0 || c.useSafety || c.buffer > 0
	return !guarded && c.dOnHand >= 0 && c.dHeld >= 0 && c.dTransit >= 0
}

// updatable reports whether changes can share one UPDATE: none may create
// its level and none names a level twice.
func updatable(cs []change) bool {
	seen := make(map[levelKey]bool, len(cs))
	for _, c := range cs {
		if c.creates() {
			return false
		}
		k := levelKey{c.sku.ID, c.loc}
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

// movementRow is the Append target of the stock ledger.
const movementRow = `stock_movements (sku_id, location_id, kind, on_hand_delta, reserved_delta, in_transit_delta,
	reason, ref_type, ref_id, actor, created_at)`

// record appends the movement of an applied change and keeps the level's
// low-stock alert in step.
func (s *Service) record(tx *db.Tx, c change, l levelRow, at int64) error {
	return s.recordAll(tx, []change{c}, []levelRow{l}, at)
}

// recordAll appends the movements of applied changes (db.Tx.Append) and
// keeps their levels' low-stock alerts in step.
func (s *Service) recordAll(tx *db.Tx, cs []change, ls []levelRow, at int64) error {
	vals := make([]any, 0, 11*len(cs))
	for _, c := range cs {
		vals = append(vals, c.sku.ID, c.loc, string(c.kind), c.dOnHand, c.dHeld, c.dTransit, c.reason, c.refType, c.refID, c.actor, at)
	}
	if err := tx.Append(movementRow, vals...); err != nil {
		return fmt.Errorf("inventory: append movements: %w", err)
	}
	for _, l := range ls {
		if l.lowLimit > 0 {
			if err := s.checkAlert(tx, l, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// readLevel reads a level inside tx (zero level when absent).
func readLevel(tx *db.Tx, sku catalog.SKURef, loc int64) (levelRow, error) {
	l := levelRow{sku: sku.ID, loc: loc, style: sku.StyleID}
	err := tx.QueryRow(`SELECT `+levelCols+` FROM stock_levels WHERE sku_id = ? AND location_id = ?`, sku.ID, loc).
		Scan(&l.onHand, &l.reserved, &l.inTransit, &l.safety, &l.lowLimit)
	if errors.Is(err, sql.ErrNoRows) {
		return l, nil
	}
	return l, err
}

// insufficient builds the 409 for a failed guard, reading what is free now.
func insufficient(tx *db.Tx, sku catalog.SKURef, locCode string, loc int64, want, buffer int64, useSafety bool) error {
	l, err := readLevel(tx, sku, loc)
	if err != nil {
		return err
	}
	free := l.onHand - l.reserved - buffer
	if useSafety {
		free -= l.safety
	}
	return shortOf(sku, locCode, want, free)
}

// shortOf is the 409 for a line short of stock.
func shortOf(sku catalog.SKURef, locCode string, want, free int64) error {
	free = max(0, free)
	return ErrInsufficientStock.
		Withf("%s at %s: requested %d, available %d", sku.Code, locCode, want, free).
		With("sku", sku.Code).With("location", locCode).With("requested", want).With("available", free)
}

// levelOut renders a level row with codes.
func (s *Service) levelOut(ctx context.Context, l levelRow, updated int64) (Level, error) {
	sku, err := s.cat.SKURefByID(ctx, l.sku)
	if err != nil {
		return Level{}, err
	}
	loc, err := s.net.LocationByID(ctx, l.loc)
	if err != nil {
		return Level{}, err
	}
	return Level{SKU: sku.Code, Location: loc.Code, OnHand: l.onHand, Reserved: l.reserved, InTransit: l.inTransit,
		SafetyStock: l.safety, Available: l.available(), LowThreshold: l.lowLimit, UpdatedAt: time.UnixMilli(updated).UTC()}, nil
}

// levelEvent is the outbox form of a level.
type levelEvent struct {
	SKU       string `json:"sku"`
	Location  string `json:"location"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	InTransit int64  `json:"in_transit"`
	Available int64  `json:"available"`
}

func evLevel(sku, loc string, l levelRow) levelEvent {
	return levelEvent{SKU: sku, Location: loc, OnHand: l.onHand, Reserved: l.reserved, InTransit: l.inTransit, Available: l.available()}
}

// location resolves a location code, checking a store-scoped caller.
func (s *Service) location(ctx context.Context, field, code string) (network.Location, error) {
	loc, err := s.net.Location(ctx, code)
	if err != nil {
		if errors.Is(err, network.ErrLocationNotFound) {
			return loc, errs.E(errs.NotFound, "location_not_found", "%s: no location %q", field, code).With("field", field)
		}
		return loc, err
	}
	if err := auth.RequireLocation(ctx, loc.ID); err != nil {
		return loc, err
	}
	return loc, nil
}

// sku resolves a SKU code.
func (s *Service) sku(ctx context.Context, field, code string) (catalog.SKURef, error) {
	r, err := s.cat.SKURef(ctx, code)
	if err != nil && errors.Is(err, catalog.ErrSKUNotFound) {
		return r, errs.E(errs.NotFound, "sku_not_found", "%s: no SKU %q", field, code).With("field", field)
	}
	return r, err
}

// Post applies receipts, returns, direct sales or adjustments at one
// location, all lines or none.
func (s *Service) Post(ctx context.Context, in PostRequest) (PostResult, error) {
	var v errs.Validator
	v.OneOf(string(in.Kind), "kind", string(Receipt), string(Return), string(Sale), string(Adjustment))
	v.Required(in.Location, "location")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= 1000, "lines", "count", "must hold 1 to 1000 lines")
	if in.Kind == Adjustment {
		v.Required(in.Reason, "reason")
	}
	v.Check(len(in.Reason) <= 500, "reason", "too_long", "must be at most 500 characters")
	v.Check(len(in.Reference) <= 200, "reference", "too_long", "must be at most 200 characters")
	seen := map[string]bool{}
	for i, ln := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Required(ln.SKU, f+".sku")
		if in.Kind == Adjustment {
			v.Check(ln.Qty != 0 && ln.Qty >= -MaxQty && ln.Qty <= MaxQty, f+".qty", "out_of_range", fmt.Sprintf("must be non-zero, between %d and %d", -MaxQty, MaxQty))
		} else {
			v.Range(ln.Qty, 1, MaxQty, f+".qty")
		}
		v.Check(!seen[ln.SKU], f+".sku", "duplicate", "appears twice; merge the lines")
		seen[ln.SKU] = true
	}
	if err := v.Err(); err != nil {
		return PostResult{}, err
	}
	loc, err := s.location(ctx, "location", in.Location)
	if err != nil {
		return PostResult{}, err
	}
	refs := make([]catalog.SKURef, len(in.Lines))
	for i, ln := range in.Lines {
		if refs[i], err = s.sku(ctx, fmt.Sprintf("lines[%d].sku", i), ln.SKU); err != nil {
			return PostResult{}, err
		}
	}
	actor := auth.Actor(ctx)
	var rows []levelRow
	var at int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at = s.now().UnixMilli()
		rows = rows[:0]
		evs := make([]levelEvent, 0, len(in.Lines))
		for i, ln := range in.Lines {
			c := change{sku: refs[i], loc: loc.ID, kind: in.Kind, reason: in.Reason, refType: "document", refID: in.Reference, actor: actor}
			switch {
			case in.Kind == Sale || (in.Kind == Adjustment && ln.Qty < 0):
				q := ln.Qty
				if q < 0 {
					q = -q
				}
				c.dOnHand, c.need = -q, q // may take safety stock (it is physically there), never reserved units
			default:
				c.dOnHand = ln.Qty
			}
			l, ok, err := s.apply(tx, c, at)
			if err != nil {
				return err
			}
			if !ok {
				return insufficient(tx, refs[i], loc.Code, loc.ID, c.need, 0, false)
			}
			rows = append(rows, l)
			evs = append(evs, evLevel(ln.SKU, loc.Code, l))
		}
		return s.ob.Append(tx, "inventory.movement_posted", loc.Code, map[string]any{
			"kind": in.Kind, "location": loc.Code, "reason": in.Reason, "reference": in.Reference, "levels": evs})
	})
	if err != nil {
		return PostResult{}, err
	}
	out := PostResult{Levels: make([]Level, 0, len(rows))}
	for _, l := range rows {
		lv, err := s.levelOut(ctx, l, at)
		if err != nil {
			return PostResult{}, err
		}
		out.Levels = append(out.Levels, lv)
	}
	return out, nil
}

// GetLevel returns one level (a zero level when the SKU was never stocked there).
func (s *Service) GetLevel(ctx context.Context, skuCode, locCode string) (Level, error) {
	sku, err := s.sku(ctx, "sku", skuCode)
	if err != nil {
		return Level{}, err
	}
	loc, err := s.net.Location(ctx, locCode)
	if err != nil {
		return Level{}, err
	}
	l := levelRow{sku: sku.ID, loc: loc.ID}
	var upd int64
	err = s.db.QueryRow(ctx, `SELECT `+levelCols+`, updated_at FROM stock_levels WHERE sku_id = ? AND location_id = ?`, sku.ID, loc.ID).
		Scan(&l.onHand, &l.reserved, &l.inTransit, &l.safety, &l.lowLimit, &upd)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Level{}, fmt.Errorf("inventory: get level: %w", err)
	}
	return s.levelOut(ctx, l, upd)
}

// LevelFilter selects levels to list.
type LevelFilter struct {
	SKU      string `query:"sku" description:"a SKU code"`
	Style    string `query:"style" description:"a style code: all its SKUs"`
	Location string `query:"location" description:"a location code"`
	Low      bool   `query:"low" description:"only levels at or below their low-stock threshold"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor   string `query:"cursor"`
}

// ListLevels pages through levels ordered by (sku id, location id).
func (s *Service) ListLevels(ctx context.Context, f LevelFilter) ([]Level, string, error) {
	var where []string
	var args []any
	if f.SKU != "" {
		sku, err := s.sku(ctx, "sku", f.SKU)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "sku_id = ?"), append(args, sku.ID)
	}
	if f.Style != "" {
		refs, err := s.cat.StyleSKURefs(ctx, f.Style)
		if err != nil {
			return nil, "", err
		}
		if len(refs) == 0 {
			return []Level{}, "", nil
		}
		where = append(where, "style_id = ?")
		args = append(args, refs[0].StyleID)
	}
	if f.Location != "" {
		loc, err := s.net.Location(ctx, f.Location)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "location_id = ?"), append(args, loc.ID)
	}
	if f.Low {
		where = append(where, "low_threshold > 0 AND on_hand - reserved - safety_stock <= low_threshold")
	}
	if f.Cursor != "" {
		a, b, ok := strings.Cut(f.Cursor, ".")
		sk, err1 := strconv.ParseInt(a, 10, 64)
		lk, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, "", badCursor
		}
		where = append(where, "(sku_id > ? OR (sku_id = ? AND location_id > ?))")
		args = append(args, sk, sk, lk)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := `SELECT sku_id, location_id, ` + levelCols + `, updated_at FROM stock_levels`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY sku_id, location_id LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("inventory: list levels: %w", err)
	}
	defer rows.Close()
	type rec struct {
		l   levelRow
		upd int64
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.l.sku, &r.l.loc, &r.l.onHand, &r.l.reserved, &r.l.inTransit, &r.l.safety, &r.l.lowLimit, &r.upd); err != nil {
			return nil, "", err
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(recs) > f.Limit {
		recs = recs[:f.Limit]
		last := recs[len(recs)-1].l
		next = fmt.Sprintf("%d.%d", last.sku, last.loc)
	}
	out := make([]Level, 0, len(recs))
	for _, r := range recs {
		lv, err := s.levelOut(ctx, r.l, r.upd)
		if err != nil {
			return nil, "", err
		}
		out = append(out, lv)
	}
	return out, next, nil
}

var badCursor = &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "cursor is not one this API returned",
	Fields: []errs.FieldError{{Field: "cursor", Code: "invalid", Message: "is not one this API returned"}}}

// SetSettings changes a level's safety stock and low-stock threshold.
func (s *Service) SetSettings(ctx context.Context, skuCode, locCode string, in SettingsRequest) (Level, error) {
	var v errs.Validator
	v.Check(in.SafetyStock != nil || in.LowThreshold != nil, "safety_stock", "required", "give safety_stock, low_threshold or both")
	if in.SafetyStock != nil {
		v.Range(*in.SafetyStock, 0, MaxQty, "safety_stock")
	}
	if in.LowThreshold != nil {
		v.Range(*in.LowThreshold, 0, MaxQty, "low_threshold")
	}
	if err := v.Err(); err != nil {
		return Level{}, err
	}
	sku, err := s.sku(ctx, "sku", skuCode)
	if err != nil {
		return Level{}, err
	}
	loc, err := s.location(ctx, "location", locCode)
	if err != nil {
		return Level{}, err
	}
	var l levelRow
	var at int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at = s.now().UnixMilli()
		if _, err := tx.Exec(`INSERT INTO stock_levels (sku_id, location_id, style_id, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (sku_id, location_id) DO NOTHING`, sku.ID, loc.ID, sku.StyleID, at); err != nil {
			return err
		}
		l = levelRow{sku: sku.ID, loc: loc.ID, style: sku.StyleID}
		err := tx.QueryRow(`UPDATE stock_levels SET safety_stock = COALESCE(?, safety_stock), low_threshold = COALESCE(?, low_threshold), updated_at = ?
			WHERE sku_id = ? AND location_id = ? RETURNING `+levelCols, in.SafetyStock, in.LowThreshold, at, sku.ID, loc.ID).
			Scan(&l.onHand, &l.reserved, &l.inTransit, &l.safety, &l.lowLimit)
		if err != nil {
			return fmt.Errorf("inventory: settings: %w", err)
		}
		if err := s.checkAlert(tx, l, at); err != nil {
			return err
		}
		return s.ob.Append(tx, "inventory.settings_changed", skuCode+"@"+locCode, map[string]any{
			"sku": skuCode, "location": locCode, "safety_stock": l.safety, "low_threshold": l.lowLimit, "level": evLevel(skuCode, locCode, l)})
	})
	if err != nil {
		return Level{}, err
	}
	return s.levelOut(ctx, l, at)
}

// MovementFilter selects ledger entries.
type MovementFilter struct {
	SKU      string `query:"sku"`
	Location string `query:"location"`
	After    int64  `query:"after" description:"only movements with a larger id (the cursor)"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

// ListMovements pages through the ledger in id order.
func (s *Service) ListMovements(ctx context.Context, f MovementFilter) ([]Movement, error) {
	where := []string{"id > ?"}
	args := []any{f.After}
	if f.SKU != "" {
		sku, err := s.sku(ctx, "sku", f.SKU)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "sku_id = ?"), append(args, sku.ID)
	}
	if f.Location != "" {
		loc, err := s.net.Location(ctx, f.Location)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "location_id = ?"), append(args, loc.ID)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	args = append(args, f.Limit)
	rows, err := s.db.Query(ctx, `SELECT id, sku_id, location_id, kind, on_hand_delta, reserved_delta, in_transit_delta,
		reason, ref_type, ref_id, actor, created_at FROM stock_movements WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("inventory: list movements: %w", err)
	}
	defer rows.Close()
	out := []Movement{}
	for rows.Next() {
		var m Movement
		var skuID, locID, at int64
		if err := rows.Scan(&m.ID, &skuID, &locID, &m.Kind, &m.OnHandDelta, &m.ReservedDelta, &m.InTransitDelta,
			&m.Reason, &m.RefType, &m.RefID, &m.Actor, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = time.UnixMilli(at).UTC()
		sku, err := s.cat.SKURefByID(ctx, skuID)
		if err != nil {
			return nil, err
		}
		loc, err := s.net.LocationByID(ctx, locID)
		if err != nil {
			return nil, err
		}
		m.SKU, m.Location = sku.Code, loc.Code
		out = append(out, m)
	}
	return out, rows.Err()
}

package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Event topics.
const (
	TopicStyleCreated = "catalog.style_created"
	TopicStyleUpdated = "catalog.style_updated"
	TopicSKUCreated   = "catalog.sku_created"
	TopicSKUUpdated   = "catalog.sku_updated"
)

// MaxSKUsPerStyle caps the SKUs of one CreateStyle request.
const MaxSKUsPerStyle = 1000

// Service reads and changes the catalog. It is safe for concurrent use.
type Service struct {
	db  *db.DB
	ob  *outbox.Outbox
	now func() time.Time

	mu     sync.RWMutex
	byCode map[string]SKURef
	byID   map[int64]SKURef
}

// NewService returns the catalog service; now is the business clock
// (time.Now when nil).
func NewService(d *db.DB, ob *outbox.Outbox, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, ob: ob, now: now, byCode: map[string]SKURef{}, byID: map[int64]SKURef{}}
}

func (s *Service) nowMilli() int64 { return s.now().UTC().UnixMilli() }

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// ── identities ──────────────────────────────────────────────────────────

func (s *Service) cached(code string, id int64) (SKURef, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if code != "" {
		r, ok := s.byCode[code]
		return r, ok
	}
	r, ok := s.byID[id]
	return r, ok
}

func (s *Service) remember(r SKURef) {
	s.mu.Lock()
	s.byCode[r.Code] = r
	s.byID[r.ID] = r
	s.mu.Unlock()
}

const refQuery = `SELECT k.id, k.style_id, k.code, s.code FROM skus k JOIN styles s ON s.id = k.style_id`

// SKURef returns the identity of the SKU with this code, or ErrSKUNotFound.
// Identities never change, so they are cached in memory once read.
func (s *Service) SKURef(ctx context.Context, code string) (SKURef, error) {
	if r, ok := s.cached(code, 0); ok {
		return r, nil
	}
	if !validCode(code) {
		return SKURef{}, ErrSKUNotFound.Withf("no SKU %q", code)
	}
	var r SKURef
	err := s.db.QueryRow(ctx, refQuery+` WHERE k.code = ?`, code).Scan(&r.ID, &r.StyleID, &r.Code, &r.StyleCode)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrSKUNotFound.Withf("no SKU %q", code)
	}
	if err != nil {
		return r, fmt.Errorf("catalog: sku ref %s: %w", code, err)
	}
	s.remember(r)
	return r, nil
}

// SKURefByID returns the identity of the SKU with this id, or
// ErrSKUNotFound. It is cached like SKURef.
func (s *Service) SKURefByID(ctx context.Context, id int64) (SKURef, error) {
	if r, ok := s.cached("", id); ok {
		return r, nil
	}
	var r SKURef
	err := s.db.QueryRow(ctx, refQuery+` WHERE k.id = ?`, id).Scan(&r.ID, &r.StyleID, &r.Code, &r.StyleCode)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrSKUNotFound.Withf("no SKU with id %d", id)
	}
	if err != nil {
		return r, fmt.Errorf("catalog: sku ref %d: %w", id, err)
	}
	s.remember(r)
	return r, nil
}

// StyleSKURefs returns the identities of a style's SKUs ordered by code
// (empty, not nil, for a style without SKUs), or ErrStyleNotFound.
func (s *Service) StyleSKURefs(ctx context.Context, styleCode string) ([]SKURef, error) {
	id, err := s.styleID(ctx, styleCode)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, refQuery+` WHERE k.style_id = ? ORDER BY k.code`, id)
	if err != nil {
		return nil, fmt.Errorf("catalog: style sku refs %s: %w", styleCode, err)
	}
	defer rows.Close()
	out := []SKURef{}
	for rows.Next() {
		var r SKURef
		if err := rows.Scan(&r.ID, &r.StyleID, &r.Code, &r.StyleCode); err != nil {
			return nil, fmt.Errorf("catalog: style sku refs %s: %w", styleCode, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: style sku refs %s: %w", styleCode, err)
	}
	for _, r := range out {
		s.remember(r)
	}
	return out, nil
}

func (s *Service) styleID(ctx context.Context, code string) (int64, error) {
	if !validCode(code) {
		return 0, ErrStyleNotFound.Withf("no style %q", code)
	}
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM styles WHERE code = ?`, code).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrStyleNotFound.Withf("no style %q", code)
	}
	if err != nil {
		return 0, fmt.Errorf("catalog: style %s: %w", code, err)
	}
	return id, nil
}

// ── styles ──────────────────────────────────────────────────────────────

const styleCols = `code, name, category, brand, season, lifecycle, launch_date, created_at, updated_at`

func scanStyle(sc interface{ Scan(...any) error }) (Style, error) {
	var st Style
	var created, updated int64
	err := sc.Scan(&st.Code, &st.Name, &st.Category, &st.Brand, &st.Season, &st.Lifecycle, &st.LaunchDate, &created, &updated)
	st.CreatedAt, st.UpdatedAt = fromMilli(created), fromMilli(updated)
	return st, err
}

const skuCols = `k.code, s.code, k.color, k.size, k.barcode, k.list_price, k.cost, k.active`

func scanSKU(sc interface{ Scan(...any) error }) (SKU, error) {
	var k SKU
	err := sc.Scan(&k.Code, &k.StyleCode, &k.Color, &k.Size, &k.Barcode, &k.ListPrice, &k.Cost, &k.Active)
	return k, err
}

// CreateStyle adds a style with its SKUs (optional), all or nothing. A
// taken style or SKU code is ErrDuplicateCode, a taken barcode
// ErrDuplicateBarcode; bad input is a validation error naming each field.
func (s *Service) CreateStyle(ctx context.Context, in NewStyle) (Style, error) {
	st := Style{Code: in.Code, Name: in.Name, Category: in.Category, Brand: in.Brand, Season: in.Season,
		Lifecycle: in.Lifecycle, LaunchDate: in.LaunchDate}
	normStyle(&st)
	var v errs.Validator
	checkStyle(st, prefixed(&v, ""))
	v.Check(len(in.SKUs) <= MaxSKUsPerStyle, "skus", "too_many", fmt.Sprintf("must hold at most %d SKUs", MaxSKUsPerStyle))
	codes, barcodes, variants := map[string]int{}, map[string]int{}, map[variant]int{}
	for i, n := range in.SKUs {
		k := newSKU(n, st.Code)
		f := fmt.Sprintf("skus[%d].", i)
		checkSKU(k, prefixed(&v, f))
		if j, dup := codes[k.Code]; dup && k.Code != "" {
			v.Add(f+"code", "duplicate", fmt.Sprintf("repeats skus[%d].code", j))
		} else {
			codes[k.Code] = i
		}
		if j, dup := barcodes[k.Barcode]; dup && k.Barcode != "" {
			v.Add(f+"barcode", "duplicate", fmt.Sprintf("repeats skus[%d].barcode", j))
		} else {
			barcodes[k.Barcode] = i
		}
		vk := variant{st.Code, k.Color, k.Size}
		if j, dup := variants[vk]; dup {
			v.Add(f+"size", "duplicate", fmt.Sprintf("repeats the colour and size of skus[%d]", j))
		} else {
			variants[vk] = i
		}
		st.SKUs = append(st.SKUs, k)
	}
	if err := v.Err(); err != nil {
		return Style{}, err
	}
	now := s.nowMilli()
	st.CreatedAt, st.UpdatedAt = fromMilli(now), fromMilli(now)
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRow(`INSERT INTO styles (`+styleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO NOTHING RETURNING id`,
			st.Code, st.Name, st.Category, st.Brand, st.Season, string(st.Lifecycle), st.LaunchDate, now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return conflict(ErrDuplicateCode, "code", "style %q already exists", st.Code)
		}
		if err != nil {
			return err
		}
		head := st
		head.SKUs = nil
		if err := s.ob.Append(tx, TopicStyleCreated, st.Code, head); err != nil {
			return err
		}
		for i, k := range st.SKUs {
			if err := s.insertSKU(tx, id, k, now, fmt.Sprintf("skus[%d].", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Style{}, fmt.Errorf("catalog: create style %s: %w", st.Code, err)
	}
	return st, nil
}

func newSKU(n NewSKU, styleCode string) SKU {
	k := SKU{Code: n.Code, StyleCode: styleCode, Color: n.Color, Size: n.Size, Barcode: n.Barcode,
		ListPrice: n.ListPrice, Cost: n.Cost, Active: n.Active == nil || *n.Active}
	normSKU(&k)
	return k
}

// insertSKU inserts one SKU of the style with this id and appends its
// event. A clash with a unique constraint is diagnosed in the same
// transaction and reported as the matching conflict.
func (s *Service) insertSKU(tx *db.Tx, styleID int64, k SKU, now int64, prefix string) error {
	var id int64
	err := tx.QueryRow(`INSERT INTO skus (code, style_id, color, size, barcode, list_price, cost, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		k.Code, styleID, k.Color, k.Size, k.Barcode, k.ListPrice, k.Cost, k.Active, now, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return skuConflict(tx, styleID, k, prefix)
	}
	if err != nil {
		return err
	}
	return s.ob.Append(tx, TopicSKUCreated, k.Code, k)
}

// skuConflict finds which unique constraint a refused SKU insert clashed with.
func skuConflict(tx *db.Tx, styleID int64, k SKU, prefix string) error {
	rows, err := tx.Query(`SELECT code, barcode FROM skus
		WHERE code = ? OR barcode = ? OR (style_id = ? AND color = ? AND size = ?)`,
		k.Code, k.Barcode, styleID, k.Color, k.Size)
	if err != nil {
		return err
	}
	defer rows.Close()
	var byCode, byBarcode, byVariant string
	for rows.Next() {
		var code, barcode string
		if err := rows.Scan(&code, &barcode); err != nil {
			return err
		}
		switch {
		case code == k.Code:
			byCode = code
		case barcode == k.Barcode:
			byBarcode = code
		default:
			byVariant = code
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	switch {
	case byCode != "":
		return conflict(ErrDuplicateCode, prefix+"code", "SKU %q already exists", k.Code)
	case byBarcode != "":
		return conflict(ErrDuplicateBarcode, prefix+"barcode", "barcode %s belongs to SKU %q", k.Barcode, byBarcode)
	case byVariant != "":
		return conflict(ErrDuplicateVariant, prefix+"size", "the style already has colour %q size %q as SKU %q", k.Color, k.Size, byVariant)
	}
	return errs.E(errs.Conflict, "conflict", "SKU %q clashes with a concurrent change; retry", k.Code)
}

// uniqueViolation names the unique constraint an insert or update broke,
// from the engines' messages ("UNIQUE constraint failed: skus.barcode" on
// SQLite, `violates unique constraint "skus_barcode_key"` on PostgreSQL),
// or returns "".
func uniqueViolation(err error) string {
	if err == nil {
		return ""
	}
	m := err.Error()
	switch {
	case strings.Contains(m, "skus.barcode"), strings.Contains(m, "skus_barcode_key"):
		return "barcode"
	case strings.Contains(m, "skus.style_id"), strings.Contains(m, "skus_style_id_color_size_key"):
		return "variant"
	case strings.Contains(m, "skus.code"), strings.Contains(m, "skus_code_key"):
		return "sku_code"
	case strings.Contains(m, "styles.code"), strings.Contains(m, "styles_code_key"):
		return "style_code"
	}
	return ""
}

// GetStyle returns a style with its SKUs (ordered by code), or
// ErrStyleNotFound.
func (s *Service) GetStyle(ctx context.Context, code string) (Style, error) {
	if !validCode(code) {
		return Style{}, ErrStyleNotFound.Withf("no style %q", code)
	}
	st, err := scanStyle(s.db.QueryRow(ctx, `SELECT `+styleCols+` FROM styles WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Style{}, ErrStyleNotFound.Withf("no style %q", code)
	}
	if err != nil {
		return Style{}, fmt.Errorf("catalog: get style %s: %w", code, err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+skuCols+` FROM skus k JOIN styles s ON s.id = k.style_id
		WHERE s.code = ? ORDER BY k.code`, code)
	if err != nil {
		return Style{}, fmt.Errorf("catalog: get style %s: %w", code, err)
	}
	defer rows.Close()
	for rows.Next() {
		k, err := scanSKU(rows)
		if err != nil {
			return Style{}, fmt.Errorf("catalog: get style %s: %w", code, err)
		}
		st.SKUs = append(st.SKUs, k)
	}
	if err := rows.Err(); err != nil {
		return Style{}, fmt.Errorf("catalog: get style %s: %w", code, err)
	}
	return st, nil
}

// UpdateStyle changes the fields of a style that p sets and returns the
// style with its SKUs; ErrStyleNotFound when there is no such style. A
// patch that sets nothing changes nothing.
func (s *Service) UpdateStyle(ctx context.Context, code string, p StylePatch) (Style, error) {
	var v errs.Validator
	add := prefixed(&v, "")
	var name, category, brand, season, lifecycle, launch any
	if p.Name != nil {
		x := strings.TrimSpace(*p.Name)
		checkText(x, "name", true, MaxNameLen, add)
		name = x
	}
	if p.Category != nil {
		x := strings.TrimSpace(*p.Category)
		checkText(x, "category", true, MaxLabelLen, add)
		category = x
	}
	if p.Brand != nil {
		x := strings.TrimSpace(*p.Brand)
		checkText(x, "brand", false, MaxLabelLen, add)
		brand = x
	}
	if p.Season != nil {
		x := strings.TrimSpace(*p.Season)
		checkText(x, "season", false, MaxLabelLen, add)
		season = x
	}
	if p.Lifecycle != nil {
		x := Lifecycle(strings.TrimSpace(string(*p.Lifecycle)))
		checkLifecycle(x, "lifecycle", add)
		lifecycle = string(x)
	}
	if p.LaunchDate != nil {
		x := strings.TrimSpace(*p.LaunchDate)
		checkDate(x, "launch_date", add)
		launch = x
	}
	if err := v.Err(); err != nil {
		return Style{}, err
	}
	if p == (StylePatch{}) {
		return s.GetStyle(ctx, code)
	}
	if !validCode(code) {
		return Style{}, ErrStyleNotFound.Withf("no style %q", code)
	}
	now := s.nowMilli()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		st, err := scanStyle(tx.QueryRow(`UPDATE styles SET name = COALESCE(?, name), category = COALESCE(?, category),
			brand = COALESCE(?, brand), season = COALESCE(?, season), lifecycle = COALESCE(?, lifecycle),
			launch_date = COALESCE(?, launch_date), updated_at = ?
			WHERE code = ? RETURNING `+styleCols, name, category, brand, season, lifecycle, launch, now, code))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrStyleNotFound.Withf("no style %q", code)
		}
		if err != nil {
			return err
		}
		return s.ob.Append(tx, TopicStyleUpdated, code, st)
	})
	if err != nil {
		return Style{}, fmt.Errorf("catalog: update style %s: %w", code, err)
	}
	return s.GetStyle(ctx, code)
}

// ── SKUs ────────────────────────────────────────────────────────────────

// AddSKU adds a SKU to a style: ErrStyleNotFound when there is no such
// style, ErrDuplicateCode, ErrDuplicateBarcode or ErrDuplicateVariant when
// the code, barcode or colour × size is taken.
func (s *Service) AddSKU(ctx context.Context, styleCode string, in NewSKU) (SKU, error) {
	k := newSKU(in, styleCode)
	var v errs.Validator
	checkSKU(k, prefixed(&v, ""))
	if err := v.Err(); err != nil {
		return SKU{}, err
	}
	styleID, err := s.styleID(ctx, styleCode) // styles are never deleted: no race
	if err != nil {
		return SKU{}, err
	}
	now := s.nowMilli()
	err = s.db.Write(ctx, func(tx *db.Tx) error { return s.insertSKU(tx, styleID, k, now, "") })
	if err != nil {
		return SKU{}, fmt.Errorf("catalog: add sku %s to %s: %w", k.Code, styleCode, err)
	}
	return k, nil
}

// GetSKU returns the SKU with this code, or ErrSKUNotFound.
func (s *Service) GetSKU(ctx context.Context, code string) (SKU, error) {
	if !validCode(code) {
		return SKU{}, ErrSKUNotFound.Withf("no SKU %q", code)
	}
	k, err := scanSKU(s.db.QueryRow(ctx, `SELECT `+skuCols+` FROM skus k JOIN styles s ON s.id = k.style_id WHERE k.code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return SKU{}, ErrSKUNotFound.Withf("no SKU %q", code)
	}
	if err != nil {
		return SKU{}, fmt.Errorf("catalog: get sku %s: %w", code, err)
	}
	return k, nil
}

// GetSKUByBarcode returns the SKU with this barcode (as scanned at a
// till), or ErrSKUNotFound.
func (s *Service) GetSKUByBarcode(ctx context.Context, barcode string) (SKU, error) {
	barcode = strings.TrimSpace(barcode)
	if !ValidBarcode(barcode) {
		return SKU{}, ErrSKUNotFound.Withf("no SKU with barcode %q", barcode)
	}
	k, err := scanSKU(s.db.QueryRow(ctx, `SELECT `+skuCols+` FROM skus k JOIN styles s ON s.id = k.style_id WHERE k.barcode = ?`, barcode))
	if errors.Is(err, sql.ErrNoRows) {
		return SKU{}, ErrSKUNotFound.Withf("no SKU with barcode %q", barcode)
	}
	if err != nil {
		return SKU{}, fmt.Errorf("catalog: sku by barcode: %w", err)
	}
	return k, nil
}

// UpdateSKU changes the price, cost, barcode or active flag of a SKU:
// ErrSKUNotFound when there is no such SKU, ErrDuplicateBarcode when the new
// barcode belongs to another SKU. A patch that sets nothing changes nothing.
func (s *Service) UpdateSKU(ctx context.Context, code string, p SKUPatch) (SKU, error) {
	var v errs.Validator
	add := prefixed(&v, "")
	var price, cost, barcode, active any
	if p.ListPrice != nil {
		checkPrice(*p.ListPrice, "list_price", add)
		price = *p.ListPrice
	}
	if p.Cost != nil {
		checkPrice(*p.Cost, "cost", add)
		cost = *p.Cost
	}
	if p.Barcode != nil {
		x := strings.TrimSpace(*p.Barcode)
		checkBarcode(x, "barcode", add)
		barcode = x
	}
	if p.Active != nil {
		active = *p.Active
	}
	if err := v.Err(); err != nil {
		return SKU{}, err
	}
	if p == (SKUPatch{}) {
		return s.GetSKU(ctx, code)
	}
	if !validCode(code) {
		return SKU{}, ErrSKUNotFound.Withf("no SKU %q", code)
	}
	now := s.nowMilli()
	var k SKU
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var styleID int64
		k = SKU{Code: code}
		err := tx.QueryRow(`UPDATE skus SET list_price = COALESCE(?, list_price), cost = COALESCE(?, cost),
			barcode = COALESCE(?, barcode), active = COALESCE(?, active), updated_at = ?
			WHERE code = ? RETURNING style_id, color, size, barcode, list_price, cost, active`,
			price, cost, barcode, active, now, code).Scan(&styleID, &k.Color, &k.Size, &k.Barcode, &k.ListPrice, &k.Cost, &k.Active)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrSKUNotFound.Withf("no SKU %q", code)
		}
		if uniqueViolation(err) == "barcode" {
			// The failed statement is rolled back with this closure.
			return conflict(ErrDuplicateBarcode, "barcode", "barcode %s belongs to another SKU", barcode)
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT code FROM styles WHERE id = ?`, styleID).Scan(&k.StyleCode); err != nil {
			return err
		}
		return s.ob.Append(tx, TopicSKUUpdated, code, k)
	})
	if err != nil {
		return SKU{}, fmt.Errorf("catalog: update sku %s: %w", code, err)
	}
	return k, nil
}

// SKUFacts is what reports need of a SKU: its cost and its style's
// grouping and lifecycle attributes. Cost may change, so facts are read
// fresh on every call, never cached.
type SKUFacts struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Cost      int64     `json:"cost"`       // fen, the current unit cost
	ListPrice int64     `json:"list_price"` // fen, the current list price
	Active    bool      `json:"active"`     // on sale
	StyleID   int64     `json:"style_id"`
	StyleCode string    `json:"style_code"`
	Category  string    `json:"category"`
	Lifecycle Lifecycle `json:"lifecycle"`
	// LaunchDate is the style's launch business date, YYYY-MM-DD.
	LaunchDate string `json:"launch_date"`
}

// SKUFactsByID returns the facts of the SKUs with these ids, keyed by id,
// in a few bulk reads. An id with no SKU is ErrSKUNotFound.
func (s *Service) SKUFactsByID(ctx context.Context, ids []int64) (map[int64]SKUFacts, error) {
	out := make(map[int64]SKUFacts, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.db.Query(ctx, `SELECT k.id, k.code, k.cost, k.list_price, k.active, s.id, s.code, s.category, s.lifecycle, s.launch_date
			FROM skus k JOIN styles s ON s.id = k.style_id
			WHERE k.id IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("catalog: sku facts: %w", err)
		}
		for rows.Next() {
			var f SKUFacts
			if err := rows.Scan(&f.ID, &f.Code, &f.Cost, &f.ListPrice, &f.Active, &f.StyleID, &f.StyleCode, &f.Category, &f.Lifecycle, &f.LaunchDate); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: sku facts: %w", err)
			}
			out[f.ID] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("catalog: sku facts: %w", err)
		}
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, ErrSKUNotFound.Withf("no SKU with id %d", id)
		}
	}
	return out, nil
}

package catalog

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// StyleFilter selects styles for ListStyles. Empty fields select all.
type StyleFilter struct {
	// Q matches a case-insensitive substring of the code or name.
	Q         string
	Category  string
	Brand     string
	Season    string
	Lifecycle Lifecycle
	// Limit is the page size (1–500; 0 means 50).
	Limit int
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
}

// SKUFilter selects SKUs for ListSKUs. Empty fields select all.
type SKUFilter struct {
	// Q matches a case-insensitive substring of the SKU code, the style
	// name or the barcode.
	Q         string
	Category  string
	Brand     string
	Season    string
	Lifecycle Lifecycle
	Style     string // style code
	Barcode   string // exact barcode
	Active    *bool
	Limit     int
	Cursor    string
}

// Pages hold at most this many items.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// cursorOf encodes the code a page ends at; the next page starts after it.
func cursorOf(code string) string { return base64.RawURLEncoding.EncodeToString([]byte(code)) }

func afterCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !validCode(string(b)) {
		return "", &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "cursor is not a cursor of this list",
			Fields: []errs.FieldError{{Field: "cursor", Code: "invalid_cursor", Message: "is not a next_cursor of this list"}}}
	}
	return string(b), nil
}

// likePattern returns a LIKE pattern matching s as a substring, with the
// wildcards of s escaped by '\'.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// where builds a conjunction of conditions.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func checkListArgs(limit int, lc Lifecycle, texts ...string) (int, error) {
	if limit == 0 {
		limit = DefaultLimit
	}
	var v errs.Validator
	v.Range(int64(limit), 1, MaxLimit, "limit")
	for i := 0; i+1 < len(texts); i += 2 {
		field, s := texts[i], texts[i+1]
		v.Check(utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= 1000, field, "invalid_text",
			"must be valid UTF-8 without NUL, at most 1000 bytes")
	}
	if lc != "" && !lc.Valid() {
		v.Add("lifecycle", "one_of", "must be one of fashion, seasonal, classic")
	}
	return limit, v.Err()
}

// ListStyles returns a page of styles (without their SKUs) ordered by code,
// and the cursor of the next page ("" on the last).
func (s *Service) ListStyles(ctx context.Context, f StyleFilter) ([]Style, string, error) {
	limit, err := checkListArgs(f.Limit, f.Lifecycle, "q", f.Q, "category", f.Category, "brand", f.Brand, "season", f.Season)
	if err != nil {
		return nil, "", err
	}
	var w where
	if f.Cursor != "" {
		after, err := afterCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		w.add("code > ?", after)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		p := likePattern(q)
		like := s.db.ILike()
		w.add("(code "+like+" ? ESCAPE '\\' OR name "+like+" ? ESCAPE '\\')", p, p)
	}
	for _, c := range []struct{ col, v string }{{"category", f.Category}, {"brand", f.Brand}, {"season", f.Season}, {"lifecycle", string(f.Lifecycle)}} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	rows, err := s.db.Query(ctx, `SELECT `+styleCols+` FROM styles`+w.sql()+` ORDER BY code LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("catalog: list styles: %w", err)
	}
	defer rows.Close()
	out := []Style{}
	for rows.Next() {
		st, err := scanStyle(rows)
		if err != nil {
			return nil, "", fmt.Errorf("catalog: list styles: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("catalog: list styles: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = cursorOf(out[limit-1].Code)
	}
	return out, next, nil
}

// ListSKUs returns a page of SKUs ordered by code, and the cursor of the
// next page ("" on the last).
func (s *Service) ListSKUs(ctx context.Context, f SKUFilter) ([]SKU, string, error) {
	limit, err := checkListArgs(f.Limit, f.Lifecycle, "q", f.Q, "category", f.Category, "brand", f.Brand,
		"season", f.Season, "style", f.Style, "barcode", f.Barcode)
	if err != nil {
		return nil, "", err
	}
	var w where
	if f.Cursor != "" {
		after, err := afterCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		w.add("k.code > ?", after)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		p := likePattern(q)
		like := s.db.ILike()
		w.add("(k.code "+like+" ? ESCAPE '\\' OR s.name "+like+" ? ESCAPE '\\' OR k.barcode "+like+" ? ESCAPE '\\')", p, p, p)
	}
	for _, c := range []struct{ col, v string }{{"s.category", f.Category}, {"s.brand", f.Brand}, {"s.season", f.Season},
		{"s.lifecycle", string(f.Lifecycle)}, {"s.code", f.Style}, {"k.barcode", strings.TrimSpace(f.Barcode)}} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	if f.Active != nil {
		w.add("k.active = ?", *f.Active)
	}
	rows, err := s.db.Query(ctx, `SELECT `+skuCols+` FROM skus k JOIN styles s ON s.id = k.style_id`+w.sql()+
		` ORDER BY k.code LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("catalog: list skus: %w", err)
	}
	defer rows.Close()
	out := []SKU{}
	for rows.Next() {
		k, err := scanSKU(rows)
		if err != nil {
			return nil, "", fmt.Errorf("catalog: list skus: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("catalog: list skus: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = cursorOf(out[limit-1].Code)
	}
	return out, next, nil
}

package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// MaxProblems caps the field errors listed in one refused import.
const MaxProblems = 100

// problem is one field error with its place, for sorting.
type problem struct {
	line, col, seq int
	fe             errs.FieldError
}

// collector gathers field errors. It keeps the MaxProblems first by place
// (line, column, then order found) and counts the rest.
type collector struct {
	items []problem
	total int
	seq   int
}

func (c *collector) add(line, col int, field, code, msg string) {
	c.total++
	c.seq++
	c.items = append(c.items, problem{line, col, c.seq, errs.FieldError{Field: field, Code: code, Message: msg}})
	if len(c.items) >= 10*MaxProblems {
		c.trim()
	}
}

func (c *collector) trim() {
	sort.Slice(c.items, func(i, j int) bool {
		a, b := c.items[i], c.items[j]
		if a.line != b.line {
			return a.line < b.line
		}
		if a.col != b.col {
			return a.col < b.col
		}
		return a.seq < b.seq
	})
	if len(c.items) > MaxProblems {
		c.items = c.items[:MaxProblems]
	}
}

// snapshot and restore let a re-run transaction drop what it added.
type snapshot struct {
	items      []problem
	total, seq int
}

func (c *collector) snapshot() snapshot {
	return snapshot{append([]problem(nil), c.items...), c.total, c.seq}
}

func (c *collector) restore(s snapshot) {
	c.items = append(c.items[:0], s.items...)
	c.total, c.seq = s.total, s.seq
}

// err returns the collected problems as one validation error, or nil.
func (c *collector) err(what string) error {
	if c.total == 0 {
		return nil
	}
	c.trim()
	fields := make([]errs.FieldError, len(c.items))
	for i, p := range c.items {
		fields[i] = p.fe
	}
	msg := fmt.Sprintf("%d problems found; nothing was %s", c.total, what)
	if c.total == 1 {
		msg = fmt.Sprintf("%s %s; nothing was %s", fields[0].Field, fields[0].Message, what)
	}
	if c.total > len(fields) {
		msg += fmt.Sprintf("; the first %d are listed", len(fields))
	}
	return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: msg, Fields: fields,
		Extra: map[string]any{"error_count": c.total}}
}

// locator names the place of a style's or a SKU's field in the input.
type locator interface {
	style(si int) addFunc
	sku(si, ki int) addFunc
	styleName(si int) string
	skuName(si, ki int) string
}

// jsonLoc names fields as styles[i].skus[j].field.
type jsonLoc struct{ c *collector }

func (l jsonLoc) style(si int) addFunc {
	return func(f, code, msg string) { l.c.add(0, 0, fmt.Sprintf("styles[%d].%s", si, f), code, msg) }
}

func (l jsonLoc) sku(si, ki int) addFunc {
	return func(f, code, msg string) { l.c.add(0, 0, fmt.Sprintf("styles[%d].skus[%d].%s", si, ki, f), code, msg) }
}

func (l jsonLoc) styleName(si int) string   { return fmt.Sprintf("styles[%d]", si) }
func (l jsonLoc) skuName(si, ki int) string { return fmt.Sprintf("styles[%d].skus[%d]", si, ki) }

// validateModel checks every style and SKU and the uniqueness of codes,
// barcodes and variants within the input. It sets each SKU's StyleCode.
func validateModel(styles []Style, loc locator) {
	type at struct{ si, ki int }
	styleSeen := map[string]int{}
	codes, barcodes, variants := map[string]at{}, map[string]at{}, map[variant]at{}
	for si := range styles {
		st := &styles[si]
		add := loc.style(si)
		checkStyle(*st, add)
		if j, dup := styleSeen[st.Code]; dup && st.Code != "" {
			add("code", "duplicate", "repeats the style of "+loc.styleName(j))
		} else {
			styleSeen[st.Code] = si
		}
		for ki := range st.SKUs {
			k := &st.SKUs[ki]
			kadd := loc.sku(si, ki)
			if k.StyleCode != "" && k.StyleCode != st.Code {
				kadd("style_code", "style_mismatch", fmt.Sprintf("is %q but the SKU is listed under style %q", k.StyleCode, st.Code))
			}
			k.StyleCode = st.Code
			checkSKU(*k, kadd)
			if j, dup := codes[k.Code]; dup && k.Code != "" {
				kadd("code", "duplicate_code", "repeats the SKU code of "+loc.skuName(j.si, j.ki))
			} else {
				codes[k.Code] = at{si, ki}
			}
			if j, dup := barcodes[k.Barcode]; dup && k.Barcode != "" {
				kadd("barcode", "duplicate_barcode", "repeats the barcode of "+loc.skuName(j.si, j.ki))
			} else {
				barcodes[k.Barcode] = at{si, ki}
			}
			vk := variant{st.Code, k.Color, k.Size}
			if j, dup := variants[vk]; dup && k.Color != "" && k.Size != "" {
				kadd("size", "duplicate_variant", "repeats the colour and size of "+loc.skuName(j.si, j.ki))
			} else {
				variants[vk] = at{si, ki}
			}
		}
	}
}

// BulkUpsert creates or updates styles with their SKUs in one transaction:
// a style or SKU whose code exists is updated (a SKU's price, cost, barcode
// and active flag; its style, colour and size cannot change). Every style
// and SKU is checked first, against the input and the stored catalog; any
// problem refuses the whole load with one validation error listing up to
// MaxProblems fields (styles[i].skus[j].field), and nothing is written.
// SKU.Active is written as given. Rows equal to the stored ones are left
// alone and produce no event.
func (s *Service) BulkUpsert(ctx context.Context, styles []Style) (ImportResult, error) {
	in := make([]Style, len(styles))
	for i, st := range styles {
		normStyle(&st)
		st.SKUs = append([]SKU(nil), st.SKUs...)
		for j := range st.SKUs {
			normSKU(&st.SKUs[j])
		}
		in[i] = st
	}
	c := &collector{}
	loc := jsonLoc{c}
	validateModel(in, loc)
	res, err := s.bulk(ctx, in, loc, c, false, "written")
	if err != nil {
		return res, fmt.Errorf("catalog: bulk upsert: %w", err)
	}
	return res, nil
}

type storedStyle struct {
	id int64
	st Style
}

type storedSKU struct {
	id, styleID int64
	k           SKU
}

// bulk checks the model against the store and writes it, in one
// transaction. c may already hold problems found in the input; they are
// reported together with those found against the store.
func (s *Service) bulk(ctx context.Context, styles []Style, loc locator, c *collector, keepActive bool, what string) (ImportResult, error) {
	var res ImportResult
	before := c.snapshot()
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		c.restore(before)
		res = ImportResult{}
		// What is stored of the styles, SKUs, barcodes and variants named.
		var styleCodes, skuCodes, barcodes []any
		inInput := map[string]bool{}
		for _, st := range styles {
			if validCode(st.Code) {
				styleCodes = append(styleCodes, st.Code)
			}
			for _, k := range st.SKUs {
				inInput[k.Code] = true
				if validCode(k.Code) {
					skuCodes = append(skuCodes, k.Code)
				}
				if ValidBarcode(k.Barcode) {
					barcodes = append(barcodes, k.Barcode)
				}
			}
		}
		oldStyles := map[string]storedStyle{}
		err := lookupIn(tx, `SELECT id, `+styleCols+` FROM styles WHERE code`, "", styleCodes, "", func(r db.Rows) error {
			var x storedStyle
			var created, updated int64
			if err := r.Scan(&x.id, &x.st.Code, &x.st.Name, &x.st.Category, &x.st.Brand, &x.st.Season, &x.st.Lifecycle,
				&x.st.LaunchDate, &created, &updated); err != nil {
				return err
			}
			x.st.CreatedAt, x.st.UpdatedAt = fromMilli(created), fromMilli(updated)
			oldStyles[x.st.Code] = x
			return nil
		})
		if err != nil {
			return err
		}
		oldSKUs := map[string]storedSKU{}
		err = lookupIn(tx, `SELECT k.id, k.style_id, `+skuCols+` FROM skus k JOIN styles s ON s.id = k.style_id WHERE k.code`, "",
			skuCodes, "", func(r db.Rows) error {
				var x storedSKU
				if err := r.Scan(&x.id, &x.styleID, &x.k.Code, &x.k.StyleCode, &x.k.Color, &x.k.Size, &x.k.Barcode,
					&x.k.ListPrice, &x.k.Cost, &x.k.Active); err != nil {
					return err
				}
				oldSKUs[x.k.Code] = x
				return nil
			})
		if err != nil {
			return err
		}
		holders := map[string]string{} // barcode → SKU code
		err = lookupIn(tx, `SELECT barcode, code FROM skus WHERE barcode`, "", barcodes, "", func(r db.Rows) error {
			var b, code string
			if err := r.Scan(&b, &code); err != nil {
				return err
			}
			holders[b] = code
			return nil
		})
		if err != nil {
			return err
		}
		var styleIDs []any
		for _, x := range oldStyles {
			styleIDs = append(styleIDs, x.id)
		}
		type idVariant struct {
			styleID     int64
			color, size string
		}
		variants := map[idVariant]string{}
		err = lookupIn(tx, `SELECT style_id, color, size, code FROM skus WHERE style_id`, int64(0), styleIDs, "", func(r db.Rows) error {
			var v idVariant
			var code string
			if err := r.Scan(&v.styleID, &v.color, &v.size, &code); err != nil {
				return err
			}
			variants[v] = code
			return nil
		})
		if err != nil {
			return err
		}

		// Check the input against the store.
		for si, st := range styles {
			old, styleExists := oldStyles[st.Code]
			for ki, k := range st.SKUs {
				add := loc.sku(si, ki)
				ok, exists := oldSKUs[k.Code]
				switch {
				case exists && ok.k.StyleCode != st.Code:
					add("code", "style_mismatch", fmt.Sprintf("belongs to style %q; a SKU cannot move to another style", ok.k.StyleCode))
				case exists && ok.k.Color != k.Color:
					add("color", "immutable", fmt.Sprintf("is %q for this existing SKU; colour and size cannot change", ok.k.Color))
				case exists && ok.k.Size != k.Size:
					add("size", "immutable", fmt.Sprintf("is %q for this existing SKU; colour and size cannot change", ok.k.Size))
				}
				if h := holders[k.Barcode]; h != "" && h != k.Code && !inInput[h] {
					add("barcode", "duplicate_barcode", fmt.Sprintf("belongs to SKU %q", h))
				}
				if styleExists && !exists {
					if h := variants[idVariant{old.id, k.Color, k.Size}]; h != "" && h != k.Code {
						add("size", "duplicate_variant", fmt.Sprintf("style %q already has colour %q size %q as SKU %q", st.Code, k.Color, k.Size, h))
					}
				}
			}
		}
		if err := c.err(what); err != nil {
			return err
		}

		// Styles: insert the new, update the changed.
		now := s.nowMilli()
		var styleRows [][]any
		var styleEvents []Style
		var styleTopics []string
		for _, st := range styles {
			old, exists := oldStyles[st.Code]
			head := st
			head.SKUs = nil
			if exists {
				o := old.st
				if o.Name == st.Name && o.Category == st.Category && o.Brand == st.Brand && o.Season == st.Season &&
					o.Lifecycle == st.Lifecycle && o.LaunchDate == st.LaunchDate {
					continue
				}
				head.CreatedAt, head.UpdatedAt = o.CreatedAt, fromMilli(now)
				res.StylesUpdated++
				styleTopics = append(styleTopics, TopicStyleUpdated)
			} else {
				head.CreatedAt, head.UpdatedAt = fromMilli(now), fromMilli(now)
				res.StylesCreated++
				styleTopics = append(styleTopics, TopicStyleCreated)
			}
			styleEvents = append(styleEvents, head)
			styleRows = append(styleRows, []any{st.Code, st.Name, st.Category, st.Brand, st.Season, string(st.Lifecycle), st.LaunchDate, now, now})
		}
		ids := make(map[string]int64, len(styles))
		for code, x := range oldStyles {
			ids[code] = x.id
		}
		err = multiInsert(tx, `INSERT INTO styles (`+styleCols+`)`, 9, ` ON CONFLICT (code) DO UPDATE SET name = excluded.name,
			category = excluded.category, brand = excluded.brand, season = excluded.season, lifecycle = excluded.lifecycle,
			launch_date = excluded.launch_date, updated_at = excluded.updated_at RETURNING id, code`, styleRows, func(r db.Rows) error {
			var id int64
			var code string
			if err := r.Scan(&id, &code); err != nil {
				return err
			}
			ids[code] = id
			return nil
		})
		if err != nil {
			return raceConflict(err)
		}
		for i, st := range styleEvents {
			if err := s.ob.Append(tx, styleTopics[i], st.Code, st); err != nil {
				return err
			}
		}

		// SKUs: free barcodes moving between SKUs of the input, then insert
		// the new and update the changed.
		var skuRows [][]any
		var skuEvents []SKU
		var skuTopics []string
		freed := map[string]bool{}
		for _, st := range styles {
			for _, k := range st.SKUs {
				old, exists := oldSKUs[k.Code]
				if keepActive {
					k.Active = !exists || old.k.Active
				}
				if exists {
					o := old.k
					if o.Barcode == k.Barcode && o.ListPrice == k.ListPrice && o.Cost == k.Cost && o.Active == k.Active {
						continue
					}
					res.SKUsUpdated++
					skuTopics = append(skuTopics, TopicSKUUpdated)
				} else {
					res.SKUsCreated++
					skuTopics = append(skuTopics, TopicSKUCreated)
				}
				if h := holders[k.Barcode]; h != "" && h != k.Code && !freed[h] {
					// h is in the input with another barcode: park it on a
					// placeholder no real barcode can equal until its row is
					// written.
					if _, err := tx.Exec(`UPDATE skus SET barcode = ? WHERE code = ?`, "~"+h, h); err != nil {
						return err
					}
					freed[h] = true
				}
				skuEvents = append(skuEvents, k)
				skuRows = append(skuRows, []any{k.Code, ids[st.Code], k.Color, k.Size, k.Barcode, k.ListPrice, k.Cost, k.Active, now, now})
			}
		}
		var refs []SKURef
		err = multiInsert(tx, `INSERT INTO skus (code, style_id, color, size, barcode, list_price, cost, active, created_at, updated_at)`, 10,
			` ON CONFLICT (code) DO UPDATE SET barcode = excluded.barcode, list_price = excluded.list_price, cost = excluded.cost,
			active = excluded.active, updated_at = excluded.updated_at RETURNING id, style_id, code`, skuRows, func(r db.Rows) error {
				var ref SKURef
				if err := r.Scan(&ref.ID, &ref.StyleID, &ref.Code); err != nil {
					return err
				}
				refs = append(refs, ref)
				return nil
			})
		if err != nil {
			return raceConflict(err)
		}
		for i, k := range skuEvents {
			if err := s.ob.Append(tx, skuTopics[i], k.Code, k); err != nil {
				return err
			}
		}
		codeOf := make(map[int64]string, len(ids))
		for code, id := range ids {
			codeOf[id] = code
		}
		for i := range refs {
			refs[i].StyleCode = codeOf[refs[i].StyleID]
		}
		tx.AfterCommit(func() {
			for _, r := range refs {
				s.remember(r)
			}
		})
		return nil
	})
	return res, err
}

// raceConflict reports a unique constraint broken by a concurrent change
// made after the checks, or passes err on.
func raceConflict(err error) error {
	switch uniqueViolation(err) {
	case "barcode":
		return ErrDuplicateBarcode.Withf("a barcode was taken by a concurrent change; nothing was written, retry")
	case "variant":
		return ErrDuplicateVariant.Withf("a colour and size was taken by a concurrent change; nothing was written, retry")
	case "sku_code", "style_code":
		return ErrDuplicateCode.Withf("a code was taken by a concurrent change; nothing was written, retry")
	}
	return err
}

// Chunk sizes of the multi-row statements: a few fixed sizes keep the
// number of distinct (prepared, cached) statements small.
var chunkSizes = []int{256, 32, 4, 1}

// inChunk is the number of placeholders of every lookup's IN list.
const inChunk = 256

// multiInsert runs head VALUES (...), (...) tail over rows in chunks,
// passing every returned row to each.
func multiInsert(tx *db.Tx, head string, ncols int, tail string, rows [][]any, each func(db.Rows) error) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	for i := 0; i < len(rows); {
		n := 1
		for _, c := range chunkSizes {
			if len(rows)-i >= c {
				n = c
				break
			}
		}
		q := head + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + tail
		args := make([]any, 0, n*ncols)
		for _, r := range rows[i : i+n] {
			args = append(args, r...)
		}
		if err := queryEach(tx, q, args, each); err != nil {
			return err
		}
		i += n
	}
	return nil
}

// lookupIn runs head IN (?, ...) tail for the keys, inChunk at a time
// (padding the last chunk with pad), passing every row to each.
func lookupIn(tx *db.Tx, head string, pad any, keys []any, tail string, each func(db.Rows) error) error {
	q := head + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", inChunk), ", ") + ")" + tail
	for i := 0; i < len(keys); i += inChunk {
		args := make([]any, inChunk)
		n := copy(args, keys[i:])
		for j := n; j < inChunk; j++ {
			args[j] = pad
		}
		if err := queryEach(tx, q, args, each); err != nil {
			return err
		}
	}
	return nil
}

func queryEach(tx *db.Tx, q string, args []any, each func(db.Rows) error) error {
	rows, err := tx.Query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

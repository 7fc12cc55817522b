package inventory

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Count posts a stock count: each line's on-hand becomes the counted
// quantity and the difference is booked as a count movement. A count below
// the units reserved is refused (409 count_below_reserved) — the holds must
// be released first, so that no order is silently left without stock.
func (s *Service) Count(ctx context.Context, in CountRequest) (CountResult, error) {
	var v errs.Validator
	v.Required(in.Location, "location")
	v.Check(len(in.Note) <= 500, "note", "too_long", "must be at most 500 characters")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= 5000, "lines", "count", "must hold 1 to 5000 lines")
	seen := map[string]bool{}
	for i, ln := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Required(ln.SKU, f+".sku")
		v.Range(ln.Counted, 0, MaxQty, f+".counted")
		v.Check(!seen[ln.SKU], f+".sku", "duplicate", "appears twice")
		seen[ln.SKU] = true
	}
	if err := v.Err(); err != nil {
		return CountResult{}, err
	}
	loc, err := s.location(ctx, "location", in.Location)
	if err != nil {
		return CountResult{}, err
	}
	refs := make([]catalog.SKURef, len(in.Lines))
	for i, ln := range in.Lines {
		if refs[i], err = s.sku(ctx, fmt.Sprintf("lines[%d].sku", i), ln.SKU); err != nil {
			return CountResult{}, err
		}
	}
	actor := auth.Actor(ctx)
	out := CountResult{Location: loc.Code, Note: in.Note, CountedBy: actor}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		at := now.UnixMilli()
		out.CreatedAt = now.UTC().Truncate(time.Millisecond)
		out.Lines = out.Lines[:0]
		if err := tx.QueryRow(`INSERT INTO stock_counts (location_id, note, counted_by, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			loc.ID, in.Note, actor, at).Scan(&out.ID); err != nil {
			return fmt.Errorf("inventory: insert count: %w", err)
		}
		ref := strconv.FormatInt(out.ID, 10)
		var evs []levelEvent
		for i, ln := range in.Lines {
			// Within this transaction the level cannot change under us (the
			// writer is serialised on SQLite; on PostgreSQL the guard below
			// re-checks the value read).
			cur, err := readLevel(tx, refs[i], loc.ID)
			if err != nil {
				return err
			}
			if ln.Counted < cur.reserved {
				return ErrCountBelowHeld.Withf("lines[%d]: %s counted %d but %d are reserved; release the holds first", i, ln.SKU, ln.Counted, cur.reserved).
					With("field", fmt.Sprintf("lines[%d].counted", i)).With("reserved", cur.reserved)
			}
			diff := ln.Counted - cur.onHand
			l := cur
			if diff != 0 {
				c := change{sku: refs[i], loc: loc.ID, kind: CountKind, dOnHand: diff, refType: "count", refID: ref, actor: actor, reason: in.Note}
				if diff < 0 {
					c.need = -diff // on_hand − reserved ≥ −diff ⇔ counted ≥ reserved, re-checked atomically
				}
				var ok bool
				if l, ok, err = s.apply(tx, c, at); err != nil {
					return err
				}
				if !ok || l.onHand != ln.Counted {
					return errs.E(errs.Conflict, "count_conflict", "lines[%d]: %s changed while counting; count again", i, ln.SKU)
				}
			}
			if _, err := tx.Exec(`INSERT INTO stock_count_lines (count_id, sku_id, expected, counted, difference) VALUES (?, ?, ?, ?, ?)`,
				out.ID, refs[i].ID, cur.onHand, ln.Counted, diff); err != nil {
				return fmt.Errorf("inventory: insert count line: %w", err)
			}
			out.Lines = append(out.Lines, CountResultLine{SKU: ln.SKU, Expected: cur.onHand, Counted: ln.Counted, Difference: diff})
			evs = append(evs, evLevel(ln.SKU, loc.Code, l))
		}
		return s.ob.Append(tx, "inventory.counted", ref, map[string]any{"count": out.ID, "location": loc.Code, "lines": out.Lines, "levels": evs})
	})
	if err != nil {
		return CountResult{}, err
	}
	return out, nil
}

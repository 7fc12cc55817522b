package inventory

import (
	"context"
	"fmt"
	"strings"

	"github.com/omni-retail/omni/internal/platform/db"
)

// LedgerReport is the result of CheckLedger.
type LedgerReport struct {
	Consistent bool  `json:"consistent"`
	Levels     int64 `json:"levels"`
	Movements  int64 `json:"movements"`
	// Mismatched counts levels whose counters differ from the sum of their
	// movements; Negative counts levels breaking on_hand ≥ reserved ≥ 0.
	Mismatched int64    `json:"mismatched"`
	Negative   int64    `json:"negative"`
	Examples   []string `json:"examples,omitempty"`
}

// CheckLedger re-reads every level and compares it with the sum of its
// movements. It is a full scan: for audits, tests and benchmarks.
func (s *Service) CheckLedger(ctx context.Context) (LedgerReport, error) {
	var r LedgerReport
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM stock_movements`).Scan(&r.Movements); err != nil {
		return r, fmt.Errorf("inventory: check ledger: %w", err)
	}
	rows, err := s.db.Query(ctx, `
		SELECT l.sku_id, l.location_id, l.on_hand, l.reserved, l.in_transit,
		       COALESCE(m.on_hand, 0), COALESCE(m.reserved, 0), COALESCE(m.in_transit, 0)
		FROM stock_levels l
		LEFT JOIN (SELECT sku_id, location_id, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved,
		                  SUM(in_transit_delta) AS in_transit
		           FROM stock_movements GROUP BY sku_id, location_id) m
		  ON m.sku_id = l.sku_id AND m.location_id = l.location_id`)
	if err != nil {
		return r, fmt.Errorf("inventory: check ledger: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sku, loc, oh, rs, it, moh, mrs, mit int64
		if err := rows.Scan(&sku, &loc, &oh, &rs, &it, &moh, &mrs, &mit); err != nil {
			return r, err
		}
		r.Levels++
		if oh != moh || rs != mrs || it != mit {
			r.Mismatched++
			if len(r.Examples) < 10 {
				r.Examples = append(r.Examples, fmt.Sprintf("sku %d @ location %d: level %d/%d/%d, movements %d/%d/%d", sku, loc, oh, rs, it, moh, mrs, mit))
			}
		}
		if rs < 0 || it < 0 || oh < rs {
			r.Negative++
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	// Movements for a level that does not exist would also be a breach.
	var orphans int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT DISTINCT sku_id, location_id FROM stock_movements) m
		WHERE NOT EXISTS (SELECT 1 FROM stock_levels l WHERE l.sku_id = m.sku_id AND l.location_id = m.location_id)`).Scan(&orphans); err != nil {
		return r, err
	}
	r.Mismatched += orphans
	r.Consistent = r.Mismatched == 0 && r.Negative == 0
	return r, nil
}

// BulkLine is one receipt of a bulk load.
type BulkLine struct {
	SKUID, StyleID, LocationID int64
	Qty                        int64
}

// BulkReceive books many receipts in one transaction, with their ledger
// movements, for initial loads such as the demo. It writes no event per
// line, only one summary event.
func (s *Service) BulkReceive(ctx context.Context, lines []BulkLine, reason string) error {
	const chunk = 150 // rows per multi-row statement (5 parameters each, well under SQLite's limit)
	// One row per level: a multi-row upsert may not touch a row twice.
	idx := map[[2]int64]int{}
	merged := make([]BulkLine, 0, len(lines))
	for _, l := range lines {
		k := [2]int64{l.SKUID, l.LocationID}
		if i, ok := idx[k]; ok {
			merged[i].Qty += l.Qty
			continue
		}
		idx[k] = len(merged)
		merged = append(merged, l)
	}
	lines = merged
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		for i := 0; i < len(lines); i += chunk {
			part := lines[i:min(i+chunk, len(lines))]
			var lv, mv strings.Builder
			lvArgs := make([]any, 0, len(part)*5)
			mvArgs := make([]any, 0, len(part)*6)
			for j, l := range part {
				if l.Qty <= 0 {
					return fmt.Errorf("inventory: bulk receive: line %d has quantity %d", i+j, l.Qty)
				}
				if j > 0 {
					lv.WriteString(",")
					mv.WriteString(",")
				}
				lv.WriteString("(?, ?, ?, ?, ?)")
				mv.WriteString("(?, ?, 'receipt', ?, 0, 0, ?, 'bulk', '', 'system', ?)")
				lvArgs = append(lvArgs, l.SKUID, l.LocationID, l.StyleID, l.Qty, at)
				mvArgs = append(mvArgs, l.SKUID, l.LocationID, l.Qty, reason, at)
			}
			if _, err := tx.Exec(`INSERT INTO stock_levels (sku_id, location_id, style_id, on_hand, updated_at) VALUES `+lv.String()+`
				ON CONFLICT (sku_id, location_id) DO UPDATE SET on_hand = stock_levels.on_hand + excluded.on_hand, updated_at = excluded.updated_at`, lvArgs...); err != nil {
				return fmt.Errorf("inventory: bulk receive levels: %w", err)
			}
			if _, err := tx.Exec(`INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, reserved_delta, in_transit_delta,
				reason, ref_type, ref_id, actor, created_at) VALUES `+mv.String(), mvArgs...); err != nil {
				return fmt.Errorf("inventory: bulk receive movements: %w", err)
			}
		}
		var units int64
		for _, l := range lines {
			units += l.Qty
		}
		return s.ob.Append(tx, "inventory.bulk_received", "", map[string]any{"lines": len(lines), "units": units, "reason": reason})
	})
}

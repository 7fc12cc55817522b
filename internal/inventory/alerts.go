package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// checkAlert opens a low-stock alert when a level's available falls to its
// threshold or below, and resolves the open one when it rises above. The
// partial unique index keeps at most one unresolved alert per level.
func (s *Service) checkAlert(tx *db.Tx, l levelRow, at int64) error {
	avail := l.available()
	if l.lowLimit > 0 && avail <= l.lowLimit {
		res, err := tx.Exec(`INSERT INTO stock_alerts (kind, sku_id, location_id, available, threshold, status, created_at, updated_at)
			VALUES ('low_stock', ?, ?, ?, ?, 'open', ?, ?)
			ON CONFLICT (kind, sku_id, location_id) WHERE status <> 'resolved' DO NOTHING`,
			l.sku, l.loc, avail, l.lowLimit, at, at)
		if err != nil {
			return fmt.Errorf("inventory: low-stock alert: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = tx.Exec(`UPDATE stock_alerts SET available = ?, threshold = ?, updated_at = ?
				WHERE kind = 'low_stock' AND sku_id = ? AND location_id = ? AND status <> 'resolved'`, avail, l.lowLimit, at, l.sku, l.loc)
			return err
		}
		ctx := tx.Context()
		sku, err := s.cat.SKURefByID(ctx, l.sku)
		if err != nil {
			return err
		}
		loc, err := s.net.LocationByID(ctx, l.loc)
		if err != nil {
			return err
		}
		return s.ob.Append(tx, "inventory.low_stock", sku.Code+"@"+loc.Code, map[string]any{
			"sku": sku.Code, "location": loc.Code, "available": avail, "threshold": l.lowLimit})
	}
	_, err := tx.Exec(`UPDATE stock_alerts SET status = 'resolved', available = ?, updated_at = ?
		WHERE kind = 'low_stock' AND sku_id = ? AND location_id = ? AND status <> 'resolved'`, avail, at, l.sku, l.loc)
	return err
}

var badStatus = &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "status must be open, acknowledged, resolved or unresolved",
	Fields: []errs.FieldError{{Field: "status", Code: "one_of", Message: "must be open, acknowledged, resolved or unresolved"}}}

// AlertFilter selects alerts.
type AlertFilter struct {
	Status   string `query:"status" enum:"open,acknowledged,resolved,unresolved" description:"default: unresolved (open or acknowledged)"`
	Location string `query:"location"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Before   int64  `query:"before" description:"only alerts with a smaller id (the cursor)"`
}

// ListAlerts lists alerts, newest first.
func (s *Service) ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	q := `SELECT id, kind, sku_id, location_id, available, threshold, status, created_at, updated_at FROM stock_alerts WHERE 1 = 1`
	var args []any
	switch f.Status {
	case "", "unresolved":
		q += ` AND status <> 'resolved'`
	case "open", "acknowledged", "resolved":
		q, args = q+` AND status = ?`, append(args, f.Status)
	default:
		return nil, badStatus
	}
	if f.Location != "" {
		loc, err := s.net.Location(ctx, f.Location)
		if err != nil {
			return nil, err
		}
		q, args = q+` AND location_id = ?`, append(args, loc.ID)
	}
	if f.Before > 0 {
		q, args = q+` AND id < ?`, append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("inventory: list alerts: %w", err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		a, err := s.scanAlert(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Service) scanAlert(ctx context.Context, sc interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var skuID, locID, created, updated int64
	if err := sc.Scan(&a.ID, &a.Kind, &skuID, &locID, &a.Available, &a.Threshold, &a.Status, &created, &updated); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	sku, err := s.cat.SKURefByID(ctx, skuID)
	if err != nil {
		return a, err
	}
	loc, err := s.net.LocationByID(ctx, locID)
	if err != nil {
		return a, err
	}
	a.SKU, a.Location = sku.Code, loc.Code
	return a, nil
}

// AcknowledgeAlert marks an open alert as seen; it still resolves itself
// when stock comes back.
func (s *Service) AcknowledgeAlert(ctx context.Context, id int64) (Alert, error) {
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`UPDATE stock_alerts SET status = 'acknowledged', updated_at = ? WHERE id = ? AND status = 'open'`, s.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := tx.QueryRow(`SELECT status FROM stock_alerts WHERE id = ?`, id).Scan(&st); errors.Is(err, sql.ErrNoRows) {
				return ErrAlertNF.Withf("no alert %d", id)
			}
		}
		return nil
	})
	if err != nil {
		return Alert{}, err
	}
	row := s.db.QueryRow(ctx, `SELECT id, kind, sku_id, location_id, available, threshold, status, created_at, updated_at FROM stock_alerts WHERE id = ?`, id)
	return s.scanAlert(ctx, row)
}

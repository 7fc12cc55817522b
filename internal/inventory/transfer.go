package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// CreateTransfer requests a transfer (调拨): the units are reserved at the
// source at once (respecting its safety stock), so they cannot be sold twice.
func (s *Service) CreateTransfer(ctx context.Context, in TransferRequest) (Transfer, error) {
	var v errs.Validator
	v.Required(in.From, "from")
	v.Required(in.To, "to")
	v.Check(in.From == "" || in.From != in.To, "to", "same_location", "must differ from from")
	v.Check(len(in.Reason) <= 500, "reason", "too_long", "must be at most 500 characters")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= 1000, "lines", "count", "must hold 1 to 1000 lines")
	seen := map[string]bool{}
	for i, ln := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Required(ln.SKU, f+".sku")
		v.Range(ln.Qty, 1, MaxQty, f+".qty")
		v.Check(ln.ReceivedQty == 0, f+".received_qty", "not_allowed", "is set when the transfer is received")
		v.Check(!seen[ln.SKU], f+".sku", "duplicate", "appears twice; merge the lines")
		seen[ln.SKU] = true
	}
	if err := v.Err(); err != nil {
		return Transfer{}, err
	}
	from, err := s.location(ctx, "from", in.From)
	if err != nil {
		return Transfer{}, err
	}
	to, err := s.net.Location(ctx, in.To)
	if err != nil {
		return Transfer{}, errs.E(errs.NotFound, "location_not_found", "to: no location %q", in.To)
	}
	refs := make([]catalog.SKURef, len(in.Lines))
	for i, ln := range in.Lines {
		if refs[i], err = s.sku(ctx, fmt.Sprintf("lines[%d].sku", i), ln.SKU); err != nil {
			return Transfer{}, err
		}
	}
	actor := auth.Actor(ctx)
	var id int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		if err := tx.QueryRow(`INSERT INTO transfers (from_location_id, to_location_id, status, reason, requested_by, created_at, updated_at)
			VALUES (?, ?, 'requested', ?, ?, ?, ?) RETURNING id`, from.ID, to.ID, in.Reason, actor, at, at).Scan(&id); err != nil {
			return fmt.Errorf("inventory: insert transfer: %w", err)
		}
		ref := strconv.FormatInt(id, 10)
		evs := make([]levelEvent, 0, len(in.Lines))
		for i, ln := range in.Lines {
			l, ok, err := s.apply(tx, change{sku: refs[i], loc: from.ID, kind: Reserve, dHeld: ln.Qty, useSafety: true, need: ln.Qty,
				refType: "transfer", refID: ref, actor: actor, reason: "transfer requested"}, at)
			if err != nil {
				return err
			}
			if !ok {
				return insufficient(tx, refs[i], from.Code, from.ID, ln.Qty, 0, true)
			}
			if _, err := tx.Exec(`INSERT INTO transfer_lines (transfer_id, line_no, sku_id, qty) VALUES (?, ?, ?, ?)`, id, i+1, refs[i].ID, ln.Qty); err != nil {
				return fmt.Errorf("inventory: insert transfer line: %w", err)
			}
			evs = append(evs, evLevel(ln.SKU, from.Code, l))
		}
		return s.ob.Append(tx, "inventory.transfer_requested", ref, map[string]any{
			"transfer": id, "from": from.Code, "to": to.Code, "levels": evs})
	})
	if err != nil {
		return Transfer{}, err
	}
	return s.GetTransfer(ctx, id)
}

type transferHead struct {
	id, from, to int64
	status       TransferStatus
}

func (s *Service) transferHead(ctx context.Context, id int64) (transferHead, []TransferLine, []catalog.SKURef, error) {
	h := transferHead{id: id}
	err := s.db.QueryRow(ctx, `SELECT from_location_id, to_location_id, status FROM transfers WHERE id = ?`, id).Scan(&h.from, &h.to, &h.status)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil, nil, ErrTransferNF.Withf("no transfer %d", id)
	}
	if err != nil {
		return h, nil, nil, fmt.Errorf("inventory: get transfer: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT sku_id, qty, received_qty FROM transfer_lines WHERE transfer_id = ? ORDER BY line_no`, id)
	if err != nil {
		return h, nil, nil, err
	}
	defer rows.Close()
	var lines []TransferLine
	var refs []catalog.SKURef
	for rows.Next() {
		var skuID int64
		var l TransferLine
		if err := rows.Scan(&skuID, &l.Qty, &l.ReceivedQty); err != nil {
			return h, nil, nil, err
		}
		ref, err := s.cat.SKURefByID(ctx, skuID)
		if err != nil {
			return h, nil, nil, err
		}
		l.SKU = ref.Code
		lines, refs = append(lines, l), append(refs, ref)
	}
	return h, lines, refs, rows.Err()
}

// GetTransfer returns a transfer with its lines.
func (s *Service) GetTransfer(ctx context.Context, id int64) (Transfer, error) {
	h, lines, _, err := s.transferHead(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	t := Transfer{ID: id, Status: h.status, Lines: lines}
	var created, updated int64
	var shipped, received sql.NullInt64
	if err := s.db.QueryRow(ctx, `SELECT reason, requested_by, created_at, shipped_at, received_at, updated_at FROM transfers WHERE id = ?`, id).
		Scan(&t.Reason, &t.RequestedBy, &created, &shipped, &received, &updated); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if shipped.Valid {
		x := time.UnixMilli(shipped.Int64).UTC()
		t.ShippedAt = &x
	}
	if received.Valid {
		x := time.UnixMilli(received.Int64).UTC()
		t.ReceivedAt = &x
	}
	from, err := s.net.LocationByID(ctx, h.from)
	if err != nil {
		return t, err
	}
	to, err := s.net.LocationByID(ctx, h.to)
	if err != nil {
		return t, err
	}
	t.From, t.To = from.Code, to.Code
	return t, nil
}

// transition moves a transfer from one status to another exactly once.
func transition(tx *db.Tx, id int64, from, to TransferStatus, col string, at int64) error {
	q := `UPDATE transfers SET status = ?, updated_at = ?`
	if col != "" {
		q += `, ` + col + ` = ?`
	}
	q += ` WHERE id = ? AND status = ?`
	args := []any{string(to), at}
	if col != "" {
		args = append(args, at)
	}
	args = append(args, id, string(from))
	res, err := tx.Exec(q, args...)
	if err != nil {
		return fmt.Errorf("inventory: transfer status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var st string
		_ = tx.QueryRow(`SELECT status FROM transfers WHERE id = ?`, id).Scan(&st)
		return ErrTransferState.Withf("transfer %d is %s, not %s", id, st, from).With("current_status", st)
	}
	return nil
}

// step moves a transfer from one status to the next, exactly once, and
// books each line's movements with perLine, in one transaction. The caller
// must be allowed at the location atLoc picks.
func (s *Service) step(ctx context.Context, id int64, from, to TransferStatus, stampCol string, atLoc func(transferHead) int64,
	perLine func(tx *db.Tx, h transferHead, i int, ln TransferLine, c change, at int64) ([]levelEvent, error)) (Transfer, error) {
	h, lines, refs, err := s.transferHead(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	if err := auth.RequireLocation(ctx, atLoc(h)); err != nil {
		return Transfer{}, err
	}
	actor := auth.Actor(ctx)
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		if err := transition(tx, id, from, to, stampCol, at); err != nil {
			return err
		}
		ref := strconv.FormatInt(id, 10)
		var evs []levelEvent
		for i, ln := range lines {
			base := change{sku: refs[i], refType: "transfer", refID: ref, actor: actor}
			e, err := perLine(tx, h, i, ln, base, at)
			if err != nil {
				return err
			}
			evs = append(evs, e...)
		}
		return s.ob.Append(tx, "inventory.transfer_"+string(to), ref, map[string]any{"transfer": id, "levels": evs})
	})
	if err != nil {
		return Transfer{}, err
	}
	return s.GetTransfer(ctx, id)
}

func source(h transferHead) int64      { return h.from }
func destination(h transferHead) int64 { return h.to }

// ShipTransfer sends a requested transfer: the units leave the source and
// are in transit to the destination.
func (s *Service) ShipTransfer(ctx context.Context, id int64) (Transfer, error) {
	return s.step(ctx, id, Requested, Shipped, "shipped_at", source,
		func(tx *db.Tx, h transferHead, _ int, ln TransferLine, c change, at int64) ([]levelEvent, error) {
			out, in := c, c
			out.loc, out.kind, out.dOnHand, out.dHeld = h.from, TransferOut, -ln.Qty, -ln.Qty
			in.loc, in.kind, in.dTransit = h.to, Transit, ln.Qty
			src, _, err := s.apply(tx, out, at)
			if err != nil {
				return nil, err
			}
			dst, _, err := s.apply(tx, in, at)
			if err != nil {
				return nil, err
			}
			return []levelEvent{s.ev(tx.Context(), ln.SKU, h.from, src), s.ev(tx.Context(), ln.SKU, h.to, dst)}, nil
		})
}

// ReceiveTransfer books a shipped transfer in at the destination. Lines not
// listed arrived in full; a shortfall leaves transit as an adjustment with
// the reason "transfer shortfall".
func (s *Service) ReceiveTransfer(ctx context.Context, id int64, in ReceiveRequest) (Transfer, error) {
	_, lines, _, err := s.transferHead(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	got := map[string]int64{}
	var v errs.Validator
	for i, rl := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		idx := -1
		for j, l := range lines {
			if l.SKU == rl.SKU {
				idx = j
			}
		}
		if !v.Check(idx >= 0, f+".sku", "not_in_transfer", "is not a line of this transfer") {
			continue
		}
		_, dup := got[rl.SKU]
		v.Check(!dup, f+".sku", "duplicate", "appears twice")
		v.Range(rl.ReceivedQty, 0, lines[idx].Qty, f+".received_qty")
		got[rl.SKU] = rl.ReceivedQty
	}
	if err := v.Err(); err != nil {
		return Transfer{}, err
	}
	return s.step(ctx, id, Shipped, Received, "received_at", destination,
		func(tx *db.Tx, h transferHead, i int, ln TransferLine, c change, at int64) ([]levelEvent, error) {
			r, ok := got[ln.SKU]
			if !ok {
				r = ln.Qty
			}
			c.loc = h.to
			var l levelRow
			var err error
			if r > 0 {
				in := c
				in.kind, in.dOnHand, in.dTransit = TransferIn, r, -r
				if l, _, err = s.apply(tx, in, at); err != nil {
					return nil, err
				}
			}
			if short := ln.Qty - r; short > 0 {
				adj := c
				adj.kind, adj.dTransit, adj.reason = Adjustment, -short, "transfer shortfall"
				if l, _, err = s.apply(tx, adj, at); err != nil {
					return nil, err
				}
			}
			if _, err := tx.Exec(`UPDATE transfer_lines SET received_qty = ? WHERE transfer_id = ? AND line_no = ?`, r, id, i+1); err != nil {
				return nil, err
			}
			return []levelEvent{s.ev(tx.Context(), ln.SKU, h.to, l)}, nil
		})
}

// CancelTransfer cancels a requested transfer and releases its hold.
func (s *Service) CancelTransfer(ctx context.Context, id int64) (Transfer, error) {
	return s.step(ctx, id, Requested, TransferCanceled, "", source,
		func(tx *db.Tx, h transferHead, _ int, ln TransferLine, c change, at int64) ([]levelEvent, error) {
			c.loc, c.kind, c.dHeld, c.reason = h.from, Release, -ln.Qty, "transfer cancelled"
			l, _, err := s.apply(tx, c, at)
			if err != nil {
				return nil, err
			}
			return []levelEvent{s.ev(tx.Context(), ln.SKU, h.from, l)}, nil
		})
}

// ev renders a level for an event, resolving the location code.
func (s *Service) ev(ctx context.Context, sku string, locID int64, l levelRow) levelEvent {
	code := strconv.FormatInt(locID, 10)
	if loc, err := s.net.LocationByID(ctx, locID); err == nil {
		code = loc.Code
	}
	return evLevel(sku, code, l)
}

// TransferFilter selects transfers.
type TransferFilter struct {
	Status   string `query:"status" enum:"requested,shipped,received,cancelled"`
	Location string `query:"location" description:"transfers from or to this location"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Before   int64  `query:"before" description:"only transfers with a smaller id (the cursor)"`
}

// ListTransfers lists transfers, newest first.
func (s *Service) ListTransfers(ctx context.Context, f TransferFilter) ([]Transfer, error) {
	q := `SELECT id FROM transfers WHERE 1 = 1`
	var args []any
	if f.Status != "" {
		q, args = q+` AND status = ?`, append(args, f.Status)
	}
	if f.Location != "" {
		loc, err := s.net.Location(ctx, f.Location)
		if err != nil {
			return nil, err
		}
		q, args = q+` AND (from_location_id = ? OR to_location_id = ?)`, append(args, loc.ID, loc.ID)
	}
	if f.Before > 0 {
		q, args = q+` AND id < ?`, append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("inventory: list transfers: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]Transfer, 0, len(ids))
	for _, id := range ids {
		t, err := s.GetTransfer(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// resolvedLine is a reservation line with its identities.
type resolvedLine struct {
	ReserveLine
	sku catalog.SKURef
	loc network.Location
}

// Reserve holds stock for a channel: every line or none. A line fails with
// ErrInsufficientStock (409, with the quantity available) when the
// location's free stock after the level's and the channel's safety stock is
// short, and with ErrShareExceeded when the channel's share cap is used up.
func (s *Service) Reserve(ctx context.Context, in ReserveRequest) (Reservation, error) {
	var v errs.Validator
	v.Required(in.Channel, "channel")
	v.Check(len(in.Reference) <= 200, "reference", "too_long", "must be at most 200 characters")
	v.Check(in.TTLSeconds >= 0 && in.TTLSeconds <= 7*24*3600, "ttl_seconds", "out_of_range", "must be between 1 and 604800 (0 = the default)")
	v.Check(len(in.Lines) >= 1 && len(in.Lines) <= 100, "lines", "count", "must hold 1 to 100 lines")
	seen := map[string]bool{}
	for i, ln := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Required(ln.SKU, f+".sku")
		v.Required(ln.Location, f+".location")
		v.Range(ln.Qty, 1, MaxQty, f+".qty")
		k := ln.SKU + "\x00" + ln.Location
		v.Check(!seen[k], f, "duplicate", "the same SKU and location appear twice; merge the lines")
		seen[k] = true
	}
	if err := v.Err(); err != nil {
		return Reservation{}, err
	}
	ch, err := s.net.Channel(ctx, in.Channel)
	if err != nil {
		if errors.Is(err, network.ErrChannelNotFound) {
			return Reservation{}, errs.E(errs.NotFound, "channel_not_found", "channel: no channel %q", in.Channel)
		}
		return Reservation{}, err
	}
	if !ch.Active {
		return Reservation{}, errs.E(errs.Conflict, "channel_inactive", "channel %s is not active", ch.Code)
	}
	lines := make([]resolvedLine, len(in.Lines))
	for i, ln := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		lines[i].ReserveLine = ln
		if lines[i].sku, err = s.sku(ctx, f+".sku", ln.SKU); err != nil {
			return Reservation{}, err
		}
		if lines[i].loc, err = s.location(ctx, f+".location", ln.Location); err != nil {
			return Reservation{}, err
		}
		if !slices.Contains(ch.LocationIDs, lines[i].loc.ID) {
			return Reservation{}, ErrNotInChannel.Withf("%s: location %s does not serve channel %s", f+".location", ln.Location, ch.Code).
				With("field", f+".location")
		}
	}
	ttl := s.holdTTL
	if in.TTLSeconds > 0 {
		ttl = time.Duration(in.TTLSeconds) * time.Second
	}
	// Refuse at once, without queueing for the writer, when a committed
	// snapshot already shows a line short (e.g. a sold-out flash sale). This
	// only ever refuses; the conditional UPDATE below is what grants.
	for _, ln := range lines {
		var free int64
		err := s.db.QueryRow(ctx, `SELECT on_hand - reserved - safety_stock FROM stock_levels WHERE sku_id = ? AND location_id = ?`,
			ln.sku.ID, ln.loc.ID).Scan(&free)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Reservation{}, fmt.Errorf("inventory: read level: %w", err)
		}
		if free -= ch.SafetyStock; free < ln.Qty {
			return Reservation{}, shortOf(ln.sku, ln.Location, ln.Qty, free)
		}
	}
	actor := auth.Actor(ctx)
	var res Reservation
	// Route all holds of one SKU to one committer so that a hot SKU's writes
	// are batched rather than contending (PostgreSQL).
	err = s.db.WriteKeyed(ctx, lines[0].sku.ID, func(tx *db.Tx) error {
		now := s.now()
		at := now.UnixMilli()
		res = Reservation{Channel: ch.Code, Reference: in.Reference, Status: Active, ExpiresAt: now.Add(ttl).UTC().Truncate(time.Millisecond),
			CreatedAt: now.UTC().Truncate(time.Millisecond), UpdatedAt: now.UTC().Truncate(time.Millisecond), Lines: in.Lines}
		if err := tx.QueryRow(`INSERT INTO reservations (channel_id, reference, status, expires_at, created_at, updated_at)
			VALUES (?, ?, 'active', ?, ?, ?) RETURNING id`, ch.ID, in.Reference, res.ExpiresAt.UnixMilli(), at, at).Scan(&res.ID); err != nil {
			return fmt.Errorf("inventory: insert reservation: %w", err)
		}
		ref := strconv.FormatInt(res.ID, 10)
		held := make([]HoldLine, len(lines))
		for i, ln := range lines {
			held[i] = HoldLine{SKU: ln.sku, Location: ln.loc, Qty: ln.Qty}
		}
		evs, err := s.hold(tx, ch, held, Ref{Type: "reservation", ID: ref, Actor: actor}, at)
		if err != nil {
			return err
		}
		for i, ln := range held {
			var styleID any
			if ln.Capped {
				styleID = ln.SKU.StyleID
			}
			if err := tx.Defer(`INSERT INTO reservation_lines (reservation_id, line_no, sku_id, location_id, qty, capped_style_id)
				VALUES (?, ?, ?, ?, ?, ?)`, res.ID, i+1, ln.SKU.ID, ln.Location.ID, ln.Qty, styleID); err != nil {
				return fmt.Errorf("inventory: insert reservation line: %w", err)
			}
		}
		return s.ob.Append(tx, "inventory.reserved", ref, reservedEvent{
			Reservation: res.ID, Channel: ch.Code, Reference: in.Reference, ExpiresAt: res.ExpiresAt, Levels: evs})
	})
	if err != nil {
		return Reservation{}, err
	}
	return res, nil
}

// reservedEvent is the payload of inventory.reserved (a struct: it is
// encoded on the flash-sale hot path).
type reservedEvent struct {
	Reservation int64        `json:"reservation"`
	Channel     string       `json:"channel"`
	Reference   string       `json:"reference"`
	ExpiresAt   time.Time    `json:"expires_at"`
	Levels      []levelEvent `json:"levels"`
}

// takeShare counts a line against the channel's share of the style: held +
// sold + qty must stay within share × (on-hand at the channel's locations +
// sold). One conditional UPDATE, so concurrent holds cannot overshoot.
func (s *Service) takeShare(tx *db.Tx, ch network.Channel, ln resolvedLine, i int) error {
	if _, err := tx.Exec(`INSERT INTO channel_style_usage (channel_id, style_id) VALUES (?, ?) ON CONFLICT (channel_id, style_id) DO NOTHING`,
		ch.ID, ln.sku.StyleID); err != nil {
		return fmt.Errorf("inventory: channel usage: %w", err)
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(ch.LocationIDs)), ",")
	args := []any{ln.Qty, ch.ID, ln.sku.StyleID, ln.Qty, ch.MaxShareBP(), ln.sku.StyleID}
	for _, id := range ch.LocationIDs {
		args = append(args, id)
	}
	res, err := tx.Exec(`UPDATE channel_style_usage SET held = held + ?
		WHERE channel_id = ? AND style_id = ?
		  AND (held + sold + ?) * 10000 <= ? * (sold + (SELECT COALESCE(SUM(on_hand), 0) FROM stock_levels
		                                              WHERE style_id = ? AND location_id IN (`+in+`)))`, args...)
	if err != nil {
		return fmt.Errorf("inventory: channel share: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var held, sold int64
		_ = tx.QueryRow(`SELECT held, sold FROM channel_style_usage WHERE channel_id = ? AND style_id = ?`, ch.ID, ln.sku.StyleID).Scan(&held, &sold)
		return ErrShareExceeded.Withf("lines[%d]: channel %s may hold or sell at most %.2f%% of style %s's stock; it holds %d and sold %d",
			i, ch.Code, float64(ch.MaxShareBP())/100, ln.sku.StyleCode, held, sold).
			With("field", fmt.Sprintf("lines[%d]", i)).With("held", held).With("sold", sold)
	}
	return nil
}

// GetReservation returns a reservation with its lines.
func (s *Service) GetReservation(ctx context.Context, id int64) (Reservation, error) {
	var r Reservation
	var chID, exp, created, updated int64
	err := s.db.QueryRow(ctx, `SELECT id, channel_id, reference, status, expires_at, created_at, updated_at FROM reservations WHERE id = ?`, id).
		Scan(&r.ID, &chID, &r.Reference, &r.Status, &exp, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrReservationNF.Withf("no reservation %d", id)
	}
	if err != nil {
		return r, fmt.Errorf("inventory: get reservation: %w", err)
	}
	r.ExpiresAt, r.CreatedAt, r.UpdatedAt = time.UnixMilli(exp).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	lines, err := s.reservationLines(ctx, nil, id)
	if err != nil {
		return r, err
	}
	r.Lines = make([]ReserveLine, len(lines))
	for i, l := range lines {
		r.Lines[i] = l.ReserveLine
	}
	ch, err := s.net.ChannelByID(ctx, chID)
	if err != nil {
		return r, err
	}
	r.Channel = ch.Code
	return r, nil
}

// heldLine is a stored reservation line.
type heldLine struct {
	ReserveLine
	sku    catalog.SKURef
	locID  int64
	capped sql.NullInt64
}

// reservationLines reads the lines of a reservation (in tx when given).
func (s *Service) reservationLines(ctx context.Context, tx *db.Tx, id int64) ([]heldLine, error) {
	const q = `SELECT sku_id, location_id, qty, capped_style_id FROM reservation_lines WHERE reservation_id = ? ORDER BY line_no`
	var rows db.Rows
	var err error
	if tx != nil {
		rows, err = tx.Query(q, id)
	} else {
		rows, err = s.db.Query(ctx, q, id)
	}
	if err != nil {
		return nil, fmt.Errorf("inventory: reservation lines: %w", err)
	}
	var out []heldLine
	var ids [][2]int64
	for rows.Next() {
		var h heldLine
		var skuID int64
		if err := rows.Scan(&skuID, &h.locID, &h.Qty, &h.capped); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, h)
		ids = append(ids, [2]int64{skuID, h.locID})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].sku, err = s.cat.SKURefByID(ctx, ids[i][0]); err != nil {
			return nil, err
		}
		loc, err := s.net.LocationByID(ctx, ids[i][1])
		if err != nil {
			return nil, err
		}
		out[i].SKU, out[i].Location = out[i].sku.Code, loc.Code
	}
	return out, nil
}

// Confirm consumes an active reservation: its units leave as a sale.
func (s *Service) Confirm(ctx context.Context, id int64) (Reservation, error) {
	return s.finish(ctx, id, Confirmed, "")
}

// Release gives an active reservation's units back.
func (s *Service) Release(ctx context.Context, id int64, reason string) (Reservation, error) {
	if len(reason) > 500 {
		return Reservation{}, &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "reason must be at most 500 characters",
			Fields: []errs.FieldError{{Field: "reason", Code: "too_long", Message: "must be at most 500 characters"}}}
	}
	return s.finish(ctx, id, Released, reason)
}

// finish moves an active reservation to a final state, exactly once: the
// conditional status change is the lock.
func (s *Service) finish(ctx context.Context, id int64, to ReservationStatus, reason string) (Reservation, error) {
	lines, err := s.reservationLines(ctx, nil, id)
	if err != nil {
		return Reservation{}, err
	}
	if len(lines) == 0 {
		return Reservation{}, ErrReservationNF.Withf("no reservation %d", id)
	}
	for _, l := range lines {
		if err := auth.RequireLocation(ctx, l.locID); err != nil {
			return Reservation{}, err
		}
	}
	actor := auth.Actor(ctx)
	err = s.db.WriteKeyed(ctx, lines[0].sku.ID, func(tx *db.Tx) error {
		return s.finishTx(tx, id, lines, to, reason, actor, s.now().UnixMilli(), false)
	})
	if err != nil {
		return Reservation{}, err
	}
	return s.GetReservation(ctx, id)
}

// finishTx is finish inside a transaction. With onlyExpired it acts only on
// a reservation whose deadline has passed (the expiry worker).
func (s *Service) finishTx(tx *db.Tx, id int64, lines []heldLine, to ReservationStatus, reason, actor string, at int64, onlyExpired bool) error {
	q := `UPDATE reservations SET status = ?, updated_at = ? WHERE id = ? AND status = 'active'`
	args := []any{string(to), at, id}
	if onlyExpired {
		q += ` AND expires_at <= ?`
		args = append(args, at)
	}
	var channelID int64
	err := tx.QueryRow(q+` RETURNING channel_id`, args...).Scan(&channelID)
	if errors.Is(err, sql.ErrNoRows) {
		if onlyExpired {
			return errNothingToDo
		}
		var st string
		_ = tx.QueryRow(`SELECT status FROM reservations WHERE id = ?`, id).Scan(&st)
		return ErrReservationState.Withf("reservation %d is %s", id, st).With("current_status", st)
	}
	if err != nil {
		return fmt.Errorf("inventory: finish reservation: %w", err)
	}
	ref := strconv.FormatInt(id, 10)
	held := make([]HoldLine, len(lines))
	for i, l := range lines {
		held[i] = HoldLine{SKU: l.sku, Location: network.Location{ID: l.locID, Code: l.Location}, Qty: l.Qty, Capped: l.capped.Valid}
	}
	if to != Confirmed && reason == "" {
		reason = string(to)
	}
	evs, err := s.unholdLines(tx, channelID, held, Ref{Type: "reservation", ID: ref, Actor: actor}, reason, to == Confirmed, at)
	if err != nil {
		return err
	}
	return s.ob.Append(tx, "inventory."+string(to), ref, map[string]any{"reservation": id, "reason": reason, "levels": evs})
}

var errNothingToDo = errors.New("inventory: nothing to do")

// ReleaseExpired expires the active reservations whose deadline has passed
// (at most limit of them) and returns how many it expired. The expiry
// worker calls it every second; it is safe to run on several instances.
func (s *Service) ReleaseExpired(ctx context.Context, limit int) (int, error) {
	now := s.now().UnixMilli()
	rows, err := s.db.Query(ctx, `SELECT id FROM reservations WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("inventory: due reservations: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		lines, err := s.reservationLines(ctx, nil, id)
		if err != nil {
			return n, err
		}
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			return s.finishTx(tx, id, lines, Expired, "expired", "system", s.now().UnixMilli(), true)
		})
		switch {
		case errors.Is(err, errNothingToDo):
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

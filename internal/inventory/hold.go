package inventory

import (
	"context"
	"fmt"
	"strings"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
)

// The transaction-level primitives below let another module (orders) hold,
// sell and take back stock inside its own transaction, so that its
// documents and the stock ledger commit together or not at all. Each
// changes a level with one conditional statement and appends its movement.

// HoldLine is one SKU at one location held for a document such as an order.
type HoldLine struct {
	SKU      catalog.SKURef
	Location network.Location
	Qty      int64
	// Capped is set by Hold when the line counts against the channel's
	// share of the style; pass it back unchanged to Unhold and SellHeld.
	Capped bool
}

// Ref names the document behind movements (ref_type, ref_id) and who acted.
type Ref struct {
	Type, ID, Actor string
}

// Hold reserves every line for channel ch in tx, or returns the first
// failure: ErrInsufficientStock (409) when a location's free stock after
// the level's and the channel's safety stock is short, ErrShareExceeded
// when the channel's share cap is used up. On failure the caller must roll
// back (return the error from its write closure): lines before the failing
// one have been changed.
func (s *Service) Hold(tx *db.Tx, ch network.Channel, lines []HoldLine, ref Ref) error {
	evs, err := s.hold(tx, ch, lines, ref, s.now().UnixMilli())
	if err != nil {
		return err
	}
	return s.ob.Append(tx, "inventory.reserved", ref.Type+":"+ref.ID, heldEvent{Ref: ref.Type + ":" + ref.ID, Channel: ch.Code, Levels: evs})
}

// CapsShare reports whether Hold counts ch's lines against the channel's
// share of each style (the Capped that Hold sets on them).
func CapsShare(ch network.Channel) bool { return ch.MaxShareBP() < 10000 }

// hold is Hold without the event.
func (s *Service) hold(tx *db.Tx, ch network.Channel, lines []HoldLine, ref Ref, at int64) ([]levelEvent, error) {
	capped := CapsShare(ch)
	changes := make([]change, len(lines))
	for i := range lines {
		ln := &lines[i]
		ln.Capped = capped
		if capped {
			if err := s.takeShare(tx, ch, resolvedLine{ReserveLine: ReserveLine{SKU: ln.SKU.Code, Location: ln.Location.Code, Qty: ln.Qty},
				sku: ln.SKU, loc: ln.Location}, i); err != nil {
				return nil, err
			}
		}
		changes[i] = change{sku: ln.SKU, loc: ln.Location.ID, kind: Reserve, dHeld: ln.Qty, useSafety: true, buffer: ch.SafetyStock,
			need: ln.Qty, refType: ref.Type, refID: ref.ID, actor: ref.Actor}
	}
	levels, failed, err := s.updateAll(tx, changes, at)
	if err != nil {
		return nil, err
	}
	if failed >= 0 {
		ln := lines[failed]
		return nil, insufficient(tx, ln.SKU, ln.Location.Code, ln.Location.ID, ln.Qty, ch.SafetyStock, true)
	}
	if err := s.recordAll(tx, changes, levels, at); err != nil {
		return nil, err
	}
	evs := make([]levelEvent, len(lines))
	for i, ln := range lines {
		evs[i] = evLevel(ln.SKU.Code, ln.Location.Code, levels[i])
	}
	return evs, nil
}

// heldEvent is the payload of inventory.reserved, .released and .confirmed
// for document holds.
type heldEvent struct {
	Ref     string       `json:"ref"`
	Channel string       `json:"channel"`
	Reason  string       `json:"reason,omitempty"`
	Levels  []levelEvent `json:"levels"`
}

// Unhold gives held units back in tx (a cancelled or expired order).
func (s *Service) Unhold(tx *db.Tx, ch network.Channel, lines []HoldLine, ref Ref, reason string) error {
	return s.unhold(tx, ch, lines, ref, reason, false)
}

// SellHeld lets held units leave as a sale in tx (shipped or handed over).
func (s *Service) SellHeld(tx *db.Tx, ch network.Channel, lines []HoldLine, ref Ref) error {
	return s.unhold(tx, ch, lines, ref, "", true)
}

func (s *Service) unhold(tx *db.Tx, ch network.Channel, lines []HoldLine, ref Ref, reason string, sale bool) error {
	evs, err := s.unholdLines(tx, ch.ID, lines, ref, reason, sale, s.now().UnixMilli())
	if err != nil {
		return err
	}
	topic := "inventory.released"
	if sale {
		topic = "inventory.confirmed"
	}
	return s.ob.Append(tx, topic, ref.Type+":"+ref.ID, heldEvent{Ref: ref.Type + ":" + ref.ID, Channel: ch.Code, Reason: reason, Levels: evs})
}

// unholdLines is unhold without the event.
func (s *Service) unholdLines(tx *db.Tx, channelID int64, lines []HoldLine, ref Ref, reason string, sale bool, at int64) ([]levelEvent, error) {
	changes := make([]change, len(lines))
	for i, ln := range lines {
		changes[i] = change{sku: ln.SKU, loc: ln.Location.ID, refType: ref.Type, refID: ref.ID, actor: ref.Actor, reason: reason,
			kind: Release, dHeld: -ln.Qty}
		if sale {
			changes[i].kind, changes[i].dOnHand = Sale, -ln.Qty
		}
	}
	levels, failed, err := s.updateAll(tx, changes, at)
	if err != nil {
		return nil, err
	}
	if failed >= 0 {
		ln := lines[failed]
		return nil, fmt.Errorf("inventory: %s %s: level of %s at %s vanished", ref.Type, ref.ID, ln.SKU.Code, ln.Location.Code)
	}
	if err := s.recordAll(tx, changes, levels, at); err != nil {
		return nil, err
	}
	evs := make([]levelEvent, len(lines))
	for i, ln := range lines {
		if ln.Capped {
			if err := s.moveShare(tx, channelID, ln.SKU.StyleID, ln.Qty, sale); err != nil {
				return nil, err
			}
		}
		evs[i] = evLevel(ln.SKU.Code, ln.Location.Code, levels[i])
	}
	return evs, nil
}

// moveShare takes qty out of the channel's held units of a style, counting
// them as sold when sale is set.
func (s *Service) moveShare(tx *db.Tx, channelID, styleID, qty int64, sale bool) error {
	var err error
	if sale {
		_, err = tx.Exec(`UPDATE channel_style_usage SET held = held - ?, sold = sold + ? WHERE channel_id = ? AND style_id = ?`,
			qty, qty, channelID, styleID)
	} else {
		_, err = tx.Exec(`UPDATE channel_style_usage SET held = held - ? WHERE channel_id = ? AND style_id = ?`, qty, channelID, styleID)
	}
	if err != nil {
		return fmt.Errorf("inventory: channel usage: %w", err)
	}
	return nil
}

// TakeBack books units received back from a customer at a location in tx:
// a return movement, followed for damaged goods by a write-off adjustment
// so that they never count as sellable (the ledger keeps both).
func (s *Service) TakeBack(tx *db.Tx, sku catalog.SKURef, loc network.Location, qty int64, damaged bool, ref Ref) error {
	at := s.now().UnixMilli()
	c := change{sku: sku, loc: loc.ID, kind: Return, dOnHand: qty, refType: ref.Type, refID: ref.ID, actor: ref.Actor, reason: "customer return"}
	l, _, err := s.apply(tx, c, at)
	if err != nil {
		return err
	}
	if damaged {
		w := change{sku: sku, loc: loc.ID, kind: Adjustment, dOnHand: -qty, need: qty, refType: ref.Type, refID: ref.ID, actor: ref.Actor,
			reason: "returned damaged: written off"}
		var ok bool
		if l, ok, err = s.apply(tx, w, at); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("inventory: write off damaged %s at %s: level changed", sku.Code, loc.Code)
		}
	}
	return s.ob.Append(tx, "inventory.returned", ref.Type+":"+ref.ID, map[string]any{"ref": ref.Type + ":" + ref.ID, "damaged": damaged,
		"levels": []levelEvent{evLevel(sku.Code, loc.Code, l)}})
}

// Free returns what each level of the given SKUs can still promise
// (on hand − reserved − safety stock, never below zero), keyed by SKU id
// then location id: the snapshot that fulfilment routing decides on. Hold
// is what grants; a route chosen on this snapshot may still be refused.
// Only the given locations are read.
func (s *Service) Free(ctx context.Context, skuIDs, locIDs []int64) (map[int64]map[int64]int64, error) {
	out := make(map[int64]map[int64]int64, len(skuIDs))
	if len(skuIDs) == 0 || len(locIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(skuIDs)+len(locIDs))
	for _, id := range skuIDs {
		args = append(args, id)
	}
	marks := func(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
	q := `SELECT sku_id, location_id, on_hand - reserved - safety_stock FROM stock_levels WHERE sku_id IN (` + marks(len(skuIDs)) + `)`
	var wanted map[int64]bool
	if len(locIDs) <= 4 {
		// A few locations: look up each level by its key.
		q += ` AND location_id IN (` + marks(len(locIDs)) + `)`
		for _, id := range locIDs {
			args = append(args, id)
		}
	} else {
		// Many (a channel's whole network): read each SKU's levels, which
		// lie together under the key, and keep the wanted locations.
		wanted = make(map[int64]bool, len(locIDs))
		for _, id := range locIDs {
			wanted[id] = true
		}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("inventory: free stock: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sku, loc, free int64
		if err := rows.Scan(&sku, &loc, &free); err != nil {
			return nil, fmt.Errorf("inventory: free stock: %w", err)
		}
		if free > 0 && (wanted == nil || wanted[loc]) {
			m := out[sku]
			if m == nil {
				m = map[int64]int64{}
				out[sku] = m
			}
			m[loc] = free
		}
	}
	return out, rows.Err()
}

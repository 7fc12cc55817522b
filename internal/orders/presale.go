package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Presale (预售) sells a style against an expected receipt at one location,
// up to a cap. Presale orders take standard delivery (or pickup at the
// presale location itself); once paid they wait in the presale state, and
// AllocatePresales holds their stock at the presale location, oldest order
// first, as soon as it arrives.

// Presale is a style on presale.
type Presale struct {
	ID           int64     `json:"id"`
	Style        string    `json:"style"`
	Location     string    `json:"location"`
	ExpectedDate string    `json:"expected_date"`
	Cap          int64     `json:"cap"`
	Sold         int64     `json:"sold"`
	Status       string    `json:"status" enum:"open,closed"`
	Waiting      int64     `json:"waiting" description:"paid orders waiting for stock"`
	CreatedAt    time.Time `json:"created_at"`
}

// NewPresale opens a presale.
type NewPresale struct {
	Style        string `json:"style" required:"true"`
	Location     string `json:"location" required:"true" description:"where the stock is expected"`
	ExpectedDate string `json:"expected_date" required:"true" description:"YYYY-MM-DD"`
	Cap          int64  `json:"cap" required:"true" minimum:"1"`
}

// presale is an open presale as checkout sees it.
type presale struct {
	id, style, loc int64
}

// openPresales returns the open presales by style id, from a snapshot at
// most presaleTTL old (refreshed at once by this instance's changes).
func (s *Service) openPresales(ctx context.Context) (map[int64]presale, error) {
	s.mu.Lock()
	snap, at := s.presales, s.presalesAt
	s.mu.Unlock()
	if snap != nil && time.Since(at) < presaleTTL {
		return snap, nil
	}
	list, err := db.Collect(func(sc db.Scanner) (presale, error) {
		var p presale
		return p, sc.Scan(&p.id, &p.style, &p.loc)
	})(s.db.Query(ctx, `SELECT id, style_id, location_id FROM presales WHERE status = 'open'`))
	if err != nil {
		return nil, fmt.Errorf("orders: open presales: %w", err)
	}
	snap = make(map[int64]presale, len(list))
	for _, p := range list {
		snap[p.style] = p
	}
	s.mu.Lock()
	s.presales, s.presalesAt = snap, time.Now()
	s.mu.Unlock()
	return snap, nil
}

// presaleTTL bounds how late checkout sees another instance's new presale.
const presaleTTL = 2 * time.Second

func (s *Service) forgetPresales() {
	s.mu.Lock()
	s.presales = nil
	s.mu.Unlock()
}

// presaleFor returns the open presale covering the order's styles: all
// lines or none must belong to one presale. The presale's cap itself is
// checked in the write (takePresale), so a stale snapshot cannot oversell.
func (s *Service) presaleFor(ctx context.Context, refs []catalog.SKURef) (*presale, error) {
	open, err := s.openPresales(ctx)
	if err != nil {
		return nil, err
	}
	var found *presale
	for i, r := range refs {
		p, ok := open[r.StyleID]
		if i == 0 {
			if ok {
				found = &p
			}
			continue
		}
		if ok != (found != nil) || ok && p.id != found.id {
			return nil, errs.E(errs.Invalid, "presale_mixed", "lines[%d]: presale items are ordered on their own, one presale per order", i).
				With("field", fmt.Sprintf("lines[%d]", i))
		}
	}
	return found, nil
}

// takePresale counts the order against the presale's cap (one conditional
// UPDATE) and checks its mode.
func (s *Service) takePresale(tx *db.Tx, p *placement) error {
	switch {
	case p.in.Mode == fulfilment.Standard:
	case p.in.Mode == fulfilment.Pickup && p.store != nil && p.store.ID == p.presale.loc:
	default:
		return errs.E(errs.Invalid, "presale_mode", "mode: presale orders take standard delivery, or pickup at the presale location").With("field", "mode")
	}
	var qty int64
	for _, l := range p.in.Lines {
		qty += l.Qty
	}
	res, err := tx.Exec(`UPDATE presales SET sold = sold + ?, updated_at = ? WHERE id = ? AND status = 'open' AND sold + ? <= cap`,
		qty, p.at, p.presale.id, qty)
	if err != nil {
		return fmt.Errorf("orders: presale cap: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var capN, sold int64
		_ = tx.QueryRow(`SELECT cap, sold FROM presales WHERE id = ?`, p.presale.id).Scan(&capN, &sold)
		return ErrPresaleCap.Withf("presale %d: %d of %d units left, %d requested", p.presale.id, max(0, capN-sold), capN, qty).
			With("left", max(0, capN-sold))
	}
	return nil
}

// CreatePresale opens a presale of a style.
func (s *Service) CreatePresale(ctx context.Context, in NewPresale) (Presale, error) {
	var v errs.Validator
	v.Required(in.Style, "style")
	v.Required(in.Location, "location")
	v.Check(catalog.ValidDate(in.ExpectedDate), "expected_date", "invalid_date", "must be a date YYYY-MM-DD")
	v.Range(in.Cap, 1, 10_000_000, "cap")
	if err := v.Err(); err != nil {
		return Presale{}, err
	}
	loc, err := s.location(ctx, "location", in.Location)
	if err != nil {
		return Presale{}, err
	}
	var styleID int64
	if err := s.db.QueryRow(ctx, `SELECT id FROM styles WHERE code = ?`, in.Style).Scan(&styleID); errors.Is(err, sql.ErrNoRows) {
		return Presale{}, errs.E(errs.NotFound, "style_not_found", "style: no style %q", in.Style).With("field", "style")
	} else if err != nil {
		return Presale{}, err
	}
	at := s.now().UnixMilli()
	var id int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(`SELECT id FROM presales WHERE style_id = ? AND status = 'open'`, styleID).Scan(&id); err == nil {
			return errs.E(errs.Conflict, "presale_exists", "style %s already has open presale %d", in.Style, id)
		}
		if err := tx.QueryRow(`INSERT INTO presales (style_id, location_id, expected_date, cap, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'open', ?, ?) RETURNING id`, styleID, loc.ID, in.ExpectedDate, in.Cap, at, at).Scan(&id); err != nil {
			return fmt.Errorf("orders: insert presale: %w", err)
		}
		return s.ob.Append(tx, "presale.opened", in.Style, map[string]any{"presale": id, "style": in.Style, "location": in.Location, "cap": in.Cap})
	})
	if err != nil {
		return Presale{}, err
	}
	s.forgetPresales()
	return s.GetPresale(ctx, id)
}

// ClosePresale stops selling a presale; waiting orders still get their stock.
func (s *Service) ClosePresale(ctx context.Context, id int64) (Presale, error) {
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`UPDATE presales SET status = 'closed', updated_at = ? WHERE id = ? AND status = 'open'`, s.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.Conflict, "presale_not_open", "presale %d is not open", id)
		}
		return s.ob.Append(tx, "presale.closed", strconv.FormatInt(id, 10), map[string]any{"presale": id})
	})
	if err != nil {
		return Presale{}, err
	}
	s.forgetPresales()
	return s.GetPresale(ctx, id)
}

const presaleCols = `SELECT p.id, s.code, l.code, p.expected_date, p.cap, p.sold, p.status, p.created_at,
	(SELECT COUNT(*) FROM orders o WHERE o.presale_id = p.id AND o.status = 'presale')
	FROM presales p JOIN styles s ON s.id = p.style_id JOIN locations l ON l.id = p.location_id`

func scanPresale(sc db.Scanner) (Presale, error) {
	var p Presale
	var at int64
	err := sc.Scan(&p.ID, &p.Style, &p.Location, &p.ExpectedDate, &p.Cap, &p.Sold, &p.Status, &at, &p.Waiting)
	p.CreatedAt = time.UnixMilli(at).UTC()
	return p, err
}

// GetPresale returns a presale.
func (s *Service) GetPresale(ctx context.Context, id int64) (Presale, error) {
	p, err := scanPresale(s.db.QueryRow(ctx, presaleCols+` WHERE p.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.E(errs.NotFound, "presale_not_found", "no presale %d", id)
	}
	return p, err
}

// ListPresales lists presales, newest first.
func (s *Service) ListPresales(ctx context.Context) ([]Presale, error) {
	return db.Collect(scanPresale)(s.db.Query(ctx, presaleCols+` ORDER BY p.id DESC LIMIT 200`))
}

// AllocatePresales holds stock for waiting presale orders, oldest first,
// at their presale's location; a presale stops at its first order the
// stock cannot cover (first come, first served). It returns how many
// orders it allocated.
func (s *Service) AllocatePresales(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT o.id, o.channel_id, p.location_id, o.presale_id FROM orders o JOIN presales p ON p.id = o.presale_id
		WHERE o.status = 'presale' ORDER BY o.presale_id, o.id LIMIT 500`)
	type waiting struct{ id, ch, loc, presale int64 }
	list, err := db.Collect(func(sc db.Scanner) (waiting, error) {
		var w waiting
		return w, sc.Scan(&w.id, &w.ch, &w.loc, &w.presale)
	})(rows, err)
	if err != nil {
		return 0, fmt.Errorf("orders: waiting presale orders: %w", err)
	}
	n := 0
	stopped := map[int64]bool{}
	for _, w := range list {
		if stopped[w.presale] {
			continue
		}
		ok, err := s.allocatePresale(ctx, w.id, w.ch, w.loc)
		if err != nil {
			return n, err
		}
		if !ok {
			stopped[w.presale] = true
			continue
		}
		n++
	}
	return n, nil
}

// allocatePresale holds one waiting order's lines at loc; ok is false when
// the stock is not there yet.
func (s *Service) allocatePresale(ctx context.Context, id, chID, locID int64) (bool, error) {
	ch, err := s.net.ChannelByID(ctx, chID)
	if err != nil {
		return false, err
	}
	loc, err := s.net.LocationByID(ctx, locID)
	if err != nil {
		return false, err
	}
	lines, err := s.lineRows(ctx, id)
	if err != nil {
		return false, err
	}
	hold := make([]inventory.HoldLine, len(lines))
	for i, l := range lines {
		hold[i] = inventory.HoldLine{SKU: l.sku, Location: loc, Qty: l.qty}
	}
	ref := inventory.Ref{Type: "order", ID: strconv.FormatInt(id, 10), Actor: auth.Actor(ctx)}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		if err := s.inv.Hold(tx, ch, hold, ref); err != nil {
			return err
		}
		for i, l := range lines {
			var capped any
			if hold[i].Capped {
				capped = l.sku.StyleID
			}
			if _, err := tx.Exec(`UPDATE order_lines SET location_id = ?, held = qty, capped_style_id = ? WHERE order_id = ? AND line_no = ?`,
				loc.ID, capped, id, l.no); err != nil {
				return err
			}
		}
		_, err := s.move(tx, id, Allocated, "presale stock arrived at "+loc.Code, ref.Actor, at, "")
		return err
	})
	if errors.Is(err, inventory.ErrInsufficientStock) || errors.Is(err, inventory.ErrShareExceeded) {
		return false, nil
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Code == ErrState.Code {
		return true, nil // cancelled meanwhile
	}
	return err == nil, err
}

package campaigns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// ── deals ───────────────────────────────────────────────────────────────

// deal is a deal row with its item's ids.
type deal struct {
	Deal
	skuID, styleID sql.NullInt64
}

const dealCols = `SELECT id, code, name, sku_id, style_id, item_code, group_price, group_size, window_minutes, member_limit,
	starts_at, ends_at, status, created_by, created_at, updated_at FROM group_deals`

func scanDeal(sc db.Scanner) (deal, error) {
	var d deal
	var item string
	var st, en, ca, ua int64
	err := sc.Scan(&d.ID, &d.Code, &d.Name, &d.skuID, &d.styleID, &item, &d.GroupPrice, &d.GroupSize, &d.WindowMinutes, &d.MemberLimit,
		&st, &en, &d.Status, &d.CreatedBy, &ca, &ua)
	if d.skuID.Valid {
		d.SKU = item
	} else {
		d.Style = item
	}
	d.StartsAt, d.EndsAt, d.CreatedAt, d.UpdatedAt = fromMS(st), fromMS(en), fromMS(ca), fromMS(ua)
	return d, err
}

// matches reports whether a SKU is the deal's item.
func (d *deal) matches(skuID, styleID int64) bool {
	return d.skuID.Valid && d.skuID.Int64 == skuID || d.styleID.Valid && d.styleID.Int64 == styleID
}

// CreateDeal creates a group-buy deal of a SKU or a style.
func (s *Service) CreateDeal(ctx context.Context, in NewDeal) (Deal, error) {
	now := s.now().UTC()
	var v errs.Validator
	validCode(&v, in.Code)
	validName(&v, in.Name)
	v.Check((in.SKU == "") != (in.Style == ""), "sku", "one_of", "give a sku or a style, not both")
	v.Check(in.GroupPrice >= 0, "group_price", "out_of_range", "must not be negative")
	v.Range(int64(in.GroupSize), 2, 100, "group_size")
	if in.WindowMinutes == 0 {
		in.WindowMinutes = 1440
	}
	v.Range(int64(in.WindowMinutes), 1, 10080, "window_minutes")
	if in.MemberLimit == 0 {
		in.MemberLimit = 1
	}
	v.Range(in.MemberLimit, 1, 99, "member_limit")
	st, en := validWindow(&v, now, in.StartsAt, in.EndsAt)
	if err := v.Err(); err != nil {
		return Deal{}, err
	}
	var skuID, styleID any
	item := in.SKU
	if in.SKU != "" {
		r, err := s.cat.SKURef(ctx, in.SKU)
		if errors.Is(err, catalog.ErrSKUNotFound) {
			return Deal{}, errs.E(errs.NotFound, "sku_not_found", "sku: no SKU %q", in.SKU).With("field", "sku")
		}
		if err != nil {
			return Deal{}, err
		}
		skuID = r.ID
	} else {
		refs, err := s.cat.StyleSKURefs(ctx, in.Style)
		if errors.Is(err, catalog.ErrStyleNotFound) {
			return Deal{}, errs.E(errs.NotFound, "style_not_found", "style: no style %q", in.Style).With("field", "style")
		}
		if err != nil {
			return Deal{}, err
		}
		if len(refs) == 0 {
			return Deal{}, errs.E(errs.Invalid, "style_without_skus", "style: %s has no SKUs to sell", in.Style).With("field", "style")
		}
		styleID, item = refs[0].StyleID, in.Style
	}
	actor := auth.Actor(ctx)
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := ms(s.now())
		err := tx.QueryRow(`INSERT INTO group_deals (code, name, sku_id, style_id, item_code, group_price, group_size, window_minutes, member_limit,
				starts_at, ends_at, status, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
			in.Code, in.Name, skuID, styleID, item, in.GroupPrice, in.GroupSize, in.WindowMinutes, in.MemberLimit, ms(st), ms(en), actor, at, at).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDuplicateCode.Withf("code: a deal %q exists", in.Code).With("field", "code")
		}
		if err != nil {
			return fmt.Errorf("campaigns: insert deal: %w", err)
		}
		return s.ob.Append(tx, "group_deal.created", in.Code, map[string]any{"deal": id, "code": in.Code, "item": item,
			"group_price": in.GroupPrice, "group_size": in.GroupSize})
	})
	if err != nil {
		return Deal{}, err
	}
	return s.GetDeal(ctx, in.Code)
}

// GetDeal returns a deal by code.
func (s *Service) GetDeal(ctx context.Context, code string) (Deal, error) {
	d, err := scanDeal(s.db.QueryRow(ctx, dealCols+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Deal{}, ErrDealNotFound.Withf("no group-buy deal %q", code)
	}
	if err != nil {
		return Deal{}, fmt.Errorf("campaigns: read deal: %w", err)
	}
	return d.Deal, nil
}

func (s *Service) dealByCode(ctx context.Context, code string) (deal, error) {
	d, err := scanDeal(s.db.QueryRow(ctx, dealCols+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrDealNotFound.Withf("no group-buy deal %q", code)
	}
	if err != nil {
		return d, fmt.Errorf("campaigns: read deal: %w", err)
	}
	return d, nil
}

func (s *Service) dealByID(ctx context.Context, id int64) (deal, error) {
	d, err := scanDeal(s.db.QueryRow(ctx, dealCols+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrDealNotFound.Withf("no group-buy deal %d", id)
	}
	if err != nil {
		return d, fmt.Errorf("campaigns: read deal: %w", err)
	}
	return d, nil
}

// ListDeals lists deals, newest first.
func (s *Service) ListDeals(ctx context.Context, f ListParams) ([]Deal, string, error) {
	q, args, err := listQuery(dealCols, "", nil, nil, f.Status, []string{"active", "closed"}, &f.Limit, f.Cursor)
	if err != nil {
		return nil, "", err
	}
	list, err := db.Collect(func(sc db.Scanner) (Deal, error) {
		d, err := scanDeal(sc)
		return d.Deal, err
	})(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, "", fmt.Errorf("campaigns: list deals: %w", err)
	}
	list, next := cut(list, f.Limit, func(d Deal) int64 { return d.ID })
	return list, next, nil
}

// CloseDeal stops a deal: no new groups are opened; groups already
// forming may still fill until their window ends.
func (s *Service) CloseDeal(ctx context.Context, code string) (Deal, error) {
	if err := s.close(ctx, "group_deals", "group_deal.closed", "deal", code, ErrDealNotFound.Withf("no group-buy deal %q", code)); err != nil {
		return Deal{}, err
	}
	return s.GetDeal(ctx, code)
}

// close marks the row of table with code closed and announces it with
// topic (payload key names its id); notFound is the error for no such row.
func (s *Service) close(ctx context.Context, table, topic, key, code string, notFound error) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRow(`UPDATE `+table+` SET status = 'closed', updated_at = ? WHERE code = ? RETURNING id`, ms(s.now()), code).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("campaigns: close %s %s: %w", key, code, err)
		}
		return s.ob.Append(tx, topic, code, map[string]any{key: id, "code": code})
	})
}

// ── opening and joining ─────────────────────────────────────────────────

// OpenGroup opens a group of a deal with the member's order as its first
// seat. The order waits for payment like any order; the group forms when
// its N-th member has paid within the window.
func (s *Service) OpenGroup(ctx context.Context, dealCode string, in JoinRequest) (Joined, error) {
	d, err := s.dealByCode(ctx, dealCode)
	if err != nil {
		return Joined{}, err
	}
	now := s.now()
	if d.Status != "active" || now.Before(d.StartsAt) || !now.Before(d.EndsAt) {
		return Joined{}, ErrDealNotActive.Withf("deal %s is %s (from %s to %s): no new groups", d.Code, d.Status,
			d.StartsAt.Format(time.RFC3339), d.EndsAt.Format(time.RFC3339))
	}
	req, err := s.groupOrder(ctx, &d, in)
	if err != nil {
		return Joined{}, err
	}
	req.Promotion = fmt.Sprintf("%s%d", markerOpen, d.ID)
	return s.place(ctx, req)
}

// JoinGroup joins a forming group with the member's order. A full or
// closed group is a 409 (group_full, group_closed); a member is in a
// group once (already_joined) and within the deal's limit
// (group_limit_reached).
func (s *Service) JoinGroup(ctx context.Context, groupID int64, in JoinRequest) (Joined, error) {
	g, err := s.groupRow(ctx, nil, groupID)
	if err != nil {
		return Joined{}, err
	}
	if err := g.open(s.now()); err != nil {
		return Joined{}, err
	}
	d, err := s.dealByID(ctx, g.dealID)
	if err != nil {
		return Joined{}, err
	}
	req, err := s.groupOrder(ctx, &d, in)
	if err != nil {
		return Joined{}, err
	}
	req.Promotion = fmt.Sprintf("%s%d", markerPrefix, groupID)
	return s.place(ctx, req)
}

// groupOrder checks a join request and turns it into the member's order.
func (s *Service) groupOrder(ctx context.Context, d *deal, in JoinRequest) (orders.CheckoutRequest, error) {
	var v errs.Validator
	v.Check(in.MemberID > 0, "member_id", "required", "is required")
	v.Required(in.Channel, "channel")
	v.OneOf(string(in.Mode), "mode", string(fulfilment.Pickup), string(fulfilment.Instant), string(fulfilment.Standard))
	if in.Qty == 0 {
		in.Qty = 1
	}
	v.Range(in.Qty, 1, d.MemberLimit, "qty")
	v.Check(len(in.Name) <= 100, "name", "too_long", "must be at most 100 bytes")
	v.Check(len(in.Note) <= 500, "note", "too_long", "must be at most 500 bytes")
	if d.styleID.Valid {
		v.Required(in.SKU, "sku")
	}
	if err := v.Err(); err != nil {
		return orders.CheckoutRequest{}, err
	}
	sku := d.SKU
	if in.SKU != "" {
		r, err := s.cat.SKURef(ctx, in.SKU)
		if errors.Is(err, catalog.ErrSKUNotFound) {
			return orders.CheckoutRequest{}, errs.E(errs.NotFound, "sku_not_found", "sku: no SKU %q", in.SKU).With("field", "sku")
		}
		if err != nil {
			return orders.CheckoutRequest{}, err
		}
		if !d.matches(r.ID, r.StyleID) {
			return orders.CheckoutRequest{}, ErrNotDealItem.Withf("sku: %s is not sold by deal %s", in.SKU, d.Code).With("field", "sku")
		}
		sku = r.Code
	}
	if err := s.memberExists(ctx, in.MemberID, "member_id"); err != nil {
		return orders.CheckoutRequest{}, err
	}
	m := in.MemberID
	return orders.CheckoutRequest{Channel: in.Channel, Mode: in.Mode, Store: in.Store, Address: in.Address,
		Customer: orders.Customer{MemberID: &m, Name: in.Name}, Lines: []orders.LineRequest{{SKU: sku, Qty: in.Qty}}, Note: in.Note}, nil
}

// place places a group order and answers with its group.
func (s *Service) place(ctx context.Context, req orders.CheckoutRequest) (Joined, error) {
	o, err := s.ord.Checkout(ctx, req)
	if err != nil {
		return Joined{}, err
	}
	var gid int64
	if err := s.db.QueryRow(ctx, `SELECT group_id FROM group_members WHERE order_id = ?`, o.ID).Scan(&gid); err != nil {
		return Joined{}, fmt.Errorf("campaigns: group of order %d: %w (is the campaigns module attached to orders?)", o.ID, err)
	}
	g, err := s.GetGroup(ctx, gid)
	if err != nil {
		return Joined{}, err
	}
	return Joined{Group: g, Order: o}, nil
}

// ── groups ──────────────────────────────────────────────────────────────

// groupRow is what the rules need of a group.
type groupRow struct {
	id, dealID   int64
	size, held   int
	joined       int
	status       string
	expires      int64
	leader       int64
	opened       int64
	formed, fail sql.NullInt64
	dealCode     string
}

const groupCols = `SELECT g.id, g.deal_id, g.size, g.held, g.joined, g.status, g.expires_at, g.leader_id, g.opened_at, g.formed_at, g.failed_at, d.code
	FROM group_buys g JOIN group_deals d ON d.id = g.deal_id`

func scanGroup(sc db.Scanner) (groupRow, error) {
	var g groupRow
	err := sc.Scan(&g.id, &g.dealID, &g.size, &g.held, &g.joined, &g.status, &g.expires, &g.leader, &g.opened, &g.formed, &g.fail, &g.dealCode)
	return g, err
}

// groupRow reads a group, in tx when given.
func (s *Service) groupRow(ctx context.Context, tx *db.Tx, id int64) (groupRow, error) {
	var row db.Row
	if tx != nil {
		row = tx.QueryRow(groupCols+` WHERE g.id = ?`, id)
	} else {
		row = s.db.QueryRow(ctx, groupCols+` WHERE g.id = ?`, id)
	}
	g, err := scanGroup(row)
	if errors.Is(err, sql.ErrNoRows) {
		return g, ErrGroupNotFound.Withf("no group %d", id)
	}
	if err != nil {
		return g, fmt.Errorf("campaigns: read group: %w", err)
	}
	return g, nil
}

// open checks that a group takes another member at now, naming why not.
func (g *groupRow) open(now time.Time) error {
	switch {
	case g.status != Forming:
		return ErrGroupClosed.Withf("group %d has %s", g.id, g.status).With("group_status", g.status)
	case g.expires <= ms(now):
		return ErrGroupClosed.Withf("group %d's window ended at %s", g.id, fromMS(g.expires).Format(time.RFC3339)).With("group_status", g.status)
	case g.held >= g.size:
		return ErrGroupFull.Withf("group %d has all %d seats taken", g.id, g.size).With("size", g.size)
	}
	return nil
}

func (g *groupRow) view() Group {
	out := Group{ID: g.id, Deal: g.dealCode, Leader: g.leader, Size: g.size, Held: g.held, Joined: g.joined, Status: g.status,
		OpenedAt: fromMS(g.opened), ExpiresAt: fromMS(g.expires)}
	if g.formed.Valid {
		t := fromMS(g.formed.Int64)
		out.FormedAt = &t
	}
	if g.fail.Valid {
		t := fromMS(g.fail.Int64)
		out.FailedAt = &t
	}
	return out
}

// GetGroup returns a group with its members' orders.
func (s *Service) GetGroup(ctx context.Context, id int64) (Group, error) {
	g, err := s.groupRow(ctx, nil, id)
	if err != nil {
		return Group{}, err
	}
	out := g.view()
	out.Members, err = db.Collect(func(sc db.Scanner) (GroupMember, error) {
		var m GroupMember
		var joined int64
		var paid, ended *int64
		err := sc.Scan(&m.Member, &m.Order, &m.Qty, &m.Status, &joined, &paid, &ended)
		m.JoinedAt, m.PaidAt, m.EndedAt = fromMS(joined), fromNullMS(paid), fromNullMS(ended)
		return m, err
	})(s.db.Query(ctx, `SELECT member_id, order_id, qty, status, joined_at, paid_at, ended_at FROM group_members WHERE group_id = ? ORDER BY order_id`, id))
	if err != nil {
		return Group{}, fmt.Errorf("campaigns: group members: %w", err)
	}
	return out, nil
}

// ListGroups lists a deal's groups, newest first (status=forming: the
// groups a member may join).
func (s *Service) ListGroups(ctx context.Context, f GroupListParams) ([]Group, string, error) {
	q, args, err := listQuery(groupCols, "g.", []string{"d.code = ?"}, []any{f.Code}, f.Status, []string{Forming, Formed, Failed}, &f.Limit, f.Cursor)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.dealByCode(ctx, f.Code); err != nil {
		return nil, "", err
	}
	list, err := db.Collect(func(sc db.Scanner) (Group, error) {
		g, err := scanGroup(sc)
		return g.view(), err
	})(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, "", fmt.Errorf("campaigns: list groups: %w", err)
	}
	list, next := cut(list, f.Limit, func(g Group) int64 { return g.ID })
	return list, next, nil
}

// ── the price step ──────────────────────────────────────────────────────

// StepName is the name of the group-buy price step.
const StepName = "group_buy"

// PriceStep is the group_buy price step: on a group order (the promotion
// marker set by OpenGroup or JoinGroup) it checks that the deal still
// opens groups or the group still takes members, and prices the deal's
// lines at the group price (never above the list price). Other orders pass
// untouched.
type PriceStep struct{ s *Service }

// Name implements orders.PriceStep.
func (PriceStep) Name() string { return StepName }

// Apply implements orders.PriceStep.
func (p PriceStep) Apply(ctx context.Context, q *orders.Quote) error {
	dealID, groupID, ok := parseMarker(q.Promotion)
	if !ok {
		return nil
	}
	s := p.s
	if q.Customer.MemberID == nil {
		return errs.E(errs.Invalid, "member_required", "customer.member_id: group buys are for members").With("field", "customer.member_id")
	}
	now := s.now()
	if groupID > 0 {
		g, err := s.groupRow(ctx, nil, groupID)
		if err != nil {
			return err
		}
		if err := g.open(now); err != nil {
			return err
		}
		dealID = g.dealID
	}
	d, err := s.dealByID(ctx, dealID)
	if err != nil {
		return err
	}
	if groupID == 0 && (d.Status != "active" || now.Before(d.StartsAt) || !now.Before(d.EndsAt)) {
		return ErrDealNotActive.Withf("deal %s opens no new groups now", d.Code)
	}
	for i := range q.Lines {
		l := &q.Lines[i]
		if !d.matches(l.SKU.ID, l.SKU.StyleID) {
			return ErrNotDealItem.Withf("lines[%d].sku: %s is not sold by deal %s", i, l.SKU.Code, d.Code).With("field", fmt.Sprintf("lines[%d].sku", i))
		}
		unit := min(d.GroupPrice, l.UnitPrice)
		l.Adjust(StepName, d.Code, fmt.Sprintf("group price: %d × %d fen", l.Qty, unit), -(l.UnitPrice-unit)*l.Qty)
	}
	return nil
}

// ── the order hooks ─────────────────────────────────────────────────────

// Hooks are the group buy's orders.Loyalty hooks, run in the order's
// transaction for member orders; orders that are not group orders pass
// through (one lookup by order id on payment and cancellation).
type Hooks struct{ s *Service }

var (
	_ orders.Loyalty = Hooks{}
	_ orders.Gate    = Hooks{}
)

// MayPick holds a group order back from fulfilment until its group has
// formed, so that a group that then fails leaves nothing picked or
// shipped to take back.
func (h Hooks) MayPick(tx *db.Tx, orderID int64) error {
	var status string
	var group int64
	err := tx.QueryRow(`SELECT g.status, g.id FROM group_members m JOIN group_buys g ON g.id = m.group_id WHERE m.order_id = ?`, orderID).Scan(&status, &group)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // not a group order
	case err != nil:
		return fmt.Errorf("campaigns: group of order %d: %w", orderID, err)
	case status != "formed":
		return ErrGroupNotFormed.Withf("order %d belongs to group %d, which is %s: it is picked once the group forms", orderID, group, status).
			With("group", group).With("group_status", status)
	}
	return nil
}

// OrderPlaced takes the group order's seat: a new group for an open, a
// seat of the group for a join (one conditional UPDATE: a full, formed,
// failed or expired group is a 409 and the order rolls back), and the
// units against the member's limit for the deal.
func (h Hooks) OrderPlaced(tx *db.Tx, f orders.OrderFacts, q *orders.Quote) error {
	dealID, groupID, ok := parseMarker(q.Promotion)
	if !ok {
		return nil
	}
	s := h.s
	var qty int64
	for i := range q.Lines {
		priced := false
		for _, a := range q.Lines[i].Adjustments {
			priced = priced || a.Step == StepName
		}
		if !priced {
			return fmt.Errorf("campaigns: group order line %d was not priced by the %s step (is it in the price pipeline?)", i+1, StepName)
		}
		qty += q.Lines[i].Qty
	}
	at := f.At
	if groupID > 0 {
		err := tx.QueryRow(`UPDATE group_buys SET held = held + 1, updated_at = ?
			WHERE id = ? AND held < size AND status = 'forming' AND expires_at > ? RETURNING deal_id`, at, groupID, at).Scan(&dealID)
		if errors.Is(err, sql.ErrNoRows) {
			g, err := s.groupRow(context.Background(), tx, groupID)
			if err != nil {
				return err
			}
			if err := g.open(fromMS(at)); err != nil {
				return err
			}
			return ErrGroupFull.Withf("group %d has all its seats taken", groupID)
		}
		if err != nil {
			return fmt.Errorf("campaigns: take a seat: %w", err)
		}
	}
	var status string
	var starts, ends int64
	var size, window int
	var limit int64
	if err := tx.QueryRow(`SELECT status, starts_at, ends_at, group_size, window_minutes, member_limit FROM group_deals WHERE id = ?`, dealID).
		Scan(&status, &starts, &ends, &size, &window, &limit); err != nil {
		return fmt.Errorf("campaigns: read deal %d: %w", dealID, err)
	}
	if groupID == 0 {
		if status != "active" || at < starts || at >= ends {
			return ErrDealNotActive.Withf("the deal opens no new groups now")
		}
		expires := min(at+int64(window)*60_000, ends)
		if err := tx.QueryRow(`INSERT INTO group_buys (deal_id, leader_id, size, held, joined, status, opened_at, expires_at, updated_at)
			VALUES (?, ?, ?, 1, 0, 'forming', ?, ?, ?) RETURNING id`, dealID, f.MemberID, size, at, expires, at).Scan(&groupID); err != nil {
			return fmt.Errorf("campaigns: open group: %w", err)
		}
		if err := s.ob.Append(tx, "group_buy.opened", subject(groupID), map[string]any{"group": groupID, "deal": dealID,
			"leader": f.MemberID, "size": size, "expires_at": fromMS(expires)}); err != nil {
			return err
		}
	}
	if qty > limit {
		return ErrMemberLimit.Withf("qty: the deal allows %d units per member", limit).With("field", "qty").With("limit", limit)
	}
	var units int64
	err := tx.QueryRow(`INSERT INTO group_deal_members (deal_id, member_id, units) VALUES (?, ?, ?)
		ON CONFLICT (deal_id, member_id) DO UPDATE SET units = group_deal_members.units + excluded.units
		WHERE group_deal_members.units + excluded.units <= ? RETURNING units`, dealID, f.MemberID, qty, limit).Scan(&units)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrMemberLimit.Withf("member %d already has the deal's limit of %d units in live orders", f.MemberID, limit).With("limit", limit)
	}
	if err != nil {
		return fmt.Errorf("campaigns: member limit: %w", err)
	}
	var oid int64
	err = tx.QueryRow(`INSERT INTO group_members (order_id, group_id, deal_id, member_id, qty, status, joined_at)
		VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING RETURNING order_id`, f.ID, groupID, dealID, f.MemberID, qty, at).Scan(&oid)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrAlreadyJoined.Withf("member %d is in group %d already", f.MemberID, groupID)
	}
	if err != nil {
		return fmt.Errorf("campaigns: join group: %w", err)
	}
	return s.ob.Append(tx, "group_buy.joined", subject(groupID), map[string]any{"group": groupID, "member": f.MemberID, "order": f.ID, "qty": qty})
}

// OrderPaid counts a paid group order into its group with one conditional
// UPDATE (joined < size, forming, window not passed). The payment that
// fills the group forms it. A payment after the window (or for a failed
// group) is not refused, since the money may come from a provider's
// notification: the member is marked late and FailExpired cancels and
// refunds the order.
func (h Hooks) OrderPaid(tx *db.Tx, f orders.OrderFacts) error {
	s := h.s
	var gid int64
	err := tx.QueryRow(`UPDATE group_members SET status = 'paid', paid_at = ? WHERE order_id = ? AND status = 'pending' RETURNING group_id`, f.At, f.ID).Scan(&gid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not a group order (or counted already)
	}
	if err != nil {
		return fmt.Errorf("campaigns: group order paid: %w", err)
	}
	var joined, size int
	var status string
	err = tx.QueryRow(`UPDATE group_buys SET joined = joined + 1, updated_at = ?,
			status = CASE WHEN joined + 1 >= size THEN 'formed' ELSE status END,
			formed_at = CASE WHEN joined + 1 >= size THEN ? ELSE formed_at END
		WHERE id = ? AND joined < size AND status = 'forming' AND expires_at > ? RETURNING joined, size, status`, f.At, f.At, gid, f.At).
		Scan(&joined, &size, &status)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.Exec(`UPDATE group_members SET status = 'late' WHERE order_id = ?`, f.ID); err != nil {
			return fmt.Errorf("campaigns: late payment: %w", err)
		}
		return s.ob.Append(tx, "group_buy.late_payment", subject(gid), map[string]any{"group": gid, "order": f.ID, "member": f.MemberID})
	}
	if err != nil {
		return fmt.Errorf("campaigns: count member: %w", err)
	}
	if status != Formed {
		return s.ob.Append(tx, "group_buy.paid", subject(gid), map[string]any{"group": gid, "order": f.ID, "member": f.MemberID, "joined": joined, "size": size})
	}
	if _, err := tx.Exec(`UPDATE group_members SET status = 'confirmed' WHERE group_id = ? AND status = 'paid'`, gid); err != nil {
		return fmt.Errorf("campaigns: confirm members: %w", err)
	}
	list, err := db.Collect(func(sc db.Scanner) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	})(tx.Query(`SELECT order_id FROM group_members WHERE group_id = ? AND status = 'confirmed' ORDER BY order_id`, gid))
	if err != nil {
		return fmt.Errorf("campaigns: formed group's orders: %w", err)
	}
	return s.ob.Append(tx, "group_buy.formed", subject(gid), map[string]any{"group": gid, "size": size, "orders": list})
}

// OrderCancelled takes a cancelled group order out of its group: while
// the group is forming its seat (and paid count) is freed; the member's
// units go back to the deal's allowance in any case.
func (h Hooks) OrderCancelled(tx *db.Tx, f orders.OrderFacts) error {
	return h.s.leave(tx, f.ID, f.At)
}

// OrderRefunded implements orders.Loyalty: a partial refund changes
// nothing in a group.
func (Hooks) OrderRefunded(*db.Tx, orders.OrderFacts, int64) error { return nil }

// leave ends a group order's membership in tx (its order is cancelled).
func (s *Service) leave(tx *db.Tx, orderID, at int64) error {
	var gid, dealID, member, qty int64
	var st string
	err := tx.QueryRow(`SELECT group_id, deal_id, member_id, qty, status FROM group_members WHERE order_id = ?`, orderID).Scan(&gid, &dealID, &member, &qty, &st)
	if errors.Is(err, sql.ErrNoRows) || err == nil && st == MemberCancelled {
		return nil
	}
	if err != nil {
		return fmt.Errorf("campaigns: group of order: %w", err)
	}
	res, err := tx.Exec(`UPDATE group_members SET status = 'cancelled', ended_at = ? WHERE order_id = ? AND status = ?`, at, orderID, st)
	if err != nil {
		return fmt.Errorf("campaigns: leave group: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "concurrent_change", "group order %d changed concurrently; retry", orderID)
	}
	if st == MemberPending || st == MemberPaid || st == MemberLate {
		paid := 0
		if st == MemberPaid {
			paid = 1
		}
		if _, err := tx.Exec(`UPDATE group_buys SET held = held - 1, joined = joined - ?, updated_at = ? WHERE id = ? AND status = 'forming'`,
			paid, at, gid); err != nil {
			return fmt.Errorf("campaigns: free seat: %w", err)
		}
	}
	if _, err := tx.Exec(`UPDATE group_deal_members SET units = units - ? WHERE deal_id = ? AND member_id = ? AND units >= ?`, qty, dealID, member, qty); err != nil {
		return fmt.Errorf("campaigns: member limit: %w", err)
	}
	return s.ob.Append(tx, "group_buy.left", subject(gid), map[string]any{"group": gid, "order": orderID, "member": member, "was": st})
}

// subject is a group's event subject.
func subject(id int64) string { return fmt.Sprintf("group-%d", id) }

// ── failing groups ──────────────────────────────────────────────────────

// FailResult is what one FailExpired pass did.
type FailResult struct {
	Groups    int `json:"groups"`    // groups failed
	Cancelled int `json:"cancelled"` // member orders cancelled (refunded, stock released)
	Stuck     int `json:"stuck"`     // member orders that could not be cancelled (they had left)
}

// FailExpired fails forming groups whose window has run out (at most
// limit) and cancels the live orders of failed groups and of members who
// paid too late (at most limit) through the orders service, which refunds
// what was paid and releases the held stock. Every step is conditional, so
// a pass is safe to repeat and to run on several instances at once; an
// order cancelled meanwhile is skipped. An order that can no longer be
// cancelled (it was shipped) is marked stuck and announced
// (group_buy.member_stuck) for staff.
func (s *Service) FailExpired(ctx context.Context, limit int) (FailResult, error) {
	var out FailResult
	now := ms(s.now())
	due, err := db.Collect(func(sc db.Scanner) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	})(s.db.Query(ctx, `SELECT id FROM group_buys WHERE status = 'forming' AND expires_at <= ? ORDER BY expires_at LIMIT ?`, now, limit))
	if err != nil {
		return out, fmt.Errorf("campaigns: due groups: %w", err)
	}
	for _, id := range due {
		failed := false
		err := s.db.Write(ctx, func(tx *db.Tx) error {
			at := ms(s.now())
			var held, joined, size int
			err := tx.QueryRow(`UPDATE group_buys SET status = 'failed', failed_at = ?, updated_at = ?
				WHERE id = ? AND status = 'forming' AND expires_at <= ? RETURNING held, joined, size`, at, at, id, at).Scan(&held, &joined, &size)
			failed = err == nil
			if errors.Is(err, sql.ErrNoRows) {
				return nil // formed or failed meanwhile
			}
			if err != nil {
				return fmt.Errorf("campaigns: fail group: %w", err)
			}
			return s.ob.Append(tx, "group_buy.failed", subject(id), map[string]any{"group": id, "held": held, "joined": joined, "size": size})
		})
		if err != nil {
			return out, err
		}
		if failed {
			out.Groups++
		}
	}
	type live struct{ order, group int64 }
	members, err := db.Collect(func(sc db.Scanner) (live, error) {
		var l live
		return l, sc.Scan(&l.order, &l.group)
	})(s.db.Query(ctx, `SELECT m.order_id, m.group_id FROM group_members m JOIN group_buys g ON g.id = m.group_id
		WHERE m.status IN ('pending', 'paid', 'late') AND (g.status = 'failed' OR m.status = 'late') ORDER BY m.order_id LIMIT ?`, limit))
	if err != nil {
		return out, fmt.Errorf("campaigns: orders to cancel: %w", err)
	}
	for _, m := range members {
		_, err := s.ord.Cancel(ctx, m.order, orders.CancelRequest{Reason: fmt.Sprintf("group buy %d did not form in time", m.group)})
		switch {
		case err == nil:
			out.Cancelled++
			continue
		case isState(err) || errors.Is(err, orders.ErrNotFound):
		case errors.Is(err, errs.E(errs.Conflict, "concurrent_change", "")):
			continue // the next pass
		default:
			return out, err
		}
		// The order moved on without us: cancelled elsewhere, or gone out.
		o, gerr := s.ord.Get(ctx, m.order)
		if gerr != nil && !errors.Is(gerr, orders.ErrNotFound) {
			return out, gerr
		}
		cancelled := gerr == nil && o.Status == orders.Cancelled
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			at := ms(s.now())
			if cancelled {
				return s.leave(tx, m.order, at)
			}
			res, err := tx.Exec(`UPDATE group_members SET status = 'stuck', ended_at = ? WHERE order_id = ? AND status IN ('pending', 'paid', 'late')`, at, m.order)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			return s.ob.Append(tx, "group_buy.member_stuck", subject(m.group), map[string]any{"group": m.group, "order": m.order,
				"order_status": o.Status, "reason": "the group failed but the order could not be cancelled"})
		})
		if err != nil {
			return out, fmt.Errorf("campaigns: settle order %d: %w", m.order, err)
		}
		if !cancelled {
			out.Stuck++
		}
	}
	return out, nil
}

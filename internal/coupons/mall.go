package coupons

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// ItemKind is what a points-mall item gives.
type ItemKind string

// The item kinds.
const (
	CouponItem ItemKind = "coupon" // a coupon of a template, issued at once
	GiftItem   ItemKind = "gift"   // goods from the item's own stock, collected at a store or delivered
)

// Errors of the mall.
var (
	ErrItemNotFound       = errs.New(errs.NotFound, "mall_item_not_found", "no such points-mall item")
	ErrRedemptionNotFound = errs.New(errs.NotFound, "redemption_not_found", "no such redemption")
	ErrItemInactive       = errs.New(errs.Conflict, "mall_item_inactive", "the item is not on offer")
	ErrOutOfStock         = errs.New(errs.Conflict, "mall_out_of_stock", "the item's stock is too low")
	ErrRedemptionState    = errs.New(errs.Conflict, "redemption_state", "the redemption cannot move to that state")
)

// MallItem is something members may redeem points for.
type MallItem struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Kind     ItemKind `json:"kind" enum:"coupon,gift"`
	Points   int64    `json:"points" description:"points per unit"`
	Template string   `json:"template,omitempty" description:"coupon items: the coupon template"`
	Stock    *int64   `json:"stock,omitempty" description:"units left; absent: unlimited (coupon items, within the template's limits)"`
	Redeemed int64    `json:"redeemed"`
	Active   bool     `json:"active"`
	// CreatedAt and UpdatedAt are the item's record times.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	id, templateID int64
}

// NewMallItem creates a mall item.
type NewMallItem struct {
	Code     string   `json:"code" required:"true"`
	Name     string   `json:"name" required:"true"`
	Kind     ItemKind `json:"kind" required:"true" enum:"coupon,gift"`
	Points   int64    `json:"points" required:"true" minimum:"1"`
	Template string   `json:"template,omitempty" description:"coupon items: the template's code"`
	Stock    *int64   `json:"stock,omitempty" minimum:"0" description:"gifts: required; coupon items: optional cap"`
	Inactive bool     `json:"inactive,omitempty"`
}

// MallItemPatch changes a mall item.
type MallItemPatch struct {
	Name     *string `json:"name,omitempty"`
	Points   *int64  `json:"points,omitempty" minimum:"1" description:"for redemptions from now on"`
	Active   *bool   `json:"active,omitempty"`
	AddStock *int64  `json:"add_stock,omitempty" description:"units added (negative: removed, never below zero)"`
}

// RedeemRequest redeems points for a mall item.
type RedeemRequest struct {
	MemberID int64  `json:"member_id" required:"true"`
	Qty      int64  `json:"qty,omitempty" minimum:"1" maximum:"10" description:"default 1"`
	Delivery string `json:"delivery,omitempty" enum:"store,delivery" description:"gifts: collect at a store or deliver"`
	Store    string `json:"store,omitempty" description:"delivery store: the collection store's code"`
	Address  string `json:"address,omitempty" description:"delivery delivery: where to"`
}

// Redemption is one redemption of points for a mall item.
type Redemption struct {
	ID       int64    `json:"id"`
	Item     string   `json:"item"`
	Kind     ItemKind `json:"kind"`
	MemberID int64    `json:"member_id"`
	Qty      int64    `json:"qty"`
	Points   int64    `json:"points" description:"spent in all"`
	Delivery string   `json:"delivery" enum:"coupon,store,delivery"`
	Store    string   `json:"store,omitempty"`
	Address  string   `json:"address,omitempty"`
	// Status: coupon items are issued at once; gifts go pending → ready →
	// collected (store) or pending → shipped → delivered, and may be
	// cancelled while pending or ready (stock and points come back).
	Status    string    `json:"status" enum:"issued,pending,ready,collected,shipped,delivered,cancelled"`
	Coupons   []string  `json:"coupons,omitempty" description:"the codes of the coupons issued"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RedemptionUpdate moves a gift redemption on.
type RedemptionUpdate struct {
	Status string `json:"status" required:"true" enum:"ready,collected,shipped,delivered,cancelled"`
	Note   string `json:"note,omitempty"`
}

// redemptionMoves lists the states a redemption may move to, by delivery
// and state.
var redemptionMoves = map[string]map[string][]string{
	"store":    {"pending": {"ready", "collected", "cancelled"}, "ready": {"collected", "cancelled"}},
	"delivery": {"pending": {"shipped", "cancelled"}, "shipped": {"delivered"}},
}

const itemCols = `i.id, i.code, i.name, i.kind, i.points, i.template_id, COALESCE(t.code, ''), i.stock, i.redeemed, i.active, i.created_at, i.updated_at`

const itemFrom = ` FROM mall_items i LEFT JOIN coupon_templates t ON t.id = i.template_id`

func scanItem(sc db.Scanner) (MallItem, error) {
	var it MallItem
	var tpl, stock sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&it.id, &it.Code, &it.Name, &it.Kind, &it.Points, &tpl, &it.Template, &stock, &it.Redeemed, &it.Active, &created, &updated); err != nil {
		return it, err
	}
	it.templateID = tpl.Int64
	if stock.Valid {
		it.Stock = &stock.Int64
	}
	it.CreatedAt, it.UpdatedAt = ms(created), ms(updated)
	return it, nil
}

// CreateMallItem offers a new item in the points mall.
func (s *Service) CreateMallItem(ctx context.Context, in NewMallItem) (MallItem, error) {
	var v errs.Validator
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	v.Check(errs.ValidCode(in.Code), "code", "invalid_code", "must be 1 to 64 of letters, digits, '.', '_', '-'")
	if v.Required(in.Name, "name") {
		v.Check(utf8.RuneCountInString(in.Name) <= 100, "name", "too_long", "must be at most 100 characters")
	}
	v.Range(in.Points, 1, 100_000_000, "points")
	switch in.Kind {
	case CouponItem:
		v.Required(in.Template, "template")
	case GiftItem:
		v.Check(in.Template == "", "template", "not_allowed", "only coupon items take a template")
		v.Check(in.Stock != nil, "stock", "required", "a gift has a stock")
	default:
		v.Add("kind", "one_of", "must be one of coupon, gift")
	}
	if in.Stock != nil {
		v.Check(*in.Stock >= 0, "stock", "out_of_range", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return MallItem{}, err
	}
	var stock, tpl any
	if in.Stock != nil {
		stock = *in.Stock
	}
	var it MallItem
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		tpl = nil
		if in.Kind == CouponItem {
			t, err := templateTx(tx, in.Template)
			if errors.Is(err, ErrTemplateNotFound) {
				return ErrTemplateNotFound.Withf("template: no coupon template %q", in.Template).With("field", "template")
			}
			if err != nil {
				return err
			}
			tpl = t.id
		}
		now := s.now().UnixMilli()
		var id int64
		err := tx.QueryRow(`INSERT INTO mall_items (code, name, kind, points, template_id, stock, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
			in.Code, in.Name, string(in.Kind), in.Points, tpl, stock, !in.Inactive, now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDuplicateCode.Withf("code: mall item %s exists", in.Code).With("field", "code")
		}
		if err != nil {
			return fmt.Errorf("coupons: create mall item %s: %w", in.Code, err)
		}
		if it, err = scanItem(tx.QueryRow(`SELECT `+itemCols+itemFrom+` WHERE i.id = ?`, id)); err != nil {
			return fmt.Errorf("coupons: create mall item %s: %w", in.Code, err)
		}
		return s.ob.Append(tx, "mall.item_changed", it.Code, it)
	})
	return it, err
}

// MallItem returns a mall item by code.
func (s *Service) MallItem(ctx context.Context, code string) (MallItem, error) {
	it, err := scanItem(s.db.QueryRow(ctx, `SELECT `+itemCols+itemFrom+` WHERE i.code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return it, ErrItemNotFound.Withf("no mall item %q", code)
	}
	if err != nil {
		return it, fmt.Errorf("coupons: mall item %s: %w", code, err)
	}
	return it, nil
}

// ItemFilter selects mall items.
type ItemFilter struct {
	Active *bool  `query:"active"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor string `query:"cursor" description:"from next_cursor"`
}

// ListMallItems pages through the mall's items by code.
func (s *Service) ListMallItems(ctx context.Context, f ItemFilter) ([]MallItem, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where, args := "i.code > ?", []any{f.Cursor}
	if f.Active != nil {
		where, args = where+" AND i.active = ?", append(args, *f.Active)
	}
	items, err := db.Collect(scanItem)(s.db.Query(ctx, `SELECT `+itemCols+itemFrom+` WHERE `+where+` ORDER BY i.code LIMIT ?`, append(args, f.Limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("coupons: list mall items: %w", err)
	}
	nextCur := ""
	if len(items) == f.Limit {
		nextCur = items[len(items)-1].Code
	}
	return items, nextCur, nil
}

// UpdateMallItem renames, reprices, pauses or restocks an item. Stock is
// changed by one conditional statement and never goes below zero (409
// mall_out_of_stock).
func (s *Service) UpdateMallItem(ctx context.Context, code string, p MallItemPatch) (MallItem, error) {
	var v errs.Validator
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		p.Name = &n
		if v.Required(n, "name") {
			v.Check(utf8.RuneCountInString(n) <= 100, "name", "too_long", "must be at most 100 characters")
		}
	}
	if p.Points != nil {
		v.Range(*p.Points, 1, 100_000_000, "points")
	}
	if err := v.Err(); err != nil {
		return MallItem{}, err
	}
	var it MallItem
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := scanItem(tx.QueryRow(`SELECT `+itemCols+itemFrom+` WHERE i.code = ?`, code))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrItemNotFound.Withf("no mall item %q", code)
		}
		if err != nil {
			return fmt.Errorf("coupons: mall item %s: %w", code, err)
		}
		if p.AddStock != nil && cur.Stock == nil {
			return invalid("add_stock", "item %s has no stock of its own", code)
		}
		set, args := []string{"updated_at = ?"}, []any{s.now().UnixMilli()}
		if p.Name != nil {
			set, args = append(set, "name = ?"), append(args, *p.Name)
		}
		if p.Points != nil {
			set, args = append(set, "points = ?"), append(args, *p.Points)
		}
		if p.Active != nil {
			set, args = append(set, "active = ?"), append(args, *p.Active)
		}
		guard := ""
		args = append(args, cur.id)
		if p.AddStock != nil {
			set = append(set, "stock = stock + "+strconv.FormatInt(*p.AddStock, 10))
			guard = " AND stock + ? >= 0"
			args = append(args, *p.AddStock)
		}
		res, err := tx.Exec(`UPDATE mall_items SET `+strings.Join(set, ", ")+` WHERE id = ?`+guard, args...)
		if err != nil {
			return fmt.Errorf("coupons: update mall item %s: %w", code, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrOutOfStock.Withf("add_stock: item %s has fewer than %d units", code, -*p.AddStock).With("field", "add_stock")
		}
		if it, err = scanItem(tx.QueryRow(`SELECT `+itemCols+itemFrom+` WHERE i.id = ?`, cur.id)); err != nil {
			return fmt.Errorf("coupons: update mall item %s: %w", code, err)
		}
		return s.ob.Append(tx, "mall.item_changed", it.Code, it)
	})
	return it, err
}

// Redeem spends a member's points on qty units of a mall item, in one
// transaction: the stock is taken by one conditional UPDATE (409
// mall_out_of_stock), the points are spent through the members module (409
// insufficient_points), and a coupon item's coupons are issued. Any refusal
// leaves everything as it was.
func (s *Service) Redeem(ctx context.Context, item string, in RedeemRequest) (Redemption, error) {
	var v errs.Validator
	v.Check(in.MemberID > 0, "member_id", "required", "must be a member id")
	if in.Qty == 0 {
		in.Qty = 1
	}
	v.Range(in.Qty, 1, 10, "qty")
	if err := v.Err(); err != nil {
		return Redemption{}, err
	}
	it, err := s.MallItem(ctx, item)
	if err != nil {
		return Redemption{}, err
	}
	var store *network.Location
	switch it.Kind {
	case CouponItem:
		v.Check(in.Delivery == "" || in.Delivery == "coupon", "delivery", "not_allowed", "a coupon item is issued at once")
		v.Check(in.Store == "" && in.Address == "", "delivery", "not_allowed", "a coupon item takes no store or address")
		in.Delivery = "coupon"
	case GiftItem:
		switch in.Delivery {
		case "store":
			v.Required(in.Store, "store")
			v.Check(in.Address == "", "address", "not_allowed", "collection at a store takes no address")
		case "delivery":
			in.Address = strings.TrimSpace(in.Address)
			if v.Required(in.Address, "address") {
				v.Check(len(in.Address) <= 300, "address", "too_long", "must be at most 300 bytes")
			}
			v.Check(in.Store == "", "store", "not_allowed", "a delivered gift takes no store")
		default:
			v.Add("delivery", "one_of", "a gift is collected at a store or delivered: give store or delivery")
		}
	}
	if err := v.Err(); err != nil {
		return Redemption{}, err
	}
	if in.Delivery == "store" {
		l, err := s.net.Location(ctx, in.Store)
		if errors.Is(err, network.ErrLocationNotFound) {
			return Redemption{}, errs.E(errs.NotFound, "location_not_found", "store: no location %q", in.Store).With("field", "store")
		}
		if err != nil {
			return Redemption{}, err
		}
		if l.Kind != network.Store || !l.Active {
			return Redemption{}, errs.E(errs.Invalid, "not_a_store", "store: %s is not an open store", l.Code).With("field", "store")
		}
		store = &l
	}
	if err := s.memberExists(ctx, "member_id", in.MemberID); err != nil {
		return Redemption{}, err
	}
	var out Redemption
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		at := now.UnixMilli()
		// The stock: one conditional statement (NULL stock is unlimited).
		var points int64
		var stock sql.NullInt64
		err := tx.QueryRow(`UPDATE mall_items SET stock = stock - ?, redeemed = redeemed + ?, updated_at = ?
			WHERE id = ? AND active = TRUE AND (stock IS NULL OR stock >= ?) RETURNING points, stock`,
			in.Qty, in.Qty, at, it.id, in.Qty).Scan(&points, &stock)
		if errors.Is(err, sql.ErrNoRows) {
			cur, err := scanItem(tx.QueryRow(`SELECT `+itemCols+itemFrom+` WHERE i.id = ?`, it.id))
			if err != nil {
				return fmt.Errorf("coupons: redeem %s: %w", item, err)
			}
			if !cur.Active {
				return ErrItemInactive.Withf("mall item %s is not on offer", item)
			}
			left := int64(0)
			if cur.Stock != nil {
				left = *cur.Stock
			}
			return ErrOutOfStock.Withf("qty: %d of %s wanted, %d left", in.Qty, item, left).With("field", "qty").With("available", left)
		}
		if err != nil {
			return fmt.Errorf("coupons: redeem %s: %w", item, err)
		}
		total := points * in.Qty
		status := "pending"
		if it.Kind == CouponItem {
			status = "issued"
		}
		var storeID any
		if store != nil {
			storeID = store.ID
		}
		var id int64
		if err := tx.QueryRow(`INSERT INTO mall_redemptions (item_id, member_id, qty, points, delivery, store_id, address, status, actor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			it.id, in.MemberID, in.Qty, total, in.Delivery, storeID, in.Address, status, auth.Actor(tx.Context()), at, at).Scan(&id); err != nil {
			return fmt.Errorf("coupons: redeem %s: %w", item, err)
		}
		source := "mall:" + strconv.FormatInt(id, 10)
		if err := s.members.SpendPointsTx(tx, in.MemberID, total, source, fmt.Sprintf("points mall: %d × %s", in.Qty, it.Code)); err != nil {
			return err
		}
		out = Redemption{ID: id, Item: it.Code, Kind: it.Kind, MemberID: in.MemberID, Qty: in.Qty, Points: total, Delivery: in.Delivery,
			Address: in.Address, Status: status, CreatedAt: ms(at), UpdatedAt: ms(at)}
		if store != nil {
			out.Store = store.Code
		}
		if it.Kind == CouponItem {
			t, err := scanTemplate(tx.QueryRow(`SELECT `+templateCols+` FROM coupon_templates WHERE id = ?`, it.templateID))
			if err != nil {
				return fmt.Errorf("coupons: redeem %s: template: %w", item, err)
			}
			for k := range in.Qty {
				c, _, err := s.issueTx(tx, t, in.MemberID, fmt.Sprintf("%s:%d", source, k+1), now)
				if err != nil {
					return err
				}
				out.Coupons = append(out.Coupons, c.Code)
			}
			codes, _ := json.Marshal(out.Coupons)
			if err := tx.Defer(`UPDATE mall_redemptions SET coupon_codes = ? WHERE id = ?`, string(codes), id); err != nil {
				return err
			}
		}
		return s.ob.Append(tx, "mall.redeemed", strconv.FormatInt(id, 10), out)
	})
	return out, err
}

const redemptionCols = `r.id, i.code, i.kind, r.member_id, r.qty, r.points, r.delivery, r.store_id, r.address, r.status, r.coupon_codes, r.note,
	r.created_at, r.updated_at, r.item_id`

// redemptionRow is a redemption as stored (the store by id).
type redemptionRow struct {
	Redemption
	itemID  int64
	storeID sql.NullInt64
}

func scanRedemption(sc db.Scanner) (redemptionRow, error) {
	var r redemptionRow
	var codes string
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.Item, &r.Kind, &r.MemberID, &r.Qty, &r.Points, &r.Delivery, &r.storeID, &r.Address, &r.Status, &codes, &r.Note,
		&created, &updated, &r.itemID); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(codes), &r.Coupons); err != nil {
		return r, fmt.Errorf("coupons: redemption %d coupons: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = ms(created), ms(updated)
	return r, nil
}

// withStore names the collection store.
func (s *Service) withStore(ctx context.Context, r redemptionRow) (Redemption, error) {
	if r.storeID.Valid {
		l, err := s.net.LocationByID(ctx, r.storeID.Int64)
		if err != nil {
			return r.Redemption, fmt.Errorf("coupons: redemption %d store: %w", r.ID, err)
		}
		r.Store = l.Code
	}
	return r.Redemption, nil
}

// Redemption returns a redemption by id.
func (s *Service) Redemption(ctx context.Context, id int64) (Redemption, error) {
	r, err := scanRedemption(s.db.QueryRow(ctx, `SELECT `+redemptionCols+` FROM mall_redemptions r JOIN mall_items i ON i.id = r.item_id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Redemption{}, ErrRedemptionNotFound.Withf("no redemption %d", id)
	}
	if err != nil {
		return Redemption{}, fmt.Errorf("coupons: redemption %d: %w", id, err)
	}
	return s.withStore(ctx, r)
}

// RedemptionFilter selects redemptions.
type RedemptionFilter struct {
	Member int64  `query:"member" description:"a member's id"`
	Status string `query:"status"`
	Store  string `query:"store" description:"collection store code"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor string `query:"cursor" description:"from next_cursor"`
}

// ListRedemptions pages through redemptions, newest first.
func (s *Service) ListRedemptions(ctx context.Context, f RedemptionFilter) ([]Redemption, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where, args := []string{"1 = 1"}, []any{}
	if f.Member > 0 {
		where, args = append(where, "r.member_id = ?"), append(args, f.Member)
	}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.Store != "" {
		l, err := s.net.Location(ctx, f.Store)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "r.store_id = ?"), append(args, l.ID)
	}
	if f.Cursor != "" {
		id, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil {
			return nil, "", invalid("cursor", "not a cursor of this list")
		}
		where, args = append(where, "r.id < ?"), append(args, id)
	}
	rows, err := db.Collect(scanRedemption)(s.db.Query(ctx, `SELECT `+redemptionCols+` FROM mall_redemptions r JOIN mall_items i ON i.id = r.item_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY r.id DESC LIMIT ?`, append(args, f.Limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("coupons: list redemptions: %w", err)
	}
	out := make([]Redemption, len(rows))
	for i, r := range rows {
		if out[i], err = s.withStore(ctx, r); err != nil {
			return nil, "", err
		}
	}
	nextCur := ""
	if len(out) == f.Limit {
		nextCur = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, nextCur, nil
}

// UpdateRedemption moves a gift redemption on (409 redemption_state for a
// move its delivery does not allow). Cancelling returns the stock and
// gives the points back (a new lot, through the members module). Store
// staff act on their own store's collections only.
func (s *Service) UpdateRedemption(ctx context.Context, id int64, in RedemptionUpdate) (Redemption, error) {
	if len(in.Note) > 500 {
		return Redemption{}, invalid("note", "must be at most 500 bytes")
	}
	var out redemptionRow
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		r, err := scanRedemption(tx.QueryRow(`SELECT `+redemptionCols+` FROM mall_redemptions r JOIN mall_items i ON i.id = r.item_id WHERE r.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrRedemptionNotFound.Withf("no redemption %d", id)
		}
		if err != nil {
			return fmt.Errorf("coupons: redemption %d: %w", id, err)
		}
		if r.storeID.Valid {
			if err := auth.RequireLocation(tx.Context(), r.storeID.Int64); err != nil {
				return err
			}
		}
		allowed := redemptionMoves[r.Delivery][r.Status]
		if !slices.Contains(allowed, in.Status) {
			return ErrRedemptionState.Withf("status: a %s redemption that is %s cannot become %s", r.Delivery, r.Status, in.Status).
				With("field", "status").With("state", r.Status).With("allowed", nonNil(allowed))
		}
		at := s.now().UnixMilli()
		note := r.Note
		if in.Note != "" {
			note = in.Note
		}
		// Conditional on the state read: a concurrent move wins or loses whole.
		res, err := tx.Exec(`UPDATE mall_redemptions SET status = ?, note = ?, actor = ?, updated_at = ? WHERE id = ? AND status = ?`,
			in.Status, note, auth.Actor(tx.Context()), at, id, r.Status)
		if err != nil {
			return fmt.Errorf("coupons: redemption %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrRedemptionState.Withf("redemption %d changed meanwhile", id)
		}
		if in.Status == "cancelled" {
			if s.members == nil {
				return errors.New("coupons: the members module is not wired")
			}
			if _, err := tx.Exec(`UPDATE mall_items SET stock = stock + ?, redeemed = redeemed - ?, updated_at = ? WHERE id = ?`, r.Qty, r.Qty, at, r.itemID); err != nil {
				return fmt.Errorf("coupons: redemption %d: return stock: %w", id, err)
			}
			if err := s.members.AwardPointsTx(tx, r.MemberID, r.Points, fmt.Sprintf("mall_cancel:%d", id),
				fmt.Sprintf("points mall redemption %d cancelled", id)); err != nil {
				return err
			}
		}
		r.Status, r.Note, r.UpdatedAt = in.Status, note, ms(at)
		out = r
		return s.ob.Append(tx, "mall.redemption_changed", strconv.FormatInt(id, 10), map[string]any{"member_id": r.MemberID, "item": r.Item, "status": in.Status})
	})
	if err != nil {
		return Redemption{}, err
	}
	return s.withStore(ctx, out)
}

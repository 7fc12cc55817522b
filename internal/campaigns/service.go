package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Catalog is what campaigns need of the catalog module.
type Catalog interface {
	SKURef(ctx context.Context, code string) (catalog.SKURef, error)
	StyleSKURefs(ctx context.Context, styleCode string) ([]catalog.SKURef, error)
}

// Orders is what group buys need of the orders module: placing a member's
// order (with the promotion marker set), cancelling it (refund, stock
// released) and reading it.
type Orders interface {
	Checkout(ctx context.Context, in orders.CheckoutRequest) (orders.Order, error)
	Cancel(ctx context.Context, id int64, in orders.CancelRequest) (orders.Order, error)
	Get(ctx context.Context, id int64) (orders.Order, error)
}

// Members tells whether a member exists.
type Members interface {
	Exists(ctx context.Context, id int64) (bool, error)
}

// Rewarder issues a friend-help reward in tx: a coupon of the template to
// the member, idempotent by source (a second call with the same source
// returns the first coupon). The coupons module's IssueTx is adapted to it
// at wiring.
type Rewarder interface {
	IssueReward(tx *db.Tx, template string, memberID int64, source string) (Reward, error)
}

// RewarderFunc adapts a function to Rewarder.
type RewarderFunc func(tx *db.Tx, template string, memberID int64, source string) (Reward, error)

// IssueReward implements Rewarder.
func (f RewarderFunc) IssueReward(tx *db.Tx, template string, memberID int64, source string) (Reward, error) {
	return f(tx, template, memberID, source)
}

// Service runs group buys and friend-help campaigns.
type Service struct {
	db      *db.DB
	ob      *outbox.Outbox
	cat     Catalog
	ord     Orders
	members Members
	rewards Rewarder
	now     func() time.Time
}

// NewService returns the campaigns service. members and rewards may be nil
// until those modules are wired (SetMembers, SetRewarder): without members
// every member id is unknown, without a rewarder a request cannot
// complete.
func NewService(d *db.DB, ob *outbox.Outbox, cat Catalog, ord Orders, members Members, rewards Rewarder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, ob: ob, cat: cat, ord: ord, members: members, rewards: rewards, now: now}
}

// SetMembers sets the members lookup (call at wiring, before serving).
func (s *Service) SetMembers(m Members) { s.members = m }

// SetRewarder sets the coupon issuer of friend-help rewards (call at
// wiring, before serving).
func (s *Service) SetRewarder(r Rewarder) { s.rewards = r }

// Attach plugs group buys into the orders service: the group_buy price
// step goes before the tier discount (before shipping when there is no
// tier discount step), and the order hooks are registered. Call it once at
// wiring, before serving.
func (s *Service) Attach(o *orders.Service) {
	before := "shipping"
	if slices.Contains(o.Pricing.Steps(), "tier_discount") {
		before = "tier_discount"
	}
	o.Pricing.InsertBefore(before, PriceStep{s: s})
	o.AddLoyalty(Hooks{s: s})
	o.AddGate(Hooks{s: s})
}

// memberExists refuses an unknown member with a 404 naming field.
func (s *Service) memberExists(ctx context.Context, id int64, field string) error {
	ok := false
	if s.members != nil && id > 0 {
		var err error
		if ok, err = s.members.Exists(ctx, id); err != nil {
			return fmt.Errorf("campaigns: member %d: %w", id, err)
		}
	}
	if !ok {
		return ErrMemberNF.Withf("%s: no member %d", field, id).With("field", field)
	}
	return nil
}

// ── helpers ─────────────────────────────────────────────────────────────

// shanghai is the business time zone.
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// day is the Shanghai business date of t.
func day(t time.Time) string { return t.In(shanghai).Format(time.DateOnly) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMS(*v)
	return &t
}

// listQuery is a newest-first page of cols: the conditions given, the
// status when one is asked for (one of allowed), and the id cursor. It
// checks the paging parameters: limit (default 50, at most 200) and a
// cursor from next_cursor. alias prefixes the status and id columns.
func listQuery(cols, alias string, where []string, args []any, status string, allowed []string, limit *int, cursor string) (string, []any, error) {
	var v errs.Validator
	if status != "" {
		v.OneOf(status, "status", allowed...)
		where, args = append(where, alias+"status = ?"), append(args, status)
	}
	if *limit == 0 {
		*limit = 50
	}
	v.Range(int64(*limit), 1, 200, "limit")
	if cursor != "" {
		c, err := strconv.ParseInt(cursor, 10, 64)
		if v.Check(err == nil && c > 0, "cursor", "invalid", "is not a cursor from next_cursor") {
			where, args = append(where, alias+"id < ?"), append(args, c)
		}
	}
	if err := v.Err(); err != nil {
		return "", nil, err
	}
	q := cols
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + " ORDER BY " + alias + "id DESC LIMIT ?", append(args, *limit+1), nil
}

// cut trims a page fetched with limit+1 rows and returns its next cursor.
func cut[T any](list []T, limit int, id func(T) int64) ([]T, string) {
	if len(list) > limit {
		list = list[:limit]
		return list, strconv.FormatInt(id(list[len(list)-1]), 10)
	}
	return list, ""
}

// validWindow checks a campaign's start (default now) and end.
func validWindow(v *errs.Validator, now time.Time, starts *time.Time, ends time.Time) (time.Time, time.Time) {
	st := now.Truncate(time.Millisecond)
	if starts != nil {
		st = starts.UTC().Truncate(time.Millisecond)
	}
	en := ends.UTC().Truncate(time.Millisecond)
	if v.Check(!ends.IsZero(), "ends_at", "required", "is required") {
		v.Check(en.After(st), "ends_at", "before_start", "must be after starts_at")
		v.Check(en.Sub(st) <= 366*24*time.Hour, "ends_at", "too_long", "must be at most 366 days after starts_at")
		v.Check(en.After(now), "ends_at", "in_the_past", "must be in the future")
	}
	return st, en
}

func validName(v *errs.Validator, name string) {
	if v.Required(name, "name") {
		v.Check(len(name) <= 100, "name", "too_long", "must be at most 100 bytes")
	}
}

func validCode(v *errs.Validator, code string) {
	if v.Required(code, "code") {
		v.Check(errs.ValidCode(code), "code", "invalid_code", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
}

// isState reports whether err is the orders service's refusal of a state
// change (the order has moved on: cancelled already, or shipped).
func isState(err error) bool { return errors.Is(err, orders.ErrState) }

// promotion markers of group orders.
const (
	markerPrefix = "group_buy:"
	markerOpen   = "group_buy:open:"
)

// parseMarker reads a group order's promotion: the deal of a new group
// (open) or the group joined. ok is false for any other promotion.
func parseMarker(p string) (deal, group int64, ok bool) {
	if !strings.HasPrefix(p, markerPrefix) {
		return 0, 0, false
	}
	if rest, found := strings.CutPrefix(p, markerOpen); found {
		id, err := strconv.ParseInt(rest, 10, 64)
		return id, 0, err == nil && id > 0
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(p, markerPrefix), 10, 64)
	return 0, id, err == nil && id > 0
}

package coupons

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// window is the validity of a coupon of t issued at now: from the issue
// (or the template's start, if later) until the template's end or the end
// of the valid_days-th business day (Asia/Shanghai) counting the day it
// becomes usable, whichever is first. ok is false when the window is
// empty (the template's validity is over).
func (t Template) window(now time.Time) (from, until time.Time, ok bool) {
	from = now.UTC()
	if t.ValidFrom != nil && t.ValidFrom.After(from) {
		from = t.ValidFrom.UTC()
	}
	if t.ValidDays > 0 {
		d := from.In(network.Shanghai)
		until = time.Date(d.Year(), d.Month(), d.Day()+t.ValidDays, 0, 0, 0, 0, network.Shanghai).UTC()
	}
	if t.ValidUntil != nil && (until.IsZero() || t.ValidUntil.Before(until)) {
		until = t.ValidUntil.UTC()
	}
	return from, until, from.Before(until)
}

// codeAlphabet has no 0/O or 1/I: codes are read out at tills.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newCode draws a random 12-character coupon code (60 bits).
func newCode() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// MaxSourceLen is the longest issue source.
const MaxSourceLen = 100

// IssueTx issues a coupon of the template (by code) to a member inside
// the caller's transaction, for other modules (the members module's
// birthday gift, a campaign's reward). With a source it is idempotent: the
// same template, member and source return the coupon issued the first time
// (even if it was used since). The template must be active and within its
// validity, and its limits hold (409 coupon_limit_reached,
// coupon_member_limit_reached); the member's tier is not checked (the
// caller decides). The member must exist (a foreign key).
func (s *Service) IssueTx(tx *db.Tx, template string, memberID int64, source string) (Coupon, error) {
	if len(source) > MaxSourceLen || !utf8.ValidString(source) {
		return Coupon{}, fmt.Errorf("coupons: issue %s: source longer than %d bytes", template, MaxSourceLen)
	}
	t, err := templateTx(tx, template)
	if err != nil {
		return Coupon{}, err
	}
	c, _, err := s.issueTx(tx, t, memberID, source, s.now())
	return c, err
}

// issueTx issues one coupon of t to member in tx; fresh is false when the
// source had issued it already. A refusal leaves tx as it was.
func (s *Service) issueTx(tx *db.Tx, t Template, member int64, source string, now time.Time) (c Coupon, fresh bool, err error) {
	if source != "" {
		c, err = scanCoupon(tx.QueryRow(`SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id
			WHERE c.template_id = ? AND c.member_id = ? AND c.source = ?`, t.id, member, source))
		if err == nil {
			return c.present(now), false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return c, false, fmt.Errorf("coupons: issue %s: %w", t.Code, err)
		}
	}
	if !t.Active {
		return c, false, ErrTemplateInactive.Withf("coupon template %s is paused", t.Code)
	}
	from, until, ok := t.window(now)
	if !ok {
		return c, false, ErrTemplateOver.Withf("coupon template %s was valid until %s", t.Code, until.Format(time.RFC3339))
	}
	// The total limit: one conditional statement (Exec also sends the
	// caller's deferred statements first, such as a new member row).
	res, err := tx.Exec(`UPDATE coupon_templates SET issued = issued + 1 WHERE id = ? AND (total_limit = 0 OR issued < total_limit)`, t.id)
	if err != nil {
		return c, false, fmt.Errorf("coupons: issue %s: count: %w", t.Code, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c, false, ErrExhausted.Withf("all %d coupons of %s have been issued", t.TotalLimit, t.Code).With("total_limit", t.TotalLimit)
	}
	uncount := func(both bool) error {
		if _, err := tx.Exec(`UPDATE coupon_templates SET issued = issued - 1 WHERE id = ?`, t.id); err != nil {
			return err
		}
		if both {
			_, err := tx.Exec(`UPDATE coupon_member_counts SET issued = issued - 1 WHERE template_id = ? AND member_id = ?`, t.id, member)
			return err
		}
		return nil
	}
	// The per-member limit: one conditional upsert.
	var held int64
	err = tx.QueryRow(`INSERT INTO coupon_member_counts (template_id, member_id, issued) VALUES (?, ?, 1)
		ON CONFLICT (template_id, member_id) DO UPDATE SET issued = coupon_member_counts.issued + 1
		WHERE ? = 0 OR coupon_member_counts.issued < ? RETURNING issued`, t.id, member, t.PerMember, t.PerMember).Scan(&held)
	if errors.Is(err, sql.ErrNoRows) {
		if err := uncount(false); err != nil {
			return c, false, fmt.Errorf("coupons: issue %s: %w", t.Code, err)
		}
		return c, false, ErrMemberLimit.Withf("member %d holds the %d coupons of %s allowed", member, t.PerMember, t.Code).With("per_member", t.PerMember)
	}
	if err != nil {
		return c, false, fmt.Errorf("coupons: issue %s: member count: %w", t.Code, err)
	}
	var src any
	if source != "" {
		src = source
	}
	at := now.UnixMilli()
	code := newCode()
	err = tx.QueryRow(`INSERT INTO coupons (code, template_id, member_id, status, source, valid_from, valid_until, issued_at, updated_at)
		VALUES (?, ?, ?, 'available', ?, ?, ?, ?, ?) ON CONFLICT (template_id, member_id, source) DO NOTHING RETURNING id`,
		code, t.id, member, src, from.UnixMilli(), until.UnixMilli(), at, at).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		// A concurrent issue with the same source won: give its coupon.
		if err := uncount(true); err != nil {
			return c, false, fmt.Errorf("coupons: issue %s: %w", t.Code, err)
		}
		c, err = scanCoupon(tx.QueryRow(`SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id
			WHERE c.template_id = ? AND c.member_id = ? AND c.source = ?`, t.id, member, source))
		if err != nil {
			return c, false, fmt.Errorf("coupons: issue %s: %w", t.Code, err)
		}
		return c.present(now), false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("coupons: issue %s to member %d: %w", t.Code, member, err)
	}
	c = Coupon{ID: c.ID, Code: code, Template: t.Code, Name: t.Name, Terms: t.Terms, Stackable: t.Stackable, MemberID: member,
		Status: Available, Source: source, ValidFrom: from, ValidUntil: until, IssuedAt: ms(at), UpdatedAt: ms(at)}
	if err := s.ob.Append(tx, "coupons.issued", code, issuedEvent{Template: t.Code, MemberID: member, Source: source,
		ValidFrom: from, ValidUntil: until}); err != nil {
		return c, false, err
	}
	return c, true, nil
}

type issuedEvent struct {
	Template   string    `json:"template"`
	MemberID   int64     `json:"member_id"`
	Source     string    `json:"source,omitempty"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
}

// IssueRequest issues coupons of a template to members.
type IssueRequest struct {
	Members []int64 `json:"members" required:"true" minItems:"1" maxItems:"1000" description:"member ids"`
	// Source makes the issue idempotent: a member issued a coupon of the
	// template by this source before gets that coupon again, not another.
	Source string `json:"source" required:"true" description:"batch key, e.g. spring-2026-vip: repeating it issues nothing new"`
}

// IssueResult is what a bulk issue did, member by member.
type IssueResult struct {
	Issued   int         `json:"issued" description:"new coupons"`
	Repeated int         `json:"repeated" description:"issued before by the same source"`
	Refused  int         `json:"refused"`
	Items    []IssueItem `json:"items"`
}

// IssueItem is one member's outcome.
type IssueItem struct {
	MemberID int64   `json:"member_id"`
	Coupon   *Coupon `json:"coupon,omitempty"`
	New      bool    `json:"new"`
	Refused  string  `json:"refused,omitempty" description:"the refusal's code, e.g. coupon_limit_reached"`
	Detail   string  `json:"detail,omitempty"`
}

// MaxBulk is the most members one issue request names.
const MaxBulk = 1000

// Issue issues one coupon of the template to each member, in one
// transaction, idempotent by the source. Members over the template's
// limits are refused one by one (the others still get theirs); an unknown
// member fails the whole request (404 naming the field).
func (s *Service) Issue(ctx context.Context, template string, in IssueRequest) (IssueResult, error) {
	var v errs.Validator
	v.Check(len(in.Members) >= 1 && len(in.Members) <= MaxBulk, "members", "count", fmt.Sprintf("give 1 to %d member ids", MaxBulk))
	in.Source = strings.TrimSpace(in.Source)
	if v.Required(in.Source, "source") {
		v.Check(len(in.Source) <= MaxSourceLen-6, "source", "too_long", fmt.Sprintf("must be at most %d bytes", MaxSourceLen-6))
	}
	seen := make(map[int64]bool, len(in.Members))
	for i, id := range in.Members {
		f := fmt.Sprintf("members[%d]", i)
		v.Check(id > 0, f, "out_of_range", "must be a member id")
		v.Check(!seen[id], f, "duplicate", "appears twice")
		seen[id] = true
	}
	if err := v.Err(); err != nil {
		return IssueResult{}, err
	}
	for i, id := range in.Members {
		if err := s.memberExists(ctx, fmt.Sprintf("members[%d]", i), id); err != nil {
			return IssueResult{}, err
		}
	}
	source := "batch:" + in.Source
	var out IssueResult
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		out = IssueResult{Items: make([]IssueItem, 0, len(in.Members))}
		t, err := templateTx(tx, template)
		if err != nil {
			return err
		}
		now := s.now()
		for _, id := range in.Members {
			c, fresh, err := s.issueTx(tx, t, id, source, now)
			it := IssueItem{MemberID: id, New: fresh}
			var e *errs.Error
			switch {
			case err == nil:
				it.Coupon = &c
				if fresh {
					out.Issued++
				} else {
					out.Repeated++
				}
			case errors.As(err, &e) && (errors.Is(err, ErrExhausted) || errors.Is(err, ErrMemberLimit)):
				it.Refused, it.Detail = e.Code, e.Message
				out.Refused++
			default:
				return err // inactive, expired template, or a failure: nothing is issued
			}
			out.Items = append(out.Items, it)
		}
		return nil
	})
	return out, err
}

// Claim issues a claimable template's coupon to a member who asks for it
// (409 coupon_not_claimable, tier_too_low, coupon_limit_reached,
// coupon_member_limit_reached). Concurrent claims never exceed the limits.
func (s *Service) Claim(ctx context.Context, template string, memberID int64) (Coupon, error) {
	if memberID <= 0 {
		return Coupon{}, invalid("member_id", "must be a member id")
	}
	t, err := s.Template(ctx, template)
	if err != nil {
		return Coupon{}, err
	}
	if !t.Claimable {
		return Coupon{}, ErrNotClaimable.Withf("coupon template %s is issued by staff only", t.Code)
	}
	if err := s.memberExists(ctx, "member_id", memberID); err != nil {
		return Coupon{}, err
	}
	if t.MinTier > 0 {
		lvl, err := s.members.Level(ctx, memberID)
		if err != nil {
			return Coupon{}, fmt.Errorf("coupons: member %d tier: %w", memberID, err)
		}
		if lvl < t.MinTier {
			return Coupon{}, ErrTierTooLow.Withf("coupon %s is for tier %d and up; member %d is tier %d", t.Code, t.MinTier, memberID, lvl).
				With("min_tier", t.MinTier).With("tier", lvl)
		}
	}
	var c Coupon
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		t, err := templateTx(tx, template) // fresh: state and limits as of now
		if err != nil {
			return err
		}
		if !t.Claimable {
			return ErrNotClaimable.Withf("coupon template %s is issued by staff only", t.Code)
		}
		c, _, err = s.issueTx(tx, t, memberID, "", s.now())
		return err
	})
	return c, err
}

// ── reading ─────────────────────────────────────────────────────────────

const couponCols = `c.id, c.code, t.code, t.name, t.kind, t.amount_off, t.percent_off, t.max_off, t.min_spend, t.scope, t.scope_values,
	t.stackable, c.member_id, c.status, c.source, c.valid_from, c.valid_until, c.order_id, c.used_at, c.issued_at, c.updated_at`

func scanCoupon(sc db.Scanner) (Coupon, error) {
	var c Coupon
	var values string
	var source sql.NullString
	var order, used sql.NullInt64
	var from, until, issued, updated int64
	err := sc.Scan(&c.ID, &c.Code, &c.Template, &c.Name, &c.Kind, &c.AmountOff, &c.PercentOff, &c.MaxOff, &c.MinSpend, &c.Scope, &values,
		&c.Stackable, &c.MemberID, &c.Status, &source, &from, &until, &order, &used, &issued, &updated)
	if err != nil {
		return c, err
	}
	if err := c.setScope(values); err != nil {
		return c, err
	}
	c.Source = source.String
	c.ValidFrom, c.ValidUntil, c.IssuedAt, c.UpdatedAt = ms(from), ms(until), ms(issued), ms(updated)
	if order.Valid {
		c.OrderID = &order.Int64
	}
	c.UsedAt = msPtr(used)
	return c, nil
}

// present reports an available coupon past its validity as expired.
func (c Coupon) present(now time.Time) Coupon {
	if c.Status == Available && !now.Before(c.ValidUntil) {
		c.Status = Expired
	}
	return c
}

// Coupon returns a coupon by code.
func (s *Service) Coupon(ctx context.Context, code string) (Coupon, error) {
	c, err := scanCoupon(s.db.QueryRow(ctx, `SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id WHERE c.code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrCouponNotFound.Withf("no coupon %q", code)
	}
	if err != nil {
		return c, fmt.Errorf("coupons: coupon %s: %w", code, err)
	}
	return c.present(s.now()), nil
}

// CouponFilter selects a member's coupons.
type CouponFilter struct {
	State  string `query:"state" enum:"available,used,expired,revoked" description:"default: all"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor string `query:"cursor" description:"from next_cursor"`
}

// MemberCoupons pages through a member's coupons, newest first. State
// available means usable now or later; expired includes available coupons
// past their validity.
func (s *Service) MemberCoupons(ctx context.Context, memberID int64, f CouponFilter) ([]Coupon, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	if err := s.memberExists(ctx, "id", memberID); err != nil {
		return nil, "", err
	}
	now := s.now()
	where, args := []string{"c.member_id = ?"}, []any{memberID}
	switch f.State {
	case "":
	case "available":
		where, args = append(where, "c.status = 'available' AND c.valid_until > ?"), append(args, now.UnixMilli())
	case "expired":
		where, args = append(where, "(c.status = 'expired' OR (c.status = 'available' AND c.valid_until <= ?))"), append(args, now.UnixMilli())
	case "used", "revoked":
		where, args = append(where, "c.status = ?"), append(args, f.State)
	default:
		return nil, "", invalid("state", "must be one of available, used, expired, revoked")
	}
	if f.Cursor != "" {
		id, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil {
			return nil, "", invalid("cursor", "not a cursor of this list")
		}
		where, args = append(where, "c.id < ?"), append(args, id)
	}
	args = append(args, f.Limit)
	cs, err := db.Collect(scanCoupon)(s.db.Query(ctx, `SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY c.id DESC LIMIT ?`, args...))
	if err != nil {
		return nil, "", fmt.Errorf("coupons: member %d coupons: %w", memberID, err)
	}
	for i := range cs {
		cs[i] = cs[i].present(now)
	}
	next := ""
	if len(cs) == f.Limit {
		next = strconv.FormatInt(cs[len(cs)-1].ID, 10)
	}
	return cs, next, nil
}

// ── revoking ────────────────────────────────────────────────────────────

// RevokeRequest revokes a coupon.
type RevokeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Revoke withdraws an unused coupon (409 coupon_used for a used one, with
// the other states as their own reasons).
func (s *Service) Revoke(ctx context.Context, code string, in RevokeRequest) (Coupon, error) {
	if len(in.Reason) > 500 {
		return Coupon{}, invalid("reason", "must be at most 500 bytes")
	}
	var c Coupon
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now().UnixMilli()
		var id int64
		err := tx.QueryRow(`UPDATE coupons SET status = 'revoked', updated_at = ? WHERE code = ? AND status = 'available' RETURNING id`, now, code).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("coupons: revoke %s: %w", code, err)
		}
		c, err = scanCoupon(tx.QueryRow(`SELECT `+couponCols+` FROM coupons c JOIN coupon_templates t ON t.id = c.template_id WHERE c.code = ?`, code))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrCouponNotFound.Withf("no coupon %q", code)
		}
		if err != nil {
			return fmt.Errorf("coupons: revoke %s: %w", code, err)
		}
		if id == 0 {
			switch c.Status {
			case Used:
				return ErrUsed.Withf("coupon %s was used by order %d", code, *c.OrderID).With("order_id", *c.OrderID)
			case Revoked:
				return ErrRevoked.Withf("coupon %s is revoked already", code)
			}
			return ErrExpired.Withf("coupon %s expired", code)
		}
		return s.ob.Append(tx, "coupons.revoked", code, map[string]any{"member_id": c.MemberID, "template": c.Template, "reason": in.Reason})
	})
	return c, err
}

// sortedUnique returns the distinct strings of xs in order.
func sortedUnique(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// MergeTx moves every coupon of member from to member into, inside the
// members module's merge transaction, with the per-member counts (the
// survivor may then hold more than a template's per-member limit). A
// coupon whose source the survivor was also issued by keeps its source
// suffixed with ":from:<from>", so idempotency by source still holds.
func (s *Service) MergeTx(tx *db.Tx, from, into int64) error {
	if from == into {
		return fmt.Errorf("coupons: merge member %d into itself", from)
	}
	at := s.now().UnixMilli()
	if _, err := tx.Exec(`UPDATE coupons SET member_id = ?, updated_at = ?,
			source = CASE WHEN source IS NOT NULL AND EXISTS (SELECT 1 FROM coupons d
				WHERE d.template_id = coupons.template_id AND d.member_id = ? AND d.source = coupons.source)
				THEN source || ? ELSE source END
		WHERE member_id = ?`, into, at, into, ":from:"+strconv.FormatInt(from, 10), from); err != nil {
		return fmt.Errorf("coupons: merge coupons of %d into %d: %w", from, into, err)
	}
	if _, err := tx.Exec(`INSERT INTO coupon_member_counts (template_id, member_id, issued)
			SELECT template_id, ?, issued FROM coupon_member_counts WHERE member_id = ?
		ON CONFLICT (template_id, member_id) DO UPDATE SET issued = coupon_member_counts.issued + excluded.issued`, into, from); err != nil {
		return fmt.Errorf("coupons: merge coupon counts of %d into %d: %w", from, into, err)
	}
	if _, err := tx.Exec(`DELETE FROM coupon_member_counts WHERE member_id = ?`, from); err != nil {
		return fmt.Errorf("coupons: merge coupon counts of %d into %d: %w", from, into, err)
	}
	return s.ob.Append(tx, "coupons.merged", strconv.FormatInt(into, 10), map[string]int64{"from": from, "into": into})
}

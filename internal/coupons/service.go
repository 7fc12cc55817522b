package coupons

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Members is what coupons need of the members module: that a member
// exists, its tier level (0..4), and its points (the mall). SpendPointsTx
// fails with the members module's 409 insufficient_points; both points
// calls are idempotent by source.
type Members interface {
	Exists(ctx context.Context, id int64) (bool, error)
	Level(ctx context.Context, memberID int64) (int, error)
	SpendPointsTx(tx *db.Tx, memberID, points int64, source, reason string) error
	AwardPointsTx(tx *db.Tx, memberID, points int64, source, reason string) error
}

// Locations is what the mall needs of the network module (collection
// stores).
type Locations interface {
	Location(ctx context.Context, code string) (network.Location, error)
	LocationByID(ctx context.Context, id int64) (network.Location, error)
}

// Errors of the module (matched with errors.Is by kind and code).
var (
	ErrTemplateNotFound = errs.New(errs.NotFound, "coupon_template_not_found", "no such coupon template")
	ErrCouponNotFound   = errs.New(errs.NotFound, "coupon_not_found", "no such coupon")
	ErrMemberNotFound   = errs.New(errs.NotFound, "member_not_found", "no such member")
	ErrDuplicateCode    = errs.New(errs.Conflict, "duplicate_code", "the code is taken")
	ErrTemplateInactive = errs.New(errs.Conflict, "coupon_template_inactive", "the coupon template is paused")
	ErrTemplateOver     = errs.New(errs.Conflict, "coupon_template_expired", "the coupon template's validity is over")
	ErrNotClaimable     = errs.New(errs.Conflict, "coupon_not_claimable", "members cannot claim this coupon")
	ErrTierTooLow       = errs.New(errs.Conflict, "tier_too_low", "the member's tier is below the coupon's")
	ErrExhausted        = errs.New(errs.Conflict, "coupon_limit_reached", "every coupon of the template has been issued")
	ErrMemberLimit      = errs.New(errs.Conflict, "coupon_member_limit_reached", "the member holds as many of these coupons as allowed")
	ErrNotYours         = errs.New(errs.Conflict, "coupon_not_yours", "the coupon belongs to another member")
	ErrUsed             = errs.New(errs.Conflict, "coupon_used", "the coupon has been used")
	ErrExpired          = errs.New(errs.Conflict, "coupon_expired", "the coupon has expired")
	ErrRevoked          = errs.New(errs.Conflict, "coupon_revoked", "the coupon was revoked")
	ErrNotStarted       = errs.New(errs.Conflict, "coupon_not_started", "the coupon is not valid yet")
	ErrThreshold        = errs.New(errs.Invalid, "coupon_threshold_not_met", "the eligible goods are below the coupon's threshold")
	ErrNotApplicable    = errs.New(errs.Invalid, "coupon_not_applicable", "the coupon does not apply to this order")
	ErrNotStackable     = errs.New(errs.Invalid, "coupon_not_stackable", "the coupons cannot be combined")
)

// Service runs coupon templates, coupons and the points mall.
type Service struct {
	db      *db.DB
	ob      *outbox.Outbox
	net     Locations
	now     func() time.Time
	members Members
}

// NewService returns the coupons service. Members are set with SetMembers
// at wiring (the members module is built separately).
func NewService(d *db.DB, ob *outbox.Outbox, net Locations, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, ob: ob, net: net, now: now}
}

// SetMembers wires the members module. Call it at wiring, before serving.
func (s *Service) SetMembers(m Members) { s.members = m }

// memberExists checks a member id, as a field error.
func (s *Service) memberExists(ctx context.Context, field string, id int64) error {
	if s.members == nil {
		return errors.New("coupons: the members module is not wired")
	}
	ok, err := s.members.Exists(ctx, id)
	if err != nil {
		return fmt.Errorf("coupons: member %d: %w", id, err)
	}
	if !ok {
		return ErrMemberNotFound.Withf("%s: no member %d", field, id).With("field", field)
	}
	return nil
}

// ── templates ───────────────────────────────────────────────────────────

const templateCols = `id, code, name, kind, amount_off, percent_off, max_off, min_spend, scope, scope_values, valid_from, valid_until,
	valid_days, per_member, total_limit, issued, claimable, min_tier, stackable, active, created_at, updated_at`

func scanTemplate(sc db.Scanner) (Template, error) {
	var t Template
	var values string
	var from, until sql.NullInt64
	var created, updated int64
	err := sc.Scan(&t.id, &t.Code, &t.Name, &t.Kind, &t.AmountOff, &t.PercentOff, &t.MaxOff, &t.MinSpend, &t.Scope, &values,
		&from, &until, &t.ValidDays, &t.PerMember, &t.TotalLimit, &t.Issued, &t.Claimable, &t.MinTier, &t.Stackable, &t.Active, &created, &updated)
	if err != nil {
		return t, err
	}
	if err := t.setScope(values); err != nil {
		return t, err
	}
	t.ValidFrom, t.ValidUntil = msPtr(from), msPtr(until)
	t.CreatedAt, t.UpdatedAt = ms(created), ms(updated)
	return t, nil
}

// setScope fills the scope lists from their stored JSON.
func (t *Terms) setScope(values string) error {
	var vs []string
	if err := json.Unmarshal([]byte(values), &vs); err != nil {
		return fmt.Errorf("coupons: scope values: %w", err)
	}
	switch t.Scope {
	case ScopeCategories:
		t.Categories = vs
	case ScopeStyles:
		t.Styles = vs
	}
	return nil
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func msPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := ms(v.Int64)
	return &t
}

func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// CreateTemplate creates a coupon template (409 duplicate_code).
func (s *Service) CreateTemplate(ctx context.Context, in NewTemplate) (Template, error) {
	if err := in.validate(); err != nil {
		return Template{}, err
	}
	if in.ValidUntil != nil && !in.ValidUntil.After(s.now()) {
		return Template{}, invalid("valid_until", "%s is past", in.ValidUntil.Format(time.RFC3339))
	}
	values, err := json.Marshal(nonNil(in.scopeValues()))
	if err != nil {
		return Template{}, err
	}
	now := s.now().UnixMilli()
	var t Template
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		t, err = scanTemplate(tx.QueryRow(`INSERT INTO coupon_templates (code, name, kind, amount_off, percent_off, max_off, min_spend, scope, scope_values,
				valid_from, valid_until, valid_days, per_member, total_limit, claimable, min_tier, stackable, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO NOTHING RETURNING `+templateCols,
			in.Code, in.Name, string(in.Kind), in.AmountOff, in.PercentOff, in.MaxOff, in.MinSpend, string(in.Scope), string(values),
			nullMS(in.ValidFrom), nullMS(in.ValidUntil), in.ValidDays, in.PerMember, in.TotalLimit, in.Claimable, in.MinTier, in.Stackable,
			!in.Inactive, now, now))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDuplicateCode.Withf("code: coupon template %s exists", in.Code).With("field", "code")
		}
		if err != nil {
			return fmt.Errorf("coupons: create template %s: %w", in.Code, err)
		}
		return s.ob.Append(tx, "coupons.template_changed", t.Code, t)
	})
	return t, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Template returns a template by code.
func (s *Service) Template(ctx context.Context, code string) (Template, error) {
	t, err := scanTemplate(s.db.QueryRow(ctx, `SELECT `+templateCols+` FROM coupon_templates WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrTemplateNotFound.Withf("no coupon template %q", code)
	}
	if err != nil {
		return t, fmt.Errorf("coupons: template %s: %w", code, err)
	}
	return t, nil
}

// templateTx reads a template by code in tx.
func templateTx(tx *db.Tx, code string) (Template, error) {
	t, err := scanTemplate(tx.QueryRow(`SELECT `+templateCols+` FROM coupon_templates WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrTemplateNotFound.Withf("no coupon template %q", code)
	}
	if err != nil {
		return t, fmt.Errorf("coupons: template %s: %w", code, err)
	}
	return t, nil
}

// TemplateFilter selects templates to list.
type TemplateFilter struct {
	Claimable *bool  `query:"claimable" description:"only claimable (true) or not (false)"`
	Active    *bool  `query:"active"`
	Limit     int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor    string `query:"cursor" description:"from next_cursor"`
}

// ListTemplates pages through templates by code.
func (s *Service) ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where, args := []string{"code > ?"}, []any{f.Cursor}
	if f.Claimable != nil {
		where, args = append(where, "claimable = ?"), append(args, *f.Claimable)
	}
	if f.Active != nil {
		where, args = append(where, "active = ?"), append(args, *f.Active)
	}
	args = append(args, f.Limit)
	ts, err := db.Collect(scanTemplate)(s.db.Query(ctx, `SELECT `+templateCols+` FROM coupon_templates WHERE `+
		strings.Join(where, " AND ")+` ORDER BY code LIMIT ?`, args...))
	if err != nil {
		return nil, "", fmt.Errorf("coupons: list templates: %w", err)
	}
	next := ""
	if len(ts) == f.Limit {
		next = ts[len(ts)-1].Code
	}
	return ts, next, nil
}

// UpdateTemplate changes a template's name, state, claimability, tier,
// limits or end of validity (for coupons issued from then on). The total
// limit may not go below the coupons issued (409 coupon_limit_below_issued).
func (s *Service) UpdateTemplate(ctx context.Context, code string, p TemplatePatch) (Template, error) {
	var v errs.Validator
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		p.Name = &n
		if v.Required(n, "name") {
			v.Check(len([]rune(n)) <= 100, "name", "too_long", "must be at most 100 characters")
		}
	}
	if p.MinTier != nil {
		v.Range(int64(*p.MinTier), 0, 4, "min_tier")
	}
	if p.PerMember != nil {
		v.Range(int64(*p.PerMember), 0, 1000, "per_member")
	}
	if p.TotalLimit != nil {
		v.Check(*p.TotalLimit >= 0, "total_limit", "out_of_range", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return Template{}, err
	}
	now := s.now().UnixMilli()
	var t Template
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := templateTx(tx, code)
		if err != nil {
			return err
		}
		if p.ValidUntil != nil {
			if cur.ValidFrom != nil && !cur.ValidFrom.Before(*p.ValidUntil) {
				return invalid("valid_until", "must be after valid_from %s", cur.ValidFrom.Format(time.RFC3339))
			}
		}
		set, args := []string{"updated_at = ?"}, []any{now}
		add := func(col string, val any) { set, args = append(set, col+" = ?"), append(args, val) }
		if p.Name != nil {
			add("name", *p.Name)
		}
		if p.Active != nil {
			add("active", *p.Active)
		}
		if p.Claimable != nil {
			add("claimable", *p.Claimable)
		}
		if p.MinTier != nil {
			add("min_tier", *p.MinTier)
		}
		if p.PerMember != nil {
			add("per_member", *p.PerMember)
		}
		if p.ValidUntil != nil {
			add("valid_until", p.ValidUntil.UnixMilli())
		}
		guard := ""
		if p.TotalLimit != nil {
			add("total_limit", *p.TotalLimit)
			// One conditional statement: a concurrent issue cannot slip
			// between the check and the change.
			guard = " AND (? = 0 OR issued <= ?)"
		}
		args = append(args, cur.id)
		if p.TotalLimit != nil {
			args = append(args, *p.TotalLimit, *p.TotalLimit)
		}
		t, err = scanTemplate(tx.QueryRow(`UPDATE coupon_templates SET `+strings.Join(set, ", ")+` WHERE id = ?`+guard+` RETURNING `+templateCols, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.Conflict, "coupon_limit_below_issued", "total_limit: %d coupons of %s are issued already", cur.Issued, code).
				With("field", "total_limit").With("issued", cur.Issued)
		}
		if err != nil {
			return fmt.Errorf("coupons: update template %s: %w", code, err)
		}
		return s.ob.Append(tx, "coupons.template_changed", t.Code, t)
	})
	return t, err
}

package coupons

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Kind is what a coupon does.
type Kind string

// The coupon kinds.
const (
	Fixed        Kind = "fixed"         // AmountOff off the eligible goods
	Percent      Kind = "percent"       // PercentOff % off the eligible goods, at most MaxOff (0: no cap)
	Threshold    Kind = "threshold"     // 满减: AmountOff off from MinSpend of eligible goods
	FreeShipping Kind = "free_shipping" // the delivery fee is waived
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Fixed || k == Percent || k == Threshold || k == FreeShipping }

// Discount reports whether k lowers the goods' price.
func (k Kind) Discount() bool { return k == Fixed || k == Percent || k == Threshold }

// Scope is which goods a coupon applies to.
type Scope string

// The scopes.
const (
	ScopeAll        Scope = "all"
	ScopeCategories Scope = "categories" // styles of these catalog categories
	ScopeStyles     Scope = "styles"     // these style codes
)

// Status is the stored state of a coupon.
type Status string

// The coupon states. An available coupon past its validity is reported as
// expired.
const (
	Available Status = "available"
	Used      Status = "used"
	Expired   Status = "expired"
	Revoked   Status = "revoked"
)

// Terms are what a coupon of a template does (fixed at creation).
type Terms struct {
	Kind       Kind     `json:"kind" required:"true" enum:"fixed,percent,threshold,free_shipping"`
	AmountOff  int64    `json:"amount_off,omitempty" minimum:"0" description:"fen off (fixed, threshold)"`
	PercentOff int      `json:"percent_off,omitempty" minimum:"0" maximum:"99" description:"percent off (percent): 15 is 8.5折"`
	MaxOff     int64    `json:"max_off,omitempty" minimum:"0" description:"percent: at most this many fen off; 0 = no cap"`
	MinSpend   int64    `json:"min_spend,omitempty" minimum:"0" description:"fen of eligible goods needed (the threshold of 满减); 0 = none"`
	Scope      Scope    `json:"scope" enum:"all,categories,styles" description:"default all"`
	Categories []string `json:"categories,omitempty" description:"scope categories: catalog category labels"`
	Styles     []string `json:"styles,omitempty" description:"scope styles: style codes"`
}

// Template is a kind of coupon and the rules of its issue.
type Template struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Terms
	ValidFrom  *time.Time `json:"valid_from,omitempty" description:"coupons are not usable before this time"`
	ValidUntil *time.Time `json:"valid_until,omitempty" description:"coupons are not usable from this time on"`
	ValidDays  int        `json:"valid_days,omitempty" description:"coupons are usable for this many business days from issue (counting the day of issue)"`
	PerMember  int        `json:"per_member" description:"coupons one member may be issued; 0 = no limit"`
	TotalLimit int64      `json:"total_limit" description:"coupons that may ever be issued; 0 = no limit"`
	Issued     int64      `json:"issued" description:"coupons issued so far"`
	Claimable  bool       `json:"claimable" description:"members may claim it themselves"`
	MinTier    int        `json:"min_tier" description:"lowest tier level (0-4) that may claim it"`
	Stackable  bool       `json:"stackable" description:"combines with other discount coupons"`
	Active     bool       `json:"active" description:"may be issued and claimed (issued coupons stay usable)"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`

	id int64
}

// NewTemplate creates a template.
type NewTemplate struct {
	Code string `json:"code" required:"true" description:"business code: letters, digits, '.', '_', '-'"`
	Name string `json:"name" required:"true"`
	Terms
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	ValidDays  int        `json:"valid_days,omitempty" minimum:"0" maximum:"3650"`
	PerMember  int        `json:"per_member,omitempty" minimum:"0" maximum:"1000" description:"0 = no limit"`
	TotalLimit int64      `json:"total_limit,omitempty" minimum:"0" description:"0 = no limit"`
	Claimable  bool       `json:"claimable,omitempty"`
	MinTier    int        `json:"min_tier,omitempty" minimum:"0" maximum:"4"`
	Stackable  bool       `json:"stackable,omitempty"`
	Inactive   bool       `json:"inactive,omitempty" description:"create paused"`
}

// TemplatePatch changes what may change of a template; the terms may not
// (create another template).
type TemplatePatch struct {
	Name       *string    `json:"name,omitempty"`
	Active     *bool      `json:"active,omitempty"`
	Claimable  *bool      `json:"claimable,omitempty"`
	MinTier    *int       `json:"min_tier,omitempty" minimum:"0" maximum:"4"`
	PerMember  *int       `json:"per_member,omitempty" minimum:"0" maximum:"1000"`
	TotalLimit *int64     `json:"total_limit,omitempty" minimum:"0" description:"not below the coupons issued"`
	ValidUntil *time.Time `json:"valid_until,omitempty" description:"for coupons issued from now on"`
}

// Coupon is one coupon of a member.
type Coupon struct {
	ID       int64  `json:"id"`
	Code     string `json:"code" description:"what the member gives at checkout"`
	Template string `json:"template"`
	Name     string `json:"name"`
	Terms
	Stackable  bool       `json:"stackable"`
	MemberID   int64      `json:"member_id"`
	Status     Status     `json:"status" enum:"available,used,expired,revoked"`
	Source     string     `json:"source,omitempty" description:"what issued it (claim, a batch, birthday:…, mall:…)"`
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil time.Time  `json:"valid_until" description:"exclusive"`
	OrderID    *int64     `json:"order_id,omitempty" description:"the order that used it"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
	IssuedAt   time.Time  `json:"issued_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// invalid is a validation failure of one field (422 validation_failed
// with the field in errors).
func invalid(field, format string, args ...any) error {
	var v errs.Validator
	v.Add(field, "invalid", fmt.Sprintf(format, args...))
	return v.Err()
}

// validTerms checks t (normalising the scope), with fields prefixed by
// nothing (the terms are inlined in their request).
func validTerms(v *errs.Validator, t *Terms) {
	if t.Scope == "" {
		t.Scope = ScopeAll
	}
	if !v.Check(t.Kind.Valid(), "kind", "one_of", "must be one of fixed, percent, threshold, free_shipping") {
		return
	}
	v.Check(t.AmountOff >= 0, "amount_off", "out_of_range", "must not be negative")
	v.Check(t.MaxOff >= 0, "max_off", "out_of_range", "must not be negative")
	v.Check(t.MinSpend >= 0, "min_spend", "out_of_range", "must not be negative")
	switch t.Kind {
	case Fixed:
		v.Check(t.AmountOff > 0, "amount_off", "required", "a fixed coupon takes amount_off > 0 fen")
		v.Check(t.PercentOff == 0, "percent_off", "not_allowed", "only percent coupons take percent_off")
		v.Check(t.MaxOff == 0, "max_off", "not_allowed", "only percent coupons take max_off")
	case Threshold:
		v.Check(t.AmountOff > 0, "amount_off", "required", "a threshold coupon takes amount_off > 0 fen")
		v.Check(t.MinSpend > 0 && t.MinSpend >= t.AmountOff, "min_spend", "out_of_range", "a threshold coupon takes min_spend ≥ amount_off > 0")
		v.Check(t.PercentOff == 0, "percent_off", "not_allowed", "only percent coupons take percent_off")
		v.Check(t.MaxOff == 0, "max_off", "not_allowed", "only percent coupons take max_off")
	case Percent:
		v.Range(int64(t.PercentOff), 1, 99, "percent_off")
		v.Check(t.AmountOff == 0, "amount_off", "not_allowed", "a percent coupon takes percent_off, not amount_off")
	case FreeShipping:
		v.Check(t.AmountOff == 0 && t.PercentOff == 0 && t.MaxOff == 0, "kind", "not_allowed", "a free-shipping coupon takes no amount_off, percent_off or max_off")
	}
	switch t.Scope {
	case ScopeAll:
		v.Check(len(t.Categories) == 0 && len(t.Styles) == 0, "scope", "not_allowed", "scope all takes no categories or styles")
	case ScopeCategories:
		v.Check(len(t.Styles) == 0, "styles", "not_allowed", "scope categories takes categories, not styles")
		if v.Check(len(t.Categories) >= 1 && len(t.Categories) <= 50, "categories", "count", "give 1 to 50 categories") {
			seen := map[string]bool{}
			for i, c := range t.Categories {
				f := fmt.Sprintf("categories[%d]", i)
				v.Check(strings.TrimSpace(c) != "" && utf8.RuneCountInString(c) <= 64, f, "invalid", "must be a category label of 1 to 64 characters")
				v.Check(!seen[c], f, "duplicate", "appears twice")
				seen[c] = true
			}
		}
	case ScopeStyles:
		v.Check(len(t.Categories) == 0, "categories", "not_allowed", "scope styles takes styles, not categories")
		if v.Check(len(t.Styles) >= 1 && len(t.Styles) <= 200, "styles", "count", "give 1 to 200 style codes") {
			seen := map[string]bool{}
			for i, c := range t.Styles {
				f := fmt.Sprintf("styles[%d]", i)
				v.Check(errs.ValidCode(c), f, "invalid_code", "must be a style code")
				v.Check(!seen[c], f, "duplicate", "appears twice")
				seen[c] = true
			}
		}
	default:
		v.Add("scope", "one_of", "must be one of all, categories, styles")
	}
}

// validate checks a new template.
func (in *NewTemplate) validate() error {
	var v errs.Validator
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	v.Check(errs.ValidCode(in.Code), "code", "invalid_code", "must be 1 to 64 of letters, digits, '.', '_', '-'")
	if v.Required(in.Name, "name") {
		v.Check(utf8.RuneCountInString(in.Name) <= 100, "name", "too_long", "must be at most 100 characters")
	}
	validTerms(&v, &in.Terms)
	v.Range(int64(in.ValidDays), 0, 3650, "valid_days")
	v.Check(in.ValidUntil != nil || in.ValidDays > 0, "valid_until", "required", "give valid_until, valid_days, or both: every coupon expires")
	if in.ValidFrom != nil && in.ValidUntil != nil {
		v.Check(in.ValidFrom.Before(*in.ValidUntil), "valid_until", "out_of_range", "must be after valid_from")
	}
	v.Range(int64(in.PerMember), 0, 1000, "per_member")
	v.Check(in.TotalLimit >= 0, "total_limit", "out_of_range", "must not be negative")
	v.Range(int64(in.MinTier), 0, 4, "min_tier")
	v.Check(!in.Stackable || in.Kind.Discount(), "stackable", "not_allowed", "only discount coupons stack")
	return v.Err()
}

// scopeValues is the stored list of a scope.
func (t Terms) scopeValues() []string {
	switch t.Scope {
	case ScopeCategories:
		return t.Categories
	case ScopeStyles:
		return t.Styles
	}
	return nil
}

// describe is a short human description of the terms, for adjustments.
func (t Terms) describe() string {
	var s string
	switch t.Kind {
	case Fixed:
		s = fmt.Sprintf("%d fen off", t.AmountOff)
	case Threshold:
		s = fmt.Sprintf("%d fen off from %d fen", t.AmountOff, t.MinSpend)
	case Percent:
		s = fmt.Sprintf("%d%% off", t.PercentOff)
		if t.MaxOff > 0 {
			s += fmt.Sprintf(" (at most %d fen)", t.MaxOff)
		}
	case FreeShipping:
		s = "free delivery"
	}
	if t.Kind != Threshold && t.MinSpend > 0 {
		s += fmt.Sprintf(" from %d fen", t.MinSpend)
	}
	switch t.Scope {
	case ScopeCategories:
		s += " on " + strings.Join(t.Categories, ", ")
	case ScopeStyles:
		s += " on styles " + strings.Join(t.Styles, ", ")
	}
	return s
}

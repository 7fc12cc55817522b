package members

import (
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// IdentityKind is how a member is recognised.
type IdentityKind string

// The identity kinds.
const (
	Mobile  IdentityKind = "mobile"  // mainland mobile number, 11 digits
	UnionID IdentityKind = "unionid" // WeChat unionid (one per WeChat user across apps)
	OpenID  IdentityKind = "openid"  // WeChat openid, per app (App names it)
	Email   IdentityKind = "email"   // stored lower-case
	Card    IdentityKind = "card"    // store card number
)

// Identity is one way of recognising a member. Each identity belongs to
// one member only.
type Identity struct {
	Kind      IdentityKind `json:"kind" required:"true" enum:"mobile,unionid,openid,email,card"`
	App       string       `json:"app,omitempty" description:"openid: the WeChat app id it belongs to"`
	Value     string       `json:"value" required:"true" description:"masked for roles that do not need it (mobile 138****8000, email a***@x.com)"`
	CreatedAt time.Time    `json:"created_at,omitzero"`
}

// Consent is one marketing consent with the time it was last given or
// withdrawn.
type Consent struct {
	Granted bool       `json:"granted"`
	At      *time.Time `json:"at,omitempty"`
}

// Consents are a member's marketing consents.
type Consents struct {
	SMS    Consent `json:"sms"`
	Email  Consent `json:"email"`
	WeChat Consent `json:"wechat"`
}

// TierRef names a tier.
type TierRef struct {
	Level int    `json:"level"`
	Code  string `json:"code"`
	Name  string `json:"name"`
}

// Member is a member as the API shows it.
type Member struct {
	ID         int64  `json:"id"`
	Status     string `json:"status" enum:"active,merged"`
	MergedInto *int64 `json:"merged_into,omitempty" description:"the surviving member, for a merged one"`
	// Merged lists the members merged into this one: their orders count
	// as this member's.
	Merged     []int64    `json:"merged,omitempty"`
	Name       string     `json:"name"`
	Tier       TierRef    `json:"tier"`
	TierSince  time.Time  `json:"tier_since"`
	Points     int64      `json:"points"`
	Growth     int64      `json:"growth" description:"lifetime growth (成长值)"`
	Qualifying int64      `json:"qualifying_growth" description:"growth that counts for the tier: earned since the start of the current window"`
	NextTier   *NextTier  `json:"next_tier,omitempty"`
	Birthday   string     `json:"birthday,omitempty" description:"YYYY-MM-DD"`
	Gender     string     `json:"gender,omitempty" enum:"female,male,other"`
	City       string     `json:"city,omitempty"`
	Preferred  string     `json:"preferred_store,omitempty" description:"location code"`
	Tags       []string   `json:"tags"`
	Consent    Consents   `json:"consent"`
	Identities []Identity `json:"identities"`
	Channel    string     `json:"channel,omitempty" description:"channel of registration"`
	Store      string     `json:"store,omitempty" description:"store of registration"`
	CheckIn    CheckState `json:"check_in"`
	// Masked says personal data (mobile numbers, email addresses) is
	// masked in this answer because the caller's role does not need it.
	Masked    bool      `json:"masked"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	storeID, preferredID int64 // for masking
}

// NextTier is what a member needs for the next tier.
type NextTier struct {
	TierRef
	GrowthNeeded int64 `json:"growth_needed"`
}

// CheckState is a member's last check-in and its streak (0 once the
// streak is broken: no check-in today or yesterday).
type CheckState struct {
	LastDay string `json:"last_day,omitempty" description:"YYYY-MM-DD, Asia/Shanghai"`
	Streak  int    `json:"streak"`
}

// Registration registers a member from any channel.
type Registration struct {
	Name       string     `json:"name,omitempty"`
	Identities []Identity `json:"identities" required:"true" minItems:"1" maxItems:"10"`
	Channel    string     `json:"channel,omitempty" description:"channel code of registration (shop, mini, app, live, pos)"`
	Store      string     `json:"store,omitempty" description:"store of registration (a store key registers at its own store)"`
	Profile
}

// Profile is the changeable part of a member. In a patch, absent fields
// stay as they are.
type Profile struct {
	Birthday  *string       `json:"birthday,omitempty" description:"YYYY-MM-DD"`
	Gender    *string       `json:"gender,omitempty" enum:"female,male,other,"`
	City      *string       `json:"city,omitempty"`
	Preferred *string       `json:"preferred_store,omitempty" description:"location code; empty clears it"`
	Tags      *[]string     `json:"tags,omitempty" maxItems:"20"`
	Consent   *ConsentPatch `json:"consent,omitempty"`
}

// ProfilePatch changes a member's name and profile.
type ProfilePatch struct {
	Name *string `json:"name,omitempty"`
	Profile
}

// ConsentPatch gives or withdraws consents; absent ones stay.
type ConsentPatch struct {
	SMS    *bool `json:"sms,omitempty"`
	Email  *bool `json:"email,omitempty"`
	WeChat *bool `json:"wechat,omitempty"`
}

// MergeRequest merges member From into the member of the path.
type MergeRequest struct {
	From   int64  `json:"from" required:"true" description:"the duplicate member, merged into the path's member"`
	Reason string `json:"reason,omitempty"`
}

// Summary is a member in a list (no personal data).
type Summary struct {
	ID        int64     `json:"id"`
	Status    string    `json:"status"`
	Tier      int       `json:"tier"`
	Points    int64     `json:"points"`
	Growth    int64     `json:"growth"`
	CreatedAt time.Time `json:"created_at"`
}

// Tier is one tier with its threshold and privileges.
type Tier struct {
	Level            int    `json:"level" minimum:"0" maximum:"4"`
	Code             string `json:"code" required:"true"`
	Name             string `json:"name" required:"true"`
	GrowthThreshold  int64  `json:"growth_threshold" description:"qualifying growth to reach the tier (level 0: 0)"`
	DiscountPct      int    `json:"discount_pct" minimum:"0" maximum:"50" description:"off goods at checkout"`
	PointsMultiplier int    `json:"points_multiplier" minimum:"100" maximum:"1000" description:"percent of the base earn rate: 200 = double points"`
	BirthdayPoints   int64  `json:"birthday_points" minimum:"0"`
	BirthdayCoupon   string `json:"birthday_coupon" description:"coupon template code issued on the birthday ('' = none)"`
	FreeShipping     bool   `json:"free_shipping"`
	PriorityShipping bool   `json:"priority_shipping"`
	MemberSales      bool   `json:"member_sales" description:"may buy styles on member-only sale"`
}

// Tiers is the tier table (PUT replaces all five).
type Tiers struct {
	Tiers []Tier `json:"tiers" required:"true" minItems:"5" maxItems:"5"`
}

// StreakBonus gives extra points a day from the Days-th consecutive
// check-in on (the largest matching bonus applies).
type StreakBonus struct {
	Days   int   `json:"days" minimum:"2"`
	Points int64 `json:"points" minimum:"0"`
}

// Expiry rules for earned points.
const (
	ExpiryEndOfFollowingYear = "end_of_following_year" // 23:59:59.999 on 31 Dec of the next year, Asia/Shanghai
	ExpiryDays               = "days"                  // expiry_days after earning
	ExpiryNever              = "never"
)

// Settings are the loyalty programme's rules.
type Settings struct {
	EarnPointsPerYuan   int           `json:"earn_points_per_yuan" minimum:"0" maximum:"100" description:"points per CNY of goods paid, × the tier multiplier"`
	GrowthPerYuan       int           `json:"growth_per_yuan" minimum:"0" maximum:"100"`
	RedeemPointsPerYuan int           `json:"redeem_points_per_yuan" minimum:"1" maximum:"100000" description:"points worth 1 CNY at checkout (100: 1 point = 1 fen)"`
	RedeemCapPct        int           `json:"redeem_cap_pct" minimum:"0" maximum:"100" description:"points pay at most this share of an order's goods"`
	CheckinPoints       int           `json:"checkin_points" minimum:"0" maximum:"10000"`
	CheckinGrowth       int           `json:"checkin_growth" minimum:"0" maximum:"10000"`
	StreakBonuses       []StreakBonus `json:"streak_bonuses" maxItems:"10"`
	SharePoints         int           `json:"share_points" minimum:"0" maximum:"10000"`
	ShareGrowth         int           `json:"share_growth" minimum:"0" maximum:"10000"`
	ShareDailyCap       int           `json:"share_daily_cap" minimum:"0" maximum:"100" description:"rewarded shares a member a day"`
	Expiry              string        `json:"expiry" enum:"end_of_following_year,days,never"`
	ExpiryDays          int           `json:"expiry_days" minimum:"1" maximum:"3650" description:"expiry days: lifetime of earned points"`
	ReevaluateDays      int           `json:"reevaluate_days" minimum:"1" maximum:"3650" description:"how often tiers are re-evaluated (downgrades happen only then)"`
	GrowthWindowDays    int           `json:"growth_window_days" minimum:"1" maximum:"3650" description:"growth earned in this many days counts at re-evaluation"`
	LastReevaluatedAt   *time.Time    `json:"last_reevaluated_at,omitempty" readOnly:"true"`
}

// LedgerEntry is one row of a member's points and growth ledger.
type LedgerEntry struct {
	ID          int64     `json:"id"`
	Member      int64     `json:"member"`
	Kind        string    `json:"kind"`
	Points      int64     `json:"points" description:"signed"`
	Balance     int64     `json:"balance" description:"points after this entry"`
	Growth      int64     `json:"growth" description:"signed"`
	GrowthAfter int64     `json:"growth_after"`
	Source      string    `json:"source" description:"unique per member: what caused the entry"`
	Order       *int64    `json:"order,omitempty"`
	Operator    string    `json:"operator,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Lot is earned points not yet spent or expired.
type Lot struct {
	ID        int64      `json:"id"`
	Earned    int64      `json:"earned"`
	Remaining int64      `json:"remaining"`
	Expired   int64      `json:"expired"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" description:"absent: never"`
	CreatedAt time.Time  `json:"created_at"`
}

// Adjustment is a manual points change by staff.
type Adjustment struct {
	Points int64  `json:"points" required:"true" description:"signed; a deduction never takes more than the balance (409 insufficient_points)"`
	Growth int64  `json:"growth,omitempty" description:"signed growth change"`
	Reason string `json:"reason" required:"true"`
	Source string `json:"source,omitempty" description:"a reference that makes the adjustment happen once (default: a new one)"`
}

// CheckIn is the outcome of a daily check-in (签到).
type CheckIn struct {
	Member  int64  `json:"member"`
	Day     string `json:"day"`
	Streak  int    `json:"streak"`
	Points  int64  `json:"points"`
	Growth  int64  `json:"growth"`
	Balance int64  `json:"balance"`
	Tier    int    `json:"tier"`
}

// Share is a member's share of content (a style, a campaign).
type Share struct {
	Target  string `json:"target,omitempty" description:"what was shared, e.g. style:TEE"`
	Channel string `json:"channel,omitempty" description:"where: wechat, moments, weibo, …"`
}

// ShareReward is the outcome of a share.
type ShareReward struct {
	Member   int64  `json:"member"`
	Day      string `json:"day"`
	Shares   int    `json:"shares" description:"shares today"`
	Rewarded bool   `json:"rewarded" description:"false once the daily cap is reached"`
	Points   int64  `json:"points"`
	Balance  int64  `json:"balance"`
}

// TierChange is one change of a member's tier.
type TierChange struct {
	Member    int64     `json:"member"`
	From      int       `json:"from"`
	To        int       `json:"to"`
	Reason    string    `json:"reason" enum:"growth,reevaluation,merge"`
	Growth    int64     `json:"growth" description:"qualifying growth at the change"`
	CreatedAt time.Time `json:"created_at"`
}

// AuditEntry is one read or change of a member's personal data.
type AuditEntry struct {
	ID        int64     `json:"id"`
	Member    int64     `json:"member"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Fields    string    `json:"fields,omitempty"`
	Masked    bool      `json:"masked"`
	CreatedAt time.Time `json:"created_at"`
}

// MemberSale puts a style on member-only sale.
type MemberSale struct {
	ID        int64     `json:"id" readOnly:"true"`
	Style     string    `json:"style" required:"true" description:"style code"`
	MinTier   int       `json:"min_tier" minimum:"0" maximum:"4"`
	StartsAt  time.Time `json:"starts_at" required:"true"`
	EndsAt    time.Time `json:"ends_at" required:"true"`
	CreatedAt time.Time `json:"created_at,omitzero" readOnly:"true"`
}

// ReevalResult reports a tier re-evaluation.
type ReevalResult struct {
	Members    int       `json:"members"`
	Downgraded int       `json:"downgraded"`
	Upgraded   int       `json:"upgraded"`
	WindowFrom time.Time `json:"window_from"`
	At         time.Time `json:"at"`
}

// LedgerReport is the result of CheckLedger.
type LedgerReport struct {
	Members      int64   `json:"members"`
	Consistent   bool    `json:"consistent" description:"every balance equals the sum of its live lots and of its ledger"`
	Negative     int64   `json:"negative_balances"`
	LotMismatch  []int64 `json:"lot_mismatch,omitempty" description:"members whose balance differs from their lots (first 20)"`
	LedgerMisfit []int64 `json:"ledger_mismatch,omitempty" description:"members whose balance differs from their ledger (first 20)"`
}

// Errors of the members module.
var (
	ErrNotFound           = errs.New(errs.NotFound, "member_not_found", "no such member")
	ErrInsufficientPoints = errs.New(errs.Conflict, "insufficient_points", "the member has fewer points than that")
	ErrCheckedIn          = errs.New(errs.Conflict, "already_checked_in", "the member has already checked in today")
	ErrIdentityTaken      = errs.New(errs.Conflict, "identity_taken", "the identity belongs to another member")
	ErrMergeIntoSelf      = errs.New(errs.Invalid, "merge_into_self", "a member cannot be merged into itself")
	ErrMerged             = errs.New(errs.Conflict, "member_merged", "the member has been merged into another")
	ErrInvalidMobile      = errs.New(errs.Invalid, "invalid_mobile", "not a mainland mobile number: 11 digits starting with 13-19")
	ErrMembersOnly        = errs.New(errs.Forbidden, "members_only", "the style is on a member-only sale")
	ErrTierTooLow         = errs.New(errs.Forbidden, "tier_too_low", "the style is on a member-only sale for higher tiers")
	ErrPointsOverCap      = errs.New(errs.Invalid, "points_over_cap", "more points than an order may take")
)

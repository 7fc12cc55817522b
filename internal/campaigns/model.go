package campaigns

import (
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// ── group buy ───────────────────────────────────────────────────────────

// NewDeal creates a group-buy deal. Give a SKU or a style (then any of its
// SKUs may be bought).
type NewDeal struct {
	Code          string     `json:"code" required:"true" description:"letters, digits, '.', '_', '-'"`
	Name          string     `json:"name" required:"true"`
	SKU           string     `json:"sku,omitempty" description:"the SKU sold, or"`
	Style         string     `json:"style,omitempty" description:"the style: any of its SKUs"`
	GroupPrice    int64      `json:"group_price" required:"true" minimum:"0" description:"fen per unit once in a group (lines never go above the list price)"`
	GroupSize     int        `json:"group_size" required:"true" minimum:"2" maximum:"100" description:"members a group needs"`
	WindowMinutes int        `json:"window_minutes,omitempty" minimum:"1" maximum:"10080" description:"how long a group may take to fill; default 1440 (24 h)"`
	MemberLimit   int64      `json:"member_limit,omitempty" minimum:"1" maximum:"99" description:"units a member may have in the deal's live orders; default 1"`
	StartsAt      *time.Time `json:"starts_at,omitempty" description:"default: now"`
	EndsAt        time.Time  `json:"ends_at" required:"true" description:"no group is open after this; at most 366 days after the start"`
}

// Deal is a group-buy deal.
type Deal struct {
	ID            int64     `json:"id"`
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	SKU           string    `json:"sku,omitempty"`
	Style         string    `json:"style,omitempty"`
	GroupPrice    int64     `json:"group_price"`
	GroupSize     int       `json:"group_size"`
	WindowMinutes int       `json:"window_minutes"`
	MemberLimit   int64     `json:"member_limit"`
	StartsAt      time.Time `json:"starts_at"`
	EndsAt        time.Time `json:"ends_at"`
	Status        string    `json:"status" enum:"active,closed" description:"closed: no new groups (open ones may still fill)"`
	CreatedBy     string    `json:"created_by,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// The group states.
const (
	Forming = "forming"
	Formed  = "formed"
	Failed  = "failed"
)

// Group is one group (团) of a deal.
type Group struct {
	ID     int64  `json:"id"`
	Deal   string `json:"deal"`
	Leader int64  `json:"leader" description:"the member who opened it"`
	Size   int    `json:"size"`
	// Held counts the seats taken by placed orders (paid or not); Joined
	// those paid.
	Held      int           `json:"held" description:"seats taken by placed, not cancelled orders"`
	Joined    int           `json:"joined" description:"seats paid"`
	Status    string        `json:"status" enum:"forming,formed,failed"`
	OpenedAt  time.Time     `json:"opened_at"`
	ExpiresAt time.Time     `json:"expires_at" description:"the group fails unless it has formed by then"`
	FormedAt  *time.Time    `json:"formed_at,omitempty"`
	FailedAt  *time.Time    `json:"failed_at,omitempty"`
	Members   []GroupMember `json:"members,omitempty"`
}

// The group member states: pending (seat held, unpaid), paid (counted,
// the group forming), confirmed (the group formed), late (paid after the
// window: to be cancelled and refunded), cancelled, stuck (the order could
// not be cancelled: it had left already).
const (
	MemberPending   = "pending"
	MemberPaid      = "paid"
	MemberConfirmed = "confirmed"
	MemberLate      = "late"
	MemberCancelled = "cancelled"
	MemberStuck     = "stuck"
)

// GroupMember is one member's order in a group.
type GroupMember struct {
	Member   int64      `json:"member"`
	Order    int64      `json:"order"`
	Qty      int64      `json:"qty"`
	Status   string     `json:"status" enum:"pending,paid,confirmed,late,cancelled,stuck"`
	JoinedAt time.Time  `json:"joined_at"`
	PaidAt   *time.Time `json:"paid_at,omitempty"`
	EndedAt  *time.Time `json:"ended_at,omitempty" description:"cancelled (or found stuck) at"`
}

// JoinRequest opens or joins a group: the member's order of the deal's
// item, delivered or picked up like any order (not at the till).
type JoinRequest struct {
	MemberID int64           `json:"member_id" required:"true"`
	Channel  string          `json:"channel" required:"true"`
	Mode     fulfilment.Mode `json:"mode" required:"true" enum:"pickup,instant,standard"`
	Store    string          `json:"store,omitempty" description:"pickup: the store"`
	Address  *orders.Address `json:"address,omitempty" description:"instant and standard: where to deliver"`
	SKU      string          `json:"sku,omitempty" description:"a style deal: which of its SKUs (colour × size); a SKU deal: may be omitted"`
	Qty      int64           `json:"qty,omitempty" minimum:"1" maximum:"99" description:"default 1; at most the deal's member limit"`
	Name     string          `json:"name,omitempty" description:"the customer's name on the order"`
	Note     string          `json:"note,omitempty"`
}

// Joined is the answer to opening or joining a group: the group and the
// member's order, which waits for payment like any order.
type Joined struct {
	Group Group        `json:"group"`
	Order orders.Order `json:"order"`
}

// ListParams filter a list of deals or campaigns.
type ListParams struct {
	Status string `query:"status" enum:"active,closed"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" description:"from next_cursor"`
}

// GroupListParams filter a deal's groups.
type GroupListParams struct {
	Code   string `path:"code"`
	Status string `query:"status" enum:"forming,formed,failed"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" description:"from next_cursor"`
}

// ── friend-help ─────────────────────────────────────────────────────────

// NewHelpCampaign creates a friend-help campaign.
type NewHelpCampaign struct {
	Code           string     `json:"code" required:"true"`
	Name           string     `json:"name" required:"true"`
	RewardTemplate string     `json:"reward_template" required:"true" description:"the code of the coupon template issued as the reward"`
	HelpersNeeded  int        `json:"helpers_needed" required:"true" minimum:"1" maximum:"100" description:"distinct helpers a request needs"`
	WindowMinutes  int        `json:"window_minutes,omitempty" minimum:"1" maximum:"43200" description:"how long a request stays open; default 1440 (24 h)"`
	DailyLimit     int        `json:"daily_help_limit,omitempty" minimum:"1" maximum:"100" description:"requests of this campaign a member may help per day (Asia/Shanghai); default 3"`
	StartsAt       *time.Time `json:"starts_at,omitempty" description:"default: now"`
	EndsAt         time.Time  `json:"ends_at" required:"true"`
}

// HelpCampaign is a friend-help campaign.
type HelpCampaign struct {
	ID             int64     `json:"id"`
	Code           string    `json:"code"`
	Name           string    `json:"name"`
	RewardTemplate string    `json:"reward_template"`
	HelpersNeeded  int       `json:"helpers_needed"`
	WindowMinutes  int       `json:"window_minutes"`
	DailyLimit     int       `json:"daily_help_limit"`
	StartsAt       time.Time `json:"starts_at"`
	EndsAt         time.Time `json:"ends_at"`
	Status         string    `json:"status" enum:"active,closed"`
	CreatedBy      string    `json:"created_by,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// The help request states.
const (
	HelpOpen      = "open"
	HelpCompleted = "completed"
	HelpExpired   = "expired"
)

// HelpRequest is a member's request for help.
type HelpRequest struct {
	ID          int64      `json:"id"`
	Campaign    string     `json:"campaign"`
	Member      int64      `json:"member"`
	Needed      int        `json:"needed"`
	Helpers     int        `json:"helpers"`
	Status      string     `json:"status" enum:"open,completed,expired"`
	ExpiresAt   time.Time  `json:"expires_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Reward      *Reward    `json:"reward,omitempty" description:"the coupon issued on completion"`
	CreatedAt   time.Time  `json:"created_at"`
	Helps       []Help     `json:"helps,omitempty"`
}

// Help is one helper's help.
type Help struct {
	Helper int64     `json:"helper"`
	At     time.Time `json:"at"`
}

// Reward is what a completed request earned: the issued coupon.
type Reward struct {
	ID   int64  `json:"id,omitempty"`
	Code string `json:"code"`
}

// MemberRef names the member acting (starting a request, helping).
type MemberRef struct {
	MemberID int64 `json:"member_id" required:"true"`
}

// CodePath names a deal or campaign.
type CodePath struct {
	Code string `path:"code"`
}

// IDPath names a group or request.
type IDPath struct {
	ID int64 `path:"id"`
}

// ── errors ──────────────────────────────────────────────────────────────

// Errors of campaigns.
var (
	ErrDealNotFound     = errs.New(errs.NotFound, "group_deal_not_found", "no such group-buy deal")
	ErrGroupNotFound    = errs.New(errs.NotFound, "group_not_found", "no such group")
	ErrDuplicateCode    = errs.New(errs.Conflict, "duplicate_code", "the code is taken")
	ErrDealNotActive    = errs.New(errs.Conflict, "deal_not_active", "the deal is not open for new groups")
	ErrGroupFull        = errs.New(errs.Conflict, "group_full", "every seat of the group is taken")
	ErrGroupClosed      = errs.New(errs.Conflict, "group_closed", "the group is no longer open")
	ErrAlreadyJoined    = errs.New(errs.Conflict, "already_joined", "the member is already in this group")
	ErrMemberLimit      = errs.New(errs.Conflict, "group_limit_reached", "the member has reached the deal's limit")
	ErrNotDealItem      = errs.New(errs.Invalid, "not_deal_item", "the SKU is not the deal's")
	ErrGroupNotFormed   = errs.New(errs.Conflict, "group_not_formed", "the order's group has not formed yet: it is fulfilled once the group is complete")
	ErrMemberNF         = errs.New(errs.NotFound, "member_not_found", "no such member")
	ErrCampaignNotFound = errs.New(errs.NotFound, "help_campaign_not_found", "no such friend-help campaign")
	ErrRequestNotFound  = errs.New(errs.NotFound, "help_request_not_found", "no such help request")
	ErrCampaignInactive = errs.New(errs.Conflict, "campaign_not_active", "the campaign is not running")
	ErrRequestExists    = errs.New(errs.Conflict, "help_request_exists", "the member already has an open or completed request in this campaign")
	ErrSelfHelp         = errs.New(errs.Invalid, "self_help", "a member cannot help their own request")
	ErrAlreadyHelped    = errs.New(errs.Conflict, "already_helped", "the member has helped this request already")
	ErrDailyHelpLimit   = errs.New(errs.Conflict, "daily_help_limit", "the member has helped as many requests today as the campaign allows")
	ErrRequestCompleted = errs.New(errs.Conflict, "help_request_completed", "the request has all the helpers it needs")
	ErrRequestExpired   = errs.New(errs.Conflict, "help_request_expired", "the request's window has passed")
	ErrNoRewards        = errs.New(errs.Conflict, "rewards_unavailable", "no coupon issuer is configured: friend-help rewards cannot be issued")
)

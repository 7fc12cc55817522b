package campaigns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// ── campaigns ───────────────────────────────────────────────────────────

const helpCampaignCols = `SELECT id, code, name, reward_template, helpers_needed, window_minutes, daily_help_limit,
	starts_at, ends_at, status, created_by, created_at, updated_at FROM help_campaigns`

func scanHelpCampaign(sc db.Scanner) (HelpCampaign, error) {
	var c HelpCampaign
	var st, en, ca, ua int64
	err := sc.Scan(&c.ID, &c.Code, &c.Name, &c.RewardTemplate, &c.HelpersNeeded, &c.WindowMinutes, &c.DailyLimit,
		&st, &en, &c.Status, &c.CreatedBy, &ca, &ua)
	c.StartsAt, c.EndsAt, c.CreatedAt, c.UpdatedAt = fromMS(st), fromMS(en), fromMS(ca), fromMS(ua)
	return c, err
}

// CreateHelpCampaign creates a friend-help campaign. Its reward is a coupon
// of the template, issued by the coupons module (409 rewards_unavailable
// when none is wired).
func (s *Service) CreateHelpCampaign(ctx context.Context, in NewHelpCampaign) (HelpCampaign, error) {
	now := s.now().UTC()
	var v errs.Validator
	validCode(&v, in.Code)
	validName(&v, in.Name)
	if v.Required(in.RewardTemplate, "reward_template") {
		v.Check(errs.ValidCode(in.RewardTemplate), "reward_template", "invalid_code", "must be a coupon template code")
	}
	v.Range(int64(in.HelpersNeeded), 1, 100, "helpers_needed")
	if in.WindowMinutes == 0 {
		in.WindowMinutes = 1440
	}
	v.Range(int64(in.WindowMinutes), 1, 43200, "window_minutes")
	if in.DailyLimit == 0 {
		in.DailyLimit = 3
	}
	v.Range(int64(in.DailyLimit), 1, 100, "daily_help_limit")
	st, en := validWindow(&v, now, in.StartsAt, in.EndsAt)
	if err := v.Err(); err != nil {
		return HelpCampaign{}, err
	}
	if s.rewards == nil {
		return HelpCampaign{}, ErrNoRewards
	}
	actor := auth.Actor(ctx)
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := ms(s.now())
		var id int64
		err := tx.QueryRow(`INSERT INTO help_campaigns (code, name, reward_template, helpers_needed, window_minutes, daily_help_limit,
				starts_at, ends_at, status, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
			in.Code, in.Name, in.RewardTemplate, in.HelpersNeeded, in.WindowMinutes, in.DailyLimit, ms(st), ms(en), actor, at, at).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDuplicateCode.Withf("code: a campaign %q exists", in.Code).With("field", "code")
		}
		if err != nil {
			return fmt.Errorf("campaigns: insert help campaign: %w", err)
		}
		return s.ob.Append(tx, "help_campaign.created", in.Code, map[string]any{"campaign": id, "code": in.Code,
			"reward_template": in.RewardTemplate, "helpers_needed": in.HelpersNeeded})
	})
	if err != nil {
		return HelpCampaign{}, err
	}
	return s.GetHelpCampaign(ctx, in.Code)
}

// GetHelpCampaign returns a campaign by code.
func (s *Service) GetHelpCampaign(ctx context.Context, code string) (HelpCampaign, error) {
	c, err := scanHelpCampaign(s.db.QueryRow(ctx, helpCampaignCols+` WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrCampaignNotFound.Withf("no friend-help campaign %q", code)
	}
	if err != nil {
		return c, fmt.Errorf("campaigns: read help campaign: %w", err)
	}
	return c, nil
}

// ListHelpCampaigns lists campaigns, newest first.
func (s *Service) ListHelpCampaigns(ctx context.Context, f ListParams) ([]HelpCampaign, string, error) {
	q, args, err := listQuery(helpCampaignCols, "", nil, nil, f.Status, []string{"active", "closed"}, &f.Limit, f.Cursor)
	if err != nil {
		return nil, "", err
	}
	list, err := db.Collect(scanHelpCampaign)(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, "", fmt.Errorf("campaigns: list help campaigns: %w", err)
	}
	list, next := cut(list, f.Limit, func(c HelpCampaign) int64 { return c.ID })
	return list, next, nil
}

// CloseHelpCampaign stops a campaign: no new requests; open requests may
// still complete within their window.
func (s *Service) CloseHelpCampaign(ctx context.Context, code string) (HelpCampaign, error) {
	if err := s.close(ctx, "help_campaigns", "help_campaign.closed", "campaign", code, ErrCampaignNotFound.Withf("no friend-help campaign %q", code)); err != nil {
		return HelpCampaign{}, err
	}
	return s.GetHelpCampaign(ctx, code)
}

// ── requests ────────────────────────────────────────────────────────────

// StartHelp starts a member's help request in a running campaign. A member
// has at most one open or completed request per campaign (409
// help_request_exists naming it); an expired one may be started again.
func (s *Service) StartHelp(ctx context.Context, campaign string, in MemberRef) (HelpRequest, error) {
	if in.MemberID <= 0 {
		return HelpRequest{}, errs.E(errs.Invalid, "validation_failed", "member_id is required").With("field", "member_id")
	}
	c, err := s.GetHelpCampaign(ctx, campaign)
	if err != nil {
		return HelpRequest{}, err
	}
	now := s.now()
	if c.Status != "active" || now.Before(c.StartsAt) || !now.Before(c.EndsAt) {
		return HelpRequest{}, ErrCampaignInactive.Withf("campaign %s is %s (from %s to %s)", c.Code, c.Status,
			c.StartsAt.Format(time.RFC3339), c.EndsAt.Format(time.RFC3339))
	}
	if err := s.memberExists(ctx, in.MemberID, "member_id"); err != nil {
		return HelpRequest{}, err
	}
	var id int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := ms(s.now())
		if _, err := tx.Exec(`UPDATE help_requests SET status = 'expired', updated_at = ?
			WHERE campaign_id = ? AND member_id = ? AND status = 'open' AND expires_at <= ?`, at, c.ID, in.MemberID, at); err != nil {
			return fmt.Errorf("campaigns: expire request: %w", err)
		}
		expires := min(at+int64(c.WindowMinutes)*60_000, ms(c.EndsAt))
		err := tx.QueryRow(`INSERT INTO help_requests (campaign_id, member_id, needed, helpers, status, expires_at, created_at, updated_at)
			VALUES (?, ?, ?, 0, 'open', ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`, c.ID, in.MemberID, c.HelpersNeeded, expires, at, at).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var old int64
			var st string
			if err := tx.QueryRow(`SELECT id, status FROM help_requests WHERE campaign_id = ? AND member_id = ? AND status IN ('open', 'completed')`,
				c.ID, in.MemberID).Scan(&old, &st); err != nil {
				return fmt.Errorf("campaigns: existing request: %w", err)
			}
			return ErrRequestExists.Withf("member %d has request %d (%s) in campaign %s", in.MemberID, old, st, c.Code).
				With("request", old).With("request_status", st)
		}
		if err != nil {
			return fmt.Errorf("campaigns: start request: %w", err)
		}
		return s.ob.Append(tx, "help_request.started", helpSubject(id), map[string]any{"request": id, "campaign": c.Code,
			"member": in.MemberID, "needed": c.HelpersNeeded, "expires_at": fromMS(expires)})
	})
	if err != nil {
		return HelpRequest{}, err
	}
	return s.GetHelpRequest(ctx, id)
}

// Help records a member's help on a request. A member helps a request
// once (409 already_helped), never their own (422 self_help), and at most
// the campaign's daily limit of requests per Shanghai day (409
// daily_help_limit). The helper that brings the request to its N-th
// distinct helper completes it, and the reward coupon is issued in the same
// transaction, once: later helpers get 409 help_request_completed. A
// request past its window is 409 help_request_expired. When the reward
// cannot be issued the help is refused with the coupons module's error and
// nothing is recorded.
func (s *Service) Help(ctx context.Context, requestID int64, in MemberRef) (HelpRequest, error) {
	if in.MemberID <= 0 {
		return HelpRequest{}, errs.E(errs.Invalid, "validation_failed", "member_id is required").With("field", "member_id")
	}
	var owner, campaignID int64
	err := s.db.QueryRow(ctx, `SELECT member_id, campaign_id FROM help_requests WHERE id = ?`, requestID).Scan(&owner, &campaignID)
	if errors.Is(err, sql.ErrNoRows) {
		return HelpRequest{}, ErrRequestNotFound.Withf("no help request %d", requestID)
	}
	if err != nil {
		return HelpRequest{}, fmt.Errorf("campaigns: read request: %w", err)
	}
	if owner == in.MemberID {
		return HelpRequest{}, ErrSelfHelp.Withf("member_id: member %d started request %d", in.MemberID, requestID).With("field", "member_id")
	}
	c, err := scanHelpCampaign(s.db.QueryRow(ctx, helpCampaignCols+` WHERE id = ?`, campaignID))
	if err != nil {
		return HelpRequest{}, fmt.Errorf("campaigns: read help campaign: %w", err)
	}
	if err := s.memberExists(ctx, in.MemberID, "member_id"); err != nil {
		return HelpRequest{}, err
	}
	err = s.db.WriteKeyed(ctx, requestID, func(tx *db.Tx) error {
		now := s.now()
		at := ms(now)
		var got int64
		err := tx.QueryRow(`INSERT INTO help_helps (request_id, helper_id, day, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING request_id`, requestID, in.MemberID, day(now), at).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrAlreadyHelped.Withf("member %d has helped request %d already", in.MemberID, requestID)
		}
		if err != nil {
			return fmt.Errorf("campaigns: record help: %w", err)
		}
		var n int
		err = tx.QueryRow(`INSERT INTO help_helper_days (campaign_id, helper_id, day, helps) VALUES (?, ?, ?, 1)
			ON CONFLICT (campaign_id, helper_id, day) DO UPDATE SET helps = help_helper_days.helps + 1
			WHERE help_helper_days.helps < ? RETURNING helps`, c.ID, in.MemberID, day(now), c.DailyLimit).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDailyHelpLimit.Withf("member %d has helped %d requests of campaign %s today", in.MemberID, c.DailyLimit, c.Code).
				With("limit", c.DailyLimit)
		}
		if err != nil {
			return fmt.Errorf("campaigns: daily helps: %w", err)
		}
		var helpers, needed int
		var status string
		err = tx.QueryRow(`UPDATE help_requests SET helpers = helpers + 1, updated_at = ?,
				status = CASE WHEN helpers + 1 >= needed THEN 'completed' ELSE status END,
				completed_at = CASE WHEN helpers + 1 >= needed THEN ? ELSE completed_at END
			WHERE id = ? AND status = 'open' AND helpers < needed AND expires_at > ? RETURNING helpers, needed, status`,
			at, at, requestID, at).Scan(&helpers, &needed, &status)
		if errors.Is(err, sql.ErrNoRows) {
			var st string
			if err := tx.QueryRow(`SELECT status FROM help_requests WHERE id = ?`, requestID).Scan(&st); err != nil {
				return fmt.Errorf("campaigns: read request: %w", err)
			}
			if st == HelpCompleted {
				return ErrRequestCompleted.Withf("request %d has all its helpers", requestID)
			}
			return ErrRequestExpired.Withf("request %d's window has passed", requestID)
		}
		if err != nil {
			return fmt.Errorf("campaigns: count help: %w", err)
		}
		if status != HelpCompleted {
			return s.ob.Append(tx, "help_request.helped", helpSubject(requestID), map[string]any{"request": requestID,
				"helper": in.MemberID, "helpers": helpers, "needed": needed})
		}
		if s.rewards == nil {
			return ErrNoRewards
		}
		r, err := s.rewards.IssueReward(tx, c.RewardTemplate, owner, "help:"+strconv.FormatInt(requestID, 10))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE help_requests SET reward_id = ?, reward_code = ? WHERE id = ?`, r.ID, r.Code, requestID); err != nil {
			return fmt.Errorf("campaigns: record reward: %w", err)
		}
		return s.ob.Append(tx, "help_request.completed", helpSubject(requestID), map[string]any{"request": requestID,
			"member": owner, "helper": in.MemberID, "helpers": helpers, "reward": r})
	})
	if err != nil {
		return HelpRequest{}, err
	}
	return s.GetHelpRequest(ctx, requestID)
}

// GetHelpRequest returns a request with its helps. An open request past
// its window reads as expired.
func (s *Service) GetHelpRequest(ctx context.Context, id int64) (HelpRequest, error) {
	var r HelpRequest
	var exp, created int64
	var completed, rewardID *int64
	var code string
	err := s.db.QueryRow(ctx, `SELECT r.id, c.code, r.member_id, r.needed, r.helpers, r.status, r.expires_at, r.completed_at, r.reward_id, r.reward_code, r.created_at
		FROM help_requests r JOIN help_campaigns c ON c.id = r.campaign_id WHERE r.id = ?`, id).
		Scan(&r.ID, &r.Campaign, &r.Member, &r.Needed, &r.Helpers, &r.Status, &exp, &completed, &rewardID, &code, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrRequestNotFound.Withf("no help request %d", id)
	}
	if err != nil {
		return r, fmt.Errorf("campaigns: read request: %w", err)
	}
	r.ExpiresAt, r.CreatedAt, r.CompletedAt = fromMS(exp), fromMS(created), fromNullMS(completed)
	if r.Status == HelpOpen && exp <= ms(s.now()) {
		r.Status = HelpExpired
	}
	if code != "" || rewardID != nil {
		r.Reward = &Reward{Code: code}
		if rewardID != nil {
			r.Reward.ID = *rewardID
		}
	}
	r.Helps, err = db.Collect(func(sc db.Scanner) (Help, error) {
		var h Help
		var at int64
		err := sc.Scan(&h.Helper, &at)
		h.At = fromMS(at)
		return h, err
	})(s.db.Query(ctx, `SELECT helper_id, created_at FROM help_helps WHERE request_id = ? ORDER BY created_at, helper_id`, id))
	if err != nil {
		return r, fmt.Errorf("campaigns: read helps: %w", err)
	}
	return r, nil
}

func helpSubject(id int64) string { return fmt.Sprintf("help-%d", id) }

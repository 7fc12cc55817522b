package campaigns_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/campaigns"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

func (f *fixture) campaign(t *testing.T, code string, needed, daily, window int) campaigns.HelpCampaign {
	t.Helper()
	c, err := f.svc.CreateHelpCampaign(context.Background(), campaigns.NewHelpCampaign{Code: code, Name: "好友助力领券",
		RewardTemplate: "CPN-10", HelpersNeeded: needed, DailyLimit: daily, WindowMinutes: window, EndsAt: f.clk.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFriendHelpRules: a request is started once; self-help, a second
// help by the same member and help beyond the daily limit are refused
// with nothing counted; the N-th helper completes it with its reward; a
// request past its window refuses help and may be started again.
func TestFriendHelpRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.campaign(t, "HELP3", 3, 2, 60*24*3)
		r, err := f.svc.StartHelp(ctx, "HELP3", campaigns.MemberRef{MemberID: 10})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != campaigns.HelpOpen || r.Needed != 3 || r.Helpers != 0 {
			t.Fatalf("started %+v", r)
		}
		_, err = f.svc.StartHelp(ctx, "HELP3", campaigns.MemberRef{MemberID: 10})
		wantCode(t, err, "help_request_exists")
		_, err = f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 10})
		wantCode(t, err, "self_help")
		_, err = f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 5000})
		wantCode(t, err, "member_not_found")
		_, err = f.svc.Help(ctx, r.ID+100, campaigns.MemberRef{MemberID: 11})
		wantCode(t, err, "help_request_not_found")
		if r, err = f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 11}); err != nil || r.Helpers != 1 {
			t.Fatalf("first help: %+v, %v", r, err)
		}
		_, err = f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 11})
		wantCode(t, err, "already_helped")
		// member 11 helps two more requests today: the second is over the limit of 2
		other := make([]int64, 2)
		for i, m := range []int64{20, 21} {
			o, err := f.svc.StartHelp(ctx, "HELP3", campaigns.MemberRef{MemberID: m})
			if err != nil {
				t.Fatal(err)
			}
			other[i] = o.ID
		}
		if _, err := f.svc.Help(ctx, other[0], campaigns.MemberRef{MemberID: 11}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Help(ctx, other[1], campaigns.MemberRef{MemberID: 11})
		wantCode(t, err, "daily_help_limit")
		if o, _ := f.svc.GetHelpRequest(ctx, other[1]); o.Helpers != 0 || len(o.Helps) != 0 {
			t.Fatalf("a refused help was counted: %+v", o)
		}
		// the next Shanghai day the limit starts afresh
		f.clk.Add(24 * time.Hour)
		if _, err := f.svc.Help(ctx, other[1], campaigns.MemberRef{MemberID: 11}); err != nil {
			t.Fatalf("next day: %v", err)
		}
		if got := f.rew.committed.Load(); got != 0 {
			t.Fatalf("%d rewards before any request completed", got)
		}
		if _, err := f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 12}); err != nil {
			t.Fatal(err)
		}
		r, err = f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 13})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != campaigns.HelpCompleted || r.Helpers != 3 || r.CompletedAt == nil || r.Reward == nil || r.Reward.Code != "CPN-10-help:1" || len(r.Helps) != 3 {
			t.Fatalf("completed request %+v", r)
		}
		_, err = f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: 14})
		wantCode(t, err, "help_request_completed")
		_, err = f.svc.StartHelp(ctx, "HELP3", campaigns.MemberRef{MemberID: 10})
		wantCode(t, err, "help_request_exists")
		// member 20's request runs out of time
		f.clk.Add(3 * 24 * time.Hour)
		_, err = f.svc.Help(ctx, other[0], campaigns.MemberRef{MemberID: 15})
		wantCode(t, err, "help_request_expired")
		if o, _ := f.svc.GetHelpRequest(ctx, other[0]); o.Status != campaigns.HelpExpired {
			t.Fatalf("request past its window reads %s", o.Status)
		}
		if _, err := f.svc.StartHelp(ctx, "HELP3", campaigns.MemberRef{MemberID: 20}); err != nil {
			t.Fatalf("a new request after the expired one: %v", err)
		}
		if got := f.rew.committed.Load(); got != 1 {
			t.Fatalf("%d rewards committed, want 1", got)
		}
	})
}

// TestFriendHelpConcurrent: many distinct helpers arrive at once; exactly
// N count, the rest are told the request is complete, and the reward is
// issued exactly once.
func TestFriendHelpConcurrent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.campaign(t, "HELP5", 5, 3, 0)
		r, err := f.svc.StartHelp(ctx, "HELP5", campaigns.MemberRef{MemberID: 1})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, full := 0, 0
		for m := int64(100); m < 130; m++ {
			wg.Go(func() {
				_, err := f.svc.Help(ctx, r.ID, campaigns.MemberRef{MemberID: m})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, campaigns.ErrRequestCompleted):
					full++
				default:
					t.Errorf("helper %d: %v", m, err)
				}
			})
		}
		wg.Wait()
		if ok != 5 || full != 25 {
			t.Fatalf("%d helps counted and %d refused as complete, want 5 and 25", ok, full)
		}
		r, err = f.svc.GetHelpRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != campaigns.HelpCompleted || r.Helpers != 5 || len(r.Helps) != 5 || r.Reward == nil {
			t.Fatalf("request %+v", r)
		}
		if got := f.rew.committed.Load(); got != 1 {
			t.Fatalf("%d rewards committed, want exactly 1", got)
		}
		if n := f.events(t, "help_request.completed", "help-1"); n != 1 {
			t.Fatalf("%d help_request.completed events, want 1", n)
		}
	})
}

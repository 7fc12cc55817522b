package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/omni-retail/omni/internal/campaigns"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// cpMembers says members 1 to 999 exist.
type cpMembers struct{}

func (cpMembers) Exists(_ context.Context, id int64) (bool, error) { return id >= 1 && id <= 999, nil }

// TestHTTPCampaigns drives group-buy deals and a friend-help campaign
// through the router: permissions, problem codes, and a request completed
// with its reward. (Opening and joining groups over HTTP needs the members
// module behind orders; the campaigns package tests cover them against the
// real orders service.)
func TestHTTPCampaigns(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newOrdersEnv(t, d)
		s := e.scene(t, "CP")
		cp := e.app.Modules.Campaigns
		cp.SetMembers(cpMembers{})
		cp.SetRewarder(campaigns.RewarderFunc(func(_ *db.Tx, template string, member int64, source string) (campaigns.Reward, error) {
			return campaigns.Reward{ID: member, Code: template + "/" + source}, nil
		}))
		ends := e.clk.Now().AddDate(0, 0, 7).Format("2006-01-02T15:04:05Z")

		// ── group-buy deals ──
		deal := fmt.Sprintf(`{"code":"GB-TEE","name":"拼团T恤","sku":%q,"group_price":5900,"group_size":3,"ends_at":%q}`, s.sku("TEE-BLK-M"), ends)
		problem(t, e.do(t, "POST", "/api/v1/group-deals", e.keys["ro"], deal), 403, "forbidden")
		problem(t, e.do(t, "POST", "/api/v1/group-deals", e.njd, deal), 403, "forbidden")
		r := e.must(t, 201, "POST", "/api/v1/group-deals", deal)
		if r.body["group_price"] != float64(5900) || r.body["window_minutes"] != float64(1440) || r.body["member_limit"] != float64(1) || r.body["status"] != "active" {
			t.Fatalf("deal: %s", r.raw)
		}
		problem(t, e.do(t, "POST", "/api/v1/group-deals", e.ops, deal), 409, "duplicate_code")
		bad := e.do(t, "POST", "/api/v1/group-deals", e.ops, fmt.Sprintf(`{"code":"GB-BAD","name":"x","sku":%q,"group_price":100,"group_size":1,"ends_at":%q}`, s.sku("TEE-BLK-M"), ends))
		problem(t, bad, 422, "validation_failed")
		if fieldOf(bad) != "group_size" {
			t.Fatalf("bad deal names %q: %s", fieldOf(bad), bad.raw)
		}
		problem(t, e.do(t, "POST", "/api/v1/group-deals", e.ops, `{"code":"X","surprise":1}`), 400, "unknown_field")
		if l := oList(e.must(t, 200, "GET", "/api/v1/group-deals?status=active", ""), "items"); len(l) != 1 || l[0]["code"] != "GB-TEE" {
			t.Fatalf("deal list %v", l)
		}
		e.must(t, 200, "GET", "/api/v1/group-deals/GB-TEE", "")
		problem(t, e.do(t, "GET", "/api/v1/group-deals/NOPE", e.ops, ""), 404, "group_deal_not_found")
		problem(t, e.do(t, "GET", "/api/v1/group-buys/12345", e.ops, ""), 404, "group_not_found")
		pos := e.do(t, "POST", "/api/v1/group-deals/GB-TEE/groups", e.ops, `{"member_id":1,"channel":"pos","mode":"pos","store":"SH-NJD"}`)
		problem(t, pos, 422, "validation_failed")
		if fieldOf(pos) != "mode" {
			t.Fatalf("a till group order names %q: %s", fieldOf(pos), pos.raw)
		}
		problem(t, e.do(t, "POST", "/api/v1/group-deals/GB-TEE/groups", e.ops, `{"member_id":5000,"channel":"app","mode":"pickup","store":"SH-NJD"}`), 404, "member_not_found")
		if l := oList(e.must(t, 200, "GET", "/api/v1/group-deals/GB-TEE/groups?status=forming", ""), "items"); len(l) != 0 {
			t.Fatalf("groups of a new deal: %v", l)
		}
		if r := e.must(t, 200, "POST", "/api/v1/group-deals/GB-TEE/close", ""); r.body["status"] != "closed" {
			t.Fatalf("closed deal: %s", r.raw)
		}
		problem(t, e.do(t, "POST", "/api/v1/group-deals/GB-TEE/groups", e.ops, `{"member_id":1,"channel":"app","mode":"pickup","store":"SH-NJD"}`), 409, "deal_not_active")

		// ── friend-help ──
		camp := fmt.Sprintf(`{"code":"HELP-2","name":"好友助力","reward_template":"TEN-OFF","helpers_needed":2,"ends_at":%q}`, ends)
		problem(t, e.do(t, "POST", "/api/v1/help-campaigns", e.njd, camp), 403, "forbidden")
		if r := e.must(t, 201, "POST", "/api/v1/help-campaigns", camp); r.body["daily_help_limit"] != float64(3) {
			t.Fatalf("campaign: %s", r.raw)
		}
		r = e.must(t, 201, "POST", "/api/v1/help-campaigns/HELP-2/requests", `{"member_id":1}`)
		req := oID(r)
		problem(t, e.do(t, "POST", "/api/v1/help-campaigns/HELP-2/requests", e.ops, `{"member_id":1}`), 409, "help_request_exists")
		path := fmt.Sprintf("/api/v1/help-requests/%d/helps", req)
		problem(t, e.do(t, "POST", path, e.ops, `{"member_id":1}`), 422, "self_help")
		if r := e.must(t, 201, "POST", path, `{"member_id":2}`); r.body["helpers"] != float64(1) || r.body["status"] != "open" {
			t.Fatalf("first help: %s", r.raw)
		}
		problem(t, e.do(t, "POST", path, e.ops, `{"member_id":2}`), 409, "already_helped")
		r = e.must(t, 201, "POST", path, `{"member_id":3}`)
		rew, _ := r.body["reward"].(map[string]any)
		if r.body["status"] != "completed" || rew["code"] != fmt.Sprintf("TEN-OFF/help:%d", req) {
			t.Fatalf("completing help: %s", r.raw)
		}
		problem(t, e.do(t, "POST", path, e.ops, `{"member_id":4}`), 409, "help_request_completed")
		if h := oList(e.must(t, 200, "GET", fmt.Sprintf("/api/v1/help-requests/%d", req), ""), "helps"); len(h) != 2 {
			t.Fatalf("helps %v", h)
		}
	})
}

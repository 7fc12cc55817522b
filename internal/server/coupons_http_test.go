package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// TestHTTPCoupons drives coupons through the router with the real members
// and orders modules: templates and their permissions, claims, checkout
// refusals with their reasons, the same coupon in two concurrent
// checkouts, release on cancel, expiry, and the points mall with an
// Idempotency-Key.
func TestHTTPCoupons(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newOrdersEnv(t, d)
		s := e.scene(t, "CU")
		ctx := context.Background()
		mm := e.app.Modules.Members
		register := func(mobile string) int64 {
			m, err := mm.Register(ctx, members.Registration{Identities: []members.Identity{{Kind: members.Mobile, Value: mobile}}})
			if err != nil {
				t.Fatal(err)
			}
			return m.ID
		}
		alice, bob := register("13700000001"), register("13700000002")
		checkout := func(member int64, code, lines string) string {
			return fmt.Sprintf(`{"channel":"app","mode":"pickup","store":"SH-NJD","customer":{"member_id":%d},"coupons":[%q],"lines":[%s]}`, member, code, lines)
		}

		// ── templates: Manage only ──
		m50 := `{"code":"CU-M50","name":"满300减50","kind":"threshold","amount_off":5000,"min_spend":30000,"valid_days":30,"claimable":true}`
		problem(t, e.do(t, "POST", "/api/v1/coupon-templates", e.keys["ro"], m50), 403, "forbidden")
		problem(t, e.do(t, "POST", "/api/v1/coupon-templates", e.njd, m50), 403, "forbidden")
		e.must(t, 201, "POST", "/api/v1/coupon-templates", m50)
		problem(t, e.do(t, "POST", "/api/v1/coupon-templates", e.ops, m50), 409, "duplicate_code")
		bad := e.do(t, "POST", "/api/v1/coupon-templates", e.ops, `{"code":"CU-BAD","name":"x","kind":"percent","percent_off":0,"valid_days":1}`)
		problem(t, bad, 422, "validation_failed")
		if fieldOf(bad) != "percent_off" {
			t.Fatalf("bad template names %q: %s", fieldOf(bad), bad.raw)
		}
		tee10 := fmt.Sprintf(`{"code":"CU-TEE10","name":"T恤九折","kind":"percent","percent_off":10,"scope":"styles","styles":[%q],"valid_days":1,"claimable":true,"total_limit":5}`, s.sku("TEE"))
		e.must(t, 201, "POST", "/api/v1/coupon-templates", tee10)
		if l := oList(e.must(t, 200, "GET", "/api/v1/coupon-templates?claimable=true", ""), "items"); len(l) != 2 {
			t.Fatalf("claimable templates %v", l)
		}

		// ── claims ──
		claim := func(template string, member int64) string {
			r := e.must(t, 201, "POST", "/api/v1/coupon-templates/"+template+"/claim", fmt.Sprintf(`{"member_id":%d}`, member))
			return r.body["code"].(string)
		}
		aliceM50, aliceTee := claim("CU-M50", alice), claim("CU-TEE10", alice)
		claim("CU-TEE10", bob)
		problem(t, e.do(t, "POST", "/api/v1/coupon-templates/CU-TEE10/claim", e.ops, `{"member_id":999999}`), 404, "member_not_found")

		// ── checkout refusals ──
		r := e.do(t, "POST", "/api/v1/orders", e.ops, checkout(alice, aliceM50, s.line("TEE-BLK-M", 2)))
		problem(t, r, 422, "coupon_threshold_not_met")
		if r.body["threshold"] != float64(30000) || r.body["goods_amount"] != float64(19800) {
			t.Fatalf("threshold refusal: %s", r.raw)
		}
		problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, checkout(bob, aliceTee, s.line("TEE-BLK-M", 1))), 409, "coupon_not_yours")
		problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, fmt.Sprintf(`{"channel":"app","mode":"pickup","store":"SH-NJD","customer":{"mobile":"13800138000"},"coupons":[%q],"lines":[%s]}`,
			aliceTee, s.line("TEE-BLK-M", 1))), 422, "validation_failed") // a guest has no coupons

		// ── the same coupon in two concurrent checkouts: exactly one wins ──
		answers := make([]resp, 2)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				answers[i] = e.do(t, "POST", "/api/v1/orders", e.ops, checkout(alice, aliceTee, s.line("TEE-BLK-M", 1)))
			})
		}
		wg.Wait()
		var won resp
		for _, a := range answers {
			switch a.status {
			case 201:
				if won.status == 201 {
					t.Fatalf("both checkouts used the coupon: %s", a.raw)
				}
				won = a
			case 409:
				problem(t, a, 409, "coupon_used")
			default:
				t.Fatalf("checkout: %d %s", a.status, a.raw)
			}
		}
		if won.status != 201 || won.body["discount"] != float64(990) {
			t.Fatalf("winning order: %s", won.raw)
		}
		adjusted := false
		for _, x := range oList(won, "lines")[0]["adjustments"].([]any) {
			a := x.(map[string]any)
			adjusted = adjusted || (a["step"] == "coupons" && a["code"] == aliceTee && a["amount"] == float64(-990))
		}
		if !adjusted {
			t.Fatalf("no coupon adjustment on the line: %s", won.raw)
		}
		used := oList(e.must(t, 200, "GET", fmt.Sprintf("/api/v1/members/%d/coupons?state=used", alice), ""), "items")
		if len(used) != 1 || used[0]["code"] != aliceTee || oNum(used[0]["order_id"]) != oID(won) {
			t.Fatalf("used coupons %v", used)
		}
		problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, checkout(alice, aliceTee, s.line("TEE-BLK-M", 1))), 409, "coupon_used")

		// ── cancel releases it; after its day it is expired ──
		e.must(t, 200, "POST", oPath(oID(won), "cancel"), `{"reason":"changed my mind"}`)
		if c := e.must(t, 200, "GET", "/api/v1/coupons/"+aliceTee, ""); c.body["status"] != "available" || c.body["order_id"] != nil {
			t.Fatalf("released coupon: %s", c.raw)
		}
		e.clk.Add(24 * time.Hour)
		problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, checkout(alice, aliceTee, s.line("TEE-BLK-M", 1))), 409, "coupon_expired")
		if l := oList(e.must(t, 200, "GET", fmt.Sprintf("/api/v1/members/%d/coupons?state=expired", alice), ""), "items"); len(l) != 1 {
			t.Fatalf("expired coupons %v", l)
		}

		// ── points mall ──
		e.must(t, 201, "POST", "/api/v1/mall/items", `{"code":"CU-MALL50","name":"满减券","kind":"coupon","points":500,"template":"CU-M50"}`)
		e.must(t, 201, "POST", "/api/v1/mall/items", `{"code":"CU-MUG","name":"马克杯","kind":"gift","points":300,"stock":1}`)
		if _, err := mm.Award(ctx, alice, 1000, "test:grant", "test"); err != nil {
			t.Fatal(err)
		}
		redeem := `{"member_id":` + fmt.Sprint(alice) + `,"delivery":"store","store":"SH-NJD"}`
		first := e.must(t, 201, "POST", "/api/v1/mall/items/CU-MUG/redeem", redeem, "Idempotency-Key", "mug-1")
		again := e.do(t, "POST", "/api/v1/mall/items/CU-MUG/redeem", e.ops, redeem, "Idempotency-Key", "mug-1")
		for again.status == 409 && again.body["code"] == "idempotency_key_in_progress" { // the first answer is stored just after
			time.Sleep(20 * time.Millisecond)
			again = e.do(t, "POST", "/api/v1/mall/items/CU-MUG/redeem", e.ops, redeem, "Idempotency-Key", "mug-1")
		}
		if again.status != 201 || again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" || first.body["status"] != "pending" {
			t.Fatalf("a retried redemption: %s then %s", first.raw, again.raw)
		}
		if m, err := mm.Get(ctx, alice); err != nil || m.Points != 700 {
			t.Fatalf("points after one mug: %d %v", m.Points, err)
		}
		problem(t, e.do(t, "POST", "/api/v1/mall/items/CU-MUG/redeem", e.ops, redeem), 409, "mall_out_of_stock")
		problem(t, e.do(t, "POST", "/api/v1/mall/items/CU-MALL50/redeem", e.ops, fmt.Sprintf(`{"member_id":%d}`, bob)), 409, "insufficient_points")
		c := e.must(t, 201, "POST", "/api/v1/mall/items/CU-MALL50/redeem", fmt.Sprintf(`{"member_id":%d}`, alice))
		if codes, _ := c.body["coupons"].([]any); len(codes) != 1 {
			t.Fatalf("coupon redemption: %s", c.raw)
		}
		// Store staff move their own store's collections only.
		path := fmt.Sprintf("/api/v1/mall/redemptions/%d/status", oID(first))
		problem(t, e.do(t, "POST", path, e.xjh, `{"status":"ready"}`), 403, "forbidden_location")
		e.mustAs(t, e.njd, 200, "POST", path, `{"status":"ready"}`)
		e.mustAs(t, e.njd, 200, "POST", path, `{"status":"collected"}`)
		problem(t, e.do(t, "POST", path, e.njd, `{"status":"cancelled"}`), 409, "redemption_state")
		if l := oList(e.must(t, 200, "GET", fmt.Sprintf("/api/v1/mall/redemptions?member=%d", alice), ""), "items"); len(l) != 2 {
			t.Fatalf("alice's redemptions %v", l)
		}
	})
}

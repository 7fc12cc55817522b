package server_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// TestHTTPLoyaltyRoundTrip: one member's points cross channels over HTTP.
// Points earned on an online pickup order are spent at the store's till,
// the till sale earns points in turn, those are spent online, and a
// cancelled online order gives its points back; the ledger stays
// consistent throughout. Earning is 1 point per yuan of goods for the
// regular tier (the default settings); 100 points are worth 1 CNY.
func TestHTTPLoyaltyRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newOrdersEnv(t, d).scene(t, "LY")
		r := e.must(t, 201, "POST", "/api/v1/members", `{"name":"李雷","channel":"app","identities":[{"kind":"mobile","value":"13700137000"}]}`)
		member := oID(r)
		points := func() int64 {
			t.Helper()
			return oNum(e.must(t, 200, "GET", fmt.Sprintf("/api/v1/members/%d", member), "").body["points"])
		}
		pay := func(id int64) {
			t.Helper()
			e.must(t, 200, "POST", oPath(id, "payments"), `{"provider":"test"}`)
		}

		// The pipeline runs the member steps in their documented order.
		online := func(points int64, lines string) string {
			return fmt.Sprintf(`{"channel":"app","mode":"pickup","store":"SH-NJD","customer":{"member_id":%d},"points":%d,"lines":[%s]}`, member, points, lines)
		}
		id, r := e.place(t, online(0, e.line("TEE-BLK-M", 2)))
		if r.body["total"] != float64(19800) {
			t.Fatalf("online order: %s", r.raw)
		}
		pay(id)
		if p := points(); p != 198 {
			t.Fatalf("after a 198 CNY online order: %d points, want 198", p)
		}

		// At the till: 150 points (1.50 CNY) off a 99 CNY T-shirt, the rest in cash.
		sale := fmt.Sprintf(`{"store":"SH-NJD","customer":{"member_id":%d},"points":150,"lines":[{"sku":%q,"qty":1}],"tenders":[{"provider":"offline","method":"cash"}]}`,
			member, e.sku("TEE-WHT-M"))
		r = e.mustAs(t, e.njd, 201, "POST", "/api/v1/pos/sales", sale)
		oWantStatus(t, r, "completed")
		if r.body["total"] != float64(9750) || r.body["paid"] != float64(9750) {
			t.Fatalf("till sale with points: %s", r.raw)
		}
		lines := oList(r, "lines")
		steps := []string{}
		for _, a := range lines[0]["adjustments"].([]any) {
			adj := a.(map[string]any)
			steps = append(steps, adj["step"].(string))
			if adj["step"] == "points" && adj["amount"] != float64(-150) {
				t.Fatalf("points adjustment %v, want -150 fen", adj)
			}
		}
		if !slices.Contains(steps, "points") {
			t.Fatalf("till sale line adjustments %v: no points step", steps)
		}
		// 198 − 150 spent + 97 earned on 97.50 CNY of goods.
		if p := points(); p != 145 {
			t.Fatalf("after the till sale: %d points, want 145", p)
		}

		// Online again: spend what the till earned, then cancel: the points
		// come back and nothing was earned.
		id, r = e.place(t, online(145, e.line("TEE-BLK-M", 1)))
		if r.body["total"] != float64(9755) {
			t.Fatalf("online order with 145 points: %s", r.raw)
		}
		if p := points(); p != 0 {
			t.Fatalf("after spending everything online: %d points, want 0", p)
		}
		// More points than the balance: 409, and nothing is placed.
		problem(t, e.do(t, "POST", "/api/v1/orders", e.ops, online(1, e.line("TEE-BLK-M", 1))), 409, "insufficient_points")
		e.must(t, 200, "POST", oPath(id, "cancel"), `{"reason":"changed my mind"}`)
		if p := points(); p != 145 {
			t.Fatalf("after cancelling the online order: %d points, want 145", p)
		}
		// A duplicate registered at the till and merged into the member:
		// its old id still checks out, for the survivor and with the
		// survivor's points.
		dup := oID(e.must(t, 201, "POST", "/api/v1/members", `{"channel":"pos","identities":[{"kind":"card","value":"C-0001"}]}`))
		e.must(t, 200, "POST", fmt.Sprintf("/api/v1/members/%d/merge", member), fmt.Sprintf(`{"from":%d,"reason":"same person"}`, dup))
		_, r = e.place(t, fmt.Sprintf(`{"channel":"app","mode":"pickup","store":"SH-NJD","customer":{"member_id":%d},"points":100,"lines":[%s]}`, dup, e.line("TEE-BLK-M", 1)))
		if oNum(r.body["customer"].(map[string]any)["member_id"]) != member || r.body["total"] != float64(9800) {
			t.Fatalf("order with a merged member's id: %s", r.raw)
		}
		if p := points(); p != 45 {
			t.Fatalf("after spending 100 points through the merged id: %d points, want 45", p)
		}
		rep := e.must(t, 200, "GET", "/api/v1/loyalty/ledger/check", "")
		if rep.body["consistent"] != true || rep.body["negative_balances"] != float64(0) {
			t.Fatalf("ledger check: %s", rep.raw)
		}
		e.ledgerOK(t)
	})
}

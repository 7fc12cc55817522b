package members_test

import (
	"context"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

func TestBulk(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		existing := f.member(t)
		day := 24 * time.Hour
		t0 := start.Add(-800 * day) // 2024-01-01
		in := []members.BulkMember{
			{Name: "张伟", Identities: []members.Identity{{Kind: members.Mobile, Value: "13600000001"}}, Birthday: "1992-05-04", Gender: "male",
				CreatedAt: t0, ConsentSMS: true, Tags: []string{"white-collar"},
				History: []members.BulkMove{
					{At: t0.Add(day), Kind: members.KindEarnOrder, Points: 300, Growth: 300, Order: 1, Paid: 30000},
					{At: t0.Add(2 * day), Kind: members.KindCheckIn, Points: 5, Growth: 1},
					{At: t0.Add(3 * day), Kind: members.KindCheckIn, Points: 5, Growth: 1},
					{At: t0.Add(10 * day), Kind: members.KindSpendOrder, Points: -200, Order: 2},
					// 2024's points expire at the end of 2025: 110 left then.
					{At: start.Add(-30 * day), Kind: members.KindEarnOrder, Points: 6000, Growth: 6000, Order: 3},
				}},
			{Name: "学生", Identities: []members.Identity{{Kind: members.Mobile, Value: "13600000002"}, {Kind: members.UnionID, Value: "u-2"}},
				CreatedAt: start.Add(-10 * day)},
		}
		res, err := f.mem.Bulk(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.IDs) != 2 || res.IDs[0] <= existing || res.Expired != 110 || res.Upgrades != 1 {
			t.Fatalf("result %+v", res)
		}
		m, err := f.mem.Get(ctx, res.IDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if m.Points != 6000 || m.Growth != 6302 || m.Tier.Code != "gold" || m.CheckIn.Streak != 0 || m.Birthday != "1992-05-04" {
			t.Fatalf("loaded %+v", m)
		}
		var streak int
		if err := d.QueryRow(ctx, `SELECT MAX(streak) FROM member_checkins WHERE member_id = ?`, res.IDs[0]).Scan(&streak); err != nil || streak != 2 {
			t.Fatalf("check-in streak %d (%v), want 2", streak, err)
		}
		var earned, base int64
		if err := d.QueryRow(ctx, `SELECT points_earned, base FROM member_orders WHERE order_id = 1`).Scan(&earned, &base); err != nil || earned != 300 || base != 30000 {
			t.Fatalf("order 1's record: earned %d, base %d (%v)", earned, base, err)
		}
		f.consistent(t)
		// The store keeps working after the load: new members, spends.
		after := f.member(t)
		if after <= res.IDs[1] {
			t.Fatalf("new member id %d after the load's %d", after, res.IDs[1])
		}
		if _, err := f.mem.Spend(ctx, res.IDs[0], 100, "after", "x"); err != nil {
			t.Fatal(err)
		}
		f.consistent(t)
		// Refusals: a duplicate identity, an overspend.
		bad := []members.BulkMember{{Identities: []members.Identity{{Kind: members.Mobile, Value: "13600000003"}}, CreatedAt: start,
			History: []members.BulkMove{{At: start, Kind: members.KindSpend, Points: -1}}}}
		if _, err := f.mem.Bulk(ctx, bad); err == nil {
			t.Fatal("an overspending history was loaded")
		}
		dup := []members.BulkMember{{Identities: []members.Identity{{Kind: members.Mobile, Value: "13600000001"}}, CreatedAt: start}}
		if _, err := f.mem.Bulk(ctx, dup); err == nil {
			t.Fatal("a taken mobile number was loaded")
		}
		var n int
		_ = d.QueryRow(ctx, `SELECT COUNT(*) FROM members`).Scan(&n)
		if n != 4 {
			t.Fatalf("%d members after refused loads, want 4", n)
		}
	})
}

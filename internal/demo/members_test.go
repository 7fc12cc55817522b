package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// testRules are the members module's default tiers and settings
// (migration 0006), for the tests that run without a store.
func testRules() Rules {
	return Rules{
		Tiers: []members.Tier{
			{Level: 0, Code: "regular", Name: "普通", PointsMultiplier: 100},
			{Level: 1, Code: "silver", Name: "银卡", GrowthThreshold: 1000, DiscountPct: 2, PointsMultiplier: 120, BirthdayPoints: 100, MemberSales: true},
			{Level: 2, Code: "gold", Name: "金卡", GrowthThreshold: 5000, DiscountPct: 5, PointsMultiplier: 150, BirthdayPoints: 300, BirthdayCoupon: "BIRTHDAY-GOLD", FreeShipping: true, MemberSales: true},
			{Level: 3, Code: "platinum", Name: "白金", GrowthThreshold: 20000, DiscountPct: 8, PointsMultiplier: 200, BirthdayPoints: 800, BirthdayCoupon: "BIRTHDAY-PLATINUM", FreeShipping: true, PriorityShipping: true, MemberSales: true},
			{Level: 4, Code: "diamond", Name: "钻石", GrowthThreshold: 50000, DiscountPct: 12, PointsMultiplier: 300, BirthdayPoints: 2000, BirthdayCoupon: "BIRTHDAY-DIAMOND", FreeShipping: true, PriorityShipping: true, MemberSales: true},
		},
		Settings: members.Settings{EarnPointsPerYuan: 1, GrowthPerYuan: 1, RedeemPointsPerYuan: 100, RedeemCapPct: 50, CheckinPoints: 5, CheckinGrowth: 1,
			StreakBonuses: []members.StreakBonus{{Days: 3, Points: 2}, {Days: 7, Points: 5}}, SharePoints: 10, ShareGrowth: 1, ShareDailyCap: 3,
			Expiry: members.ExpiryEndOfFollowingYear, ExpiryDays: 730, ReevaluateDays: 90, GrowthWindowDays: 365},
	}
}

func TestMembersAreDeterministic(t *testing.T) {
	t.Parallel()
	a, b := MakeMembers(MakeHistory(7, 0.02), testRules()), MakeMembers(MakeHistory(7, 0.02), testRules())
	if da, dbb := a.Digest(), b.Digest(); da != dbb {
		t.Fatalf("two member plans of seed 7 differ: %s vs %s", da, dbb)
	}
	if a.Summary() != b.Summary() {
		t.Fatalf("summaries differ: %+v vs %+v", a.Summary(), b.Summary())
	}
	if MakeMembers(MakeHistory(8, 0.02), testRules()).Digest() == a.Digest() {
		t.Fatal("seeds 7 and 8 give the same members")
	}
	double := testRules()
	double.Settings.EarnPointsPerYuan = 2
	if MakeMembers(MakeHistory(7, 0.02), double).Digest() == a.Digest() {
		t.Fatal("another earn rate gives the same points history")
	}
}

// TestMemberPlan checks the plan's members against the history and the
// rules, recomputing what the live programme would have recorded.
func TestMemberPlan(t *testing.T) {
	t.Parallel()
	rules := testRules()
	h := MakeHistory(2026, 0.05)
	p := MakeMembers(h, rules)
	r := p.localRefs()
	asOf, _ := time.ParseInLocation(time.DateOnly, AsOf, network.Shanghai)
	checkinFrom := asOf.AddDate(0, 0, 1-checkinWindow).UnixMilli()

	// Who: every buyer, and a persona-dependent share of the others.
	bought := map[int32]bool{}
	firstOrder := map[int32]int64{}
	for i := range h.orders {
		if c := h.orders[i].cust; c >= 0 {
			bought[c] = true
			if f, ok := firstOrder[c]; !ok || h.orders[i].created < f {
				firstOrder[c] = h.orders[i].created
			}
		}
	}
	var pool, joined [3]int
	for ci := range h.customers {
		isMember := p.byCust[ci] >= 0
		if bought[int32(ci)] && !isMember {
			t.Fatalf("customer %d bought and is not a member", ci)
		}
		if !bought[int32(ci)] {
			pi := personaIndex(h.customers[ci].Persona)
			pool[pi]++
			if isMember {
				joined[pi]++
			}
		}
	}
	for pi := range pool {
		share := float64(joined[pi]) / float64(pool[pi])
		if share < regNoBuy[pi]-0.1 || share > regNoBuy[pi]+0.1 {
			t.Errorf("%s: %.2f of the customers without an order registered, want about %.2f", personas[pi].persona, share, regNoBuy[pi])
		}
	}

	idents := map[string]int{}
	var tiers [5]int
	for i := range p.members {
		m := &p.members[i]
		c := &h.customers[m.cust]
		b := p.bulk(i, r)
		where := fmt.Sprintf("member %d (customer %d)", i, m.cust)
		// Profile and persona band.
		birth, err := time.ParseInLocation(time.DateOnly, b.Birthday, network.Shanghai)
		if err != nil {
			t.Fatalf("%s: birthday %q", where, b.Birthday)
		}
		age := asOf.Year() - birth.Year()
		if asOf.YearDay() < birth.YearDay() {
			age--
		}
		tr := personas[m.persona]
		if tr.persona != c.Persona || age < tr.minAge || age > tr.maxAge {
			t.Errorf("%s: %s aged %d, outside %d–%d", where, tr.persona, age, tr.minAge, tr.maxAge)
		}
		if b.Name != c.Name || b.City != c.City || b.Preferred != r.loc[m.home] || sites[m.home].code != c.HomeStore ||
			(b.Gender == "female") != (c.Gender == "F") {
			t.Errorf("%s: profile %+v does not match the pool's %+v", where, b, *c)
		}
		// Registration: the first order, else within 90 days of Since.
		if f, ok := firstOrder[m.cust]; ok {
			if m.created != f {
				t.Errorf("%s: registered at %d, first order at %d", where, m.created, f)
			}
		} else {
			since, _ := time.ParseInLocation(time.DateOnly, c.Since, network.Shanghai)
			if m.created < since.UnixMilli() || m.created >= since.AddDate(0, 0, 91).UnixMilli() {
				t.Errorf("%s: registered at %s, since %s", where, time.UnixMilli(m.created).In(network.Shanghai), c.Since)
			}
		}
		// Identities: unique, by use.
		kinds := map[members.IdentityKind]bool{}
		for _, id := range b.Identities {
			k := string(id.Kind) + "|" + id.App + "|" + id.Value
			if prev, dup := idents[k]; dup {
				t.Fatalf("%s: identity %s also given to member %d", where, k, prev)
			}
			idents[k] = i
			kinds[id.Kind] = true
		}
		mini, pos := m.channel == chMini, m.channel == chPOS
		for _, oi := range m.orders {
			mini = mini || h.orders[oi].channel == chMini
			pos = pos || h.orders[oi].channel == chPOS
		}
		if !kinds[members.Mobile] || b.Identities[0].Value != c.Mobile || !mobileRE.MatchString(c.Mobile) ||
			(mini && !kinds[members.UnionID]) || kinds[members.UnionID] != kinds[members.OpenID] || kinds[members.Card] != pos {
			t.Errorf("%s: identities %+v (mini-program %v, till %v)", where, b.Identities, mini, pos)
		}

		// The points history, replayed here from the moves alone.
		sources := map[string]bool{}
		var points, growth int64
		tier := 0
		type lot struct{ exp, left int64 }
		var lots []lot
		earned := map[int32]int64{}
		reversed := map[int32]int64{}
		lastCheckin := ""
		for k, mv := range b.History {
			at := mv.At.UnixMilli()
			if at < m.created || at >= p.cutoff || (k > 0 && mv.At.Before(b.History[k-1].At)) {
				t.Fatalf("%s: move %d at %s: out of order or outside the member's time", where, k, mv.At)
			}
			if sources[mv.Source] || mv.Source == "" {
				t.Fatalf("%s: source %q used twice", where, mv.Source)
			}
			sources[mv.Source] = true
			for j := range lots {
				if lots[j].exp <= at {
					points -= lots[j].left
					lots[j].left = 0
				}
			}
			mo := m.moves[k]
			switch mv.Kind {
			case members.KindEarnOrder:
				o := &h.orders[mo.order]
				goods := o.total - o.shipping
				want := goods * int64(rules.Settings.EarnPointsPerYuan) * int64(rules.Tiers[tier].PointsMultiplier) / 10_000
				if mv.Points != want || mv.Growth != goods*int64(rules.Settings.GrowthPerYuan)/100 || o.cust != m.cust || o.paid == 0 ||
					at != o.paidAt || mv.Order != o.id {
					t.Errorf("%s: order %d earned %d points, %d growth at %s; want %d points at tier %d when paid", where, o.id, mv.Points, mv.Growth, mv.At, want, tier)
				}
				earned[mo.order] = mv.Points
			case members.KindReverseOrder:
				reversed[mo.order] -= mv.Points
				if reversed[mo.order] > earned[mo.order] || mv.Points > 0 || mv.Growth > 0 {
					t.Errorf("%s: order %d: %d points taken back of %d earned", where, h.orders[mo.order].id, reversed[mo.order], earned[mo.order])
				}
			case members.KindCheckIn:
				if at < checkinFrom || shanghaiDay(at) == lastCheckin {
					t.Errorf("%s: check-in at %s", where, mv.At)
				}
				lastCheckin = shanghaiDay(at)
			case members.KindBirthday:
				if mv.Points != rules.Tiers[tier].BirthdayPoints || shanghaiDay(at)[5:] != b.Birthday[5:] && b.Birthday[5:] != "02-29" {
					t.Errorf("%s: birthday gift of %d points on %s (born %s, tier %d)", where, mv.Points, shanghaiDay(at), b.Birthday, tier)
				}
			case members.KindSpend:
				if !strings.HasPrefix(mv.Source, "mall:") || mv.Points >= 0 {
					t.Errorf("%s: spend %+v", where, mv)
				}
			case members.KindShare:
			default:
				t.Errorf("%s: move kind %s", where, mv.Kind)
			}
			if mv.Points < 0 {
				need := -mv.Points
				if need > points {
					t.Fatalf("%s: move %d takes %d of %d points", where, k, need, points)
				}
				for j := range lots {
					n := min(need, lots[j].left)
					lots[j].left -= n
					need -= n
				}
			} else if mv.Points > 0 {
				lots = append(lots, lot{exp: expiry(&rules.Settings, at), left: mv.Points})
			}
			points += mv.Points
			growth += mv.Growth
			if growth < 0 {
				t.Fatalf("%s: growth %d", where, growth)
			}
			tier = max(tier, tierFor(rules.Tiers, growth))
		}
		for j := range lots {
			if lots[j].exp < p.cutoff {
				points -= lots[j].left
			}
		}
		if points != m.points || growth != m.growth || tier != int(m.tier) {
			t.Errorf("%s: replayed to %d points, %d growth, tier %d; the plan says %d, %d, %d", where, points, growth, tier, m.points, m.growth, m.tier)
		}
		tiers[m.tier]++
	}
	// Tiers: most members regular or silver, very few diamond.
	n := len(p.members)
	if low := tiers[0] + tiers[1]; float64(low) < 0.85*float64(n) || tiers[1] == 0 || tiers[2] == 0 || float64(tiers[4]) > 0.01*float64(n) {
		t.Errorf("tiers %v of %d members", tiers, n)
	}
	t.Logf("%d members, tiers %v", n, tiers)

	// Coupons: only on their member's orders, once, within their terms.
	s := p.Summary()
	if s.CouponsUsed == 0 || s.CouponsExpired == 0 || s.Coupons-s.CouponsUsed-s.CouponsExpired == 0 {
		t.Errorf("coupons: %d issued, %d used, %d expired: want some of each state", s.Coupons, s.CouponsUsed, s.CouponsExpired)
	}
	usedBy := map[int32]bool{}
	codes := map[string]bool{}
	for k := range p.coupons {
		c := &p.coupons[k]
		tm := &p.templates[c.tmpl]
		if codes[c.code] || len(c.code) != 12 || strings.Trim(c.code, couponAlphabet) != "" {
			t.Fatalf("coupon %d: code %q repeated or malformed", k, c.code)
		}
		codes[c.code] = true
		if c.from < c.issued || c.until <= c.from || c.issued >= p.cutoff || c.issued < p.members[c.member].created {
			t.Errorf("coupon %s: issued %d, valid %d..%d", c.code, c.issued, c.from, c.until)
		}
		if c.order == noOrder {
			continue
		}
		o := &h.orders[c.order]
		if usedBy[c.order] || p.byCust[o.cust] != c.member || o.status() == stCancelled || o.paid == 0 ||
			o.created < c.from || o.created >= c.until || o.discount < tm.off || o.subtotal-o.discount+tm.off < tm.min {
			t.Errorf("coupon %s (%s) used on order %d of customer %d: not its member's, used twice, or outside its terms", c.code, tm.code, o.id, o.cust)
		}
		usedBy[c.order] = true
	}
	t.Logf("%s", s)
}

func TestWechatIDsAndCardsAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := range int32(CustomerCount) {
		for _, v := range []string{wechatID(2026, i, 0x756e696f), cardNo(2026, i)} {
			if seen[v] {
				t.Fatalf("customer %d: %s repeats", i, v)
			}
			seen[v] = true
		}
	}
	if id := wechatID(2026, 1, 0x756e696f); len(id) != 28 || id[0] != 'o' {
		t.Fatalf("unionid %q", id)
	}
}

// TestLoadMembers loads the members of a small history with its orders
// and coupons, and checks the stored books.
func TestLoadMembers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(d)
		w.generate(t, 2026)
		now := func() time.Time { return time.Date(2026, 10, 31, 2, 0, 0, 0, time.UTC) }
		mem := members.NewService(d, outbox.New(now), w.net, w.cat, now)
		mdeps := MemberDeps{DB: d, Members: mem, Network: w.net}
		start := time.Now()
		ml, err := LoadMembers(ctx, mdeps, 2026, 0.01)
		if err != nil || !ml.Wrote() {
			t.Fatalf("LoadMembers: %v, %v (%s)", ml.Wrote(), err, ml.Skipped())
		}
		if err := ml.WriteCoupons(ctx); err == nil {
			t.Fatal("WriteCoupons before the history succeeded")
		}
		deps := w.historyDeps()
		deps.Members = ml
		hs, wrote, err := LoadHistory(ctx, deps, 2026, 0.01)
		if err != nil || !wrote {
			t.Fatalf("LoadHistory: %v, %v", wrote, err)
		}
		if err := ml.WriteCoupons(ctx); err != nil {
			t.Fatal(err)
		}
		p := ml.plan
		s := ml.Summary()
		t.Logf("%s: %d orders, %s in %s", d.Engine, hs.Orders, s, time.Since(start).Round(time.Millisecond))

		count := func(q string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := d.QueryRow(ctx, q, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		if n := count(`SELECT COUNT(*) FROM members`); n != int64(len(p.members)) || n != int64(s.Members) {
			t.Fatalf("%d members stored, %d planned", n, len(p.members))
		}
		var memberOrders int64
		for i := range p.h.orders {
			if p.h.orders[i].cust >= 0 {
				memberOrders++
			}
		}
		if n := count(`SELECT COUNT(*) FROM orders WHERE member_id IS NOT NULL`); n != memberOrders || n == 0 {
			t.Fatalf("%d orders name a member; the history has %d orders of pool customers", n, memberOrders)
		}
		for _, c := range []struct{ name, q string }{
			// Orders and their members.
			{"orders of unknown members", `SELECT COUNT(*) FROM orders o LEFT JOIN members m ON m.id = o.member_id WHERE o.member_id IS NOT NULL AND m.id IS NULL`},
			{"orders of members with another mobile", `SELECT COUNT(*) FROM orders o WHERE o.member_id IS NOT NULL AND NOT EXISTS
				(SELECT 1 FROM member_identities i WHERE i.member_id = o.member_id AND i.kind = 'mobile' AND i.value = o.customer_mobile)`},
			{"guest orders of members", `SELECT COUNT(*) FROM orders o WHERE o.member_id IS NULL AND EXISTS
				(SELECT 1 FROM member_identities i WHERE i.kind = 'mobile' AND i.value = o.customer_mobile)`},
			{"members registered after their first order", `SELECT COUNT(*) FROM members m JOIN
				(SELECT member_id, MIN(created_at) AS f FROM orders WHERE member_id IS NOT NULL GROUP BY member_id) o ON o.member_id = m.id WHERE m.created_at <> o.f`},
			// The books: balance = Σ live lots = Σ ledger, growth = Σ ledger.
			{"balances off their lots", `SELECT COUNT(*) FROM members m WHERE m.points <> COALESCE((SELECT SUM(remaining) FROM points_lots l WHERE l.member_id = m.id), 0)`},
			{"balances off their ledger", `SELECT COUNT(*) FROM members m WHERE m.points <> COALESCE((SELECT SUM(points) FROM points_ledger l WHERE l.member_id = m.id), 0)
				OR m.growth <> COALESCE((SELECT SUM(growth) FROM points_ledger l WHERE l.member_id = m.id), 0)`},
			{"negative balances", `SELECT COUNT(*) FROM members WHERE points < 0 OR growth < 0`},
			{"ledger rows of another member's order", `SELECT COUNT(*) FROM points_ledger l LEFT JOIN orders o ON o.id = l.order_id
				WHERE l.order_id IS NOT NULL AND (o.id IS NULL OR o.member_id <> l.member_id)`},
			{"orders earning twice", `SELECT COUNT(*) FROM (SELECT order_id FROM points_ledger WHERE kind = 'earn_order' GROUP BY order_id HAVING COUNT(*) > 1) x`},
			{"unpaid orders earning", `SELECT COUNT(*) FROM points_ledger l JOIN orders o ON o.id = l.order_id WHERE l.kind = 'earn_order' AND o.paid = 0`},
			{"orders taking back more than they earned", `SELECT COUNT(*) FROM (SELECT order_id FROM points_ledger WHERE order_id IS NOT NULL
				GROUP BY order_id HAVING SUM(points) < 0) x`},
			// Coupons: their owner's orders, one an order, within their terms.
			{"coupons used on another member's order", `SELECT COUNT(*) FROM coupons c JOIN orders o ON o.id = c.order_id WHERE o.member_id <> c.member_id`},
			{"orders using two coupons", `SELECT COUNT(*) FROM (SELECT order_id FROM coupons WHERE order_id IS NOT NULL GROUP BY order_id HAVING COUNT(*) > 1) x`},
			{"coupons used outside their terms", `SELECT COUNT(*) FROM coupons c JOIN orders o ON o.id = c.order_id JOIN coupon_templates t ON t.id = c.template_id
				WHERE c.status <> 'used' OR c.used_at <> o.created_at OR c.used_at < c.valid_from OR c.used_at >= c.valid_until OR o.status = 'cancelled'
				OR o.discount < t.amount_off OR o.subtotal - o.discount + t.amount_off < t.min_spend`},
			{"coupons of members registered later", `SELECT COUNT(*) FROM coupons c JOIN members m ON m.id = c.member_id WHERE c.issued_at < m.created_at`},
			{"templates miscounted", `SELECT COUNT(*) FROM coupon_templates t WHERE t.issued <> (SELECT COUNT(*) FROM coupons c WHERE c.template_id = t.id)`},
			{"member counts off", `SELECT COUNT(*) FROM coupon_member_counts k WHERE k.issued <> (SELECT COUNT(*) FROM coupons c
				WHERE c.template_id = k.template_id AND c.member_id = k.member_id)`},
			{"per-member limits broken", `SELECT COUNT(*) FROM coupon_member_counts k JOIN coupon_templates t ON t.id = k.template_id WHERE t.per_member > 0 AND k.issued > t.per_member`},
			{"birthday coupons of other tiers", `SELECT COUNT(*) FROM coupons c JOIN coupon_templates t ON t.id = c.template_id
				WHERE c.source LIKE 'birthday:%' AND t.code NOT IN (SELECT birthday_coupon FROM member_tiers)`},
			// The points mall: each redemption spent its points once.
			{"redemptions without their spend", `SELECT COUNT(*) FROM mall_redemptions r WHERE NOT EXISTS (SELECT 1 FROM points_ledger l
				WHERE l.member_id = r.member_id AND l.source = 'mall:' || CAST(r.id AS TEXT) AND l.points = -r.points AND l.kind = 'spend')`},
			{"spends without their redemption", `SELECT COUNT(*) FROM points_ledger l WHERE l.kind = 'spend' AND NOT EXISTS
				(SELECT 1 FROM mall_redemptions r WHERE 'mall:' || CAST(r.id AS TEXT) = l.source AND r.member_id = l.member_id)`},
			{"mall coupons not issued by their redemption", `SELECT COUNT(*) FROM mall_redemptions r JOIN mall_items i ON i.id = r.item_id
				WHERE i.kind = 'coupon' AND NOT EXISTS (SELECT 1 FROM coupons c WHERE c.member_id = r.member_id AND c.template_id = i.template_id
				AND c.source = 'mall:' || CAST(r.id AS TEXT) || ':1' AND r.coupon_codes LIKE '%' || c.code || '%')`},
			{"items miscounted", `SELECT COUNT(*) FROM mall_items i WHERE i.redeemed <> (SELECT COUNT(*) FROM mall_redemptions r WHERE r.item_id = i.id)`},
		} {
			if n := count(c.q); n != 0 {
				t.Errorf("%s: %d", c.name, n)
			}
		}
		if rep, err := mem.CheckLedger(ctx); err != nil || !rep.Consistent {
			t.Errorf("CheckLedger: %+v, %v", rep, err)
		}
		if count(`SELECT COUNT(*) FROM coupons WHERE status = 'used'`) == 0 || count(`SELECT COUNT(*) FROM points_ledger WHERE kind = 'expire'`) == 0 ||
			count(`SELECT COUNT(*) FROM points_ledger WHERE kind = 'reverse_order'`) == 0 || count(`SELECT COUNT(*) FROM member_checkins`) == 0 {
			t.Error("no used coupon, expired lot, reversal or check-in")
		}

		// Earnings: what OrderPaid would have awarded at the tier held then
		// (the tier before the order, replayed from the ledger's growth).
		tiers, err := mem.Tiers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		goods := map[int64]int64{}
		rows, err := d.Query(ctx, `SELECT id, total - shipping_fee FROM orders WHERE member_id IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, g int64
			if err := rows.Scan(&id, &g); err != nil {
				t.Fatal(err)
			}
			goods[id] = g
		}
		rows.Close()
		rows, err = d.Query(ctx, `SELECT member_id, kind, points, growth_after, COALESCE(order_id, 0) FROM points_ledger ORDER BY member_id, id`)
		if err != nil {
			t.Fatal(err)
		}
		member, tier, earns := int64(0), 0, 0
		for rows.Next() {
			var m, pts, ga, order int64
			var kind string
			if err := rows.Scan(&m, &kind, &pts, &ga, &order); err != nil {
				t.Fatal(err)
			}
			if m != member {
				member, tier = m, 0
			}
			if kind == members.KindEarnOrder {
				earns++
				if want := goods[order] * int64(tiers[tier].PointsMultiplier) / 10_000; pts != want {
					t.Errorf("member %d: order %d earned %d points, want %d at tier %s", m, order, pts, want, tiers[tier].Code)
				}
			}
			tier = max(tier, tierFor(tiers, ga))
		}
		rows.Close()
		if earns == 0 {
			t.Fatal("no order earned points")
		}

		// Tiers as planned: most regular or silver.
		var byTier [5]int64
		for lvl := range byTier {
			byTier[lvl] = count(`SELECT COUNT(*) FROM members WHERE tier = ?`, lvl)
		}
		if byTier != [5]int64{int64(s.Tiers[0]), int64(s.Tiers[1]), int64(s.Tiers[2]), int64(s.Tiers[3]), int64(s.Tiers[4])} ||
			float64(byTier[0]+byTier[1]) < 0.8*float64(s.Members) {
			t.Errorf("tiers stored %v, planned %v", byTier, s.Tiers)
		}

		// Again: nothing is written twice.
		before := count(`SELECT (SELECT COUNT(*) FROM members) + (SELECT COUNT(*) FROM points_ledger) + (SELECT COUNT(*) FROM coupons) + (SELECT COUNT(*) FROM mall_redemptions)`)
		again, err := LoadMembers(ctx, mdeps, 2026, 0.01)
		if err != nil || again.Wrote() || !strings.Contains(again.Skipped(), "members") {
			t.Fatalf("LoadMembers on a store with members: %v, %v (%q)", again.Wrote(), err, again.Skipped())
		}
		if err := again.WriteCoupons(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ml.WriteCoupons(ctx); err != nil {
			t.Fatal(err)
		}
		if after := count(`SELECT (SELECT COUNT(*) FROM members) + (SELECT COUNT(*) FROM points_ledger) + (SELECT COUNT(*) FROM coupons) + (SELECT COUNT(*) FROM mall_redemptions)`); after != before {
			t.Fatalf("%d rows after a re-run, %d before", after, before)
		}
		// The sequences moved on: a new member and redemption get fresh ids.
		id, err := mem.Register(ctx, members.Registration{Identities: []members.Identity{{Kind: members.Mobile, Value: "19999999999"}}})
		if err != nil || id.ID != int64(len(p.members))+1 {
			t.Fatalf("a new member got id %d (%v) after %d", id.ID, err, len(p.members))
		}
		if slices.Contains(ml.ids, 0) {
			t.Fatal("a member without an id")
		}
	})
}

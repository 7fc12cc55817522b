package members_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func ptr[T any](v T) *T { return &v }

func TestRegister(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		first, err := f.mem.Register(ctx, members.Registration{Name: "王芳", Channel: "mini", Store: "SH-NJD",
			Identities: []members.Identity{{Kind: members.Mobile, Value: "13800138000"}, {Kind: members.OpenID, App: "wx01", Value: "o-abc"},
				{Kind: members.Email, Value: "Wang.Fang@Example.com"}},
			Profile: members.Profile{Birthday: ptr("1995-06-01"), Gender: ptr("female"), City: ptr("上海"), Preferred: ptr("SH-XJH"),
				Tags: &[]string{"white-collar", "white-collar", "coffee"}, Consent: &members.ConsentPatch{SMS: ptr(true)}}})
		if err != nil {
			t.Fatal(err)
		}
		if first.Tier.Code != "regular" || first.Store != "SH-NJD" || first.Preferred != "SH-XJH" || first.Birthday != "1995-06-01" ||
			!slices.Equal(first.Tags, []string{"white-collar", "coffee"}) || !first.Consent.SMS.Granted || first.Consent.SMS.At == nil ||
			first.Consent.Email.Granted || len(first.Identities) != 3 || first.Identities[2].Value != "wang.fang@example.com" {
			t.Fatalf("registered %+v", first)
		}
		tests := []struct {
			name  string
			ids   []members.Identity
			kind  errs.Kind
			code  string
			field string
		}{
			{"invalid mobile", []members.Identity{{Kind: members.Mobile, Value: "12800138000"}}, errs.Invalid, "invalid_mobile", "identities[0].value"},
			{"short mobile", []members.Identity{{Kind: members.Card, Value: "C1"}, {Kind: members.Mobile, Value: "1380013800"}}, errs.Invalid, "invalid_mobile", "identities[1].value"},
			{"taken mobile", []members.Identity{{Kind: members.Mobile, Value: "13800138000"}}, errs.Conflict, "identity_taken", "identities[0]"},
			{"taken openid", []members.Identity{{Kind: members.Mobile, Value: "13900139000"}, {Kind: members.OpenID, App: "wx01", Value: "o-abc"}}, errs.Conflict, "identity_taken", "identities[1]"},
			{"taken email in other case", []members.Identity{{Kind: members.Email, Value: "WANG.FANG@example.com"}}, errs.Conflict, "identity_taken", "identities[0]"},
			{"openid without app", []members.Identity{{Kind: members.OpenID, Value: "o-x"}}, errs.Invalid, "validation_failed", "identities[0].app"},
			{"bad email", []members.Identity{{Kind: members.Email, Value: "nobody"}}, errs.Invalid, "validation_failed", "identities[0].value"},
			{"unknown kind", []members.Identity{{Kind: "qq", Value: "1"}}, errs.Invalid, "validation_failed", "identities[0].kind"},
			{"none", nil, errs.Invalid, "validation_failed", "identities"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.mem.Register(ctx, members.Registration{Identities: tc.ids})
				wantCode(t, err, tc.kind, tc.code)
				e, _ := errs.As(err)
				field := ""
				if len(e.Fields) > 0 {
					field = e.Fields[0].Field
				} else if s, ok := e.Extra["field"].(string); ok {
					field = s
				}
				if len(field) < len(tc.field) || field[:len(tc.field)] != tc.field {
					t.Fatalf("field %q, want %q", field, tc.field)
				}
				if tc.code == "identity_taken" && e.Extra["member_id"] != first.ID {
					t.Fatalf("identity_taken names member %v, want %d", e.Extra["member_id"], first.ID)
				}
			})
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM members`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d members stored (%v); refused registrations must store nothing", n, err)
		}
		// Find by identity; bind; update.
		got, err := f.mem.Find(ctx, members.Identity{Kind: members.OpenID, App: "wx01", Value: "o-abc"})
		if err != nil || got.ID != first.ID {
			t.Fatalf("find by openid: %+v %v", got.ID, err)
		}
		if _, err := f.mem.Find(ctx, members.Identity{Kind: members.OpenID, App: "wx02", Value: "o-abc"}); !isCode(err, "member_not_found") {
			t.Fatalf("an openid of another app: %v", err)
		}
		if _, err := f.mem.Bind(ctx, first.ID, members.Identity{Kind: members.Card, Value: "VIP-0001"}); err != nil {
			t.Fatal(err)
		}
		up, err := f.mem.Update(ctx, first.ID, members.ProfilePatch{Profile: members.Profile{City: ptr("杭州"), Consent: &members.ConsentPatch{SMS: ptr(false), Email: ptr(true)}}})
		if err != nil || up.City != "杭州" || up.Consent.SMS.Granted || !up.Consent.Email.Granted || len(up.Identities) != 4 {
			t.Fatalf("updated %+v %v", up, err)
		}
		audit, _, err := f.mem.Audit(ctx, first.ID, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range audit {
			actions = append(actions, a.Action)
		}
		if want := []string{"read", "update", "bind", "find:openid", "register"}; !slices.Equal(actions, want) {
			t.Fatalf("audit actions %v, want %v", actions, want)
		}
	})
}

func TestCheckIn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		// Defaults: 5 points and 1 growth a day; +2 from the 3rd day of a
		// streak, +5 from the 7th.
		steps := []struct {
			name     string
			advance  time.Duration
			streak   int
			points   int64
			conflict bool
		}{
			{"first", 0, 1, 5, false},
			{"again the same day", time.Hour, 0, 0, true},
			{"23:59 Shanghai, same day", 8*time.Hour + 59*time.Minute, 0, 0, true}, // 15:00 + 8:59 = 23:59 CST
			{"next day just after midnight", 2 * time.Minute, 2, 5, false},
			{"day 3", 24 * time.Hour, 3, 7, false},
			{"day 4", 24 * time.Hour, 4, 7, false},
			{"skip a day", 48 * time.Hour, 1, 5, false},
		}
		balance := int64(0)
		for _, s := range steps {
			f.clk.Add(s.advance)
			c, err := f.mem.CheckIn(ctx, id)
			if s.conflict {
				wantCode(t, err, errs.Conflict, "already_checked_in")
			} else if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			} else {
				balance += s.points
				if c.Streak != s.streak || c.Points != s.points || c.Balance != balance {
					t.Fatalf("%s: %+v; want streak %d, %d points, balance %d", s.name, c, s.streak, s.points, balance)
				}
			}
			if got := f.balance(t, id); got != balance {
				t.Fatalf("%s: balance %d, want %d", s.name, got, balance)
			}
		}
		var days int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM member_checkins WHERE member_id = ?`, id).Scan(&days); err != nil || days != 5 {
			t.Fatalf("%d check-in days recorded (%v), want 5", days, err)
		}
		f.consistent(t)
	})
}

func TestShareCap(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		want := []bool{true, true, true, false, false} // cap 3 a day, 10 points each
		for i, w := range want {
			r, err := f.mem.Share(ctx, id, members.Share{Target: "style:TEE", Channel: "wechat"})
			if err != nil || r.Rewarded != w || r.Shares != i+1 {
				t.Fatalf("share %d: %+v %v; want rewarded %v", i+1, r, err, w)
			}
		}
		if got := f.balance(t, id); got != 30 {
			t.Fatalf("balance %d, want 30", got)
		}
		f.clk.Add(24 * time.Hour)
		if r, err := f.mem.Share(ctx, id, members.Share{}); err != nil || !r.Rewarded || r.Points != 10 || r.Balance != 40 {
			t.Fatalf("next day's share: %+v %v", r, err)
		}
		f.consistent(t)
	})
}

func TestTierUpgradesAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		// Thresholds 1000 silver, 5000 gold, 20000 platinum, 50000 diamond.
		steps := []struct {
			growth int64
			tier   int
		}{{999, 0}, {1, 1}, {3999, 1}, {1, 2}, {100_000, 4}, {-90_000, 4}, {10, 4}}
		var total int64
		for _, s := range steps {
			total += s.growth
			pts := int64(1)
			if s.growth < 0 {
				pts = -1
			}
			if _, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: pts, Growth: s.growth, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			lvl, err := f.mem.Level(ctx, id)
			if err != nil || lvl != s.tier {
				t.Fatalf("after growth %d (total %d): tier %d (%v), want %d", s.growth, total, lvl, err, s.tier)
			}
		}
		hist, err := f.mem.TierHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var path []int
		for _, h := range hist {
			path = append(path, h.To)
			if h.Reason != "growth" {
				t.Fatalf("reason %s", h.Reason)
			}
		}
		if !slices.Equal(path, []int{1, 2, 4}) {
			t.Fatalf("tier history %v, want 1, 2, 4 (growth taken back does not downgrade)", path)
		}
		f.consistent(t)
	})
}

func TestTierReevaluation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		day := 24 * time.Hour
		// Window 365 days. Each member's growth is earned at the given ages
		// (days before the re-evaluation).
		tests := []struct {
			name   string
			earned map[int]int64 // days ago → growth
			before int           // tier before the re-evaluation
			after  int
		}{
			{"recent gold stays", map[int]int64{10: 6000}, 2, 2},
			{"old gold falls to regular", map[int]int64{400: 6000}, 2, 0},
			{"old gold with recent silver growth", map[int]int64{400: 6000, 30: 1200}, 2, 1},
			{"diamond down to gold", map[int]int64{500: 60000, 100: 5000}, 4, 2},
			{"nothing earned", nil, 0, 0},
		}
		f := newFixture(t, d)
		f.clk.Set(start.Add(-600 * day))
		ids := make([]int64, len(tests))
		for i := range tests {
			ids[i] = f.member(t)
		}
		for age := 600; age >= 0; age-- {
			for i, tc := range tests {
				if g := tc.earned[age]; g > 0 {
					if _, err := f.mem.Adjust(ctx, ids[i], members.Adjustment{Points: 1, Growth: g, Reason: "spend"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if age > 0 {
				f.clk.Add(day)
			}
		}
		for i, tc := range tests {
			if lvl, _ := f.mem.Level(ctx, ids[i]); lvl != tc.before {
				t.Fatalf("%s: tier %d before, want %d", tc.name, lvl, tc.before)
			}
		}
		r, err := f.mem.Reevaluate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		down := 0
		for i, tc := range tests {
			lvl, _ := f.mem.Level(ctx, ids[i])
			if lvl != tc.after {
				t.Errorf("%s: tier %d after re-evaluation, want %d", tc.name, lvl, tc.after)
			}
			if tc.after < tc.before {
				down++
			}
		}
		if r.Downgraded != down || r.Upgraded != 0 {
			t.Fatalf("result %+v, want %d downgraded", r, down)
		}
		// The window restarted: the fallen gold member needs silver's 1000
		// growth again from now, not what it earned long ago.
		if _, err := f.mem.Adjust(ctx, ids[1], members.Adjustment{Points: 1, Growth: 999, Reason: "spend"}); err != nil {
			t.Fatal(err)
		}
		if lvl, _ := f.mem.Level(ctx, ids[1]); lvl != 0 {
			t.Fatalf("999 growth after the re-evaluation reached tier %d", lvl)
		}
		if _, err := f.mem.Adjust(ctx, ids[1], members.Adjustment{Points: 1, Growth: 1, Reason: "spend"}); err != nil {
			t.Fatal(err)
		}
		if lvl, _ := f.mem.Level(ctx, ids[1]); lvl != 1 {
			t.Fatalf("1000 growth after the re-evaluation: tier %d, want 1", lvl)
		}
		hist, _ := f.mem.TierHistory(ctx, ids[3])
		if last := hist[len(hist)-1]; last.Reason != "reevaluation" || last.From != 4 || last.To != 2 {
			t.Fatalf("last change %+v", last)
		}
		// Not due again until the period has passed.
		if _, ran, err := f.mem.ReevaluateIfDue(ctx); err != nil || ran {
			t.Fatalf("re-evaluation ran again at once (%v)", err)
		}
		f.clk.Add(91 * day)
		if _, ran, err := f.mem.ReevaluateIfDue(ctx); err != nil || !ran {
			t.Fatalf("re-evaluation not run after the period (%v)", err)
		}
		f.consistent(t)
	})
}

func TestMerge(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		a, b := f.member(t), f.member(t)
		if _, err := f.mem.Update(ctx, b, members.ProfilePatch{Profile: members.Profile{Birthday: ptr("1990-02-03"), Tags: &[]string{"student"}}}); err != nil {
			t.Fatal(err)
		}
		f.award(t, a, 100)
		if _, err := f.mem.Adjust(ctx, b, members.Adjustment{Points: 250, Growth: 5200, Reason: "history"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.mem.Spend(ctx, b, 50, "spend:b", "x"); err != nil {
			t.Fatal(err)
		}
		_, err := f.mem.Merge(ctx, a, members.MergeRequest{From: a})
		wantCode(t, err, errs.Invalid, "merge_into_self")
		if _, err := f.mem.Merge(ctx, a, members.MergeRequest{From: 9999}); !isCode(err, "member_not_found") {
			t.Fatalf("merge of an unknown member: %v", err)
		}
		m, err := f.mem.Merge(ctx, a, members.MergeRequest{From: b, Reason: "same person"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Points != 300 || m.Growth != 5200 || m.Tier.Level != 2 || len(m.Identities) != 2 || m.Birthday != "1990-02-03" ||
			!slices.Equal(m.Tags, []string{"student"}) || !slices.Equal(m.Merged, []int64{b}) {
			t.Fatalf("survivor %+v", m)
		}
		old, err := f.mem.Get(ctx, b)
		if err != nil || old.Status != "merged" || *old.MergedInto != a || old.Points != 0 || len(old.Identities) != 0 {
			t.Fatalf("merged member %+v %v", old, err)
		}
		_, err = f.mem.Merge(ctx, a, members.MergeRequest{From: b})
		wantCode(t, err, errs.Conflict, "member_merged")
		// The merged id acts on the survivor.
		if _, err := f.mem.Spend(ctx, b, 120, "spend:after", "x"); err != nil {
			t.Fatal(err)
		}
		if got := f.balance(t, a); got != 180 {
			t.Fatalf("survivor's balance %d, want 180", got)
		}
		if lvl, _ := f.mem.Level(ctx, b); lvl != 2 {
			t.Fatalf("merged member's level %d, want the survivor's 2", lvl)
		}
		ids, err := f.mem.MemberIDs(ctx, b)
		if err != nil || !slices.Equal(ids, []int64{a, b}) {
			t.Fatalf("member ids %v %v", ids, err)
		}
		// A third member merged into a: chains stay flat; a into c moves b too.
		c := f.member(t)
		if _, err := f.mem.Merge(ctx, c, members.MergeRequest{From: a}); err != nil {
			t.Fatal(err)
		}
		if ids, _ := f.mem.MemberIDs(ctx, b); !slices.Equal(ids, []int64{c, a, b}) {
			t.Fatalf("after merging a into c: ids %v", ids)
		}
		if got := f.balance(t, c); got != 180 {
			t.Fatalf("balance %d after the second merge", got)
		}
		f.consistent(t)
	})
}

func TestBirthdayGifts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		var issued []string
		f.mem.SetCoupons(func(tx *db.Tx, template string, memberID int64, source string) error {
			issued = append(issued, template+" "+source)
			return nil
		})
		gold, silver, other := f.member(t), f.member(t), f.member(t)
		for id, g := range map[int64]int64{gold: 6000, silver: 1500} {
			if _, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: 1, Growth: g, Reason: "history"}); err != nil {
				t.Fatal(err)
			}
		}
		for id, b := range map[int64]string{gold: "1990-03-10", silver: "2001-03-10", other: "1990-03-11"} {
			if _, err := f.mem.Update(ctx, id, members.ProfilePatch{Profile: members.Profile{Birthday: ptr(b)}}); err != nil {
				t.Fatal(err)
			}
		}
		for run := range 2 {
			issued = issued[:0]
			n, err := f.mem.BirthdayGifts(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if run == 1 {
				if n != 0 || len(issued) != 0 {
					t.Fatalf("second run gave %d gifts, issued %v", n, issued)
				}
				continue
			}
			if n != 2 || !slices.Equal(issued, []string{"BIRTHDAY-GOLD birthday:" + itoa(gold) + ":2026"}) {
				t.Fatalf("gifts %d, issued %v", n, issued)
			}
		}
		if got := f.balance(t, gold); got != 301 {
			t.Fatalf("gold member's balance %d, want 1 + 300", got)
		}
		if got := f.balance(t, silver); got != 101 {
			t.Fatalf("silver member's balance %d, want 1 + 100", got)
		}
		if got := f.balance(t, other); got != 0 {
			t.Fatalf("tomorrow's birthday got %d points", got)
		}
		f.consistent(t)
	})
}

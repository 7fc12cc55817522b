package coupons_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/coupons"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func ptr[T any](v T) *T { return &v }

func TestTemplateValidation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		cases := []struct {
			name  string
			in    coupons.NewTemplate
			field string
		}{
			{"bad code", coupons.NewTemplate{Code: "a b", Name: "x", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 100}, ValidDays: 1}, "code"},
			{"unknown kind", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: "gift"}, ValidDays: 1}, "kind"},
			{"fixed without amount", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.Fixed}, ValidDays: 1}, "amount_off"},
			{"threshold below its amount", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.Threshold, AmountOff: 5000, MinSpend: 3000}, ValidDays: 1}, "min_spend"},
			{"percent of 100", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.Percent, PercentOff: 100}, ValidDays: 1}, "percent_off"},
			{"no expiry", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 100}}, "valid_until"},
			{"categories without any", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 100, Scope: coupons.ScopeCategories}, ValidDays: 1}, "categories"},
			{"styles not codes", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 100, Scope: coupons.ScopeStyles, Styles: []string{"a b"}}, ValidDays: 1}, "styles[0]"},
			{"stackable free shipping", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.FreeShipping}, ValidDays: 1, Stackable: true}, "stackable"},
			{"tier 5", coupons.NewTemplate{Code: "K", Name: "x", Terms: coupons.Terms{Kind: coupons.FreeShipping}, ValidDays: 1, MinTier: 5}, "min_tier"},
		}
		for _, c := range cases {
			_, err := f.cs.CreateTemplate(ctx, c.in)
			e := wantErr(t, err, errs.Invalid, "validation_failed")
			found := false
			for _, fe := range e.Fields {
				found = found || fe.Field == c.field
			}
			if !found {
				t.Errorf("%s: fields %+v; want %s", c.name, e.Fields, c.field)
			}
		}
		f.template(t, coupons.NewTemplate{Code: "TEN", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}, TotalLimit: 3})
		_, err := f.cs.CreateTemplate(ctx, coupons.NewTemplate{Code: "TEN", Name: "again", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 1000}, ValidDays: 1})
		wantErr(t, err, errs.Conflict, "duplicate_code")
		m := f.mem.add(t, 0, 0)
		f.issue(t, "TEN", m)
		f.issue(t, "TEN", m)
		_, err = f.cs.UpdateTemplate(ctx, "TEN", coupons.TemplatePatch{TotalLimit: ptr[int64](1)})
		wantErr(t, err, errs.Conflict, "coupon_limit_below_issued")
		tpl, err := f.cs.UpdateTemplate(ctx, "TEN", coupons.TemplatePatch{TotalLimit: ptr[int64](2), Name: ptr("十元券"), Claimable: ptr(true)})
		if err != nil || tpl.TotalLimit != 2 || tpl.Name != "十元券" || !tpl.Claimable || tpl.Issued != 2 || tpl.AmountOff != 1000 {
			t.Fatalf("update: %+v %v", tpl, err)
		}
		_, err = f.cs.Claim(ctx, "TEN", m)
		wantErr(t, err, errs.Conflict, "coupon_limit_reached")
	})
}

func TestIssue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "BDAY", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 2000}, PerMember: 2})
		f.template(t, coupons.NewTemplate{Code: "VIP", Terms: coupons.Terms{Kind: coupons.Percent, PercentOff: 10}, Claimable: true, MinTier: 2})
		f.template(t, coupons.NewTemplate{Code: "STAFF", Terms: coupons.Terms{Kind: coupons.FreeShipping}})
		a, b, c := f.mem.add(t, 0, 0), f.mem.add(t, 2, 0), f.mem.add(t, 3, 0)

		// IssueTx is idempotent by source.
		var first, again coupons.Coupon
		for _, out := range []*coupons.Coupon{&first, &again} {
			if err := d.Write(ctx, func(tx *db.Tx) error {
				var err error
				*out, err = f.cs.IssueTx(tx, "BDAY", a, "birthday:2026")
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if first.Code == "" || first.Code != again.Code || first.Status != coupons.Available || first.Source != "birthday:2026" {
			t.Fatalf("issued %+v then %+v", first, again)
		}
		// 30 business days counting today, to midnight in Shanghai.
		if want := time.Date(2026, 4, 9, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)); !first.ValidUntil.Equal(want) {
			t.Fatalf("valid until %s; want %s", first.ValidUntil, want)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error { _, err := f.cs.IssueTx(tx, "NOPE", a, "x"); return err }); !isCode(err, "coupon_template_not_found") {
			t.Fatalf("unknown template: %v", err)
		}

		// Bulk: one each, a repeat issues nothing new, the per-member limit refuses one by one.
		f.issue(t, "BDAY", a) // a holds the two allowed
		res, err := f.cs.Issue(ctx, "BDAY", coupons.IssueRequest{Members: []int64{a, b, c}, Source: "spring"})
		if err != nil || res.Issued != 2 || res.Refused != 1 || res.Items[0].Refused != "coupon_member_limit_reached" {
			t.Fatalf("bulk: %+v %v", res, err)
		}
		res, err = f.cs.Issue(ctx, "BDAY", coupons.IssueRequest{Members: []int64{b, c}, Source: "spring"})
		if err != nil || res.Issued != 0 || res.Repeated != 2 || res.Items[0].New {
			t.Fatalf("bulk repeat: %+v %v", res, err)
		}
		_, err = f.cs.Issue(ctx, "BDAY", coupons.IssueRequest{Members: []int64{b, 999999}, Source: "x"})
		if e := wantErr(t, err, errs.NotFound, "member_not_found"); e.Extra["field"] != "members[1]" {
			t.Fatalf("unknown member: %+v", e)
		}
		_, err = f.cs.Issue(ctx, "BDAY", coupons.IssueRequest{Members: []int64{b, b}, Source: "x"})
		wantErr(t, err, errs.Invalid, "validation_failed")

		// Claims: claimable only, from the template's tier.
		_, err = f.cs.Claim(ctx, "STAFF", c)
		wantErr(t, err, errs.Conflict, "coupon_not_claimable")
		_, err = f.cs.Claim(ctx, "VIP", a)
		wantErr(t, err, errs.Conflict, "tier_too_low")
		for _, m := range []int64{b, c, c} {
			if _, err := f.cs.Claim(ctx, "VIP", m); err != nil {
				t.Fatalf("claim by %d: %v", m, err)
			}
		}
		if tpl, _ := f.cs.Template(ctx, "VIP"); tpl.Issued != 3 {
			t.Fatalf("VIP issued %d; want 3", tpl.Issued)
		}

		// A paused template issues nothing; its coupons stay usable.
		if _, err := f.cs.UpdateTemplate(ctx, "VIP", coupons.TemplatePatch{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = f.cs.Claim(ctx, "VIP", b)
		wantErr(t, err, errs.Conflict, "coupon_template_inactive")
		list, _, err := f.cs.MemberCoupons(ctx, c, coupons.CouponFilter{State: "available"})
		if err != nil || len(list) != 3 {
			t.Fatalf("member %d available coupons: %d %v", c, len(list), err)
		}
	})
}

// TestConcurrentClaims: 40 members claim a coupon limited to 10 at once,
// and one member claims a coupon limited to 2 per member 10 times at once:
// neither limit is ever exceeded.
func TestConcurrentClaims(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "FLASH", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 500}, Claimable: true, TotalLimit: 10, PerMember: 1})
		f.template(t, coupons.NewTemplate{Code: "TWO", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 500}, Claimable: true, PerMember: 2})
		members := make([]int64, 40)
		for i := range members {
			members[i] = f.mem.add(t, 0, 0)
		}
		var won, exhausted, twoWon, twoLimited atomic.Int64
		var wg sync.WaitGroup
		for _, m := range members {
			wg.Go(func() {
				_, err := f.cs.Claim(ctx, "FLASH", m)
				switch {
				case err == nil:
					won.Add(1)
				case isCode(err, "coupon_limit_reached"):
					exhausted.Add(1)
				default:
					t.Errorf("claim: %v", err)
				}
			})
		}
		for range 10 {
			wg.Go(func() {
				_, err := f.cs.Claim(ctx, "TWO", members[0])
				switch {
				case err == nil:
					twoWon.Add(1)
				case isCode(err, "coupon_member_limit_reached"):
					twoLimited.Add(1)
				default:
					t.Errorf("claim: %v", err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 10 || exhausted.Load() != 30 || twoWon.Load() != 2 || twoLimited.Load() != 8 {
			t.Fatalf("FLASH: %d won, %d refused; TWO: %d won, %d refused", won.Load(), exhausted.Load(), twoWon.Load(), twoLimited.Load())
		}
		var stored, issued int64
		if err := d.QueryRow(ctx, `SELECT COUNT(*), MAX(t.issued) FROM coupons c JOIN coupon_templates t ON t.id = c.template_id WHERE t.code = 'FLASH'`).Scan(&stored, &issued); err != nil {
			t.Fatal(err)
		}
		if stored != 10 || issued != 10 {
			t.Fatalf("%d coupons stored, counter %d; want 10", stored, issued)
		}
	})
}

func TestMemberCouponsAndRevoke(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "SHORT", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 500}, ValidDays: 1})
		f.template(t, coupons.NewTemplate{Code: "LONG", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 500}, ValidDays: 60})
		m := f.mem.add(t, 0, 0)
		short := f.issue(t, "SHORT", m)
		long := f.issue(t, "LONG", m)
		gone := f.issue(t, "LONG", m)
		if _, err := f.cs.Revoke(ctx, gone.Code, coupons.RevokeRequest{Reason: "issued by mistake"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.cs.Revoke(ctx, gone.Code, coupons.RevokeRequest{})
		wantErr(t, err, errs.Conflict, "coupon_revoked")
		_, err = f.cs.Revoke(ctx, "NOSUCHCODE", coupons.RevokeRequest{})
		wantErr(t, err, errs.NotFound, "coupon_not_found")
		f.clk.Add(24 * time.Hour) // SHORT ends at midnight
		states := map[string][]string{"": {gone.Code, long.Code, short.Code}, "available": {long.Code}, "expired": {short.Code}, "revoked": {gone.Code}, "used": nil}
		for state, want := range states {
			list, _, err := f.cs.MemberCoupons(ctx, m, coupons.CouponFilter{State: state})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range list {
				got = append(got, c.Code)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("state %q: %v; want %v", state, got, want)
			}
		}
		if c, err := f.cs.Coupon(ctx, short.Code); err != nil || c.Status != coupons.Expired {
			t.Fatalf("short coupon: %+v %v", c, err)
		}
		// Pages of one.
		page, next, err := f.cs.MemberCoupons(ctx, m, coupons.CouponFilter{Limit: 1})
		if err != nil || len(page) != 1 || next == "" {
			t.Fatalf("page: %v %q %v", page, next, err)
		}
		page, _, err = f.cs.MemberCoupons(ctx, m, coupons.CouponFilter{Limit: 1, Cursor: next})
		if err != nil || len(page) != 1 || page[0].Code != long.Code {
			t.Fatalf("second page: %v %v", page, err)
		}
	})
}

// TestMergeTx: a merged member's coupons and per-member counts move to the
// survivor; a source both were issued by stays unique.
func TestMergeTx(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.template(t, coupons.NewTemplate{Code: "ONE", Terms: coupons.Terms{Kind: coupons.Fixed, AmountOff: 500}, PerMember: 1, Claimable: true})
		survivor, dup := f.mem.add(t, 0, 0), f.mem.add(t, 0, 0)
		var a, b coupons.Coupon
		if err := d.Write(ctx, func(tx *db.Tx) (err error) {
			if a, err = f.cs.IssueTx(tx, "ONE", survivor, "birthday:2026"); err != nil {
				return err
			}
			b, err = f.cs.IssueTx(tx, "ONE", dup, "birthday:2026")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error { return f.cs.MergeTx(tx, dup, survivor) }); err != nil {
			t.Fatal(err)
		}
		moved, err := f.cs.Coupon(ctx, b.Code)
		if err != nil || moved.MemberID != survivor || moved.Source != fmt.Sprintf("birthday:2026:from:%d", dup) {
			t.Fatalf("moved coupon %+v %v", moved, err)
		}
		if kept, _ := f.cs.Coupon(ctx, a.Code); kept.Source != "birthday:2026" {
			t.Fatalf("survivor's coupon %+v", kept)
		}
		list, _, err := f.cs.MemberCoupons(ctx, survivor, coupons.CouponFilter{})
		if err != nil || len(list) != 2 {
			t.Fatalf("survivor holds %d coupons, %v", len(list), err)
		}
		// The counts moved too: the survivor is over its limit of one.
		_, err = f.cs.Claim(ctx, "ONE", survivor)
		wantErr(t, err, errs.Conflict, "coupon_member_limit_reached")
		if _, err := f.cs.Claim(ctx, "ONE", dup); err != nil {
			t.Fatalf("the merged member's count was not cleared: %v", err)
		}
	})
}

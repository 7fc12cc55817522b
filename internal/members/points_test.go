package members_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func TestAwardsAndSpendsAreIdempotent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		for range 2 {
			if err := d.Write(ctx, func(tx *db.Tx) error { return f.mem.AwardPointsTx(tx, id, 300, "mall:gift:1", "gift") }); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.balance(t, id); got != 300 {
			t.Fatalf("balance after the same award twice: %d, want 300", got)
		}
		for range 2 {
			if err := d.Write(ctx, func(tx *db.Tx) error { return f.mem.SpendPointsTx(tx, id, 200, "mall:redeem:7", "mug") }); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.balance(t, id); got != 100 {
			t.Fatalf("balance after the same spend twice: %d, want 100", got)
		}
		// A retried spend stays idempotent even when the balance is now too low.
		if err := d.Write(ctx, func(tx *db.Tx) error { return f.mem.SpendPointsTx(tx, id, 200, "mall:redeem:7", "mug") }); err != nil {
			t.Fatalf("retried spend with a low balance: %v", err)
		}
		// Adjustments with a source happen once, and answer the first entry.
		e1, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: 50, Reason: "goodwill", Source: "ticket-9"})
		if err != nil {
			t.Fatal(err)
		}
		e2, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: 50, Reason: "goodwill", Source: "ticket-9"})
		if err != nil || e2.ID != e1.ID || e2.Balance != 150 {
			t.Fatalf("second adjustment: %+v %v; want entry %d with balance 150", e2, err, e1.ID)
		}
		if got := f.balance(t, id); got != 150 {
			t.Fatalf("balance %d, want 150", got)
		}
		f.consistent(t)
	})
}

func TestSpendMoreThanBalance(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		f.award(t, id, 100)
		tests := []struct {
			name   string
			run    func() error
			status errs.Kind
			code   string
		}{
			{"spend", func() error { _, err := f.mem.Spend(ctx, id, 101, "s1", "too much"); return err }, errs.Conflict, "insufficient_points"},
			{"spend tx", func() error {
				return d.Write(ctx, func(tx *db.Tx) error { return f.mem.SpendPointsTx(tx, id, 500, "s2", "too much") })
			}, errs.Conflict, "insufficient_points"},
			{"manual deduction", func() error {
				_, err := f.mem.Adjust(ctx, id, members.Adjustment{Points: -101, Reason: "correction"})
				return err
			}, errs.Conflict, "insufficient_points"},
			{"unknown member", func() error { _, err := f.mem.Spend(ctx, id+1000, 1, "s3", "x"); return err }, errs.NotFound, "member_not_found"},
			{"zero", func() error { _, err := f.mem.Spend(ctx, id, 0, "s4", "x"); return err }, errs.Invalid, "validation_failed"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, tc.run(), tc.status, tc.code)
				if got := f.balance(t, id); got != 100 {
					t.Fatalf("balance %d after a refused spend, want 100", got)
				}
			})
		}
		f.consistent(t)
	})
}

// TestConcurrentRedemptions: many clients spend from one balance at
// once; exactly as many succeed as the balance allows and it never goes
// negative.
func TestConcurrentRedemptions(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		// Three lots, so spends cross lot boundaries.
		f.award(t, id, 400)
		f.award(t, id, 300)
		f.award(t, id, 310)
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for c := range 40 {
			wg.Go(func() {
				_, err := f.mem.Spend(ctx, id, 30, fmt.Sprintf("redeem:%d", c), "race")
				switch {
				case err == nil:
					ok.Add(1)
				case isCode(err, "insufficient_points"):
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 33 || refused.Load() != 7 {
			t.Fatalf("%d spends succeeded and %d were refused; want 33 and 7", ok.Load(), refused.Load())
		}
		if got := f.balance(t, id); got != 1010-33*30 {
			t.Fatalf("balance %d, want %d", got, 1010-33*30)
		}
		f.consistent(t)
	})
}

// TestSpendsTakeEarliestExpiryFirst: lots expiring first are spent first,
// and the expiry worker expires what is left of them.
func TestSpendsTakeEarliestExpiryFirst(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		id := f.member(t)
		f.award(t, id, 100) // expires end of 2027
		f.clk.Add(300 * 24 * time.Hour)
		f.award(t, id, 100) // earned January 2027: expires end of 2028
		if _, err := f.mem.Spend(ctx, id, 60, "spend:1", "x"); err != nil {
			t.Fatal(err)
		}
		lots, err := f.mem.Lots(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(lots) != 2 || lots[0].Remaining != 40 || lots[1].Remaining != 100 {
			t.Fatalf("lots after spending 60: %+v; want 40 left of the first, 100 of the second", lots)
		}
		wantExp := time.Date(2028, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(-time.Millisecond)
		if !lots[0].ExpiresAt.Equal(wantExp) {
			t.Fatalf("first lot expires %s, want %s (end of the following year)", lots[0].ExpiresAt, wantExp)
		}
		// Not yet due: nothing expires.
		if n, err := f.mem.ExpirePoints(ctx, 100); err != nil || n != 0 {
			t.Fatalf("expired %d (%v) before the due date", n, err)
		}
		f.clk.Set(wantExp.Add(time.Second))
		if n, err := f.mem.ExpirePoints(ctx, 100); err != nil || n != 1 {
			t.Fatalf("expired %d lots (%v), want 1", n, err)
		}
		if got := f.balance(t, id); got != 100 {
			t.Fatalf("balance after expiry %d, want 100", got)
		}
		if n, err := f.mem.ExpirePoints(ctx, 100); err != nil || n != 0 {
			t.Fatalf("second expiry run expired %d (%v)", n, err)
		}
		es, _, err := f.mem.Ledger(ctx, id, 10, "")
		if err != nil || es[0].Kind != members.KindExpire || es[0].Points != -40 || es[0].Balance != 100 {
			t.Fatalf("latest ledger entry %+v (%v); want expire −40, balance 100", es[0], err)
		}
		f.consistent(t)
	})
}

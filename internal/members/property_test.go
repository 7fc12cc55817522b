package members_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// pModel is the expected state of one member's points: lots in creation
// order and the member's orders.
type pModel struct {
	lots   []*pLot
	orders []*pOrder
	seq    int
}

type pLot struct {
	seq int
	exp time.Time
	rem int64
}

type pDebit struct {
	lot       *pLot
	pts, back int64
}

type pOrder struct {
	id                                  int64
	total, spent                        int64
	debits                              []*pDebit
	paid, cancelled                     bool
	earned, reversed, shortfall, refund int64
	returned                            int64
}

func (m *pModel) balance() int64 {
	var b int64
	for _, l := range m.lots {
		b += l.rem
	}
	return b
}

// expiry is the end of the Shanghai business day 30 days after t.
func expiry(t time.Time) time.Time {
	sh := t.In(time.FixedZone("CST", 8*3600))
	return time.Date(sh.Year(), sh.Month(), sh.Day()+31, 0, 0, 0, 0, sh.Location()).Add(-time.Millisecond)
}

// earn adds n points earned at t to the lot of their expiry.
func (m *pModel) earn(n int64, t time.Time) {
	exp := expiry(t)
	for _, l := range m.lots {
		if l.exp.Equal(exp) {
			l.rem += n
			return
		}
	}
	m.seq++
	m.lots = append(m.lots, &pLot{seq: m.seq, exp: exp, rem: n})
}

// take consumes n points from the lots expiring first.
func (m *pModel) take(n int64) []*pDebit {
	order := slices.Clone(m.lots)
	slices.SortStableFunc(order, func(a, b *pLot) int {
		if c := a.exp.Compare(b.exp); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var ds []*pDebit
	for _, l := range order {
		if n == 0 {
			break
		}
		if x := min(n, l.rem); x > 0 {
			l.rem -= x
			n -= x
			ds = append(ds, &pDebit{lot: l, pts: x})
		}
	}
	return ds
}

// giveBack refills an order's debited lots, those expiring last first;
// points of lots expired by now go to a lot of a fresh expiry.
func (m *pModel) giveBack(o *pOrder, n int64, now time.Time) {
	ds := slices.Clone(o.debits)
	slices.SortStableFunc(ds, func(a, b *pDebit) int {
		if c := b.lot.exp.Compare(a.lot.exp); c != 0 {
			return c
		}
		return cmp.Compare(b.lot.seq, a.lot.seq)
	})
	fresh := int64(0)
	for _, d := range ds {
		x := min(n, d.pts-d.back)
		n -= x
		if d.lot.exp.After(now) {
			d.back += x
			d.lot.rem += x
		} else {
			fresh += x
		}
	}
	if fresh > 0 {
		m.earn(fresh, now)
	}
}

// settle moves an order's books to the targets, like the hooks.
func (m *pModel) settle(o *pOrder, returnTo, reverseTo int64, now time.Time) {
	if give := returnTo - o.returned; give > 0 {
		m.giveBack(o, give, now)
		o.returned = returnTo
	}
	if take := reverseTo - o.reversed - o.shortfall; take > 0 {
		got := min(take, m.balance())
		m.take(got)
		o.reversed += got
		o.shortfall += take - got
	}
}

// TestPointsProperties runs random sequences of earning, spending,
// expiring, checkouts with points, payments, refunds and cancellations
// against a model of the member's lots: after each step the balance is
// the model's, every refusal is predicted by it, and the books add up
// (balance = Σ lots = Σ ledger, never negative).
func TestPointsProperties(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		// Points expire 30 days after earning; no growth, so the member
		// stays regular (earning 1 point a CNY).
		st, err := f.mem.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Expiry, st.ExpiryDays, st.GrowthPerYuan, st.CheckinGrowth, st.ShareGrowth = members.ExpiryDays, 30, 0, 0, 0
		if _, err := f.mem.SetSettings(ctx, st); err != nil {
			t.Fatal(err)
		}
		if _, err := f.inv.Post(ctx, inventory.PostRequest{Kind: inventory.Receipt, Location: "SH-NJD",
			Lines: []inventory.PostLine{{SKU: "TEE-BLK-M", Qty: 1_000_000}}}); err != nil {
			t.Fatal(err)
		}
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			id := f.member(t)
			m := &pModel{}
			expect := func(op string, err error, ok bool) {
				if ok && err != nil {
					rt.Fatalf("%s: unexpected refusal: %v", op, err)
				}
				if !ok && err == nil {
					rt.Fatalf("%s: succeeded but the model says it must be refused", op)
				}
			}
			steps := rapid.IntRange(1, 25).Draw(rt, "steps")
			for i := range steps {
				var open, paid []*pOrder
				for _, o := range m.orders {
					if !o.cancelled {
						open = append(open, o)
						if o.paid && o.refund < o.total {
							paid = append(paid, o)
						}
					}
				}
				ops := []string{"earn", "spend", "advance", "checkout"}
				if len(open) > 0 {
					ops = append(ops, "pay", "cancel")
				}
				if len(paid) > 0 {
					ops = append(ops, "refund")
				}
				op := rapid.SampledFrom(ops).Draw(rt, fmt.Sprintf("op%d", i))
				switch op {
				case "earn":
					p := rapid.Int64Range(1, 3000).Draw(rt, "points")
					_, err := f.mem.Award(ctx, id, p, fmt.Sprintf("earn:%d:%d", n, i), "property")
					expect(op, err, true)
					m.earn(p, f.clk.Now())
				case "spend":
					p := rapid.Int64Range(1, m.balance()+50).Draw(rt, "points")
					_, err := f.mem.Spend(ctx, id, p, fmt.Sprintf("spend:%d:%d", n, i), "property")
					ok := p <= m.balance()
					expect(op, err, ok)
					if ok {
						m.take(p)
					}
				case "advance":
					f.clk.Add(time.Duration(rapid.IntRange(1, 20).Draw(rt, "days")) * 24 * time.Hour)
					if _, err := f.mem.ExpirePoints(ctx, 100_000); err != nil {
						rt.Fatal(err)
					}
					for _, l := range m.lots {
						if !l.exp.After(f.clk.Now()) {
							l.rem = 0
						}
					}
				case "checkout":
					qty := rapid.Int64Range(1, 3).Draw(rt, "qty")
					goods := 10000 * qty
					p := rapid.Int64Range(0, min(m.balance(), goods/2)+20).Draw(rt, "points")
					o, err := f.checkout(&id, p, tee(qty))
					ok := p <= m.balance() && p <= goods/2
					expect(op, err, ok)
					if ok {
						mo := &pOrder{id: o.ID, total: goods - p, spent: p}
						if p > 0 {
							mo.debits = m.take(p)
						}
						m.orders = append(m.orders, mo)
					}
				case "pay":
					o := rapid.SampledFrom(open).Draw(rt, "order")
					_, err := f.ord.Pay(ctx, o.id, orders.PayRequest{Provider: "test"})
					expect(op, err, !o.paid)
					if !o.paid {
						o.paid = true
						o.earned = o.total / 100
						if o.earned > 0 {
							m.earn(o.earned, f.clk.Now())
						}
					}
				case "refund":
					o := rapid.SampledFrom(paid).Draw(rt, "order")
					amount := rapid.Int64Range(1, o.total-o.refund).Draw(rt, "amount")
					_, err := f.ord.Refund(ctx, o.id, orders.RefundRequest{Amount: amount, Reason: "property"})
					expect(op, err, true)
					o.refund += amount
					m.settle(o, o.spent*o.refund/o.total, o.earned*o.refund/o.total, f.clk.Now())
				case "cancel":
					o := rapid.SampledFrom(open).Draw(rt, "order")
					_, err := f.ord.Cancel(ctx, o.id, orders.CancelRequest{Reason: "property"})
					expect(op, err, true)
					o.cancelled = true
					m.settle(o, o.spent, o.earned, f.clk.Now())
				}
				if got := f.balance(t, id); got != m.balance() {
					rt.Fatalf("after %s: balance %d, model %d", op, got, m.balance())
				}
				lots, err := f.mem.Lots(ctx, id)
				if err != nil {
					rt.Fatal(err)
				}
				var live []int64
				byExpiry := slices.Clone(m.lots)
				slices.SortFunc(byExpiry, func(a, b *pLot) int { return a.exp.Compare(b.exp) })
				for _, l := range byExpiry {
					if l.rem > 0 {
						live = append(live, l.rem)
					}
				}
				var got []int64
				for _, l := range lots {
					got = append(got, l.Remaining)
				}
				if !slices.Equal(got, live) {
					rt.Fatalf("after %s: lots %v, model %v", op, got, live)
				}
			}
			r, err := f.mem.CheckLedger(ctx)
			if err != nil {
				rt.Fatal(err)
			}
			if !r.Consistent || r.Negative != 0 {
				rt.Fatalf("books do not add up: %+v", r)
			}
		})
	})
}

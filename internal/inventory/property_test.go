package inventory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// model is the expected state of the levels.
type model struct {
	onHand, held, transit, safety map[string]int64 // key "SKU@LOC"
	holds                         map[int64]modelHold
	transfers                     map[int64]modelTransfer
}

type modelHold struct {
	key     string
	qty     int64
	expires time.Time
}

type modelTransfer struct {
	sku, from, to string
	qty           int64
	shipped       bool
}

var (
	propSKUs = []string{"TEE-BLK-M", "COAT-BLK-M"}
	propLocs = []string{"SH1", "SH2"}
	chSafety = map[string]int64{"pos": 0, "shop": 1}
)

// TestLedgerProperties runs random sequences of every stock operation
// against a model: after each step the levels equal the model, every refusal
// is predicted by it, on_hand ≥ reserved ≥ 0, and at the end every level
// equals the sum of its movements.
func TestLedgerProperties(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, _ *db.DB) {
		engine := t.Name()
		rapid.Check(t, func(rt *rapid.T) {
			var d *db.DB
			if engine == "TestLedgerProperties/postgres" {
				d = dbtest.Postgres(t)
			} else {
				d = dbtest.SQLite(t)
			}
			defer d.Close() // iterations would otherwise hold their connections until the test ends
			f := newFixture(t, d)
			ctx := context.Background()
			m := model{onHand: map[string]int64{}, held: map[string]int64{}, transit: map[string]int64{}, safety: map[string]int64{},
				holds: map[int64]modelHold{}, transfers: map[int64]modelTransfer{}}
			pick := func(label string) (string, string, string) {
				sku := rapid.SampledFrom(propSKUs).Draw(rt, label+".sku")
				loc := rapid.SampledFrom(propLocs).Draw(rt, label+".loc")
				return sku, loc, sku + "@" + loc
			}
			free := func(k string) int64 { return m.onHand[k] - m.held[k] }
			expect := func(op string, err error, ok bool) {
				if ok && err != nil {
					rt.Fatalf("%s: unexpected refusal: %v", op, err)
				}
				if !ok && err == nil {
					rt.Fatalf("%s: succeeded but the model says it must be refused", op)
				}
			}
			steps := rapid.IntRange(1, 40).Draw(rt, "steps")
			for i := range steps {
				op := rapid.SampledFrom([]string{"receipt", "sale", "adjust", "reserve", "confirm", "release", "expire", "count", "safety",
					"transfer", "ship", "receive", "cancel"}).Draw(rt, fmt.Sprintf("op%d", i))
				switch op {
				case "receipt", "sale", "adjust":
					sku, loc, k := pick(op)
					q := rapid.Int64Range(1, 20).Draw(rt, "qty")
					kind, reason := inventory.Receipt, ""
					ok := true
					switch op {
					case "sale":
						kind, ok = inventory.Sale, free(k) >= q
					case "adjust":
						kind, reason = inventory.Adjustment, "property test"
						if rapid.Bool().Draw(rt, "down") {
							ok = free(k) >= q
							q = -q
						}
					}
					_, err := f.inv.Post(ctx, inventory.PostRequest{Kind: kind, Location: loc, Reason: reason, Lines: []inventory.PostLine{{SKU: sku, Qty: q}}})
					expect(op, err, ok)
					if ok {
						if kind == inventory.Sale {
							q = -q
						}
						m.onHand[k] += q
					}
				case "reserve":
					sku, loc, k := pick(op)
					ch := rapid.SampledFrom([]string{"pos", "shop"}).Draw(rt, "channel")
					q := rapid.Int64Range(1, 10).Draw(rt, "qty")
					ttl := rapid.Int64Range(1, 600).Draw(rt, "ttl")
					ok := m.onHand[k]-m.held[k]-m.safety[k]-chSafety[ch] >= q
					r, err := f.inv.Reserve(ctx, inventory.ReserveRequest{Channel: ch, TTLSeconds: ttl, Lines: one(sku, loc, q)})
					expect(op, err, ok)
					if ok {
						m.held[k] += q
						m.holds[r.ID] = modelHold{key: k, qty: q, expires: f.clk.Now().Add(time.Duration(ttl) * time.Second)}
					}
				case "confirm", "release":
					if len(m.holds) == 0 {
						continue
					}
					ids := keys(m.holds)
					id := rapid.SampledFrom(ids).Draw(rt, "hold")
					h := m.holds[id]
					var err error
					if op == "confirm" {
						_, err = f.inv.Confirm(ctx, id)
					} else {
						_, err = f.inv.Release(ctx, id, "")
					}
					expect(op, err, true)
					m.held[h.key] -= h.qty
					if op == "confirm" {
						m.onHand[h.key] -= h.qty
					}
					delete(m.holds, id)
				case "expire":
					f.clk.Add(time.Duration(rapid.IntRange(1, 400).Draw(rt, "seconds")) * time.Second)
					want := 0
					for id, h := range m.holds {
						if !h.expires.After(f.clk.Now()) {
							m.held[h.key] -= h.qty
							delete(m.holds, id)
							want++
						}
					}
					n, err := f.inv.ReleaseExpired(ctx, 1000)
					if err != nil || n != want {
						rt.Fatalf("expired %d, %v; want %d", n, err, want)
					}
				case "count":
					sku, loc, k := pick(op)
					c := rapid.Int64Range(0, 30).Draw(rt, "counted")
					ok := c >= m.held[k]
					_, err := f.inv.Count(ctx, inventory.CountRequest{Location: loc, Lines: []inventory.CountLine{{SKU: sku, Counted: c}}})
					expect(op, err, ok)
					if ok {
						m.onHand[k] = c
					}
				case "safety":
					sku, loc, k := pick(op)
					s := rapid.Int64Range(0, 5).Draw(rt, "safety")
					_, err := f.inv.SetSettings(ctx, sku, loc, inventory.SettingsRequest{SafetyStock: &s})
					expect(op, err, true)
					m.safety[k] = s
				case "transfer":
					sku := rapid.SampledFrom(propSKUs).Draw(rt, "sku")
					from := rapid.SampledFrom(propLocs).Draw(rt, "from")
					to := "SH1"
					if from == "SH1" {
						to = "SH2"
					}
					k := sku + "@" + from
					q := rapid.Int64Range(1, 10).Draw(rt, "qty")
					ok := m.onHand[k]-m.held[k]-m.safety[k] >= q
					tr, err := f.inv.CreateTransfer(ctx, inventory.TransferRequest{From: from, To: to, Lines: []inventory.TransferLine{{SKU: sku, Qty: q}}})
					expect(op, err, ok)
					if ok {
						m.held[k] += q
						m.transfers[tr.ID] = modelTransfer{sku: sku, from: from, to: to, qty: q}
					}
				case "ship", "receive", "cancel":
					if len(m.transfers) == 0 {
						continue
					}
					id := rapid.SampledFrom(keys(m.transfers)).Draw(rt, "transfer")
					tr := m.transfers[id]
					src, dst := tr.sku+"@"+tr.from, tr.sku+"@"+tr.to
					var err error
					switch op {
					case "ship":
						_, err = f.inv.ShipTransfer(ctx, id)
						expect(op, err, !tr.shipped)
						if !tr.shipped {
							m.onHand[src] -= tr.qty
							m.held[src] -= tr.qty
							m.transit[dst] += tr.qty
							tr.shipped = true
							m.transfers[id] = tr
						}
					case "receive":
						r := rapid.Int64Range(0, tr.qty).Draw(rt, "received")
						_, err = f.inv.ReceiveTransfer(ctx, id, inventory.ReceiveRequest{Lines: []inventory.ReceiveLine{{SKU: tr.sku, ReceivedQty: r}}})
						expect(op, err, tr.shipped)
						if tr.shipped {
							m.transit[dst] -= tr.qty
							m.onHand[dst] += r
							delete(m.transfers, id)
						}
					case "cancel":
						_, err = f.inv.CancelTransfer(ctx, id)
						expect(op, err, !tr.shipped)
						if !tr.shipped {
							m.held[src] -= tr.qty
							delete(m.transfers, id)
						}
					}
				}
				for _, sku := range propSKUs {
					for _, loc := range propLocs {
						k := sku + "@" + loc
						l := f.level(rt, sku, loc)
						want := max(0, m.onHand[k]-m.held[k]-m.safety[k])
						if l.OnHand != m.onHand[k] || l.Reserved != m.held[k] || l.InTransit != m.transit[k] || l.Available != want {
							rt.Fatalf("after %s: %s = %d/%d/%d avail %d; model %d/%d/%d avail %d", op, k, l.OnHand, l.Reserved, l.InTransit, l.Available,
								m.onHand[k], m.held[k], m.transit[k], want)
						}
						if l.Reserved < 0 || l.OnHand < l.Reserved || l.InTransit < 0 || l.Available < 0 {
							rt.Fatalf("after %s: %s breaks on_hand ≥ reserved ≥ 0: %+v", op, k, l)
						}
					}
				}
			}
			f.consistent(rt)
		})
	})
}

func keys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	// rapid needs a deterministic order to shrink.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

package analytics

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
)

// BenchmarkLoadOrders measures LoadOrders over a synthetic store of
// $OMNI_BENCH_ORDERS orders (default 200,000: about 500,000 lines and 10,000
// completed returns), on SQLite and, when configured, PostgreSQL:
//
//	eval "$(.ci/pg-start)"; go test -run '^$' -bench LoadOrders -benchtime 3x ./internal/analytics
//
// It reports the dataset's lines, the heap it holds (dataset_MB) and the
// time of an OrdersDataset call that finds the loaded dataset still fresh
// (cached_ms: the stamp query).
func BenchmarkLoadOrders(b *testing.B) {
	n := 200_000
	if s := os.Getenv("OMNI_BENCH_ORDERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for _, eng := range []string{"sqlite", "postgres"} {
		// Seeded once, here: a sub-benchmark's function runs more than once.
		var d *db.DB
		switch {
		case eng == "sqlite":
			d = dbtest.SQLite(b)
		case os.Getenv(dbtest.EnvPostgres) != "":
			d = dbtest.Postgres(b)
		default:
			b.Logf("postgres skipped: set %s", dbtest.EnvPostgres)
			continue
		}
		start := time.Now()
		ordersBenchSeed(b, d, n)
		b.Logf("%s: seeded %d orders in %s", eng, n, time.Since(start).Round(time.Millisecond))
		b.Run(eng, func(b *testing.B) {
			ctx := context.Background()
			var lines int
			var before, after runtime.MemStats
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				ds, _, err := LoadOrders(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				lines = ds.Len()
				runtime.KeepAlive(ds)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(lines), "lines")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "dataset_MB")
			s := NewStore(d, nil, nil)
			if _, _, err := s.OrdersDataset(ctx); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if _, _, err := s.OrdersDataset(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "cached_ms")
		})
	}
}

// ordersBenchSeed writes n orders with 1–4 lines each (90 % paid, 5 %
// unpaid, 5 % cancelled), 60 % by 40,000 members, 30 % by 30,000 guests'
// mobiles, the rest anonymous, over two years, and completed returns of
// one line of 5 % of the orders, in multi-row INSERTs.
func ordersBenchSeed(b testing.TB, d *db.DB, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	const nSKU, nStyle, nStore = 5000, 500, 50
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, Shanghai).UnixMilli()
	span := int64(730 * 24 * time.Hour / time.Millisecond)
	bulk := func(tx *db.Tx, head string, cols int, rows int, row func(i int, args []any)) error {
		const per = 400
		args := make([]any, 0, per*cols)
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
		for lo := 0; lo < rows; lo += per {
			hi := min(lo+per, rows)
			args = args[:0]
			for i := lo; i < hi; i++ {
				r := make([]any, cols)
				row(i, r)
				args = append(args, r...)
			}
			if _, err := tx.Exec(head+" VALUES "+strings.TrimSuffix(strings.Repeat(ph+", ", hi-lo), ", "), args...); err != nil {
				return err
			}
		}
		return nil
	}
	err := d.InTx(ctx, func(tx *db.Tx) error {
		if err := bulk(tx, `INSERT INTO styles (id, code, name, category, lifecycle, launch_date, created_at, updated_at)`, 8, nStyle,
			func(i int, a []any) {
				copy(a, []any{i + 1, fmt.Sprintf("ST%04d", i), "style", []string{"tops", "bottoms", "shoes", "outer", "acc"}[i%5], "classic", "2024-01-01", t0, t0})
			}); err != nil {
			return err
		}
		if err := bulk(tx, `INSERT INTO skus (id, code, style_id, color, size, barcode, list_price, cost, created_at, updated_at)`, 10, nSKU,
			func(i int, a []any) {
				copy(a, []any{i + 1, fmt.Sprintf("SKU%05d", i), i%nStyle + 1, strconv.Itoa(i / nStyle), "M", fmt.Sprintf("69%08d", i), 5000 + i%50*1000, 2000 + i%50*400, t0, t0})
			}); err != nil {
			return err
		}
		if err := bulk(tx, `INSERT INTO locations (id, code, name, kind, region, province, city, lat, lng, created_at, updated_at)`, 11, nStore+5,
			func(i int, a []any) {
				kind := "store"
				if i >= nStore {
					kind = "regional_warehouse"
				}
				copy(a, []any{i + 1, fmt.Sprintf("L%03d", i), "loc", kind, []string{"east", "south", "north", "west", "central"}[i%5], "p", "c", 31.0, 121.0, t0, t0})
			}); err != nil {
			return err
		}
		if err := bulk(tx, `INSERT INTO channels (id, code, name, kind, created_at, updated_at)`, 6, 5, func(i int, a []any) {
			kinds := []string{"online_shop", "mini_program", "app", "live_stream", "pos"}
			copy(a, []any{i + 1, []string{"shop", "mini", "app", "live", "pos"}[i], "ch", kinds[i], t0, t0})
		}); err != nil {
			return err
		}
		type line struct{ order, no, sku, qty, price, disc int64 }
		var lines []line
		statuses := make([]string, n)
		if err := bulk(tx, `INSERT INTO orders (id, channel_id, mode, status, member_id, customer_mobile, store_id, region,
			subtotal, discount, total, paid, created_at, paid_at, updated_at)`, 15, n, func(i int, a []any) {
			id := int64(i + 1)
			created := t0 + span*int64(i)/int64(n)
			ch := int64(1 + rng.IntN(5))
			var member, store, paidAt any
			mobile := ""
			switch r := rng.IntN(10); {
			case r < 6:
				member = int64(1 + rng.IntN(40_000))
			case r < 9:
				mobile = fmt.Sprintf("139%08d", rng.IntN(30_000))
			}
			mode := "standard"
			if ch == 5 {
				mode, store = "pos", int64(1+rng.IntN(nStore))
			}
			status := "completed"
			switch r := rng.IntN(20); r {
			case 0:
				status = "created"
			case 1:
				status = "cancelled"
			}
			statuses[i] = status
			if status != "created" {
				paidAt = created + 60_000
			}
			var sub, disc int64
			for k := range 1 + rng.IntN(4) {
				sku := int64(1 + rng.IntN(nSKU))
				qty, price := int64(1+rng.IntN(2)), 5000+(sku-1)%50*1000
				ld := int64(0)
				if rng.IntN(3) == 0 {
					ld = price * qty / 10
				}
				lines = append(lines, line{id, int64(k + 1), sku, qty, price, ld})
				sub += qty * price
				disc += ld
			}
			total := sub - disc
			paid := int64(0)
			if paidAt != nil {
				paid = total
			}
			copy(a, []any{id, ch, mode, status, member, mobile, store, []string{"east", "south", "north", "west", "central"}[rng.IntN(5)],
				sub, disc, total, paid, created, paidAt, created})
		}); err != nil {
			return err
		}
		if err := bulk(tx, `INSERT INTO order_lines (order_id, line_no, sku_id, qty, unit_price, discount, amount, unit_cost, location_id, shipped)`, 10, len(lines),
			func(i int, a []any) {
				l := lines[i]
				copy(a, []any{l.order, l.no, l.sku, l.qty, l.price, l.disc, l.qty*l.price - l.disc, l.price * 4 / 10, int64(nStore + 1 + int(l.order)%5), l.qty})
			}); err != nil {
			return err
		}
		var returned []int64 // orders with a completed return of line 1
		for i := 0; i < n; i += 20 {
			if statuses[i] == "completed" {
				returned = append(returned, int64(i+1))
			}
		}
		if err := bulk(tx, `INSERT INTO after_sales (id, order_id, kind, status, reason, due_at, created_at, updated_at)`, 8, len(returned),
			func(i int, a []any) {
				at := t0 + span*(returned[i]-1)/int64(n) + 5*86_400_000
				copy(a, []any{int64(i + 1), returned[i], "return", "completed", "size", at, at - 86_400_000, at})
			}); err != nil {
			return err
		}
		return bulk(tx, `INSERT INTO after_sale_lines (after_sale_id, line_no, qty, condition)`, 4, len(returned),
			func(i int, a []any) { copy(a, []any{int64(i + 1), 1, 1, "sellable"}) })
	})
	if err != nil {
		b.Fatal(err)
	}
}

package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
)

// MemberDeps are what LoadMembers needs: the store, the members service
// (its tiers and settings, and Bulk) and the network (store ids).
type MemberDeps struct {
	DB      *db.DB
	Members *members.Service
	Network *network.Service
}

// MemberLoad is the demo's members planned for a store (PlanMembers) and,
// once Load has run, written, for the steps after it: LoadHistory
// (given it as HistoryDeps.Members) reuses its history and links the
// members' orders to them, and WriteCoupons then writes their coupons and
// points-mall redemptions, which refer to those orders.
type MemberLoad struct {
	deps      MemberDeps
	plan      *MemberPlan
	wrote     bool
	skipped   string  // why nothing was planned
	ids       []int64 // member id by plan index
	cust      []int64 // member id by pool index, 0 for none
	redeemOff int64   // redemption ids follow this one
	coupons   bool    // WriteCoupons has run
	sum       MembersSummary
}

// Wrote reports whether Load wrote the members.
func (l *MemberLoad) Wrote() bool { return l != nil && l.wrote }

// Skipped says why PlanMembers planned no members for the store ("" when
// it did).
func (l *MemberLoad) Skipped() string {
	if l == nil {
		return "no member load"
	}
	return l.skipped
}

// Summary counts what was planned and loaded: the plan's figures, with
// the points expired and the ledger rows as the load wrote them, and the
// times taken so far.
func (l *MemberLoad) Summary() MembersSummary { return l.sum }

// customerIDs is the member id of each pool customer of history h (0:
// not a member), or an error when the load was made for another history.
func (l *MemberLoad) customerIDs(h *History) ([]int64, error) {
	if !l.Wrote() {
		return nil, nil
	}
	if l.plan.h != h && (l.plan.h.seed != h.seed || l.plan.h.scale != h.scale) {
		return nil, fmt.Errorf("the members were made for the history of seed %d at scale %g, not seed %d at %g",
			l.plan.h.seed, l.plan.h.scale, h.seed, h.scale)
	}
	return l.cust, nil
}

// LoadMembers is PlanMembers then Load.
func LoadMembers(ctx context.Context, deps MemberDeps, seed int64, scale float64) (*MemberLoad, error) {
	l, err := PlanMembers(ctx, deps, seed, scale)
	if err != nil {
		return nil, err
	}
	return l, l.Load(ctx)
}

// PlanMembers makes, without writing anything, the demo's members of a
// seed at a scale (1 for the demo: about 50,000; see members.go for who
// they are) under the store's tiers and loyalty settings, with the order
// history they come from. It only reads, so it may run while Generate
// writes the retailer. A store that holds members or orders gets no
// members (Load writes nothing, Skipped says why): running the demo again
// changes nothing, and the members of an existing history could not be
// linked to its orders.
func PlanMembers(ctx context.Context, deps MemberDeps, seed int64, scale float64) (*MemberLoad, error) {
	start := time.Now()
	if deps.DB == nil || deps.Members == nil || deps.Network == nil {
		return nil, errors.New("demo: members: DB, Members and Network are required")
	}
	l := &MemberLoad{deps: deps}
	var nm, no int
	if err := deps.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT id FROM members LIMIT 1) m),
		(SELECT COUNT(*) FROM (SELECT id FROM orders LIMIT 1) o)`).Scan(&nm, &no); err != nil {
		return nil, fmt.Errorf("demo: members: %w", err)
	}
	switch {
	case nm > 0:
		l.skipped = "the store already holds members"
		return l, nil
	case no > 0:
		l.skipped = "the store already holds orders (members are loaded with the order history only)"
		return l, nil
	}
	tiers, err := deps.Members.Tiers(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: members: %w", err)
	}
	st, err := deps.Members.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: members: %w", err)
	}
	if len(tiers) != 5 {
		return nil, fmt.Errorf("demo: members: %d tiers, want 5", len(tiers))
	}
	l.plan = MakeMembers(MakeHistory(seed, scale), Rules{Tiers: tiers, Settings: st})
	l.sum = l.plan.Summary()
	l.sum.Planned = time.Since(start)
	return l, nil
}

// Load writes the planned members, with their points and growth history,
// through members.Service.Bulk (one transaction), into a store that still
// holds neither members nor orders; it does nothing when PlanMembers
// skipped the store. The members come first so that the history's orders
// can name them: pass the load to LoadHistory (HistoryDeps.Members),
// which writes the same history (made once) with member ids, then call
// WriteCoupons. The points history refers to the orders by the ids they
// will have: the history's own numbers, since the store holds no order.
func (l *MemberLoad) Load(ctx context.Context) error {
	if l == nil || l.plan == nil || l.wrote {
		return nil
	}
	start := time.Now()
	p, deps := l.plan, l.deps
	var no int
	if err := deps.DB.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT id FROM orders LIMIT 1) o`).Scan(&no); err != nil {
		return fmt.Errorf("demo: members: %w", err)
	}
	if no > 0 {
		return errors.New("demo: members: the store holds orders since the members were planned")
	}
	r := &memberRefs{}
	locs, err := deps.Network.AllLocations(ctx)
	if err != nil {
		return fmt.Errorf("demo: members: %w", err)
	}
	byCode := map[string]int64{}
	for _, loc := range locs {
		byCode[loc.Code] = loc.ID
	}
	for _, s := range sites {
		id := byCode[s.code]
		if id == 0 {
			return fmt.Errorf("demo: members: location %s is not in the store (run Generate first)", s.code)
		}
		r.loc = append(r.loc, id)
	}
	if err := deps.DB.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM mall_redemptions`).Scan(&r.redeemOff); err != nil {
		return fmt.Errorf("demo: members: %w", err)
	}
	in := make([]members.BulkMember, len(p.members))
	for i := range p.members {
		in[i] = p.bulk(i, r)
	}
	res, err := deps.Members.Bulk(ctx, in)
	if err != nil {
		return fmt.Errorf("demo: members: %w", err)
	}
	if len(res.IDs) != len(p.members) {
		return fmt.Errorf("demo: members: %d ids for %d members", len(res.IDs), len(p.members))
	}
	l.wrote, l.ids, l.redeemOff = true, res.IDs, r.redeemOff
	l.cust = make([]int64, len(p.h.customers))
	for i, id := range res.IDs {
		l.cust[p.members[i].cust] = id
	}
	l.sum.Expired, l.sum.Ledger = res.Expired, res.Ledger
	l.sum.Duration = time.Since(start)
	return nil
}

// WriteCoupons writes the loaded members' coupon templates, coupons and
// points-mall items and redemptions straight into the coupons module's
// tables, in one transaction of multi-row INSERTs, once the history's
// orders are in the store (used coupons name their order). It writes
// nothing when LoadMembers wrote nothing, and fails when the members'
// orders are not in the store. A template or mall item whose code exists
// already is kept as it is and used. No outbox event is appended: this is
// the past.
func (l *MemberLoad) WriteCoupons(ctx context.Context) error {
	if !l.Wrote() || l.coupons {
		return nil
	}
	start := time.Now()
	p, d := l.plan, l.deps.DB
	// The members' orders must be there, with their member ids.
	var want, got int64
	for i := range p.h.orders {
		if p.h.orders[i].cust >= 0 {
			want++
		}
	}
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE member_id IS NOT NULL`).Scan(&got); err != nil {
		return fmt.Errorf("demo: coupons: %w", err)
	}
	if got != want {
		return fmt.Errorf("demo: coupons: the store holds %d member orders, the history %d: write the history (LoadHistory with these members) first", got, want)
	}
	cutoff := p.cutoff
	firstDay := cutoff - int64(HistoryDays)*msDay
	couponCols := []string{"code", "template_id", "member_id", "status", "source", "valid_from", "valid_until", "order_id", "used_at", "issued_at", "updated_at"}
	countCols := []string{"template_id", "member_id", "issued"}
	redeemCols := []string{"id", "item_id", "member_id", "qty", "points", "delivery", "store_id", "address", "status", "coupon_codes", "note", "actor", "created_at", "updated_at"}
	if err := d.Prepare(ctx, insertSQL("coupons", couponCols, rowsFor(couponCols)), insertSQL("coupon_member_counts", countCols, rowsFor(countCols)),
		insertSQL("mall_redemptions", redeemCols, rowsFor(redeemCols))); err != nil {
		return fmt.Errorf("demo: coupons: %w", err)
	}
	// Store ids of the members' home stores (gifts are collected there).
	locs, err := l.deps.Network.AllLocations(ctx)
	if err != nil {
		return fmt.Errorf("demo: coupons: %w", err)
	}
	byCode := map[string]int64{}
	for _, loc := range locs {
		byCode[loc.Code] = loc.ID
	}
	err = d.InTx(ctx, func(tx *db.Tx) error {
		var top int64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM mall_redemptions`).Scan(&top); err != nil {
			return err
		}
		if top != l.redeemOff {
			return fmt.Errorf("points-mall redemptions were written since the members were loaded (last id %d, was %d)", top, l.redeemOff)
		}
		// Templates and mall items: created unless their code exists.
		issued := make([]int64, len(p.templates))
		first := make([]int64, len(p.templates))
		for k := range p.coupons {
			c := &p.coupons[k]
			if issued[c.tmpl]++; first[c.tmpl] == 0 {
				first[c.tmpl] = c.issued
			}
		}
		tmplID := make([]int64, len(p.templates))
		for i := range p.templates {
			t := &p.templates[i]
			created := firstDay
			if t.claimFrom != 0 {
				created = max(firstDay, t.claimFrom-7*msDay)
			}
			if first[i] != 0 {
				created = min(created, first[i])
			}
			var from, until any
			if t.from != 0 {
				from = t.from
			}
			if t.until != 0 {
				until = t.until
			}
			active := t.until == 0 || t.until > cutoff
			id, err := insertOrFind(tx, "coupon_templates", t.code, `INSERT INTO coupon_templates (code, name, kind, amount_off, percent_off, max_off, min_spend,
				scope, scope_values, valid_from, valid_until, valid_days, per_member, total_limit, issued, claimable, min_tier, stackable, active, created_at, updated_at)
				VALUES (?, ?, ?, ?, 0, 0, ?, 'all', '[]', ?, ?, ?, ?, 0, 0, ?, 0, FALSE, ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
				t.code, t.name, t.kind, t.off, t.min, from, until, t.days, t.perMember, t.claimable, active, created, created)
			if err != nil {
				return err
			}
			tmplID[i] = id
			if _, err := tx.Exec(`UPDATE coupon_templates SET issued = issued + ? WHERE id = ?`, issued[i], id); err != nil {
				return fmt.Errorf("coupon_templates %s: %w", t.code, err)
			}
		}
		redeemed := make([]int64, len(mallItems))
		for _, rd := range p.redeems {
			redeemed[rd.item]++
		}
		itemID := make([]int64, len(mallItems))
		for i, it := range mallItems {
			kind, stock := "coupon", any(nil)
			var tmpl any
			if it.tmpl >= 0 {
				tmpl = tmplID[it.tmpl]
			} else {
				kind, stock = "gift", redeemed[i]+toteStockLeft
			}
			id, err := insertOrFind(tx, "mall_items", it.code, `INSERT INTO mall_items (code, name, kind, points, template_id, stock, redeemed, active, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, 0, TRUE, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id`,
				it.code, it.name, kind, it.points, tmpl, stock, firstDay, firstDay)
			if err != nil {
				return err
			}
			itemID[i] = id
			if _, err := tx.Exec(`UPDATE mall_items SET redeemed = redeemed + ?, stock = CASE WHEN stock >= ? THEN stock - ? ELSE stock END WHERE id = ?`,
				redeemed[i], redeemed[i], redeemed[i], id); err != nil {
				return fmt.Errorf("mall_items %s: %w", it.code, err)
			}
		}

		w := &rowWriter{tx: tx, table: "coupons", cols: couponCols}
		counts := map[[2]int64]int64{}
		var countKeys [][2]int64
		codes := make([]string, len(p.redeems))
		for k := range p.coupons {
			c := &p.coupons[k]
			member := l.ids[c.member]
			var order, used any
			status := c.status(cutoff)
			updated := c.issued
			switch status {
			case "used":
				o := &p.h.orders[c.order]
				order, used, updated = o.id, o.created, o.created
			case "expired":
				updated = c.until
			}
			if err := w.add(c.code, tmplID[c.tmpl], member, status, c.source(member, l.redeemOff), c.from, c.until, order, used, c.issued, updated); err != nil {
				return err
			}
			key := [2]int64{tmplID[c.tmpl], member}
			if counts[key] == 0 {
				countKeys = append(countKeys, key)
			}
			counts[key]++
			if c.src == srcMall {
				codes[c.ref] = c.code
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		w = &rowWriter{tx: tx, table: "coupon_member_counts", cols: countCols}
		for _, k := range countKeys {
			if err := w.add(k[0], k[1], counts[k]); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		w = &rowWriter{tx: tx, table: "mall_redemptions", cols: redeemCols}
		for k, rd := range p.redeems {
			m := &p.members[rd.member]
			it := mallItems[rd.item]
			delivery, status, store, list, updated := "coupon", "issued", any(nil), "[]", rd.at
			if it.tmpl < 0 {
				delivery, store = "store", byCode[sites[m.home].code]
				switch ready := rd.at + 2*msDay; {
				case ready+3*msDay < cutoff:
					status, updated = "collected", ready+3*msDay
				case ready < cutoff:
					status, updated = "ready", ready
				default:
					status = "pending"
				}
			} else {
				b, _ := json.Marshal([]string{codes[k]})
				list = string(b)
			}
			if err := w.add(l.redeemOff+int64(k)+1, itemID[rd.item], l.ids[rd.member], 1, it.points, delivery, store, "", status, list, "", "member", rd.at, updated); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		if tx.Engine() == db.Postgres && len(p.redeems) > 0 {
			var v any
			if err := tx.QueryRow(`SELECT setval(pg_get_serial_sequence('mall_redemptions', 'id'), MAX(id)) FROM mall_redemptions`).Scan(&v); err != nil {
				return fmt.Errorf("mall_redemptions: sequence: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo: coupons: %w", err)
	}
	l.coupons = true
	l.sum.Duration += time.Since(start)
	return nil
}

// insertOrFind runs an INSERT … ON CONFLICT (code) DO NOTHING RETURNING id
// and returns the new row's id, or the id of the row with the code.
func insertOrFind(tx *db.Tx, table, code, q string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRow(q, args...).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s %s: %w", table, code, err)
	}
	if err := tx.QueryRow(`SELECT id FROM `+table+` WHERE code = ?`, code).Scan(&id); err != nil {
		return 0, fmt.Errorf("%s %s: %w", table, code, err)
	}
	return id, nil
}

// rowWriter writes a table's rows with multi-row INSERTs.
type rowWriter struct {
	tx    *db.Tx
	table string
	cols  []string
	args  []any
	rows  int
	full  string
}

func rowsFor(cols []string) int { return min(maxParams/len(cols), 400) }

func (w *rowWriter) add(vals ...any) error {
	if len(vals) != len(w.cols) {
		return fmt.Errorf("%s: %d values for %d columns", w.table, len(vals), len(w.cols))
	}
	w.args = append(w.args, vals...)
	if w.rows++; w.rows == rowsFor(w.cols) {
		return w.flush()
	}
	return nil
}

func (w *rowWriter) flush() error {
	if w.rows == 0 {
		return nil
	}
	q := w.full
	if w.rows != rowsFor(w.cols) || q == "" {
		q = insertSQL(w.table, w.cols, w.rows)
		if w.rows == rowsFor(w.cols) {
			w.full = q
		}
	}
	if _, err := w.tx.Exec(q, w.args...); err != nil {
		return fmt.Errorf("%s: %w", w.table, err)
	}
	clear(w.args)
	w.args, w.rows = w.args[:0], 0
	return nil
}

// String is the one-line report of a members load.
func (s MembersSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s members (%s bought) — regular %s, silver %s, gold %s, platinum %s, diamond %s; points earned %s, taken back %s, spent %s, expired %s; %s check-ins, %s shares, %s mall redemptions; coupons issued %s, used %s, expired %s",
		group(int64(s.Members)), group(int64(s.Buyers)), group(int64(s.Tiers[0])), group(int64(s.Tiers[1])), group(int64(s.Tiers[2])),
		group(int64(s.Tiers[3])), group(int64(s.Tiers[4])), group(s.Earned), group(s.Reversed), group(s.Spent), group(s.Expired),
		group(int64(s.CheckIns)), group(int64(s.Shares)), group(int64(s.Redemptions)), group(int64(s.Coupons)), group(int64(s.CouponsUsed)),
		group(int64(s.CouponsExpired)))
	return b.String()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

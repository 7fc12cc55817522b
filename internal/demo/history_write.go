package demo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
)

// HistorySummary counts a history.
type HistorySummary struct {
	Orders      int
	Lines       int
	Customers   int // distinct pool customers with an order
	GuestOrders int
	Payments    int
	Refunds     int
	Shipments   int
	Returns     int   // after-sales (all returns, completed)
	Cancelled   int   // orders cancelled (unpaid, by the customer, not picked up)
	Open        int   // orders neither completed nor cancelled at the cutoff
	Sales       int64 // fen: Σ paid − Σ refunded
	From, To    string
}

// Summary counts the history.
func (h *History) Summary() HistorySummary {
	s := HistorySummary{Orders: len(h.orders), From: h.first, To: AsOf}
	seen := map[int32]bool{}
	for i := range h.orders {
		o := &h.orders[i]
		s.Lines += len(o.lines)
		if o.cust < 0 {
			s.GuestOrders++
		} else {
			seen[o.cust] = true
		}
		if o.payID > 0 {
			s.Payments++
		}
		s.Refunds += len(o.refunds)
		s.Shipments += len(o.ships)
		if o.ret != nil {
			s.Returns++
		}
		switch o.status() {
		case stCancelled:
			s.Cancelled++
		case stCompleted:
		default:
			s.Open++
		}
		s.Sales += o.paid - o.refunded
	}
	s.Customers = len(seen)
	return s
}

// HistoryDeps are what WriteHistory needs: the store, and the services
// that turn the demo's SKU, location and channel codes into ids.
type HistoryDeps struct {
	DB        *db.DB
	Catalog   *catalog.Service
	Network   *network.Service
	Inventory *inventory.Service // holds the stock of the orders still open
	// Members, when its Load wrote the members of the same seed and
	// scale, links their orders to them (orders.member_id) and lends its
	// history (made once). Nil, or a load that wrote nothing: the orders
	// name no member.
	Members *MemberLoad
}

// LoadHistory writes the order history of a seed at a scale (1 for the
// demo) into a store that holds no order yet, and reports whether it did.
// A store with orders is left alone, so running the demo again does not
// double its history. The network and catalog of the same seed must be in
// the store (Generate).
func LoadHistory(ctx context.Context, deps HistoryDeps, seed int64, scale float64) (HistorySummary, bool, error) {
	if deps.DB == nil || deps.Catalog == nil || deps.Network == nil || deps.Inventory == nil {
		return HistorySummary{}, false, errors.New("demo: history: DB, Catalog, Network and Inventory are required")
	}
	var id int64
	switch err := deps.DB.QueryRow(ctx, `SELECT id FROM orders LIMIT 1`).Scan(&id); {
	case err == nil:
		return HistorySummary{}, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return HistorySummary{}, false, fmt.Errorf("demo: history: %w", err)
	}
	var h *History
	if l := deps.Members; l.Wrote() && l.plan.h.seed == seed && l.plan.h.scale == scale {
		h = l.plan.h
	} else {
		h = MakeHistory(seed, scale)
	}
	wrote, err := WriteHistory(ctx, deps, h)
	if err != nil || !wrote {
		return HistorySummary{}, false, err
	}
	return h.Summary(), true, nil
}

// WriteHistory stores a history in one transaction, straight into the
// orders module's tables (orders, order_lines, order_history, payments,
// refunds, shipments, shipment_lines, shipment_events, after_sales,
// after_sale_lines) with multi-row INSERTs; the orders of pool customers
// who are members (deps.Members) carry their member ids. It writes
// nothing and returns false when the store already holds an order. Ids
// follow those already used; on PostgreSQL the identity sequences are
// moved past the rows written, so that orders placed afterwards get fresh
// ids.
//
// It writes no stock movement for what was sold: the history is what was
// sold before AsOf, and the stock ledger starts with the opening stock.
// The orders still open at the cutoff and not yet shipped (allocated,
// picking, ready for pickup, partly shipped) hold their units through the
// inventory service, as live orders do, so that staff can carry them on.
// No outbox event is appended for the history itself: nothing downstream
// is meant to react to the past.
func WriteHistory(ctx context.Context, deps HistoryDeps, h *History) (bool, error) {
	r, err := resolve(ctx, deps, h)
	if err == nil && deps.Members != nil {
		r.member, err = deps.Members.customerIDs(h)
	}
	if err != nil {
		return false, fmt.Errorf("demo: history: %w", err)
	}
	var one int64
	switch err := deps.DB.QueryRow(ctx, `SELECT id FROM orders LIMIT 1`).Scan(&one); {
	case err == nil:
		return false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("demo: history: %w", err)
	}
	opens, err := openOrders(ctx, deps, h, r)
	if err == nil {
		err = stockOpen(ctx, deps, opens)
	}
	if err == nil {
		err = prepareInserts(ctx, deps.DB)
	}
	if err != nil {
		return false, fmt.Errorf("demo: history: %w", err)
	}
	wrote := false
	err = deps.DB.InTx(ctx, func(tx *db.Tx) error {
		wrote = false
		var one int64
		switch err := tx.QueryRow(`SELECT id FROM orders LIMIT 1`).Scan(&one); {
		case err == nil:
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		for _, o := range []struct {
			table string
			off   *int64
		}{{"orders", &r.order}, {"payments", &r.payment}, {"shipments", &r.shipment}, {"after_sales", &r.afterSale}} {
			if err := tx.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM ` + o.table).Scan(o.off); err != nil {
				return err
			}
		}
		if err := insertAll(tx, h, r); err != nil {
			return err
		}
		if err := holdOpen(tx, deps, opens, r.order); err != nil {
			return err
		}
		if tx.Engine() == db.Postgres {
			// Rows were given their ids: move the identity sequences past them.
			for _, t := range histTables {
				if !t.explicitID {
					continue
				}
				var v sql.NullInt64
				if err := tx.QueryRow(`SELECT setval(pg_get_serial_sequence('` + t.name + `', 'id'), MAX(id)) FROM ` + t.name).Scan(&v); err != nil {
					return fmt.Errorf("%s: sequence: %w", t.name, err)
				}
			}
		}
		wrote = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("demo: history: %w", err)
	}
	return wrote, nil
}

// batch is one multi-row INSERT: a table's rows and their values.
type batch struct {
	table int // index in histTables
	rows  int
	args  []any
}

// insertAll writes every table of the history, in histTables order (parents
// before children). The values are gathered on another goroutine while the
// store executes the previous statement.
func insertAll(tx *db.Tx, h *History, r *histRefs) error {
	batches := make(chan batch, 2)
	free := make(chan []any, 4)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		for ti, t := range histTables {
			per := rowsPerInsert(t)
			b := batch{table: ti, args: make([]any, 0, per*len(t.cols))}
			send := func() bool {
				select {
				case batches <- b:
				case <-stop:
					return false
				}
				var args []any
				select {
				case args = <-free:
				default:
					args = make([]any, 0, per*len(t.cols))
				}
				b = batch{table: ti, args: args[:0]}
				return true
			}
			err := t.rows(h, r, func(vals ...any) error {
				b.args = append(b.args, vals...)
				if b.rows++; b.rows == per && !send() {
					return errStopped
				}
				return nil
			})
			if err != nil || (b.rows > 0 && !send()) {
				return
			}
		}
	}()
	full := make([]string, len(histTables))
	for b := range batches {
		t := histTables[b.table]
		if len(b.args) != b.rows*len(t.cols) {
			return fmt.Errorf("%s: %d values for %d rows of %d columns", t.name, len(b.args), b.rows, len(t.cols))
		}
		q := full[b.table]
		if b.rows != rowsPerInsert(t) || q == "" {
			q = insertSQL(t.name, t.cols, b.rows)
			if b.rows == rowsPerInsert(t) {
				full[b.table] = q
			}
		}
		if _, err := tx.Exec(q, b.args...); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		clear(b.args)
		select {
		case free <- b.args[:0]:
		default:
		}
	}
	return nil
}

// rowsPerInsert is the number of rows of a full INSERT into t.
func rowsPerInsert(t histTable) int { return min(maxParams/len(t.cols), 400) }

// resolve looks up the ids of the codes a history refers to.
func resolve(ctx context.Context, deps HistoryDeps, h *History) (*histRefs, error) {
	r := &histRefs{sku: make([]int64, len(h.skuCodes)), loc: make([]int64, len(sites))}
	used := make([]bool, len(h.skuCodes))
	for i := range h.orders {
		for _, l := range h.orders[i].lines {
			used[l.sku] = true
		}
	}
	for i, code := range h.skuCodes {
		if !used[i] {
			continue
		}
		ref, err := deps.Catalog.SKURef(ctx, code)
		if err != nil {
			return nil, err
		}
		r.sku[i] = ref.ID
	}
	locs, err := deps.Network.AllLocations(ctx)
	if err != nil {
		return nil, err
	}
	byCode := map[string]int64{}
	for _, l := range locs {
		byCode[l.Code] = l.ID
	}
	for i, s := range sites {
		if r.loc[i] = byCode[s.code]; r.loc[i] == 0 {
			return nil, fmt.Errorf("location %s is not in the store", s.code)
		}
	}
	for _, c := range Channels() {
		ch, err := deps.Network.Channel(ctx, c.Code)
		if err != nil {
			return nil, err
		}
		r.ch = append(r.ch, ch.ID)
	}
	return r, nil
}

// openOrder is an order open at the cutoff with the units it holds.
type openOrder struct {
	id    int64 // the history's number; the order's id is offset by histRefs.order
	ch    network.Channel
	lines []inventory.HoldLine
	nos   []int // order line numbers of lines
}

// openOrders lists the unshipped units of the orders open at the cutoff
// (allocated, picking, ready for pickup, partly shipped).
func openOrders(ctx context.Context, deps HistoryDeps, h *History, r *histRefs) ([]openOrder, error) {
	chans := map[uint8]network.Channel{}
	locs := map[int16]network.Location{}
	var out []openOrder
	for i := range h.orders {
		o := &h.orders[i]
		switch o.status() {
		case stAllocated, stPicking, stReadyForPickup, stPartiallyShipped:
		default:
			continue
		}
		ch, ok := chans[o.channel]
		if !ok {
			var err error
			if ch, err = deps.Network.ChannelByID(ctx, r.ch[o.channel]); err != nil {
				return nil, err
			}
			chans[o.channel] = ch
		}
		oo := openOrder{id: o.id, ch: ch}
		for n, l := range o.lines {
			if l.qty <= l.shipped {
				continue
			}
			loc, ok := locs[l.loc]
			if !ok {
				var err error
				if loc, err = deps.Network.LocationByID(ctx, r.loc[l.loc]); err != nil {
					return nil, err
				}
				locs[l.loc] = loc
			}
			ref, err := deps.Catalog.SKURef(ctx, h.skuCodes[l.sku])
			if err != nil {
				return nil, err
			}
			oo.lines = append(oo.lines, inventory.HoldLine{SKU: ref, Location: loc, Qty: l.qty - l.shipped})
			oo.nos = append(oo.nos, n+1)
		}
		if len(oo.lines) > 0 {
			out = append(out, oo)
		}
	}
	return out, nil
}

// stockOpen receives, where the opening stock lacks them, the units the
// open orders hold: they were on the shelves at the cutoff, set aside for
// those orders, so the opening stock (what could still be sold) left them
// out. Enough is received for each hold to clear the channels' safety
// stock.
func stockOpen(ctx context.Context, deps HistoryDeps, opens []openOrder) error {
	type key struct{ sku, loc int64 }
	need := map[key]int64{}
	style := map[int64]int64{}
	var safety int64
	var skus, locs []int64
	for _, o := range opens {
		safety = max(safety, o.ch.SafetyStock)
		for _, l := range o.lines {
			k := key{l.SKU.ID, l.Location.ID}
			if need[k] == 0 {
				skus, locs = append(skus, k.sku), append(locs, k.loc)
			}
			need[k] += l.Qty
			style[k.sku] = l.SKU.StyleID
		}
	}
	if len(need) == 0 {
		return nil
	}
	free, err := deps.Inventory.Free(ctx, skus, locs)
	if err != nil {
		return err
	}
	var bulk []inventory.BulkLine
	for k, n := range need {
		if short := n + safety - max(free[k.sku][k.loc], 0); short > 0 {
			bulk = append(bulk, inventory.BulkLine{SKUID: k.sku, StyleID: style[k.sku], LocationID: k.loc, Qty: short})
		}
	}
	if len(bulk) == 0 {
		return nil
	}
	slices.SortFunc(bulk, func(a, b inventory.BulkLine) int {
		return cmp.Or(cmp.Compare(a.SKUID, b.SKUID), cmp.Compare(a.LocationID, b.LocationID))
	})
	return deps.Inventory.BulkReceive(ctx, bulk, "demo: units set aside for the orders open at the cutoff")
}

// holdOpen holds the open orders' units in tx, as checkout does.
func holdOpen(tx *db.Tx, deps HistoryDeps, opens []openOrder, offset int64) error {
	for _, o := range opens {
		id := offset + o.id
		if err := deps.Inventory.Hold(tx, o.ch, o.lines, inventory.Ref{Type: "order", ID: strconv.FormatInt(id, 10), Actor: "demo"}); err != nil {
			return fmt.Errorf("order %d: %w", id, err)
		}
		for k, hl := range o.lines {
			var capped any
			if hl.Capped {
				capped = hl.SKU.StyleID
			}
			if _, err := tx.Exec(`UPDATE order_lines SET held = ?, capped_style_id = ? WHERE order_id = ? AND line_no = ?`, hl.Qty, capped, id, o.nos[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxParams keeps every statement under SQLite's limit of 32,766 bound
// parameters (PostgreSQL's is 65,535).
const maxParams = 32_766

func insertSQL(table string, cols []string, rows int) string {
	row := "(" + strings.Repeat("?, ", len(cols)-1) + "?)"
	var sb strings.Builder
	sb.Grow(len(table) + 40 + rows*(len(row)+2))
	sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	for i := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	return sb.String()
}

// histRefs turn a history's references into store ids: SKUs, locations
// and channels by index, and the offsets of the ids it numbers itself.
type histRefs struct {
	sku, loc, ch                        []int64
	member                              []int64 // by pool index, 0 or absent: none
	order, payment, shipment, afterSale int64
}

// memberOf is the member id of pool customer c, nil for a guest or a
// customer who is not a member.
func (r *histRefs) memberOf(c int32) any {
	if c < 0 || int(c) >= len(r.member) || r.member[c] == 0 {
		return nil
	}
	return r.member[c]
}

// localRefs are the references of the digest: indexes for ids, no offsets;
// every pool customer is a member (the demo's members include every
// customer with an order), numbered by pool index.
func localRefs(h *History) *histRefs {
	r := &histRefs{}
	for i := range h.customers {
		r.member = append(r.member, int64(i)+1)
	}
	for i := range h.skuCodes {
		r.sku = append(r.sku, int64(i)+1)
	}
	for i := range sites {
		r.loc = append(r.loc, int64(i)+1)
	}
	for i := range nChannels {
		r.ch = append(r.ch, int64(i)+1)
	}
	return r
}

// histTable is one table's columns and the rows a history writes to it.
type histTable struct {
	name       string
	cols       []string
	explicitID bool // ids are set by the history (and referred to)
	rows       func(h *History, r *histRefs, emit func(vals ...any) error) error
}

// Digest is a SHA-256 over every row the history writes, in order, with
// local numbers in place of store ids: equal histories have equal digests.
func (h *History) Digest() string {
	sum := sha256.New()
	r := localRefs(h)
	for _, t := range histTables {
		io.WriteString(sum, t.name+"\n")
		err := t.rows(h, r, func(vals ...any) error {
			for _, v := range vals {
				fmt.Fprint(sum, v, "\x1f")
			}
			_, err := io.WriteString(sum, "\n")
			return err
		})
		if err != nil {
			panic(err) // a hash never fails
		}
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// null turns a zero time or id into NULL.
func null(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// mix is SplitMix64: the deterministic "random" references (provider
// transaction numbers, pickup codes) come from the seed and an id.
func mix(seed int64, id int64, salt uint64) uint64 {
	z := uint64(seed) ^ uint64(id)*0x9e3779b97f4a7c15 ^ salt
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func ymd(ms int64) string { return time.UnixMilli(ms).In(network.Shanghai).Format("20060102") }

// providerRef is the provider's transaction number of a payment or refund.
func providerRef(seed int64, prov uint8, id, at int64, refund bool) string {
	x := mix(seed, id, 0x7061790a)
	switch prov {
	case provWeChat:
		if refund {
			return fmt.Sprintf("5030%06d%s%010d", x%1_000_000, ymd(at), (x/1_000_000)%10_000_000_000)
		}
		return fmt.Sprintf("4200%06d%s%010d", x%1_000_000, ymd(at), (x/1_000_000)%10_000_000_000)
	case provAlipay:
		return fmt.Sprintf("%s2200%016d", ymd(at), x%10_000_000_000_000_000)
	}
	return ""
}

// trackingNo is a shipment's carrier tracking number: a bijection of its
// id onto 13 digits, so that numbers never repeat.
func trackingNo(carrier uint8, id int64) string {
	n := (uint64(id)*7_777_777_777 + 123_456_789_012) % 10_000_000_000_000
	return carriers[carrier].prefix + fmt.Sprintf("%013d", n)
}

func shipStatus(s *hShip) (string, int64) {
	for i := 3; i > 0; i-- {
		if s.ev[i] != 0 {
			return shipEventStatus[i], s.ev[i]
		}
	}
	return shipEventStatus[0], s.ev[0]
}

var shipEventStatus = [4]string{"shipped", "in_transit", "out_for_delivery", "delivered"}

// Actor names of history steps, by location, carrier and provider.
var (
	staffActors   = actorNames("staff:", len(sites), func(i int) string { return sites[i].code })
	carrierActors = actorNames("carrier:", len(carriers), func(i int) string { return carriers[i].code })
	paymentActors = actorNames("payment:", len(providers), func(i int) string { return providers[i] })
)

func actorNames(prefix string, n int, name func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + name(i)
	}
	return out
}

func actorName(s hStep) string {
	switch s.actor {
	case actCustomer:
		return "customer"
	case actPayment:
		return paymentActors[s.ref]
	case actStaff:
		return staffActors[s.ref]
	case actCarrier:
		return carrierActors[s.ref]
	}
	return "system"
}

var histTables = []histTable{
	{name: "orders", explicitID: true, cols: []string{"id", "channel_id", "mode", "status", "member_id", "customer_mobile", "customer_name",
		"store_id", "ship_province", "ship_city", "ship_address", "ship_lat", "ship_lng", "region", "subtotal", "discount",
		"shipping_fee", "total", "paid", "refunded", "pickup_code", "promised_at", "expires_at", "created_at", "paid_at",
		"completed_at", "cancelled_at", "updated_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				var store, lat, lng any
				if o.store >= 0 {
					store = r.loc[o.store]
				}
				if o.mode == modeInstant || o.mode == modeStandard {
					lat, lng = o.lat, o.lng
				}
				code := ""
				if o.mode == modePickup {
					code = fmt.Sprintf("%06d", mix(h.seed, o.id, 0x7069636b)%1_000_000)
				}
				if err := emit(r.order+o.id, r.ch[o.channel], modeNames[o.mode], statusNames[o.status()], r.memberOf(o.cust), o.mobile, o.name,
					store, o.province, o.city, o.address, lat, lng, o.region, o.subtotal, o.discount,
					o.shipping, o.total, o.paid, o.refunded, code, null(o.promised), null(o.expires), o.created, null(o.paidAt),
					null(o.completed), null(o.cancelled), o.updated); err != nil {
					return err
				}
			}
			return nil
		}},
	{name: "order_lines", cols: []string{"order_id", "line_no", "sku_id", "qty", "unit_price", "discount", "amount",
		"unit_cost", "location_id", "shipped", "returned"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				for n, l := range o.lines {
					// held stays 0: see fulfil.
					if err := emit(r.order+o.id, n+1, r.sku[l.sku], l.qty, l.price, l.disc, l.amount, l.cost,
						r.loc[l.loc], l.shipped, l.returned); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	{name: "order_history", cols: []string{"order_id", "from_status", "to_status", "note", "actor", "created_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				from := ""
				for _, s := range o.steps {
					if err := emit(r.order+o.id, from, statusNames[s.to], noteTexts[s.note], actorName(s), s.at); err != nil {
						return err
					}
					from = statusNames[s.to]
				}
			}
			return nil
		}},
	{name: "payments", explicitID: true, cols: []string{"id", "order_id", "provider", "method", "amount", "refunded", "status",
		"out_trade_no", "provider_ref", "created_at", "captured_at", "updated_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				if o.payID == 0 {
					continue
				}
				id, oid := r.payment+o.payID, r.order+o.id
				updated := o.paidAt
				for _, f := range o.refunds {
					updated = max(updated, f.at)
				}
				if err := emit(id, oid, providers[o.payProv], methods[o.payMethod], o.paid, o.refunded, "captured",
					"P"+strconv.FormatInt(oid, 10)+"-1", providerRef(h.seed, o.payProv, id, o.paidAt, false),
					max(o.created, o.paidAt-8*msSec), o.paidAt, updated); err != nil {
					return err
				}
			}
			return nil
		}},
	{name: "refunds", cols: []string{"payment_id", "order_id", "after_sale_id", "amount", "reason", "status", "out_refund_no",
		"provider_ref", "created_at", "updated_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				for n, f := range o.refunds {
					oid, pid := r.order+o.id, r.payment+o.payID
					var as any
					reason := "order cancelled"
					if f.afterSale > 0 {
						as, reason = r.afterSale+f.afterSale, "return"
					}
					ref := providerRef(h.seed, o.payProv, pid, o.paidAt, false)
					if o.payProv == provWeChat {
						ref = providerRef(h.seed, o.payProv, pid*16+int64(n), f.at, true)
					}
					if err := emit(pid, oid, as, f.amount, reason, "succeeded",
						"R"+strconv.FormatInt(oid, 10)+"-"+strconv.Itoa(n+1), ref, f.at, f.at); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	{name: "shipments", explicitID: true, cols: []string{"id", "order_id", "location_id", "carrier", "tracking_no", "status",
		"promised_at", "shipped_at", "delivered_at", "late", "created_at", "updated_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				for k := range o.ships {
					s := &o.ships[k]
					id := r.shipment + s.id
					status, last := shipStatus(s)
					if err := emit(id, r.order+o.id, r.loc[s.loc], carriers[s.carrier].code, trackingNo(s.carrier, id),
						status, null(s.promised), s.ev[0], null(s.ev[3]), s.ev[3] > s.promised, s.ev[0], last); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	{name: "shipment_lines", cols: []string{"shipment_id", "line_no", "qty"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				for k := range o.ships {
					for _, ln := range o.ships[k].lines {
						if err := emit(r.shipment+o.ships[k].id, int(ln), o.lines[ln-1].qty); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}},
	{name: "shipment_events", cols: []string{"shipment_id", "status", "description", "place", "occurred_at", "created_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				for k := range o.ships {
					s := &o.ships[k]
					from := sites[s.loc].city
					for e, at := range s.ev {
						if at == 0 {
							continue
						}
						var desc, place string
						switch e {
						case 0:
							desc, place = carriers[s.carrier].name+" 已揽收", from
							if s.instant {
								desc = "骑手已取货"
							}
						case 1:
							desc, place = "已发往"+s.dest, from
						case 2:
							desc, place = "快递员正在派送", s.dest
						case 3:
							desc, place = "已签收", s.dest
							if s.instant {
								desc = "已送达"
							}
						}
						if err := emit(r.shipment+s.id, shipEventStatus[e], desc, place, at, at); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}},
	{name: "after_sales", explicitID: true, cols: []string{"id", "order_id", "kind", "status", "reason", "refund_amount",
		"location_id", "due_at", "handled_at", "created_at", "updated_at"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				if a := o.ret; a != nil {
					if err := emit(r.afterSale+a.id, r.order+o.id, "return", "completed", returnReasons[a.reason].text, a.refund,
						r.loc[a.loc], a.created+msDay, a.handled, a.created, a.completed); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	{name: "after_sale_lines", cols: []string{"after_sale_id", "line_no", "qty", "condition"},
		rows: func(h *History, r *histRefs, emit func(...any) error) error {
			for i := range h.orders {
				o := &h.orders[i]
				if a := o.ret; a != nil {
					for _, l := range a.lines {
						if err := emit(r.afterSale+a.id, int(l.line), l.qty, [2]string{"sellable", "damaged"}[l.cond]); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}},
}

var (
	errStopped = errors.New("demo: history: writing stopped")
)

// prepareInserts prepares the full-batch INSERT of every table, so that
// the load binds prepared statements instead of compiling every batch of
// hundreds of rows again (on SQLite it takes about a quarter less time).
func prepareInserts(ctx context.Context, d *db.DB) error {
	qs := make([]string, len(histTables))
	for i, t := range histTables {
		qs[i] = insertSQL(t.name, t.cols, rowsPerInsert(t))
	}
	return d.Prepare(ctx, qs...)
}

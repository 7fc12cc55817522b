package analytics

// Live orders: Omni's own order lines and completed returns read into a
// Dataset, so that every analysis runs over the store's history exactly as
// over an imported file.
//
// This is a read-only report over the orders module's tables (orders,
// order_lines, after_sales, after_sale_lines) and the catalog's and the
// network's (skus, styles, channels, locations), read directly for speed:
// hundreds of thousands of lines stream into the columns without building
// any per-line object.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
)

// OrdersCurrency is the currency of Omni's own data: amounts are fen.
const OrdersCurrency = "CNY"

// OrdersSummary reports what LoadOrders read. Money is in fen.
type OrdersSummary struct {
	Currency string `json:"currency"`
	// Orders counts the paid orders read (status other than created and
	// cancelled; exchange replacement orders excluded), SalesLines their
	// lines, ReturnLines the completed return lines.
	Orders      int   `json:"orders"`
	SalesLines  int64 `json:"sales_lines"`
	ReturnLines int64 `json:"return_lines"`
	Customers   int   `json:"customers"` // distinct known customers
	SKUs        int   `json:"skus"`
	// MissingCustomer counts sales lines of orders with neither a member nor
	// a mobile number (kept for product analytics, Customer = -1).
	MissingCustomer int64 `json:"missing_customer"`
	// Sales is what was paid for goods: Σ line amounts less order-level
	// discounts, before returns. Discount is Σ discounts on those lines (line
	// and order-level); Returned is the value of the returned units, positive.
	Sales         int64 `json:"sales"`
	Discount      int64 `json:"discount"`
	Units         int64 `json:"units"`
	Returned      int64 `json:"returned"`
	ReturnedUnits int64 `json:"returned_units"`
	// SkippedReturns counts completed return lines left out: lines of orders
	// that are not in the dataset, line numbers the order lacks, and units
	// beyond what the line sold.
	SkippedReturns int64 `json:"skipped_returns"`
	// DataFrom and DataTo are the first and last line's times; absent
	// without lines.
	DataFrom *time.Time `json:"data_from,omitempty"`
	DataTo   *time.Time `json:"data_to,omitempty"`
}

// ReturnRate is Returned ÷ Sales (0 without sales), comparable with
// ImportSummary.ReturnRate.
func (s OrdersSummary) ReturnRate() float64 {
	if s.Sales <= 0 {
		return 0
	}
	return float64(s.Returned) / float64(s.Sales)
}

// LoadOrders reads Omni's orders into a Dataset (currency CNY, amounts in fen,
// Returns set), streaming the rows into the columns.
//
// Sales lines: one per order line of every order whose status is neither
// created (unpaid) nor cancelled, excluding the replacement orders of
// exchanges (orders.exchange_of set), in order id and line order:
//   - Order is the order id in decimal; At is paid_at (created_at when the
//     order has none), in Unix seconds;
//   - Customer is "member:<member_id>" when the order has a member, else
//     "guest:<masked mobile>~<digest>" (see guestID), else unknown (-1);
//   - SKU is the SKU code, SKUCategory its style's category, SKUCost the
//     catalog's current cost; Cost is the line's unit_cost at checkout;
//   - Value is the line's amount (list price × qty − line discount) less its
//     share of the order-level discount (orders.discount − Σ line discounts,
//     spread over the lines in proportion to their amounts, rounded down,
//     the last line taking the remainder — the orders module's refund rule),
//     so the lines of an order add up to its total less shipping; Price is
//     Value ÷ Qty rounded half-up; Discount is the line's discount plus its
//     share of the order-level one;
//   - Channel is the channel code; Store the code of the pickup or POS
//     store, else of the line's fulfilment location (unknown while a
//     presale waits for stock); Region is orders.region (empty: unknown).
//
// Return lines: one per line of every completed after-sale of kind return,
// after the sales lines, in completion order. It copies its order line's
// order, customer, SKU, channel, store, region and unit cost, with Qty = −the
// units returned, Value and Discount = −what those units are worth of the
// line's (the first k units of a line being worth ⌊Value × k ÷ Qty⌋, as the
// orders module refunds them, so that a line's returns add up to its value),
// and At = the after-sale's updated_at. Returns of
// orders that are not in the dataset and units beyond what the line sold
// are skipped and counted. Exchanges are neither sales nor returns: the
// customer keeps the money's worth, so the goods sent back and their
// replacement order are both left out.
//
// Analyses treat the return lines as importers' removed returns would be:
// customer analytics (RFM, CLV, cohorts, personas) and ABC count sales lines
// only, while KPIs net them out and report the return rate.
func LoadOrders(ctx context.Context, d *db.DB) (*Dataset, OrdersSummary, error) {
	l := newOrdersLoader()
	if err := l.sales(ctx, d); err != nil {
		return nil, OrdersSummary{}, fmt.Errorf("analytics: load orders: %w", err)
	}
	if err := l.returns(ctx, d); err != nil {
		return nil, OrdersSummary{}, fmt.Errorf("analytics: load order returns: %w", err)
	}
	if err := l.names(ctx, d); err != nil {
		return nil, OrdersSummary{}, fmt.Errorf("analytics: load orders: %w", err)
	}
	ds := l.d
	l.sum.Orders, l.sum.Customers, l.sum.SKUs = len(ds.OrderIDs), len(ds.CustomerIDs), len(ds.SKUIDs)
	if n := ds.Len(); n > 0 {
		lo, hi := slices.Min(ds.At), slices.Max(ds.At)
		from, to := time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()
		l.sum.DataFrom, l.sum.DataTo = &from, &to
	}
	return ds, l.sum, nil
}

// ordersLoader builds the Dataset; database ids are interned into dense
// indexes whose names are filled in by names() once the lines are read.
type ordersLoader struct {
	d   *Dataset
	sum OrdersSummary

	orderDBID  []int64 // per Dataset order: orders.id, ascending
	orderStart []int32 // per Dataset order: its first line
	lineNo     []int32 // per sales line: order_lines.line_no

	members  map[int64]int32
	mobiles  map[string]int32
	skus     map[int64]int32 // skus.id → SKU index
	chans    map[int64]int32 // channels.id → Channel index
	stores   map[int64]int32 // locations.id → Store index
	regions  map[string]int32
	skuDB    []int64 // per SKU index: skus.id
	chanDB   []int64
	storeDB  []int64
	returned map[int32]int32 // sales line → units returned so far

	buf []ordersLine // the lines of the order being read
}

// ordersLine is one order line held until its order is complete.
type ordersLine struct {
	lineNo           int32
	sku, store       int32
	qty              int64
	discount, amount int64
	unitCost         int64
	share            int64 // its share of the order-level discount
}

func newOrdersLoader() *ordersLoader {
	return &ordersLoader{
		d:       &Dataset{Currency: OrdersCurrency, Returns: true, Value: []int64{}, Discount: []int64{}, Cost: []int64{}, Store: []int32{}},
		sum:     OrdersSummary{Currency: OrdersCurrency},
		members: map[int64]int32{}, mobiles: map[string]int32{}, skus: map[int64]int32{},
		chans: map[int64]int32{}, stores: map[int64]int32{}, regions: map[string]int32{},
		returned: map[int32]int32{},
	}
}

// ordersQuery reads the paid orders and ordersLinesQuery every order line,
// both in order id order: sales merges the two streams, which is much
// cheaper than a join that repeats each order's columns on every line.
const (
	ordersQuery = `SELECT id, member_id, customer_mobile, paid_at, created_at, region, discount, channel_id, store_id
  FROM orders
 WHERE status NOT IN ('created', 'cancelled') AND exchange_of IS NULL
 ORDER BY id`
	ordersLinesQuery = `SELECT order_id, line_no, sku_id, qty, discount, amount, unit_cost, location_id
  FROM order_lines
 ORDER BY order_id, line_no`
)

// ordersHead is what the lines of one order share.
type ordersHead struct {
	id, discount, at      int64
	cust, chn, rgn, store int32
}

// ordersCursor walks the paid orders; its scan targets hold the current row.
type ordersCursor struct {
	rows                               *sql.Rows
	ok                                 bool // a current row
	id, createdAt, discount, channelID int64
	member, paidAt, storeID            sql.NullInt64
	mobile, region                     sql.RawBytes // valid until the next advance
}

// advance moves to the first order with id ≥ target (or the end).
func (c *ordersCursor) advance(target int64) error {
	for c.ok && c.id < target {
		if !c.rows.Next() {
			c.ok = false
			return c.rows.Err()
		}
		if err := c.rows.Scan(&c.id, &c.member, &c.mobile, &c.paidAt, &c.createdAt, &c.region, &c.discount,
			&c.channelID, &c.storeID); err != nil {
			return err
		}
	}
	return nil
}

// sales reads the sales lines: it streams every order line and keeps those
// of the paid orders, whose heads come from a second stream in step.
// The two queries are separate statements, so an order written between
// their starts may be missed whole or lose its lines; never half of them.
func (l *ordersLoader) sales(ctx context.Context, d *db.DB) error {
	orows, err := d.Query(ctx, ordersQuery)
	if err != nil {
		return err
	}
	defer orows.Close()
	lrows, err := d.Query(ctx, ordersLinesQuery)
	if err != nil {
		return err
	}
	defer lrows.Close()
	oc := &ordersCursor{rows: orows, ok: true, id: -1}
	var (
		orderID, skuID, qty, lineDisc, amount, unitCost int64
		lineNo                                          int32
		locationID                                      sql.NullInt64
		cur                                             = ordersHead{id: -1}
		skipping                                        = int64(-1) // an order whose lines are not sales
	)
	for lrows.Next() {
		if err := lrows.Scan(&orderID, &lineNo, &skuID, &qty, &lineDisc, &amount, &unitCost, &locationID); err != nil {
			return err
		}
		if orderID == skipping {
			continue
		}
		if orderID != cur.id {
			if err := l.flush(cur); err != nil {
				return err
			}
			cur.id = -1
			if err := oc.advance(orderID); err != nil {
				return err
			}
			if !oc.ok || oc.id != orderID {
				skipping = orderID
				continue
			}
			cur = l.head(oc)
		}
		if qty <= 0 || qty > 1<<31-1 {
			return fmt.Errorf("order %d line %d: quantity %d out of range", orderID, lineNo, qty)
		}
		if amount < 0 || lineDisc < 0 {
			return fmt.Errorf("order %d line %d: negative amount or discount", orderID, lineNo)
		}
		store := cur.store
		if store < 0 && locationID.Valid {
			store = ordersIntern(l.stores, &l.storeDB, locationID.Int64)
		}
		l.buf = append(l.buf, ordersLine{lineNo: lineNo, sku: ordersIntern(l.skus, &l.skuDB, skuID), store: store,
			qty: qty, discount: lineDisc, amount: amount, unitCost: unitCost})
	}
	if err := lrows.Err(); err != nil {
		return err
	}
	return l.flush(cur)
}

// head interns the current order's customer, channel, store and region.
func (l *ordersLoader) head(c *ordersCursor) ordersHead {
	h := ordersHead{id: c.id, discount: c.discount, cust: l.customer(c.member, c.mobile),
		chn: ordersIntern(l.chans, &l.chanDB, c.channelID), rgn: -1, store: -1, at: c.createdAt}
	if len(c.region) > 0 {
		h.rgn = ordersInternString(l.regions, &l.d.Regions, c.region)
	}
	if c.storeID.Valid {
		h.store = ordersIntern(l.stores, &l.storeDB, c.storeID.Int64)
	}
	if c.paidAt.Valid {
		h.at = c.paidAt.Int64
	}
	h.at = ordersSeconds(h.at)
	return h
}

// flush appends the buffered lines of order h (none when h.id < 0),
// spreading the order-level discount over them.
func (l *ordersLoader) flush(h ordersHead) error {
	defer func() { l.buf = l.buf[:0] }()
	if h.id < 0 || len(l.buf) == 0 {
		return nil
	}
	lines := l.buf
	var total, lineDisc int64
	for _, ln := range lines {
		total += ln.amount
		lineDisc += ln.discount
	}
	// The order-level discount is spread over the lines in proportion to
	// their amounts, each share rounded down and the last line taking the
	// remainder: the orders module's rule for refunds (orders.RefundShare),
	// so that a full return gives back exactly its line's value.
	orderLevel, given := min(max(h.discount-lineDisc, 0), total), int64(0)
	for i := range lines {
		share := orderLevel - given
		if i < len(lines)-1 {
			share = ordersMulDiv(orderLevel, lines[i].amount, total)
		}
		lines[i].share = share
		given += share
	}
	ds := l.d
	if len(ds.OrderIDs) >= 1<<31-2 {
		return fmt.Errorf("too many orders for one dataset")
	}
	oi := int32(len(ds.OrderIDs))
	ds.OrderIDs = append(ds.OrderIDs, strconv.FormatInt(h.id, 10))
	l.orderDBID = append(l.orderDBID, h.id)
	l.orderStart = append(l.orderStart, int32(ds.Len()))
	for _, ln := range lines {
		value := max(ln.amount-ln.share, 0)
		ds.Order = append(ds.Order, oi)
		ds.Customer = append(ds.Customer, h.cust)
		ds.SKU = append(ds.SKU, ln.sku)
		ds.Qty = append(ds.Qty, int32(ln.qty))
		ds.Price = append(ds.Price, ordersMulDivRound(value, 1, ln.qty))
		ds.At = append(ds.At, h.at)
		ds.Channel = append(ds.Channel, h.chn)
		ds.Region = append(ds.Region, h.rgn)
		ds.Value = append(ds.Value, value)
		ds.Discount = append(ds.Discount, ln.discount+ln.share)
		ds.Cost = append(ds.Cost, ln.unitCost)
		ds.Store = append(ds.Store, ln.store)
		l.lineNo = append(l.lineNo, ln.lineNo)
		l.sum.SalesLines++
		l.sum.Sales += value
		l.sum.Discount += ln.discount + ln.share
		l.sum.Units += ln.qty
		if h.cust < 0 {
			l.sum.MissingCustomer++
		}
	}
	return nil
}

// customer interns the order's customer: the member, else the mobile number.
func (l *ordersLoader) customer(member sql.NullInt64, mobile []byte) int32 {
	ds := l.d
	if member.Valid {
		if c, ok := l.members[member.Int64]; ok {
			return c
		}
		c := int32(len(ds.CustomerIDs))
		ds.CustomerIDs = append(ds.CustomerIDs, "member:"+strconv.FormatInt(member.Int64, 10))
		l.members[member.Int64] = c
		return c
	}
	if len(mobile) == 0 {
		return -1
	}
	if c, ok := l.mobiles[string(mobile)]; ok {
		return c
	}
	c := int32(len(ds.CustomerIDs))
	m := string(mobile)
	ds.CustomerIDs = append(ds.CustomerIDs, guestID(m))
	l.mobiles[m] = c
	return c
}

// guestID names a guest in analyses without their number: the masked
// number, as receipts print it, and a short digest of the whole number
// that keeps two guests with the same masked number apart. Analysts see
// segments of customers, not whom to call.
func guestID(mobile string) string {
	sum := sha256.Sum256([]byte(mobile))
	masked := mobile
	if len(mobile) == 11 {
		masked = mobile[:3] + "****" + mobile[7:]
	}
	return "guest:" + masked + "~" + hex.EncodeToString(sum[:3])
}

// ordersReturnsQuery reads the completed return lines in completion order.
const ordersReturnsQuery = `SELECT a.order_id, s.line_no, s.qty, a.updated_at
  FROM after_sales a JOIN after_sale_lines s ON s.after_sale_id = a.id
 WHERE a.status = 'completed' AND a.kind = 'return'
 ORDER BY a.updated_at, a.id, s.line_no`

func (l *ordersLoader) returns(ctx context.Context, d *db.DB) error {
	rows, err := d.Query(ctx, ordersReturnsQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	ds := l.d
	sales := int32(ds.Len())
	var orderID, qty, updatedAt int64
	var lineNo int32
	for rows.Next() {
		if err := rows.Scan(&orderID, &lineNo, &qty, &updatedAt); err != nil {
			return err
		}
		i := l.findLine(orderID, lineNo, sales)
		if i < 0 || qty <= 0 {
			l.sum.SkippedReturns++
			continue
		}
		sold := ds.Qty[i]
		q := min(qty, int64(sold-l.returned[i]))
		if q <= 0 {
			l.sum.SkippedReturns++
			continue
		}
		// The first k units of a line are worth ⌊value × k ÷ qty⌋, as the
		// orders module refunds them: the line's returns add up to its value.
		done := int64(l.returned[i])
		l.returned[i] += int32(q)
		value := ordersMulDiv(ds.Value[i], done+q, int64(sold)) - ordersMulDiv(ds.Value[i], done, int64(sold))
		disc := ordersMulDiv(ds.Discount[i], done+q, int64(sold)) - ordersMulDiv(ds.Discount[i], done, int64(sold))
		ds.Order = append(ds.Order, ds.Order[i])
		ds.Customer = append(ds.Customer, ds.Customer[i])
		ds.SKU = append(ds.SKU, ds.SKU[i])
		ds.Qty = append(ds.Qty, -int32(q))
		ds.Price = append(ds.Price, ds.Price[i])
		ds.At = append(ds.At, ordersSeconds(updatedAt))
		ds.Channel = append(ds.Channel, ds.Channel[i])
		ds.Region = append(ds.Region, ds.Region[i])
		ds.Value = append(ds.Value, -value)
		ds.Discount = append(ds.Discount, -disc)
		ds.Cost = append(ds.Cost, ds.Cost[i])
		ds.Store = append(ds.Store, ds.Store[i])
		l.sum.ReturnLines++
		l.sum.Returned += value
		l.sum.ReturnedUnits += q
	}
	return rows.Err()
}

// findLine is the sales line of order orderID's line lineNo, or -1.
func (l *ordersLoader) findLine(orderID int64, lineNo int32, sales int32) int32 {
	k, ok := slices.BinarySearch(l.orderDBID, orderID)
	if !ok {
		return -1
	}
	end := sales
	if k+1 < len(l.orderStart) {
		end = l.orderStart[k+1]
	}
	for i := l.orderStart[k]; i < end; i++ {
		if l.lineNo[i] == lineNo {
			return i
		}
	}
	return -1
}

// names fills the SKU, channel and store dictionaries from the catalog and
// the network, once the lines are read (rows are never deleted, so every id
// seen is found).
func (l *ordersLoader) names(ctx context.Context, d *db.DB) error {
	ds := l.d
	ds.SKUIDs = make([]string, len(l.skuDB))
	ds.SKUCategory = make([]string, len(l.skuDB))
	ds.SKUCost = make([]int64, len(l.skuDB))
	ds.Channels = make([]string, len(l.chanDB))
	ds.Stores = make([]string, len(l.storeDB))
	var (
		id        int64
		code, cat string
		cost      int64
		found     int
	)
	err := ordersEach(ctx, d, l.skus, `SELECT s.id, s.code, t.category, s.cost FROM skus s JOIN styles t ON t.id = s.style_id`,
		func(rows *sql.Rows) (int64, error) { err := rows.Scan(&id, &code, &cat, &cost); return id, err },
		func(i int32) { ds.SKUIDs[i], ds.SKUCategory[i], ds.SKUCost[i] = code, cat, cost; found++ })
	if err != nil {
		return err
	}
	if found != len(l.skuDB) {
		return fmt.Errorf("%d SKUs of order lines are missing from the catalog", len(l.skuDB)-found)
	}
	scanCode := func(rows *sql.Rows) (int64, error) { err := rows.Scan(&id, &code); return id, err }
	if err := ordersEach(ctx, d, l.chans, `SELECT id, code FROM channels`, scanCode, func(i int32) { ds.Channels[i] = code }); err != nil {
		return err
	}
	return ordersEach(ctx, d, l.stores, `SELECT id, code FROM locations`, scanCode, func(i int32) { ds.Stores[i] = code })
}

// ordersEach runs q (nothing when ids is empty), scans each row and calls
// use with the index of every row whose id is in ids.
func ordersEach(ctx context.Context, d *db.DB, ids map[int64]int32, q string, scan func(*sql.Rows) (int64, error), use func(int32)) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := d.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		id, err := scan(rows)
		if err != nil {
			return err
		}
		if i, ok := ids[id]; ok {
			use(i)
		}
	}
	return rows.Err()
}

// ordersIntern maps a database id to a dense index, recording the id.
func ordersIntern(m map[int64]int32, ids *[]int64, id int64) int32 {
	if i, ok := m[id]; ok {
		return i
	}
	i := int32(len(*ids))
	m[id] = i
	*ids = append(*ids, id)
	return i
}

// ordersInternString interns b into list; the lookup does not allocate.
func ordersInternString(m map[string]int32, list *[]string, b []byte) int32 {
	if i, ok := m[string(b)]; ok {
		return i
	}
	s := string(b)
	i := int32(len(*list))
	m[s] = i
	*list = append(*list, s)
	return i
}

// ordersSeconds turns BIGINT milliseconds into Unix seconds (floor).
func ordersSeconds(ms int64) int64 {
	s := ms / 1000
	if ms%1000 < 0 {
		s--
	}
	return s
}

// ordersMulDiv is ⌊a × b ÷ c⌋ for a, b ≥ 0, c > 0 and a × b ÷ c within
// int64, in 128-bit arithmetic (0 when c is 0).
func ordersMulDiv(a, b, c int64) int64 {
	if c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// ordersMulDivRound is a × b ÷ c rounded half up, for a, b ≥ 0, c > 0 and
// a × b ÷ c within int64, in 128-bit arithmetic.
func ordersMulDivRound(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c))
	if r >= uint64(c)-r { // r ≥ c/2, without overflow
		q++
	}
	return int64(q)
}

// ordersStampQuery fingerprints what LoadOrders reads, with index lookups
// and small tables only (a few milliseconds at 200,000 orders): a new order
// raises MAX(orders.id), a status change adds an order_history row, an
// after-sale added or changed moves its count or updated_at, and a SKU or
// style edit moves theirs.
const ordersStampQuery = `SELECT
	(SELECT COALESCE(MAX(id), 0) FROM orders), (SELECT COALESCE(MAX(id), 0) FROM order_history),
	(SELECT COUNT(*) FROM after_sales), (SELECT COALESCE(MAX(updated_at), 0) FROM after_sales),
	(SELECT COALESCE(MAX(updated_at), 0) FROM skus), (SELECT COALESCE(MAX(updated_at), 0) FROM styles)`

type ordersStamp [6]int64

// ordersMaxAge bounds how long a loaded dataset is reused even when the
// stamp has not moved: a change the stamp cannot see (an order updated
// without a history row) shows within this time.
const ordersMaxAge = time.Minute

// OrdersDataset returns the live orders as a Dataset (see LoadOrders). The
// last one loaded is kept and returned again while the stamp of the orders,
// after-sales and catalog is unchanged (one query of a few milliseconds),
// for at most a minute; loads run one at a time, so concurrent callers
// share one. The Dataset is shared: do not modify it.
func (s *Store) OrdersDataset(ctx context.Context) (*Dataset, OrdersSummary, error) {
	s.ordersMu.Lock()
	defer s.ordersMu.Unlock()
	var st ordersStamp
	if err := s.db.QueryRow(ctx, ordersStampQuery).Scan(&st[0], &st[1], &st[2], &st[3], &st[4], &st[5]); err != nil {
		return nil, OrdersSummary{}, fmt.Errorf("analytics: orders stamp: %w", err)
	}
	now := s.now()
	if s.orders != nil && s.ordersStamp == st && now.Sub(s.ordersAt) < ordersMaxAge {
		return s.orders, s.ordersSum, nil
	}
	d, sum, err := LoadOrders(ctx, s.db)
	if err != nil {
		return nil, OrdersSummary{}, err
	}
	s.orders, s.ordersSum, s.ordersStamp, s.ordersAt = d, sum, st, now
	return d, sum, nil
}

// Package analytics turns transaction history — imported from a retailer's
// files or read from Omni's own store — into decisions: RFM segments, CLV
// (BG/NBD + Gamma-Gamma) with churn warning, personas (k-means), cohorts,
// ABC/XYZ and inventory KPIs.
//
// Everything works on a Dataset: transaction lines held column by column,
// with strings interned into dictionaries, so that ten million lines fit in
// a few hundred megabytes and group-bys are loops over integer slices.
package analytics

import "time"

// Dataset is cleaned transaction history, one entry per line in each column.
// Money is in minor units of Currency (fen for CNY, pence for GBP, cents
// for USD); quantities are units, negative for returns.
type Dataset struct {
	Currency string // ISO 4217 code, e.g. "CNY", "GBP", "USD"

	Order    []int32 // index into OrderIDs
	Customer []int32 // index into CustomerIDs; -1 when the customer is unknown
	SKU      []int32 // index into SKUIDs
	Qty      []int32
	Price    []int64 // unit price, minor units
	At       []int64 // Unix seconds, UTC
	Channel  []int32 // index into Channels (store or channel); -1 when unknown
	Region   []int32 // index into Regions (region or country); -1 when unknown

	OrderIDs    []string
	CustomerIDs []string
	SKUIDs      []string
	Channels    []string
	Regions     []string

	// Optional per-SKU attributes (index = SKU index), empty when unknown.
	SKUCategory []string
	SKUCost     []int64 // unit cost, minor units; 0 when unknown

	// Value is optional: nil, or each line's value in minor units as the source
	// states it, for sources that give line totals rather than unit prices
	// (CDNOW, Omni's orders). When set, Amount returns it and Price is only
	// Value ÷ Qty rounded.
	Value []int64

	// The columns below are optional: nil when the source does not have them
	// (imported files), else one entry per line. Analyses use a column only
	// when its length is Len().

	// Discount is each line's discount in minor units (list value − Amount),
	// negative on return lines like their Amount.
	Discount []int64
	// Cost is each line's unit cost in minor units (0 when unknown); when set
	// it is used instead of SKUCost.
	Cost []int64
	// Store is each line's store or fulfilment location, an index into
	// Stores (-1 when unknown), for sources that tell the location apart
	// from the sales channel (Omni's orders: Channel is the channel).
	Store  []int32
	Stores []string

	// Returns says that the source's returns are lines of the dataset
	// (negative Qty and Amount), so that a dataset without such lines had
	// no returns. Imports remove returns instead and leave it false.
	Returns bool
}

// Len is the number of lines.
func (d *Dataset) Len() int { return len(d.Order) }

// Amount is the line's value (qty × unit price, or Value when set), minor units.
func (d *Dataset) Amount(i int) int64 {
	if d.Value != nil {
		return d.Value[i]
	}
	return int64(d.Qty[i]) * d.Price[i]
}

// Time returns the line's timestamp.
func (d *Dataset) Time(i int) time.Time { return time.Unix(d.At[i], 0).UTC() }

// Builder appends lines to a Dataset, interning the strings.
type Builder struct {
	D                                     *Dataset
	orders, customers, skus, chans, regns map[string]int32
}

// NewBuilder starts an empty dataset.
func NewBuilder(currency string) *Builder {
	return &Builder{D: &Dataset{Currency: currency},
		orders: map[string]int32{}, customers: map[string]int32{}, skus: map[string]int32{},
		chans: map[string]int32{}, regns: map[string]int32{}}
}

func intern(m map[string]int32, list *[]string, s string) int32 {
	if id, ok := m[s]; ok {
		return id
	}
	id := int32(len(*list))
	m[s] = id
	*list = append(*list, s)
	return id
}

// Add appends one line. An empty customer, channel or region is unknown (-1).
func (b *Builder) Add(order, customer, sku string, qty int32, price int64, at time.Time, channel, region string) {
	d := b.D
	d.Order = append(d.Order, intern(b.orders, &d.OrderIDs, order))
	c := int32(-1)
	if customer != "" {
		c = intern(b.customers, &d.CustomerIDs, customer)
	}
	d.Customer = append(d.Customer, c)
	d.SKU = append(d.SKU, intern(b.skus, &d.SKUIDs, sku))
	d.Qty = append(d.Qty, qty)
	d.Price = append(d.Price, price)
	d.At = append(d.At, at.Unix())
	ch, rg := int32(-1), int32(-1)
	if channel != "" {
		ch = intern(b.chans, &d.Channels, channel)
	}
	if region != "" {
		rg = intern(b.regns, &d.Regions, region)
	}
	d.Channel = append(d.Channel, ch)
	d.Region = append(d.Region, rg)
}

// Shanghai is the business time zone of Omni's own data (UTC+8, no DST).
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

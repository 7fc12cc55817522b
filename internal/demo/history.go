package demo

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
)

// The order history: two years of orders ending at AsOf, made from the
// seed like the rest of the demo (see history_write.go for how it is
// stored).
//
// What shapes it:
//   - volume by day and channel: a growing trend (+18 % a year), apparel
//     months (low February and summer, high October to January), weekends
//     in store, and the calendar: the Spring Festival (busy weeks before,
//     couriers and shops stopped over the holiday, a rebound after), 618
//     (late May to 18 June), Double 11 (presales from 20 October, the peak
//     on 11 November), Double 12, Women's Day, the Golden Week;
//   - what sells: a style's popularity, its lifecycle (fashion fades within
//     months of its launch, classics carry over and sell all along), the
//     season (T-shirts and dresses in summer, down jackets and knitwear in
//     winter, few down jackets in the South);
//   - who buys: a pool of customers with hidden personas (Customers), who
//     join over the two years and come back at their own rate; South China
//     customers come back more often, East China ones buy dearer items and
//     bigger baskets; some orders are guests';
//   - how: POS sales at the customer's store, pickup at pickup stores,
//     instant delivery from a store or front warehouse within its radius
//     (promised in 2 h), standard parcels from warehouses or ship-from
//     stores, sometimes split in two shipments, some delivered late;
//   - money: list prices, line discounts now and then and deep ones around
//     618 and Double 11 and on off-season clearance, shipping fees under a
//     threshold, one captured payment per paid order;
//   - after the sale: returns on about a quarter of online orders and a
//     few percent of store sales, refunded when received; a few orders
//     cancelled unpaid or before handover.

// The PCG streams of the customer pool and of the history (see demo.go).
const (
	streamCustomers = 0x6f6d6e69_63757303 // "omnicus"
	streamHistory   = 0x6f6d6e69_68697304 // "omnihis"
)

// HistoryOrders is the number of orders MakeHistory generates at scale 1.
const HistoryOrders = 150_000

// HistoryDays is the length of the history in days: two years ending at
// AsOf (inclusive).
const HistoryDays = 730

const (
	msSec  = int64(1000)
	msMin  = 60 * msSec
	msHour = 60 * msMin
	msDay  = 24 * msHour
)

// Order statuses, in the orders module's vocabulary.
const (
	stCreated uint8 = iota
	stPaid
	stAllocated
	stPicking
	stReadyForPickup
	stPartiallyShipped
	stShipped
	stPickedUp
	stDelivered
	stCompleted
	stCancelled
)

var statusNames = [...]string{"created", "paid", "allocated", "picking", "ready_for_pickup", "partially_shipped",
	"shipped", "picked_up", "delivered", "completed", "cancelled"}

// Actors of history steps; actStore and actWarehouse name the location.
const (
	actCustomer uint8 = iota
	actSystem
	actPayment
	actStaff // the store or warehouse doing the work: "staff:CODE"
	actCarrier
)

// Notes of history steps.
const (
	noteNone uint8 = iota
	noteExpired
	noteCustomerCancel
	noteNoShow
	noteAutoConfirm
	noteSplit
)

var noteTexts = [...]string{"", "payment timed out", "cancelled by the customer", "not picked up within 7 days",
	"receipt confirmed automatically", "shipped in 2 parcels"}

// Order modes.
const (
	modePOS uint8 = iota
	modePickup
	modeInstant
	modeStandard
)

var modeNames = [...]string{"pos", "pickup", "instant", "standard"}

// Payment providers and methods.
var (
	providers = [...]string{"offline", "wechat", "alipay"}
	methods   = [...]string{"cash", "card", "micropay", "jsapi", "app", "h5"}
)

const (
	provOffline uint8 = iota
	provWeChat
	provAlipay
)

const (
	mCash uint8 = iota
	mCard
	mMicropay
	mJSAPI
	mApp
	mH5
)

// Carriers: parcel carriers first, then instant (同城) couriers.
var carriers = [...]struct{ code, prefix, name string }{
	{"SF", "SF", "顺丰速运"}, {"ZTO", "75", "中通快递"}, {"YTO", "YT", "圆通速递"}, {"YUNDA", "43", "韵达快递"},
	{"JD", "JDV", "京东物流"}, {"EMS", "11", "EMS"},
	{"SFCITY", "SC", "顺丰同城"}, {"DADA", "DD", "达达快送"}, {"MEITUAN", "MT", "美团配送"},
}

var parcelCarrierCum = []float64{0.32, 0.56, 0.74, 0.86, 0.96, 1}

const firstInstantCarrier = 6

// Return reasons with their weights; "质量问题" comes back damaged.
var returnReasons = [...]struct {
	text   string
	weight float64
}{{"尺码不合适", 0.40}, {"不喜欢/不想要", 0.23}, {"颜色或款式与描述不符", 0.12}, {"质量问题", 0.10},
	{"面料或做工不满意", 0.10}, {"发错货", 0.05}}

const reasonQuality = 3

// Promotion levels of a day.
const (
	promoNone = iota
	promoLight
	promoBig
	promoPeak
)

// monthFactor is apparel's base seasonality by month (1..12).
var monthFactor = [13]float64{0, 1.00, 0.72, 0.92, 0.92, 0.98, 0.98, 0.88, 0.85, 0.95, 1.05, 1.15, 1.12}

// seasonFit is how well a category of a season kind sells by month.
var (
	fitSS = [13]float64{0, 0.15, 0.3, 0.6, 0.9, 1.2, 1.4, 1.4, 1.1, 0.6, 0.3, 0.2, 0.15}
	fitAW = [13]float64{0, 1.5, 0.8, 0.3, 0.1, 0.05, 0.05, 0.05, 0.15, 0.5, 1.1, 1.6, 1.7}
)

// Hours of orders (Asia/Shanghai): online by hour of day, store sales from
// opening.
var (
	onlineHours = [24]float64{3, 1.5, 0.7, 0.4, 0.3, 0.4, 1, 2, 3, 4, 5, 5, 6, 5, 4.5, 4.5, 4.5, 4.5, 4.5, 5, 7, 8, 8, 5}
	storeHours  = [12]float64{4, 6, 7, 7, 8, 9, 9, 8, 8, 10, 9, 6}
)

// Spring Festival (春节) dates.
var springFestival = map[int]time.Time{
	2024: time.Date(2024, 2, 10, 0, 0, 0, 0, network.Shanghai), 2025: time.Date(2025, 1, 29, 0, 0, 0, 0, network.Shanghai),
	2026: time.Date(2026, 2, 17, 0, 0, 0, 0, network.Shanghai), 2027: time.Date(2027, 2, 6, 0, 0, 0, 0, network.Shanghai),
}

// Channel indexes, in Channels() order.
const (
	chShop = iota
	chMini
	chApp
	chLive
	chPOS
	nChannels
)

var regionsOrder = [...]string{East, South, North, Southwest, Northwest}

// History is a generated order history, ready to be written by
// WriteHistory. Build it with MakeHistory.
type History struct {
	seed      int64
	scale     float64
	skuCodes  []string   // every SKU of the catalog, flat in catalog order
	customers []Customer // the pool prefix the history draws from
	orders    []hOrder   // by id (local ids are 1-based positions)
	first     string     // first day
	nPay      int64
	nShip     int64
	nRet      int64
}

type hStep struct {
	at    int64
	ref   int16 // actStaff: site index; actCarrier: carrier index; actPayment: provider
	to    uint8
	actor uint8
	note  uint8
}

type hLine struct {
	sku      int32 // index in skuCodes
	loc      int16 // site index
	qty      int64
	price    int64
	disc     int64
	amount   int64
	cost     int64
	shipped  int64
	returned int64
}

type hShip struct {
	id       int64
	loc      int16
	carrier  uint8
	instant  bool
	promised int64
	ev       [4]int64 // shipped, in_transit, out_for_delivery, delivered; 0 = not (yet) happened
	lines    []uint8  // order line numbers (whole lines)
	dest     string   // destination city
}

type hRetLine struct {
	line uint8
	qty  int64
	cond uint8 // 0 sellable, 1 damaged
}

type hReturn struct {
	id        int64
	reason    uint8
	loc       int16
	created   int64
	handled   int64
	completed int64
	refund    int64
	lines     []hRetLine
}

type hRefund struct {
	amount    int64
	at        int64
	afterSale int64 // local after-sale id, 0 for a cancellation
}

type hOrder struct {
	id        int64
	channel   uint8
	mode      uint8
	persona   uint8
	cust      int32 // index in the pool, -1 for a guest
	store     int16 // site index of the pickup or POS store, -1 = none
	mobile    string
	name      string
	province  string
	city      string
	address   string
	lat, lng  float64 // delivery point (instant, standard)
	region    string
	subtotal  int64
	discount  int64
	shipping  int64
	total     int64
	paid      int64
	refunded  int64
	promised  int64 // 0 = NULL
	expires   int64
	created   int64
	paidAt    int64
	completed int64
	cancelled int64
	updated   int64
	steps     []hStep
	lines     []hLine
	payID     int64
	payProv   uint8
	payMethod uint8
	refunds   []hRefund
	ships     []hShip
	ret       *hReturn
}

// status is the order's current status: its last step's.
func (o *hOrder) status() uint8 { return o.steps[len(o.steps)-1].to }

// histGen holds what generating a history needs.
type histGen struct {
	h      *History
	r      *rand.Rand
	cutoff int64 // end of AsOf (exclusive)

	styles    []catalog.Style
	infos     []styleInfo
	skuStart  []int32     // flat index of each style's first SKU
	sizeCum   [][]float64 // per style: cumulative size weights over its SKUs
	launchDay []int       // per style: day index of its launch (may be negative)
	prices    []int64     // per flat SKU
	costs     []int64

	pool       []Customer
	info       []custInfo
	poolMobile map[string]bool
	byPersona  [3]struct {
		idx   []int32   // pool indexes by Since
		since []int32   // their since days
		cum   []float64 // cumulative activity
	}
	storeIdx []int     // store site indexes
	storeCum []float64 // weights for guests' homes
	siteIdx  map[string]int

	dates    []time.Time // local midnight of each day
	dayStart []int64     // ms
	evOn     []float64   // per day: eventFactors
	evPos    []float64
	promo    []int

	allowed    [nChannels][]bool // channel → site allowed
	pickupC    [nChannels]map[int][]int
	instantC   [nChannels]map[string][]int
	central    int
	regional   map[string]int // region → regional warehouse
	open       []int          // per site, minutes
	close      []int
	staffActor []string
}

// MakeHistory generates the order history of a seed at a scale (1 gives
// about HistoryOrders orders from the CustomerCount customers of
// Customers; 0.01 a hundredth of both, for tests). The same seed and scale
// always give the same history. Scale must be positive.
func MakeHistory(seed int64, scale float64) *History {
	g := newHistGen(seed, scale)
	g.run(int(math.Round(HistoryOrders * scale)))
	return g.h
}

func newHistGen(seed int64, scale float64) *histGen {
	if !(scale > 0) {
		scale = 1
	}
	g := &histGen{r: newRand(seed, streamHistory), siteIdx: map[string]int{}, regional: map[string]int{}}
	g.h = &History{seed: seed, scale: scale}
	asOf, _ := time.ParseInLocation(time.DateOnly, AsOf, network.Shanghai)
	first := asOf.AddDate(0, 0, 1-HistoryDays)
	g.h.first = first.Format(time.DateOnly)
	for d := range HistoryDays + 1 {
		t := first.AddDate(0, 0, d)
		g.dates = append(g.dates, t)
		g.dayStart = append(g.dayStart, t.UnixMilli())
		on, pos, promo := eventFactors(t)
		g.evOn, g.evPos, g.promo = append(g.evOn, on), append(g.evPos, pos), append(g.promo, promo)
	}
	g.cutoff = g.dayStart[HistoryDays]

	g.styles, g.infos = genCatalog(newRand(seed, streamCatalog))
	for i, st := range g.styles {
		g.skuStart = append(g.skuStart, int32(len(g.h.skuCodes)))
		cum, acc := make([]float64, len(st.SKUs)), 0.0
		for k, sku := range st.SKUs {
			g.h.skuCodes = append(g.h.skuCodes, sku.Code)
			g.prices = append(g.prices, sku.ListPrice)
			g.costs = append(g.costs, sku.Cost)
			acc += g.infos[i].sizeWeight[k]
			cum[k] = acc
		}
		g.sizeCum = append(g.sizeCum, cum)
		l, _ := time.ParseInLocation(time.DateOnly, st.LaunchDate, network.Shanghai)
		g.launchDay = append(g.launchDay, int(math.Round(l.Sub(first).Hours()/24)))
	}

	n := max(50, int(math.Round(CustomerCount*scale)))
	full, infos := genCustomers(seed, max(n, CustomerCount))
	g.poolMobile = make(map[string]bool, len(full))
	for _, c := range full {
		g.poolMobile[c.Mobile] = true
	}
	g.pool, g.info = full[:n], infos[:n]
	g.h.customers = g.pool
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(g.info[a].since, g.info[b].since) })
	for _, i := range order {
		bp := &g.byPersona[g.info[i].persona]
		acc := 0.0
		if k := len(bp.cum); k > 0 {
			acc = bp.cum[k-1]
		}
		bp.idx = append(bp.idx, i)
		bp.since = append(bp.since, int32(g.info[i].since))
		bp.cum = append(bp.cum, acc+g.info[i].act)
	}

	total := 0.0
	for i, s := range sites {
		g.siteIdx[s.code] = i
		open, close := 8*60, 22*60 // warehouses work 08:00–22:00
		if s.hours != "" {
			open, close = hhmm(s.hours[:5]), hhmm(s.hours[6:])
		}
		g.open, g.close = append(g.open, open), append(g.close, close)
		g.staffActor = append(g.staffActor, "staff:"+s.code)
		switch s.kind {
		case network.Store:
			w := [4]float64{0, 3, 2, 1}[s.tier]
			total += w
			g.storeIdx = append(g.storeIdx, i)
			g.storeCum = append(g.storeCum, total)
		case network.CentralWarehouse:
			g.central = i
		case network.RegionalWarehouse:
			g.regional[s.region] = i
		}
	}
	for c, ch := range Channels() {
		g.allowed[c] = make([]bool, len(sites))
		for _, code := range ch.Locations {
			g.allowed[c][g.siteIdx[code]] = true
		}
		g.pickupC[c] = map[int][]int{}
		g.instantC[c] = map[string][]int{}
	}
	return g
}

func hhmm(s string) int {
	return (int(s[0]-'0')*10+int(s[1]-'0'))*60 + int(s[3]-'0')*10 + int(s[4]-'0')
}

// localMin is the minute of the day of t in Asia/Shanghai.
func localMin(t int64) int { return int(((t + 8*msHour) % msDay) / msMin) }

// within moves t into the daily window [open, close) (minutes, Asia/Shanghai):
// a time outside it moves to the next opening, plus up to 45 minutes.
func (g *histGen) within(t int64, open, close int) int64 {
	m := localMin(t)
	if m >= open && m < close {
		return t
	}
	midnight := t - int64(m)*msMin - (t+8*msHour)%msMin
	if m >= close {
		midnight += msDay
	}
	return midnight + int64(open)*msMin + g.span(0, 45*msMin)
}

// span is a uniform duration in [lo, hi) ms.
func (g *histGen) span(lo, hi int64) int64 { return lo + g.r.Int64N(hi-lo) }

func (g *histGen) chance(p float64) bool { return g.r.Float64() < p }

// eventFactors are the online and in-store demand multipliers of a day and
// its promotion level.
func eventFactors(t time.Time) (on, pos float64, promo int) {
	on, pos = 1, 1
	switch md := int(t.Month())*100 + t.Day(); {
	case md >= 306 && md <= 308: // 女王节
		on, pos, promo = 1.5, 1.2, promoLight
	case md >= 501 && md <= 505: // Labour Day holiday
		on, pos = 0.95, 1.3
	case md >= 525 && md <= 531: // 618 presales
		on, promo = 1.25, promoBig
	case md >= 601 && md <= 615:
		on, pos, promo = 1.6, 1.1, promoBig
	case md == 616 || md == 617:
		on, pos, promo = 2.2, 1.15, promoBig
	case md == 618:
		on, pos, promo = 4.0, 1.2, promoPeak
	case md == 619 || md == 620:
		on, promo = 1.2, promoLight
	case md >= 1001 && md <= 1007: // Golden Week
		on, pos = 0.9, 1.35
	case md >= 1020 && md <= 1031: // Double 11 presales
		on, promo = 1.35, promoBig
	case md >= 1101 && md <= 1110:
		on, pos, promo = 1.9, 1.15, promoBig
	case md == 1111:
		on, pos, promo = 6.0, 1.3, promoPeak
	case md >= 1112 && md <= 1114:
		on, pos, promo = 1.3, 1.05, promoLight
	case md == 1212:
		on, pos, promo = 2.0, 1.1, promoLight
	case md >= 1220 && md <= 1225:
		on, pos, promo = 1.1, 1.25, promoLight
	}
	// The Spring Festival: shopping for new clothes before it, couriers
	// and most shoppers stopped around it, a rebound after.
	for _, y := range []int{t.Year(), t.Year() + 1} {
		cny, ok := springFestival[y]
		if !ok {
			continue
		}
		switch c := int(math.Round(t.Sub(cny).Hours() / 24)); {
		case c >= -25 && c <= -8:
			on, pos, promo = on*1.15, pos*1.35, max(promo, promoLight)
		case c >= -7 && c <= -1:
			on, pos = 0.4, 1.15
		case c >= 0 && c <= 6:
			on, pos = 0.3, 0.35
		case c >= 7 && c <= 20:
			on, pos = 1.25, 1.1
		}
	}
	return on, pos, promo
}

// dayWeights is the expected share of each channel's orders on day d.
func (g *histGen) dayWeights(d int) [nChannels]float64 {
	t := g.dates[d]
	base := monthFactor[t.Month()] * math.Pow(1.18, float64(d)/365)
	on, pos := g.evOn[d], g.evPos[d]
	posWD, onWD := 0.9, 1.0
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		posWD, onWD = 1.4, 1.05
	case time.Friday:
		posWD = 1.1
	}
	live := 0.08 * (0.6 + 0.8*float64(d)/HistoryDays) // live streaming grows
	shares := [nChannels]float64{0.12, 0.15, 0.10, live, 0.55}
	var w [nChannels]float64
	for c := range w {
		if c == chPOS {
			w[c] = shares[c] * base * pos * posWD
		} else {
			w[c] = shares[c] * base * on * onWD
		}
	}
	return w
}

// run generates n orders, day by day.
func (g *histGen) run(n int) {
	counts := make([][nChannels]int, HistoryDays)
	weights := make([][nChannels]float64, HistoryDays)
	sum := 0.0
	for d := range HistoryDays {
		weights[d] = g.dayWeights(d)
		for _, w := range weights[d] {
			sum += w
		}
	}
	acc, prev := 0.0, 0
	for d := range HistoryDays {
		for c, w := range weights[d] {
			acc += w / sum * float64(n)
			cur := int(math.Round(acc))
			counts[d][c] = cur - prev
			prev = cur
		}
	}
	g.h.orders = make([]hOrder, 0, n)
	styleCum := make([][]float64, len(regionsOrder))
	for i := range styleCum {
		styleCum[i] = make([]float64, len(g.styles))
	}
	var day []hOrder
	var idx []int32
	for d := range HistoryDays {
		g.styleWeights(d, styleCum)
		day = day[:0]
		for c := range nChannels {
			for range counts[d][c] {
				day = append(day, g.order(d, uint8(c), styleCum))
			}
		}
		// Ids in order of creation.
		idx = idx[:0]
		for i := range day {
			idx = append(idx, int32(i))
		}
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(day[a].created, day[b].created) })
		for _, i := range idx {
			g.number(&day[i], int64(len(g.h.orders)+1))
			g.h.orders = append(g.h.orders, day[i])
		}
	}
}

// number gives an order and its payment, shipments and return their ids.
func (g *histGen) number(o *hOrder, id int64) {
	h := g.h
	o.id = id
	if o.paid > 0 {
		h.nPay++
		o.payID = h.nPay
	}
	for i := range o.ships {
		h.nShip++
		o.ships[i].id = h.nShip
	}
	if o.ret != nil {
		h.nRet++
		o.ret.id = h.nRet
		for i := range o.refunds {
			if o.refunds[i].afterSale < 0 {
				o.refunds[i].afterSale = h.nRet
			}
		}
	}
}

// styleWeights fills, per region, the cumulative demand weights of the
// styles on day d.
func (g *histGen) styleWeights(d int, cum [][]float64) {
	month := g.dates[d].Month()
	for ri, reg := range regionsOrder {
		acc := 0.0
		for i := range g.styles {
			in := g.infos[i]
			age := d - g.launchDay[i]
			w := in.popularity
			switch in.lifecycle {
			case catalog.Fashion:
				if age < 0 {
					w = 0
				}
				w *= math.Exp(-float64(age) / 110)
			case catalog.Seasonal:
				if age < 0 {
					w = 0
				}
				w *= math.Exp(-float64(age) / 220)
			}
			if age >= 0 && age < 30 {
				w *= 1.3 // new arrivals
			}
			switch in.category.seasons {
			case springSummer:
				w *= fitSS[month]
			case autumnWinter:
				w *= fitAW[month]
			}
			winter := month >= 10 || month <= 2
			switch {
			case reg == South && in.category.code == "DJ":
				w *= 0.25
			case reg == South && in.category.code == "KN":
				w *= 0.6
			case (reg == North || reg == Northwest) && winter && (in.category.code == "DJ" || in.category.code == "KN"):
				w *= 1.3
			}
			acc += w
			cum[ri][i] = acc
		}
	}
}

func regionIndex(reg string) int {
	for i, r := range regionsOrder {
		if r == reg {
			return i
		}
	}
	return 0
}

// buyer is who places an order.
type buyer struct {
	cust    int32 // -1 guest
	persona int
	home    int // site index of the home store
	mobile  string
	name    string
	region  string
	address string
	lat     float64
	lng     float64
}

// pickBuyer picks the customer of an order of channel c on day d.
func (g *histGen) pickBuyer(d int, c uint8, pos bool) buyer {
	guest := [nChannels]float64{0.06, 0.06, 0.05, 0.10, 0.30}[c]
	var wp [3]float64
	tot := 0.0
	var active [3]int
	for p := range personas {
		bp := &g.byPersona[p]
		k, _ := slices.BinarySearch(bp.since, int32(d+1))
		active[p] = k
		if k > 0 {
			wp[p] = bp.cum[k-1] * personas[p].channel[c]
		}
		tot += wp[p]
	}
	if tot == 0 || g.chance(guest) {
		return g.guest(pos)
	}
	x, p := g.r.Float64()*tot, 0
	for p < 2 && x >= wp[p] {
		x -= wp[p]
		p++
	}
	if active[p] == 0 { // only by rounding
		return g.guest(pos)
	}
	bp := &g.byPersona[p]
	j := searchCum(bp.cum[:active[p]], g.r.Float64()*bp.cum[active[p]-1])
	i := bp.idx[j]
	cu := &g.pool[i]
	return buyer{cust: i, persona: p, home: g.info[i].home, mobile: cu.Mobile, name: cu.Name, region: cu.Region,
		address: cu.Address, lat: cu.Lat, lng: cu.Lng}
}

// guest is a one-off buyer outside the pool.
func (g *histGen) guest(pos bool) buyer {
	x, p := g.r.Float64(), 0
	for acc := personas[0].share; x >= acc && p < len(personas)-1; {
		p++
		acc += personas[p].share
	}
	home := g.storeIdx[searchCum(g.storeCum, g.r.Float64()*g.storeCum[len(g.storeCum)-1])]
	s := sites[home]
	m := randMobile(g.r)
	for g.poolMobile[m] {
		m = randMobile(g.r)
	}
	b := buyer{cust: -1, persona: p, home: home, mobile: m, region: s.region}
	if !pos {
		b.name = randName(g.r, g.chance(0.64))
		b.address = homeAddress(g.r, s)
		b.lat, b.lng = offsetPoint(g.r, s.lat, s.lng, 8000)
	}
	return b
}

// pickupStores are the pickup stores of channel c for a customer living
// near store home: those of the same city, else the nearest one.
func (g *histGen) pickupStores(c uint8, home int) []int {
	if l, ok := g.pickupC[c][home]; ok {
		return l
	}
	var same []int
	best, bestD := -1, math.MaxFloat64
	h := sites[home]
	for i, s := range sites {
		if s.kind != network.Store || !s.pickup || !g.allowed[c][i] {
			continue
		}
		if s.city == h.city {
			same = append(same, i)
		}
		if dist := network.DistanceM(h.lat, h.lng, s.lat, s.lng); dist < bestD {
			best, bestD = i, dist
		}
	}
	if len(same) == 0 && best >= 0 {
		same = []int{best}
	}
	g.pickupC[c][home] = same
	return same
}

// instantSites are the locations of channel c delivering instantly in a
// city.
func (g *histGen) instantSites(c uint8, city string) []int {
	if l, ok := g.instantC[c][city]; ok {
		return l
	}
	var l []int
	for i, s := range sites {
		if s.instantM > 0 && s.city == city && g.allowed[c][i] {
			l = append(l, i)
		}
	}
	g.instantC[c][city] = l
	return l
}

// shipStore picks a ship-capable store of channel c in a region, in the
// customer's city when there is one.
func (g *histGen) shipStore(c uint8, region, city string) int {
	var same, reg []int
	for i, s := range sites {
		if s.kind != network.Store || !s.ship || !g.allowed[c][i] || s.region != region {
			continue
		}
		reg = append(reg, i)
		if s.city == city {
			same = append(same, i)
		}
	}
	switch {
	case len(same) > 0 && g.chance(0.7):
		return same[g.r.IntN(len(same))]
	case len(reg) > 0:
		return reg[g.r.IntN(len(reg))]
	}
	return -1
}

// origin picks the location a standard parcel of channel c ships from.
func (g *histGen) origin(c uint8, region, city string) int {
	if c == chLive {
		return g.central
	}
	if c == chMini { // stores and front warehouses only
		if g.chance(0.2) {
			for i, s := range sites {
				if s.kind == network.FrontWarehouse && s.city == city && g.allowed[c][i] {
					return i
				}
			}
		}
		if s := g.shipStore(c, region, city); s >= 0 {
			return s
		}
		return g.shipStore(c, East, "")
	}
	x := g.r.Float64()
	if rw, ok := g.regional[region]; ok && x < 0.6 && g.allowed[c][rw] {
		return rw
	}
	if x > 0.8 {
		if s := g.shipStore(c, region, city); s >= 0 {
			return s
		}
	}
	return g.central
}

// pickLines chooses the order's SKUs.
func (g *histGen) pickLines(b buyer, promo int, online bool, reg int, styleCum [][]float64) []hLine {
	tr := personas[b.persona]
	x, n := g.r.Float64(), 1
	for acc := tr.lines[0]; x >= acc && n < 4; {
		acc += tr.lines[n]
		n++
	}
	if online && promo >= promoBig && g.chance(0.3) {
		n++ // stocking up on a shopping festival
	}
	east := b.region == East
	if east && g.chance(0.15) {
		n++
	}
	cum := styleCum[reg]
	lines := make([]hLine, 0, n)
	for len(lines) < n {
		var si int
		for try := 0; ; try++ {
			si = searchCum(cum, g.r.Float64()*cum[len(cum)-1])
			yuan := float64(g.prices[g.skuStart[si]]) / 100
			ref := tr.priceRef
			if east {
				ref *= 1.3
			}
			if try == 5 || g.chance(math.Pow(yuan/ref, tr.priceExp)) {
				break
			}
		}
		sc := g.sizeCum[si]
		sku := g.skuStart[si] + int32(searchCum(sc, g.r.Float64()*sc[len(sc)-1]))
		dup := false
		for _, l := range lines {
			dup = dup || l.sku == sku
		}
		if dup {
			continue
		}
		qty := int64(1)
		multi := 0.1
		if code := g.infos[si].category.code; code == "AC" || code == "TS" {
			multi = 0.18
		}
		if g.chance(multi) {
			qty = 2
			if g.chance(0.15) {
				qty = 3
			}
		}
		lines = append(lines, hLine{sku: sku, qty: qty, price: g.prices[sku], cost: g.costs[sku]})
	}
	return lines
}

// styleOf is the style index of a flat SKU index.
func (g *histGen) styleOf(sku int32) int {
	i, found := slices.BinarySearch(g.skuStart, sku)
	if !found {
		i--
	}
	return i
}

// discount sets the lines' discounts: everyday offers, the festivals'
// deeper ones, off-season clearance.
func (g *histGen) discount(lines []hLine, d, promo int, online bool) {
	month := g.dates[d].Month()
	for i := range lines {
		l := &lines[i]
		rate := 0.0
		switch {
		case promo == promoPeak && online:
			if g.chance(0.85) {
				rate = 0.2 + 0.25*g.r.Float64()
			}
		case promo == promoBig && online:
			if g.chance(0.75) {
				rate = 0.12 + 0.2*g.r.Float64()
			}
		case promo >= promoBig:
			if g.chance(0.3) {
				rate = 0.1 + 0.1*g.r.Float64()
			}
		case promo == promoLight:
			if g.chance(0.35) {
				rate = 0.1 + 0.1*g.r.Float64()
			}
		case online:
			if g.chance(0.15) {
				rate = 0.05 + 0.1*g.r.Float64()
			}
		default:
			if g.chance(0.08) {
				rate = 0.1 // member day
			}
		}
		si := g.styleOf(l.sku)
		in := g.infos[si]
		if in.lifecycle != catalog.Classic && d-g.launchDay[si] > 100 {
			fit := 1.0
			switch in.category.seasons {
			case springSummer:
				fit = fitSS[month]
			case autumnWinter:
				fit = fitAW[month]
			}
			if fit < 0.5 && g.chance(0.7) {
				rate = max(rate, 0.3+0.2*g.r.Float64()) // clearance
			}
		}
		gross := l.price * l.qty
		if rate > 0 {
			l.disc = min(int64(math.Round(float64(gross)*rate/100))*100, gross-100)
		}
		l.amount = gross - l.disc
	}
}

// minuteOfDay draws the time of an order placed on day d, within the
// window [open, close) (minutes) when open >= 0.
func (g *histGen) minuteOfDay(d int, promo int, open, close int, store bool) int64 {
	if open < 0 {
		open, close = 0, 24*60
	}
	var w [24]float64
	tot := 0.0
	for h := range 24 {
		switch {
		case store:
			if k := h - 10; k >= 0 && k < len(storeHours) {
				w[h] = storeHours[k]
			}
		default:
			w[h] = onlineHours[h]
			if promo == promoPeak && h == 0 {
				w[h] *= 8 // the festival opens at midnight
			} else if promo == promoPeak && h >= 20 {
				w[h] *= 1.6
			}
		}
		lo, hi := max(h*60, open), min(h*60+60, close)
		if hi <= lo {
			w[h] = 0
		}
		w[h] *= float64(max(0, hi-lo)) / 60
		tot += w[h]
	}
	x, h := g.r.Float64()*tot, 0
	for h < 23 && x >= w[h] {
		x -= w[h]
		h++
	}
	lo, hi := max(h*60, open), min(h*60+60, close)
	return g.dayStart[d] + int64(lo)*msMin + g.span(0, int64(max(1, hi-lo))*msMin)
}

// timeline appends history steps up to the cutoff.
type timeline struct {
	o       *hOrder
	cutoff  int64
	stopped bool
}

// step records a status change at time at, unless the history has ended
// by then (at or after the cutoff, nothing more happens). ref names the
// actor's location, carrier or provider.
func (t *timeline) step(to, actor uint8, ref int, at int64) bool {
	return t.stepNote(to, actor, ref, noteNone, at)
}

func (t *timeline) stepNote(to, actor uint8, ref int, note uint8, at int64) bool {
	if t.stopped || at >= t.cutoff {
		t.stopped = true
		return false
	}
	if n := len(t.o.steps); n > 0 && at < t.o.steps[n-1].at {
		at = t.o.steps[n-1].at
	}
	t.o.steps = append(t.o.steps, hStep{at: at, ref: int16(ref), to: to, actor: actor, note: note})
	return true
}

// order generates one order of channel c on day d. Its id and those of its
// payment, shipments and return are set by number.
func (g *histGen) order(d int, c uint8, styleCum [][]float64) hOrder {
	promo := g.promo[d]
	pos := c == chPOS
	b := g.pickBuyer(d, c, pos)
	o := hOrder{channel: c, persona: uint8(b.persona), cust: b.cust, store: -1, mobile: b.mobile, name: b.name}
	home := sites[b.home]

	// The mode, among those the channel offers the customer.
	o.mode = modePOS
	if !pos {
		shares := [nChannels][4]float64{
			chShop: {0, 0.12, 0, 0.88}, chMini: {0, 0.33, 0.35, 0.32}, chApp: {0, 0.18, 0.20, 0.62}, chLive: {0, 0, 0, 1},
		}[c]
		if len(g.pickupStores(c, b.home)) == 0 {
			shares[modePickup] = 0
		}
		if len(g.instantSites(c, home.city)) == 0 {
			shares[modeInstant] = 0
		}
		x := g.r.Float64() * (shares[1] + shares[2] + shares[3])
		o.mode = modeStandard
		for m := modePickup; m < modeStandard; m++ {
			if x < shares[m] {
				o.mode = m
				break
			}
			x -= shares[m]
		}
	}

	// Where: the store, or the delivery address.
	fulfil := -1
	switch o.mode {
	case modePOS:
		fulfil = b.home
		if x := g.r.Float64(); x < 0.05 { // away from home
			fulfil = g.storeIdx[searchCum(g.storeCum, g.r.Float64()*g.storeCum[len(g.storeCum)-1])]
		} else if x < 0.15 {
			var same []int
			for _, i := range g.storeIdx {
				if sites[i].city == home.city && i != b.home {
					same = append(same, i)
				}
			}
			if len(same) > 0 {
				fulfil = same[g.r.IntN(len(same))]
			}
		}
		o.store = int16(fulfil)
	case modePickup:
		l := g.pickupStores(c, b.home)
		if fulfil = b.home; !slices.Contains(l, b.home) || !g.chance(0.7) {
			fulfil = l[g.r.IntN(len(l))]
		}
		o.store = int16(fulfil)
	case modeInstant:
		l := g.instantSites(c, home.city)
		fulfil = l[g.r.IntN(len(l))]
		s := sites[fulfil]
		o.lat, o.lng = offsetPoint(g.r, s.lat, s.lng, 0.85*float64(s.instantM))
		o.address = homeAddress(g.r, s)
	}
	if o.mode == modePOS || o.mode == modePickup {
		s := sites[fulfil]
		o.region = s.region
		if o.name == "" && o.mode == modePickup {
			o.name = randName(g.r, g.chance(0.64))
		}
	} else {
		o.region, o.province, o.city = home.region, home.province, home.city
		if o.mode == modeStandard {
			o.address, o.lat, o.lng = b.address, b.lat, b.lng
		}
		if o.name == "" {
			o.name = randName(g.r, g.chance(0.64))
		}
	}

	// When.
	open, close := -1, 0
	switch o.mode {
	case modePOS:
		open, close = g.open[fulfil], g.close[fulfil]-10
	case modeInstant:
		open, close = max(g.open[fulfil], 10*60), min(g.close[fulfil], 21*60)
	}
	o.created = g.minuteOfDay(d, promo, open, close, pos)

	// What, at what price.
	o.lines = g.pickLines(b, promo, !pos, regionIndex(o.region), styleCum)
	g.discount(o.lines, d, promo, !pos)
	for i := range o.lines {
		o.subtotal += o.lines[i].price * o.lines[i].qty
		o.discount += o.lines[i].disc
	}
	net := o.subtotal - o.discount
	switch {
	case o.mode == modeStandard && c == chMini && net < 9900:
		o.shipping = 800
	case o.mode == modeStandard && c != chLive && net < 9900:
		o.shipping = 1000
	case o.mode == modeInstant && net < 19900:
		o.shipping = 600
	}
	o.total = net + o.shipping

	// Where each line comes from.
	if o.mode == modeStandard {
		first := g.origin(c, o.region, o.city)
		second := -1
		if (c == chShop || c == chApp) && len(o.lines) > 1 && g.chance(0.12) {
			if first == g.central {
				second = g.shipStore(c, o.region, o.city)
			} else {
				second = g.central
			}
		}
		for i := range o.lines {
			o.lines[i].loc = int16(first)
			if second >= 0 && i >= (len(o.lines)+1)/2 {
				o.lines[i].loc = int16(second)
			}
		}
	} else {
		for i := range o.lines {
			o.lines[i].loc = int16(fulfil)
		}
	}

	// The promise made at checkout: pickup ready, or delivery, by then.
	switch o.mode {
	case modePickup:
		o.promised = g.within(o.created, g.open[fulfil], g.close[fulfil]-120) + 2*msHour
	case modeInstant:
		o.promised = o.created + 2*msHour
	case modeStandard:
		worst := 0
		for _, l := range o.lines {
			worst = max(worst, transitDays(int(l.loc), o.region))
		}
		o.promised = o.created + int64(worst+1)*msDay
	}
	g.fulfil(&o, b, fulfil, d)
	o.updated = o.steps[len(o.steps)-1].at
	for _, r := range o.refunds {
		o.updated = max(o.updated, r.at)
	}
	if o.status() == stCompleted {
		o.completed = o.steps[len(o.steps)-1].at
	}
	return o
}

// fulfil plays the order's life up to the cutoff: payment, handover,
// completion, perhaps a cancellation or a return.
//
// Lines never hold stock (order_lines.held stays 0): the stock ledger
// starts with the opening stock at AsOf, so the few orders still open at
// the cutoff (allocated, picking, ready for pickup, shipped, delivered) are
// recorded as if their units had already left the opening stock.
func (g *histGen) fulfil(o *hOrder, b buyer, fulfil int, d int) {
	tl := &timeline{o: o, cutoff: g.cutoff}
	t0 := o.created
	if o.mode == modePOS {
		paid := t0 + g.span(20*msSec, 120*msSec)
		g.capture(o, paid)
		tl.step(stCreated, actStaff, fulfil, t0)
		tl.step(stPaid, actPayment, int(o.payProv), paid)
		if tl.step(stCompleted, actStaff, fulfil, paid+g.span(msSec, 3*msSec)) {
			for i := range o.lines {
				o.lines[i].shipped = o.lines[i].qty
			}
			g.maybeReturn(o, b, paid)
		}
		return
	}
	fate := g.r.Float64()
	// Unpaid: the order expires after 30 minutes.
	if fate < 0.03 && t0+30*msMin < g.cutoff {
		o.expires = t0 + 30*msMin
		tl.step(stCreated, actCustomer, 0, t0)
		tl.stepNote(stCancelled, actSystem, 0, noteExpired, o.expires)
		o.cancelled = o.expires
		return
	}
	paid := t0 + g.span(10*msSec, 10*msMin)
	if paid >= g.cutoff { // the history's last minutes: paid before it ends
		shift := paid - g.cutoff + msMin
		t0, paid = t0-shift, paid-shift
		o.created, o.promised = t0, o.promised-shift
	}
	o.expires = t0 + 30*msMin
	g.capture(o, paid)
	tl.step(stCreated, actCustomer, 0, t0)
	tl.step(stPaid, actPayment, int(o.payProv), paid)
	alloc := paid + g.span(msSec, 20*msSec)
	tl.step(stAllocated, actSystem, 0, alloc)
	// Cancelled by the customer before handover.
	if fate > 0.985 {
		at := alloc + g.span(10*msMin, 6*msHour)
		if tl.stepNote(stCancelled, actCustomer, 0, noteCustomerCancel, at) {
			o.cancelled = at
			g.refund(o, o.paid, at+g.span(msSec, msMin), 0)
		}
		return
	}
	var handover int64
	switch o.mode {
	case modePickup:
		open, close := g.open[fulfil], g.close[fulfil]
		pick := g.within(alloc+g.span(2*msMin, 20*msMin), open, close-60)
		ready := pick + g.span(10*msMin, 40*msMin)
		tl.step(stPicking, actStaff, fulfil, pick)
		tl.step(stReadyForPickup, actStaff, fulfil, ready)
		if g.chance(0.02) { // never collected
			at := ready + 7*msDay
			if tl.stepNote(stCancelled, actSystem, 0, noteNoShow, at) {
				o.cancelled = at
				g.refund(o, o.paid, at+g.span(msSec, msMin), 0)
			}
			return
		}
		var wait int64
		switch x := g.r.Float64(); {
		case x < 0.5:
			wait = g.span(30*msMin, 5*msHour)
		case x < 0.85:
			wait = g.span(msDay, 2*msDay)
		default:
			wait = g.span(2*msDay, 6*msDay)
		}
		handover = g.within(ready+wait, open, close)
		if !tl.step(stPickedUp, actStaff, fulfil, handover) {
			return
		}
		for i := range o.lines {
			o.lines[i].shipped = o.lines[i].qty
		}
	case modeInstant:
		pick := g.within(alloc+g.span(msMin, 8*msMin), max(g.open[fulfil], 10*60), g.close[fulfil])
		shipped := pick + g.span(5*msMin, 20*msMin)
		delivered := shipped + g.span(15*msMin, 70*msMin)
		if g.chance(0.05) {
			delivered += g.span(60*msMin, 120*msMin) // late
		}
		sh := hShip{loc: int16(fulfil), carrier: uint8(firstInstantCarrier + g.r.IntN(3)), instant: true,
			promised: o.promised, dest: sites[fulfil].city}
		for i := range o.lines {
			sh.lines = append(sh.lines, uint8(i+1))
		}
		tl.step(stPicking, actStaff, fulfil, pick)
		if !tl.step(stShipped, actStaff, fulfil, shipped) {
			return
		}
		sh.ev[0] = shipped
		for i := range o.lines {
			o.lines[i].shipped = o.lines[i].qty
		}
		if delivered < g.cutoff {
			sh.ev[3] = delivered
		}
		o.ships = append(o.ships, sh)
		if !tl.step(stDelivered, actCarrier, int(sh.carrier), delivered) {
			return
		}
		handover = delivered
	case modeStandard:
		if handover = g.parcels(o, tl, alloc, d); handover == 0 {
			return
		}
	}
	// Completion: the customer confirms receipt, or it is confirmed after
	// 7 days.
	if g.chance(0.45) {
		tl.step(stCompleted, actCustomer, 0, handover+g.span(msDay, 3*msDay))
	} else {
		tl.stepNote(stCompleted, actSystem, 0, noteAutoConfirm, handover+7*msDay+g.span(0, msHour))
	}
	g.maybeReturn(o, b, handover)
}

// parcels ships a standard order, one parcel per fulfilment location, and
// returns the time the last one was delivered, 0 when that is not before
// the cutoff.
func (g *histGen) parcels(o *hOrder, tl *timeline, alloc int64, d int) int64 {
	var locs []int
	for _, l := range o.lines {
		if !slices.Contains(locs, int(l.loc)) {
			locs = append(locs, int(l.loc))
		}
	}
	t := g.dates[d]
	rush := (t.Month() == time.November && t.Day() <= 15) || (t.Month() == time.June && t.Day() >= 15 && t.Day() <= 20)
	type parcel struct {
		loc int
		ev  [4]int64 // shipped, in transit, out for delivery, delivered
	}
	ps := make([]parcel, 0, len(locs))
	for k, loc := range locs {
		open, close := g.open[loc], g.close[loc]-60
		pick := g.within(alloc+g.span(20*msMin, 5*msHour)+int64(k)*g.span(2*msHour, 30*msHour), open, close)
		shipped := g.within(pick+g.span(30*msMin, 3*msHour), open, close)
		days := transitDays(loc, o.region)
		if g.chance(0.06) || (rush && g.chance(0.35)) {
			days += 1 + g.r.IntN(2) // a late parcel
		}
		inTransit := shipped + g.span(3*msHour, 10*msHour)
		midnight := shipped - int64(localMin(shipped))*msMin
		out := midnight + int64(days)*msDay + 8*msHour + g.span(0, 3*msHour)
		if out <= inTransit {
			out += msDay
		}
		delivered := out + g.span(30*msMin, 6*msHour)
		if k == 0 {
			tl.step(stPicking, actStaff, loc, pick)
		}
		ps = append(ps, parcel{loc: loc, ev: [4]int64{shipped, inTransit, out, delivered}})
	}
	slices.SortStableFunc(ps, func(a, b parcel) int { return cmp.Compare(a.ev[0], b.ev[0]) })
	last := ps[len(ps)-1]
	for k, p := range ps {
		if p.ev[0] >= g.cutoff {
			break
		}
		sh := hShip{loc: int16(p.loc), carrier: uint8(searchCum(parcelCarrierCum, g.r.Float64())), promised: o.promised, dest: o.city}
		for i, l := range o.lines {
			if int(l.loc) == p.loc {
				sh.lines = append(sh.lines, uint8(i+1))
				o.lines[i].shipped = l.qty
			}
		}
		for i, at := range p.ev {
			if at < g.cutoff {
				sh.ev[i] = at
			}
		}
		o.ships = append(o.ships, sh)
		if k == 0 && len(ps) > 1 {
			tl.stepNote(stPartiallyShipped, actStaff, p.loc, noteSplit, p.ev[0])
		}
	}
	if !tl.step(stShipped, actStaff, last.loc, last.ev[0]) {
		return 0
	}
	delivered := int64(0)
	for _, p := range ps {
		delivered = max(delivered, p.ev[3])
	}
	if !tl.step(stDelivered, actCarrier, int(o.ships[len(o.ships)-1].carrier), delivered) {
		return 0
	}
	return delivered
}

// transitDays is the usual time in transit of a parcel from a location to
// a region: a day within the region, two across, one more to or from the
// north-west. Delivery is promised a day later than that.
func transitDays(from int, region string) int {
	days := 1
	if sites[from].region != region {
		days = 2
	}
	if region == Northwest || sites[from].region == Northwest {
		days++
	}
	return days
}

// capture records the order's payment.
func (g *histGen) capture(o *hOrder, at int64) {
	o.paid, o.paidAt = o.total, at
	x := g.r.Float64()
	switch o.channel {
	case chPOS:
		switch {
		case x < 0.12:
			o.payProv, o.payMethod = provOffline, mCash
		case x < 0.30:
			o.payProv, o.payMethod = provOffline, mCard
		case x < 0.72:
			o.payProv, o.payMethod = provWeChat, mMicropay
		default:
			o.payProv, o.payMethod = provAlipay, mMicropay
		}
	case chMini:
		o.payProv, o.payMethod = provWeChat, mJSAPI
	case chShop:
		o.payProv, o.payMethod = provAlipay, mH5
		if x < 0.45 {
			o.payProv = provWeChat
		}
	default: // app, live
		o.payProv, o.payMethod = provAlipay, mApp
		if x < 0.5 {
			o.payProv = provWeChat
		}
	}
}

// refund records a refund against the order's payment; afterSale < 0
// stands for the order's return (numbered later).
func (g *histGen) refund(o *hOrder, amount, at int64, afterSale int64) {
	if amount <= 0 {
		return
	}
	o.refunds = append(o.refunds, hRefund{amount: amount, at: at, afterSale: afterSale})
	o.refunded += amount
}

// maybeReturn decides whether some of the order comes back, and plays the
// return (requested, approved, received, refunded) when it completes
// before the cutoff.
func (g *histGen) maybeReturn(o *hOrder, b buyer, handover int64) {
	var p float64
	switch {
	case o.mode == modePOS:
		p = 0.04
	case o.mode == modePickup:
		p = 0.15
	case o.mode == modeInstant:
		p = 0.19
	case o.channel == chLive:
		p = 0.33
	default:
		p = 0.26
	}
	if o.mode != modePOS {
		p *= personas[b.persona].returns
	}
	fitting, accessories := false, true
	for _, l := range o.lines {
		code := g.infos[g.styleOf(l.sku)].category.code
		fitting = fitting || code == "DR" || code == "JN" || code == "PT" || code == "SK"
		accessories = accessories && code == "AC"
	}
	switch {
	case fitting:
		p *= 1.12
	case accessories:
		p *= 0.7
	}
	if !g.chance(p) {
		return
	}
	ret := &hReturn{}
	for i, l := range o.lines {
		if len(o.lines) > 1 && !g.chance(0.55) {
			continue
		}
		q := l.qty
		if q > 1 && g.chance(0.4) {
			q = 1 + g.r.Int64N(q-1)
		}
		ret.lines = append(ret.lines, hRetLine{line: uint8(i + 1), qty: q})
	}
	if len(ret.lines) == 0 {
		i := g.r.IntN(len(o.lines))
		ret.lines = append(ret.lines, hRetLine{line: uint8(i + 1), qty: o.lines[i].qty})
	}
	x := g.r.Float64()
	for ret.reason = 0; int(ret.reason) < len(returnReasons)-1 && x >= returnReasons[ret.reason].weight; ret.reason++ {
		x -= returnReasons[ret.reason].weight
	}
	for i := range ret.lines {
		if ret.reason == reasonQuality || g.chance(0.07) {
			ret.lines[i].cond = 1
		}
	}
	firstLoc := int(o.lines[ret.lines[0].line-1].loc)
	inStore := o.mode == modePOS || o.mode == modePickup
	if o.mode == modeStandard && g.chance(0.1) {
		inStore = true // bought online, returned at the home store (线上购 门店退)
		firstLoc = b.home
	}
	ret.loc = int16(firstLoc)
	var received int64
	if inStore {
		ret.created = g.within(handover+g.span(12*msHour, 14*msDay), g.open[firstLoc], g.close[firstLoc]-30)
		ret.handled = ret.created + g.span(3*msMin, 15*msMin)
		received = ret.handled
		ret.completed = received + g.span(msMin, 5*msMin)
	} else {
		ret.created = handover + g.span(5*msHour, 7*msDay)
		if g.chance(0.06) {
			ret.handled = ret.created + g.span(24*msHour, 60*msHour) // past the 24 h SLA
		} else {
			ret.handled = ret.created + g.span(20*msMin, 20*msHour)
		}
		received = g.within(ret.handled+g.span(2*msDay, 5*msDay), g.open[firstLoc], g.close[firstLoc])
		ret.completed = received + g.span(msHour, 24*msHour)
	}
	if ret.completed >= g.cutoff {
		return // still under way at the cutoff: left out
	}
	for _, rl := range ret.lines {
		l := &o.lines[rl.line-1]
		l.returned += rl.qty
		if rl.qty == l.qty {
			ret.refund += l.amount
		} else {
			ret.refund += l.amount * rl.qty / l.qty
		}
	}
	o.ret = ret
	g.refund(o, ret.refund, ret.completed, -1)
}

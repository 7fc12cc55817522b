package demo

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/members"
	"github.com/omni-retail/omni/internal/network"
)

// The demo's members (members.go makes them, members_write.go stores
// them): about 50,000 members made of the customer pool and consistent
// with the order history of the same seed and scale.
//
// Who is a member:
//   - every pool customer with an order in the history (the orders are
//     linked to the member), registered with the first order: its time,
//     its channel and, for a store sale or pickup, its store;
//   - and, of the pool customers without an order, those who registered
//     without buying yet: 62 % of urban professionals, 78 % of young
//     shoppers (they sign up in the mini-program or a live stream for the
//     new-member coupon) and 45 % of mature shoppers (half of them at a
//     till). They register within 90 days of their Since date, through a
//     channel drawn by persona.
//
// Identities: the mobile number; a WeChat unionid and an openid of the
// mini-program (MiniAppID) for those who use the mini-program (an order or
// the registration there, else 30 % of urban professionals, 35 % of young
// and 15 % of mature shoppers who log in with WeChat); a store card number
// for those who bought or registered at a till. The profile comes from
// the pool (name, gender, birthday, city, preferred store = the home
// store). Consents by persona: SMS 35 % / 25 % / 55 % (urban / young /
// mature), WeChat messages 70 % / 80 % / 60 % of WeChat users, no email.
//
// Points and growth (members.BulkMove, replayed by members.Service.Bulk),
// as the live programme would have recorded them under the store's tiers
// and loyalty settings:
//   - each paid order earns when paid: goods (total − shipping) in CNY ×
//     the earn rate × the multiplier of the tier the member had just
//     before (Bulk does not apply multipliers: they are computed here, by
//     the formula of the OrderPaid hook), and growth; a return takes back
//     the same share of it as the money refunded (cumulative, as the
//     OrderRefunded hook does), a cancellation after payment takes back
//     all of it; a reversal never takes more than the balance (the rest
//     is a shortfall, as live);
//   - tiers: upgraded at once as growth crosses a threshold (the replay,
//     like Bulk, never downgrades: that is the periodic re-evaluation's
//     job once the server runs);
//   - check-ins (签到) over the last 60 days of the history only (the
//     programme opened them then; it keeps the load small): 5 % of young
//     shoppers, 2 % of urban professionals and 1 % of mature shoppers who
//     use the mini-program or the app check in, each on a share of the
//     days of their own (young 45–95 %, urban 30–80 %, mature 20–60 %),
//     with the settings' streak bonuses;
//   - shares: 12 % / 5 % / 2 % (young / urban / mature) of WeChat users
//     share on one to five days, mostly shopping festivals, up to the
//     daily cap of rewarded shares;
//   - birthday points of the tier held on the birthday, and the tier's
//     birthday coupon;
//   - points-mall redemptions (积分商城): after an order earns, a member
//     (young 30 %, urban 20 %, mature 12 %) may redeem within two weeks
//     for a coupon (10 or 30 CNY off, free shipping) or a tote bag;
//   - expiry: Bulk expires earned lots by the settings' rule as it
//     replays (by default the lots of 2024 at the end of 2025).
//
// Coupons (members_write.go stores them): a new-member coupon (满99减20)
// for every member registering online (a store registration gets a store
// card), the 618 and Double 11 满减 coupons claimed by members (90 % of
// those who order during the campaign, else 12 % of urban, 15 % of young
// and 5 % of mature shoppers), the tiers' birthday coupons, and the
// mall's coupons (满减 and free shipping). A coupon is used on an
// order of its member placed within its validity when the order meets the
// threshold and its recorded discount covers the coupon (the history's
// discounts then include it), at most one coupon an order, 90 % of the
// time; an order cancelled later uses none. The others expire, or are
// still available at the cutoff. Free-shipping coupons are never used:
// the history charges delivery by its own rule.

// MiniAppID is the WeChat app id of the demo's mini-program (Omni 微信小程序):
// the members' openids belong to it.
const MiniAppID = "wx5d1c0e8a3b7f2946"

// The PCG streams of the members (per pool customer: stream + index).
const (
	streamMembers = 0x6f6d6e69_6d656d05 // "omnimem"
	streamCoupons = 0x6f6d6e69_63706e06 // "omnicpn"
)

// Rules are the loyalty rules a member plan follows: the members module's
// tiers (by level) and settings.
type Rules struct {
	Tiers    []members.Tier
	Settings members.Settings
}

// Persona behaviour of members, indexed like personas (urban, young,
// mature).
var (
	regNoBuy     = [3]float64{0.62, 0.78, 0.45}
	regChannel   = [3][nChannels]float64{{0.10, 0.50, 0.25, 0.05, 0.10}, {0.10, 0.50, 0.10, 0.20, 0.10}, {0.10, 0.30, 0.10, 0.02, 0.48}}
	wechatLogin  = [3]float64{0.30, 0.35, 0.15}
	consentSMS   = [3]float64{0.35, 0.25, 0.55}
	consentWX    = [3]float64{0.70, 0.80, 0.60}
	checkinShare = [3]float64{0.02, 0.05, 0.01}
	checkinDays  = [3][2]float64{{0.30, 0.80}, {0.45, 0.95}, {0.20, 0.60}}
	shareShare   = [3]float64{0.05, 0.12, 0.02}
	mallRedeem   = [3]float64{0.20, 0.30, 0.12}
	claimBase    = [3]float64{0.12, 0.15, 0.05}
)

const (
	checkinWindow = 60  // days of check-ins, ending at AsOf
	claimIfBuying = 0.9 // claims of members who order during a campaign
	useCoupon     = 0.9 // an applicable coupon is used
	giftChance    = 0.3 // a redemption with 3,000 points is the tote bag
	toteStockLeft = 200 // tote bags left after the history
	mallValidDays = 90  // mall coupons
	newValidDays  = 30  // new-member and birthday coupons
	noOrder       = -1  //
	never         = math.MaxInt64
)

// Move kinds of the plan.
const (
	mvEarn uint8 = iota
	mvReverse
	mvCheckIn
	mvShare
	mvBirthday
	mvSpend
)

var moveKinds = [...]string{members.KindEarnOrder, members.KindReverseOrder, members.KindCheckIn, members.KindShare, members.KindBirthday, members.KindSpend}

// mMove is one points and growth move of a planned member.
type mMove struct {
	at     int64
	points int64 // signed
	growth int64 // signed
	// ref: earn: goods (fen); reverse: money refunded so far (0: a
	// cancellation); check-in: streak; share: number of the day's share;
	// birthday: year; spend: redemption (index in MemberPlan.redeems).
	ref   int64
	order int32 // index in History.orders, noOrder
	kind  uint8
	tier  uint8 // earn: the tier of the multiplier; birthday: the gift's tier
}

// planMember is one member of the plan.
type planMember struct {
	cust    int32 // pool index
	persona uint8
	home    int16 // site index of the home store (preferred store)
	created int64
	channel uint8
	store   int16 // site index of the registration store, -1 none
	wechat  bool  // unionid and openid
	card    bool  // store card
	sms, wx bool  // consents
	orders  []int32
	moves   []mMove
	gifts   []gift // birthdays with a coupon
	// At the cutoff, as replayed (upgrades only).
	tier           uint8
	points, growth int64
}

type gift struct {
	year int
	tier uint8
	at   int64
}

// planRedeem is one points-mall redemption.
type planRedeem struct {
	member int32 // index in MemberPlan.members
	item   uint8 // index in mallItems
	at     int64
}

// planCoupon is one coupon issued to a member.
type planCoupon struct {
	member int32 // index in MemberPlan.members
	tmpl   int16 // index in MemberPlan.templates
	src    uint8
	ref    int32 // birthday: year; mall: redemption
	issued int64
	from   int64
	until  int64 // exclusive
	order  int32 // index in History.orders, noOrder
	code   string
}

// Coupon sources.
const (
	srcClaim    uint8 = iota // claimed by the member: no source
	srcWelcome               // batch:welcome
	srcBirthday              // birthday:<member>:<year>
	srcMall                  // mall:<redemption>:1
)

// couponTmpl is a coupon template of the demo.
type couponTmpl struct {
	code, name string
	kind       string // threshold, free_shipping
	off, min   int64  // fen
	from       int64  // valid_from (ms), 0 none
	until      int64  // valid_until (ms), 0 none
	days       int    // valid_days
	perMember  int
	claimable  bool
	claimFrom  int64 // campaigns: when claims open (ms)
}

// window is the validity of a coupon of t issued at `at`, as the coupons
// module computes it.
func (t *couponTmpl) window(at int64) (from, until int64, ok bool) {
	from = max(at, t.from)
	if t.days > 0 {
		d := time.UnixMilli(from).In(network.Shanghai)
		until = time.Date(d.Year(), d.Month(), d.Day()+t.days, 0, 0, 0, 0, network.Shanghai).UnixMilli()
	}
	if t.until != 0 && (until == 0 || t.until < until) {
		until = t.until
	}
	return from, until, from < until
}

// The demo's fixed templates, by index in MemberPlan.templates; the
// tiers' birthday templates follow.
const (
	tWelcome = iota
	tMall10
	tMall30
	tMallShip
	tCampaigns // first campaign
)

var campaignDefs = []struct {
	code, name, from, until string
	off, min                int64
}{
	{"D11-2024", "双11 满299减50", "2024-10-20", "2024-11-12", 5000, 29900},
	{"618-2025", "618 满199减30", "2025-05-25", "2025-06-21", 3000, 19900},
	{"D11-2025", "双11 满299减50", "2025-10-20", "2025-11-12", 5000, 29900},
	{"618-2026", "618 满199减30", "2026-05-25", "2026-06-21", 3000, 19900},
	{"D11-2026", "双11 满299减50", "2026-10-20", "2026-11-12", 5000, 29900},
}

// birthdayDefs are the terms of the tiers' birthday coupons by template
// code; a code not listed gets 20 off 100.
var birthdayDefs = map[string]struct {
	name     string
	off, min int64
}{
	"BIRTHDAY-GOLD":     {"金卡生日券 满200减50", 5000, 20000},
	"BIRTHDAY-PLATINUM": {"白金生日券 满300减100", 10000, 30000},
	"BIRTHDAY-DIAMOND":  {"钻石生日券 满500减200", 20000, 50000},
}

// mallItems are the points mall's items: coupons of a template, or a gift
// collected at the member's home store.
var mallItems = []struct {
	code, name string
	points     int64
	tmpl       int // template index; -1 for the gift
}{
	{"PM-CPN-10", "10 元券（满 99 可用）", 1000, tMall10},
	{"PM-CPN-30", "30 元券（满 199 可用）", 2500, tMall30},
	{"PM-FREESHIP", "包邮券", 500, tMallShip},
	{"PM-TOTE", "Omni 帆布袋", 3000, -1},
}

const (
	itemCpn10 = iota
	itemCpn30
	itemShip
	itemTote
)

// MemberPlan is the demo's members of a history, with their points
// history, coupons and points-mall redemptions, ready to be stored by
// LoadMembers. Build it with MakeMembers.
type MemberPlan struct {
	h         *History
	rules     Rules
	members   []planMember // in load order: by registration
	byCust    []int32      // plan index by pool index, -1 for none
	redeems   []planRedeem // by time: the redemption ids follow this order
	coupons   []planCoupon // by issue
	templates []couponTmpl
	tmplIdx   map[string]int
	cutoff    int64
}

// MakeMembers makes the members of a history under the rules (the tiers
// and settings of the store they will be loaded into). The same history
// and rules always give the same plan.
func MakeMembers(h *History, rules Rules) *MemberPlan {
	p := &MemberPlan{h: h, rules: rules}
	asOf, _ := time.ParseInLocation(time.DateOnly, AsOf, network.Shanghai)
	first := asOf.AddDate(0, 0, 1-HistoryDays)
	p.cutoff = asOf.AddDate(0, 0, 1).UnixMilli()
	days := make([]int64, HistoryDays+1)
	promo := make([]int, HistoryDays)
	for d := range days {
		t := first.AddDate(0, 0, d)
		days[d] = t.UnixMilli()
		if d < HistoryDays {
			_, _, promo[d] = eventFactors(t)
		}
	}
	p.makeTemplates(first.UnixMilli())

	// Who: buyers with their orders, then registrations without one.
	byCust := make([][]int32, len(h.customers))
	for i := range h.orders {
		if c := h.orders[i].cust; c >= 0 {
			byCust[c] = append(byCust[c], int32(i))
		}
	}
	site := map[string]int16{}
	for i, s := range sites {
		site[s.code] = int16(i)
	}
	for ci := range h.customers {
		c := &h.customers[ci]
		pi := personaIndex(c.Persona)
		m := planMember{cust: int32(ci), persona: uint8(pi), home: site[c.HomeStore], store: -1}
		x := mix(h.seed, int64(ci), 0x6d656d62) // registration draws, independent of the per-member stream
		u1 := float64(x>>11) / (1 << 53)
		u2 := float64(mix(h.seed, int64(ci), 0x6d656d63)>>11) / (1 << 53)
		u3 := mix(h.seed, int64(ci), 0x6d656d64)
		if os := byCust[ci]; len(os) > 0 {
			m.orders = os
			fo := &h.orders[os[0]]
			for _, oi := range os {
				if h.orders[oi].created < fo.created {
					fo = &h.orders[oi]
				}
			}
			m.created, m.channel, m.store = fo.created, fo.channel, fo.store
		} else {
			if u1 >= regNoBuy[pi] {
				continue
			}
			since, _ := time.ParseInLocation(time.DateOnly, c.Since, network.Shanghai)
			d := int(math.Round(since.Sub(first).Hours() / 24))
			d = min(d+int(u3%90), HistoryDays-1)
			m.created = days[d] + 9*msHour + int64(u3>>8)%(13*msHour)
			m.channel = uint8(pickCum(regChannel[pi][:], u2))
			if m.channel == chPOS {
				m.store = m.home
			}
		}
		p.members = append(p.members, m)
	}
	slices.SortStableFunc(p.members, func(a, b planMember) int {
		return cmp.Or(cmp.Compare(a.created, b.created), cmp.Compare(a.cust, b.cust))
	})
	p.byCust = make([]int32, len(h.customers))
	for i := range p.byCust {
		p.byCust[i] = -1
	}
	for i := range p.members {
		p.byCust[p.members[i].cust] = int32(i)
	}

	// Identities, consents, and the points history, member by member.
	for i := range p.members {
		m := &p.members[i]
		r := rand.New(rand.NewPCG(uint64(h.seed), streamMembers+uint64(m.cust)))
		pi := m.persona
		app := m.channel == chApp
		for _, oi := range m.orders {
			o := &h.orders[oi]
			m.wechat = m.wechat || o.channel == chMini
			m.card = m.card || o.channel == chPOS
			app = app || o.channel == chApp
		}
		m.wechat = m.wechat || m.channel == chMini || r.Float64() < wechatLogin[pi]
		m.card = m.card || m.channel == chPOS
		m.sms = r.Float64() < consentSMS[pi]
		m.wx = m.wechat && r.Float64() < consentWX[pi]
		p.replay(m, int32(i), r, days, promo, m.wechat || app)
	}

	// Redemption ids in time order.
	order := make([]int32, len(p.redeems))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(p.redeems[a].at, p.redeems[b].at) })
	rank := make([]int64, len(order))
	sorted := make([]planRedeem, len(order))
	for k, i := range order {
		rank[i] = int64(k)
		sorted[k] = p.redeems[i]
	}
	p.redeems = sorted
	for i := range p.members {
		for k := range p.members[i].moves {
			if mv := &p.members[i].moves[k]; mv.kind == mvSpend {
				mv.ref = rank[mv.ref]
			}
		}
	}
	p.makeCoupons()
	return p
}

func personaIndex(p Persona) int {
	for i, t := range personas {
		if t.persona == p {
			return i
		}
	}
	return 0
}

// pickCum picks an index of weights w with a uniform draw u in [0, 1).
func pickCum(w []float64, u float64) int {
	tot := 0.0
	for _, x := range w {
		tot += x
	}
	u *= tot
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

// makeTemplates lists the demo's coupon templates.
func (p *MemberPlan) makeTemplates(firstDay int64) {
	day := func(s string) int64 {
		t, _ := time.ParseInLocation(time.DateOnly, s, network.Shanghai)
		return t.UnixMilli()
	}
	p.templates = []couponTmpl{
		tWelcome:  {code: "WELCOME-20", name: "新人礼 满99减20", kind: "threshold", off: 2000, min: 9900, days: newValidDays, perMember: 1},
		tMall10:   {code: "MALL-10", name: "积分兑换 满99减10", kind: "threshold", off: 1000, min: 9900, days: mallValidDays},
		tMall30:   {code: "MALL-30", name: "积分兑换 满199减30", kind: "threshold", off: 3000, min: 19900, days: mallValidDays},
		tMallShip: {code: "MALL-FREESHIP", name: "积分兑换 包邮券", kind: "free_shipping", days: mallValidDays},
	}
	for _, c := range campaignDefs {
		from := day(c.from)
		p.templates = append(p.templates, couponTmpl{code: c.code, name: c.name, kind: "threshold", off: c.off, min: c.min,
			from: from, until: day(c.until), perMember: 1, claimable: true, claimFrom: max(from, firstDay)})
	}
	for _, t := range p.rules.Tiers {
		if t.BirthdayCoupon == "" || slices.ContainsFunc(p.templates, func(x couponTmpl) bool { return x.code == t.BirthdayCoupon }) {
			continue
		}
		d, ok := birthdayDefs[t.BirthdayCoupon]
		if !ok {
			d.name, d.off, d.min = t.Name+"生日券 满100减20", 2000, 10000
		}
		p.templates = append(p.templates, couponTmpl{code: t.BirthdayCoupon, name: d.name, kind: "threshold", off: d.off, min: d.min, days: newValidDays})
	}
	p.tmplIdx = map[string]int{}
	for i, t := range p.templates {
		p.tmplIdx[t.code] = i
	}
}

// mEvent is something that moves a member's points, in time order.
type mEvent struct {
	at    int64
	kind  uint8 // evEarn, evCancel, evRefund, evCheckIn, evShare, evBirthday
	order int32
	n     int64 // refund: amount; share: number of the day's share; birthday: year
}

const (
	evEarn uint8 = iota
	evCancel
	evRefund
	evCheckIn
	evShare
	evBirthday
)

// book is what an order earned and took back, as member_orders keeps it.
type book struct {
	earned, growth, base, refunded, reversed, shortfall, growthReversed int64
	cancelled                                                           bool
}

type simLot struct{ expires, remaining int64 }

// replay makes member m's points history: it draws the member's
// check-ins, shares and birthdays, then replays every event in time order
// as Bulk will, so that each move's amount is what the live programme
// would have recorded at that moment (the tier's multiplier, the balance
// a reversal may take, what the mall may sell).
func (p *MemberPlan) replay(m *planMember, mi int32, r *rand.Rand, days []int64, promo []int, engaged bool) {
	h, st, tiers := p.h, &p.rules.Settings, p.rules.Tiers
	pi := m.persona
	var evs []mEvent
	for _, oi := range m.orders {
		o := &h.orders[oi]
		if o.paid <= 0 {
			continue
		}
		evs = append(evs, mEvent{at: o.paidAt, kind: evEarn, order: oi})
		for _, f := range o.refunds {
			if f.afterSale == 0 {
				evs = append(evs, mEvent{at: max(o.cancelled, o.paidAt), kind: evCancel, order: oi})
			} else {
				evs = append(evs, mEvent{at: f.at, kind: evRefund, order: oi, n: f.amount})
			}
		}
	}
	// Birthdays: the gift is given in the first hour of the day.
	if bd, err := time.Parse(time.DateOnly, h.customers[m.cust].BirthDate); err == nil {
		for y := time.UnixMilli(days[0]).In(network.Shanghai).Year(); y <= time.UnixMilli(p.cutoff-1).In(network.Shanghai).Year(); y++ {
			mo, d := bd.Month(), bd.Day()
			if mo == time.February && d == 29 && time.Date(y, 2, 29, 0, 0, 0, 0, time.UTC).Month() != time.February {
				d = 28
			}
			at := time.Date(y, mo, d, 0, 0, 0, 0, network.Shanghai).UnixMilli() + r.Int64N(msHour)
			if at >= m.created && at >= days[0] && at < p.cutoff {
				evs = append(evs, mEvent{at: at, kind: evBirthday, n: int64(y)})
			}
		}
	}
	// Check-ins over the window, by habit.
	if engaged && r.Float64() < checkinShare[pi] {
		lo, hi := checkinDays[pi][0], checkinDays[pi][1]
		rate := lo + (hi-lo)*r.Float64()
		for d := HistoryDays - checkinWindow; d < HistoryDays; d++ {
			hour := [...]int64{7, 8, 12, 21, 22}[r.IntN(5)]
			at := days[d] + hour*msHour + r.Int64N(msHour)
			if r.Float64() < rate && at >= m.created {
				evs = append(evs, mEvent{at: at, kind: evCheckIn})
			}
		}
	}
	// Shares on a few days, mostly festivals, up to the daily cap.
	if m.wechat && st.ShareDailyCap > 0 && r.Float64() < shareShare[pi] {
		start := int((m.created - days[0]) / msDay)
		want := 1 + r.IntN(5)
		picked := map[int]bool{}
		for try := 0; try < 400 && len(picked) < want && start < HistoryDays; try++ {
			d := start + r.IntN(HistoryDays-start)
			if picked[d] || (promo[d] == promoNone && r.Float64() >= 0.25) {
				continue
			}
			picked[d] = true
		}
		ds := make([]int, 0, len(picked))
		for d := range picked {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		for _, d := range ds {
			at := days[d] + 10*msHour + r.Int64N(13*msHour)
			for n := range 1 + r.IntN(st.ShareDailyCap) {
				if at >= m.created {
					evs = append(evs, mEvent{at: at, kind: evShare, n: int64(n + 1)})
				}
				at += r.Int64N(40 * msMin)
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b mEvent) int { return cmp.Compare(a.at, b.at) })

	// The replay.
	var lots []simLot
	head := 0
	books := map[int32]*book{}
	var points, growth int64
	tier := 0
	lastDay, streak := "", 0
	mallAt := int64(0)
	expire := func(at int64) {
		for i := head; i < len(lots) && lots[i].expires <= at; i++ {
			points -= lots[i].remaining
			lots[i].remaining = 0
		}
		for head < len(lots) && lots[head].remaining == 0 {
			head++
		}
	}
	emit := func(mv mMove) {
		points += mv.points
		growth += mv.growth
		switch {
		case mv.points > 0:
			lots = append(lots, simLot{expires: expiry(st, mv.at), remaining: mv.points})
		case mv.points < 0:
			need := -mv.points
			for i := head; i < len(lots) && need > 0; i++ {
				n := min(need, lots[i].remaining)
				lots[i].remaining -= n
				need -= n
			}
			for head < len(lots) && lots[head].remaining == 0 {
				head++
			}
		}
		if up := tierFor(tiers, growth); up > tier {
			tier = up
		}
		m.moves = append(m.moves, mv)
	}
	reverse := func(at int64, oi int32, b *book, take, takeGrowth, ref int64) {
		if take <= 0 && takeGrowth <= 0 {
			return
		}
		n, g := min(max(take, 0), points), min(max(takeGrowth, 0), growth)
		if n > 0 || g > 0 {
			emit(mMove{at: at, points: -n, growth: -g, ref: ref, order: oi, kind: mvReverse})
		}
		b.reversed += n
		b.shortfall += max(take, 0) - n
		b.growthReversed += g
	}
	redeem := func(at int64) {
		expire(at)
		item := -1
		switch {
		case points >= mallItems[itemTote].points && r.Float64() < giftChance:
			item = itemTote
		case points >= mallItems[itemCpn30].points:
			item = itemCpn30
		case points >= mallItems[itemCpn10].points:
			item = itemCpn10
		case points >= mallItems[itemShip].points && pi != 2:
			item = itemShip
		}
		if item < 0 {
			return
		}
		p.redeems = append(p.redeems, planRedeem{member: mi, item: uint8(item), at: at})
		emit(mMove{at: at, points: -mallItems[item].points, ref: int64(len(p.redeems) - 1), order: noOrder, kind: mvSpend})
	}
	for _, e := range evs {
		if mallAt != 0 && mallAt <= e.at {
			redeem(mallAt)
			mallAt = 0
		}
		expire(e.at)
		switch e.kind {
		case evEarn:
			o := &h.orders[e.order]
			goods := o.total - o.shipping
			mult := int64(tiers[tier].PointsMultiplier)
			b := &book{earned: goods * int64(st.EarnPointsPerYuan) * mult / 10_000, growth: goods * int64(st.GrowthPerYuan) / 100, base: o.total}
			books[e.order] = b
			if b.earned > 0 || b.growth > 0 {
				emit(mMove{at: e.at, points: b.earned, growth: b.growth, ref: goods, order: e.order, kind: mvEarn, tier: uint8(tier)})
			}
			if mallAt == 0 && r.Float64() < mallRedeem[pi] {
				if at := e.at + 2*msHour + r.Int64N(14*msDay); at < p.cutoff {
					mallAt = at
				}
			}
		case evCancel:
			if b := books[e.order]; b != nil && !b.cancelled {
				b.cancelled, b.refunded = true, b.base
				reverse(e.at, e.order, b, b.earned-b.reversed-b.shortfall, b.growth-b.growthReversed, 0)
			}
		case evRefund:
			b := books[e.order]
			if b == nil || b.cancelled || e.n <= 0 || b.base <= 0 {
				continue
			}
			b.refunded = min(b.refunded+e.n, b.base)
			reverse(e.at, e.order, b, b.earned*b.refunded/b.base-b.reversed-b.shortfall, b.growth*b.refunded/b.base-b.growthReversed, b.refunded)
		case evCheckIn:
			d := time.UnixMilli(e.at).In(network.Shanghai)
			today := d.Format(time.DateOnly)
			if today == lastDay {
				continue
			}
			if lastDay == d.AddDate(0, 0, -1).Format(time.DateOnly) {
				streak++
			} else {
				streak = 1
			}
			lastDay = today
			pts, g := int64(st.CheckinPoints)+streakBonus(st, streak), int64(st.CheckinGrowth)
			if pts > 0 || g > 0 {
				emit(mMove{at: e.at, points: pts, growth: g, ref: int64(streak), order: noOrder, kind: mvCheckIn})
			}
		case evShare:
			if st.SharePoints > 0 || st.ShareGrowth > 0 {
				emit(mMove{at: e.at, points: int64(st.SharePoints), growth: int64(st.ShareGrowth), ref: e.n, order: noOrder, kind: mvShare})
			}
		case evBirthday:
			t := tiers[tier]
			if t.BirthdayPoints > 0 {
				emit(mMove{at: e.at, points: t.BirthdayPoints, ref: e.n, order: noOrder, kind: mvBirthday, tier: uint8(tier)})
			}
			if t.BirthdayCoupon != "" {
				m.gifts = append(m.gifts, gift{year: int(e.n), tier: uint8(tier), at: e.at})
			}
		}
	}
	if mallAt != 0 {
		redeem(mallAt)
	}
	expire(p.cutoff - 1)
	m.tier, m.points, m.growth = uint8(tier), points, growth
}

// expiry is when points earned at `at` expire under the settings (the
// members module's rule).
func expiry(st *members.Settings, at int64) int64 {
	switch st.Expiry {
	case members.ExpiryNever:
		return never
	case members.ExpiryDays:
		return at + int64(st.ExpiryDays)*msDay
	}
	y := time.UnixMilli(at).In(network.Shanghai).Year()
	return time.Date(y+2, 1, 1, 0, 0, 0, 0, network.Shanghai).UnixMilli() - 1
}

// streakBonus is the extra points of a check-in on a streak's nth day: the
// bonus of the largest threshold reached.
func streakBonus(st *members.Settings, streak int) int64 {
	var best members.StreakBonus
	for _, b := range st.StreakBonuses {
		if streak >= b.Days && b.Days > best.Days {
			best = b
		}
	}
	return best.Points
}

// tierFor is the highest level whose threshold growth reaches.
func tierFor(tiers []members.Tier, growth int64) int {
	level := 0
	for _, t := range tiers {
		if growth >= t.GrowthThreshold && t.Level > level {
			level = t.Level
		}
	}
	return level
}

// makeCoupons issues the members' coupons and uses them on their orders.
func (p *MemberPlan) makeCoupons() {
	h := p.h
	byMember := make([][]int32, len(p.members)) // redemptions
	for k, rd := range p.redeems {
		byMember[rd.member] = append(byMember[rd.member], int32(k))
	}
	for i := range p.members {
		m := &p.members[i]
		r := rand.New(rand.NewPCG(uint64(h.seed), streamCoupons+uint64(m.cust)))
		var held []planCoupon
		issue := func(tmpl int, at int64, src uint8, ref int32) {
			t := &p.templates[tmpl]
			from, until, ok := t.window(at)
			if ok && at < p.cutoff {
				held = append(held, planCoupon{member: int32(i), tmpl: int16(tmpl), src: src, ref: ref, issued: at, from: from, until: until, order: noOrder})
			}
		}
		if m.channel != chPOS {
			issue(tWelcome, m.created, srcWelcome, 0)
		}
		// Orders that may use a coupon: paid, not cancelled since.
		var usable []int32
		for _, oi := range m.orders {
			if o := &h.orders[oi]; o.paid > 0 && o.status() != stCancelled {
				usable = append(usable, oi)
			}
		}
		slices.SortStableFunc(usable, func(a, b int32) int { return cmp.Compare(h.orders[a].created, h.orders[b].created) })
		for k := range campaignDefs {
			t := &p.templates[tCampaigns+k]
			start, end := max(t.claimFrom, m.created), min(t.until, p.cutoff)
			if start >= end {
				continue
			}
			var first *hOrder
			for _, oi := range usable {
				if o := &h.orders[oi]; o.created >= start && o.created < t.until {
					first = o
					break
				}
			}
			switch {
			case first != nil && r.Float64() < claimIfBuying:
				issue(tCampaigns+k, start+r.Int64N(first.created-start+1), srcClaim, 0)
			case first == nil && r.Float64() < claimBase[m.persona]:
				issue(tCampaigns+k, start+r.Int64N((end-start)/2+1), srcClaim, 0)
			}
		}
		for _, g := range m.gifts {
			issue(p.tmplIdx[p.rules.Tiers[g.tier].BirthdayCoupon], g.at, srcBirthday, int32(g.year))
		}
		for _, k := range byMember[i] {
			if t := mallItems[p.redeems[k].item].tmpl; t >= 0 {
				issue(t, p.redeems[k].at, srcMall, k)
			}
		}
		// Each order takes the applicable coupon worth most, if any.
		for _, oi := range usable {
			o := &h.orders[oi]
			best := -1
			for k := range held {
				c := &held[k]
				t := &p.templates[c.tmpl]
				if c.order != noOrder || t.kind != "threshold" || o.created < c.from || o.created >= c.until ||
					o.discount < t.off || o.subtotal-o.discount+t.off < t.min {
					continue
				}
				if best < 0 || t.off > p.templates[held[best].tmpl].off || (t.off == p.templates[held[best].tmpl].off && c.until < held[best].until) {
					best = k
				}
			}
			if best >= 0 && r.Float64() < useCoupon {
				held[best].order = oi
			}
		}
		p.coupons = append(p.coupons, held...)
	}
	slices.SortStableFunc(p.coupons, func(a, b planCoupon) int {
		return cmp.Or(cmp.Compare(a.issued, b.issued), cmp.Compare(a.member, b.member), cmp.Compare(a.tmpl, b.tmpl))
	})
	seen := make(map[string]bool, len(p.coupons))
	for k := range p.coupons {
		for salt := uint64(0); ; salt++ {
			code := couponCode(mix(h.seed, int64(k), 0x63706e00+salt))
			if !seen[code] {
				seen[code] = true
				p.coupons[k].code = code
				break
			}
		}
	}
}

// couponAlphabet is the coupons module's: no 0/O or 1/I.
const couponAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// couponCode is a 12-character coupon code of 60 bits of x.
func couponCode(x uint64) string {
	b := make([]byte, 12)
	for i := range b {
		b[i] = couponAlphabet[x&31]
		x >>= 5
	}
	return string(b)
}

// status is a coupon's state at the cutoff.
func (c *planCoupon) status(cutoff int64) string {
	switch {
	case c.order != noOrder:
		return "used"
	case c.until <= cutoff:
		return "expired"
	}
	return "available"
}

// source is a coupon's issue source as the coupons module records it
// (nil for a claim).
func (c *planCoupon) source(memberID, redeemOff int64) any {
	switch c.src {
	case srcWelcome:
		return "batch:welcome"
	case srcBirthday:
		return fmt.Sprintf("birthday:%d:%d", memberID, c.ref)
	case srcMall:
		return fmt.Sprintf("mall:%d:1", redeemOff+int64(c.ref)+1)
	}
	return nil
}

// ── what the plan holds ─────────────────────────────────────────────────

// MembersSummary counts the demo's members and their loyalty history.
type MembersSummary struct {
	Members        int
	Buyers         int    // members with an order in the history
	Tiers          [5]int // members by tier level at the cutoff (replayed: upgrades only)
	WeChat, Cards  int    // members with a WeChat identity, a store card
	Earned         int64  // points earned: orders, check-ins, shares, birthdays
	Reversed       int64  // points taken back on refunds and cancellations
	Spent          int64  // points spent in the points mall
	Expired        int64  // points expired (by the load: up to the time it ran)
	Growth         int64  // growth of all members
	Ledger         int    // points ledger rows (the load's, with expiries)
	CheckIns       int
	Shares         int
	Redemptions    int
	Coupons        int // issued
	CouponsUsed    int
	CouponsExpired int
	Planned        time.Duration // making the history and the members (PlanMembers)
	Duration       time.Duration // writing them (Load and WriteCoupons)
}

// Summary counts the plan (Expired and Ledger up to the cutoff: the load
// reports its own).
func (p *MemberPlan) Summary() MembersSummary {
	var s MembersSummary
	s.Members = len(p.members)
	for i := range p.members {
		m := &p.members[i]
		if len(m.orders) > 0 {
			s.Buyers++
		}
		s.Tiers[m.tier]++
		if m.wechat {
			s.WeChat++
		}
		if m.card {
			s.Cards++
		}
		s.Growth += m.growth
		var net int64
		for _, mv := range m.moves {
			net += mv.points
			switch {
			case mv.kind == mvReverse:
				s.Reversed -= mv.points
			case mv.kind == mvSpend:
				s.Spent -= mv.points
			case mv.points > 0:
				s.Earned += mv.points
			}
			switch mv.kind {
			case mvCheckIn:
				s.CheckIns++
			case mvShare:
				s.Shares++
			}
		}
		s.Expired += net - m.points
		s.Ledger += len(m.moves)
	}
	s.Redemptions = len(p.redeems)
	s.Coupons = len(p.coupons)
	for k := range p.coupons {
		switch p.coupons[k].status(p.cutoff) {
		case "used":
			s.CouponsUsed++
		case "expired":
			s.CouponsExpired++
		}
	}
	return s
}

// memberRefs turn a plan's references into store ids: locations by site
// index, member ids by plan index, and the first redemption id less one.
type memberRefs struct {
	loc       []int64
	member    []int64
	order     int64 // order ids: the history's numbers plus this
	redeemOff int64
}

// localPlanRefs are the references of the digest: local numbers.
func (p *MemberPlan) localRefs() *memberRefs {
	r := &memberRefs{}
	for i := range sites {
		r.loc = append(r.loc, int64(i)+1)
	}
	for i := range p.members {
		r.member = append(r.member, int64(i)+1)
	}
	return r
}

// bulk is the plan's member i as members.Service.Bulk takes it.
func (p *MemberPlan) bulk(i int, r *memberRefs) members.BulkMember {
	m := &p.members[i]
	c := &p.h.customers[m.cust]
	ids := []members.Identity{{Kind: members.Mobile, Value: c.Mobile}}
	if m.wechat {
		ids = append(ids, members.Identity{Kind: members.UnionID, Value: wechatID(p.h.seed, m.cust, 0x756e696f)},
			members.Identity{Kind: members.OpenID, App: MiniAppID, Value: wechatID(p.h.seed, m.cust, 0x6f70656e)})
	}
	if m.card {
		ids = append(ids, members.Identity{Kind: members.Card, Value: cardNo(p.h.seed, m.cust)})
	}
	gender := "male"
	if c.Gender == "F" {
		gender = "female"
	}
	b := members.BulkMember{Name: c.Name, Identities: ids, Birthday: c.BirthDate, Gender: gender, City: c.City,
		Preferred: r.loc[m.home], Channel: channelCodes[m.channel], ConsentSMS: m.sms, ConsentWeChat: m.wx,
		CreatedAt: time.UnixMilli(m.created).UTC(), History: make([]members.BulkMove, 0, len(m.moves))}
	if m.store >= 0 {
		b.Store = r.loc[m.store]
	}
	tiers := p.rules.Tiers
	for _, mv := range m.moves {
		bm := members.BulkMove{At: time.UnixMilli(mv.at).UTC(), Kind: moveKinds[mv.kind], Points: mv.points, Growth: mv.growth}
		var number, oid string
		if mv.order != noOrder {
			bm.Order = r.order + p.h.orders[mv.order].id
			oid = strconv.FormatInt(bm.Order, 10)
			number = "SO" + strings.Repeat("0", max(0, 10-len(oid))) + oid
		}
		switch mv.kind {
		case mvEarn:
			t := tiers[mv.tier]
			bm.Source = "order:" + oid + ":earn"
			bm.Reason = number + ": " + strconv.FormatInt(mv.ref, 10) + " fen of goods, " + t.Code + " ×" + strconv.Itoa(t.PointsMultiplier) + "%"
		case mvReverse:
			what := "cancel"
			if mv.ref > 0 {
				what = "refund:" + strconv.FormatInt(mv.ref, 10)
			}
			bm.Source = "order:" + oid + ":" + what + ":reverse"
			bm.Reason = "earnings taken back: " + what + " of " + number
		case mvCheckIn:
			bm.Source = "checkin:" + shanghaiDay(mv.at)
			bm.Reason = "check-in, day " + strconv.FormatInt(mv.ref, 10) + " of the streak"
		case mvShare:
			bm.Source = "share:" + shanghaiDay(mv.at) + ":" + strconv.FormatInt(mv.ref, 10)
			bm.Reason = "share on moments"
		case mvBirthday:
			bm.Source = "birthday:" + strconv.FormatInt(mv.ref, 10)
			bm.Reason = tiers[mv.tier].Name + " birthday gift"
		case mvSpend:
			item := mallItems[p.redeems[mv.ref].item]
			bm.Source = "mall:" + strconv.FormatInt(r.redeemOff+mv.ref+1, 10)
			bm.Reason = "points mall: 1 × " + item.code
		}
		b.History = append(b.History, bm)
	}
	return b
}

// channelCodes are the codes of Channels(), by index.
var channelCodes = func() []string {
	var cs []string
	for _, c := range Channels() {
		cs = append(cs, c.Code)
	}
	return cs
}()

// shanghaiDay is the business day of unix ms at.
func shanghaiDay(at int64) string {
	return time.UnixMilli(at).In(network.Shanghai).Format(time.DateOnly)
}

// wechatID is a WeChat-style id (28 characters, 'o' and 27 of
// [A-Za-z0-9_-]) of pool customer i: unique, since its first 60 bits
// after the 'o' are a bijection of i.
func wechatID(seed int64, i int32, salt uint64) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 28)
	b[0] = 'o'
	x := uint64(i)*0x9e3779b97f4a7c15 ^ salt<<32 // odd multiplier: a bijection
	x ^= uint64(seed)
	for k := 1; k < 28; k++ {
		if k == 11 || k == 21 {
			x = mix(seed, int64(i), salt+uint64(k))
		}
		b[k] = alphabet[x&63]
		x >>= 6
	}
	return string(b)
}

// cardNo is the store card number of pool customer i: 16 digits, 6288
// and a bijection of i onto 12 digits.
func cardNo(seed int64, i int32) string {
	const m = 1_000_000_000_000
	n := (uint64(i)*982_451_653 + uint64(seed)%m) % m // 982,451,653 is prime to 10¹²
	return fmt.Sprintf("6288%012d", n)
}

// Digest is a SHA-256 over the members, their moves and coupons as they
// would be stored, with local numbers for ids: equal plans have equal
// digests.
func (p *MemberPlan) Digest() string {
	sum := sha256.New()
	r := p.localRefs()
	for i := range p.members {
		b := p.bulk(i, r)
		fmt.Fprintf(sum, "%+v\n", b)
	}
	for k := range p.coupons {
		c := &p.coupons[k]
		order := int64(0)
		if c.order != noOrder {
			order = p.h.orders[c.order].id
		}
		fmt.Fprintln(sum, c.code, p.templates[c.tmpl].code, c.member, c.source(int64(c.member)+1, 0), c.status(p.cutoff), c.issued, c.from, c.until, order)
	}
	for _, rd := range p.redeems {
		fmt.Fprintln(sum, rd.member, mallItems[rd.item].code, rd.at)
	}
	io.WriteString(sum, "end\n")
	return hex.EncodeToString(sum.Sum(nil))
}

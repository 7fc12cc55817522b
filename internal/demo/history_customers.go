package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/network"
)

// CustomerCount is the size of the demo's customer pool (at scale 1).
const CustomerCount = 60_000

// Persona is the hidden segment of a pool customer. It drives what the
// customer buys (price level, basket size), where (channel mix) and how
// often (repeat rate). Orders do not record it; Customers exports it so
// that members can be made of the same people.
type Persona string

// The personas of the customer pool.
const (
	// UrbanProfessional is an urban white-collar worker aged 25–35: mid to
	// high prices, mini-program and app, instant delivery where offered.
	UrbanProfessional Persona = "urban_professional"
	// YoungShopper is a student or young worker aged 18–24: low prices,
	// small baskets, live-stream and shop, more returns, buys less often.
	YoungShopper Persona = "young_shopper"
	// MatureShopper is aged 36–45: higher prices, larger baskets, mostly in
	// store, the most loyal.
	MatureShopper Persona = "mature_shopper"
)

// personaTraits are the behaviour parameters of a persona.
type personaTraits struct {
	persona  Persona
	share    float64    // of the pool
	minAge   int        // at AsOf
	maxAge   int        //
	activity float64    // mean relative purchase rate (repeat buying)
	channel  [5]float64 // preference multipliers, in Channels() order: shop, mini, app, live, pos
	lines    [4]float64 // P(1..4 lines)
	priceRef float64    // yuan; see acceptPrice
	priceExp float64    // > 0 prefers dearer items, < 0 cheaper ones
	returns  float64    // return propensity multiplier (online)
}

var personas = [3]personaTraits{
	{UrbanProfessional, 0.42, 25, 35, 1.0, [5]float64{1.0, 1.35, 1.25, 0.7, 0.85}, [4]float64{0.52, 0.30, 0.12, 0.06}, 160, 0.35, 1.0},
	{YoungShopper, 0.30, 18, 24, 0.7, [5]float64{1.15, 1.0, 0.9, 2.2, 0.65}, [4]float64{0.62, 0.27, 0.08, 0.03}, 220, -0.9, 1.15},
	{MatureShopper, 0.28, 36, 45, 1.3, [5]float64{0.9, 0.75, 0.75, 0.45, 1.45}, [4]float64{0.44, 0.32, 0.16, 0.08}, 260, 0.5, 0.85},
}

// Customer is one person of the demo's customer pool: a stable identity
// (the mobile number is the key members will be matched on), a home near
// one of the demo's stores, and a hidden persona.
type Customer struct {
	Mobile    string  // 11 digits, 1[3-9]…, unique in the pool
	Name      string  // Chinese name
	Gender    string  // "F" or "M"
	BirthDate string  // 'YYYY-MM-DD'; the age at AsOf is within the persona's band
	Persona   Persona //
	Region    string  // the home's sales region (East, South, …)
	Province  string
	City      string
	HomeStore string  // code of the store the customer lives near
	Address   string  // home address (district, street, building)
	Lat, Lng  float64 // home position, within 8 km of the home store
	Since     string  // first day (Asia/Shanghai) the customer may order; the history's first day for existing customers
}

// custInfo is what the history generator keeps of a customer besides the
// exported record.
type custInfo struct {
	persona int     // index in personas
	home    int     // site index of the home store
	since   int     // day index of Since
	act     float64 // relative purchase rate
}

// Customers returns the demo's customer pool of a seed: CustomerCount
// customers, the same for the same seed. The order history draws its
// customers from this pool (a history at scale s uses its first
// round(s × CustomerCount) customers).
func Customers(seed int64) []Customer {
	cs, _ := genCustomers(seed, CustomerCount)
	return cs
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
		"何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董",
		"袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈"}
	givenF = []string{"婷", "静", "敏", "丽", "娜", "芳", "燕", "雪", "琳", "欣", "怡", "佳", "悦", "颖", "晶", "瑶", "倩",
		"璐", "萌", "琪", "雨", "思", "梦", "诗", "可", "晓", "子", "嘉", "雅", "慧", "蕾", "菲", "薇", "彤"}
	givenM = []string{"伟", "强", "磊", "军", "杰", "涛", "浩", "鹏", "宇", "超", "俊", "凯", "晨", "轩", "博", "文", "明",
		"辉", "健", "毅", "子", "睿", "泽", "航", "一", "天", "昊", "嘉", "志", "峰", "然", "阳"}
	// mobilePrefixes are the mainland carriers' number blocks (移动, 联通, 电信, 广电).
	mobilePrefixes = []string{"130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151",
		"152", "153", "155", "156", "157", "158", "159", "166", "172", "173", "175", "176", "177", "178", "180", "181",
		"182", "183", "184", "185", "186", "187", "188", "189", "191", "193", "195", "198", "199"}
	roads = []string{"人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "新华路", "文化路", "光明路", "滨江路",
		"青年路", "胜利路", "朝阳路", "幸福路", "民主路", "复兴路", "花园路", "学府路", "锦绣路", "金桥路"}
)

// district is the district part of a site's address ("黄浦区…" → "黄浦区").
func district(s site) string {
	if i := strings.Index(s.address, "区"); i >= 0 {
		return s.address[:i+len("区")]
	}
	return ""
}

// offsetPoint is a point at most maxM metres from (lat, lng), uniform over
// the disc.
func offsetPoint(r *rand.Rand, lat, lng, maxM float64) (float64, float64) {
	d := maxM * math.Sqrt(r.Float64())
	a := 2 * math.Pi * r.Float64()
	const mPerDeg = 111_320.0
	return round6(lat + d*math.Cos(a)/mPerDeg), round6(lng + d*math.Sin(a)/(mPerDeg*math.Cos(lat*math.Pi/180)))
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// randMobile draws a mobile number.
func randMobile(r *rand.Rand) string {
	return fmt.Sprintf("%s%08d", mobilePrefixes[r.IntN(len(mobilePrefixes))], r.IntN(100_000_000))
}

func randName(r *rand.Rand, female bool) string {
	given := givenM
	if female {
		given = givenF
	}
	// Common surnames more often: the smaller of two draws.
	n := surnames[min(r.IntN(len(surnames)), r.IntN(len(surnames)))] + given[r.IntN(len(given))]
	if r.IntN(10) < 7 {
		n += given[r.IntN(len(given))]
	}
	return n
}

func homeAddress(r *rand.Rand, s site) string {
	return fmt.Sprintf("%s%s %d 号 %d 栋 %d 室", district(s), roads[r.IntN(len(roads))], 1+r.IntN(999), 1+r.IntN(30), 100*(1+r.IntN(32))+1+r.IntN(6))
}

// genCustomers makes the first n customers of a seed's pool. Customer i is
// the same whatever n, so a smaller history uses a prefix of the pool.
func genCustomers(seed int64, n int) ([]Customer, []custInfo) {
	r := newRand(seed, streamCustomers)
	asOf, _ := time.ParseInLocation(time.DateOnly, AsOf, network.Shanghai)
	first := asOf.AddDate(0, 0, 1-HistoryDays)

	// Home stores: bigger cities have more customers; East a little more,
	// South fewer (who come back more often: see act).
	var stores []int
	var cum []float64
	total := 0.0
	for i, s := range sites {
		if s.kind != network.Store {
			continue
		}
		w := [4]float64{0, 3, 2, 1}[s.tier]
		switch s.region {
		case East:
			w *= 1.15
		case South:
			w *= 0.6
		}
		total += w
		stores = append(stores, i)
		cum = append(cum, total)
	}
	seen := make(map[string]bool, n)
	cs := make([]Customer, n)
	infos := make([]custInfo, n)
	for i := range n {
		x := r.Float64()
		p := 0
		for acc := personas[0].share; x >= acc && p < len(personas)-1; {
			p++
			acc += personas[p].share
		}
		tr := personas[p]
		female := r.Float64() < 0.64
		gender := "M"
		if female {
			gender = "F"
		}
		age := tr.minAge + r.IntN(tr.maxAge-tr.minAge+1)
		birth := asOf.AddDate(-age, 0, -r.IntN(365))
		home := stores[searchCum(cum, r.Float64()*total)]
		s := sites[home]
		lat, lng := offsetPoint(r, s.lat, s.lng, 8000)
		since := 0
		if r.Float64() >= 0.35 { // existing customers from day one, the rest join over the two years
			since = r.IntN(HistoryDays - 30)
		}
		act := tr.activity * math.Exp(1.2*r.NormFloat64()-0.72)
		if s.region == South {
			act *= 1.8 // 华南: more repeat buying
		}
		mobile := randMobile(r)
		for seen[mobile] {
			mobile = randMobile(r)
		}
		seen[mobile] = true
		cs[i] = Customer{
			Mobile: mobile, Name: randName(r, female), Gender: gender, BirthDate: birth.Format(time.DateOnly),
			Persona: tr.persona, Region: s.region, Province: s.province, City: s.city, HomeStore: s.code,
			Address: homeAddress(r, s), Lat: lat, Lng: lng, Since: first.AddDate(0, 0, since).Format(time.DateOnly),
		}
		infos[i] = custInfo{persona: p, home: home, since: since, act: act}
	}
	return cs, infos
}

// searchCum returns the index of the first cumulative weight above x.
func searchCum(cum []float64, x float64) int {
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

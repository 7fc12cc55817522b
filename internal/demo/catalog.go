package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
)

// AsOf is the last day of the demo's calendar (Asia/Shanghai): launch
// dates fall in the two years before it, whatever day the demo runs.
const AsOf = "2026-10-31"

// StyleCount is the number of styles generated.
const StyleCount = 600

// Brands are the retailer's house brands.
var Brands = []string{"OMNI", "OMNI BASIC", "OMNI STUDIO"}

// colour is a colour with its code in SKU codes.
type colour struct{ name, code string }

var palette = []colour{
	{"黑色", "BK"}, {"白色", "WH"}, {"藏青", "NV"}, {"燕麦", "OT"}, {"米白", "IV"}, {"卡其", "KH"},
	{"浅灰", "LG"}, {"炭灰", "CG"}, {"雾霾蓝", "HB"}, {"酒红", "WR"}, {"墨绿", "DG"}, {"焦糖", "CM"},
	{"杏色", "AP"}, {"豆沙粉", "PK"}, {"姜黄", "MS"}, {"天蓝", "SB"},
}

var denim = []colour{{"深蓝", "DB"}, {"浅蓝", "LB"}, {"水洗蓝", "WB"}, {"黑色", "BK"}, {"烟灰", "SG"}}

// size is a size label with its code in SKU codes and its share of demand.
type size struct {
	label, code string
	weight      float64
}

var (
	letterSizes = []size{{"XS", "XS", 0.5}, {"S", "S", 0.8}, {"M", "M", 1.2}, {"L", "L", 1.2}, {"XL", "XL", 0.9}, {"XXL", "XXL", 0.5}}
	waistSizes  = []size{{"26", "26", 0.5}, {"27", "27", 0.7}, {"28", "28", 1.0}, {"29", "29", 1.2}, {"30", "30", 1.2},
		{"31", "31", 1.0}, {"32", "32", 0.9}, {"33", "33", 0.6}, {"34", "34", 0.5}, {"36", "36", 0.3}}
	oneSize = []size{{"均码", "F", 1.0}}
)

// season kinds.
const (
	springSummer = 1 << iota // 春夏
	autumnWinter             // 秋冬
	anySeason    = springSummer | autumnWinter
)

// category describes how styles of one category are made up.
type category struct {
	name, code   string
	share        int // styles per thousand
	seasons      int
	minYuan      int // list price range, yuan
	maxYuan      int
	sizes        []size
	runMin       int // sizes per style: a contiguous run of runMin to runMax sizes
	runMax       int
	colours      []colour
	materials    []string
	items        []string
	lifecycleMix [3]int // percent fashion, seasonal, classic
}

var categories = []category{
	{"T恤", "TS", 140, springSummer, 79, 199, letterSizes[1:], 3, 5, palette,
		[]string{"纯棉", "重磅", "长绒棉", "冰丝", "莫代尔", "华夫格", "水洗", "凉感"},
		[]string{"圆领短袖T恤", "V领短袖T恤", "宽松落肩T恤", "印花T恤", "条纹T恤", "长袖打底T恤", "POLO衫", "刺绣T恤"}, [3]int{40, 30, 30}},
	{"衬衫", "SH", 100, anySeason, 159, 399, letterSizes[1:], 3, 5, palette,
		[]string{"牛津纺", "亚麻", "天丝", "法兰绒", "免烫", "泡泡纱", "灯芯绒"},
		[]string{"长袖衬衫", "短袖衬衫", "立领衬衫", "格纹衬衫", "宽松衬衫", "条纹衬衫", "衬衫外套"}, [3]int{30, 35, 35}},
	{"连衣裙", "DR", 90, springSummer, 259, 799, letterSizes[:5], 3, 4, palette,
		[]string{"碎花", "醋酸", "针织", "雪纺", "真丝", "棉麻", "泡泡袖"},
		[]string{"连衣裙", "吊带连衣裙", "衬衫裙", "A字连衣裙", "收腰长裙", "茶歇裙", "背心裙"}, [3]int{50, 40, 10}},
	{"牛仔裤", "JN", 90, anySeason, 199, 499, waistSizes, 4, 6, denim,
		[]string{"高腰", "弹力", "复古水洗", "微喇", "直筒", "锥形", "宽松"},
		[]string{"牛仔裤", "阔腿牛仔裤", "九分牛仔裤", "小脚牛仔裤", "老爹牛仔裤", "烟管牛仔裤"}, [3]int{25, 30, 45}},
	{"休闲裤", "PT", 90, anySeason, 159, 399, letterSizes[1:], 3, 5, palette,
		[]string{"垂感", "抽绳", "工装", "冰丝", "羊毛混纺", "弹力"},
		[]string{"休闲裤", "西装裤", "阔腿裤", "束脚裤", "九分裤", "工装裤", "卫裤"}, [3]int{30, 35, 35}},
	{"外套", "JK", 90, anySeason, 399, 1299, letterSizes[1:], 3, 5, palette,
		[]string{"防泼水", "双面呢", "羊毛", "机车", "连帽", "轻薄"},
		[]string{"风衣", "夹克", "西装外套", "牛仔外套", "大衣", "棒球服", "冲锋衣"}, [3]int{35, 45, 20}},
	{"羽绒服", "DJ", 70, autumnWinter, 599, 1599, letterSizes[1:], 4, 5, palette,
		[]string{"90白鸭绒", "鹅绒", "轻薄", "三防", "可拆帽", "亮面"},
		[]string{"短款羽绒服", "长款羽绒服", "羽绒马甲", "面包羽绒服", "连帽羽绒服"}, [3]int{20, 70, 10}},
	{"毛衫", "KN", 90, autumnWinter, 199, 599, letterSizes[1:5], 3, 4, palette,
		[]string{"羊绒", "美利奴羊毛", "马海毛", "粗针", "绞花", "半高领"},
		[]string{"针织开衫", "套头毛衣", "毛衣背心", "高领毛衣", "针织衫"}, [3]int{30, 50, 20}},
	{"卫衣", "SW", 100, anySeason, 159, 399, letterSizes[1:], 3, 5, palette,
		[]string{"加绒", "毛圈", "重磅", "复古", "华夫格"},
		[]string{"连帽卫衣", "圆领卫衣", "拉链卫衣", "半拉链卫衣", "印花卫衣"}, [3]int{40, 35, 25}},
	{"半身裙", "SK", 50, springSummer, 159, 459, letterSizes[:5], 3, 4, palette,
		[]string{"百褶", "醋酸", "灯芯绒", "针织", "牛仔", "缎面"},
		[]string{"半身裙", "A字半裙", "鱼尾裙", "包臀裙", "长半裙"}, [3]int{50, 35, 15}},
	{"配饰", "AC", 90, anySeason, 39, 299, oneSize, 1, 1, palette,
		[]string{""},
		[]string{"羊毛围巾", "针织围巾", "丝质方巾", "棉质渔夫帽", "刺绣棒球帽", "针织毛线帽", "帆布托特包", "真皮斜挎包",
			"尼龙双肩包", "真皮腰带", "编织腰带", "棉袜三双装", "羊毛袜", "触屏手套", "发圈套装", "太阳镜"}, [3]int{20, 20, 60}},
}

// tags vary the names of styles of the same item.
var tags = []string{"", "", "", "经典", "简约", "通勤", "复古", "设计感", "城市", "度假风", "轻运动", "法式", "日系"}

// season is a selling season with its launch window.
type season struct {
	name, code string // 2025春夏, 25SS
	kind       int
	from, to   string // launch window, inclusive
}

var seasons = []season{
	{"2024秋冬", "24AW", autumnWinter, "2024-11-01", "2024-12-31"},
	{"2025春夏", "25SS", springSummer, "2025-02-01", "2025-05-31"},
	{"2025秋冬", "25AW", autumnWinter, "2025-08-01", "2025-11-30"},
	{"2026春夏", "26SS", springSummer, "2026-02-01", "2026-05-31"},
	{"2026秋冬", "26AW", autumnWinter, "2026-08-01", "2026-10-31"},
}

// pricePoints are the list prices (yuan) a retailer in China uses: ending
// in 9.
var pricePoints = []int{39, 49, 59, 69, 79, 89, 99, 119, 129, 139, 149, 159, 169, 179, 199, 229, 249, 259, 269, 299,
	329, 349, 369, 399, 429, 459, 499, 549, 599, 649, 699, 799, 899, 999, 1099, 1199, 1299, 1499, 1599}

// barcodePrefix is the GS1 China (69x) company prefix of the demo brand.
const barcodePrefix = "6975310"

// styleInfo is what the stock generator needs to know about a style.
type styleInfo struct {
	category   *category
	popularity float64 // relative demand, lognormal around 1
	lifecycle  catalog.Lifecycle
	sizeWeight []float64 // per SKU, in SKU order
}

// genCatalog makes the styles and what the stock generator needs of them.
func genCatalog(r *rand.Rand) ([]catalog.Style, []styleInfo) {
	// Exact counts per category, the rounding rest going to the first ones.
	counts := make([]int, len(categories))
	total := 0
	for i, c := range categories {
		counts[i] = StyleCount * c.share / 1000
		total += counts[i]
	}
	for i := 0; total < StyleCount; i = (i + 1) % len(counts) {
		counts[i]++
		total++
	}
	styles := make([]catalog.Style, 0, StyleCount)
	infos := make([]styleInfo, 0, StyleCount)
	serial := map[string]int{}
	item := 0
	for ci := range categories {
		c := &categories[ci]
		var fit []season
		for _, s := range seasons {
			if s.kind&c.seasons != 0 {
				fit = append(fit, s)
			}
		}
		for range counts[ci] {
			se := fit[r.IntN(len(fit))]
			serial[c.code+se.code]++
			code := fmt.Sprintf("%s%s%03d", c.code, se.code, serial[c.code+se.code])
			lc := pickLifecycle(r, c.lifecycleMix)
			brand := Brands[0]
			switch {
			case lc == catalog.Classic && r.IntN(3) > 0:
				brand = Brands[1]
			case lc == catalog.Fashion && r.IntN(3) == 0:
				brand = Brands[2]
			}
			name := tags[r.IntN(len(tags))] + c.materials[r.IntN(len(c.materials))] + c.items[r.IntN(len(c.items))]
			yuan := pricePoint(r, c.minYuan, c.maxYuan)
			list := int64(yuan) * 100
			cost := int64(math.Round(float64(yuan)*(0.30+0.15*r.Float64()))) * 100
			st := catalog.Style{Code: code, Name: name, Category: c.name, Brand: brand, Season: se.name,
				Lifecycle: lc, LaunchDate: launchDate(r, se)}
			info := styleInfo{category: c, lifecycle: lc, popularity: math.Exp(0.6 * r.NormFloat64())}
			ncol := 3 // 3 colours for three styles in four, sometimes 4 or 5
			switch x := r.IntN(100); {
			case x >= 93:
				ncol = 5
			case x >= 75:
				ncol = 4
			}
			ncol = min(ncol, len(c.colours))
			run := c.runMin // each further size with probability 0.35
			for run < c.runMax && r.IntN(100) < 35 {
				run++
			}
			run = min(run, len(c.sizes))
			first := r.IntN(len(c.sizes) - run + 1)
			sizes := c.sizes[first : first+run]
			for _, ki := range r.Perm(len(c.colours))[:ncol] {
				col := c.colours[ki]
				for _, sz := range sizes {
					digits := fmt.Sprintf("%s%05d", barcodePrefix, item)
					item++
					st.SKUs = append(st.SKUs, catalog.SKU{
						Code: code + "-" + col.code + "-" + sz.code, StyleCode: code, Color: col.name, Size: sz.label,
						Barcode: catalog.WithCheckDigit(digits), ListPrice: list, Cost: cost, Active: true,
					})
					info.sizeWeight = append(info.sizeWeight, sz.weight)
				}
			}
			styles = append(styles, st)
			infos = append(infos, info)
		}
	}
	return styles, infos
}

func pickLifecycle(r *rand.Rand, mix [3]int) catalog.Lifecycle {
	x := r.IntN(100)
	switch {
	case x < mix[0]:
		return catalog.Fashion
	case x < mix[0]+mix[1]:
		return catalog.Seasonal
	}
	return catalog.Classic
}

// pricePoint picks a price point within [lo, hi] yuan, cheaper ones more often.
func pricePoint(r *rand.Rand, lo, hi int) int {
	var in []int
	for _, p := range pricePoints {
		if p >= lo && p <= hi {
			in = append(in, p)
		}
	}
	// The smaller of two draws leans towards the lower half of the range.
	return in[min(r.IntN(len(in)), r.IntN(len(in)))]
}

// launchDate picks a day in the season's launch window.
func launchDate(r *rand.Rand, s season) string {
	from, _ := time.Parse(time.DateOnly, s.from)
	to, _ := time.Parse(time.DateOnly, s.to)
	days := int(to.Sub(from).Hours()/24) + 1
	return from.AddDate(0, 0, r.IntN(days)).Format(time.DateOnly)
}

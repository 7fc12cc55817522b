package demo

import (
	"slices"

	"github.com/omni-retail/omni/internal/network"
)

// Regions of the demo network.
const (
	East      = "east"      // 华东
	South     = "south"     // 华南
	North     = "north"     // 华北
	Southwest = "southwest" // 西南
	Northwest = "northwest" // 西北
)

// site is one location of the fixed demo network. Coordinates are WGS-84
// positions of the real shopping districts (to about 0.01°).
type site struct {
	code, name     string
	kind           network.Kind
	region         string
	province, city string
	address        string
	lat, lng       float64
	hours          string
	pickup, ship   bool
	instantM       int // instant-delivery radius, 0 = none
	tier           int // city tier: 1 (上海 北京 广州 深圳), 2, 3
}

const hours = "10:00-22:00"

// sites is the demo network: stores by region, then the warehouses.
var sites = []site{
	// ── 华东 ──
	{"SH-NJD", "Omni 上海南京东路店", network.Store, East, "上海市", "上海市", "黄浦区南京东路步行街 世纪广场旁", 31.2360, 121.4790, "10:00-22:30", true, true, 3000, 1},
	{"SH-XJH", "Omni 上海徐家汇店", network.Store, East, "上海市", "上海市", "徐汇区虹桥路 1 号 港汇恒隆广场", 31.1950, 121.4370, hours, true, true, 3000, 1},
	{"SH-LJZ", "Omni 上海陆家嘴店", network.Store, East, "上海市", "上海市", "浦东新区陆家嘴西路 168 号 正大广场", 31.2370, 121.4990, hours, true, true, 4000, 1},
	{"SH-WJC", "Omni 上海五角场店", network.Store, East, "上海市", "上海市", "杨浦区淞沪路 五角场万达广场", 31.3010, 121.5150, hours, true, true, 0, 1},
	{"HZ-HBY", "Omni 杭州湖滨店", network.Store, East, "浙江省", "杭州市", "上城区湖滨路 湖滨银泰in77", 30.2580, 120.1640, hours, true, true, 3000, 2},
	{"HZ-WLG", "Omni 杭州武林广场店", network.Store, East, "浙江省", "杭州市", "拱墅区延安路 武林广场", 30.2720, 120.1640, hours, true, false, 0, 2},
	{"NJ-XJK", "Omni 南京新街口店", network.Store, East, "江苏省", "南京市", "秦淮区中山南路 新街口", 32.0410, 118.7840, hours, true, true, 3000, 2},
	{"SUZ-GQJ", "Omni 苏州观前街店", network.Store, East, "江苏省", "苏州市", "姑苏区观前街", 31.3100, 120.6290, hours, true, true, 0, 2},
	{"NB-TYG", "Omni 宁波天一广场店", network.Store, East, "浙江省", "宁波市", "海曙区中山东路 天一广场", 29.8700, 121.5540, hours, true, true, 0, 2},
	{"WX-SYG", "Omni 无锡三阳广场店", network.Store, East, "江苏省", "无锡市", "梁溪区中山路 三阳广场", 31.5760, 120.3010, "10:00-21:30", true, false, 0, 2},
	// ── 华南 ──
	{"GZ-THC", "Omni 广州天河城店", network.Store, South, "广东省", "广州市", "天河区天河路 208 号 天河城", 23.1320, 113.3230, "10:00-22:30", true, true, 4000, 1},
	{"GZ-BJL", "Omni 广州北京路店", network.Store, South, "广东省", "广州市", "越秀区北京路步行街", 23.1250, 113.2690, "10:00-22:30", true, true, 3000, 1},
	{"SZ-WXC", "Omni 深圳万象城店", network.Store, South, "广东省", "深圳市", "罗湖区宝安南路 1881 号 华润万象城", 22.5380, 114.1110, hours, true, true, 4000, 1},
	{"SZ-HAC", "Omni 深圳海岸城店", network.Store, South, "广东省", "深圳市", "南山区文心五路 33 号 海岸城", 22.5170, 113.9360, hours, true, true, 3000, 1},
	{"DG-DCW", "Omni 东莞东城万达店", network.Store, South, "广东省", "东莞市", "东城区东纵大道 万达广场", 23.0330, 113.7700, hours, true, true, 0, 2},
	{"XM-ZSL", "Omni 厦门中山路店", network.Store, South, "福建省", "厦门市", "思明区中山路步行街", 24.4560, 118.0820, "10:00-22:30", true, true, 0, 2},
	{"FS-ZMU", "Omni 佛山祖庙店", network.Store, South, "广东省", "佛山市", "禅城区祖庙路", 23.0300, 113.1100, hours, false, false, 0, 2},
	// ── 华北 ──
	{"BJ-WFJ", "Omni 北京王府井店", network.Store, North, "北京市", "北京市", "东城区王府井大街", 39.9140, 116.4110, hours, true, true, 3000, 1},
	{"BJ-SLT", "Omni 北京三里屯店", network.Store, North, "北京市", "北京市", "朝阳区三里屯路 19 号 太古里", 39.9360, 116.4540, "10:00-23:00", true, true, 4000, 1},
	{"BJ-XDN", "Omni 北京西单店", network.Store, North, "北京市", "北京市", "西城区西单北大街", 39.9100, 116.3740, hours, true, true, 3000, 1},
	{"TJ-BJD", "Omni 天津滨江道店", network.Store, North, "天津市", "天津市", "和平区滨江道步行街", 39.1220, 117.2000, hours, true, true, 0, 2},
	{"SJZ-BG", "Omni 石家庄北国店", network.Store, North, "河北省", "石家庄市", "长安区中山东路 北国商城", 38.0440, 114.5200, hours, true, false, 0, 3},
	{"TY-LXG", "Omni 太原柳巷店", network.Store, North, "山西省", "太原市", "迎泽区柳巷步行街", 37.8690, 112.5650, "10:00-21:30", false, false, 0, 3},
	// ── 西南 ──
	{"CD-CXL", "Omni 成都春熙路店", network.Store, Southwest, "四川省", "成都市", "锦江区春熙路步行街", 30.6570, 104.0810, "10:00-22:30", true, true, 3000, 2},
	{"CD-YTZ", "Omni 成都银泰中心店", network.Store, Southwest, "四川省", "成都市", "高新区天府大道北段 1199 号 银泰中心in99", 30.5740, 104.0630, hours, true, true, 3000, 2},
	{"CQ-JFB", "Omni 重庆解放碑店", network.Store, Southwest, "重庆市", "重庆市", "渝中区民权路 解放碑步行街", 29.5570, 106.5770, "10:00-22:30", true, true, 3000, 2},
	{"CQ-GYQ", "Omni 重庆观音桥店", network.Store, Southwest, "重庆市", "重庆市", "江北区观音桥步行街", 29.5750, 106.5330, hours, true, false, 0, 2},
	{"KM-NPJ", "Omni 昆明南屏街店", network.Store, Southwest, "云南省", "昆明市", "五华区南屏街", 25.0390, 102.7120, hours, true, true, 0, 2},
	{"GY-PSC", "Omni 贵阳喷水池店", network.Store, Southwest, "贵州省", "贵阳市", "云岩区中华北路 喷水池", 26.5780, 106.7130, hours, true, false, 0, 3},
	// ── 西北 ──
	{"XA-ZLO", "Omni 西安钟楼店", network.Store, Northwest, "陕西省", "西安市", "碑林区东大街 钟楼商圈", 34.2600, 108.9430, hours, true, true, 3000, 2},
	{"XA-XZH", "Omni 西安小寨店", network.Store, Northwest, "陕西省", "西安市", "雁塔区长安中路 小寨商圈", 34.2240, 108.9470, hours, true, true, 0, 2},
	{"LZ-XGS", "Omni 兰州西关店", network.Store, Northwest, "甘肃省", "兰州市", "城关区张掖路步行街 西关十字", 36.0590, 103.8240, "10:00-21:30", true, false, 0, 3},
	{"UQ-YHL", "Omni 乌鲁木齐友好店", network.Store, Northwest, "新疆维吾尔自治区", "乌鲁木齐市", "沙依巴克区友好南路 友好商圈", 43.8060, 87.5900, "11:00-23:00", true, true, 0, 3},
	{"YC-XHJ", "Omni 银川新华街店", network.Store, Northwest, "宁夏回族自治区", "银川市", "兴庆区新华东街", 38.4680, 106.2800, "10:00-21:30", true, false, 0, 3},
	// ── warehouses ──
	{"CW-JX", "Omni 嘉兴中央仓", network.CentralWarehouse, East, "浙江省", "嘉兴市", "南湖区 嘉兴经济技术开发区", 30.7520, 120.7560, "", false, true, 0, 0},
	{"RW-GZ", "Omni 华南区域仓（广州）", network.RegionalWarehouse, South, "广东省", "广州市", "白云区太和镇 物流园", 23.3400, 113.3000, "", false, true, 0, 0},
	{"RW-CD", "Omni 西南区域仓（成都）", network.RegionalWarehouse, Southwest, "四川省", "成都市", "新都区 物流大道", 30.8200, 104.1600, "", false, true, 0, 0},
	{"FW-SH-JA", "Omni 上海静安前置仓", network.FrontWarehouse, East, "上海市", "上海市", "静安区 静安寺商圈", 31.2290, 121.4480, "08:00-23:00", false, true, 3000, 0},
	{"FW-HZ-XH", "Omni 杭州西湖前置仓", network.FrontWarehouse, East, "浙江省", "杭州市", "西湖区文三路", 30.2780, 120.1300, "08:00-23:00", false, true, 5000, 0},
	{"FW-BJ-CY", "Omni 北京朝阳前置仓", network.FrontWarehouse, North, "北京市", "北京市", "朝阳区 国贸商圈", 39.9090, 116.4600, "08:00-23:00", false, true, 4000, 0},
	{"FW-SZ-FT", "Omni 深圳福田前置仓", network.FrontWarehouse, South, "广东省", "深圳市", "福田区 车公庙", 22.5410, 114.0300, "08:00-23:00", false, true, 3000, 0},
}

// Locations returns the demo network's locations, stores first.
func Locations() []network.Location {
	out := make([]network.Location, len(sites))
	for i, s := range sites {
		out[i] = network.Location{
			Code: s.code, Name: s.name, Kind: s.kind, Region: s.region, Province: s.province, City: s.city,
			Address: s.address, Lat: s.lat, Lng: s.lng, OpeningHours: s.hours, Active: true,
			Capabilities: network.Capabilities{POS: s.kind == network.Store, Pickup: s.pickup, Ship: s.ship,
				Instant: s.instantM > 0, InstantRadiusM: s.instantM},
		}
	}
	return out
}

// Channels returns the demo's sales channels with the locations serving
// each: the online shop ships from warehouses and ship-capable stores, the
// mini-program from stores and front warehouses, the app from every
// warehouse and the pickup stores, the live stream only from the central
// warehouse (capped at 30 % of a style), and POS from every store.
func Channels() []network.Channel {
	var shop, mini, app, live, pos []string
	for _, s := range sites {
		isStore := s.kind == network.Store
		if !isStore || s.ship {
			if s.kind != network.FrontWarehouse {
				shop = append(shop, s.code)
			}
		}
		if isStore || s.kind == network.FrontWarehouse {
			mini = append(mini, s.code)
		}
		if !isStore || s.pickup {
			app = append(app, s.code)
		}
		if s.kind == network.CentralWarehouse {
			live = append(live, s.code)
		}
		if isStore {
			pos = append(pos, s.code)
		}
	}
	return []network.Channel{
		{Code: "shop", Name: "Omni 官方商城", Kind: network.OnlineShop, SafetyStock: 1, MaxSharePct: 100, Locations: shop, Active: true},
		{Code: "mini", Name: "Omni 微信小程序", Kind: network.MiniProgram, SafetyStock: 1, MaxSharePct: 100, Locations: mini, Active: true},
		{Code: "app", Name: "Omni App", Kind: network.App, SafetyStock: 1, MaxSharePct: 100, Locations: app, Active: true},
		{Code: "live", Name: "Omni 抖音直播间", Kind: network.LiveStream, SafetyStock: 2, MaxSharePct: 30, Locations: live, Active: true},
		{Code: "pos", Name: "门店收银", Kind: network.POS, SafetyStock: 0, MaxSharePct: 100, Locations: pos, Active: true},
	}
}

// Network returns the demo locations with the given codes and the demo
// channels restricted to them; a channel left without a location is
// dropped. Tests build small worlds with it.
func Network(codes ...string) ([]network.Location, []network.Channel) {
	var locs []network.Location
	for _, l := range Locations() {
		if slices.Contains(codes, l.Code) {
			locs = append(locs, l)
		}
	}
	var chans []network.Channel
	for _, c := range Channels() {
		c.Locations = slices.DeleteFunc(c.Locations, func(code string) bool { return !slices.Contains(codes, code) })
		if len(c.Locations) > 0 {
			chans = append(chans, c)
		}
	}
	return locs, chans
}

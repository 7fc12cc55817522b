package analytics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// GenerateOptions shape a synthetic transaction history for benchmarks.
type GenerateOptions struct {
	Lines     int       // order lines in all
	Customers int       // default Lines/20
	SKUs      int       // default 20,000
	Start     time.Time // default 2024-11-01 Asia/Shanghai
	Days      int       // default 730 (two years)
	Seed      uint64
}

// Generate builds a deterministic history of opts.Lines order lines: orders
// of 1–5 lines, customers with skewed (Pareto-like) activity, SKUs with
// Zipf-like popularity, yearly and weekly seasonality, prices 19–1,999 CNY.
// It fills the columns directly (no string interning on the hot path), so
// ten million lines take a few seconds.
func Generate(opts GenerateOptions) *Dataset {
	if opts.Customers <= 0 {
		opts.Customers = max(1, opts.Lines/20)
	}
	if opts.SKUs <= 0 {
		opts.SKUs = 20_000
	}
	if opts.Days <= 0 {
		opts.Days = 730
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2024, 11, 1, 0, 0, 0, 0, Shanghai)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	d := &Dataset{Currency: "CNY"}
	n := opts.Lines
	d.Order = make([]int32, 0, n)
	d.Customer = make([]int32, 0, n)
	d.SKU = make([]int32, 0, n)
	d.Qty = make([]int32, 0, n)
	d.Price = make([]int64, 0, n)
	d.At = make([]int64, 0, n)
	d.Channel = make([]int32, 0, n)
	d.Region = make([]int32, 0, n)
	d.Channels = []string{"shop", "mini", "app", "live", "pos"}
	d.Regions = []string{"east", "south", "north", "southwest", "northwest"}
	d.CustomerIDs = make([]string, opts.Customers)
	for i := range d.CustomerIDs {
		d.CustomerIDs[i] = fmt.Sprintf("C%07d", i)
	}
	d.SKUIDs = make([]string, opts.SKUs)
	d.SKUCategory = make([]string, opts.SKUs)
	d.SKUCost = make([]int64, opts.SKUs)
	price := make([]int64, opts.SKUs)
	cats := []string{"T恤", "衬衫", "连衣裙", "牛仔裤", "休闲裤", "外套", "羽绒服", "毛衫", "卫衣", "配饰"}
	for i := range d.SKUIDs {
		d.SKUIDs[i] = fmt.Sprintf("S%06d", i)
		d.SKUCategory[i] = cats[i%len(cats)]
		price[i] = (19 + rng.Int64N(1981)) * 100
		d.SKUCost[i] = price[i] * (30 + rng.Int64N(16)) / 100
	}
	// Customer activity weights: a few heavy buyers, many light ones.
	custRegion := make([]int32, opts.Customers)
	for i := range custRegion {
		custRegion[i] = int32(rng.IntN(len(d.Regions)))
	}
	day := func() int {
		for {
			x := rng.IntN(opts.Days)
			t := opts.Start.AddDate(0, 0, x)
			w := 1.0 + 0.5*math.Sin(2*math.Pi*float64(t.YearDay())/365) // yearly cycle
			if t.Month() == time.November && t.Day() <= 11 || t.Month() == time.June && t.Day() <= 18 {
				w *= 2.5 // Double 11, 618
			}
			if rng.Float64()*4 < w {
				return x
			}
		}
	}
	order := int32(0)
	for len(d.Order) < n {
		// Pareto-ish customer choice: low ids buy much more often.
		c := int32(float64(opts.Customers) * math.Pow(rng.Float64(), 2.2))
		when := opts.Start.AddDate(0, 0, day()).Add(time.Duration(9*3600+rng.IntN(13*3600)) * time.Second).Unix()
		ch := int32(rng.IntN(len(d.Channels)))
		lines := 1 + rng.IntN(5)
		for l := 0; l < lines && len(d.Order) < n; l++ {
			s := int32(float64(opts.SKUs) * math.Pow(rng.Float64(), 3))
			d.Order = append(d.Order, order)
			d.Customer = append(d.Customer, c)
			d.SKU = append(d.SKU, s)
			d.Qty = append(d.Qty, int32(1+rng.IntN(3)))
			d.Price = append(d.Price, price[s])
			d.At = append(d.At, when)
			d.Channel = append(d.Channel, ch)
			d.Region = append(d.Region, custRegion[c])
		}
		order++
	}
	d.OrderIDs = make([]string, order)
	for i := range d.OrderIDs {
		d.OrderIDs[i] = fmt.Sprintf("O%09d", i)
	}
	return d
}

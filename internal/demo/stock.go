package demo

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
)

// StockLine is a quantity of a SKU received at a location.
type StockLine struct {
	SKUCode      string
	LocationCode string
	Qty          int64
}

// Store assortment and depth by city tier: the share of styles a store
// carries and the typical units per SKU.
var (
	tierShare = [4]float64{0, 0.55, 0.45, 0.35}
	tierDepth = [4]float64{0, 7, 5.5, 4}
)

// genStock makes the opening stock, location by location in network order,
// then style by style in catalog order:
//   - the central warehouse holds every SKU, deep (10–300 units);
//   - each regional warehouse about three styles in four (5–120 units);
//   - front warehouses the fast movers, the most popular quarter (3–15);
//   - each store a share of the styles that grows with its city's tier,
//     popular styles more often, 2–12 units per SKU, deeper in big cities;
//     stores in the south carry few down jackets.
func genStock(r *rand.Rand, styles []catalog.Style, infos []styleInfo) []StockLine {
	pops := make([]float64, len(infos))
	for i, in := range infos {
		pops[i] = in.popularity
	}
	slices.Sort(pops)
	fastMover := pops[len(pops)*3/4]

	var lines []StockLine
	add := func(sku, loc string, qty float64, lo, hi int64) {
		lines = append(lines, StockLine{SKUCode: sku, LocationCode: loc, Qty: clamp(int64(math.Round(qty)), lo, hi)})
	}
	for _, s := range sites {
		for i, st := range styles {
			in := infos[i]
			pop := in.popularity
			switch s.kind {
			case network.CentralWarehouse:
				depth := 60 * pop
				if in.lifecycle == catalog.Classic {
					depth *= 1.3
				}
				for k, sku := range st.SKUs {
					add(sku.Code, s.code, depth*in.sizeWeight[k]*jitter(r), 10, 300)
				}
			case network.RegionalWarehouse:
				if r.Float64() >= 0.75 {
					continue
				}
				for k, sku := range st.SKUs {
					add(sku.Code, s.code, 25*pop*in.sizeWeight[k]*jitter(r), 5, 120)
				}
			case network.FrontWarehouse:
				if pop < fastMover {
					continue
				}
				for k, sku := range st.SKUs {
					add(sku.Code, s.code, 6*pop*in.sizeWeight[k]*jitter(r), 3, 15)
				}
			case network.Store:
				p := tierShare[s.tier] * (0.5 + 0.5*pop)
				if s.region == South && in.category.code == "DJ" {
					p *= 0.3
				}
				if r.Float64() >= min(p, 0.95) {
					continue
				}
				for k, sku := range st.SKUs {
					add(sku.Code, s.code, tierDepth[s.tier]*in.sizeWeight[k]*(0.7+0.3*pop)*jitter(r), 2, 12)
				}
			}
		}
	}
	return lines
}

// jitter is a factor between 0.7 and 1.3.
func jitter(r *rand.Rand) float64 { return 0.7 + 0.6*r.Float64() }

func clamp(n, lo, hi int64) int64 { return max(lo, min(hi, n)) }

package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
)

// Summary counts what Generate wrote.
type Summary struct {
	Stores     int
	Warehouses int
	Channels   int
	Styles     int
	SKUs       int
	StockUnits int // units received, over every level
	Levels     int // SKU × location pairs received
}

// Deps are the services Generate writes through.
type Deps struct {
	Catalog *catalog.Service
	Network *network.Service
	// Receive books opening stock. It is called a few times with large
	// batches (every SKU × location appears once over all calls); the
	// caller decides whether to receive again on a re-run.
	Receive func(ctx context.Context, lines []StockLine) error
}

// ReceiveBatch is the number of stock lines handed to Receive at once.
const ReceiveBatch = 25_000

// The PCG streams of the parts, so that one part's draws never shift
// another's.
const (
	streamCatalog = 0x6f6d6e69_63617401 // "omnicat"
	streamStock   = 0x6f6d6e69_73746b02 // "omnistk"
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// Plan is the data Generate writes, without writing it.
type Plan struct {
	Locations []network.Location
	Channels  []network.Channel
	Styles    []catalog.Style
	Stock     []StockLine
}

// Make builds the demo data of a seed. The same seed always gives the same
// plan.
func Make(seed int64) Plan {
	styles, infos := genCatalog(newRand(seed, streamCatalog))
	return Plan{
		Locations: Locations(),
		Channels:  Channels(),
		Styles:    styles,
		Stock:     genStock(newRand(seed, streamStock), styles, infos),
	}
}

// Summary counts the plan.
func (p Plan) Summary() Summary {
	var s Summary
	for _, l := range p.Locations {
		if l.Kind == network.Store {
			s.Stores++
		} else {
			s.Warehouses++
		}
	}
	s.Channels = len(p.Channels)
	s.Styles = len(p.Styles)
	for _, st := range p.Styles {
		s.SKUs += len(st.SKUs)
	}
	s.Levels = len(p.Stock)
	for _, l := range p.Stock {
		s.StockUnits += int(l.Qty)
	}
	return s
}

// Generate creates or refreshes the demo retailer of a seed: the network,
// then the catalog, then hands the opening stock to deps.Receive in batches
// of ReceiveBatch lines. See the package comment for what a re-run does.
func Generate(ctx context.Context, deps Deps, seed int64) (Summary, error) {
	if deps.Catalog == nil || deps.Network == nil || deps.Receive == nil {
		return Summary{}, errors.New("demo: Catalog, Network and Receive are required")
	}
	p := Make(seed)
	if err := deps.Network.BulkUpsert(ctx, p.Locations, p.Channels); err != nil {
		return Summary{}, fmt.Errorf("demo: network: %w", err)
	}
	if _, err := deps.Catalog.BulkUpsert(ctx, p.Styles); err != nil {
		return Summary{}, fmt.Errorf("demo: catalog: %w", err)
	}
	for start := 0; start < len(p.Stock); start += ReceiveBatch {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		batch := p.Stock[start:min(start+ReceiveBatch, len(p.Stock)):min(start+ReceiveBatch, len(p.Stock))]
		if err := deps.Receive(ctx, batch); err != nil {
			return Summary{}, fmt.Errorf("demo: stock: %w", err)
		}
	}
	return p.Summary(), nil
}

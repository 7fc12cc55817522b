// Package demo generates a believable apparel retailer for demonstrations
// and benchmarks: about thirty stores in real shopping districts of Chinese
// cities, a central warehouse, regional and front warehouses (前置仓), five
// sales channels, about six hundred styles in several thousand SKUs
// (colour × size, EAN-13 barcodes) and opening stock at every location.
//
// Generation is deterministic: the same seed gives the same data, whatever
// the day or machine, because every random choice comes from one PCG
// stream per part (catalog, stock) seeded from the seed, and the calendar
// ends at the fixed date AsOf rather than today. The network is fixed; the
// seed varies the catalog and the stock.
//
// Running Generate again on a store that holds the demo refreshes it: the
// network and the catalog are written with their modules' BulkUpsert
// (create or refresh by code; unchanged records are not rewritten). Stock
// is handed to Deps.Receive each time; whether to receive it again is the
// caller's choice. Running it with another seed on the same store is not
// supported (the same codes would get other colours and barcodes).
//
// The package owns no table: it writes only through the catalog and
// network services and the receive function it is given.
package demo

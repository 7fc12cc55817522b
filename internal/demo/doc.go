// Package demo generates a believable apparel retailer for demonstrations
// and benchmarks: about thirty stores in real shopping districts of Chinese
// cities, a central warehouse, regional and front warehouses (前置仓), five
// sales channels, about six hundred styles in several thousand SKUs
// (colour × size, EAN-13 barcodes), opening stock at every location, a pool
// of customers with hidden personas (Customers) and two years of their
// orders ending at AsOf (MakeHistory): store sales, pickups, instant and
// standard deliveries with shipments, payments, returns and refunds.
//
// Generation is deterministic: the same seed gives the same data, whatever
// the day or machine, because every random choice comes from one PCG
// stream per part (catalog, stock, customers, history) seeded from the
// seed, and the calendar ends at the fixed date AsOf rather than today. The
// network is fixed; the seed varies the catalog, the stock, the customers
// and the orders.
//
// Running Generate again on a store that holds the demo refreshes it: the
// network and the catalog are written with their modules' BulkUpsert
// (create or refresh by code; unchanged records are not rewritten). Stock
// is handed to Deps.Receive each time; whether to receive it again is the
// caller's choice. Running it with another seed on the same store is not
// supported (the same codes would get other colours and barcodes).
//
// The order history is written by WriteHistory (LoadHistory) only into a
// store that holds no order yet, so a re-run does not double it. It is a
// bulk load of the past: straight into the orders module's tables, in one
// transaction of multi-row INSERTs, with no outbox event and no stock
// movement (the stock ledger starts with the opening stock at AsOf, and no
// historical order holds stock).
//
// The demo's members (PlanMembers, Load, WriteCoupons; see members.go) are
// made of the same customer pool and history: every customer who bought
// and others who registered, with identities, profiles, consents, and a
// points and growth history replayed by members.Service.Bulk as the live
// programme would have recorded it (earned on paid orders at the tier's
// multiplier, taken back on returns, check-ins, shares, birthdays,
// points-mall redemptions, expiry). They are written before the history,
// whose orders then name them (orders.member_id), and only into a store
// without members or orders; their coupons and redemptions, which name
// orders, are written after it, straight into the coupons module's tables
// in one transaction.
//
// The package owns no table: it writes the network, the catalog and the
// stock only through the catalog and network services and the receive
// function it is given, and the members through members.Service.Bulk; the
// order history and the members' coupons are its direct writes.
package demo

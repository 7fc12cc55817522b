// Package catalog owns what Omni sells: styles (款) and their SKUs (one per
// colour × size), in the tables styles and skus.
//
// Invariants:
//   - Style and SKU codes are 1–64 characters of [A-Za-z0-9._-], unique, and
//     never change; neither do the ids behind them. A SKU never moves to
//     another style and its colour and size never change (stock is counted
//     against that variant), so SKURef values can be cached forever.
//   - A barcode is a GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14) with a valid GS1
//     check digit and belongs to one SKU; a style has at most one SKU per
//     colour and size. Both are enforced by unique constraints, not by
//     reading first, so concurrent writers cannot break them.
//   - Prices are integer fen between 0 and MaxPrice.
//   - Every change appends an outbox event in its own transaction:
//     catalog.style_created, catalog.style_updated, catalog.sku_created,
//     catalog.sku_updated, with the style or SKU as payload and its code as
//     subject.
//
// Styles and SKUs are never deleted: a SKU no longer sold is deactivated.
// The catalog knows nothing of stock, prices charged or orders; other
// modules refer to SKUs through SKURef and never read these tables.
//
// Bulk loads go through BulkUpsert (one transaction, multi-row statements)
// and CSV imports through ImportCSV, which checks every line before writing
// anything and reports every problem with its line and column.
package catalog

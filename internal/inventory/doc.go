// Package inventory is Omni's one stock ledger across every channel and
// location (全渠道库存共享).
//
// It owns the tables stock_levels, stock_movements, reservations,
// reservation_lines, channel_style_usage, transfers, transfer_lines,
// stock_counts, stock_count_lines and stock_alerts. SKUs come from the
// catalog module and locations and channels from the network module,
// through their services.
//
// Invariants, kept by every operation:
//
//   - Per SKU × location: on_hand ≥ reserved ≥ 0 and in_transit ≥ 0 (also a
//     CHECK constraint). available = max(0, on_hand − reserved − safety_stock).
//   - Every change of on_hand, reserved or in_transit is one stock_movements
//     row with the deltas, written in the same transaction as the level, so
//     each counter equals the sum of its movements (CheckLedger verifies it).
//   - Stock is taken with one conditional UPDATE
//     (… WHERE on_hand − reserved − safety − buffer ≥ qty): concurrent
//     buyers of the last unit cannot both succeed, on SQLite or PostgreSQL.
//   - A reservation is active until confirmed (the units leave as a sale),
//     released, or expired by the expiry worker at its deadline; each of
//     those happens at most once (a conditional status change).
//   - A channel sells only at the locations that serve it, keeps the
//     channel's safety stock on top of the level's, and, when it has a share
//     cap, holds plus sells at most that share of the style's stock at its
//     locations (held + sold ≤ share × (on_hand + sold)), checked by one
//     conditional UPDATE of channel_style_usage.
//   - Every change is announced through the outbox in the same transaction.
//
// Turnover (turnover.go) is a read-only report over the ledger: sell-through,
// stock-to-sales, turnover days, stock age and lifecycle stage, valued at the
// catalog's current SKU cost.
package inventory

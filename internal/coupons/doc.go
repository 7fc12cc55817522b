// Package coupons runs coupon templates, the coupons issued from them to
// members, their redemption at checkout, and the points mall (积分商城).
//
// It owns the tables coupon_templates, coupon_member_counts, coupons,
// mall_items and mall_redemptions (migration 0007). Members, their tiers and
// their points belong to the members module and are reached through the
// small Members interface; orders call in through the price step and the
// loyalty hooks (orders.PriceStep, orders.Loyalty).
//
// # Templates
//
// A template fixes a coupon's terms: its kind — fixed amount off, a
// percentage off (with an optional cap, max_off), a spend-threshold
// reduction (满减: amount_off from min_spend) or free shipping — its scope
// (all goods, some catalog categories, or some styles), its validity (an
// absolute window, and/or valid_days business days from issue — or from
// the window's start, if later — counting that first day and ending at
// midnight Asia/Shanghai; the earlier end wins), how many coupons one
// member may hold (per_member, 0 = no limit) and how many may ever be
// issued (total_limit, 0 = no limit), whether members may claim it
// themselves (claimable) and from which tier (min_tier), and whether it
// stacks with other discount coupons. Terms never change once created
// (issued coupons read them); a template may be renamed, paused, extended,
// and its limits raised. Creating and changing templates needs the Manage
// permission.
//
// # Coupons
//
// A coupon is issued to one member (by staff, in bulk, claimed by the
// member, bought in the points mall, or by another module through IssueTx)
// and has a random 12-character code the member shows at checkout (case
// and surrounding spaces do not count). Its state is
// available, used (by one order), expired or revoked; an available coupon
// past its valid_until is reported as expired.
//
// Invariants:
//
//   - The total limit is enforced by ONE conditional UPDATE of the
//     template's issued counter (… WHERE total_limit = 0 OR issued <
//     total_limit); the per-member limit by one conditional upsert of
//     coupon_member_counts. Concurrent claims never exceed either, on
//     SQLite or PostgreSQL.
//   - Issuing with a source (the birthday gift of a year, a friend-help
//     reward, a bulk batch, a mall redemption) is idempotent: the same
//     template, member and source give the same coupon once.
//   - A coupon is used by at most one order: OrderPlaced takes each
//     applied coupon with one conditional UPDATE (available → used, WHERE
//     it is the member's and still valid at the order's time); a
//     concurrent checkout that lost the race gets 409 and its order rolls
//     back. OrderCancelled releases the coupons of the order (available
//     again if still valid, else expired). Partial refunds and returns keep
//     the coupon used.
//   - Every change is announced through the outbox in the same
//     transaction (coupons.template_changed, coupons.issued, coupons.used,
//     coupons.released, coupons.revoked, mall.item_changed, mall.redeemed,
//     mall.redemption_changed).
//
// # Checkout
//
// The price step "coupons" runs after the tier discount and before points
// (list_price → tier_discount → coupons → points → shipping → totals). It
// checks each requested code and refuses the order with a reason: 404
// coupon_not_found; 409 coupon_not_yours, coupon_revoked, coupon_used,
// coupon_expired, coupon_not_started; 422 coupon_threshold_not_met (naming
// the threshold and the eligible goods amount), coupon_not_applicable (no
// goods in scope, or free shipping without delivery),
// coupon_not_stackable, duplicate.
//
// Stacking: an order takes at most one non-stackable discount coupon
// (fixed, percent or threshold) and at most one free-shipping coupon; a
// discount coupon whose template is stackable combines with any others.
// Coupons apply in the order given. Thresholds (min_spend) are judged on
// the eligible lines' amount as the step found it (after the tier
// discount, before any coupon); a percentage is of the eligible lines'
// amount when it applies (after the coupons before it), rounded down. A
// discount never exceeds what the eligible lines still cost, and is spread
// over them in proportion to their amounts (cumulative rounding, so the
// last line takes the remainder and no line goes below zero); each line
// records an adjustment with step "coupons" and code = the coupon code. A
// free-shipping coupon sets Quote.FreeShipping and records an order-level
// adjustment of 0 with its code.
//
// # Points mall
//
// Mall items are redeemable for points: a coupon template (the coupon is
// issued at once) or a gift with its own stock, taken by one conditional
// UPDATE (stock never negative) and recorded as a redemption to collect at
// a store or to deliver (pending → ready → collected, or pending → shipped
// → delivered; pending and ready may be cancelled, which returns the stock
// and the points). The points are spent through Members.SpendPointsTx in
// the same transaction as the stock and the coupon: not enough points is
// the members module's 409 insufficient_points and nothing happens.
package coupons

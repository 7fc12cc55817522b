// Package members runs Omni's members and loyalty programme: one member
// across channels, five tiers with growth (成长值), and the points ledger
// with expiring lots, check-ins (签到), share rewards and birthday gifts;
// and it plugs into checkout with the tier discount, points as part
// payment and the order hooks that spend, earn and reverse points.
//
// It owns the tables of migration 0006: members, member_identities,
// member_tiers, member_tier_changes, loyalty_settings, points_ledger,
// points_lots, points_debits, member_orders, member_checkins,
// member_shares, member_birthday_gifts, member_merges, member_audit and
// member_sales. Coupons and the points mall belong to the coupons module
// (it spends and awards points through SpendPointsTx and AwardPointsTx);
// group buys and friend-help to the campaigns module. Orders call in
// through the price steps (tier_discount, points) and orders.Loyalty.
//
// # Members
//
// A member registers from any channel with identities — a mainland mobile
// number (validated: 422 invalid_mobile), a WeChat unionid, per-app
// openids, an email address, a store card number — each of which belongs
// to one member (409 identity_taken names the owner). Duplicates are
// merged: identities, lots, balance and growth move to the survivor (a
// merge_out / merge_in pair of ledger rows), it keeps the higher tier and
// takes the profile fields it lacks, and the duplicate is marked merged
// into it. Orders keep the duplicate's id; MemberIDs maps them to the
// survivor and every points operation on a merged id acts on the
// survivor. Merging a member into itself is 422 merge_into_self.
//
// Personal data: mobile numbers, email addresses and card numbers are
// shown to admin and ops keys and internal callers; store keys see them
// for members registered at or preferring their store (they serve them at
// the till); readonly keys and other stores' keys see them masked
// (138****8000, a***@x.com, ****1234; the answer says masked). Every read
// of a member (GET, lookup) and every change (registration, profile,
// identities, merge) is written to member_audit with the actor before the
// answer is given.
//
// # Tiers and growth
//
// Growth comes from spending (growth_per_yuan), check-ins and shares; it
// is recorded on the same ledger rows as points (the growth ledger is the
// rows with growth ≠ 0). The
// tier follows the qualifying growth: growth earned since the start of
// the window of the last re-evaluation (growth − growth_base). Reaching a
// tier's threshold upgrades the member in the same UPDATE that adds the
// growth; downgrades happen only at the periodic re-evaluation
// (reevaluate_days; POST /member-tiers/reevaluate runs it now), which
// puts every member at the tier of the growth earned in the last
// growth_window_days and restarts the window. Every change is recorded
// in member_tier_changes. Tier privileges: discount on goods, points
// multiplier, birthday points and coupon, free and priority shipping,
// member-only sales.
//
// # Points
//
// Invariants, kept by every operation on both engines:
//
//   - members.points ≥ 0 (CHECK) and equals the sum of the member's lots'
//     remaining points and the sum of its ledger rows; growth equals the
//     sum of its ledger rows' growth (CheckLedger verifies all three).
//   - A balance changes by ONE conditional UPDATE (… WHERE points ≥ n for
//     a debit): concurrent spends cannot drive it negative.
//   - Every change is one append-only points_ledger row whose source is
//     unique per member, so every award and spend happens once (an order
//     earns once; a check-in day, a birthday year, a share, a refund
//     step each have their own source).
//   - Earned points are kept in lots by expiry instant — one lot per
//     member and expiry, so a member has a few lots however often it
//     earns — expiring by the rule (default: the end of the following
//     year; or N days, to the end of that business day; or never). Debits
//     take from the lots that expire first and record which
//     (points_debits); refunds and cancellations give spent points back
//     to those lots, or, when a lot has expired since, to a lot of a fresh
//     expiry. The expiry worker zeroes lots past their expiry, one ledger
//     row each.
//   - A member's row is locked (updated) before its lots, by every
//     operation, so concurrent operations on one member serialise.
//
// # Check-ins, shares, birthdays
//
// A check-in claims the Shanghai business day on the member's row in the
// ONE conditional UPDATE that adds its points (… WHERE checkin_day <>
// today), continuing the streak from yesterday or starting it again; a
// second check-in the same day is 409 already_checked_in and awards
// nothing. Each check-in is also a member_checkins row (day, member,
// streak). Shares earn points up to share_daily_cap a day (counted in
// member_shares). The birthday worker gives each tier's birthday points
// and coupon once per member and year (member_birthday_gifts); members
// born on 29 February celebrate on the 28th in other years.
//
// # Checkout
//
// The price pipeline runs list_price → tier_discount → coupons → points
// → shipping → totals. tier_discount refuses a guest (403 members_only)
// or a member of a lower tier (403 tier_too_low) buying a style on a
// member-only sale, takes the tier's discount off each line and sets
// free shipping for tiers that have it. points takes points as part
// payment (redeem_points_per_yuan, capped at redeem_cap_pct of the
// goods: 422 points_over_cap; not enough: 409 insufficient_points),
// spread over the lines. The hooks (Hooks) make it stick in the order's
// transaction: OrderPlaced spends the points (a concurrent spend loses
// with 409 and the order rolls back), OrderPaid earns points (goods in CNY
// × earn rate × tier multiplier) and growth once, OrderRefunded takes
// back earnings and gives back spent points in proportion to the money
// refunded so far (cumulative, so rounding never drifts; a balance too
// low for the reversal goes to zero and the rest is recorded as a
// shortfall), OrderCancelled gives back and takes back everything.
package members

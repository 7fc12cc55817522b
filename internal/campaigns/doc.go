// Package campaigns runs member campaigns that sit on top of orders:
// group buys (拼团) and friend-help (好友助力).
//
// # Group buy
//
// A deal (group_deals) sells one SKU, or any SKU of one style, at a group
// price once a group of N members has formed within a join window. A
// member opens a group or joins an open one; either way this module
// places a real order through the orders service, marked with the
// promotion "group_buy:open:<deal id>" or "group_buy:<group id>"
// (clients cannot set that marker). The group_buy price step gives the
// deal's line the group price and refuses a group that is no longer open.
// The member then pays the order normally.
//
// Seats are held when an order is placed and counted when it is paid:
//
//   - OrderPlaced (in the order's transaction) takes a seat with one
//     conditional UPDATE (held < size, forming, window not passed), so a
//     group never has more than N live orders, and a paid order is never
//     refused for want of a seat. An unpaid order does not block its seat
//     for long: the orders service cancels it when its unpaid time runs out
//     (15 minutes by default), and OrderCancelled gives the seat back.
//   - OrderPaid counts the member in with one conditional UPDATE (joined <
//     size, forming, window not passed); the payment that makes joined
//     reach N forms the group (event group_buy.formed) and its members'
//     orders go on to fulfilment normally. A payment that arrives after the
//     window (a provider's late notification) is accepted and the member
//     marked late: the order is cancelled and refunded by the worker.
//   - OrderCancelled frees the seat (and the paid count) while the group
//     is forming, and gives back the member's per-deal allowance.
//   - FailExpired (a worker, safe to re-run and on several instances)
//     fails groups whose window ran out and cancels every live member order
//     of a failed group through the orders service: what was paid is
//     refunded and the held stock released. Nobody pays for a failed group.
//
// Tables: group_deals, group_buys (a group: size, held, joined, status
// forming → formed | failed), group_members (one row per group order),
// group_deal_members (units a member has in a deal's live orders, against
// the per-member limit).
//
// Orders of a group that has not formed yet are ordinary paid orders as
// far as the orders module is concerned: nothing stops staff from picking
// them before the group forms.
//
// # Friend-help
//
// A help campaign (help_campaigns) rewards a member with a coupon of a
// template when N distinct other members help the member's request within
// the window. A member helps a request once (409 already_helped), never
// their own (422 self_help), and at most K requests of a campaign per
// Shanghai day (409 daily_help_limit). The N-th helper completes the
// request with one conditional UPDATE and the reward is issued in that same
// transaction, idempotent by the request (source "help:<request id>"), so
// it is issued exactly once however many helpers arrive together.
// Tables: help_campaigns, help_requests, help_helps, help_helper_days.
//
// Member ids are not foreign keys here (as orders.member_id is not); the
// members module is asked whether a member exists.
package campaigns

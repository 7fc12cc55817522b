// Package events delivers the transactional outbox (the events table, written
// by platform/outbox in the same transaction as each change) to subscribers,
// so that sales channels stay in step with Omni in real time:
//
//   - webhooks: HTTP POSTs of each matching event, signed, retried with
//     exponential backoff, in event-id order per webhook;
//   - a server-sent-events stream (GET /api/v1/events/stream);
//   - a paged listing of the outbox (GET /api/v1/events).
//
// It owns the tables webhooks and webhook_deliveries, and reads (never
// writes) events.
//
// # Topics
//
// A subscription names topic patterns: "*" (every event), "inventory.*"
// (every topic starting "inventory.") or an exact topic such as
// "inventory.level_changed". Patterns use only a–z, 0–9, '_', '.' and '*'.
//
// # Reading the outbox without losing events
//
// Event ids come from a sequence. On PostgreSQL two transactions may commit
// their ids out of order (id 7 visible before id 6), so a reader that simply
// remembered "the last id I saw" could step past 6 for good. Every reader
// here (each webhook's fan-out and each stream) goes through one tail: it
// advances only over a contiguous run of ids, and steps over a missing id
// only once that gap is older than a grace period (10 s) and — on
// PostgreSQL — every transaction that was running when the gap was first
// seen has ended (read from pg_current_snapshot), or in any case after two
// minutes (gaps can be permanent: a rolled-back insert never fills its id).
// On SQLite there is one writer and ids commit in order, so a gap is
// permanent at once.
//
// # Webhooks
//
// A new webhook starts at the current end of the outbox unless
// from_event_id is given. The dispatcher (RunDispatcher) fans each new
// event out to every active webhook whose patterns match it: one
// webhook_deliveries row per (webhook, event), inserted in the same
// transaction that advances the webhook's cursor, so fan-out is exactly once
// however often it runs or on how many instances.
//
// Deliveries of one webhook go out one at a time in event-id order: the
// oldest pending delivery is sent first and later ones wait behind it while
// it is retried. A 2xx answer delivers it; any other status, a redirect, a
// connection error or no answer within 10 s is a failed attempt, retried
// after 1 s, 2 s, 4 s, … (at most 1 h, minus up to 10 % jitter). After 12
// attempts the delivery is failed and the queue moves on; Redeliver puts it
// back. Different webhooks are served in parallel. Delivery is at least once:
// a receiver must tolerate a repeat of an Omni-Event-Id.
//
// # Verifying a delivery
//
// Each POST carries the JSON event {id, topic, subject, payload, created_at}
// and the headers
//
//	Content-Type: application/json
//	Omni-Event-Id: 1234
//	Omni-Event-Topic: inventory.level_changed
//	Omni-Delivery-Attempt: 1
//	Omni-Signature: t=1700000000,v1=5257a869e7…
//
// where v1 is the lowercase hex HMAC-SHA256, keyed with the webhook's secret
// (the secret string's bytes, exactly as returned when the webhook was
// created), of the timestamp t, a '.', and the raw request body. A receiver
//
//  1. reads the raw body before parsing it;
//  2. splits Omni-Signature on ',' into t= and v1= parts;
//  3. computes HMAC-SHA256(secret, t + "." + body) and compares it with v1 in
//     constant time;
//  4. refuses a t more than a few minutes from its own clock (replays).
//
// Verify does exactly that, for Go receivers and tests.
package events

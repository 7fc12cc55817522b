package members

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// BulkMember is one member of a bulk load (the demo's members, a
// migration from another system): profile, identities and the points and
// growth history, which the load replays.
type BulkMember struct {
	Name                                    string
	Identities                              []Identity // mobile numbers must be valid; duplicates across the load fail it
	Birthday                                string     // YYYY-MM-DD or ""
	Gender                                  string     // "", female, male, other
	City                                    string
	Preferred                               int64 // preferred store (location id), 0: none
	Store                                   int64 // store of registration (location id), 0: none
	Channel                                 string
	Tags                                    []string
	ConsentSMS, ConsentEmail, ConsentWeChat bool
	CreatedAt                               time.Time
	// History is replayed in time order (stable for equal times), each
	// move after CreatedAt: credits open lots (expiring by the settings
	// unless ExpiresAt is set), debits take from the lots that expire
	// first (more than the balance fails the load), lots expire as time
	// passes up to now, growth upgrades the tier at once. Check-ins (Kind
	// checkin) also become check-in days with their streaks.
	History []BulkMove
}

// BulkMove is one change of a bulk-loaded member's points and growth.
type BulkMove struct {
	At        time.Time
	Kind      string // a ledger kind: earn_order, spend_order, checkin, share, birthday, award, spend, adjust, …
	Points    int64  // signed
	Growth    int64  // signed; growth never goes below 0
	Source    string // unique per member; default kind:n
	Order     int64  // the order, for order moves (see Bulk)
	Reason    string
	ExpiresAt time.Time // credits: zero uses the settings' expiry rule
	// Paid is the money paid for the order (fen) on its earn_order move:
	// the base that later refunds are proportioned on (0: the order's
	// paid amount at the refund).
	Paid int64
}

// BulkResult reports a bulk load.
type BulkResult struct {
	IDs      []int64 // the members' ids, in the order given
	Ledger   int     // ledger rows written (expiries included)
	Lots     int
	Expired  int64 // points expired by the replay
	Upgrades int
}

type simLot struct {
	id, ledger, earned, remaining, expired, expires, created int64
}

// Bulk writes members in one transaction of its own (d.InTx) with
// multi-row statements: the members, their identities, and their replayed
// history as ledger rows, lots, debits, tier changes and check-in days,
// consistent by construction (balance = Σ lots = Σ ledger). Moves naming
// an order (earn_order, spend_order, reverse_order, return_order) also
// make the order's loyalty record, so that a later refund or cancellation
// of the order through the order hooks takes back and gives back only
// what is left. It is meant
// for loading a store nobody writes to meanwhile (the demo loader): ids
// are assigned from the current maximum. Downgrades are left to the tier
// re-evaluation, which first runs when the server starts.
func (s *Service) Bulk(ctx context.Context, in []BulkMember) (BulkResult, error) {
	tiers, st, err := s.config(ctx)
	if err != nil {
		return BulkResult{}, err
	}
	// Validate everything first.
	seen := map[string]int{}
	for i := range in {
		m := &in[i]
		if err := checkMobiles(m.Identities, fmt.Sprintf("members[%d].identities", i)); err != nil {
			return BulkResult{}, err
		}
		var v errs.Validator
		for j, id := range m.Identities {
			m.Identities[j] = normalise(id, fmt.Sprintf("members[%d].identities[%d]", i, j), &v)
			k := string(id.Kind) + "\x00" + m.Identities[j].App + "\x00" + m.Identities[j].Value
			if prev, dup := seen[k]; dup {
				v.Add(fmt.Sprintf("members[%d].identities[%d]", i, j), "duplicate", fmt.Sprintf("also given to members[%d]", prev))
			}
			seen[k] = i
		}
		v.OneOf(m.Gender, fmt.Sprintf("members[%d].gender", i), "", "female", "male", "other")
		if m.Birthday != "" {
			_, err := time.Parse(time.DateOnly, m.Birthday)
			v.Check(err == nil, fmt.Sprintf("members[%d].birthday", i), "invalid_date", "must be YYYY-MM-DD")
		}
		v.Check(!m.CreatedAt.IsZero(), fmt.Sprintf("members[%d].created_at", i), "required", "is required")
		if err := v.Err(); err != nil {
			return BulkResult{}, err
		}
		slices.SortStableFunc(m.History, func(a, b BulkMove) int { return a.At.Compare(b.At) })
	}
	now := s.now().UnixMilli()
	var res BulkResult
	// The full-chunk INSERTs, prepared before the transaction.
	preps := []string{
		fullInsert("points_ledger", "id, member_id, kind, points, balance_after, growth, growth_after, source, order_id, operator, reason, created_at"),
		fullInsert("points_debits", "ledger_id, lot_id, points"),
		fullInsert("member_tier_changes", "member_id, from_tier, to_tier, reason, growth, created_at"),
		fullInsert("member_checkins", "day, member_id, streak, points, created_at"),
		fullInsert("member_orders", "order_id, member_id, points_spent, spend_ledger_id, points_returned, points_earned, points_reversed, growth_earned, growth_reversed, base, paid_at, updated_at"),
		fullInsert("points_lots", "id, member_id, ledger_id, earned, remaining, expired, expires_at, created_at"),
		fullInsert("members", "id, name, tier, tier_before, tier_since, points, growth, birthday, birth_md, gender, city, preferred_store_id, tags, consent_sms, consent_sms_at, consent_email, consent_email_at, consent_wechat, consent_wechat_at, channel, store_id, checkin_day, checkin_streak, created_at, updated_at"),
		fullInsert("member_identities", "member_id, kind, app_id, value, created_at"),
	}
	if err := s.db.Prepare(ctx, preps...); err != nil {
		return BulkResult{}, fmt.Errorf("members: bulk: %w", err)
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		res = BulkResult{IDs: make([]int64, len(in))}
		var nextMember, nextLedger, nextLot int64
		if err := tx.QueryRow(`SELECT (SELECT COALESCE(MAX(id), 0) FROM members), (SELECT COALESCE(MAX(id), 0) FROM points_ledger),
			(SELECT COALESCE(MAX(id), 0) FROM points_lots)`).Scan(&nextMember, &nextLedger, &nextLot); err != nil {
			return fmt.Errorf("members: bulk: %w", err)
		}
		w := newBulkWriter(tx)
		for i := range in {
			m := &in[i]
			nextMember++
			id := nextMember
			res.IDs[i] = id
			created := m.CreatedAt.UnixMilli()
			var points, growth int64
			tier, tierSince := 0, created
			var lots []simLot
			streak, lastDay := 0, ""
			sources := map[string]bool{}
			books := map[int64]*bulkBook{}
			var bookOrder []int64
			ledger := func(kind string, p, g int64, source string, order int64, reason string, at int64) int64 {
				nextLedger++
				var o any
				if order != 0 {
					o = order
				}
				w.row("points_ledger", "id, member_id, kind, points, balance_after, growth, growth_after, source, order_id, operator, reason, created_at",
					nextLedger, id, kind, p, points, g, growth, source, o, "bulk", reason, at)
				res.Ledger++
				return nextLedger
			}
			expire := func(until int64) {
				for k := range lots {
					l := &lots[k]
					if l.remaining > 0 && l.expires <= until {
						points -= l.remaining
						res.Expired += l.remaining
						l.expired += l.remaining
						n := l.remaining
						l.remaining = 0
						ledger(KindExpire, -n, 0, "expire:"+strconv.FormatInt(l.id, 10)+":"+strconv.FormatInt(l.expired, 10), 0, "points expired", l.expires)
					}
				}
			}
			for j, mv := range m.History {
				at := mv.At.UnixMilli()
				if at < created {
					return fmt.Errorf("members: bulk: members[%d].history[%d]: before the member was created", i, j)
				}
				expire(at)
				src := mv.Source
				if src == "" {
					src = mv.Kind + ":" + strconv.Itoa(j)
				}
				if sources[src] {
					return fmt.Errorf("members: bulk: members[%d].history[%d]: source %s used twice", i, j, src)
				}
				sources[src] = true
				if mv.Points < 0 && -mv.Points > points {
					return fmt.Errorf("members: bulk: members[%d].history[%d]: spends %d of %d points", i, j, -mv.Points, points)
				}
				points += mv.Points
				g := max(mv.Growth, -growth)
				growth += g
				lid := ledger(mv.Kind, mv.Points, g, src, mv.Order, mv.Reason, at)
				if mv.Order != 0 {
					b := books[mv.Order]
					if b == nil {
						b = &bulkBook{}
						books[mv.Order] = b
						bookOrder = append(bookOrder, mv.Order)
					}
					b.add(mv, g, lid, at)
				}
				switch {
				case mv.Points > 0:
					exp := mv.ExpiresAt.UnixMilli()
					if mv.ExpiresAt.IsZero() {
						exp = st.expiry(mv.At)
					}
					// One lot per expiry, as the service keeps them.
					if k := slices.IndexFunc(lots, func(l simLot) bool { return l.expires == exp }); k >= 0 {
						lots[k].earned += mv.Points
						lots[k].remaining += mv.Points
					} else {
						nextLot++
						lots = append(lots, simLot{id: nextLot, ledger: lid, earned: mv.Points, remaining: mv.Points, expires: exp, created: at})
					}
				case mv.Points < 0:
					// FIFO over the lots by expiry, as the service spends.
					fifo := make([]int, 0, len(lots))
					for k := range lots {
						if lots[k].remaining > 0 {
							fifo = append(fifo, k)
						}
					}
					slices.SortFunc(fifo, func(a, b int) int {
						if c := lots[a].expires - lots[b].expires; c != 0 {
							return int(max(min(c, 1), -1))
						}
						return int(lots[a].id - lots[b].id)
					})
					need := -mv.Points
					for _, k := range fifo {
						if need == 0 {
							break
						}
						n := min(need, lots[k].remaining)
						lots[k].remaining -= n
						need -= n
						w.row("points_debits", "ledger_id, lot_id, points", lid, lots[k].id, n)
					}
				}
				if up := tierFor(tiers, growth); up > tier {
					w.row("member_tier_changes", "member_id, from_tier, to_tier, reason, growth, created_at", id, tier, up, "growth", growth, at)
					tier, tierSince = up, at
					res.Upgrades++
				}
				if mv.Kind == KindCheckIn {
					d := day(mv.At)
					if d != lastDay {
						if lastDay == day(mv.At.Add(-24*time.Hour)) {
							streak++
						} else {
							streak = 1
						}
						lastDay = d
						w.row("member_checkins", "day, member_id, streak, points, created_at", d, id, streak, mv.Points, at)
					}
				}
			}
			expire(now)
			for _, o := range bookOrder {
				b := books[o]
				if b.returned > b.spent || b.reversed > b.earned || b.growthReversed > b.growthEarned {
					return fmt.Errorf("members: bulk: members[%d]: order %d gives back or takes back more than it spent or earned", i, o)
				}
				var ledger, paidAt any
				if b.spendLedger != 0 {
					ledger = b.spendLedger
				}
				if b.paidAt != 0 {
					paidAt = b.paidAt
				}
				w.row("member_orders", "order_id, member_id, points_spent, spend_ledger_id, points_returned, points_earned, points_reversed, "+
					"growth_earned, growth_reversed, base, paid_at, updated_at",
					o, id, b.spent, ledger, b.returned, b.earned, b.reversed, b.growthEarned, b.growthReversed, b.base, paidAt, b.updated)
			}
			for _, l := range lots {
				w.row("points_lots", "id, member_id, ledger_id, earned, remaining, expired, expires_at, created_at",
					l.id, id, l.ledger, l.earned, l.remaining, l.expired, l.expires, l.created)
				res.Lots++
			}
			tags := m.Tags
			if tags == nil {
				tags = []string{}
			}
			tb, _ := json.Marshal(tags)
			md := ""
			if len(m.Birthday) == 10 {
				md = m.Birthday[5:]
			}
			var pref, store, consentAt any
			if m.Preferred != 0 {
				pref = m.Preferred
			}
			if m.Store != 0 {
				store = m.Store
			}
			if m.ConsentSMS || m.ConsentEmail || m.ConsentWeChat {
				consentAt = created
			}
			updated := created
			if len(m.History) > 0 {
				updated = max(updated, m.History[len(m.History)-1].At.UnixMilli())
			}
			w.row("members", "id, name, tier, tier_before, tier_since, points, growth, birthday, birth_md, gender, city, preferred_store_id, tags, "+
				"consent_sms, consent_sms_at, consent_email, consent_email_at, consent_wechat, consent_wechat_at, channel, store_id, checkin_day, checkin_streak, created_at, updated_at",
				id, strings.TrimSpace(m.Name), tier, tier, tierSince, points, growth, m.Birthday, md, m.Gender, m.City, pref, string(tb),
				m.ConsentSMS, consentAt, m.ConsentEmail, consentAt, m.ConsentWeChat, consentAt, m.Channel, store, lastDay, streak, created, updated)
			for _, ident := range m.Identities {
				w.row("member_identities", "member_id, kind, app_id, value, created_at", id, string(ident.Kind), ident.App, ident.Value, created)
			}
			// Every full chunk of members: write the full chunks of every
			// table (their members are written first), keep the rest.
			if len(w.rows["members"]) == chunkRows(len(w.rows["members"][0])) {
				if err := w.flushFull(); err != nil {
					return err
				}
			}
		}
		if err := w.flushAll(); err != nil {
			return err
		}
		if tx.Engine() == db.Postgres {
			for _, t := range []string{"members", "points_ledger", "points_lots"} {
				if _, err := tx.Exec(`SELECT setval(pg_get_serial_sequence('` + t + `', 'id'), (SELECT MAX(id) FROM ` + t + `))`); err != nil {
					return fmt.Errorf("members: bulk: sequence of %s: %w", t, err)
				}
			}
		}
		return s.ob.Append(tx, "member.bulk_loaded", "members", map[string]any{"members": len(in), "ledger": res.Ledger})
	})
	if err != nil {
		return BulkResult{}, err
	}
	return res, nil
}

// bulkBook is an order's loyalty record as a bulk load builds it.
type bulkBook struct {
	spent, spendLedger, returned, earned, reversed int64
	growthEarned, growthReversed, base             int64
	paidAt, updated                                int64
}

func (b *bulkBook) add(mv BulkMove, growth, ledger, at int64) {
	switch mv.Kind {
	case KindSpendOrder:
		b.spent -= mv.Points
		if b.spendLedger == 0 {
			b.spendLedger = ledger
		}
	case KindReturnOrder:
		b.returned += mv.Points
	case KindEarnOrder:
		b.earned += mv.Points
		b.growthEarned += growth
		b.base += mv.Paid
		b.paidAt = at
	case KindReverseOrder:
		b.reversed -= mv.Points
		b.growthReversed -= growth
	}
	b.updated = at
}

// bulkWriter collects rows per table and writes them with multi-row
// INSERTs.
type bulkWriter struct {
	tx   *db.Tx
	cols map[string]string
	rows map[string][][]any
	n    int
}

func newBulkWriter(tx *db.Tx) *bulkWriter {
	return &bulkWriter{tx: tx, cols: map[string]string{}, rows: map[string][][]any{}}
}

func (w *bulkWriter) row(table, cols string, vals ...any) {
	w.cols[table] = cols
	w.rows[table] = append(w.rows[table], vals)
	w.n++
}

// bulkTables are the tables of a bulk load, parents first (foreign keys).
var bulkTables = []string{"members", "member_identities", "points_ledger", "points_lots", "points_debits", "member_tier_changes", "member_checkins"}

// chunkRows is the number of rows of a full INSERT of per columns.
func chunkRows(per int) int { return max(1, 30000/per) }

// flushFull writes the full chunks of every table and keeps the rest for
// later: every statement but the last of each table has the same text,
// prepared once (varying texts would each be queued for preparation on
// the writer connection and fill its memory).
func (w *bulkWriter) flushFull() error {
	n := 0
	for _, t := range bulkTables {
		rows := w.rows[t]
		if len(rows) == 0 {
			continue
		}
		full := len(rows) / chunkRows(len(rows[0])) * chunkRows(len(rows[0]))
		if full > 0 {
			w.rows[t] = rows[:full]
			if err := w.flush(t); err != nil {
				return err
			}
			w.rows[t] = append(rows[:0], rows[full:]...)
		}
		n += len(w.rows[t])
	}
	w.n = n
	return nil
}

// flushAll writes the collected rows, members first (foreign keys).
func (w *bulkWriter) flushAll() error {
	for _, t := range []string{"members", "member_identities", "points_ledger", "points_lots", "points_debits", "member_tier_changes", "member_checkins", "member_orders"} {
		if err := w.flush(t); err != nil {
			return err
		}
	}
	w.n = 0
	return nil
}

func (w *bulkWriter) flush(table string) error {
	rows := w.rows[table]
	if len(rows) == 0 {
		return nil
	}
	per := len(rows[0])
	chunk := chunkRows(per)
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + w.cols[table] + ") VALUES ")
		args := make([]any, 0, len(part)*per)
		ph := "(" + strings.Repeat("?, ", per-1) + "?)"
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph)
			args = append(args, r...)
		}
		if _, err := w.tx.Exec(b.String(), args...); err != nil {
			return fmt.Errorf("members: bulk insert into %s: %w", table, err)
		}
	}
	w.rows[table] = rows[:0]
	return nil
}

// fullInsert is the INSERT of a full chunk of rows into table.
func fullInsert(table, cols string) string {
	per := strings.Count(cols, ",") + 1
	ph := "(" + strings.Repeat("?, ", per-1) + "?)"
	return "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.Repeat(ph+", ", chunkRows(per)-1) + ph
}

package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// mergeRow is what a merge reads of each member.
type mergeRow struct {
	id, points, growth, base int64
	status                   string
	tier                     int
	name, birthday, birthMD  string
	gender, city, tags       string
	pref                     sql.NullInt64
	consents                 [3]bool
	consentAt                [3]sql.NullInt64
}

// lockForMerge locks and reads a member (PostgreSQL: the row lock of an
// UPDATE).
func lockForMerge(tx *db.Tx, id, at int64) (mergeRow, error) {
	r := mergeRow{id: id}
	err := tx.QueryRow(`UPDATE members SET updated_at = ? WHERE id = ?
		RETURNING status, tier, points, growth, growth_base, name, birthday, birth_md, gender, city, tags, preferred_store_id,
			consent_sms, consent_sms_at, consent_email, consent_email_at, consent_wechat, consent_wechat_at`, at, id).Scan(
		&r.status, &r.tier, &r.points, &r.growth, &r.base, &r.name, &r.birthday, &r.birthMD, &r.gender, &r.city, &r.tags, &r.pref,
		&r.consents[0], &r.consentAt[0], &r.consents[1], &r.consentAt[1], &r.consents[2], &r.consentAt[2])
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound.Withf("no member %d", id)
	}
	if err != nil {
		return r, fmt.Errorf("members: merge: read %d: %w", id, err)
	}
	return r, nil
}

// mergeLots moves member from's lots to member into: a lot with the same
// expiry as one of into's is added to it (the debits that took from it
// then point at into's lot), the others change hands.
func mergeLots(tx *db.Tx, from, into int64) error {
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE points_lots AS s SET earned = s.earned + o.earned, remaining = s.remaining + o.remaining, expired = s.expired + o.expired
			FROM points_lots AS o WHERE s.member_id = ? AND o.member_id = ? AND o.expires_at = s.expires_at`, []any{into, from}},
		{`UPDATE points_debits SET lot_id = (SELECT s.id FROM points_lots o JOIN points_lots s ON s.expires_at = o.expires_at AND s.member_id = ?
			WHERE o.id = points_debits.lot_id)
			WHERE lot_id IN (SELECT o.id FROM points_lots o JOIN points_lots s ON s.expires_at = o.expires_at AND s.member_id = ? WHERE o.member_id = ?)`,
			[]any{into, into, from}},
		{`DELETE FROM points_lots WHERE member_id = ? AND expires_at IN (SELECT expires_at FROM points_lots WHERE member_id = ?)`, []any{from, into}},
		{`UPDATE points_lots SET member_id = ? WHERE member_id = ?`, []any{into, from}},
	}
	for _, st := range steps {
		if _, err := tx.Exec(st.q, st.args...); err != nil {
			return fmt.Errorf("members: merge lots of %d into %d: %w", from, into, err)
		}
	}
	return nil
}

// Merge merges member in.From (a duplicate) into member survivorID: its
// identities, points lots, points balance and growth move to the survivor
// (with a merge_out / merge_in pair of ledger rows), the survivor keeps
// the higher tier (or the tier the combined growth reaches), profile
// fields the survivor lacks are filled from the duplicate, and the
// duplicate is marked merged into the survivor. Its orders keep their
// member id; MemberIDs maps them to the survivor, and the order hooks
// credit the survivor. The merge is recorded. Merging a member into itself
// is ErrMergeIntoSelf (422); a member already merged is ErrMerged (409).
func (s *Service) Merge(ctx context.Context, survivorID int64, in MergeRequest) (Member, error) {
	if in.From == survivorID {
		return Member{}, ErrMergeIntoSelf.Withf("from: member %d cannot be merged into itself", survivorID).With("field", "from")
	}
	var v errs.Validator
	v.Check(in.From > 0, "from", "required", "name the member to merge")
	v.Check(len(in.Reason) <= 500, "reason", "too_long", "must be at most 500 bytes")
	if err := v.Err(); err != nil {
		return Member{}, err
	}
	tiers, _, err := s.config(ctx)
	if err != nil {
		return Member{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.nowMilli()
		first, second := min(survivorID, in.From), max(survivorID, in.From) // lock in id order
		a, err := lockForMerge(tx, first, at)
		if err != nil {
			return err
		}
		b, err := lockForMerge(tx, second, at)
		if err != nil {
			return err
		}
		sv, old := a, b
		if sv.id != survivorID {
			sv, old = b, a
		}
		for _, r := range []mergeRow{sv, old} {
			if r.status != "active" {
				var into int64
				_ = tx.QueryRow(`SELECT merged_into FROM members WHERE id = ?`, r.id).Scan(&into)
				return ErrMerged.Withf("member %d has already been merged into %d", r.id, into).With("merged_into", into)
			}
		}
		growth, base := sv.growth+old.growth, sv.base+old.base
		tier := max(sv.tier, old.tier, tierFor(tiers, growth-base))
		// The duplicate's books move to the survivor.
		if err := mergeLots(tx, old.id, sv.id); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE member_identities SET member_id = ? WHERE member_id = ?`, sv.id, old.id); err != nil {
			return fmt.Errorf("members: merge identities: %w", err)
		}
		actor := auth.Actor(ctx)
		ledger := `INSERT INTO points_ledger (member_id, kind, points, balance_after, growth, growth_after, source, operator, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		if err := tx.Defer(ledger, old.id, KindMergeOut, -old.points, 0, -old.growth, 0, "merge:into:"+strconv.FormatInt(sv.id, 10), actor, in.Reason, at); err != nil {
			return err
		}
		if err := tx.Defer(ledger, sv.id, KindMergeIn, old.points, sv.points+old.points, old.growth, growth, "merge:from:"+strconv.FormatInt(old.id, 10), actor, in.Reason, at); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE members SET status = 'merged', merged_into = ?, points = 0, growth = 0, growth_base = 0, updated_at = ? WHERE id = ?`,
			sv.id, at, old.id); err != nil {
			return fmt.Errorf("members: merge: %w", err)
		}
		if _, err := tx.Exec(`UPDATE members SET merged_into = ? WHERE merged_into = ?`, sv.id, old.id); err != nil {
			return fmt.Errorf("members: merge chain: %w", err)
		}
		// Profile fields the survivor lacks come from the duplicate.
		var svTags, oldTags []string
		_ = json.Unmarshal([]byte(sv.tags), &svTags)
		_ = json.Unmarshal([]byte(old.tags), &oldTags)
		for _, t := range oldTags {
			if !slices.Contains(svTags, t) && len(svTags) < 20 {
				svTags = append(svTags, t)
			}
		}
		if svTags == nil {
			svTags = []string{}
		}
		tags, _ := json.Marshal(svTags)
		pick := func(mine, theirs string) string {
			if mine == "" {
				return theirs
			}
			return mine
		}
		pref := sv.pref
		if !pref.Valid {
			pref = old.pref
		}
		birthday, md := sv.birthday, sv.birthMD
		if birthday == "" {
			birthday, md = old.birthday, old.birthMD
		}
		var prefArg any
		if pref.Valid {
			prefArg = pref.Int64
		}
		set := `name = ?, birthday = ?, birth_md = ?, gender = ?, city = ?, tags = ?, preferred_store_id = ?,
			points = points + ?, growth = ?, growth_base = ?, tier = ?, tier_before = tier, updated_at = ?`
		args := []any{pick(sv.name, old.name), birthday, md, pick(sv.gender, old.gender), pick(sv.city, old.city), string(tags), prefArg,
			old.points, growth, base, tier, at}
		// A consent the survivor never gave or withdrew is the duplicate's.
		for i, col := range []string{"consent_sms", "consent_email", "consent_wechat"} {
			if !sv.consentAt[i].Valid && old.consentAt[i].Valid {
				set += ", " + col + " = ?, " + col + "_at = ?"
				args = append(args, old.consents[i], old.consentAt[i].Int64)
			}
		}
		if _, err := tx.Exec(`UPDATE members SET `+set+` WHERE id = ?`, append(args, sv.id)...); err != nil {
			return fmt.Errorf("members: merge into %d: %w", sv.id, err)
		}
		if tier != sv.tier {
			if err := s.tierChanged(tx, sv.id, sv.tier, tier, "merge", growth-base, at); err != nil {
				return err
			}
		}
		for _, h := range s.merges {
			if err := h(tx, old.id, sv.id); err != nil {
				return err
			}
		}
		if err := tx.Defer(`INSERT INTO member_merges (survivor_id, merged_id, points, growth, tier_before, tier_after, actor, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sv.id, old.id, old.points, old.growth, sv.tier, tier, actor, in.Reason, at); err != nil {
			return err
		}
		if err := s.audit(tx, sv.id, "merge", "from:"+strconv.FormatInt(old.id, 10), false, at); err != nil {
			return err
		}
		if err := s.audit(tx, old.id, "merge", "into:"+strconv.FormatInt(sv.id, 10), false, at); err != nil {
			return err
		}
		return s.ob.Append(tx, "member.merged", strconv.FormatInt(sv.id, 10), map[string]any{
			"member": sv.id, "merged": old.id, "points": old.points, "growth": old.growth, "tier": tier})
	})
	if err != nil {
		return Member{}, err
	}
	return s.Get(ctx, survivorID)
}

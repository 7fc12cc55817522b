package members

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func randomRef() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// normalise checks an identity and returns it in stored form (email
// lower-case; app only for openids).
func normalise(id Identity, field string, v *errs.Validator) Identity {
	id.Value = strings.TrimSpace(id.Value)
	id.App = strings.TrimSpace(id.App)
	switch id.Kind {
	case Mobile:
		// Checked by the caller: an invalid mobile is its own 422 code.
	case Email:
		id.Value = strings.ToLower(id.Value)
		at := strings.IndexByte(id.Value, '@')
		v.Check(at > 0 && at < len(id.Value)-1 && !strings.ContainsAny(id.Value, " \t"), field+".value", "invalid_email", "must be an email address")
	case OpenID:
		v.Check(id.App != "", field+".app", "required", "an openid belongs to an app: give its app id")
	case UnionID, Card:
	default:
		v.Add(field+".kind", "one_of", "must be one of mobile, unionid, openid, email, card")
	}
	if id.Kind != OpenID {
		v.Check(id.App == "", field+".app", "not_allowed", "only openids name an app")
	}
	v.Check(id.Value != "" && len(id.Value) <= 128, field+".value", "required", "must be 1 to 128 bytes")
	v.Check(len(id.App) <= 64, field+".app", "too_long", "must be at most 64 bytes")
	return id
}

// checkMobiles returns ErrInvalidMobile naming the first bad mobile.
func checkMobiles(ids []Identity, prefix string) error {
	for i, id := range ids {
		if id.Kind == Mobile && !validMobile(strings.TrimSpace(id.Value)) {
			f := fmt.Sprintf("%s[%d].value", prefix, i)
			return &errs.Error{Kind: errs.Invalid, Code: ErrInvalidMobile.Code, Message: f + ": " + ErrInvalidMobile.Message,
				Fields: []errs.FieldError{{Field: f, Code: "invalid_mobile", Message: ErrInvalidMobile.Message}}}
		}
	}
	return nil
}

// profileRow is the validated, stored form of a profile patch.
type profileRow struct {
	set  []string
	args []any
	// fields names what changed, for the audit log.
	fields []string
}

func (p *profileRow) add(col string, v any) {
	p.set = append(p.set, col+" = ?")
	p.args = append(p.args, v)
	p.fields = append(p.fields, strings.TrimSuffix(col, "_id"))
}

// profile validates a patch into column changes.
func (s *Service) profile(ctx context.Context, name *string, in Profile, at int64, v *errs.Validator) profileRow {
	var p profileRow
	if name != nil {
		v.Check(len(*name) <= 100, "name", "too_long", "must be at most 100 bytes")
		p.add("name", strings.TrimSpace(*name))
	}
	if in.Birthday != nil {
		b := *in.Birthday
		if b != "" {
			t, err := time.Parse(time.DateOnly, b)
			v.Check(err == nil && t.Year() >= 1900 && t.Before(s.now().AddDate(0, 0, 1)), "birthday", "invalid_date", "must be a past date YYYY-MM-DD")
		}
		p.add("birthday", b)
		md := ""
		if len(b) == 10 {
			md = b[5:]
		}
		p.add("birth_md", md)
	}
	if in.Gender != nil {
		v.OneOf(*in.Gender, "gender", "", "female", "male", "other")
		p.add("gender", *in.Gender)
	}
	if in.City != nil {
		v.Check(len(*in.City) <= 64, "city", "too_long", "must be at most 64 bytes")
		p.add("city", strings.TrimSpace(*in.City))
	}
	if in.Preferred != nil {
		var store any
		if *in.Preferred != "" {
			l, err := s.net.Location(ctx, *in.Preferred)
			if err != nil {
				v.Add("preferred_store", "not_found", "no location "+*in.Preferred)
			} else {
				store = l.ID
			}
		}
		p.add("preferred_store_id", store)
	}
	if in.Tags != nil {
		tags := []string{}
		for i, t := range *in.Tags {
			t = strings.TrimSpace(t)
			v.Check(t != "" && len(t) <= 32, fmt.Sprintf("tags[%d]", i), "invalid_tag", "must be 1 to 32 bytes")
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		v.Check(len(tags) <= 20, "tags", "too_many", "at most 20 tags")
		b, _ := json.Marshal(tags)
		p.add("tags", string(b))
	}
	if c := in.Consent; c != nil {
		for _, x := range []struct {
			col string
			v   *bool
		}{{"consent_sms", c.SMS}, {"consent_email", c.Email}, {"consent_wechat", c.WeChat}} {
			if x.v != nil {
				p.add(x.col, *x.v)
				p.set = append(p.set, x.col+"_at = ?")
				p.args = append(p.args, at)
			}
		}
	}
	return p
}

// Register registers a member from any channel with at least one identity
// and optionally a profile. An invalid mobile number is ErrInvalidMobile
// (422); an identity that already belongs to a member is ErrIdentityTaken
// (409) naming that member. A store key registers members at its store.
func (s *Service) Register(ctx context.Context, in Registration) (Member, error) {
	if err := checkMobiles(in.Identities, "identities"); err != nil {
		return Member{}, err
	}
	var v errs.Validator
	v.Check(len(in.Identities) >= 1 && len(in.Identities) <= 10, "identities", "count", "give 1 to 10 identities")
	ids := make([]Identity, len(in.Identities))
	for i, id := range in.Identities {
		ids[i] = normalise(id, fmt.Sprintf("identities[%d]", i), &v)
		for j := range i {
			if ids[j].Kind == ids[i].Kind && ids[j].App == ids[i].App && ids[j].Value == ids[i].Value {
				v.Add(fmt.Sprintf("identities[%d]", i), "duplicate", "given twice")
			}
		}
	}
	v.Check(len(in.Channel) <= 64, "channel", "too_long", "must be at most 64 bytes")
	at := s.nowMilli()
	p := s.profile(ctx, &in.Name, in.Profile, at, &v)
	var store any
	if in.Store != "" {
		l, err := s.net.Location(ctx, in.Store)
		if err != nil {
			v.Add("store", "not_found", "no location "+in.Store)
		} else {
			if err := auth.RequireLocation(ctx, l.ID); err != nil {
				return Member{}, err
			}
			store = l.ID
		}
	} else if pr := auth.From(ctx); pr != nil && pr.Role == auth.Store {
		store = pr.LocationID
	}
	if err := v.Err(); err != nil {
		return Member{}, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.nowMilli()
		if err := tx.QueryRow(`INSERT INTO members (channel, store_id, tier_since, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			in.Channel, store, at, at, at).Scan(&id); err != nil {
			return fmt.Errorf("members: register: %w", err)
		}
		if len(p.set) > 0 {
			if _, err := tx.Exec(`UPDATE members SET `+strings.Join(p.set, ", ")+` WHERE id = ?`, append(p.args, id)...); err != nil {
				return fmt.Errorf("members: register profile: %w", err)
			}
		}
		for i, ident := range ids {
			if err := s.bindTx(tx, id, ident, at, fmt.Sprintf("identities[%d]", i)); err != nil {
				return err
			}
		}
		if err := s.audit(tx, id, "register", strings.Join(append(p.fields, "identities"), ","), false, at); err != nil {
			return err
		}
		return s.ob.Append(tx, "member.registered", strconv.FormatInt(id, 10), map[string]any{"member": id, "channel": in.Channel})
	})
	if err != nil {
		return Member{}, err
	}
	return s.read(ctx, id)
}

// bindTx gives the member an identity, or fails with ErrIdentityTaken.
func (s *Service) bindTx(tx *db.Tx, member int64, id Identity, at int64, field string) error {
	var got int64
	err := tx.QueryRow(`INSERT INTO member_identities (member_id, kind, app_id, value, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, app_id, value) DO NOTHING RETURNING id`, member, string(id.Kind), id.App, id.Value, at).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		var owner int64
		if err := tx.QueryRow(`SELECT member_id FROM member_identities WHERE kind = ? AND app_id = ? AND value = ?`, string(id.Kind), id.App, id.Value).Scan(&owner); err != nil {
			return fmt.Errorf("members: identity owner: %w", err)
		}
		if owner == member {
			return nil // already this member's
		}
		return ErrIdentityTaken.Withf("%s: this %s belongs to member %d", field, id.Kind, owner).With("member_id", owner).With("field", field)
	}
	if err != nil {
		return fmt.Errorf("members: bind %s: %w", id.Kind, err)
	}
	return nil
}

// Bind gives a member another identity (idempotent for an identity it
// already has; ErrIdentityTaken when another member has it).
func (s *Service) Bind(ctx context.Context, memberID int64, in Identity) (Member, error) {
	if err := checkMobiles([]Identity{in}, "identity"); err != nil {
		e, _ := errs.As(err)
		e.Fields[0].Field, e.Message = "value", "value: "+ErrInvalidMobile.Message
		return Member{}, e
	}
	var v errs.Validator
	in = normalise(in, "identity", &v)
	if err := v.Err(); err != nil {
		return Member{}, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if id, err = resolveTx(tx, memberID); err != nil {
			return err
		}
		at := s.nowMilli()
		if err := s.bindTx(tx, id, in, at, "value"); err != nil {
			return err
		}
		if err := s.audit(tx, id, "bind", "identities:"+string(in.Kind), false, at); err != nil {
			return err
		}
		return s.ob.Append(tx, "member.updated", strconv.FormatInt(id, 10), map[string]any{"member": id, "fields": []string{"identities"}})
	})
	if err != nil {
		return Member{}, err
	}
	return s.read(ctx, id)
}

// Update changes a member's name and profile (consents are stamped with
// the time they change). The change is audited with the caller.
func (s *Service) Update(ctx context.Context, memberID int64, in ProfilePatch) (Member, error) {
	var v errs.Validator
	p := s.profile(ctx, in.Name, in.Profile, s.nowMilli(), &v)
	if err := v.Err(); err != nil {
		return Member{}, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if id, err = resolveTx(tx, memberID); err != nil {
			return err
		}
		if len(p.set) == 0 {
			return nil
		}
		at := s.nowMilli()
		if _, err := tx.Exec(`UPDATE members SET `+strings.Join(p.set, ", ")+`, updated_at = ? WHERE id = ?`, append(slices.Clone(p.args), at, id)...); err != nil {
			return fmt.Errorf("members: update %d: %w", id, err)
		}
		if err := s.audit(tx, id, "update", strings.Join(p.fields, ","), false, at); err != nil {
			return err
		}
		return s.ob.Append(tx, "member.updated", strconv.FormatInt(id, 10), map[string]any{"member": id, "fields": p.fields})
	})
	if err != nil {
		return Member{}, err
	}
	return s.Get(ctx, id)
}

// audit records a read or change of a member's personal data in tx.
func (s *Service) audit(tx *db.Tx, member int64, action, fields string, masked bool, at int64) error {
	return tx.Defer(`INSERT INTO member_audit (member_id, actor, action, fields, masked, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		member, auth.Actor(tx.Context()), action, fields, masked, at)
}

// Get returns a member with its personal data, masked for callers whose
// role does not need it (see mustMask), and writes the read to the audit
// log first. A merged member is returned as it is (status merged, with
// merged_into).
func (s *Service) Get(ctx context.Context, memberID int64) (Member, error) {
	return s.readAudited(ctx, memberID, "read")
}

// Find returns the member with an identity (ErrNotFound when none), like
// Get: masked and audited.
func (s *Service) Find(ctx context.Context, in Identity) (Member, error) {
	var v errs.Validator
	if in.Kind == Mobile && !validMobile(strings.TrimSpace(in.Value)) {
		return Member{}, ErrInvalidMobile.With("field", "value")
	}
	in = normalise(in, "identity", &v)
	if err := v.Err(); err != nil {
		return Member{}, err
	}
	var id int64
	err := s.db.QueryRow(ctx, `SELECT member_id FROM member_identities WHERE kind = ? AND app_id = ? AND value = ?`, string(in.Kind), in.App, in.Value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrNotFound.Withf("no member with this %s", in.Kind)
	}
	if err != nil {
		return Member{}, fmt.Errorf("members: find: %w", err)
	}
	return s.readAudited(ctx, id, "find:"+string(in.Kind))
}

func (s *Service) readAudited(ctx context.Context, id int64, action string) (Member, error) {
	m, err := s.read(ctx, id)
	if err != nil {
		return m, err
	}
	mask := mustMask(ctx, m)
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		return s.audit(tx, id, action, "profile,identities", mask, s.nowMilli())
	})
	if err != nil {
		return Member{}, err
	}
	if mask {
		m.mask()
	}
	return m, nil
}

// mustMask reports whether the caller of ctx sees a member's mobile
// numbers and email addresses masked: admin and ops keys and internal
// callers see them; store keys see them for members registered at or
// preferring their store (they serve them at the till); readonly keys and
// store keys of other stores see them masked.
func mustMask(ctx context.Context, m Member) bool {
	p := auth.From(ctx)
	if p == nil {
		return false
	}
	switch p.Role {
	case auth.Admin, auth.Ops:
		return false
	case auth.Store:
		return m.storeID != p.LocationID && m.preferredID != p.LocationID
	}
	return true
}

// mask masks mobile numbers (138****8000), email addresses (a***@x.com)
// and card numbers (****1234).
func (m *Member) mask() {
	m.Masked = true
	for i := range m.Identities {
		id := &m.Identities[i]
		switch id.Kind {
		case Mobile:
			if len(id.Value) == 11 {
				id.Value = id.Value[:3] + "****" + id.Value[7:]
			}
		case Email:
			if at := strings.IndexByte(id.Value, '@'); at > 0 {
				id.Value = id.Value[:1] + "***" + id.Value[at:]
			}
		case Card:
			if len(id.Value) > 4 {
				id.Value = "****" + id.Value[len(id.Value)-4:]
			}
		}
	}
}

// read returns a member as stored, unmasked and unaudited.
func (s *Service) read(ctx context.Context, id int64) (Member, error) {
	tiers, _, err := s.config(ctx)
	if err != nil {
		return Member{}, err
	}
	var m Member
	var into, pref, store, smsAt, emailAt, wxAt sql.NullInt64
	var tags string
	var since, created, updated int64
	var tier int
	var base int64
	err = s.db.QueryRow(ctx, `SELECT id, status, merged_into, name, tier, tier_since, points, growth, growth_base, birthday, gender, city,
		preferred_store_id, tags, consent_sms, consent_sms_at, consent_email, consent_email_at, consent_wechat, consent_wechat_at,
		channel, store_id, checkin_day, checkin_streak, created_at, updated_at FROM members WHERE id = ?`, id).Scan(
		&m.ID, &m.Status, &into, &m.Name, &tier, &since, &m.Points, &m.Growth, &base, &m.Birthday, &m.Gender, &m.City,
		&pref, &tags, &m.Consent.SMS.Granted, &smsAt, &m.Consent.Email.Granted, &emailAt, &m.Consent.WeChat.Granted, &wxAt,
		&m.Channel, &store, &m.CheckIn.LastDay, &m.CheckIn.Streak, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound.Withf("no member %d", id)
	}
	if err != nil {
		return m, fmt.Errorf("members: read %d: %w", id, err)
	}
	if into.Valid {
		m.MergedInto = &into.Int64
	}
	t := tiers[tier]
	m.Tier = TierRef{Level: t.Level, Code: t.Code, Name: t.Name}
	m.TierSince, m.CreatedAt, m.UpdatedAt = msTime(since), msTime(created), msTime(updated)
	m.Qualifying = m.Growth - base
	if tier < 4 {
		n := tiers[tier+1]
		m.NextTier = &NextTier{TierRef: TierRef{Level: n.Level, Code: n.Code, Name: n.Name}, GrowthNeeded: max(0, n.GrowthThreshold-m.Qualifying)}
	}
	m.Consent.SMS.At, m.Consent.Email.At, m.Consent.WeChat.At = msPtr(smsAt), msPtr(emailAt), msPtr(wxAt)
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil || m.Tags == nil {
		m.Tags = []string{}
	}
	if pref.Valid {
		m.preferredID = pref.Int64
		if l, err := s.net.LocationByID(ctx, pref.Int64); err == nil {
			m.Preferred = l.Code
		}
	}
	if store.Valid {
		m.storeID = store.Int64
		if l, err := s.net.LocationByID(ctx, store.Int64); err == nil {
			m.Store = l.Code
		}
	}
	// The streak is alive while the member checked in today or yesterday.
	if now := s.now(); m.CheckIn.LastDay != day(now) && m.CheckIn.LastDay != day(now.Add(-24*time.Hour)) {
		m.CheckIn.Streak = 0
	}
	m.Identities, err = db.Collect(func(sc db.Scanner) (Identity, error) {
		var i Identity
		var at int64
		err := sc.Scan(&i.Kind, &i.App, &i.Value, &at)
		i.CreatedAt = msTime(at)
		return i, err
	})(s.db.Query(ctx, `SELECT kind, app_id, value, created_at FROM member_identities WHERE member_id = ? ORDER BY id`, id))
	if err != nil {
		return m, fmt.Errorf("members: identities of %d: %w", id, err)
	}
	merged, err := db.Collect(func(sc db.Scanner) (int64, error) {
		var v int64
		return v, sc.Scan(&v)
	})(s.db.Query(ctx, `SELECT id FROM members WHERE merged_into = ? ORDER BY id`, id))
	if err != nil {
		return m, fmt.Errorf("members: merged into %d: %w", id, err)
	}
	if len(merged) > 0 {
		m.Merged = merged
	}
	return m, nil
}

// List pages through members by id (no personal data), optionally of one
// tier (tier < 0: all).
func (s *Service) List(ctx context.Context, tier int, limit int, cursor string) ([]Summary, string, error) {
	after := int64(0)
	if cursor != "" {
		var err error
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return nil, "", errs.E(errs.Invalid, "validation_failed", "cursor: not a cursor of this list").With("field", "cursor")
		}
	}
	q := `SELECT id, status, tier, points, growth, created_at FROM members WHERE id > ?`
	args := []any{after}
	if tier >= 0 {
		q += ` AND tier = ? AND status = 'active'`
		args = append(args, tier)
	}
	out, err := db.Collect(func(sc db.Scanner) (Summary, error) {
		var m Summary
		var at int64
		err := sc.Scan(&m.ID, &m.Status, &m.Tier, &m.Points, &m.Growth, &at)
		m.CreatedAt = msTime(at)
		return m, err
	})(s.db.Query(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("members: list: %w", err)
	}
	next := ""
	if len(out) == limit {
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, next, nil
}

// Audit pages through the audit log of a member, newest first.
func (s *Service) Audit(ctx context.Context, memberID int64, limit int, cursor string) ([]AuditEntry, string, error) {
	before := int64(1<<63 - 1)
	if cursor != "" {
		var err error
		if before, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return nil, "", errs.E(errs.Invalid, "validation_failed", "cursor: not a cursor of this list").With("field", "cursor")
		}
	}
	if _, err := s.resolve(ctx, memberID); err != nil {
		return nil, "", err
	}
	out, err := db.Collect(func(sc db.Scanner) (AuditEntry, error) {
		var a AuditEntry
		var at int64
		err := sc.Scan(&a.ID, &a.Member, &a.Actor, &a.Action, &a.Fields, &a.Masked, &at)
		a.CreatedAt = msTime(at)
		return a, err
	})(s.db.Query(ctx, `SELECT id, member_id, actor, action, fields, masked, created_at FROM member_audit WHERE member_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
		memberID, before, limit))
	if err != nil {
		return nil, "", fmt.Errorf("members: audit of %d: %w", memberID, err)
	}
	next := ""
	if len(out) == limit {
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, next, nil
}

// TierHistory lists a member's tier changes (and those of the members
// merged into it), oldest first.
func (s *Service) TierHistory(ctx context.Context, memberID int64) ([]TierChange, error) {
	ids, err := s.MemberIDs(ctx, memberID)
	if err != nil {
		return nil, err
	}
	q, args := inList(`SELECT member_id, from_tier, to_tier, reason, growth, created_at FROM member_tier_changes WHERE member_id IN (%s) ORDER BY created_at, id`, ids)
	out, err := db.Collect(func(sc db.Scanner) (TierChange, error) {
		var c TierChange
		var at int64
		err := sc.Scan(&c.Member, &c.From, &c.To, &c.Reason, &c.Growth, &at)
		c.CreatedAt = msTime(at)
		return c, err
	})(s.db.Query(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("members: tier history of %d: %w", memberID, err)
	}
	return out, nil
}

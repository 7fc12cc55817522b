package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// streakBonus is the extra points of a check-in on day streak of a streak:
// the bonus of the largest threshold reached.
func (st *Settings) streakBonus(streak int) int64 {
	var best StreakBonus
	for _, b := range st.StreakBonuses {
		if streak >= b.Days && b.Days > best.Days {
			best = b
		}
	}
	return best.Points
}

// CheckIn checks a member in for today (Asia/Shanghai): the streak grows
// when the member checked in yesterday, else starts again at 1, and the
// member earns the settings' check-in points plus the streak bonus, and
// growth. A second check-in the same day is ErrCheckedIn (409) and awards
// nothing: the day is claimed by the ONE conditional UPDATE that adds the
// points (… WHERE checkin_day <> today), and recorded in member_checkins
// (one row per day and member).
func (s *Service) CheckIn(ctx context.Context, memberID int64) (CheckIn, error) {
	tiers, st, err := s.config(ctx)
	if err != nil {
		return CheckIn{}, err
	}
	var out CheckIn
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		at := now.UnixMilli()
		c := &checkinDay{today: day(now), yesterday: day(now.Add(-24 * time.Hour))}
		mv := move{member: memberID, kind: KindCheckIn, points: int64(st.CheckinPoints), growth: int64(st.CheckinGrowth),
			source: "checkin:" + c.today, reason: "check-in", checkin: c}
		m, err := s.apply(tx, tiers, st, mv, at)
		if err != nil {
			return err
		}
		if m.dup { // the day's ledger row exists (a check-in before a merge, say)
			return ErrCheckedIn.Withf("member %d has already checked in on %s", m.member, c.today).With("day", c.today)
		}
		out = CheckIn{Member: m.member, Day: c.today, Streak: c.streak, Points: m.points, Growth: m.growth, Balance: m.balance, Tier: m.tier}
		return tx.Defer(`INSERT INTO member_checkins (day, member_id, streak, points, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.today, m.member, c.streak, m.points, at)
	})
	return out, err
}

// Share records a member's share and rewards it with the settings' share
// points and growth, up to the daily cap of rewarded shares; shares over
// the cap are counted and not rewarded.
func (s *Service) Share(ctx context.Context, memberID int64, in Share) (ShareReward, error) {
	var v errs.Validator
	v.Check(len(in.Target) <= 200, "target", "too_long", "must be at most 200 bytes")
	v.Check(len(in.Channel) <= 50, "channel", "too_long", "must be at most 50 bytes")
	if err := v.Err(); err != nil {
		return ShareReward{}, err
	}
	tiers, st, err := s.config(ctx)
	if err != nil {
		return ShareReward{}, err
	}
	var out ShareReward
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		at := now.UnixMilli()
		member, err := resolveTx(tx, memberID)
		if err != nil {
			return err
		}
		out = ShareReward{Member: member, Day: day(now)}
		first := st.ShareDailyCap > 0
		err = tx.QueryRow(`INSERT INTO member_shares (member_id, day, shares, rewarded, last_rewarded) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (member_id, day) DO UPDATE SET shares = member_shares.shares + 1,
				rewarded = CASE WHEN member_shares.rewarded < ? THEN member_shares.rewarded + 1 ELSE member_shares.rewarded END,
				last_rewarded = (member_shares.rewarded < ?)
			RETURNING shares, last_rewarded`, member, out.Day, min(1, st.ShareDailyCap), first, st.ShareDailyCap, st.ShareDailyCap).
			Scan(&out.Shares, &out.Rewarded)
		if err != nil {
			return fmt.Errorf("members: share %d: %w", member, err)
		}
		var balance int64
		if err := tx.QueryRow(`SELECT points FROM members WHERE id = ?`, member).Scan(&balance); err != nil {
			return fmt.Errorf("members: share %d: %w", member, err)
		}
		out.Balance = balance
		if !out.Rewarded || (st.SharePoints == 0 && st.ShareGrowth == 0) {
			return nil
		}
		reason := "share"
		if in.Target != "" {
			reason += " of " + in.Target
		}
		if in.Channel != "" {
			reason += " on " + in.Channel
		}
		m, err := s.apply(tx, tiers, st, move{member: member, kind: KindShare, points: int64(st.SharePoints), growth: int64(st.ShareGrowth),
			source: "share:" + out.Day + ":" + strconv.Itoa(out.Shares), reason: reason}, at)
		if err != nil {
			return err
		}
		out.Points, out.Balance = m.points, m.balance
		return nil
	})
	return out, err
}

// BirthdayGifts gives today's birthday gifts (Asia/Shanghai; members born
// on 29 February get theirs on the 28th in other years): the tier's
// birthday points and birthday coupon, once per member and year. It
// handles up to limit members and returns how many got a gift. The
// birthday worker calls it every hour; it is safe on several instances.
func (s *Service) BirthdayGifts(ctx context.Context, limit int) (int, error) {
	tiers, st, err := s.config(ctx)
	if err != nil {
		return 0, err
	}
	today := s.now().In(network.Shanghai)
	year := today.Year()
	mds := []any{today.Format("01-02"), today.Format("01-02")}
	if mds[0] == "02-28" && time.Date(year, 2, 29, 0, 0, 0, 0, time.UTC).Month() != 2 {
		mds[1] = "02-29"
	}
	ids, err := db.Collect(func(sc db.Scanner) (int64, error) {
		var v int64
		return v, sc.Scan(&v)
	})(s.db.Query(ctx, `SELECT m.id FROM members m WHERE m.status = 'active' AND m.birth_md IN (?, ?)
		AND NOT EXISTS (SELECT 1 FROM member_birthday_gifts g WHERE g.member_id = m.id AND g.year = ?) ORDER BY m.id LIMIT ?`,
		mds[0], mds[1], year, limit))
	if err != nil {
		return 0, fmt.Errorf("members: birthdays: %w", err)
	}
	n := 0
	var failed []error
	for _, id := range ids {
		given := false
		err := s.db.Write(ctx, func(tx *db.Tx) error {
			given = false
			var g sql.NullInt64
			at := s.nowMilli()
			err := tx.QueryRow(`INSERT INTO member_birthday_gifts (member_id, year, points, created_at) VALUES (?, ?, 0, ?)
				ON CONFLICT (member_id, year) DO NOTHING RETURNING member_id`, id, year, at).Scan(&g)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // given meanwhile
			}
			if err != nil {
				return err
			}
			var tier int
			if err := tx.QueryRow(`SELECT tier FROM members WHERE id = ?`, id).Scan(&tier); err != nil {
				return err
			}
			t := tiers[tier]
			coupon := ""
			if t.BirthdayPoints > 0 {
				if _, err := s.apply(tx, tiers, st, move{member: id, kind: KindBirthday, points: t.BirthdayPoints,
					source: "birthday:" + strconv.Itoa(year), reason: t.Name + " birthday gift"}, at); err != nil {
					return err
				}
			}
			if t.BirthdayCoupon != "" && s.issue != nil {
				err := s.issue(tx, t.BirthdayCoupon, id, fmt.Sprintf("birthday:%d:%d", id, year))
				if e, ok := errs.As(err); ok && e.Kind == errs.NotFound {
					err = nil // no such template: points only
				} else if err == nil {
					coupon = t.BirthdayCoupon
				}
				if err != nil {
					return err
				}
			}
			given = true
			return tx.Defer(`UPDATE member_birthday_gifts SET points = ?, coupon = ? WHERE member_id = ? AND year = ?`, t.BirthdayPoints, coupon, id, year)
		})
		if err != nil {
			failed = append(failed, fmt.Errorf("members: birthday gift of %d: %w", id, err))
			continue
		}
		if given {
			n++
		}
	}
	return n, errors.Join(failed...)
}

package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// BulkUpsert creates or refreshes locations and channels by code, all in
// one transaction (all or nothing). Every field given is stored as given
// (Active included; ID, CreatedAt and UpdatedAt are ignored); a channel's
// Locations replace its current ones and may name locations of the same
// call. A record whose settings do not change is not written and announces
// nothing, so running the same call twice changes nothing the second time.
// Bad input is a validation error naming locations[i].field or
// channels[i].field.
func (s *Service) BulkUpsert(ctx context.Context, locs []Location, chans []Channel) error {
	locs, chans = slices.Clone(locs), slices.Clone(chans)
	var v errs.Validator
	seen := map[string]int{}
	for i := range locs {
		trimLocation(&locs[i])
		p := fmt.Sprintf("locations[%d].", i)
		validateLocation(&v, p, locs[i])
		if j, dup := seen[locs[i].Code]; dup {
			v.Add(p+"code", "duplicate", fmt.Sprintf("repeats locations[%d].code", j))
		} else {
			seen[locs[i].Code] = i
		}
	}
	seen = map[string]int{}
	for i := range chans {
		c := &chans[i]
		c.Name = strings.TrimSpace(c.Name)
		c.Locations = slices.Clone(c.Locations)
		if c.Locations == nil {
			c.Locations = []string{}
		}
		p := fmt.Sprintf("channels[%d].", i)
		validateChannel(&v, p, *c)
		c.MaxSharePct = roundPct(c.MaxSharePct)
		if j, dup := seen[c.Code]; dup {
			v.Add(p+"code", "duplicate", fmt.Sprintf("repeats channels[%d].code", j))
		} else {
			seen[c.Code] = i
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		now := s.stamp()
		changed := false
		codes := make([]string, len(locs))
		for i, l := range locs {
			codes[i] = l.Code
		}
		existing, err := locationsByCode(tx, codes)
		if err != nil {
			return err
		}
		for _, l := range locs {
			cur, ok := existing[l.Code]
			if ok && sameLocation(cur, l) {
				continue
			}
			topic := TopicLocationUpdated
			if ok {
				l.ID, l.CreatedAt, l.UpdatedAt = cur.ID, cur.CreatedAt, now
				if err := updateLocation(tx, l); err != nil {
					return fmt.Errorf("location %s: %w", l.Code, err)
				}
			} else {
				topic = TopicLocationCreated
				l.CreatedAt, l.UpdatedAt = now, now
				inserted, err := insertLocation(tx, &l)
				if err != nil {
					return fmt.Errorf("location %s: %w", l.Code, err)
				}
				if !inserted {
					return ErrDuplicateCode.Withf("a location with code %s was created meanwhile", l.Code)
				}
			}
			if err := s.ob.Append(tx, topic, l.Code, l); err != nil {
				return err
			}
			changed = true
		}
		for i, c := range chans {
			ids, err := resolveLocations(tx, c.Locations, fmt.Sprintf("channels[%d].locations", i))
			if err != nil {
				return err
			}
			sortChannelLocations(&c, ids)
			cur, err := loadChannel(txq{tx}, "code", c.Code, forUpdate(tx))
			found := err == nil
			if err != nil && !errors.Is(err, ErrChannelNotFound) {
				return fmt.Errorf("channel %s: %w", c.Code, err)
			}
			topic := TopicChannelUpdated
			switch {
			case found && sameChannel(cur, c):
				continue
			case found:
				c.ID, c.CreatedAt, c.UpdatedAt = cur.ID, cur.CreatedAt, now
				if err := updateChannel(tx, c); err != nil {
					return fmt.Errorf("channel %s: %w", c.Code, err)
				}
			default:
				topic = TopicChannelCreated
				c.CreatedAt, c.UpdatedAt = now, now
				inserted, err := insertChannel(tx, &c)
				if err != nil {
					return fmt.Errorf("channel %s: %w", c.Code, err)
				}
				if !inserted {
					return ErrDuplicateCode.Withf("a channel with code %s was created meanwhile", c.Code)
				}
			}
			if !found || !slices.Equal(cur.LocationIDs, c.LocationIDs) {
				if err := replaceChannelLocations(tx, c.ID, c.LocationIDs); err != nil {
					return fmt.Errorf("channel %s: %w", c.Code, err)
				}
			}
			if err := s.ob.Append(tx, topic, c.Code, c); err != nil {
				return err
			}
			changed = true
		}
		if changed {
			tx.AfterCommit(s.cache.invalidate)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("network: bulk upsert: %w", err)
	}
	return nil
}

// sameChannel reports whether a and b hold the same settings and locations.
func sameChannel(a, b Channel) bool {
	return a.Code == b.Code && a.Name == b.Name && a.Kind == b.Kind && a.SafetyStock == b.SafetyStock &&
		a.MaxShareBP() == b.MaxShareBP() && a.Active == b.Active && slices.Equal(a.LocationIDs, b.LocationIDs)
}

// locationsByCode loads the locations with the given codes, locking them on
// PostgreSQL.
func locationsByCode(tx *db.Tx, codes []string) (map[string]Location, error) {
	out := make(map[string]Location, len(codes))
	const chunk = 500
	for start := 0; start < len(codes); start += chunk {
		part := codes[start:min(start+chunk, len(codes))]
		args := make([]any, len(part))
		for i, c := range part {
			args[i] = c
		}
		rows, err := tx.Query(`SELECT `+locCols+` FROM locations WHERE code IN (`+placeholders(len(part))+`)`+forUpdate(tx), args...)
		if err != nil {
			return nil, err
		}
		if err := collectLocations(rows, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func collectLocations(rows db.Rows, into map[string]Location) error {
	defer rows.Close()
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return err
		}
		into[l.Code] = l
	}
	return rows.Err()
}

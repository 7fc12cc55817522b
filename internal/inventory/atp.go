package inventory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// ATPRequest asks what a channel can promise for some SKUs, optionally near
// a delivery point.
type ATPRequest struct {
	Channel string   `query:"channel" required:"true"`
	SKUs    []string `query:"sku" required:"true" description:"one or more SKU codes (repeat the parameter)"`
	Lat     *float64 `query:"lat" description:"delivery point latitude; with lng, locations are sorted nearest first"`
	Lng     *float64 `query:"lng"`
	Limit   int      `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

// ATP is the answer: per location, what the channel may sell of each SKU.
type ATP struct {
	Channel   string         `json:"channel"`
	Totals    map[string]int `json:"totals" description:"per SKU, the channel's available units over all its locations (after the share cap)"`
	Locations []ATPLocation  `json:"locations"`
}

// ATPLocation is one location's promise.
type ATPLocation struct {
	Location   string           `json:"location"`
	Name       string           `json:"name"`
	Kind       network.Kind     `json:"kind"`
	City       string           `json:"city"`
	DistanceM  *int64           `json:"distance_m,omitempty"`
	Covers     bool             `json:"covers" description:"every requested SKU is available here"`
	Available  map[string]int64 `json:"available"`
	Pickup     bool             `json:"pickup"`
	Instant    bool             `json:"instant" description:"instant delivery to the point is possible (within the radius)"`
	Ship       bool             `json:"ship"`
	OpeningHrs string           `json:"opening_hours,omitempty"`
}

// Availability computes available-to-promise for a channel: only the
// locations serving it, each level's available minus the channel's safety
// stock, capped by the channel's remaining share of each style. With a
// delivery point, locations come nearest first with their distance;
// otherwise those covering every SKU first, then by total available.
func (s *Service) Availability(ctx context.Context, in ATPRequest) (ATP, error) {
	var v errs.Validator
	v.Required(in.Channel, "channel")
	v.Check(len(in.SKUs) >= 1 && len(in.SKUs) <= 50, "sku", "count", "give 1 to 50 SKUs")
	v.Check((in.Lat == nil) == (in.Lng == nil), "lng", "pair", "lat and lng go together")
	if in.Lat != nil && in.Lng != nil {
		v.Check(*in.Lat >= -90 && *in.Lat <= 90, "lat", "out_of_range", "must be between -90 and 90")
		v.Check(*in.Lng >= -180 && *in.Lng <= 180, "lng", "out_of_range", "must be between -180 and 180")
	}
	if in.Limit <= 0 {
		in.Limit = 50
	}
	v.Range(int64(in.Limit), 1, 500, "limit")
	if err := v.Err(); err != nil {
		return ATP{}, err
	}
	ch, err := s.net.Channel(ctx, in.Channel)
	if err != nil {
		if errors.Is(err, network.ErrChannelNotFound) {
			return ATP{}, errs.E(errs.NotFound, "channel_not_found", "channel: no channel %q", in.Channel)
		}
		return ATP{}, err
	}
	refs := make([]catalog.SKURef, len(in.SKUs))
	for i, c := range in.SKUs {
		if refs[i], err = s.sku(ctx, fmt.Sprintf("sku[%d]", i), c); err != nil {
			return ATP{}, err
		}
	}
	out := ATP{Channel: ch.Code, Totals: map[string]int{}, Locations: []ATPLocation{}}
	if len(ch.LocationIDs) == 0 {
		return out, nil
	}
	locIn := strings.TrimSuffix(strings.Repeat("?,", len(ch.LocationIDs)), ",")
	skuIn := strings.TrimSuffix(strings.Repeat("?,", len(refs)), ",")
	args := make([]any, 0, len(refs)+len(ch.LocationIDs))
	for _, r := range refs {
		args = append(args, r.ID)
	}
	for _, id := range ch.LocationIDs {
		args = append(args, id)
	}
	rows, err := s.db.Query(ctx, `SELECT sku_id, location_id, on_hand - reserved - safety_stock FROM stock_levels
		WHERE sku_id IN (`+skuIn+`) AND location_id IN (`+locIn+`)`, args...)
	if err != nil {
		return ATP{}, fmt.Errorf("inventory: availability: %w", err)
	}
	free := map[int64]map[int64]int64{} // location → sku → units
	for rows.Next() {
		var sku, loc, n int64
		if err := rows.Scan(&sku, &loc, &n); err != nil {
			rows.Close()
			return ATP{}, err
		}
		n -= ch.SafetyStock
		if n <= 0 {
			continue
		}
		if free[loc] == nil {
			free[loc] = map[int64]int64{}
		}
		free[loc][sku] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ATP{}, err
	}
	shareLeft, err := s.shareLeft(ctx, ch, refs)
	if err != nil {
		return ATP{}, err
	}
	for _, r := range refs {
		var total int64
		for _, m := range free {
			total += m[r.ID]
		}
		if left, ok := shareLeft[r.StyleID]; ok {
			total = min(total, left)
		}
		out.Totals[r.Code] = int(total)
	}
	for locID, m := range free {
		loc, err := s.net.LocationByID(ctx, locID)
		if err != nil {
			return ATP{}, err
		}
		if !loc.Active {
			continue
		}
		a := ATPLocation{Location: loc.Code, Name: loc.Name, Kind: loc.Kind, City: loc.City, Covers: true,
			Available: map[string]int64{}, Pickup: loc.Capabilities.Pickup, Ship: loc.Capabilities.Ship, OpeningHrs: loc.OpeningHours}
		for _, r := range refs {
			n := m[r.ID]
			if left, ok := shareLeft[r.StyleID]; ok {
				n = min(n, left)
			}
			a.Available[r.Code] = n
			if n <= 0 {
				a.Covers = false
			}
		}
		if in.Lat != nil {
			d := int64(math.Round(network.DistanceM(*in.Lat, *in.Lng, loc.Lat, loc.Lng)))
			a.DistanceM = &d
			a.Instant = loc.Capabilities.Instant && d <= int64(loc.Capabilities.InstantRadiusM)
		}
		out.Locations = append(out.Locations, a)
	}
	sort.Slice(out.Locations, func(i, j int) bool {
		a, b := out.Locations[i], out.Locations[j]
		if a.DistanceM != nil && b.DistanceM != nil && *a.DistanceM != *b.DistanceM {
			return *a.DistanceM < *b.DistanceM
		}
		if a.Covers != b.Covers {
			return a.Covers
		}
		ta, tb := sum(a.Available), sum(b.Available)
		if ta != tb {
			return ta > tb
		}
		return a.Location < b.Location
	})
	if len(out.Locations) > in.Limit {
		out.Locations = out.Locations[:in.Limit]
	}
	return out, nil
}

func sum(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

// shareLeft returns, for a capped channel, the units of each style it may
// still hold: floor(share × (on-hand at its locations + sold)) − held − sold.
func (s *Service) shareLeft(ctx context.Context, ch network.Channel, refs []catalog.SKURef) (map[int64]int64, error) {
	out := map[int64]int64{}
	bp := ch.MaxShareBP()
	if bp >= 10000 {
		return out, nil
	}
	locIn := strings.TrimSuffix(strings.Repeat("?,", len(ch.LocationIDs)), ",")
	for _, r := range refs {
		if _, done := out[r.StyleID]; done {
			continue
		}
		args := []any{r.StyleID}
		for _, id := range ch.LocationIDs {
			args = append(args, id)
		}
		var onHand, held, sold int64
		if err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(on_hand), 0) FROM stock_levels WHERE style_id = ? AND location_id IN (`+locIn+`)`, args...).Scan(&onHand); err != nil {
			return nil, err
		}
		_ = s.db.QueryRow(ctx, `SELECT held, sold FROM channel_style_usage WHERE channel_id = ? AND style_id = ?`, ch.ID, r.StyleID).Scan(&held, &sold)
		out[r.StyleID] = max(0, (onHand+sold)*bp/10000-held-sold)
	}
	return out, nil
}

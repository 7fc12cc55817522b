package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

var ctx = context.Background()

func newTestService(d *db.DB) *Service {
	now := func() time.Time { return time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC) }
	return NewService(d, outbox.New(now), now)
}

func store(code string, lat, lng float64) NewLocation {
	return NewLocation{Code: code, Name: "Omni " + code, Kind: Store, Region: "east", Province: "上海", City: "上海",
		Address: "南京东路 1 号", Lat: lat, Lng: lng, OpeningHours: "10:00-22:00",
		Capabilities: Capabilities{POS: true, Pickup: true}}
}

// events returns the topics and subjects of the outbox, in order.
func events(t *testing.T, d *db.DB) []string {
	t.Helper()
	rows, err := d.Query(ctx, `SELECT topic, subject FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var topic, subject string
		if err := rows.Scan(&topic, &subject); err != nil {
			t.Fatal(err)
		}
		out = append(out, topic+" "+subject)
	}
	return out
}

// fieldsOf returns the offending fields of a validation error, or fails.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid {
		t.Fatalf("err = %v; want a validation error", err)
	}
	var fs []string
	for _, f := range e.Fields {
		fs = append(fs, f.Field)
	}
	return fs
}

func TestLocationCRUD(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		in := store("SH01", 31.2355, 121.4840)
		in.Capabilities.Instant, in.Capabilities.InstantRadiusM = true, 3000
		l, err := s.CreateLocation(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if l.ID == 0 || !l.Active || l.Name != "Omni SH01" || l.Capabilities.InstantRadiusM != 3000 || l.CreatedAt.IsZero() {
			t.Fatalf("created %+v", l)
		}
		got, err := s.GetLocation(ctx, "SH01")
		if err != nil || got != l {
			t.Fatalf("GetLocation = %+v, %v; want %+v", got, err, l)
		}
		byID, err := s.LocationByID(ctx, l.ID)
		if err != nil || byID != l {
			t.Fatalf("LocationByID = %+v, %v", byID, err)
		}

		_, err = s.CreateLocation(ctx, store("SH01", 30, 120))
		if !errors.Is(err, ErrDuplicateCode) {
			t.Fatalf("duplicate create: %v; want duplicate_code", err)
		}
		if e, _ := errs.As(err); e.Kind.Status() != 409 {
			t.Fatalf("duplicate status %d", e.Kind.Status())
		}

		name, hours, off := "Omni 上海南京东路旗舰店", "22:00-02:00", false
		u, err := s.UpdateLocation(ctx, "SH01", LocationPatch{Name: &name, OpeningHours: &hours,
			Capabilities: &CapabilitiesPatch{Instant: &off}})
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != name || u.OpeningHours != hours || u.Capabilities.Instant || u.Capabilities.InstantRadiusM != 0 ||
			!u.Capabilities.POS || u.Lat != l.Lat || u.CreatedAt != l.CreatedAt {
			t.Fatalf("updated %+v", u)
		}
		if got, _ := s.GetLocation(ctx, "SH01"); got != u {
			t.Fatalf("stored %+v; want %+v", got, u)
		}
		// A patch that changes nothing writes nothing.
		if _, err := s.UpdateLocation(ctx, "SH01", LocationPatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateLocation(ctx, "NOPE", LocationPatch{Name: &name}); !errors.Is(err, ErrLocationNotFound) {
			t.Fatalf("update missing: %v", err)
		}
		if _, err := s.Location(ctx, "NOPE"); !errors.Is(err, ErrLocationNotFound) {
			t.Fatalf("Location missing: %v", err)
		}
		if _, err := s.LocationByID(ctx, 999999); !errors.Is(err, ErrLocationNotFound) {
			t.Fatalf("LocationByID missing: %v", err)
		}
		bad := 91.0
		if _, err := s.UpdateLocation(ctx, "SH01", LocationPatch{Lat: &bad}); !slices.Equal(fieldsOf(t, err), []string{"lat"}) {
			t.Fatalf("bad patch fields %v", fieldsOf(t, err))
		}
		want := []string{"network.location_created SH01", "network.location_updated SH01"}
		if got := events(t, d); !slices.Equal(got, want) {
			t.Fatalf("events %v; want %v", got, want)
		}
	})
}

func TestLocationValidation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		cases := []struct {
			name   string
			change func(*NewLocation)
			fields []string
		}{
			{"bad code", func(l *NewLocation) { l.Code = "SH 01" }, []string{"code"}},
			{"long code", func(l *NewLocation) { l.Code = string(make([]byte, 65)) }, []string{"code"}},
			{"no code", func(l *NewLocation) { l.Code = "" }, []string{"code"}},
			{"no name", func(l *NewLocation) { l.Name = "  " }, []string{"name"}},
			{"no province or city", func(l *NewLocation) { l.Province, l.City = "", "" }, []string{"province", "city"}},
			{"bad kind", func(l *NewLocation) { l.Kind = "shop" }, []string{"kind"}},
			{"lat out of range", func(l *NewLocation) { l.Lat = -90.5 }, []string{"lat"}},
			{"lng out of range", func(l *NewLocation) { l.Lng = 181 }, []string{"lng"}},
			{"null island", func(l *NewLocation) { l.Lat, l.Lng = 0, 0 }, []string{"lat"}},
			{"bad hours", func(l *NewLocation) { l.OpeningHours = "10-22" }, []string{"opening_hours"}},
			{"instant without radius", func(l *NewLocation) { l.Capabilities.Instant = true }, []string{"capabilities.instant_radius_m"}},
			{"instant radius too big", func(l *NewLocation) {
				l.Capabilities.Instant, l.Capabilities.InstantRadiusM = true, 50_001
			}, []string{"capabilities.instant_radius_m"}},
			{"radius without instant", func(l *NewLocation) { l.Capabilities.InstantRadiusM = 3000 }, []string{"capabilities.instant_radius_m"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				in := store("V1", 31.2, 121.4)
				c.change(&in)
				_, err := s.CreateLocation(ctx, in)
				if got := fieldsOf(t, err); !slices.Equal(got, c.fields) {
					t.Fatalf("fields %v; want %v", got, c.fields)
				}
			})
		}
		if n := len(events(t, d)); n != 0 {
			t.Fatalf("%d events after refused creates", n)
		}
		ok := store("V1", 31.2, 121.4)
		ok.OpeningHours, ok.Kind = "", CentralWarehouse
		if _, err := s.CreateLocation(ctx, ok); err != nil {
			t.Fatalf("valid location refused: %v", err)
		}
	})
}

// Many concurrent creates of one code: exactly one wins, the others get
// duplicate_code (the unique constraint decides, not a read before the write).
func TestConcurrentDuplicateCreates(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		const n = 24
		var wins, dups atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := s.CreateLocation(ctx, store("RACE", 31+float64(i)/100, 121))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrDuplicateCode):
					dups.Add(1)
				default:
					t.Errorf("create: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || dups.Load() != n-1 {
			t.Fatalf("wins %d, duplicates %d; want 1 and %d", wins.Load(), dups.Load(), n-1)
		}
		if got := events(t, d); len(got) != 1 {
			t.Fatalf("events %v; want one", got)
		}
	})
}

func TestChannels(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		for _, code := range []string{"SH01", "BJ01", "WH01"} {
			if _, err := s.CreateLocation(ctx, store(code, 31.2, 121.4)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.CreateChannel(ctx, NewChannel{Code: "TM", Name: "天猫旗舰店", Kind: OnlineShop, Locations: []string{"WH01", "XX99", "SH01"}})
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"locations[1]"}) {
			t.Fatalf("unknown location fields %v", got)
		}
		pct := 33.333
		c, err := s.CreateChannel(ctx, NewChannel{Code: "TM", Name: "天猫旗舰店", Kind: OnlineShop, SafetyStock: 2,
			MaxSharePct: &pct, Locations: []string{"WH01", "SH01"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxSharePct != 33.33 || c.MaxShareBP() != 3333 || !slices.Equal(c.Locations, []string{"SH01", "WH01"}) ||
			len(c.LocationIDs) != 2 || !c.Active || c.ID == 0 {
			t.Fatalf("created %+v", c)
		}
		got, err := s.GetChannel(ctx, "TM")
		if err != nil || got.MaxSharePct != 33.33 || !slices.Equal(got.LocationIDs, c.LocationIDs) || got.SafetyStock != 2 {
			t.Fatalf("GetChannel = %+v, %v", got, err)
		}
		sh, _ := s.GetLocation(ctx, "SH01")
		if c.LocationIDs[0] != sh.ID {
			t.Fatalf("LocationIDs %v not in code order (SH01 is %d)", c.LocationIDs, sh.ID)
		}
		if _, err := s.CreateChannel(ctx, NewChannel{Code: "TM", Name: "x", Kind: App}); !errors.Is(err, ErrDuplicateCode) {
			t.Fatalf("duplicate channel: %v", err)
		}
		pos, err := s.CreateChannel(ctx, NewChannel{Code: "POS", Name: "门店收银", Kind: POS})
		if err != nil || pos.MaxSharePct != 100 || pos.MaxShareBP() != 10000 || len(pos.Locations) != 0 || pos.Locations == nil {
			t.Fatalf("POS = %+v, %v", pos, err)
		}

		cases := []struct {
			name   string
			in     NewChannel
			fields []string
		}{
			{"bad kind", NewChannel{Code: "C1", Name: "n", Kind: "tv"}, []string{"kind"}},
			{"negative safety stock", NewChannel{Code: "C1", Name: "n", Kind: App, SafetyStock: -1}, []string{"safety_stock"}},
			{"huge safety stock", NewChannel{Code: "C1", Name: "n", Kind: App, SafetyStock: 1_000_001}, []string{"safety_stock"}},
			{"share over 100", NewChannel{Code: "C1", Name: "n", Kind: App, MaxSharePct: ptr(100.5)}, []string{"max_share_pct"}},
			{"negative share", NewChannel{Code: "C1", Name: "n", Kind: App, MaxSharePct: ptr(-1.0)}, []string{"max_share_pct"}},
			{"repeated location", NewChannel{Code: "C1", Name: "n", Kind: App, Locations: []string{"SH01", "SH01"}}, []string{"locations[1]"}},
			{"no name, bad code", NewChannel{Code: "C 1", Kind: App}, []string{"code", "name"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateChannel(ctx, tc.in)
				if got := fieldsOf(t, err); !slices.Equal(got, tc.fields) {
					t.Fatalf("fields %v; want %v", got, tc.fields)
				}
			})
		}

		name, ss, share, off := "天猫", int64(1), 30.0, false
		u, err := s.UpdateChannel(ctx, "TM", ChannelPatch{Name: &name, SafetyStock: &ss, MaxSharePct: &share, Active: &off})
		if err != nil || u.Name != name || u.SafetyStock != 1 || u.MaxShareBP() != 3000 || u.Active || len(u.Locations) != 2 {
			t.Fatalf("UpdateChannel = %+v, %v", u, err)
		}
		if _, err := s.UpdateChannel(ctx, "TM", ChannelPatch{MaxSharePct: ptr(101.0)}); !slices.Equal(fieldsOf(t, err), []string{"max_share_pct"}) {
			t.Fatalf("bad patch: %v", err)
		}
		if _, err := s.UpdateChannel(ctx, "NOPE", ChannelPatch{Name: &name}); !errors.Is(err, ErrChannelNotFound) {
			t.Fatalf("update missing channel: %v", err)
		}

		if _, err := s.SetChannelLocations(ctx, "TM", []string{"BJ01", "NOPE"}); !slices.Equal(fieldsOf(t, err), []string{"locations[1]"}) {
			t.Fatalf("set unknown location: %v", err)
		}
		set, err := s.SetChannelLocations(ctx, "TM", []string{"WH01", "BJ01"})
		if err != nil || !slices.Equal(set.Locations, []string{"BJ01", "WH01"}) {
			t.Fatalf("SetChannelLocations = %+v, %v", set, err)
		}
		got, _ = s.GetChannel(ctx, "TM")
		if !slices.Equal(got.Locations, []string{"BJ01", "WH01"}) || !slices.Equal(got.LocationIDs, set.LocationIDs) {
			t.Fatalf("stored locations %v %v", got.Locations, got.LocationIDs)
		}
		if _, err := s.SetChannelLocations(ctx, "NOPE", nil); !errors.Is(err, ErrChannelNotFound) {
			t.Fatalf("set on missing channel: %v", err)
		}
		empty, err := s.SetChannelLocations(ctx, "TM", []string{})
		if err != nil || len(empty.Locations) != 0 {
			t.Fatalf("clear locations = %+v, %v", empty, err)
		}

		list, next, err := s.ListChannels(ctx, ChannelFilter{})
		if err != nil || next != "" || len(list) != 2 || list[0].Code != "POS" || list[1].Code != "TM" {
			t.Fatalf("ListChannels = %+v, %q, %v", list, next, err)
		}
		if _, err := s.SetChannelLocations(ctx, "POS", []string{"SH01", "BJ01"}); err != nil {
			t.Fatal(err)
		}
		list, _, _ = s.ListChannels(ctx, ChannelFilter{Location: "SH01"})
		if len(list) != 1 || list[0].Code != "POS" || !slices.Equal(list[0].Locations, []string{"BJ01", "SH01"}) {
			t.Fatalf("channels at SH01: %+v", list)
		}
		page1, next, err := s.ListChannels(ctx, ChannelFilter{Limit: 1})
		if err != nil || len(page1) != 1 || next == "" {
			t.Fatalf("page 1: %+v %q %v", page1, next, err)
		}
		page2, next2, err := s.ListChannels(ctx, ChannelFilter{Limit: 1, Cursor: next})
		if err != nil || len(page2) != 1 || page2[0].Code != "TM" || next2 != "" {
			t.Fatalf("page 2: %+v %q %v", page2, next2, err)
		}
		want := []string{"network.location_created SH01", "network.location_created BJ01", "network.location_created WH01",
			"network.channel_created TM", "network.channel_created POS", "network.channel_updated TM",
			"network.channel_updated TM", "network.channel_updated TM", "network.channel_updated POS"}
		if got := events(t, d); !slices.Equal(got, want) {
			t.Fatalf("events\n%v\nwant\n%v", got, want)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestCacheInvalidation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		var wall atomic.Int64 // the cache's clock, in seconds
		s.cache.clock = func() time.Time { return time.Unix(wall.Load(), 0) }
		if _, err := s.CreateLocation(ctx, store("SH01", 31.2, 121.4)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateChannel(ctx, NewChannel{Code: "MP", Name: "小程序", Kind: MiniProgram, Locations: []string{"SH01"}}); err != nil {
			t.Fatal(err)
		}
		l, err := s.Location(ctx, "SH01")
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Channel(ctx, "MP")
		if err != nil || !slices.Equal(c.LocationIDs, []int64{l.ID}) {
			t.Fatalf("Channel = %+v, %v", c, err)
		}
		// Callers cannot change the cached value through its slices.
		c.Locations[0], c.LocationIDs[0] = "HACK", -1
		if c2, _ := s.Channel(ctx, "MP"); c2.Locations[0] != "SH01" || c2.LocationIDs[0] != l.ID {
			t.Fatalf("cache changed through a returned slice: %+v", c2)
		}

		// Another instance's change is not seen until the entry expires.
		other := newTestService(d)
		name := "改名"
		if _, err := other.UpdateLocation(ctx, "SH01", LocationPatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Location(ctx, "SH01"); got.Name != l.Name {
			t.Fatalf("cached name %q; want the cached %q", got.Name, l.Name)
		}
		wall.Add(int64(cacheTTL/time.Second) + 1)
		if got, _ := s.Location(ctx, "SH01"); got.Name != name {
			t.Fatalf("after expiry name %q; want %q", got.Name, name)
		}

		// This instance's own changes are seen at once, by code and by id.
		name2 := "再改名"
		if _, err := s.UpdateLocation(ctx, "SH01", LocationPatch{Name: &name2}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Location(ctx, "SH01"); got.Name != name2 {
			t.Fatalf("Location after own update: %q", got.Name)
		}
		if got, _ := s.LocationByID(ctx, l.ID); got.Name != name2 {
			t.Fatalf("LocationByID after own update: %q", got.Name)
		}
		if _, err := s.CreateLocation(ctx, store("SH02", 31.3, 121.5)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetChannelLocations(ctx, "MP", []string{"SH01", "SH02"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ChannelByID(ctx, c.ID); len(got.LocationIDs) != 2 {
			t.Fatalf("ChannelByID after own SetChannelLocations: %+v", got)
		}
		ss := int64(3)
		if _, err := s.UpdateChannel(ctx, "MP", ChannelPatch{SafetyStock: &ss}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Channel(ctx, "MP"); got.SafetyStock != 3 || len(got.Locations) != 2 {
			t.Fatalf("Channel after own update: %+v", got)
		}
	})
}

func TestListLocations(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		// A point near People's Square, and points at known distances from it
		// (offsets exact in binary, so that north and south tie exactly).
		const lat0, lng0, step = 31.25, 121.5, 1.0 / 64
		mk := func(code, city string, kind Kind, lat, lng float64, caps Capabilities) {
			in := store(code, lat, lng)
			in.City, in.Kind, in.Capabilities = city, kind, caps
			if kind != Store {
				in.OpeningHours = ""
			}
			if _, err := s.CreateLocation(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		pickup := Capabilities{POS: true, Pickup: true}
		instant := Capabilities{Ship: true, Instant: true, InstantRadiusM: 3000}
		mk("SH-C", "上海", Store, lat0+step, lng0, pickup)             // ≈ 1.74 km north
		mk("SH-A", "上海", Store, lat0, lng0, pickup)                  // 0 m
		mk("SH-B", "上海", FrontWarehouse, lat0, lng0+2*step, instant) // ≈ 2.97 km east
		mk("SH-D", "上海", Store, lat0-step, lng0, Capabilities{})     // ≈ 1.74 km south, tie with SH-C
		mk("HZ-1", "杭州", Store, 30.2590, 120.1620, pickup)           // ≈ 165 km
		mk("BJ-1", "北京", CentralWarehouse, 39.9042, 116.4074, Capabilities{Ship: true})

		codes := func(items []ListedLocation) []string {
			var out []string
			for _, it := range items {
				out = append(out, it.Code)
			}
			return out
		}
		items, next, err := s.ListLocations(ctx, LocationFilter{Near: &Point{lat0, lng0}, WithinM: 5000})
		if err != nil || next != "" {
			t.Fatal(err, next)
		}
		if got, want := codes(items), []string{"SH-A", "SH-C", "SH-D", "SH-B"}; !slices.Equal(got, want) {
			t.Fatalf("near order %v; want %v", got, want)
		}
		for i, it := range items {
			if it.DistanceM == nil {
				t.Fatalf("%s has no distance", it.Code)
			}
			if i > 0 && *it.DistanceM < *items[i-1].DistanceM {
				t.Fatalf("distances not ascending: %v", items)
			}
		}
		if *items[0].DistanceM != 0 || *items[1].DistanceM != *items[2].DistanceM ||
			math.Abs(*items[1].DistanceM-1737.4) > 0.1 || math.Abs(*items[3].DistanceM-2971) > 5 {
			t.Fatalf("distances %v %v", *items[0].DistanceM, *items[1].DistanceM)
		}
		// Paging a near query keeps the order, ties broken by code.
		var paged []string
		cursor := ""
		for range 10 {
			page, n, err := s.ListLocations(ctx, LocationFilter{Near: &Point{lat0, lng0}, WithinM: 200_000, Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, codes(page)...)
			if cursor = n; cursor == "" {
				break
			}
		}
		if want := []string{"SH-A", "SH-C", "SH-D", "SH-B", "HZ-1"}; !slices.Equal(paged, want) {
			t.Fatalf("paged near %v; want %v", paged, want)
		}
		items, _, _ = s.ListLocations(ctx, LocationFilter{Near: &Point{lat0, lng0}, WithinM: 5000, Capability: CapInstant})
		if got := codes(items); !slices.Equal(got, []string{"SH-B"}) {
			t.Fatalf("near instant %v", got)
		}

		filters := []struct {
			name string
			f    LocationFilter
			want []string
		}{
			{"all by code", LocationFilter{}, []string{"BJ-1", "HZ-1", "SH-A", "SH-B", "SH-C", "SH-D"}},
			{"kind", LocationFilter{Kind: Store}, []string{"HZ-1", "SH-A", "SH-C", "SH-D"}},
			{"city", LocationFilter{City: "杭州"}, []string{"HZ-1"}},
			{"capability pickup", LocationFilter{Capability: CapPickup}, []string{"HZ-1", "SH-A", "SH-C"}},
			{"capability ship", LocationFilter{Capability: CapShip}, []string{"BJ-1", "SH-B"}},
			{"q on code, case-insensitive", LocationFilter{Q: "sh-"}, []string{"SH-A", "SH-B", "SH-C", "SH-D"}},
			{"q is literal", LocationFilter{Q: "SH_"}, nil},
			{"region and province", LocationFilter{Region: "east", Province: "上海", Kind: CentralWarehouse}, []string{"BJ-1"}},
			{"inactive", LocationFilter{Active: ptr(false)}, nil},
		}
		for _, c := range filters {
			t.Run(c.name, func(t *testing.T) {
				items, _, err := s.ListLocations(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := codes(items); !slices.Equal(got, c.want) {
					t.Fatalf("got %v; want %v", got, c.want)
				}
				for _, it := range items {
					if it.DistanceM != nil {
						t.Fatalf("distance set outside a near query")
					}
				}
			})
		}
		var all []string
		cursor = ""
		for range 10 {
			page, n, err := s.ListLocations(ctx, LocationFilter{Limit: 4, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, codes(page)...)
			if cursor = n; cursor == "" {
				break
			}
		}
		if len(all) != 6 || !slices.IsSorted(all) {
			t.Fatalf("paged list %v", all)
		}

		bad := []struct {
			name  string
			f     LocationFilter
			field string
		}{
			{"kind", LocationFilter{Kind: "x"}, "kind"},
			{"capability", LocationFilter{Capability: "fly"}, "capability"},
			{"within without near", LocationFilter{WithinM: 10}, "within_m"},
			{"negative within", LocationFilter{Near: &Point{31, 121}, WithinM: -1}, "within_m"},
			{"near out of range", LocationFilter{Near: &Point{95, 121}}, "near"},
			{"limit", LocationFilter{Limit: 501}, "limit"},
			{"cursor", LocationFilter{Cursor: "!!"}, "cursor"},
			{"near cursor", LocationFilter{Near: &Point{31, 121}, Cursor: encodeCursor("x")}, "cursor"},
		}
		for _, c := range bad {
			_, _, err := s.ListLocations(ctx, c.f)
			if got := fieldsOf(t, err); !slices.Equal(got, []string{c.field}) {
				t.Errorf("%s: fields %v; want %s", c.name, got, c.field)
			}
		}
	})
}

func TestBulkUpsert(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := newTestService(d)
		var locs []Location
		for i := range 30 {
			l := store(fmt.Sprintf("S%02d", i), 31+float64(i)/10, 121).location()
			locs = append(locs, l)
		}
		wh := store("CW", 30.75, 120.76).location()
		wh.Kind, wh.OpeningHours, wh.Capabilities = CentralWarehouse, "", Capabilities{Ship: true}
		locs = append(locs, wh)
		chans := []Channel{
			{Code: "ONLINE", Name: "官方商城", Kind: OnlineShop, SafetyStock: 1, MaxSharePct: 100, Locations: []string{"CW", "S01"}, Active: true},
			{Code: "LIVE", Name: "直播", Kind: LiveStream, MaxSharePct: 30, Locations: []string{"CW"}, Active: true},
		}
		if err := s.BulkUpsert(ctx, locs, chans); err != nil {
			t.Fatal(err)
		}
		first := events(t, d)
		if len(first) != 33 {
			t.Fatalf("%d events after first load; want 33", len(first))
		}
		before, _ := s.AllLocations(ctx)
		// The same call again changes nothing.
		if err := s.BulkUpsert(ctx, locs, chans); err != nil {
			t.Fatal(err)
		}
		if got := events(t, d); len(got) != 33 {
			t.Fatalf("re-run appended %d events", len(got)-33)
		}
		after, _ := s.AllLocations(ctx)
		if !slices.Equal(before, after) {
			t.Fatal("re-run changed locations")
		}
		live, _ := s.Channel(ctx, "LIVE") // cached now
		if live.MaxShareBP() != 3000 || !slices.Equal(live.Locations, []string{"CW"}) {
			t.Fatalf("LIVE = %+v", live)
		}
		// A refresh changes only what differs, and empties the cache.
		locs[3].Name = "Omni 新名字"
		chans[1].Locations = []string{"CW", "S02"}
		if err := s.BulkUpsert(ctx, locs, chans); err != nil {
			t.Fatal(err)
		}
		got := events(t, d)[33:]
		if want := []string{"network.location_updated S03", "network.channel_updated LIVE"}; !slices.Equal(got, want) {
			t.Fatalf("refresh events %v; want %v", got, want)
		}
		if live, _ := s.Channel(ctx, "LIVE"); !slices.Equal(live.Locations, []string{"CW", "S02"}) {
			t.Fatalf("cached LIVE after refresh: %v", live.Locations)
		}
		i03 := slices.IndexFunc(before, func(l Location) bool { return l.Code == "S03" })
		if l, _ := s.GetLocation(ctx, "S03"); l.Name != "Omni 新名字" || l.CreatedAt != before[i03].CreatedAt || l.ID != before[i03].ID {
			t.Fatalf("S03 after refresh: %+v", l)
		}

		// Bad input is refused whole, naming the element.
		bad := slices.Clone(locs)
		bad[5].Lat = 100
		badChans := []Channel{{Code: "X", Name: "x", Kind: App, MaxSharePct: 100, Locations: []string{"S01", "NOPE"}}}
		err := s.BulkUpsert(ctx, bad, nil)
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"locations[5].lat"}) {
			t.Fatalf("fields %v", got)
		}
		err = s.BulkUpsert(ctx, nil, badChans)
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"channels[0].locations[1]"}) {
			t.Fatalf("fields %v", got)
		}
		if _, err := s.GetChannel(ctx, "X"); !errors.Is(err, ErrChannelNotFound) {
			t.Fatalf("refused bulk left channel X: %v", err)
		}
		err = s.BulkUpsert(ctx, []Location{locs[0], locs[0]}, nil)
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"locations[1].code"}) {
			t.Fatalf("fields %v", got)
		}
	})
}

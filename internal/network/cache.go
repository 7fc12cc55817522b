package network

import (
	"slices"
	"sync"
	"time"
)

// cacheTTL bounds how long a change made by another instance may go unseen
// by the cached lookups.
const cacheTTL = 5 * time.Second

// cache keeps recently read locations and channels. A generation counter,
// bumped on every invalidation, keeps a read that raced with a change from
// storing the value it read before the change.
type cache struct {
	clock func() time.Time // wall clock for expiry (not the business clock)

	mu      sync.Mutex
	gen     uint64
	locCode map[string]cached[Location]
	locID   map[int64]cached[Location]
	chCode  map[string]cached[Channel]
	chID    map[int64]cached[Channel]
}

type cached[T any] struct {
	v     T
	until time.Time
}

func newCache() *cache {
	c := &cache{clock: time.Now}
	c.reset()
	return c
}

func (c *cache) reset() {
	c.locCode = map[string]cached[Location]{}
	c.locID = map[int64]cached[Location]{}
	c.chCode = map[string]cached[Channel]{}
	c.chID = map[int64]cached[Channel]{}
}

// invalidate empties the cache at once.
func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.reset()
	c.mu.Unlock()
}

// generation returns the current generation, to pass to a later put.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func lookup[K comparable, T any](c *cache, m map[K]cached[T], k K) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m[k]
	if !ok || c.clock().After(e.until) {
		var zero T
		return zero, false
	}
	return e.v, true
}

func (c *cache) location(code string) (Location, bool)  { return lookup(c, c.locCode, code) }
func (c *cache) locationByID(id int64) (Location, bool) { return lookup(c, c.locID, id) }

func (c *cache) channel(code string) (Channel, bool) {
	ch, ok := lookup(c, c.chCode, code)
	return cloneChannel(ch), ok
}

func (c *cache) channelByID(id int64) (Channel, bool) {
	ch, ok := lookup(c, c.chID, id)
	return cloneChannel(ch), ok
}

// putLocation stores l unless the cache was invalidated since gen.
func (c *cache) putLocation(gen uint64, l Location) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	e := cached[Location]{v: l, until: c.clock().Add(cacheTTL)}
	c.locCode[l.Code], c.locID[l.ID] = e, e
}

// putChannel stores ch unless the cache was invalidated since gen.
func (c *cache) putChannel(gen uint64, ch Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	e := cached[Channel]{v: cloneChannel(ch), until: c.clock().Add(cacheTTL)}
	c.chCode[ch.Code], c.chID[ch.ID] = e, e
}

// cloneChannel copies the slices so that callers cannot change the cache.
func cloneChannel(ch Channel) Channel {
	ch.Locations = slices.Clone(ch.Locations)
	ch.LocationIDs = slices.Clone(ch.LocationIDs)
	return ch
}

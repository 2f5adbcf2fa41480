package store

import (
	"hash/maphash"
	"maps"
)

// cowMap is an immutable string-keyed map split into shards, so that a new
// version with a few keys changed copies only the shards those keys fall in
// rather than the whole map. A view of 100,000 identities changes ten of them
// by copying about ten shards of a hundred entries each.
type cowMap[V any] struct {
	seed   maphash.Seed
	shards []map[string]V // len is a power of two
	n      int
}

// cowShardTarget is the mean number of entries per shard a map is built
// with; a shard is the unit of copying.
const (
	cowShardTarget = 64
	cowShardMax    = 4 * cowShardTarget // past this mean the map is re-split
)

func newCowMap[V any](sizeHint int) *cowMap[V] {
	return &cowMap[V]{seed: maphash.MakeSeed(), shards: make([]map[string]V, shardCountFor(sizeHint))}
}

func shardCountFor(n int) int {
	c := 1
	for c*cowShardTarget < n {
		c *= 2
	}
	return c
}

func (m *cowMap[V]) shard(key string) int {
	return int(maphash.String(m.seed, key) & uint64(len(m.shards)-1))
}

func (m *cowMap[V]) get(key string) (V, bool) {
	v, ok := m.shards[m.shard(key)][key]
	return v, ok
}

func (m *cowMap[V]) len() int { return m.n }

// edit starts a new version of m; m itself never changes.
func (m *cowMap[V]) edit() *cowEdit[V] {
	next := &cowMap[V]{seed: m.seed, shards: append([]map[string]V(nil), m.shards...), n: m.n}
	return &cowEdit[V]{next: next, owned: make(map[int]bool)}
}

// cowEdit builds one new version of a cowMap; shards are copied the first
// time a key in them changes.
type cowEdit[V any] struct {
	next  *cowMap[V]
	owned map[int]bool
}

func (e *cowEdit[V]) get(key string) (V, bool) { return e.next.get(key) }

func (e *cowEdit[V]) writable(key string) map[string]V {
	s := e.next.shard(key)
	if !e.owned[s] {
		e.next.shards[s] = maps.Clone(e.next.shards[s])
		if e.next.shards[s] == nil {
			e.next.shards[s] = make(map[string]V)
		}
		e.owned[s] = true
	}
	return e.next.shards[s]
}

func (e *cowEdit[V]) set(key string, v V) {
	sh := e.writable(key)
	if _, ok := sh[key]; !ok {
		e.next.n++
	}
	sh[key] = v
}

func (e *cowEdit[V]) delete(key string) {
	if _, ok := e.get(key); !ok {
		return
	}
	delete(e.writable(key), key)
	e.next.n--
}

// done returns the new version, re-split when it has outgrown its shards
// (amortised: the map doubles before it is rebuilt again).
func (e *cowEdit[V]) done() *cowMap[V] {
	m := e.next
	e.next = nil
	if m.n <= cowShardMax*len(m.shards) {
		return m
	}
	grown := &cowMap[V]{seed: m.seed, shards: make([]map[string]V, shardCountFor(m.n)), n: m.n}
	for _, sh := range m.shards {
		for k, v := range sh {
			s := grown.shard(k)
			if grown.shards[s] == nil {
				grown.shards[s] = make(map[string]V, cowShardTarget)
			}
			grown.shards[s][k] = v
		}
	}
	return grown
}

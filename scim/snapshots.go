package scim

import (
	"crypto/rand"
	"encoding/base64"
	"hash/maphash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/personio-scim/personio-scim/store"
)

// A client that pages through a listing must see one directory from the
// first page to the last: pages cut by position from a directory that a
// sync changes in between shift people across page boundaries, and an
// import that misses someone may deprovision them. So the view a listing
// started on is kept, for a bounded time, and later pages of the same
// listing are cut from it. Views are immutable, so keeping one costs only
// the memory of what has changed since.
//
// An index listing (startIndex) is recognised by its client (a hash of
// the Authorization header), resource type, filter, sort order and page
// size (so that Okta's connection test, two users from startIndex 1, does
// not restart an import of the same token under way): its
// first page (startIndex 1) pins the current view when the listing does not
// fit on that page, and pages with startIndex > 1 are cut from that view
// while it is kept. A cursor listing (RFC 9865) names its view in the
// cursor, which is only valid for the client it was issued to.

const (
	defaultSnapshotIdle   = 2 * time.Minute
	defaultSnapshotMaxAge = 30 * time.Minute
	defaultMaxSnapshots   = 64
)

// listingKey identifies one index listing of one client.
type listingKey struct {
	client     uint64
	kind       resourceKind
	filter     string
	sortBy     string
	descending bool
	count      int
}

type snapshot struct {
	id      string // names the snapshot in cursors
	client  uint64
	key     listingKey
	indexed bool // reachable by key (index paging), not only by id
	view    *store.View
	created time.Time
	used    time.Time
}

// snapshots is the bounded set of kept views.
type snapshots struct {
	seed   maphash.Seed
	now    func() time.Time
	idle   time.Duration
	maxAge time.Duration
	max    int

	mu    sync.Mutex
	byKey map[listingKey]*snapshot
	byID  map[string]*snapshot
}

func newSnapshots(now func() time.Time, idle, maxAge time.Duration, max int) *snapshots {
	return &snapshots{seed: maphash.MakeSeed(), now: now, idle: idle, maxAge: maxAge, max: max,
		byKey: map[listingKey]*snapshot{}, byID: map[string]*snapshot{}}
}

// client names who lists, without keeping the credential itself.
func (s *snapshots) client(r *http.Request) uint64 {
	return maphash.String(s.seed, r.Header.Get("Authorization"))
}

func (s *snapshots) live(snap *snapshot, now time.Time) bool {
	return now.Sub(snap.used) < s.idle && now.Sub(snap.created) < s.maxAge
}

// indexed returns the view an index listing continues on, if it is kept.
func (s *snapshots) indexed(key listingKey) (*store.View, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.byKey[key]
	if !ok || !s.live(snap, now) {
		return nil, false
	}
	snap.used = now
	return snap.view, true
}

// pinIndexed keeps view for the index listing key, replacing what a
// previous listing of the same key kept.
func (s *snapshots) pinIndexed(key listingKey, view *store.View) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byKey[key]; ok {
		if old.view == view && s.live(old, now) {
			old.used = now
			return
		}
		s.drop(old)
	}
	snap := &snapshot{key: key, client: key.client, indexed: true, view: view, created: now, used: now}
	s.insert(snap, now)
	s.byKey[key] = snap
}

// pinCursor keeps view under a new random id and returns the id.
func (s *snapshots) pinCursor(client uint64, view *store.View) string {
	now := s.now()
	snap := &snapshot{client: client, view: view, created: now, used: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insert(snap, now)
	return snap.id
}

// cursor returns the view a cursor's id names. A cursor that is not kept
// (any more) and one issued to another client get the same answer, so that
// a cursor tells nobody else anything about the listing behind it.
func (s *snapshots) cursor(client uint64, id string) (*store.View, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.byID[id]
	if !ok || !s.live(snap, now) || snap.client != client {
		return nil, expiredCursor()
	}
	snap.used = now
	return snap.view, nil
}

// insert adds snap, first dropping expired snapshots (so that an idle
// server does not keep old views alive longer than until the next listing)
// and, when still full, the one used longest ago. Callers hold mu.
func (s *snapshots) insert(snap *snapshot, now time.Time) {
	var oldest *snapshot
	for _, o := range s.byID {
		if !s.live(o, now) {
			s.drop(o)
		} else if oldest == nil || o.used.Before(oldest.used) {
			oldest = o
		}
	}
	if len(s.byID) >= s.max && oldest != nil {
		s.drop(oldest)
	}
	if snap.id == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		snap.id = base64.RawURLEncoding.EncodeToString(b[:])
	}
	s.byID[snap.id] = snap
}

func (s *snapshots) drop(snap *snapshot) {
	delete(s.byID, snap.id)
	if snap.indexed && s.byKey[snap.key] == snap {
		delete(s.byKey, snap.key)
	}
}

// cursorOf is a cursor as the client sends it back: the snapshot's id and
// the offset of the next page, "id.offset". Clients treat it as opaque.
func cursorOf(id string, offset int) string { return id + "." + strconv.Itoa(offset) }

func parseCursor(c string) (id string, offset int, ok bool) {
	id, off, found := strings.Cut(c, ".")
	if !found || id == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return id, n, true
}

func invalidCursor() scimerrors.ScimError {
	return badRequest("invalidCursor", "The cursor is not one this server issues; start the listing with an empty cursor.")
}

func expiredCursor() scimerrors.ScimError {
	return badRequest("expiredCursor", "The cursor has expired or is unknown; start the listing again with an empty cursor.")
}

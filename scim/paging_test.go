package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

// importer pages through /Users the way one client does: Okta-style with
// startIndex, or with RFC 9865 cursors.
type importer struct {
	filter string
	match  func(*store.Identity) bool
	cursor bool
	token  string

	// the import in progress
	want    map[string]string // id → userName in the view the import started on
	got     map[string]string
	total   int
	next    int    // startIndex of the next page
	nextCur string // cursor of the next page
	started bool
	pages   int
}

// liveSync changes the directory the way syncs do, deterministically:
// people join, leave and are renamed or deactivated.
type liveSync struct {
	t      *testing.T
	h      *harness
	rng    *rand.Rand
	nextID int
	steps  int
}

func (s *liveSync) step() {
	s.t.Helper()
	s.steps++
	view := s.h.dir.View()
	ids := view.Identities()
	cs := store.ChangeSet{Actor: "sync", Cause: "paging test " + strconv.Itoa(s.steps)}
	switch k := s.rng.IntN(10); {
	case k < 4 || len(ids) < 20:
		s.join()
		return
	case k < 7:
		gone := ids[s.rng.IntN(len(ids))]
		for _, g := range view.GroupsOf(gone.ID) {
			ng := *g
			ng.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == gone.ID })
			cs.Groups = append(cs.Groups, store.GroupChange{Op: store.OpUpdate, Group: ng})
		}
		for _, other := range ids {
			if other.Manager == gone.ID {
				o := other.Clone()
				o.Manager = ""
				cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: o})
			}
		}
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpDelete, Identity: *gone})
	default:
		u := ids[s.rng.IntN(len(ids))].Clone()
		// Alternately into and out of the "user0" prefix one importer
		// filters on.
		u.UserName = fmt.Sprintf("%s%05d@example.de", []string{"renamed", "user0r"}[s.steps%2], s.steps)
		u.DisplayName = "Renamed " + strconv.Itoa(s.steps)
		u.Active = !u.Active
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: u})
	}
	s.apply(cs)
}

// join adds a new person.
func (s *liveSync) join() {
	s.t.Helper()
	s.nextID++
	i := scim.PersonIdentity(scim.SyntheticPeople(1)[0])
	pid := strconv.Itoa(50000 + s.nextID)
	i.ID, i.PersonioID, i.ExternalID, i.EmployeeNumber = scim.PersonID(pid), pid, pid, pid
	i.UserName = fmt.Sprintf("%s%05d@example.de", []string{"joiner", "user0j"}[s.nextID%2], s.nextID)
	i.Email = i.UserName
	i.Manager = ""
	s.apply(store.ChangeSet{Actor: "sync", Cause: "paging test join", Identities: []store.IdentityChange{{Op: store.OpCreate, Identity: i}}})
}

func (s *liveSync) apply(cs store.ChangeSet) {
	s.t.Helper()
	if _, err := s.h.dir.Apply(context.Background(), cs); err != nil {
		s.t.Fatalf("sync step %d: %v", s.steps, err)
	}
}

// TestImportsSeeOneSnapshot runs 100 complete imports over loopback, by
// five interleaved clients, while a sync changes the directory between
// every two page requests. Every import must list exactly the users of the
// directory as it was when the import started: nobody missing, nobody twice.
func TestImportsSeeOneSnapshot(t *testing.T) {
	h := newHarness(t, append(scim.CompanyPeople(), scim.SyntheticPeople(120)...), scim.Options{})
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	client := srv.Client()
	sync := &liveSync{t: t, h: h, rng: rand.New(rand.NewPCG(13, 1))}
	importers := []*importer{
		{filter: "", match: func(*store.Identity) bool { return true }, token: writeToken},
		{filter: `active eq true`, match: func(i *store.Identity) bool { return i.Active }, token: writeToken},
		{filter: `userName sw "user0"`, match: func(i *store.Identity) bool { return strings.HasPrefix(i.UserName, "user0") }, token: writeToken},
		{filter: "", match: func(*store.Identity) bool { return true }, token: readToken},
		{filter: "", match: func(*store.Identity) bool { return true }, token: writeToken, cursor: true},
	}
	const count, imports = 9, 100
	done, pages, shortest := 0, 0, 1<<30
	for done < imports {
		for _, imp := range importers {
			if done >= imports {
				break
			}
			if n, complete := imp.page(t, client, srv.URL, h.dir.View(), count); complete {
				done++
				shortest = min(shortest, n)
			}
			pages++
			sync.step()
		}
	}
	t.Logf("%d imports in %d page requests, %d sync steps", done, pages, sync.steps)
	if shortest < 5 {
		t.Errorf("an import of only %d pages: the test no longer pages across changes", shortest)
	}
}

// page requests the next page of imp's import, starting one if none is
// under way, and reports whether the import is complete (and checked) and
// how many pages it took.
func (imp *importer) page(t *testing.T, client *http.Client, baseURL string, now *store.View, count int) (int, bool) {
	t.Helper()
	if !imp.started {
		imp.started, imp.next, imp.nextCur, imp.pages = true, 1, "", 0
		imp.want, imp.got = map[string]string{}, map[string]string{}
		for _, i := range now.Identities() {
			if imp.match(i) {
				imp.want[i.ID] = i.UserName
			}
		}
	}
	q := url.Values{"count": {strconv.Itoa(count)}}
	if imp.filter != "" {
		q.Set("filter", imp.filter)
	}
	if imp.cursor {
		q.Set("cursor", imp.nextCur)
	} else {
		q.Set("startIndex", strconv.Itoa(imp.next))
	}
	req, _ := http.NewRequest(http.MethodGet, baseURL+"/scim/v2/Users?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+imp.token)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		TotalResults int              `json:"totalResults"`
		NextCursor   string           `json:"nextCursor"`
		Resources    []map[string]any `json:"Resources"`
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("page: status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("page: %v", err)
	}
	if imp.next == 1 && imp.nextCur == "" {
		imp.total = body.TotalResults
	} else if body.TotalResults != imp.total {
		t.Errorf("%q: totalResults moved from %d to %d during one import", imp.filter, imp.total, body.TotalResults)
	}
	for _, u := range body.Resources {
		id, _ := u["id"].(string)
		if _, twice := imp.got[id]; twice {
			t.Errorf("%q cursor=%v: %s listed twice in one import", imp.filter, imp.cursor, id)
		}
		imp.got[id], _ = u["userName"].(string)
	}
	imp.next += len(body.Resources)
	imp.pages++
	imp.nextCur = body.NextCursor
	more := imp.next <= imp.total
	if imp.cursor {
		more = body.NextCursor != ""
	}
	if more && len(body.Resources) > 0 {
		return imp.pages, false
	}
	imp.started = false
	for id, name := range imp.want {
		if got, ok := imp.got[id]; !ok {
			t.Errorf("%q cursor=%v: %s missing from an import", imp.filter, imp.cursor, id)
		} else if got != name {
			t.Errorf("%q cursor=%v: %s listed as %q, its userName when the import started was %q", imp.filter, imp.cursor, id, got, name)
		}
	}
	for id := range imp.got {
		if _, ok := imp.want[id]; !ok {
			t.Errorf("%q cursor=%v: %s listed but not in the directory the import started on", imp.filter, imp.cursor, id)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return imp.pages, true
}

// fakeClock is a settable clock for snapshot expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestCursorPaging checks RFC 9865 cursors: advertised, complete, bound
// to the client they were issued to, and expiring.
func TestCursorPaging(t *testing.T) {
	clock := &fakeClock{now: scim.FixtureTime}
	h := newHarness(t, append(scim.CompanyPeople(), scim.SyntheticPeople(20)...), scim.Options{Now: clock.Now, SnapshotIdle: time.Minute})

	spc := h.get("/scim/v2/ServiceProviderConfig").expect(t, http.StatusOK).body
	for k, want := range map[string]any{"cursor": true, "index": true, "defaultPaginationMethod": "index", "cursorTimeout": float64(60)} {
		if got := path(spc, "pagination", k); got != want {
			t.Errorf("pagination.%s = %v, want %v", k, got, want)
		}
	}

	first := h.get("/scim/v2/Users?cursor=&count=10").expect(t, http.StatusOK)
	seen := map[string]bool{}
	for _, u := range cursorPage(t, first) {
		seen[str(u, "id")] = true
	}
	next := str(first.body, "nextCursor")
	if next == "" {
		t.Fatal("first page of 28 users without nextCursor")
	}
	t.Run("another client cannot use the cursor", func(t *testing.T) {
		// The same answer as for an unknown cursor: it tells the other
		// client nothing.
		h.get("/scim/v2/Users?cursor="+url.QueryEscape(next)+"&count=10", "Authorization: Bearer "+readToken).
			expectError(t, http.StatusBadRequest, "expiredCursor")
	})
	t.Run("cursor without a value starts a listing", func(t *testing.T) {
		if str(h.get("/scim/v2/Users?cursor&count=10").expect(t, http.StatusOK).body, "nextCursor") == "" {
			t.Error("no nextCursor")
		}
	})
	t.Run("a made-up cursor", func(t *testing.T) {
		h.get("/scim/v2/Users?cursor=nonsense").expectError(t, http.StatusBadRequest, "invalidCursor")
		h.get("/scim/v2/Users?cursor=AAAA.10").expectError(t, http.StatusBadRequest, "expiredCursor")
	})
	for next != "" {
		clock.advance(50 * time.Second) // within the idle limit of every page
		res := h.get("/scim/v2/Users?cursor="+url.QueryEscape(next)+"&count=10").expect(t, http.StatusOK)
		for _, u := range cursorPage(t, res) {
			if seen[str(u, "id")] {
				t.Errorf("%s twice", str(u, "id"))
			}
			seen[str(u, "id")] = true
		}
		next = str(res.body, "nextCursor")
	}
	if len(seen) != 28 {
		t.Errorf("%d users listed, want 28", len(seen))
	}
	t.Run("an idle cursor expires", func(t *testing.T) {
		again := str(h.get("/scim/v2/Users?cursor=&count=10").expect(t, http.StatusOK).body, "nextCursor")
		clock.advance(61 * time.Second)
		h.get("/scim/v2/Users?cursor="+url.QueryEscape(again)).expectError(t, http.StatusBadRequest, "expiredCursor")
	})
	t.Run("search with a cursor", func(t *testing.T) {
		res := h.do(http.MethodPost, "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"cursor":"","count":5}`).
			expect(t, http.StatusOK)
		if str(res.body, "nextCursor") == "" || len(cursorPage(t, res)) != 5 {
			t.Errorf("body %s", res.raw)
		}
	})
}

// cursorPage checks a ListResponse of cursor paging, which has no
// startIndex, and returns its resources.
func cursorPage(t *testing.T, r response) []map[string]any {
	t.Helper()
	if _, ok := r.body["startIndex"]; ok {
		t.Errorf("a cursor page carries startIndex: %s", r.raw)
	}
	r.body["startIndex"] = float64(0) // what resources checks besides
	return r.resources(t)
}

// TestIndexSnapshotBounds checks that a kept view is let go: after the
// idle limit a later page comes from the current directory, and no more
// than MaxSnapshots listings are kept.
func TestIndexSnapshotBounds(t *testing.T) {
	clock := &fakeClock{now: scim.FixtureTime}
	h := newHarness(t, append(scim.CompanyPeople(), scim.SyntheticPeople(20)...),
		scim.Options{Now: clock.Now, SnapshotIdle: time.Minute, MaxSnapshots: 2})
	sync := &liveSync{t: t, h: h, rng: rand.New(rand.NewPCG(1, 2))}
	total := func(r response) int { return r.total() }

	start := total(h.get("/scim/v2/Users?startIndex=1&count=5").expect(t, http.StatusOK))
	const adds = 3
	for range adds {
		sync.join()
	}
	if got := total(h.get("/scim/v2/Users?startIndex=6&count=5").expect(t, http.StatusOK)); got != start {
		t.Errorf("second page within the idle limit: totalResults %d, want %d of the kept view", got, start)
	}
	clock.advance(61 * time.Second)
	if got := total(h.get("/scim/v2/Users?startIndex=11&count=5").expect(t, http.StatusOK)); got != start+adds {
		t.Errorf("after the idle limit: totalResults %d, want the current %d", got, start+adds)
	}

	t.Run("a probe with another page size does not restart the import", func(t *testing.T) {
		first := total(h.get("/scim/v2/Users?startIndex=1&count=5").expect(t, http.StatusOK))
		sync.join()
		h.get("/scim/v2/Users?startIndex=1&count=2").expect(t, http.StatusOK) // Okta's connection test
		h.get("/scim/v2/Users?count=0").expect(t, http.StatusOK)
		if got := total(h.get("/scim/v2/Users?startIndex=6&count=5").expect(t, http.StatusOK)); got != first {
			t.Errorf("totalResults %d after the probe, want %d of the import's view", got, first)
		}
	})

	// Two later listings push the first one out of a cache of two: it is
	// the one used longest ago (the clock moves between requests, so that
	// "longest ago" is not a tie).
	clock.advance(time.Second)
	fresh := total(h.get("/scim/v2/Users?startIndex=1&count=5").expect(t, http.StatusOK))
	sync.join()
	for _, f := range []string{`active eq true`, `active eq false`} {
		clock.advance(time.Second)
		h.get("/scim/v2/Users?count=1&"+filterQuery(f)).expect(t, http.StatusOK)
	}
	now := len(h.dir.View().Identities())
	if got := total(h.get("/scim/v2/Users?startIndex=6&count=5").expect(t, http.StatusOK)); got != now || now == fresh {
		t.Errorf("evicted listing: totalResults %d, want the current %d (kept was %d)", got, now, fresh)
	}
}

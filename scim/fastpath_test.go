package scim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/personio-scim/personio-scim/store"
)

// The lookup's fast paths next to the general ones they replace: each test
// here holds the two to the same bytes.

// oddPeople are fixture people whose values need every kind of escaping:
// quotes, backslashes, control characters, invalid UTF-8, U+2028, and a
// department whose group id and name need care in URLs and JSON.
func oddPeople() []person {
	return []person{
		{"3001", `Zoë "Z" \ <b>`, "O'Malley\x01\u2028", "odd\"quote@example.de", "R&D; \xff\"/x", "Tab\tNew\nline", "1001", true},
		{"3002", "\u2029Ünïcödé", "\x7f\x1f", "UPPER.Case@Example.DE", "Sales", "", "3001", false},
	}
}

func fastPathFixture(tb testing.TB) (*store.Directory, store.Store) {
	people := append(append(company(), oddPeople()...), syntheticPeople(30)...)
	st, dir := newFixtureStore(tb, people)
	return dir, st
}

// appendJSONStringBodyPlain is the escaper as it was before it skipped
// safe runs a word at a time: one byte at a time.
func appendJSONStringBodyPlain(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

func FuzzJSONStringBodyWordwise(f *testing.F) {
	for _, s := range []string{"", "plain ascii text that is long", "abcdefg\"", "abcdefgh\\ijklmnop", "12345678\x1f",
		"user01126@example.de", "Käthe Meyer", "\x7f\x80\xff12345678", "ABCDEFGH\u2028", "~~~~~~~~ !!!!!!!!", "\t\n\r\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := appendJSONStringBody([]byte("x"), s), appendJSONStringBodyPlain([]byte("x"), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: wordwise %q, bytewise %q", s, got, want)
		}
		// jsonSafe may refuse strings that come out unchanged (any non-ASCII),
		// never accept one that does not.
		if jsonSafe(s) && string(appendJSONStringBodyPlain(nil, s)) != s {
			t.Fatalf("jsonSafe(%q) is true, but it is escaped", s)
		}
	})
}

// TestRenderCacheSameBytes renders every fixture User through the cache
// (once to fill it, once from it) and directly, for several bases and
// projections, first and second in a list.
func TestRenderCacheSameBytes(t *testing.T) {
	dir, st := fastPathFixture(t)
	h, err := newHandler(dir, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	view := dir.View()
	projections := []projection{
		fullUser,
		newProjection(h.userLeaves, userURN, []string{"userName"}, nil),
		newProjection(h.userLeaves, userURN, nil, []string{"groups", "meta.version"}),
	}
	for _, base := range []string{"http://scim.example.com/scim/v2", "https://h:8443", "", `http://x/a"b\c` + "\u2028"} {
		cache := &renderCache{view: view, limit: defaultRenderCacheBytes}
		for round := range 2 {
			for _, p := range projections {
				for _, u := range view.Identities() {
					rd := renderer{base: base, view: view, fields: p}
					for _, prefix := range []bool{false, true} {
						direct, cached := jsonWriter{}, jsonWriter{}
						if prefix {
							direct.beginArray()
							direct.str("x")
							cached.beginArray()
							cached.str("x")
						}
						rd.user(&direct, u)
						h.userJSON(&cached, &rd, u, cache, true)
						if !bytes.Equal(direct.b, cached.b) || direct.comma != cached.comma {
							t.Fatalf("round %d, base %q, projection %x, user %s:\ncached %s\ndirect %s", round, base, p, u.ID, cached.b, direct.b)
						}
					}
				}
			}
		}
		if _, ok := cache.entries.Load(view.Identities()[0]); !ok {
			t.Fatal("the cache kept nothing")
		}
	}
}

// TestRenderCacheBound checks that the cache stops keeping renderings at
// its bound and answers the same without them.
func TestRenderCacheBound(t *testing.T) {
	dir, st := fastPathFixture(t)
	h, err := newHandler(dir, st, Options{RenderCacheBytes: 3000})
	if err != nil {
		t.Fatal(err)
	}
	view := dir.View()
	cache := h.renderCacheFor(view)
	rd := renderer{base: "http://h", view: view, fields: fullUser}
	for _, u := range view.Identities() {
		direct, cached := jsonWriter{}, jsonWriter{}
		rd.user(&direct, u)
		h.userJSON(&cached, &rd, u, cache, true)
		if !bytes.Equal(direct.b, cached.b) {
			t.Fatalf("user %s differs past the bound", u.ID)
		}
	}
	if n := cache.size.Load(); n > 3000 || n == 0 {
		t.Fatalf("cache holds %d bytes, want some and at most 3000", n)
	}
}

// TestHandlerSameWithoutCache sends the same requests to a handler with
// and without the render cache, twice each so the second meets a filled
// cache, and compares the answers byte for byte.
func TestHandlerSameWithoutCache(t *testing.T) {
	dir, st := fastPathFixture(t)
	cached, err := NewHandler(dir, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewHandler(dir, st, Options{RenderCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, u := range dir.View().Identities() {
		targets = append(targets,
			"/Users?filter="+url.QueryEscape(`userName eq "`+u.UserName+`"`),
			"/Users?filter="+url.QueryEscape(`userName eq "`+strings.ToUpper(u.UserName)+`"`)+"&attributes=userName,meta.location",
			"/Users/"+url.PathEscape(u.ID),
			"/Users/"+url.PathEscape(u.ID)+"?excludedAttributes=groups")
	}
	targets = append(targets, "/Users", "/Users?startIndex=3&count=4", "/Users?sortBy=userName&count=5",
		"/Users?filter="+url.QueryEscape(`emails co "example"`)+"&count=7")
	for round := range 2 {
		for _, target := range targets {
			for _, host := range []string{"scim.example.com", "other.example.org:8080"} {
				a, b := httptest.NewRequest(http.MethodGet, target, nil), httptest.NewRequest(http.MethodGet, target, nil)
				a.Host, b.Host = host, host
				ra, rb := httptest.NewRecorder(), httptest.NewRecorder()
				cached.ServeHTTP(ra, a)
				plain.ServeHTTP(rb, b)
				if ra.Code != rb.Code || ra.Body.String() != rb.Body.String() || !reflect.DeepEqual(ra.Header(), rb.Header()) {
					t.Fatalf("round %d, %s %s: with the cache %d %v %s\nwithout %d %v %s", round, host, target,
						ra.Code, ra.Header(), ra.Body, rb.Code, rb.Header(), rb.Body)
				}
			}
		}
	}
}

// TestRenderCacheKeepsLookupsNotPages checks that a page of many Users, as
// an import reads, adds nothing to the cache, while the answer of a lookup
// keeps its User, which later pages then read.
func TestRenderCacheKeepsLookupsNotPages(t *testing.T) {
	dir, st := fastPathFixture(t)
	h, err := newHandler(dir, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(target string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, rec.Code)
		}
	}
	view := dir.View()
	get("/Users?count=1000")
	if n := h.renderCacheFor(view).size.Load(); n != 0 {
		t.Fatalf("a page of %d Users kept %d bytes of renderings, want none", len(view.Identities()), n)
	}
	u := view.Identities()[0]
	get("/Users?filter=" + url.QueryEscape(`userName eq "`+u.UserName+`"`))
	cache := h.renderCacheFor(view)
	if _, ok := cache.entries.Load(u); !ok {
		t.Fatalf("the lookup of %s kept nothing", u.UserName)
	}
	kept := cache.size.Load()
	get("/Users?count=1000")
	if n := cache.size.Load(); n != kept {
		t.Fatalf("a page after the lookup changed the kept bytes from %d to %d", kept, n)
	}
}

// FuzzSelectUsers holds the userName fast path of selectUsers to the
// general path for any filter and paging.
func FuzzSelectUsers(f *testing.F) {
	dir, _ := fastPathFixture(f)
	view := dir.View()
	for _, u := range view.Identities()[:4] {
		f.Add(`userName eq "`+u.UserName+`"`, 1, 1)
		f.Add(`  USERNAME   EQ  "`+strings.ToUpper(u.UserName)+`" `, 2, 5)
	}
	for _, s := range []string{`userName eq "nobody@example.de"`, `userName Eq "odd\"quote@example.de"`, `userName eq "upper.case@example.de"`,
		`userName.x eq "a"`, `userName eq""`, `userNameeq "a"`, `userName eq "a" and active eq true`, `username ne "x"`, `userName eq ""`,
		`$userName eq "a"`, `userName eq "` + strings.Repeat("a", maxFilterLength) + `"`} {
		f.Add(s, 1, 100)
		f.Add(s, 0, 0)
	}
	f.Fuzz(func(t *testing.T, filter string, start, count int) {
		req := listRequest{filter: filter, startIndex: max(start, 1), count: min(max(count, 0), 1000)}
		var one [1]*store.Identity
		fastPage, fastTotal, fastErr := selectUsers(view, req, &one)
		page, total, err := selectUsersGeneral(view, req)
		if (fastErr == nil) != (err == nil) || fastErr != nil && fastErr.Error() != err.Error() {
			t.Fatalf("%q: errors %v and %v", filter, fastErr, err)
		}
		if fastTotal != total || !slices.Equal(fastPage, page) {
			t.Fatalf("%q %d %d: fast path %d %v, general %d %v", filter, start, count, fastTotal, fastPage, total, page)
		}
	})
}

// FuzzListQuery holds parseListQuery to queryValues, the map of every
// parameter, for the parameters of a list request.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"filter=userName+eq+%22user00010%40example.de%22", "FILTER=a&filter=b", "startIndex=1&count=2&SortBy=x&sortorder=descending",
		"attributes=userName,emails&excludedAttributes=groups", "cursor=&count=2", "%zz=1", "a=%zz", "fil%74er=x", "\u212Aey=1&count=\u212A",
		"&&=&filter", "sortBy=%E2%84%AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseListQuery(raw)
		m, mapErr := queryValues(raw)
		if (err == nil) != (mapErr == nil) {
			t.Fatalf("%q: errors %v and %v", raw, err, mapErr)
		}
		if err != nil {
			return
		}
		for i, name := range listParams {
			v, ok := m[name]
			if q.seen[i] != ok || q.value[i] != v {
				t.Fatalf("%q: %s is %q (%v), queryValues says %q (%v)", raw, name, q.value[i], q.seen[i], v, ok)
			}
		}
	})
}

// FuzzQueryUnescape holds queryUnescape to url.QueryUnescape.
func FuzzQueryUnescape(f *testing.F) {
	for _, s := range []string{"", "plain", "userName+eq+%22user00010%40example.de%22", "%", "%4", "%4g", "%41%", "a%2B+b", "%e2%84%AA", "%00%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := queryUnescape(s)
		want, err := url.QueryUnescape(s)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("%q: %q %v, url.QueryUnescape %q %v", s, got, ok, want, err)
		}
	})
}

// FuzzPathEscape holds pathEscape to url.PathEscape.
func FuzzPathEscape(f *testing.F) {
	for _, s := range []string{"", "01353dfb-368e-57c6-8a91-b7c6cb9394f6", "a b", "R&D; Platform", "x/y", "~._-", "ü", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := pathEscape(s), url.PathEscape(s); got != want {
			t.Fatalf("%q: %q, url.PathEscape %q", s, got, want)
		}
	})
}

func TestByteClass(t *testing.T) {
	for c := range 256 {
		s := string([]byte{byte(c)})
		json := string(appendJSONStringBodyPlain(nil, s)) == s && c < utf8.RuneSelf
		path := url.PathEscape(s) == s && c < utf8.RuneSelf
		if got := byteClass[c]&classJSON != 0; got != json {
			t.Errorf("byte %#x: JSON-safe %v, want %v", c, got, json)
		}
		if got := byteClass[c]&classPath != 0; got != path {
			t.Errorf("byte %#x: path-safe %v, want %v", c, got, path)
		}
	}
}

// TestLiteralsNeedNoEscaping lists the constants written with lit, which
// skips escaping.
func TestLiteralsNeedNoEscaping(t *testing.T) {
	for _, s := range []string{userURN, enterpriseURN, groupURN, listURN, workType, "direct", "User", "Group", "/Users/", "/Groups/"} {
		if got := string(appendJSONStringBodyPlain(nil, s)); got != s {
			t.Errorf("%q is escaped as %q", s, got)
		}
	}
}

// TestRenderCacheAcrossViews changes the directory the ways a sync does
// (a group renamed, a manager renamed, people moving between groups, an
// identity changed, a manager and a group gone) and after each change
// compares every User, looked up and listed, with a handler without the
// cache. Renderings of users nothing touched must be carried over.
func TestRenderCacheAcrossViews(t *testing.T) {
	ctx := t.Context()
	dir, st := fastPathFixture(t)
	cached, err := newHandler(dir, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := newHandler(dir, st, Options{RenderCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	compare := func(step string) {
		t.Helper()
		targets := []string{"/Users", "/Users?startIndex=2&count=3"}
		for _, u := range dir.View().Identities() {
			targets = append(targets, "/Users?filter="+url.QueryEscape(`userName eq "`+u.UserName+`"`))
		}
		for round := range 2 {
			for _, target := range targets {
				a, b := httptest.NewRequest(http.MethodGet, target, nil), httptest.NewRequest(http.MethodGet, target, nil)
				ra, rb := httptest.NewRecorder(), httptest.NewRecorder()
				cached.ServeHTTP(ra, a)
				plain.ServeHTTP(rb, b)
				if ra.Code != rb.Code || ra.Body.String() != rb.Body.String() || !reflect.DeepEqual(ra.Header(), rb.Header()) {
					t.Fatalf("%s, round %d, %s: with the cache %d %s\nwithout %d %s", step, round, target, ra.Code, ra.Body, rb.Code, rb.Body)
				}
			}
		}
	}
	group := func(key string) store.Group {
		g, ok := dir.View().Group(store.DefaultNamespace.GroupID(key))
		if !ok {
			t.Fatalf("no group %s", key)
		}
		return *g
	}
	identity := func(personioID string) store.Identity {
		i, ok := dir.View().Identity(personID(personioID))
		if !ok {
			t.Fatalf("no identity %s", personioID)
		}
		return *i
	}
	apply := func(cs store.ChangeSet) {
		t.Helper()
		cs.Actor, cs.Cause = "sync", "test"
		if _, err := dir.Apply(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	compare("first view")
	// A synthetic person in Engineering, whose members change below (its
	// id and name do not), reporting to a manager who stays as he is.
	untouched, ok := dir.View().Identity(personID("20003"))
	if !ok {
		t.Fatal("no identity 20003")
	}
	firstBytes := keptBytes(t, cached, untouched)

	sales := group("department:Sales")
	sales.DisplayName = "Vertrieb"
	apply(store.ChangeSet{Groups: []store.GroupChange{{Op: store.OpUpdate, Group: sales}}})
	compare("group renamed")

	boss := identity("1001")
	boss.DisplayName = "Jürgen Müller-Lüdenscheidt"
	apply(store.ChangeSet{Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: boss}}})
	compare("manager renamed")

	eng, people := group("department:Engineering"), group("department:People")
	mover := personID("1002")
	eng.Members = slices.DeleteFunc(slices.Clone(eng.Members), func(id string) bool { return id == mover })
	people.Members = append(slices.Clone(people.Members), mover)
	apply(store.ChangeSet{Groups: []store.GroupChange{{Op: store.OpUpdate, Group: eng}, {Op: store.OpUpdate, Group: people}}})
	compare("membership moved")

	changed := identity("1008")
	changed.Title, changed.DisplayName = "Principal SRE", "Øyvind Hansen-Berg"
	apply(store.ChangeSet{Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: changed}}})
	compare("identity changed")

	office, gone := group("office:Berlin"), personID("3001")
	office.Members = slices.DeleteFunc(slices.Clone(office.Members), func(id string) bool { return id == gone })
	apply(store.ChangeSet{
		Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: identity("3001")}},
		Groups: []store.GroupChange{{Op: store.OpDelete, Group: group("team:R&D; Platform")},
			{Op: store.OpUpdate, Group: office}},
	})
	compare("manager and group gone")

	if u, _ := dir.View().Identity(untouched.ID); u != untouched {
		t.Fatal("the view no longer shares the untouched identity")
	}
	if keptBytes(t, cached, untouched) != firstBytes {
		t.Fatal("the untouched user was rendered again instead of carried over")
	}
}

// keptBytes is where the rendering the current view's cache keeps for u
// starts.
func keptBytes(t *testing.T, h *handler, u *store.Identity) *byte {
	t.Helper()
	c := h.rendered.Load()
	if c == nil {
		t.Fatal("no render cache")
	}
	e, ok := c.entries.Load(u)
	if !ok || len(e.(*renderedUser).b) == 0 {
		t.Fatalf("nothing kept for %s", u.ID)
	}
	return &e.(*renderedUser).b[0]
}

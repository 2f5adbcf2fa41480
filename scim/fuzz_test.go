package scim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/personio-scim/personio-scim/store"
)

// Fuzz targets: filters, query strings and PATCH/PUT bodies are untrusted
// input. No input may panic or produce a 500, and no accepted write may
// change an attribute that is not writable.

func fuzzHandler(tb testing.TB) (http.Handler, *store.Directory) {
	st, dir := newFixtureStore(tb, company())
	h, err := NewHandler(dir, st, Options{
		Writable: []string{store.AttrTitle, store.AttrNickName, store.AttrPhone, store.AttrManager},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return h, dir
}

func serve(h http.Handler, method, target, rawQuery, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.URL.RawQuery = rawQuery
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Filters real clients send (Okta, Entra, the Entra validator, Microsoft's
// inbound connector), and RFC 7644 examples.
func filterSeeds() []string {
	return []string{
		`userName eq "test.user@okta.local"`,
		`userName eq "ABCDEFGH@ATKO.COM"`,
		`externalId eq "0a3c7b1e-4c2f-4b0a-9f0e-8b1f6f2d9c11"`,
		`externalId eq jyoung`,
		`displayName eq "Test SCIMv2"`,
		`id eq "g1" and members eq "u1"`,
		`id eq "u1" and manager eq "m1"`,
		`emails[type eq "work"].value eq "x"`,
		`emails[type eq "work"].value eq "x" or phoneNumbers[type eq "work"].value pr and emails[value sw "a"].type ne "home"`,
		`name.givenName eq "J\u00fcrgen" and emails[type eq "work"].value eq "a\u00e4]."`,
		`active eq true and (meta.lastModified ge "0001-01-03T00:00:00.0000000Z" and meta.lastModified le "2024-01-01T00:00:00.0000000Z")`,
		`title pr and userType eq "Employee"`,
		`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName sw "J"`,
		`name.familyName co "O'Malley"`,
		`meta.created gt "2011-05-13T04:42:34Z"`,
		`members[value eq "x" or display co "ü"]`,
		`roles[primary eq "True"]`,
		`emails[not (type eq "work")]`,
		`((((userName pr))))`,
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds() {
		f.Add(s)
	}
	h, dir := fuzzHandler(f)
	view := dir.View()
	f.Fuzz(func(t *testing.T, filter string) {
		if expr, err := parseFilter(filter); err == nil {
			if match, err := compileUserFilter(expr, view); err == nil {
				for _, u := range view.Identities() {
					match(u)
				}
			}
			if match, err := compileGroupFilter(expr, view); err == nil {
				for _, g := range view.Groups() {
					match(g)
				}
			}
		}
		q := "filter=" + url.QueryEscape(filter)
		for _, target := range []string{"/Users", "/Groups"} {
			if rec := serve(h, http.MethodGet, target, q, ""); rec.Code >= 500 {
				t.Fatalf("GET %s?%s: %d %s", target, q, rec.Code, rec.Body)
			}
		}
	})
}

func FuzzListQuery(f *testing.F) {
	for _, s := range []string{
		"startIndex=1&count=2",
		"filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
		`filter=userName+eq+"dale.mohr%40romaguera.uk"`,
		"excludedAttributes=members&filter=displayName+eq+%22x%22",
		"sortBy=meta.lastModified&sortOrder=descending&attributes=userName,emails",
		"count=-1&startindex=0",
		"count=99999999999999999999",
		"filter=%zz",
		"sortBy=emails&count=3",
		"sortBy=members.display",
		"cursor=&count=2",
		"cursor=AAAAAAAAAAAAAAAAAAAAAA.5&count=2",
		"cursor=.-1",
		"startIndex=3&count=2&filter=emails%5Btype%20eq%20%22work%22%5D.value%20pr",
	} {
		f.Add(s)
	}
	h, _ := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, target := range []string{"/Users", "/Groups", "/Users/" + personID("1002"), "/Schemas"} {
			if rec := serve(h, http.MethodGet, target, raw, ""); rec.Code >= 500 {
				t.Fatalf("GET %s?%s: %d %s", target, raw, rec.Code, rec.Body)
			}
		}
	})
}

// Bodies Okta and Entra send (client notes, sections 1.2 and 2.2–2.7).
func patchSeeds() []string {
	const op = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	return []string{
		op + `[{"op":"replace","value":{"active":false}}]}`,
		op + `[{"op":"replace","value":{"id":"g1","displayName":"New name"}}]}`,
		op + `[{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u2","display":"x"}]}]}`,
		op + `[{"op":"replace","path":"members","value":[{"value":"u1"},{"value":"u2"}]}]}`,
		op + `[{"op":"Replace","path":"active","value":"False"}]}`,
		op + `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"},{"op":"Replace","path":"name.familyName","value":"Smith"}]}`,
		op + `[{"op":"Add","path":"` + ent + `:manager","value":"m1"}]}`,
		op + `[{"op":"Add","path":"manager","value":[{"$ref":"http://x/Users/m1","value":"m1"}]}]}`,
		op + `[{"op":"replace","path":"` + ent + `:manager","value":{"value":""}}]}`,
		op + `[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`,
		op + `[{"op":"replace","value":{"name.givenName":"A","` + ent + `:department":"D","title":"T"}}]}`,
		op + `[{"op":"replace","value":{"` + ent + `":{"department":"D","manager":"m2"}}}]}`,
		op + `[{"op":"Add","path":"nickName","value":"Babs"}]}`,
		op + `[{"op":"replace","value":{"password":"s3cr3t"}}]}`,
		op + `[{"op":"add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1"}]}`,
		op + `[{"op":"remove","path":"emails[type eq \"work\"]"}]}`,
		op + `[{"op":"replace","path":"emails","value":{"value":"x@y","type":"work"}}]}`,
		op + `[{"op":"replace","path":"title","value":null},{"op":"replace","value":{"nickName":null,"title":"T"}}]}`,
		op + `[{"op":"replace","path":"id","value":"other"}]}`,
		op + `[{"op":"add","path":"groups","value":[{"value":"g1"}]}]}`,
		op + `[]}`,
		`{"Operations":[{"op":"replace","path":"title","value":"T"}]}`,
		`{}`,
	}
}

func FuzzPatch(f *testing.F) {
	for _, s := range patchSeeds() {
		f.Add(s)
	}
	h, dir := fuzzHandler(f)
	zoe := personID("1002")
	original, _ := dir.View().Identity(zoe)
	eng := store.DefaultNamespace.GroupID("department:Engineering")
	originalGroup, _ := dir.View().Group(eng)
	f.Fuzz(func(t *testing.T, body string) {
		for _, method := range []string{http.MethodPatch, http.MethodPut} {
			for _, target := range []string{"/Users/" + zoe, "/Groups/" + eng} {
				if rec := serve(h, method, target, "", body); rec.Code >= 500 {
					t.Fatalf("%s %s: %d %s\nbody %s", method, target, rec.Code, rec.Body, body)
				}
			}
		}
		now, _ := dir.View().Identity(zoe)
		if hrOwned(now) != hrOwned(original) {
			t.Fatalf("a write changed attributes that are not writable:\n%+v\nwas\n%+v\nbody %s", now.Attributes, original.Attributes, body)
		}
		if g, _ := dir.View().Group(eng); g.Version != originalGroup.Version {
			t.Fatalf("a write changed the group: body %s", body)
		}
	})
}

// hrOwned is an identity's attributes with the fuzz handler's writable
// ones blanked.
func hrOwned(i *store.Identity) store.Attributes {
	a := i.Attributes
	a.Title, a.NickName, a.Phone, a.Manager = "", "", "", ""
	return a
}

// FuzzSimpleFilter holds the fast path for one-comparison filters to the
// scim2 parser: whatever it accepts, the parser must parse to the same AST.
func FuzzSimpleFilter(f *testing.F) {
	for _, s := range append(filterSeeds(),
		`userName eq "a"`, `userName  EQ  "x y"`, `name.givenName sw "Jü"`, `$ref eq "x"`, `title pr`, `title PR`,
		`userName eq "a\"b"`, `userName eq ""`, `a-b_c1.d2 le "z"`, `userName eq "\x01"`, `userName eq "é"`, `1a eq "x"`,
		`userName eq "a" `, `userName eq"a"`, `emails.value.x eq "a"`, `userName eq "a"b"`) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		simple, ok := parseSimpleFilter(s)
		if !ok {
			return
		}
		parsed, err := fp.ParseFilter([]byte(s))
		if err != nil {
			t.Fatalf("fast path accepted %q, the parser refuses it: %v", s, err)
		}
		if !reflect.DeepEqual(fp.Expression(simple), parsed) {
			t.Fatalf("%q: fast path %#v, parser %#v", s, simple, parsed)
		}
	})
}

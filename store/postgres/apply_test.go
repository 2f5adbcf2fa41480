package postgres

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/plan"
)

// The change log's identity rows are encoded from the plan's identities
// rather than from Resolve's maps; both must say the same.
func TestIdentityDiffJSONMatchesResolvedMaps(t *testing.T) {
	cur := store.Identity{ID: "a", PersonioID: "1", Attributes: store.Attributes{UserName: "Ann", Title: `say "hi"`, Active: true},
		Lifecycle: store.Lifecycle{State: store.StateActive, Rule: "hired"}, Overrides: map[string]string{"title": "Boss"}, SourceHash: "h1", Version: 2}
	gone := store.Identity{ID: "b", PersonioID: "2", Attributes: store.Attributes{UserName: "Bob"}, Version: 1}
	next := store.Identity{ID: "a", PersonioID: "1", Attributes: store.Attributes{UserName: "Ann", Title: "Zoë\n😀", Manager: "b"},
		Lifecycle: store.Lifecycle{State: store.StateLeaver, Rule: "ended", ScopeExcluded: true}, SourceHash: "h2"}
	fresh := store.Identity{ID: "c", Attributes: store.Attributes{UserName: "Cy", Department: "R&D <x>"}}
	cs := store.ChangeSet{Actor: "test", Identities: []store.IdentityChange{
		{Op: store.OpUpdate, Identity: next},
		{Op: store.OpDelete, Identity: store.Identity{ID: "b"}},
		{Op: store.OpCreate, Identity: fresh},
	}}
	current := map[string]*store.Identity{"a": &cur, "b": &gone}
	now := time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC)
	want, err := plan.Resolve(cs, current, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := plan.ResolveDeferred(cs, current, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Identities) != 3 || len(want.Changes) != 3 {
		t.Fatalf("plans have %d and %d rows, want 3", len(got.Identities), len(want.Changes))
	}
	decode := func(data []byte) map[string]string {
		if data == nil {
			return nil
		}
		m, err := decodeMap(data)
		if err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		return m
	}
	for n, w := range want.Changes {
		before, after := identityDiffJSON(&got, n)
		b, a := decode(before), decode(after)
		if !maps.Equal(b, w.Before) || (b == nil) != (w.Before == nil) || !maps.Equal(a, w.After) || (a == nil) != (w.After == nil) {
			t.Errorf("row %d (%s): encoded %s → %s, Resolve's maps %q → %q", n, w.Op, before, after, w.Before, w.After)
		}
	}
	// COPY reuses two buffers for every row, whatever op came before.
	var bb, ab []byte
	for _, n := range []int{0, 1, 2, 2, 1, 0, 2} {
		before, after := appendIdentityDiffJSON(bb, ab, &got, n)
		wb, wa := identityDiffJSON(&got, n)
		if string(before) != string(wb) || (before == nil) != (wb == nil) || string(after) != string(wa) || (after == nil) != (wa == nil) {
			t.Errorf("row %d with reused buffers: %s → %s, want %s → %s", n, before, after, wb, wa)
		}
		bb, ab = keepStorage(bb, before), keepStorage(ab, after)
	}
}

// The identity columns were written through appendFlatObject from lists of
// the set fields; written directly, they must come out byte for byte the
// same.
func TestIdentityColumnsMatchFlatObjects(t *testing.T) {
	for _, i := range []store.Identity{
		{},
		{Attributes: store.Attributes{UserName: "Ann", Title: `say "hi"`, Active: true, Manager: "b"},
			Lifecycle: store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01", Rule: "hired", VanishedSource: true}},
		{Attributes: store.Attributes{DisplayName: "Zoë\n😀", Department: "R&D"},
			Lifecycle: store.Lifecycle{State: store.StateLeaver, EndDate: "2026-01-31", ScopeExcluded: true, VanishedSource: true}},
	} {
		var keys, values []string
		for _, name := range store.AttributeNames() {
			if v, _ := i.Get(name); v != "" {
				keys, values = append(keys, name), append(values, v)
			}
		}
		if got, want := string(encodeAttributes(store.AttributeNames(), &i.Attributes)), string(appendFlatObject(nil, keys, values)); got != want {
			t.Errorf("attributes %s, want %s", got, want)
		}
		names, fields := lifecycleFields(&i.Lifecycle)
		keys, values = nil, nil
		for n, f := range fields {
			if *f != "" {
				keys, values = append(keys, names[n]), append(values, *f)
			}
		}
		if i.Lifecycle.ScopeExcluded {
			keys, values = append(keys, "scopeExcluded"), append(values, "true")
		}
		if i.Lifecycle.VanishedSource {
			keys, values = append(keys, "vanishedSource"), append(values, "true")
		}
		if got, want := string(encodeLifecycle(&i.Lifecycle)), string(appendFlatObject(nil, keys, values)); got != want {
			t.Errorf("lifecycle %s, want %s", got, want)
		}
	}
}

// appendFlatObject writes keys and values (same length) as a JSON object,
// the way the identity columns were written.
func appendFlatObject(buf []byte, keys, values []string) []byte {
	buf = append(buf, '{')
	for n := range keys {
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, keys[n])
		buf = append(buf, ':')
		buf = appendJSONString(buf, values[n])
	}
	return append(buf, '}')
}

// TestIdentityRowEncoderMatchesIdentityRow: COPY's reused row holds, for
// each identity in turn, what identityRow builds for it.
func TestIdentityRowEncoderMatchesIdentityRow(t *testing.T) {
	at := time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC)
	ids := []store.Identity{
		{ID: "a", PersonioID: "1", Attributes: store.Attributes{UserName: "Ann@Example.com", Title: `say "hi"`},
			Lifecycle: store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01"},
			Source:    map[string]string{"first_name": "Ann", "last_name": "Long name " + strings.Repeat("x", 100)}, SourceHash: "h1", Version: 1, Created: at, Modified: at},
		{ID: "b", PersonioID: "2", Attributes: store.Attributes{UserName: "bo"}, Overrides: map[string]string{"nickName": "B"},
			Source: map[string]string{"id": "2"}, Version: 3, Created: at.Add(time.Hour), Modified: at.Add(2 * time.Hour)},
		{ID: "c"}, // no source, no overrides: NULL columns
		{ID: "d", Attributes: store.Attributes{DisplayName: "Zoë"}, Source: map[string]string{}, Overrides: map[string]string{}},
	}
	names := store.AttributeNames()
	enc := identityRowEncoder{names: names}
	for n := range ids {
		got, want := enc.row(&ids[n]), identityRow(names, &ids[n])
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", ids[n].ID, len(got), len(want))
		}
		for c := range want {
			g := reflect.ValueOf(got[c])
			if g.Kind() == reflect.Pointer {
				g = g.Elem()
			}
			if c == 5 || c == 6 { // flat maps, in map order
				gb, wb := g.Interface().([]byte), want[c].([]byte)
				if (gb == nil) != (wb == nil) {
					t.Errorf("%s column %s: %q, want %q", ids[n].ID, identityColumns[c], gb, wb)
					continue
				}
				gm, err1 := decodeFlatMap(gb)
				wm, err2 := decodeFlatMap(wb)
				if err1 != nil || err2 != nil || !maps.Equal(gm, wm) {
					t.Errorf("%s column %s: %q, want %q (%v, %v)", ids[n].ID, identityColumns[c], gb, wb, err1, err2)
				}
				continue
			}
			if !reflect.DeepEqual(g.Interface(), want[c]) {
				t.Errorf("%s column %s: %#v, want %#v", ids[n].ID, identityColumns[c], g.Interface(), want[c])
			}
		}
	}
}

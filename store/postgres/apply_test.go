package postgres

import (
	"maps"
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

package plan

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// fuzzIdentity builds an identity from '|'-separated fields, so that a
// fuzzer's strings reach the attributes, the lifecycle, the source hash
// and the overrides (key=value pairs after the ninth field).
func fuzzIdentity(id, spec string, flags uint8) store.Identity {
	f := strings.Split(spec, "|")
	at := func(n int) string {
		if n < len(f) {
			return f[n]
		}
		return ""
	}
	ident := store.Identity{ID: id, PersonioID: at(0), SourceHash: at(8)}
	ident.UserName, ident.Title, ident.Email, ident.Manager = "user-"+at(1), at(2), at(3), at(4)
	ident.Lifecycle.State, ident.Lifecycle.HireDate, ident.Lifecycle.Rule = store.LifecycleState(at(5)), at(6), at(7)
	ident.Active, ident.Lifecycle.ScopeExcluded, ident.Lifecycle.VanishedSource = flags&1 != 0, flags&2 != 0, flags&4 != 0
	for _, kv := range f[min(9, len(f)):] {
		if ident.Overrides == nil {
			ident.Overrides = map[string]string{}
		}
		k, v, _ := strings.Cut(kv, "=")
		ident.Overrides[k] = v
	}
	return ident
}

// collect gathers what EachIdentityDiff reports into maps shaped like
// Resolve's: nil when the row has no such side.
func collect(p *ChangePlan, n int) (before, after map[string]string) {
	b, a := map[string]string{}, map[string]string{}
	hasBefore, hasAfter := p.EachIdentityDiff(n, func(name, x, y string) { b[name], a[name] = x, y })
	if !hasBefore {
		b = nil
	}
	if !hasAfter {
		a = nil
	}
	return b, a
}

func checkDeferred(t *testing.T, oldSpec, nextSpec string, flags uint8) {
	t.Helper()
	cur := fuzzIdentity("a", oldSpec, flags)
	cur.Version = 3
	gone := fuzzIdentity("b", oldSpec, flags)
	gone.Version = 1
	next := fuzzIdentity("a", nextSpec, flags>>3)
	fresh := fuzzIdentity("c", nextSpec, flags>>3)
	cs := store.ChangeSet{Actor: "test", Identities: []store.IdentityChange{
		{Op: store.OpUpdate, Identity: next},
		{Op: store.OpDelete, Identity: store.Identity{ID: "b"}},
		{Op: store.OpCreate, Identity: fresh},
	}}
	current := map[string]*store.Identity{"a": &cur, "b": &gone}
	now := time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC)
	want, err := Resolve(cs, current, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ResolveDeferred(cs, current, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Identities) != len(want.Identities) || len(got.Changes) != len(want.Changes) {
		t.Fatalf("deferred plan has %d writes and %d rows, Resolve's %d and %d",
			len(got.Identities), len(got.Changes), len(want.Identities), len(want.Changes))
	}
	for n := range want.Identities {
		if !reflect.DeepEqual(got.Identities[n], want.Identities[n]) {
			t.Fatalf("write %d: deferred %+v, Resolve %+v", n, got.Identities[n], want.Identities[n])
		}
		w := want.Changes[n]
		if g := got.Changes[n]; g.Before != nil || g.After != nil {
			t.Fatalf("row %d of a deferred plan has maps %v %v", n, g.Before, g.After)
		}
		for _, p := range []*ChangePlan{&got, &want} {
			before, after := collect(p, n)
			if !maps.Equal(before, w.Before) || (before == nil) != (w.Before == nil) ||
				!maps.Equal(after, w.After) || (after == nil) != (w.After == nil) {
				t.Fatalf("row %d (%s): EachIdentityDiff gives %q → %q, Resolve's maps are %q → %q", n, w.Op, before, after, w.Before, w.After)
			}
		}
	}
}

func TestDeferredDiffMatchesResolve(t *testing.T) {
	tests := []struct {
		name      string
		old, next string
		flags     uint8
	}{
		{"unchanged update is dropped", "1|ann|Engineer|a@x|m1|active|2020-01-01|hired|h1", "1|ann|Engineer|a@x|m1|active|2020-01-01|hired|h1", 0b001001},
		{"attributes and lifecycle change", "1|ann|Engineer|a@x|m1|active|2020-01-01|hired|h1", "1|anna|Lead||m2|leaver|2020-01-01|ended|h2", 0b000001},
		{"flags flip", "1|ann", "1|ann", 0b010110},
		{"overrides added, changed and removed", "1|ann|||||||h|title=Boss|x=1|y=", "1|ann|||||||h|title=Chief|z=2|y=", 0},
		{"empty identity but a userName", "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkDeferred(t, tc.old, tc.next, tc.flags) })
	}
}

func FuzzDeferredDiff(f *testing.F) {
	f.Add("1|ann|Engineer|a@x|m1|active|2020-01-01|hired|h1|k=v", "1|ann|Lead|a@x|m1|leaver|2020-01-01|ended|h2|k=w", uint8(0b001001))
	f.Fuzz(func(t *testing.T, old, next string, flags uint8) {
		checkDeferred(t, old, next, flags)
	})
}

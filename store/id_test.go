package store

import "testing"

func TestUUIDv5MatchesRFC9562Vector(t *testing.T) {
	// RFC 9562 appendix A.4: namespace DNS, name "www.example.com".
	dns, err := ParseNamespace("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := uuidV5(dns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2"; got != want {
		t.Fatalf("uuidV5 = %s, want %s", got, want)
	}
}

func TestIdentityIDIsStableAndScoped(t *testing.T) {
	other, err := ParseNamespace("00000000-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	a, b := DefaultNamespace.IdentityID("42"), DefaultNamespace.IdentityID("42")
	if a != b || a == DefaultNamespace.IdentityID("43") || a == other.IdentityID("42") || a == DefaultNamespace.GroupID("42") {
		t.Fatalf("ids not stable per person and scoped per namespace and kind: %s %s", a, b)
	}
}

func TestParseNamespaceRejectsMalformed(t *testing.T) {
	for _, s := range []string{"", "6ba7b810", "6ba7b810-9dad-11d1-80b4-00c04fd430cg", "6ba7b8109dad11d180b400c04fd430c8xxxx"} {
		if _, err := ParseNamespace(s); err == nil {
			t.Errorf("ParseNamespace(%q) accepted", s)
		}
	}
	ns, err := ParseNamespace(DefaultNamespace.String())
	if err != nil || ns != DefaultNamespace {
		t.Fatalf("round trip = %v, %v", ns, err)
	}
}

func TestAttributesGetSetDiff(t *testing.T) {
	var a Attributes
	for _, name := range AttributeNames() {
		value := "v-" + name
		if name == AttrActive {
			value = "true"
		}
		if !a.Set(name, value) {
			t.Fatalf("Set(%s) refused", name)
		}
		if got, ok := a.Get(name); !ok || got != value {
			t.Fatalf("Get(%s) = %q, %v", name, got, ok)
		}
	}
	if a.Set("salary", "1") || a.Set(AttrActive, "perhaps") {
		t.Fatal("Set accepted an unknown attribute or a bad boolean")
	}
	b := a
	b.Department, b.Active = "Sales", false
	before, after := a.Diff(&b)
	if len(before) != 2 || before[AttrDepartment] != "v-department" || after[AttrDepartment] != "Sales" || after[AttrActive] != "false" {
		t.Fatalf("diff = %v → %v", before, after)
	}
	if before, _ := a.Diff(&a); before != nil {
		t.Fatalf("diff of equal attributes = %v", before)
	}
}

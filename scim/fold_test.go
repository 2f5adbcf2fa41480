package scim

import (
	"testing"
)

func TestFoldHelpers(t *testing.T) {
	tests := []struct {
		s, sub                   string
		prefix, suffix, contains bool
	}{
		{"Müller", "mü", true, false, true},
		{"Müller", "MÜLLER", true, true, true},
		{"Müller", "LLER", false, true, true},
		{"Jürgen Müller", "N M", false, false, true},
		{"Weiß", "WEIß", true, true, true},
		{"Øyvind", "øy", true, false, true},
		{"Yıldız", "YIL", false, false, false}, // dotless ı does not fold to I
		{"abc", "", true, true, true},
		{"", "a", false, false, false},
		{"ab\xffc", "B\xffC", false, true, true},
		{"ab\xffc", "b\xfec", false, false, false},
		{"straße", "STRASSE", false, false, false}, // simple folding only, as strings.EqualFold
	}
	for _, tt := range tests {
		if got := hasPrefixFold(tt.s, tt.sub); got != tt.prefix {
			t.Errorf("hasPrefixFold(%q, %q) = %v", tt.s, tt.sub, got)
		}
		if got := hasSuffixFold(tt.s, tt.sub); got != tt.suffix {
			t.Errorf("hasSuffixFold(%q, %q) = %v", tt.s, tt.sub, got)
		}
		if got := containsFold(tt.s, tt.sub); got != tt.contains {
			t.Errorf("containsFold(%q, %q) = %v", tt.s, tt.sub, got)
		}
	}
}

func TestCompareFold(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"müller", "Müller", 0},
		{"Köhler", "Müller", -1},
		{"zoe", "Ärger", -1}, // rune order, not collation
		{"ab", "abc", -1},
		{"B", "a", 1},
		{"", "", 0},
	}
	for _, tt := range tests {
		if got := compareFold(tt.a, tt.b); got != tt.want {
			t.Errorf("compareFold(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

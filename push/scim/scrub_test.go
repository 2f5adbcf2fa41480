package scim

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

func TestScrub(t *testing.T) {
	ir := &itemRun{it: push.Item{Kind: store.KindIdentity}, redact: []string{"jürgen.groß@example.test", "Jürgen", "", "ab"}}
	tests := []struct{ in, want string }{
		{"userName jürgen.groß@example.test is taken", "userName [redacted] is taken"},
		{"Jürgen\nGroß", "[redacted] Groß"},
		{"ab is too short to redact", "ab is too short to redact"},
		{strings.Repeat("ü", 150), strings.Repeat("ü", 100) + "…"},
		{"bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		got := ir.scrub(tt.in)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

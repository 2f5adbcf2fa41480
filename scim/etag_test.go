package scim

import (
	"testing"
)

func TestETagMatching(t *testing.T) {
	cur := `W/"3-abc"`
	tests := []struct {
		header string
		want   bool
	}{
		{`W/"3-abc"`, true},
		{`"3-abc"`, true},
		{`3-abc`, true},
		{`W/"2-abc"`, false},
		{`W/"1-x", W/"3-abc"`, true},
		{`*`, true},
		{`W/"3-ab"`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.header, cur); got != tt.want {
			t.Errorf("etagMatches(%q) = %v", tt.header, got)
		}
	}
}

package scim

import (
	"net/url"
	"testing"
)

// Server ids are opaque (scimgateway uses user names): they are escaped
// exactly once.
func TestURLEscapesSegmentsOnce(t *testing.T) {
	tests := []struct{ base, id, want string }{
		{"https://h.example/scim/v2", "0b5f-1", "https://h.example/scim/v2/Users/0b5f-1"},
		{"https://h.example/scim/v2", "a/b c", "https://h.example/scim/v2/Users/a%2Fb%20c"},
		{"https://h.example/tenant%201/v2", "x", "https://h.example/tenant%201/v2/Users/x"},
		{"https://h.example", "{id}", "https://h.example/Users/%7Bid%7D"},
	}
	for _, tt := range tests {
		base, err := url.Parse(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		target := &Target{base: base}
		if got := target.url("Users", tt.id).String(); got != tt.want {
			t.Errorf("url(%q, %q) = %q, want %q", tt.base, tt.id, got, tt.want)
		}
	}
}

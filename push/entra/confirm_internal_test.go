package entra

import "testing"

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Another object with the same value for property userPrincipalName already exists.", "Another object with the same value for property userPrincipalName already exists."},
		{"The value 'ada.lovelace@example.com' is already in use.", "The value … is already in use."},
		{`Cannot set "Ada Lovelace" as cn`, "Cannot set … as cn"},
		{"mail ada@example.com rejected", "mail … rejected"},
	}
	for _, tc := range tests {
		if got := scrub(tc.in); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

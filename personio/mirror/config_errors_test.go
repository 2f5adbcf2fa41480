package mirror

import (
	"strings"
	"testing"
)

// Configuration mistakes are answered with the file, the line, the key and
// what it wants, never with the YAML library's Go types or a silent
// rounding.
func TestConfigErrorsNameTheKeyAndWhatItWants(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"lifecycle:\n  retention_days: sixty\n", []string{"c.yaml:2:", "lifecycle.retention_days", "whole number", `"sixty"`}},
		{"lifecycle:\n\tretention_days: 60\n", []string{"c.yaml:2:", "tab", "spaces"}},
		{"sync:\n  full_every: 1 day\n", []string{"c.yaml:2:", "sync.full_every", "24h", `"1 day"`}},
		{"lifecycle:\n  retention_days: 60.5\n", []string{"c.yaml:2:", "lifecycle.retention_days", "whole number", "60.5"}},
		{"guard:\n  max_count: 1e2\n", []string{"c.yaml:2:", "guard.max_count", "whole number"}},
		{"guard:\n  max_percent: lots\n", []string{"c.yaml:2:", "guard.max_percent", "a number", `"lots"`}},
		{"mapping:\n  active: false\n", []string{"c.yaml:2:", "active", "every identity inactive", "status !="}},
	}
	for _, tt := range tests {
		_, err := ParseConfig("c.yaml", []byte(tt.doc))
		if err == nil {
			t.Errorf("%q was accepted", tt.doc)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %v; want it to say %q", tt.doc, err, w)
			}
		}
		if strings.Contains(err.Error(), "!!") || strings.Contains(err.Error(), "unmarshal") {
			t.Errorf("%q: %v speaks the YAML library's words", tt.doc, err)
		}
	}
	for _, ok := range []string{"guard:\n  max_percent: 2.5\n", "mapping:\n  active: \"false\"\n", "mapping:\n  active: status != \"inactive\"\n", "lifecycle:\n  retention_days: 60\n"} {
		if _, err := ParseConfig("c.yaml", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

package push_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
)

// FuzzParseRetryAfter: a target's Retry-After never panics and never gives
// a negative wait.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", "120", "-5", "1e9", "99999999999999999999", now.Add(time.Hour).Format(http.TimeFormat), "Mon, 02 Jan 2006 15:04:05 GMT", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := push.ParseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %s, negative", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %s without ok", v, d)
		}
	})
}

// FuzzParseTargets: any targets section either parses into named, typed
// targets or fails with positioned errors; it never panics.
func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		"targets:\n  - {name: a, type: scim, scim: {base_url: x}}\n",
		"targets:\n  - name: a\n    type: scim\n    guard: {max_percent: 5}\n    rate_limit: {requests_per_second: 1, burst: 2}\n",
		"targets: [1, 2]\n", "targets: {}\n", "targets:\n  - name: [a]\n    type: {b: c}\n",
		"targets:\n  - &x {name: a, type: scim}\n  - *x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) < 2 {
			return
		}
		got, err := push.ParseTargets("f.yaml", doc.Content[0].Content[1], []string{"scim"})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("an error without position: %v", err)
			}
			return
		}
		for _, tc := range got {
			if tc.Name == "" || tc.Type != "scim" {
				t.Fatalf("accepted a target without name or known type: %+v", tc)
			}
		}
	})
}

package main

import (
	"strings"
	"testing"
	"time"
)

func TestSumSCIMSeconds(t *testing.T) {
	const exposition = `# HELP personio_scim_http_request_duration_seconds HTTP request latency by route.
# TYPE personio_scim_http_request_duration_seconds histogram
personio_scim_http_request_duration_seconds_bucket{method="GET",route="/scim/v2/*",le="0.0005"} 3
personio_scim_http_request_duration_seconds_sum{method="GET",route="/scim/v2/*"} 1.25
personio_scim_http_request_duration_seconds_count{method="GET",route="/scim/v2/*"} 10
personio_scim_http_request_duration_seconds_sum{method="GET",route="/metrics"} 9
personio_scim_http_request_duration_seconds_sum{method="POST",route="/scim/v2/*"} 0.5
`
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"SCIM routes only", exposition, 1750 * time.Millisecond, false},
		{"no SCIM series", "personio_scim_http_request_duration_seconds_sum{method=\"GET\",route=\"/healthz\"} 1\n", 0, true},
		{"bad number", "personio_scim_http_request_duration_seconds_sum{route=\"/scim/v2/*\"} many\n", 0, true},
		{"not a number", "personio_scim_http_request_duration_seconds_sum{route=\"/scim/v2/*\"} NaN\n", 0, true},
		{"too much in all", strings.Repeat("personio_scim_http_request_duration_seconds_sum{route=\"/scim/v2/*\"} 999999999\n", 10), 0, true},
		{"negative", "personio_scim_http_request_duration_seconds_sum{route=\"/scim/v2/*\"} -1\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sumSCIMSeconds(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("sumSCIMSeconds = %s, %v; want %s, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzSumSCIMSeconds feeds the parser what a server's /metrics might hold;
// it must answer or fail, never panic, and never report negative time.
func FuzzSumSCIMSeconds(f *testing.F) {
	f.Add("personio_scim_http_request_duration_seconds_sum{method=\"GET\",route=\"/scim/v2/*\"} 1.25\n")
	f.Add("personio_scim_http_request_duration_seconds_sum{route=\"/scim/v2\"}")
	f.Add("personio_scim_http_request_duration_seconds_sum{route=\"/scim/v2/*\"} NaN\n")
	f.Add("# only a comment\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := sumSCIMSeconds(strings.NewReader(in))
		if err == nil && d < 0 {
			t.Errorf("sumSCIMSeconds(%q) = %s", in, d)
		}
	})
}

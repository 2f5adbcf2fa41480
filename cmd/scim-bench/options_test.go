package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseOptionsRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // part of the error
	}{
		{"unknown scenario", []string{"--scenario", "search"}, `--scenario "search": want one of`},
		{"no employees", []string{"--employees", "0"}, "--employees 0: want 1 to 100000"},
		{"too many employees", []string{"--employees", "100001"}, "--employees 100001: want 1 to 100000"},
		{"employees not a number", []string{"--employees", "many"}, "-employees"},
		{"no clients", []string{"--concurrency", "0"}, "--concurrency 0: want 1 to 1024"},
		{"too many clients", []string{"--concurrency", "5000"}, "--concurrency 5000: want 1 to 1024"},
		{"zero duration", []string{"--duration", "0s"}, "--duration 0s: want more than 0"},
		{"negative duration", []string{"--duration", "-1s"}, "--duration -1s: want more than 0"},
		{"duration not a duration", []string{"--duration", "10"}, "-duration"},
		{"duration and requests", []string{"--duration", "5s", "--requests", "100"}, "--duration and --requests: give one"},
		{"zero requests", []string{"--requests", "0"}, "--requests 0: want at least 1"},
		{"negative warmup", []string{"--warmup", "-1s"}, "--warmup -1s: want 0 or more"},
		{"zero changes", []string{"--changes", "0"}, "--changes 0: want 1 to 10000"},
		{"zero rounds", []string{"--rounds", "0"}, "--rounds 0: want 1 to 100"},
		{"more rounds than requests", []string{"--requests", "3", "--rounds", "5"}, "--rounds 5: want at most --requests (3)"},
		{"unknown format", []string{"--format", "csv"}, `--format "csv": want text, markdown or json`},
		{"stray argument", []string{"lookup"}, `unexpected argument "lookup"`},
		{"url without token", []string{"--url", "http://127.0.0.1:8080"}, "--url needs --token"},
		{"token without url", []string{"--token", "secret-secret-secret"}, "--token: only with --url"},
		{"remote host", []string{"--url", "http://scim.example.com", "--token", "t"}, "only targets loopback addresses"},
		{"private address", []string{"--url", "http://10.0.0.1:8080", "--token", "t"}, "only targets loopback addresses"},
		{"not http", []string{"--url", "ftp://127.0.0.1", "--token", "t"}, "want a base URL such as"},
		{"url with query", []string{"--url", "http://127.0.0.1:8080/?x=1", "--token", "t"}, "without query"},
		{"employees with url", []string{"--url", "http://127.0.0.1:8080", "--token", "t", "--employees", "10"}, "--employees: only for the self-hosted stack"},
		{"mixed with url", []string{"--url", "http://127.0.0.1:8080", "--token", "t", "--scenario", "mixed"}, "--scenario mixed: only for the self-hosted stack"},
		{"changes with url", []string{"--url", "http://127.0.0.1:8080", "--token", "t", "--changes", "5"}, "--changes: only for mixed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseOptions(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestParseOptionsAccepts(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      options
		scenarios []string
	}{
		{
			name: "defaults",
			want: options{Scenario: "all", Employees: 10000, Seed: 1, Concurrency: 32, Duration: 10 * time.Second,
				Warmup: 2 * time.Second, Format: "text", Changes: 100, Rounds: 5},
			scenarios: []string{"lookup", "get", "filter-complex", "page", "mixed"},
		},
		{
			name:      "request count",
			args:      []string{"--scenario", "lookup", "--requests", "500", "--employees", "200", "--seed", "7", "--concurrency", "4", "--warmup", "0", "--format", "json", "--rounds", "1"},
			want:      options{Scenario: "lookup", Employees: 200, Seed: 7, Concurrency: 4, Requests: 500, Format: "json", Changes: 100, Rounds: 1},
			scenarios: []string{"lookup"},
		},
		{
			name: "remote server",
			args: []string{"--url", "http://127.0.0.1:8080", "--token", "tok", "--format", "markdown"},
			want: options{Scenario: "all", Seed: 1, Concurrency: 32, Duration: 10 * time.Second, Warmup: 2 * time.Second,
				URL: "http://127.0.0.1:8080", Token: "tok", Format: "markdown", Changes: 100, Rounds: 5},
			scenarios: []string{"lookup", "get", "filter-complex", "page"},
		},
		{
			name: "IPv6 loopback",
			args: []string{"--url", "https://[::1]:8443", "--token", "tok", "--scenario", "page"},
			want: options{Scenario: "page", Seed: 1, Concurrency: 32, Duration: 10 * time.Second, Warmup: 2 * time.Second,
				URL: "https://[::1]:8443", Token: "tok", Format: "text", Changes: 100, Rounds: 5},
			scenarios: []string{"page"},
		},
		{
			name: "localhost",
			args: []string{"--url", "http://localhost:8080/", "--token", "tok", "--scenario", "get", "--seed", "9"},
			want: options{Scenario: "get", Seed: 9, Concurrency: 32, Duration: 10 * time.Second, Warmup: 2 * time.Second,
				URL: "http://localhost:8080/", Token: "tok", Format: "text", Changes: 100, Rounds: 5},
			scenarios: []string{"get"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseOptions(%q) =\n%+v, want\n%+v", tt.args, got, tt.want)
			}
			if s := got.scenarios(); !slices.Equal(s, tt.scenarios) {
				t.Errorf("scenarios() = %q, want %q", s, tt.scenarios)
			}
		})
	}
}

func TestCommandLineHidesTheToken(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "all"}, "go run ./cmd/scim-bench --scenario all"},
		{[]string{"--url", "http://127.0.0.1:8080", "--token", "s3cret"}, `go run ./cmd/scim-bench --url http://127.0.0.1:8080 --token "$SCIM_TOKEN"`},
		{[]string{"--token=s3cret"}, `go run ./cmd/scim-bench --token="$SCIM_TOKEN"`},
		{[]string{"-token", "s3cret", "--cpuprofile", "my file.prof"}, `go run ./cmd/scim-bench -token "$SCIM_TOKEN" --cpuprofile 'my file.prof'`},
	}
	for _, tt := range tests {
		if got := commandLine(tt.args); got != tt.want {
			t.Errorf("commandLine(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

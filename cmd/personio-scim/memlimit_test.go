package main

import (
	"errors"
	"testing"

	"github.com/personio-scim/personio-scim/personio/mirror"
)

func TestSoftMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		readErr error
		gomem   string
		want    int64
		wantSet bool
	}{
		{"container limit", "1073741824\n", nil, "", 966367641, true}, // floor(0.9 × 1 GiB)
		{"no limit", "max\n", nil, "", 0, false},
		{"no cgroup file", "", errors.New("not found"), "", 0, false},
		{"garbage", "lots", nil, "", 0, false},
		{"operator's GOMEMLIMIT wins", "1073741824\n", nil, "700MiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := softMemoryLimit(
				func(string) ([]byte, error) { return []byte(tt.file), tt.readErr },
				func(k string) string {
					if k == "GOMEMLIMIT" {
						return tt.gomem
					}
					return ""
				})
			if got != tt.want || ok != tt.wantSet {
				t.Fatalf("softMemoryLimit = %d, %v; want %d, %v", got, ok, tt.want, tt.wantSet)
			}
		})
	}
}

func TestReleaseAfterLargeRuns(t *testing.T) {
	tests := []struct {
		people int
		want   int
	}{
		{0, 0},
		{9_999, 0},
		{10_000, 1},
		{100_000, 1},
	}
	for _, tt := range tests {
		freed := 0
		releaseAfterLargeRuns(func() { freed++ })(mirror.Report{People: tt.people})
		if freed != tt.want {
			t.Errorf("a run reading %d people freed memory %d times, want %d", tt.people, freed, tt.want)
		}
	}
}

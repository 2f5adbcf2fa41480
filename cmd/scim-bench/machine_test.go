package main

import (
	"strings"
	"testing"
)

func TestMemTotal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"linux", "MemTotal:        8140420 kB\nMemFree:         1234 kB\n", 8140420 << 10, false},
		{"not first", "MemFree: 1 kB\nMemTotal: 2048 kB\n", 2 << 20, false},
		{"missing", "MemFree: 1 kB\n", 0, true},
		{"other unit", "MemTotal: 2 MB\n", 0, true},
		{"not a number", "MemTotal: lots kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memTotal(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("memTotal = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

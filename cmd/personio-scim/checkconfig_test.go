package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigWarnsThatLabelsCannotBeCheckedOffline(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, mapping string
		warn          bool
	}{
		{"by label", `preferredLanguage: 'custom[?"Language"].orValue("de")'`, true},
		{"by key", `preferredLanguage: 'custom[?"dynamic_1005"].orValue("de")'`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte("mapping:\n  "+tt.mapping+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			if err := run(context.Background(), []string{"check-config", "--config", path}, io.Discard, &stderr); err != nil {
				t.Fatalf("check-config: %v", err)
			}
			warned := strings.Contains(stderr.String(), "warning: custom attributes named by label cannot be checked offline") &&
				strings.Contains(stderr.String(), `"Language"`)
			if warned != tt.warn {
				t.Errorf("warned %v, want %v; stderr:\n%s", warned, tt.warn, stderr.String())
			}
		})
	}
}

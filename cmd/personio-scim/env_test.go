package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadEnvDefaults(t *testing.T) {
	e, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if e.ListenAddr != ":8080" || e.DatabaseURL != "" || e.PersonioBaseURL != "https://api.personio.de" ||
		e.PersonioAPIVersion != "v1" || e.SyncInterval != 15*time.Minute || !e.MigrateOnStart || e.LogFormat != "auto" {
		t.Fatalf("defaults = %+v", e)
	}
}

func TestLoadEnvRejectsBadValuesNamingTheVariable(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"LISTEN_ADDR", "8080"},
		{"DATABASE_URL", "mysql://root@db/x"},
		{"DATABASE_URL", "postgres:///nohost"},
		{"PERSONIO_BASE_URL", "ftp://api.personio.de"},
		{"PERSONIO_API_VERSION", "v3"},
		{"SYNC_INTERVAL", "soon"},
		{"SYNC_INTERVAL", "5s"},
		{"SCIM_TOKEN", "short"},
		{"ADMIN_TOKEN", "short"},
		{"MIGRATE_ON_START", "maybe"},
		{"PUBLIC_URL", "scim.example.com"},
		{"LOG_FORMAT", "xml"},
		{"LOG_LEVEL", "loud"},
		{"PERSONIO_RATE_LIMIT", "maybe"},
		{"PERSONIO_RATE_LIMIT", "off"}, // against the real Personio
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := loadEnv(func(k string) string {
				if k == tt.name {
					return tt.value
				}
				return ""
			})
			if err == nil || !strings.HasPrefix(err.Error(), tt.name+"=") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v; want one line starting with %s=", err, tt.name)
			}
		})
	}
}

func TestLoadEnvNeverEchoesSecrets(t *testing.T) {
	_, err := loadEnv(func(k string) string {
		if k == "DATABASE_URL" {
			return "mysql://root:hunter2-secret@db/x"
		}
		return ""
	})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v; want an error without the secret", err)
	}
}

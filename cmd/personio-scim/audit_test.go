package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

func TestCheckConfigPrintsTheRetention(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("audit:\n  retention_days: 90\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"check-config", "--config", file}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\naudit:\n  retention_days: 90\n") {
		t.Fatalf("check-config output lacks the audit section:\n%s", out.String())
	}
}

func TestAuditSection(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // "" for no CONFIG_FILE at all
		want    int
		wantErr string
	}{
		{"no file", "", defaultRetentionDays, ""},
		{"no section", "notifications: {}\n", defaultRetentionDays, ""},
		{"empty section", "audit:\n", defaultRetentionDays, ""},
		{"a number of days", "audit:\n  retention_days: 30\n", 30, ""},
		{"forever", "audit:\n  retention_days: 0\n", 0, ""},
		{"words", "audit:\n  retention_days: sixty\n", 0, "audit.retention_days: want a whole number of days"},
		{"a fraction", "audit:\n  retention_days: 60.5\n", 0, "audit.retention_days: want a whole number of days"},
		{"negative", "audit:\n  retention_days: -1\n", 0, "audit.retention_days"},
		{"a quoted number", "audit:\n  retention_days: \"30\"\n", 0, "audit.retention_days"},
		{"unknown key", "audit:\n  retention: 30\n", 0, `unknown key "retention"`},
		{"not a mapping", "audit: 30\n", 0, "audit: want a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e env
			if tt.yaml != "" {
				e.ConfigFile = filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(e.ConfigFile, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := loadConfiguration(e, typeNames(targetTypes()))
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "config.yaml:") {
					t.Fatalf("error %v; want one naming the file, its line and %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case c.audit.RetentionDays != tt.want:
				t.Fatalf("retention_days = %d, want %d", c.audit.RetentionDays, tt.want)
			}
		})
	}
}

// oldAndNew logs a row at the clock's time, then one 500 days later, and
// leaves the clock there.
func oldAndNew(t *testing.T, st store.Store, clock *storetest.Clock, pid string) {
	t.Helper()
	for i, p := range []string{pid + "1", pid + "2"} {
		if i > 0 {
			clock.Advance(500 * 24 * time.Hour)
		}
		ident := store.Identity{ID: store.DefaultNamespace.IdentityID(p), PersonioID: p, Attributes: store.Attributes{UserName: p + "@example.com", Active: true}}
		if _, err := st.Apply(context.Background(), store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{{Op: store.OpCreate, Identity: ident}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func logSeqs(t *testing.T, st store.Store) []int64 {
	t.Helper()
	cs, err := st.Changes(context.Background(), store.ChangeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, c := range cs {
		seqs = append(seqs, c.Seq)
	}
	return seqs
}

func testPruner(st store.Store, clock *storetest.Clock, after func(time.Duration) <-chan time.Time) *auditPruner {
	p := newAuditPruner(st, auditConfig{RetentionDays: 400}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.now, p.after = clock.Now, after
	return p
}

func TestAuditPrunerPrunesOnOneReplica(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	db := memory.NewShared(memory.Options{Now: clock.Now})
	a, b := memory.Open(db), memory.Open(db)
	oldAndNew(t, a, clock, "1")

	lead, err := b.TryLead(ctx, auditLeader)
	if err != nil || lead == nil {
		t.Fatalf("lead: %v, %v", lead, err)
	}
	p := testPruner(a, clock, time.After)
	if rows, _, err := p.pruneOnce(ctx); err != nil || rows != 0 {
		t.Fatalf("pruned %d rows, %v while another replica leads; want none", rows, err)
	}
	if err := lead.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, _, err := p.pruneOnce(ctx); err != nil || rows != 1 {
		t.Fatalf("pruned %d rows, %v; want the 500-day-old one", rows, err)
	}
	if got := logSeqs(t, b); len(got) != 1 || got[0] != 2 {
		t.Fatalf("log after pruning = %v, want [2]", got)
	}
}

func TestAuditPrunerRunsDaily(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock := storetest.NewClock()
	st := memory.New(memory.Options{Now: clock.Now})
	oldAndNew(t, st, clock, "1")

	waited := make(chan time.Duration)
	tick := make(chan time.Time)
	p := testPruner(st, clock, func(d time.Duration) <-chan time.Time { waited <- d; return tick })
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()

	if d := <-waited; d != 24*time.Hour {
		t.Fatalf("waits %v between prunes, want a day", d)
	}
	if got := logSeqs(t, st); len(got) != 1 || got[0] != 2 {
		t.Fatalf("log after the first prune = %v, want [2]", got)
	}
	oldAndNew(t, st, clock, "2") // rows 3 and 4, 500 days apart; row 2 is now old too
	tick <- clock.Now()
	<-waited
	if got := logSeqs(t, st); len(got) != 1 || got[0] != 4 {
		t.Fatalf("log after the second prune = %v, want [4]", got)
	}
	cancel()
	<-done
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/store"
)

// auditConfig is CONFIG_FILE's audit section: how long the change log and
// the run reports keep what they record (personal data among it).
type auditConfig struct {
	// RetentionDays is the age in days past which rows and reports are
	// pruned; 0 keeps them forever.
	RetentionDays int `yaml:"retention_days"`
}

// defaultRetentionDays covers a year of audits with a margin.
const defaultRetentionDays = 400

func defaultAuditConfig() auditConfig { return auditConfig{RetentionDays: defaultRetentionDays} }

// parseAuditConfig reads the audit section strictly: unknown keys and
// anything but a whole number of days are errors naming the key.
func parseAuditConfig(file string, n *yaml.Node) (auditConfig, error) {
	cfg := defaultAuditConfig()
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return cfg, nil
	}
	if n.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("%s:%d: audit: want a mapping, like audit: {retention_days: 400}", file, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if key.Value != "retention_days" {
			return cfg, fmt.Errorf("%s:%d: audit: unknown key %q; the section knows retention_days", file, key.Line, key.Value)
		}
		days, err := strconv.Atoi(value.Value)
		if value.Kind != yaml.ScalarNode || value.Tag != "!!int" || err != nil || days < 0 {
			return cfg, fmt.Errorf("%s:%d: audit.retention_days: want a whole number of days, 0 to keep forever (for example 400), got %q", file, value.Line, value.Value)
		}
		cfg.RetentionDays = days
	}
	return cfg, nil
}

// auditEvery is how often the pruner runs: retention is counted in days.
const auditEvery = 24 * time.Hour

// auditLeader is the leadership that lets one replica prune at a time.
const auditLeader = "audit-retention"

// auditPruner deletes the change-log rows and run reports past their
// retention, on the replica that holds the leadership.
type auditPruner struct {
	store     store.Store
	retention time.Duration
	logger    *slog.Logger
	now       func() time.Time
	after     func(time.Duration) <-chan time.Time
}

func newAuditPruner(st store.Store, cfg auditConfig, logger *slog.Logger) *auditPruner {
	return &auditPruner{store: st, retention: time.Duration(cfg.RetentionDays) * 24 * time.Hour, logger: logger, now: time.Now, after: time.After}
}

// Run prunes at start and then once a day until ctx ends.
func (p *auditPruner) Run(ctx context.Context) {
	for {
		if _, _, err := p.pruneOnce(ctx); err != nil && ctx.Err() == nil {
			p.logger.Warn("audit retention: prune failed; trying again tomorrow", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.after(auditEvery):
		}
	}
}

// pruneOnce prunes if no other replica is doing it right now.
func (p *auditPruner) pruneOnce(ctx context.Context) (rows, runs int, err error) {
	lead, err := p.store.TryLead(ctx, auditLeader)
	if err != nil || lead == nil {
		return 0, 0, err
	}
	defer lead.Release(context.WithoutCancel(ctx))
	rows, runs, err = p.store.PruneAudit(ctx, p.now().Add(-p.retention))
	if err != nil {
		return rows, runs, err
	}
	if rows+runs > 0 {
		p.logger.Info("audit retention: pruned", "change_log_rows", rows, "sync_runs", runs)
	}
	return rows, runs, nil
}

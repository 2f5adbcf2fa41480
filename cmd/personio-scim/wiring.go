package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// configuration is CONFIG_FILE read once and split into its owners'
// sections: the mirror's keys, the push targets and the notifications.
type configuration struct {
	file          string // for error messages
	mirror        mirror.Config
	policy        *mirror.Policy
	targets       []push.TargetConfig
	rules         []*push.Rules // compiled scope and mapping, per target
	notifications notify.Config
	writeback     mirror.WritebackConfig
	audit         auditConfig
}

// loadConfiguration reads CONFIG_FILE (or the defaults) and compiles every
// section; a broken file stops the process with the file, the key and the
// position. types are the target types the binary knows.
func loadConfiguration(e env, types []string) (configuration, error) {
	c := configuration{file: orDefault(e.ConfigFile), mirror: mirror.DefaultConfig(), notifications: notify.DefaultConfig(), audit: defaultAuditConfig()}
	if e.ConfigFile != "" {
		data, err := os.ReadFile(e.ConfigFile)
		if err != nil {
			return c, fmt.Errorf("CONFIG_FILE: read configuration: %w", err)
		}
		cfg, sections, err := mirror.ParseDocument(e.ConfigFile, data, []string{"targets", "notifications", "writeback", "audit"})
		if err != nil {
			return c, fmt.Errorf("CONFIG_FILE: %w", err)
		}
		c.mirror = cfg
		if c.targets, err = push.ParseTargets(e.ConfigFile, sections["targets"], types); err != nil {
			return c, fmt.Errorf("CONFIG_FILE: %w", err)
		}
		if c.notifications, err = parseNotifications(e.ConfigFile, sections["notifications"]); err != nil {
			return c, fmt.Errorf("CONFIG_FILE: %w", err)
		}
		if n := sections["writeback"]; n != nil {
			if c.writeback, err = mirror.ParseWritebackConfig(e.ConfigFile, n); err != nil {
				return c, fmt.Errorf("CONFIG_FILE: %w", err)
			}
		}
		if c.audit, err = parseAuditConfig(e.ConfigFile, sections["audit"]); err != nil {
			return c, fmt.Errorf("CONFIG_FILE: %w", err)
		}
	}
	policy, err := mirror.Compile(c.mirror)
	if err != nil {
		return c, fmt.Errorf("CONFIG_FILE %s: %w", c.file, err)
	}
	// Write-back compares with Personio's own values, so the mirror keeps
	// the fields it writes as well as those its mapping reads.
	c.policy = policy.WithSourceFields(c.writeback.PersonioFields()...)
	for n, tc := range c.targets {
		rules, err := push.CompileRules(tc.Scope, tc.Mapping)
		if err != nil {
			return c, fmt.Errorf("CONFIG_FILE %s:%d: targets[%d] (%s): %w", c.file, tc.Line, n, tc.Name, err)
		}
		c.rules = append(c.rules, rules)
	}
	return c, nil
}

// targetNames lists the configured targets, for the notifier's digest of
// quarantined records.
func (c *configuration) targetNames() []string {
	names := make([]string, len(c.targets))
	for n, tc := range c.targets {
		names[n] = tc.Name
	}
	return names
}

// parseNotifications decodes the notifications section; its errors name
// the section, since notify parses it as a document of its own.
func parseNotifications(file string, section *yaml.Node) (notify.Config, error) {
	if section == nil {
		return notify.DefaultConfig(), nil
	}
	data, err := yaml.Marshal(section)
	if err != nil {
		return notify.Config{}, fmt.Errorf("%s: notifications: %w", file, err)
	}
	return notify.ParseConfig(fmt.Sprintf("%s:%d: notifications", file, section.Line), data)
}

// loadPolicy reads CONFIG_FILE and returns the mirror's part, compiled.
func loadPolicy(e env) (*mirror.Policy, mirror.Config, error) {
	c, err := loadConfiguration(e, typeNames(targetTypes()))
	return c.policy, c.mirror, err
}

func orDefault(path string) string {
	if path == "" {
		return "(built-in defaults)"
	}
	return path
}

// errNoPersonio means the service runs without syncing.
var errNoPersonio = errors.New("PERSONIO_CLIENT_ID and PERSONIO_CLIENT_SECRET are not set")

// newPersonioClient asks Personio only for what the policy reads.
func newPersonioClient(e env, policy *mirror.Policy, tweak func(*personio.Config)) (*personio.Client, error) {
	if e.PersonioClientID == "" || e.PersonioClientSecret == "" {
		return nil, errNoPersonio
	}
	// Labels are resolved to keys by the client when it fetches: start-up
	// must not wait on Personio.
	labels, allCustom := policy.CustomLabels()
	cfg := personio.Config{
		CustomLabels: labels,
		AllCustom:    allCustom,
		BaseURL:      e.PersonioBaseURL,
		ClientID:     e.PersonioClientID,
		ClientSecret: e.PersonioClientSecret,
		APIVersion:   personio.APIVersion(e.PersonioAPIVersion),
		PartnerID:    e.PersonioPartnerID,
		AppID:        e.PersonioAppID,
		Attributes:   policy.SourceFields(),
		Location:     policy.Location(),
		NoRateLimit:  !e.PersonioRateLimit,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := personio.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("personio client: %w", err)
	}
	return c, nil
}

// newEngine wires the mirror engine onto a store and its directory.
func newEngine(e env, policy *mirror.Policy, st store.Store, dir *store.Directory, src mirror.Source, logger *slog.Logger, onRun func(mirror.Report)) (*mirror.Engine, error) {
	return mirror.NewEngine(mirror.EngineOptions{
		Policy: policy, Store: st, Directory: dir, Source: src, Namespace: e.Namespace, Logger: logger, OnRun: onRun,
	})
}

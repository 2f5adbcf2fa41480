package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

// loadPolicy reads CONFIG_FILE (or the defaults) and compiles it; a broken
// file stops the process with the file, the key and the position.
func loadPolicy(e env) (*mirror.Policy, mirror.Config, error) {
	cfg := mirror.DefaultConfig()
	if e.ConfigFile != "" {
		var err error
		if cfg, err = mirror.LoadConfig(e.ConfigFile); err != nil {
			return nil, cfg, fmt.Errorf("CONFIG_FILE: %w", err)
		}
	}
	policy, err := mirror.Compile(cfg)
	if err != nil {
		return nil, cfg, fmt.Errorf("CONFIG_FILE %s: %w", orDefault(e.ConfigFile), err)
	}
	return policy, cfg, nil
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
	if labels, all := policy.CustomLabels(); len(labels) > 0 || all {
		return nil, fmt.Errorf("CONFIG_FILE: custom attributes must be named by key, such as custom[\"dynamic_123\"]; "+
			"naming them by label (%v) or reading all of them is not supported yet", labels)
	}
	cfg := personio.Config{
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

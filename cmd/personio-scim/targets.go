package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/google"
	"github.com/personio-scim/personio-scim/push/scim"
	"github.com/personio-scim/personio-scim/store"
)

// targetTypes maps a `targets:` entry's type to the factory that opens it.
// The map is explicit, nothing registers itself: a target type is added
// with one line here.
func targetTypes() map[string]push.Factory {
	return map[string]push.Factory{
		"scim":   scim.Open,
		"entra":  entra.Open,
		"google": google.Open,
	}
}

// defaultRateLimit is a type's published limit, used when an entry sets no
// rate_limit: Google's Directory API quota is per minute and refuses bursts
// over it. Entra paces its uploads itself (40 per 5 s), and a SCIM server's
// limits are the server's own, so neither gets a default here.
func defaultRateLimit(typ string) push.RateLimit {
	if typ == "google" {
		return google.DefaultRateLimit()
	}
	return push.RateLimit{}
}

func typeNames(types map[string]push.Factory) []string {
	return slices.Sorted(maps.Keys(types))
}

// targetHooks are what the service observes of targets (metrics).
type targetHooks struct {
	onRequest     func(push.RequestEvent)
	onUndelivered func(target string)
	getenv        func(string) string // default os.Getenv
}

// openTarget opens one configured target through its type's factory. An
// error names the entry and its line; a factory's own error names the key.
func openTarget(ctx context.Context, file string, tc push.TargetConfig, types map[string]push.Factory, logger *slog.Logger, hooks targetHooks) (push.Target, error) {
	factory, ok := types[tc.Type]
	if !ok {
		return nil, fmt.Errorf("CONFIG_FILE %s:%d: target %s: unknown type %q", file, tc.Line, tc.Name, tc.Type)
	}
	limit := tc.RateLimit
	if limit.Rate == 0 {
		limit = defaultRateLimit(tc.Type)
	}
	client := push.NewHTTPClient(push.HTTPOptions{Target: tc.Name, RateLimit: limit, Seed: rand.Uint64(), OnRequest: hooks.onRequest})
	getenv := hooks.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	target, err := factory(ctx, tc.Section, push.Env{
		Name: tc.Name, Getenv: getenv, HTTPClient: client, Now: time.Now, Logger: logger.With("target", tc.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("CONFIG_FILE %s:%d: target %s (%s): %w", file, tc.Line, tc.Name, tc.Type, err)
	}
	return target, nil
}

// openTargets opens every configured target's worker on the store.
func openTargets(ctx context.Context, cfg configuration, types map[string]push.Factory, st store.Store, dir *store.Directory, logger *slog.Logger, hooks targetHooks) (*push.Targets, error) {
	var workers []*push.Worker
	for n, tc := range cfg.targets {
		target, err := openTarget(ctx, cfg.file, tc, types, logger, hooks)
		if err != nil {
			return nil, err
		}
		w, err := push.NewWorker(ctx, push.WorkerOptions{
			Config: tc, Target: target, Rules: cfg.rules[n], Store: st, Directory: dir,
			Seed: rand.Uint64(), Logger: logger, OnUndelivered: hooks.onUndelivered,
		})
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", tc.Name, err)
		}
		if !tc.Live {
			logger.Warn("target is in dry run (live: false): requests are computed and recorded, none is sent", "target", tc.Name)
		}
		workers = append(workers, w)
	}
	return push.NewTargets(workers...), nil
}

// addTargets adds targets that do not come from the file, compiled as if
// they did.
func (c *configuration) addTargets(targets []push.TargetConfig) error {
	for _, tc := range targets {
		rules, err := push.CompileRules(tc.Scope, tc.Mapping)
		if err != nil {
			return fmt.Errorf("target %s: %w", tc.Name, err)
		}
		c.targets = append(c.targets, tc)
		c.rules = append(c.rules, rules)
	}
	return nil
}

// errNoTarget answers `push --target` with an unknown name.
var errNoTarget = errors.New("no such target in CONFIG_FILE")

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

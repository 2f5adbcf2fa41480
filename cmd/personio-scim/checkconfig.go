package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/push"
)

// runCheckConfig validates the environment and CONFIG_FILE and prints the
// effective configuration with secrets redacted.
func runCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runCheckConfigWith(ctx, args, stdout, stderr, targetTypes())
}

func runCheckConfigWith(ctx context.Context, args []string, stdout, stderr io.Writer, types map[string]push.Factory) error {
	// The environment's problems are collected with the rest rather than
	// stopping the check, so that one run names every one of them.
	e, envErr := loadEnv(os.Getenv)
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.ConfigFile, "config", e.ConfigFile, "YAML configuration file (CONFIG_FILE)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	problems := []error{envErr}
	cfg, err := loadConfiguration(e, typeNames(types))
	problems = append(problems, err)
	if err == nil {
		problems = append(problems, checkPersonio(e, cfg.policy, stdout))
		// Opening a target checks its section: keys, URLs, secret
		// variables. Factories send nothing while opening.
		for _, tc := range cfg.targets {
			_, err := openTarget(ctx, cfg.file, tc, types, slog.New(slog.DiscardHandler), targetHooks{})
			problems = append(problems, err)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("check-config found problems:\n%w", err)
	}
	warnLabels(stderr, cfg.policy)
	fmt.Fprintln(stdout, "# environment")
	for _, v := range envVars() {
		val := os.Getenv(v.Name)
		if v.Name == "CONFIG_FILE" {
			val = e.ConfigFile
		}
		switch {
		case val == "":
			val = v.Default
		case v.Secret:
			val = "(set, redacted)"
		}
		fmt.Fprintf(stdout, "%s=%s\n", v.Name, val)
	}
	out, err := cfg.mirror.YAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n# configuration: %s\n%s", orDefault(e.ConfigFile), out)
	fmt.Fprintf(stdout, "audit:\n  retention_days: %d\n", cfg.audit.RetentionDays)
	printTargets(stdout, cfg.targets)
	return nil
}

// checkPersonio builds the Personio client as serve would, which refuses
// what it could never use (a base URL that is not https, a bad API
// version), without sending anything.
func checkPersonio(e env, policy *mirror.Policy, stdout io.Writer) error {
	_, err := newPersonioClient(e, policy, nil)
	if errors.Is(err, errNoPersonio) {
		fmt.Fprintln(stdout, "# note: no Personio credentials; serve will serve what the store holds and not sync")
		return nil
	}
	return err
}

// warnLabels says which custom attributes check-config cannot check: a
// label becomes a key only through Personio's attribute listing, which is
// read when a sync fetches.
func warnLabels(w io.Writer, policy *mirror.Policy) {
	labels, all := policy.CustomLabels()
	if len(labels) > 0 {
		fmt.Fprintf(w, "warning: custom attributes named by label cannot be checked offline (%s); "+
			"a sync resolves them through Personio's attribute listing and fails on a label Personio does not have\n", quoteAll(labels))
	}
	if all {
		fmt.Fprintln(w, "warning: an expression reads custom attributes without naming one, so every custom attribute is fetched and kept")
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// printTargets lists the targets as the service will run them. Type
// sections hold only names of variables, never secrets, but they are the
// factories' to render, so only their presence is shown.
func printTargets(w io.Writer, targets []push.TargetConfig) {
	if len(targets) == 0 {
		fmt.Fprintln(w, "\n# targets: none")
		return
	}
	fmt.Fprintln(w, "\n# targets")
	fmt.Fprintln(w, "targets:")
	for _, tc := range targets {
		fmt.Fprintf(w, "  - name: %s\n    type: %s\n    live: %v\n    scope: %q\n", tc.Name, tc.Type, tc.Live, orTrueScope(tc.Scope))
		if len(tc.Mapping) > 0 {
			fmt.Fprintln(w, "    mapping:")
			for _, k := range sortedKeys(tc.Mapping) {
				fmt.Fprintf(w, "      %s: %q\n", k, tc.Mapping[k])
			}
		}
		fmt.Fprintf(w, "    reconcile_every: %s\n    quarantine_after: %d\n    guard: {max_percent: %g, max_count: %d}\n",
			tc.ReconcileEvery, tc.QuarantineAfter, tc.Guard.MaxPercent, tc.Guard.MaxCount)
		if tc.RateLimit.Rate > 0 {
			fmt.Fprintf(w, "    rate_limit: {requests_per_second: %g, burst: %d}\n", tc.RateLimit.Rate, tc.RateLimit.Burst)
		}
		if tc.Section != nil {
			fmt.Fprintf(w, "    %s: (checked)\n", tc.Type)
		}
	}
}

func orTrueScope(s string) string {
	if s == "" {
		return "true"
	}
	return s
}

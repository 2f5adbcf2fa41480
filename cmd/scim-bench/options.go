package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order "all" runs them: the baseline first so that
// every later figure has its reference, mixed last because it changes the
// company.
const (
	scenarioBaseline      = "baseline"
	scenarioLookup        = "lookup"
	scenarioGet           = "get"
	scenarioFilterComplex = "filter-complex"
	scenarioPage          = "page"
	scenarioMixed         = "mixed"
	scenarioAll           = "all"
)

var allScenarios = []string{scenarioBaseline, scenarioLookup, scenarioGet, scenarioFilterComplex, scenarioPage, scenarioMixed}

// Output formats.
const (
	formatText     = "text"
	formatMarkdown = "markdown"
	formatJSON     = "json"
)

// Limits on the knobs: beyond them the run measures the generator, not the
// server, or takes long enough to look hung.
const (
	maxEmployees   = 100000
	maxConcurrency = 1024
	maxChanges     = 10000
	maxRounds      = 100
)

// options are the parsed command line.
type options struct {
	Scenario    string
	Employees   int
	Seed        int64
	Concurrency int
	Duration    time.Duration
	Requests    int
	Warmup      time.Duration
	URL         string
	Token       string
	Format      string
	CPUProfile  string
	Changes     int
	Rounds      int
}

// selfHosted says whether the bench builds and serves the stack itself.
func (o options) selfHosted() bool { return o.URL == "" }

// scenarios expands "all": every scenario but the baseline, which is
// measured in slices alternating with each of them; against a remote
// server mixed is left out because only the self-hosted company can be
// changed.
func (o options) scenarios() []string {
	if o.Scenario != scenarioAll {
		return []string{o.Scenario}
	}
	return slices.DeleteFunc(slices.Clone(allScenarios), func(s string) bool {
		return s == scenarioBaseline || (s == scenarioMixed && !o.selfHosted())
	})
}

// parseOptions reads the command line; every error names the flag.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("scim-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Scenario, "scenario", scenarioAll, "lookup|get|page|filter-complex|mixed|baseline|all")
	fs.IntVar(&o.Employees, "employees", 10000, "simulated employees of the self-hosted company")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the simulated company and of the request order")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "concurrent clients (closed loop: each waits for its answer)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each scenario runs (page: repeats whole imports)")
	fs.IntVar(&o.Requests, "requests", 0, "requests per scenario instead of --duration")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "unmeasured load before each scenario (0: none)")
	fs.StringVar(&o.URL, "url", "", "base URL of a running server on a loopback address, e.g. http://127.0.0.1:8080")
	fs.StringVar(&o.Token, "token", "", "SCIM bearer token for --url")
	fs.StringVar(&o.Format, "format", formatText, "text|markdown|json")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured scenarios to this file")
	fs.IntVar(&o.Changes, "changes", 100, "mixed: employees changed in the simulated company before each sync")
	fs.IntVar(&o.Rounds, "rounds", 5, "slices each scenario's budget is cut into, alternating with equal slices of the baseline")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q: every setting is a flag (see -h)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["requests"] {
		o.Duration = 0
	}
	if err := o.validate(set); err != nil {
		return options{}, err
	}
	if !o.selfHosted() {
		o.Employees = 0
	}
	return o, nil
}

func (o options) validate(set map[string]bool) error {
	switch {
	case !slices.Contains(allScenarios, o.Scenario) && o.Scenario != scenarioAll:
		return fmt.Errorf("--scenario %q: want one of %s or all", o.Scenario, strings.Join(allScenarios, ", "))
	case o.Employees < 1 || o.Employees > maxEmployees:
		return fmt.Errorf("--employees %d: want 1 to %d", o.Employees, maxEmployees)
	case o.Concurrency < 1 || o.Concurrency > maxConcurrency:
		return fmt.Errorf("--concurrency %d: want 1 to %d", o.Concurrency, maxConcurrency)
	case set["duration"] && set["requests"]:
		return errors.New("--duration and --requests: give one of them, not both")
	case set["requests"] && o.Requests < 1:
		return fmt.Errorf("--requests %d: want at least 1", o.Requests)
	case !set["requests"] && o.Duration <= 0:
		return fmt.Errorf("--duration %s: want more than 0, such as 10s", o.Duration)
	case o.Warmup < 0:
		return fmt.Errorf("--warmup %s: want 0 or more", o.Warmup)
	case o.Changes < 1 || o.Changes > maxChanges:
		return fmt.Errorf("--changes %d: want 1 to %d", o.Changes, maxChanges)
	case o.Rounds < 1 || o.Rounds > maxRounds:
		return fmt.Errorf("--rounds %d: want 1 to %d", o.Rounds, maxRounds)
	case set["requests"] && o.Rounds > o.Requests:
		return fmt.Errorf("--rounds %d: want at most --requests (%d), so that every slice sends something", o.Rounds, o.Requests)
	case o.Format != formatText && o.Format != formatMarkdown && o.Format != formatJSON:
		return fmt.Errorf("--format %q: want text, markdown or json", o.Format)
	}
	return o.validateTarget(set)
}

// validateTarget checks --url and --token: the bench only ever talks to
// loopback addresses.
func (o options) validateTarget(set map[string]bool) error {
	if o.URL == "" {
		if o.Token != "" {
			return errors.New("--token: only with --url (the self-hosted stack makes its own token)")
		}
		return nil
	}
	if o.Token == "" {
		return errors.New("--url needs --token, a SCIM token with scope scim:read")
	}
	if set["employees"] {
		return errors.New("--employees: only for the self-hosted stack; with --url the users are discovered by paging /Users")
	}
	if o.Scenario == scenarioMixed {
		return errors.New("--scenario mixed: only for the self-hosted stack, whose simulated company it changes")
	}
	if set["changes"] {
		return errors.New("--changes: only for mixed on the self-hosted stack")
	}
	return checkLoopbackURL(o.URL)
}

// checkLoopbackURL accepts http(s) URLs whose host is a loopback IP or
// localhost.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want a base URL such as http://127.0.0.1:8080", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--url %q: want a base URL without query, fragment or user info", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return fmt.Errorf("--url %q: the bench only targets loopback addresses (127.0.0.1, ::1, localhost)", raw)
	}
	return nil
}

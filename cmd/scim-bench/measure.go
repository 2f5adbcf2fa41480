package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// measure sets up the target and the baseline, then runs the scenarios.
func measure(ctx context.Context, opts options, args []string, progress io.Writer) (report, error) {
	rep := report{Command: commandLine(args), Machine: describeMachine(time.Now())}
	logger := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b := &bench{opts: opts, progress: progress}
	if opts.selfHosted() {
		fmt.Fprintf(progress, "scim-bench: building the stack with %d simulated employees and syncing…\n", opts.Employees)
		st, err := startStack(ctx, opts.Employees, opts.Seed, logger)
		if err != nil {
			return rep, err
		}
		defer st.Close()
		b.stack, b.scimURL, b.token = st, st.URL+scimPath, st.Token
		clock := timerClock(st.Timer)
		b.clock = &clock
		rep.Setup.FirstSync = st.FirstSync.Duration
	} else {
		base := strings.TrimRight(opts.URL, "/")
		b.scimURL, b.token = base+scimPath, opts.Token
	}
	if err := b.discover(ctx); err != nil {
		return rep, err
	}
	if !opts.selfHosted() {
		b.clock = remoteClock(ctx, strings.TrimRight(opts.URL, "/"), progress)
		if opts.Scenario == scenarioAll {
			fmt.Fprintln(progress, "scim-bench: leaving out mixed: it changes the simulated company, which only the self-hosted stack has")
		}
	}
	body, err := b.serveBaseline(ctx, logger)
	if err != nil {
		return rep, err
	}
	defer body.Close()
	rep.Setup = b.describeSetup(rep.Setup, len(body.bytes))
	stopProfile, err := startCPUProfile(opts.CPUProfile)
	if err != nil {
		return rep, err
	}
	rep.Results, err = b.runScenarios(ctx)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return rep, err
	}
	rep.Targets = checkTargets(rep.Results)
	return rep, nil
}

// remoteClock reads server time off a running server's /metrics, or
// returns nil when it cannot. It must be called after discovery: the
// server has a SCIM series only once it has answered a SCIM request.
func remoteClock(ctx context.Context, baseURL string, progress io.Writer) *serverClock {
	clock := metricsClock(newLoadClient(1), baseURL)
	if _, err := clock.read(ctx); err != nil {
		fmt.Fprintf(progress, "scim-bench: no server time for page (%v); wall time only\n", err)
		return nil
	}
	return &clock
}

// scimPath is where the service serves SCIM.
const scimPath = "/scim/v2"

// discoveryBound bounds paging through the target's users and groups.
const discoveryBound = 5 * time.Minute

// discover pages through the target's users (as a client would, in
// either mode) and counts its groups.
func (b *bench) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, discoveryBound)
	defer cancel()
	client := newLoadClient(1)
	defer client.CloseIdleConnections()
	p := &pager{client: client, baseURL: b.scimURL, token: b.token}
	fmt.Fprintf(b.progress, "scim-bench: discovering users at %s…\n", b.scimURL)
	users, err := discoverUsers(ctx, p)
	if err != nil {
		return err
	}
	b.users = shuffled(users, b.opts.Seed)
	groups, err := p.walk(ctx, "Groups", nil)
	if err != nil {
		return fmt.Errorf("count groups: %w", err)
	}
	b.groups = groups.Resources
	return nil
}

// baselineServer serves one fixed answer.
type baselineServer struct {
	*loopbackServer
	bytes []byte
}

// serveBaseline fetches the target's answer to the first lookup and serves
// those bytes from a bare handler on its own loopback listener.
func (b *bench) serveBaseline(ctx context.Context, logger *slog.Logger) (*baselineServer, error) {
	paths := lookupPaths(b.users)
	if len(paths) == 0 {
		return nil, fmt.Errorf("baseline: no user with a userName to look up")
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryBound)
	defer cancel()
	client := newLoadClient(1)
	defer client.CloseIdleConnections()
	body, err := fetchBody(ctx, &pager{client: client, baseURL: b.scimURL, token: b.token}, paths[0])
	if err != nil {
		return nil, fmt.Errorf("baseline: fetch a lookup answer: %w", err)
	}
	srv, err := serveLoopback(fixedAnswer(body), logger)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b.baselineURL = srv.URL + scimPath
	return &baselineServer{loopbackServer: srv, bytes: body}, nil
}

// fixedAnswer is the baseline: what net/http alone costs for an answer of
// this size.
func fixedAnswer(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	})
}

func (b *bench) describeSetup(s setup, bodyBytes int) setup {
	s.SelfHosted, s.Target, s.Employees = b.opts.selfHosted(), b.scimURL, b.opts.Employees
	s.Users, s.Groups = len(b.users), b.groups
	s.Concurrency, s.Duration, s.Requests, s.Warmup, s.Seed = b.opts.Concurrency, b.opts.Duration, b.opts.Requests, b.opts.Warmup, b.opts.Seed
	s.BodyBytes, s.Rounds = bodyBytes, b.opts.Rounds
	return s
}

// startCPUProfile profiles the measured scenarios (server and generator
// alike when self-hosted) into path; "" profiles nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}, nil
}

// commandLine is how to rerun this measurement, with the token's value
// left out.
func commandLine(args []string) string {
	const placeholder = `"$SCIM_TOKEN"`
	parts := []string{"go run ./cmd/scim-bench"}
	redactNext := false
	for _, a := range args {
		switch {
		case redactNext:
			a, redactNext = placeholder, false
		case a == "--token" || a == "-token":
			redactNext = true
		case strings.HasPrefix(a, "--token=") || strings.HasPrefix(a, "-token="):
			a = a[:strings.IndexByte(a, '=')+1] + placeholder
		case strings.ContainsAny(a, " \t'\"$\\;&|<>()*?"):
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

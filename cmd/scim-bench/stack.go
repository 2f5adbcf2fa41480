package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// benchCredential is the simulator credential the stack syncs with; its
// rate limits are off so that the first sync of 10,000 people takes
// seconds, not the minutes Personio's limits would impose.
const (
	benchClientID     = "scim-bench"
	benchClientSecret = "scim-bench-secret"
)

// syncInterval only matters for the scheduler's choice between a full and
// an incremental run; the bench never lets the scheduler tick by itself.
const syncInterval = 15 * time.Minute

// stack is the service wired the way the demo wires it (simulator,
// in-memory store, directory, Personio client, mirror engine, scheduler,
// api.NewRouter), served on loopback.
type stack struct {
	URL       string
	Token     string
	Sim       *personiotest.Server
	Scheduler *mirror.Scheduler
	Timer     *serverTimer
	FirstSync mirror.Report

	sim, svc  *loopbackServer
	st        store.Store
	stopLoops context.CancelFunc
	loops     sync.WaitGroup
}

// startStack builds the company, makes the first full sync through the
// real engine and client, and serves the router.
func startStack(ctx context.Context, employees int, seed int64, logger *slog.Logger) (_ *stack, err error) {
	s := &stack{Timer: &serverTimer{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.Sim = personiotest.New(personiotest.Options{Employees: employees, Seed: seed, Credentials: []personiotest.Credential{
		{ClientID: benchClientID, ClientSecret: benchClientSecret, NoRateLimit: true},
	}})
	if s.sim, err = serveLoopback(s.Sim, logger); err != nil {
		return nil, fmt.Errorf("serve the simulator: %w", err)
	}
	policy, err := mirror.Compile(mirror.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("compile the default policy: %w", err)
	}
	s.st = memory.New(memory.Options{})
	dir, err := store.NewDirectory(ctx, s.st, store.DirectoryOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	metrics := api.NewMetrics(dir, s.st)
	client, err := personio.NewClient(personio.Config{
		BaseURL: s.sim.URL, ClientID: benchClientID, ClientSecret: benchClientSecret,
		Attributes: policy.SourceFields(), Location: policy.Location(),
		NoRateLimit: true, OnRequest: metrics.ObservePersonio,
	})
	if err != nil {
		return nil, fmt.Errorf("personio client: %w", err)
	}
	engine, err := mirror.NewEngine(mirror.EngineOptions{
		Policy: policy, Store: s.st, Directory: dir, Source: client, Namespace: store.DefaultNamespace,
		Logger: logger, OnRun: metrics.ObserveRun,
	})
	if err != nil {
		return nil, err
	}
	s.Scheduler = mirror.NewScheduler(engine, syncInterval)
	if s.Token, err = store.NewTokenSecret(); err != nil {
		return nil, err
	}
	router, err := api.NewRouter(api.Options{
		Store: s.st, Directory: dir, Scheduler: s.Scheduler, Engine: engine, Metrics: metrics,
		Version: "scim-bench", Logger: logger, SCIMToken: s.Token, Writable: policy.Writable(),
	})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopLoops = stop
	s.loops.Go(func() { dir.Run(loopCtx) })
	if s.FirstSync, err = s.Scheduler.RunNow(ctx, mirror.RunOptions{Trigger: "scim-bench"}, false); err != nil {
		return nil, fmt.Errorf("first sync: %w", err)
	}
	if n, _ := dir.View().Len(); n == 0 {
		return nil, errors.New("first sync: the directory is empty")
	}
	if s.svc, err = serveLoopback(s.Timer.wrap(router), logger); err != nil {
		return nil, fmt.Errorf("serve the router: %w", err)
	}
	s.URL = s.svc.URL
	return s, nil
}

// Close stops the servers and the directory's loop.
func (s *stack) Close() {
	if s.svc != nil {
		s.svc.Close()
	}
	if s.stopLoops != nil {
		s.stopLoops()
		s.loops.Wait()
	}
	if s.sim != nil {
		s.sim.Close()
	}
	if s.st != nil {
		s.st.Close()
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/api/console"
	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// Server limits. Identity providers page with small requests; nothing
// legitimate needs long headers or slow uploads.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second // Okta gives up after 60 s anyway
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownGrace     = 25 * time.Second // under Kubernetes' default 30 s
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newCommand("serve", stderr, "")
	if err != nil {
		return err
	}
	c.listenFlag()
	c.configFlag()
	if err := c.parse(args); err != nil {
		return err
	}
	e, logger := c.env, c.logger
	if e.DatabaseURL == "" {
		return errors.New("serve needs DATABASE_URL: a Postgres URL, or DATABASE_URL=" + memoryURL + " for the in-memory store, which loses every token, run and change on exit (the demo command needs neither)")
	}
	applySoftMemoryLimit(logger)
	svc, err := newService(ctx, e, logger)
	if err != nil {
		return err
	}
	defer svc.close()
	return svc.run(ctx, e.ListenAddr, nil)
}

// service is everything serve runs: the store, the directory that follows
// it, background loops and the HTTP handler.
type service struct {
	store     store.Store
	dir       *store.Directory
	engine    *mirror.Engine    // nil when no Personio credentials are set
	scheduler *mirror.Scheduler // nil when no Personio credentials are set
	targets   *push.Targets     // the push targets' workers
	handler   http.Handler
	logger    *slog.Logger
	loops     []func(context.Context)
	console   *console.Console // nil when the console is off
	// adminAddr, when set and not the main address, serves the admin API,
	// the console and the metrics apart from SCIM and the webhooks.
	adminAddr string
	// trustedProxies are exempt from the per-address connection cap: every
	// client behind a load balancer shares its address.
	trustedProxies api.TrustedProxies
}

// newService loads the policy, opens the store and wires everything.
func newService(ctx context.Context, e env, logger *slog.Logger) (*service, error) {
	return newServiceWith(ctx, e, logger, serviceOptions{})
}

// serviceOptions change what the environment and CONFIG_FILE describe, for
// the demo and tests.
type serviceOptions struct {
	// tweak changes the Personio client's config (the demo points it at
	// its simulator).
	tweak func(*personio.Config)
	// types are the target types (default targetTypes()).
	types map[string]push.Factory
	// targets are added to CONFIG_FILE's (the demo's SCIM simulator).
	targets []push.TargetConfig
	// getenv reads the variables target sections name (default os.Getenv).
	getenv func(string) string
	// localConsole serves the web console without OIDC, signed in through
	// printed one-time links (the demo).
	localConsole bool
	// notifications replace CONFIG_FILE's section (the demo's console).
	notifications *notify.Config
	// console receives the notifications of console channels (the demo's
	// standard output).
	console io.Writer
}

func newServiceWith(ctx context.Context, e env, logger *slog.Logger, o serviceOptions) (*service, error) {
	if o.types == nil {
		o.types = targetTypes()
	}
	cfg, err := loadConfiguration(e, typeNames(o.types))
	if err != nil {
		return nil, err
	}
	if err := cfg.addTargets(o.targets); err != nil {
		return nil, err
	}
	if o.notifications != nil {
		cfg.notifications = *o.notifications
	}
	tweak, types := o.tweak, o.types
	policy := cfg.policy
	st, err := openStore(ctx, e, e.MigrateOnStart, logger)
	if err != nil {
		return nil, err
	}
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{Logger: logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	if n, _ := dir.View().Len(); n >= largeRunPeople {
		debug.FreeOSMemory() // what loading a large directory let go of, as after a large run
	}
	svc := &service{store: st, dir: dir, logger: logger, trustedProxies: e.TrustedProxies, adminAddr: e.AdminListenAddr}
	svc.loops = append(svc.loops, dir.Run)
	if cfg.audit.RetentionDays > 0 {
		svc.loops = append(svc.loops, newAuditPruner(st, cfg.audit, logger).Run)
	}
	metrics := api.NewMetrics(dir, st)
	metrics.SetBuild(buildInfo())
	notifier, err := newNotifier(e, cfg.notifications, notifierOptions{Store: st, Logger: logger, Getenv: o.getenv, Targets: cfg.targetNames, Console: o.console})
	if err != nil {
		st.Close()
		return nil, err
	}
	// Every finished sync run is told to whoever acts on runs: metrics,
	// the notifier, write-back.
	onRun := []func(mirror.Report){metrics.ObserveRun, releaseAfterLargeRuns(debug.FreeOSMemory)}
	if notifier != nil {
		svc.loops = append(svc.loops, func(ctx context.Context) { notifier.Run(ctx) })
		onRun = append(onRun, func(rep mirror.Report) {
			// The run is recorded whatever happens to its notice; a
			// notice that cannot be queued is logged, never fatal.
			if err := notifier.RunFinished(context.Background(), runEvent(rep)); err != nil {
				logger.Warn("queue the notice of a sync run", "run", rep.RunID, "error", err)
			}
		})
	}
	client, err := newPersonioClient(e, policy, func(c *personio.Config) {
		c.OnRequest = metrics.ObservePersonio
		if tweak != nil {
			tweak(c)
		}
	})
	switch {
	case errors.Is(err, errNoPersonio):
		logger.Warn("not syncing: " + err.Error() + "; serving what the store holds")
	case err != nil:
		st.Close()
		return nil, err
	default:
		if len(cfg.writeback.Rules) > 0 {
			wb, err := mirror.NewWriteback(mirror.WritebackOptions{Config: cfg.writeback, Writer: client, Directory: dir, Logger: logger})
			if err != nil {
				st.Close()
				return nil, err
			}
			svc.loops = append(svc.loops, func(ctx context.Context) { wb.Loop(ctx, e.SyncInterval) })
			onRun = append(onRun, wb.Kick)
		}
		svc.engine, err = newEngine(e, policy, st, dir, client, logger, func(rep mirror.Report) {
			for _, hear := range onRun {
				hear(rep)
			}
		})
		if err != nil {
			st.Close()
			return nil, err
		}
		svc.scheduler = mirror.NewScheduler(svc.engine, e.SyncInterval)
		svc.loops = append(svc.loops, svc.scheduler.Run)
	}
	hooks, err := webhookReceiver(e.PersonioWebhookToken, svc.scheduler, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	if hooks != nil {
		svc.loops = append(svc.loops, hooks.Run)
	}
	hooksForTargets := targetHooks{onRequest: metrics.ObservePushRequest, onUndelivered: metrics.ObserveUndelivered, getenv: o.getenv}
	if notifier != nil {
		hooksForTargets.onHold = func(target string, h push.Hold) {
			if err := notifier.RunFinished(context.Background(), pushHoldEvent(target, h, dir.View())); err != nil {
				logger.Warn("queue the notice of a held push", "target", target, "error", err)
			}
		}
	}
	svc.targets, err = openTargets(ctx, cfg, types, st, dir, logger, hooksForTargets)
	if err != nil {
		st.Close()
		return nil, err
	}
	svc.loops = append(svc.loops, svc.targets.Run)
	var notifications http.Handler
	if notifier != nil {
		notifications = api.NotificationsHandler(notifier)
	}
	// The console signs people in through the company's IdP; without
	// OIDC_ISSUER only the demo serves it, through one-time links it prints.
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if e.OIDCIssuer != "" || o.localConsole {
		svc.console, err = newConsole(func(k string) string {
			if k == "PUBLIC_URL" {
				return e.PublicURL
			}
			return getenv(k)
		}, logger)
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	svc.handler, err = api.NewRouter(api.Options{
		Store: st, Directory: dir, Scheduler: svc.scheduler, Engine: svc.engine, Targets: svc.targets,
		Metrics: metrics, Version: version, Logger: logger,
		SCIMToken: e.SCIMToken, AdminToken: e.AdminToken, Writable: policy.Writable(), PublicURL: e.PublicURL,
		TrustedProxies: e.TrustedProxies, SCIMBasicUser: e.SCIMBasicUser, Notifications: notifications,
		Webhooks: hooks, Console: svc.console,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return svc, nil
}

func (s *service) close() { s.store.Close() }

// run serves HTTP on addr until ctx ends, then shuts down gracefully. When
// listening is non-nil it receives the bound address (tests listen on :0).
func (s *service) run(ctx context.Context, addr string, listening chan<- net.Addr) error {
	var servers []*http.Server
	serveErr := make(chan error, 2)
	for n, l := range s.listeners(addr) {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, srv := range servers {
				srv.Close()
			}
			return fmt.Errorf("%s=%q: %w", l.name, l.addr, err)
		}
		ln = api.LimitConnections(ln, api.ConnLimits{Trusted: s.trustedProxies})
		srv := &http.Server{
			Handler:           l.handler,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		go func() { serveErr <- srv.Serve(ln) }()
		s.logger.Info("listening", "addr", ln.Addr().String(), "serves", l.name, "store", s.store.Backend())
		if n == 0 && listening != nil {
			listening <- ln.Addr()
		}
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, loop := range s.loops {
		wg.Go(func() { loop(loopCtx) })
	}
	defer func() { stopLoops(); wg.Wait() }()

	select {
	case err := <-serveErr:
		for _, srv := range servers {
			srv.Close()
		}
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down", "grace", shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("shut down HTTP server: %w", err))
		}
	}
	return errors.Join(errs...)
}

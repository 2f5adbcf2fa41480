package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/store"
)

// runDemo starts the simulator, the in-memory store and the service in one
// process, so a newcomer sees the mirror work with nothing installed.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newCommand("demo", stderr, "")
	if err != nil {
		return err
	}
	c.listenFlag()
	employees := c.flags.Int("employees", 300, "simulated employees")
	seed := c.flags.Int64("seed", 1, "seed of the simulated company")
	every := c.flags.Duration("events-every", time.Minute, "how often something happens in the simulated company (0: never)")
	var pushTo demoPushKinds
	c.flags.Var(&pushTo, "push", "also push the directory into simulators of push targets: --push (a SCIM 2.0 server), --push entra, --push scim,entra,google")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := pushTo.addArgs(c.flags.Args()); err != nil {
		return err
	}
	if *employees < 1 || *employees > 100000 {
		return fmt.Errorf("--employees: want 1 to 100000")
	}
	e := c.env
	d, err := startDemo(ctx, e, *employees, *seed, c.logger, pushTo.kinds)
	if err != nil {
		return err
	}
	defer d.close()
	addrs := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- d.svc.run(ctx, e.ListenAddr, addrs) }()
	select {
	case addr := <-addrs:
		d.printWelcome(stdout, addr)
	case err := <-served:
		return err
	}
	if *every > 0 {
		fmt.Fprintf(stdout, "Every %s someone is hired, moves or leaves in the simulated company; watch /api/v1/audit.\nPress Ctrl-C to stop.\n", *every)
		go d.makeThingsHappen(ctx, *every, stdout)
	}
	return <-served
}

// demo is a running demo: the simulator and the service.
type demo struct {
	sim        *personiotest.Server
	simServer  *http.Server
	scimSim    *scimsim.Sim // the SCIM push target's simulator, nil without it
	entraSim   *entrasim.Sim
	googleSim  *googlesim.Sim
	pushes     []demoPush // the simulated push targets, for the welcome
	closers    []func()   // the push simulators' servers
	svc        *service
	scimToken  string
	adminToken string
	rng        *rand.Rand
	// started is when the demo was ready: the audit example asks for what
	// changed since, so that it shows the simulated company's news rather
	// than the first import.
	started time.Time
}

func startDemo(ctx context.Context, e env, employees int, seed int64, logger *slog.Logger, pushTo []string) (*demo, error) {
	sim := personiotest.New(personiotest.Options{Employees: employees, Seed: seed, EmailDomain: demoEmailDomain})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the simulator: %w", err)
	}
	d := &demo{sim: sim, simServer: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}, rng: rand.New(rand.NewPCG(uint64(seed), 7))}
	go d.simServer.Serve(ln)
	if d.scimToken, err = store.NewTokenSecret(); err != nil {
		return nil, err
	}
	if d.adminToken, err = store.NewTokenSecret(); err != nil {
		return nil, err
	}
	e.DatabaseURL = memoryURL
	e.PersonioBaseURL = "http://" + ln.Addr().String()
	e.PersonioClientID, e.PersonioClientSecret = sim.ClientID(), sim.ClientSecret()
	e.SCIMToken, e.AdminToken = d.scimToken, d.adminToken
	e.SyncInterval = time.Minute
	opts, err := d.startPushTargets(pushTo)
	if err != nil {
		d.close()
		return nil, err
	}
	demoNotices := demoNotifications()
	opts.notifications, opts.console, opts.localConsole = &demoNotices, os.Stdout, true
	if e.PublicURL == "" {
		// The console's cookies are Secure unless the public URL is
		// plain http, which a browser accepts on localhost only.
		// The host is the one the welcome prints, so that the console's
		// same-origin check accepts the link the demo gives.
		if host, port, err := net.SplitHostPort(e.ListenAddr); err == nil && port != "0" {
			if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
				host = "localhost"
			}
			e.PublicURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	d.svc, err = newServiceWith(ctx, e, logger, opts)
	if err != nil {
		d.close()
		return nil, err
	}
	// The first import runs before the welcome, so that the service is
	// ready when its URL is printed and the audit example starts after it.
	if _, err := d.svc.scheduler.RunNow(ctx, mirror.RunOptions{Trigger: "demo"}, false); err != nil {
		d.close()
		return nil, fmt.Errorf("the demo's first sync: %w", err)
	}
	d.started = time.Now()
	return d, nil
}

func (d *demo) close() {
	if d.svc != nil {
		d.svc.close()
	}
	d.simServer.Close()
	for _, stop := range d.closers {
		stop()
	}
}

func (d *demo) printWelcome(w io.Writer, addr net.Addr) {
	base := "http://" + demoHost(addr)
	fmt.Fprintf(w, `
personio-scim demo: %d simulated Personio employees, in-memory store.

  SCIM base URL   %s/scim/v2
  SCIM token      %s   (scope scim:read)
  admin token     %s   (scope admin)

Try:
  curl -H 'Authorization: Bearer %s' '%s/scim/v2/Users?count=3'
  curl -H 'Authorization: Bearer %s' '%s/api/v1/status'
  curl -H 'Authorization: Bearer %s' '%s/api/v1/audit?since=%s&limit=20'
`, len(d.sim.Records()), base, d.scimToken, d.adminToken, d.scimToken, base, d.adminToken, base, d.adminToken, base, d.started.UTC().Format(time.RFC3339Nano))
	d.printPushes(w, base)
	if d.svc.console != nil {
		fmt.Fprintf(w, "\nConsole (one sign-in, valid 15 minutes; no IdP needed):\n  %s\n", d.svc.console.LocalAdminLink(base))
	}
}

// makeThingsHappen changes the simulated company on a timer and syncs at
// once, so the admin API shows the mirror reacting.
func (d *demo) makeThingsHappen(ctx context.Context, every time.Duration, w io.Writer) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	events := []func() (string, error){d.hire, d.move, d.terminate}
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		what, err := events[n%len(events)]()
		if err != nil {
			fmt.Fprintf(w, "demo: %v\n", err)
			continue
		}
		rep, err := d.svc.scheduler.RunNow(ctx, mirror.RunOptions{Trigger: "demo"}, false)
		if err != nil && !errors.Is(err, mirror.ErrBusy) {
			fmt.Fprintf(w, "demo: %s; sync failed: %v\n", what, err)
			continue
		}
		c := rep.Counts
		fmt.Fprintf(w, "demo: %s; synced: %d created, %d updated, %d deactivated, %d group changes\n",
			what, c.Created, c.Updated+c.Activated, c.Deactivated, c.GroupsCreated+c.GroupsUpdated+c.GroupsRemoved)
	}
}

func (d *demo) hire() (string, error) {
	start := d.sim.Today().AddDays(3)
	id, err := d.sim.Hire(personiotest.Attrs{
		"first_name": []string{"Mia", "Noah", "Lina", "Elias", "Zoë", "Jürgen"}[d.rng.IntN(6)],
		"last_name":  []string{"Schäfer", "Groß", "Wörner", "Lehmann", "Brückner"}[d.rng.IntN(5)],
		"hire_date":  start.String(), "department": "Engineering", "office": "Berlin",
	})
	if err != nil {
		return "", fmt.Errorf("hire: %w", err)
	}
	return fmt.Sprintf("Personio person %s was hired, starting %s", id, start), nil
}

func (d *demo) move() (string, error) {
	p, ok := d.pick(func(r personio.Record) bool { return r.Status == "active" })
	if !ok {
		return "", errors.New("move: nobody is active")
	}
	dept := []string{"Sales", "Engineering", "Finance", "People", "Marketing"}[d.rng.IntN(5)]
	if err := d.sim.Update(p.ID, personiotest.Attrs{"department": dept}); err != nil {
		return "", fmt.Errorf("move: %w", err)
	}
	return fmt.Sprintf("Personio person %s moved to %s", p.ID, dept), nil
}

func (d *demo) terminate() (string, error) {
	p, ok := d.pick(func(r personio.Record) bool { return r.Status == "active" && r.TerminationDate.IsZero() })
	if !ok {
		return "", errors.New("terminate: nobody is left to terminate")
	}
	yesterday := d.sim.Today().AddDays(-1).String()
	if err := d.sim.Update(p.ID, personiotest.Attrs{"termination_date": yesterday, "last_working_day": yesterday}); err != nil {
		return "", fmt.Errorf("terminate: %w", err)
	}
	return fmt.Sprintf("Personio person %s left (last working day %s)", p.ID, yesterday), nil
}

func (d *demo) pick(ok func(personio.Record) bool) (personio.Record, bool) {
	people := slices.DeleteFunc(d.sim.Records(), func(r personio.Record) bool { return !ok(r) })
	if len(people) == 0 {
		return personio.Record{}, false
	}
	return people[d.rng.IntN(len(people))], true
}

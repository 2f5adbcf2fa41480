package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// runSimulate serves the Personio API simulator until ctx ends; see
// docs/simulator.md.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newCommand("simulate", stderr, "")
	if err != nil {
		return err
	}
	fs := c.flags
	listen := fs.String("listen", "127.0.0.1:9090", "address to listen on")
	employees := fs.Int("employees", 200, "employees of the simulated company (0 for none)")
	seed := fs.Int64("seed", 1, "seed of the simulated company")
	clientID := fs.String("client-id", personiotest.DefaultClientID, "client id of the simulated API credential")
	clientSecret := fs.String("client-secret", personiotest.DefaultClientSecret, "client secret of the simulated API credential")
	tokenMode := fs.String("token-mode", string(personiotest.TokenStable), "stable (24-hour tokens) or legacy (one-time tokens rotated on every answer)")
	noRateLimit := fs.Bool("no-rate-limit", false, "turn Personio's rate limits off")
	timezone := fs.String("timezone", "Europe/Berlin", "the company's time zone")
	if err := c.parse(args); err != nil {
		return err
	}
	opts, err := simulatorOptions(*employees, *seed, *clientID, *clientSecret, *tokenMode, *noRateLimit, *timezone)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("simulate: listen on %s: %w", *listen, err)
	}
	sim := personiotest.New(opts)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	printSimulatorWelcome(stdout, ln.Addr(), len(sim.Records()), *clientID, *clientSecret)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("simulate: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("simulate: shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}

// simulatorOptions checks the flags and turns them into simulator options.
func simulatorOptions(employees int, seed int64, clientID, clientSecret, tokenMode string, noRateLimit bool, timezone string) (personiotest.Options, error) {
	if employees < 0 || employees > 1_000_000 {
		return personiotest.Options{}, fmt.Errorf("simulate: --employees: want 0 to 1000000")
	}
	if clientID == "" || clientSecret == "" {
		return personiotest.Options{}, fmt.Errorf("simulate: --client-id and --client-secret must not be empty")
	}
	mode := personiotest.TokenMode(tokenMode)
	if mode != personiotest.TokenStable && mode != personiotest.TokenLegacy {
		return personiotest.Options{}, fmt.Errorf("simulate: --token-mode: want stable or legacy")
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return personiotest.Options{}, fmt.Errorf("simulate: --timezone: %w", err)
	}
	if employees == 0 {
		employees = -1 // the simulator reads 0 as its default size
	}
	return personiotest.Options{
		Employees: employees, Seed: seed, Location: loc,
		Credentials: []personiotest.Credential{{ClientID: clientID, ClientSecret: clientSecret, TokenMode: mode, NoRateLimit: noRateLimit}},
	}, nil
}

// printSimulatorWelcome prints where the simulator listens. A secret the
// operator chose stays off the terminal; the documented default is shown.
func printSimulatorWelcome(w io.Writer, addr net.Addr, people int, clientID, clientSecret string) {
	base := "http://" + demoHost(addr)
	secret := "(as given with --client-secret)"
	if clientSecret == personiotest.DefaultClientSecret {
		secret = clientSecret
	}
	fmt.Fprintf(w, `Personio API simulator: %d employees.

  base URL        %s
  client id       %s
  client secret   %s

Try:
  curl -s -X POST %s/v1/auth -H 'Content-Type: application/json' -d '{"client_id":"%s","client_secret":"..."}'
  curl -s %s/_sim/employees | head -c 600
Point personio-scim at it with PERSONIO_BASE_URL=%s. Press Ctrl-C to stop.
`, people, base, clientID, secret, base, clientID, base, base)
}

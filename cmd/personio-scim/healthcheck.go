package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks the local server's /healthz, for container health
// checks in images that carry no shell or curl.
func runHealthcheck(ctx context.Context, args []string, _, stderr io.Writer) error {
	c, err := newCommand("healthcheck", stderr, "")
	if err != nil {
		return err
	}
	if err := c.parse(args); err != nil {
		return err
	}
	e := c.env
	_, port, err := net.SplitHostPort(e.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR=%q: %w", e.ListenAddr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	return nil
}

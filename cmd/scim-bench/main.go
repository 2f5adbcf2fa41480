// Command scim-bench is a load generator for the SCIM server over loopback.
// It builds the real stack in-process (simulated Personio company,
// in-memory store, a first full sync through the mirror engine,
// api.NewRouter) or targets a running server, and reports throughput,
// latency percentiles and errors for named scenarios next to a baseline: a
// bare net/http handler serving one fixed SCIM answer of the same size,
// measured in the same run on the same cores, so that the figures can be
// read as ratios.
//
//	go run ./cmd/scim-bench --scenario all --employees 10000
//	go run ./cmd/scim-bench --scenario lookup --url http://127.0.0.1:8080 --token "$SCIM_TOKEN"
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "scim-bench:", err)
		os.Exit(1)
	}
}

// run parses args, measures and writes the report to stdout; progress and
// the server's warnings go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	rep, err := measure(ctx, opts, args, stderr)
	if err != nil {
		return err
	}
	return writeReport(stdout, opts.Format, rep)
}

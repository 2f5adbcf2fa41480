// Command personio-scim mirrors Personio employees into identities and
// serves them to identity providers over SCIM 2.0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `personio-scim: Personio as the source of truth for identity providers.

Usage:
  personio-scim [command] [flags]

Commands:
  serve          run the service (the default)
  demo           simulator, in-memory store and service in one process
  simulate       run the Personio API simulator alone
  sync           run one sync now (--dry-run prints the plan)
  migrate        up | down | status | force VERSION: manage the Postgres schema
  token          create | list | rotate | revoke: manage API tokens
  erase          --personio-id N: erase a person's data from the change log and reports
  push           push to one target now: --target NAME [--dry-run] [--person ID]
  webhooks       register | list | delete: manage Personio's webhook subscription
  check-config   validate the configuration and print it, secrets redacted
  healthcheck    ask the local server's /healthz (for container health checks)
  version        print the version, commit and Go version (also --version)
  help           print this list

Configuration comes from the environment (LISTEN_ADDR, DATABASE_URL,
PERSONIO_BASE_URL, PERSONIO_CLIENT_ID, PERSONIO_CLIENT_SECRET,
PERSONIO_API_VERSION, SYNC_INTERVAL, SCIM_TOKEN, ADMIN_TOKEN, CONFIG_FILE, ...);
see docs/configuration.md. Run "personio-scim COMMAND -h" for a command's flags.
DATABASE_URL=memory: runs serve on the in-memory store, which keeps nothing.
`

// errUsage marks errors that are the caller's wording, answered with usage.
var errUsage = errors.New("usage")

// errHelp marks a command that printed its usage because it was asked to.
var errHelp = errors.New("help requested")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "personio-scim:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// run dispatches a subcommand; it is main without the process around it, so
// tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprint(stdout, usage)
		return nil
	case len(args) > 0 && (args[0] == "-version" || args[0] == "--version"):
		printVersion(stdout)
		return nil
	case wantsHelp(rest):
		// Flag parsing stops at the first argument, so "token create -h"
		// would otherwise reach the database before the flags.
		rest = []string{"-h"}
	}
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve":        runServe,
		"healthcheck":  runHealthcheck,
		"migrate":      runMigrate,
		"token":        runToken,
		"erase":        runErase,
		"sync":         runSync,
		"demo":         runDemo,
		"simulate":     runSimulate,
		"check-config": runCheckConfig,
		"push":         runPush,
		"webhooks":     runWebhooks,
		"version":      func(context.Context, []string, io.Writer, io.Writer) error { printVersion(stdout); return nil },
		"help":         func(context.Context, []string, io.Writer, io.Writer) error { fmt.Fprint(stdout, usage); return nil },
	}
	fn, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "personio-scim: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
	if err := fn(ctx, rest, stdout, stderr); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

// wantsHelp reports whether a command's arguments ask for its usage.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

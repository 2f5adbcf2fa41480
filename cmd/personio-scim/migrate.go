package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

const migrateUsage = `Usage: personio-scim migrate up | down | status | force VERSION

  up       apply every pending migration
  down     revert every migration (drops all data); asks for confirmation on a
           terminal, --yes skips the question
  status   print the applied and the newest version
  force    record VERSION as applied and clean, after repairing a failed migration by hand
`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newCommand("migrate", stderr, migrateUsage)
	if err != nil {
		return err
	}
	if err := c.parse(args); err != nil {
		return err
	}
	fs := c.flags
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, migrateUsage)
		return errUsage
	}
	pg, err := openPostgres(ctx, c.env, "migrate")
	if err != nil {
		return err
	}
	defer pg.Close()
	m, err := pg.NewMigrator()
	if err != nil {
		return err
	}
	defer m.Close()
	switch fs.Arg(0) {
	case "up":
		if err := m.Up(); err != nil {
			return err
		}
	case "down":
		if err := confirmDown(fs.Args()[1:], os.Stdin, isTerminal(os.Stdin), stdout); err != nil {
			return err
		}
		if err := m.Down(); err != nil {
			return err
		}
	case "force":
		v, err := strconv.Atoi(fs.Arg(1))
		if fs.NArg() != 2 || err != nil || v < -1 {
			fmt.Fprint(stderr, migrateUsage)
			return errUsage
		}
		if err := m.Force(v); err != nil {
			return err
		}
	case "status":
	default:
		fmt.Fprintf(stderr, "unknown migrate action %q\n\n%s", fs.Arg(0), migrateUsage)
		return errUsage
	}
	st, err := m.Status()
	if err != nil {
		return err
	}
	state := "clean"
	if st.Dirty {
		state = "DIRTY: a migration failed half-way; repair it, then `personio-scim migrate force VERSION`"
	}
	fmt.Fprintf(stdout, "schema version %d of %d (%s)\n", st.Version, st.Latest, state)
	return nil
}

// confirmDown makes sure dropping every table is meant: --yes, or "yes"
// typed on a terminal.
func confirmDown(args []string, in io.Reader, terminal bool, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate down", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	yes := fs.Bool("yes", false, "drop everything without asking")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *yes {
		return nil
	}
	if !terminal {
		return errors.New("migrate down drops every table and all data; pass --yes to confirm when not on a terminal")
	}
	fmt.Fprint(stdout, "migrate down drops every table and all data. Type yes to go on: ")
	answer, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(answer) != "yes" {
		return errors.New("migrate down: not confirmed; nothing changed")
	}
	return nil
}

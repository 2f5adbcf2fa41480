package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
)

const migrateUsage = `Usage: personio-scim migrate up | down | status | force VERSION

  up       apply every pending migration
  down     revert every migration (drops all data)
  status   print the applied and the newest version
  force    record VERSION as applied and clean, after repairing a failed migration by hand
`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, migrateUsage) }
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, migrateUsage)
		return errUsage
	}
	e, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	pg, err := openPostgres(ctx, e, "migrate")
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

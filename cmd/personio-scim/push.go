package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

const pushUsage = `Usage: personio-scim push --target NAME [--dry-run] [--person ID]

Pushes what the target lacks now, as the service's worker would, and prints
what it did. --person pushes one person (Personio id or SCIM id) whatever the
ledger says and prints the target's answer. --dry-run (and every target with
live: false) sends no write and prints the requests it would send.

Flags:
  --target NAME   the target's name in CONFIG_FILE
  --dry-run       send nothing; print the requests
  --person ID     only this person
  --config FILE   CONFIG_FILE
  --show N        how many requests a dry run lists (default 50)
`

func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runPushWith(ctx, args, stdout, stderr, targetTypes())
}

func runPushWith(ctx context.Context, args []string, stdout, stderr io.Writer, types map[string]push.Factory) error {
	c, err := newCommand("push", stderr, pushUsage)
	if err != nil {
		return err
	}
	c.configFlag()
	name := c.flags.String("target", "", "")
	dry := c.flags.Bool("dry-run", false, "")
	person := c.flags.String("person", "", "")
	show := c.flags.Int("show", 50, "")
	if err := c.parse(args); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprint(stderr, "push: --target is required\n\n"+pushUsage)
		return errUsage
	}
	cfg, err := loadConfiguration(c.env, typeNames(types))
	if err != nil {
		return err
	}
	var picked push.TargetConfig
	var rules *push.Rules
	for n, tc := range cfg.targets {
		if tc.Name == *name {
			picked, rules = tc, cfg.rules[n]
		}
	}
	if picked.Name == "" {
		return fmt.Errorf("push --target %s: %w", *name, errNoTarget)
	}
	if *dry {
		picked.Live = false
	}
	st, err := openStore(ctx, c.env, c.env.MigrateOnStart, c.logger)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{Logger: c.logger})
	if err != nil {
		return err
	}
	target, err := openTarget(ctx, cfg.file, picked, types, c.logger, targetHooks{})
	if err != nil {
		return err
	}
	bar := newCountBar(stderr)
	w, err := push.NewWorker(ctx, push.WorkerOptions{Config: picked, Rules: rules, Target: target, Store: st, Directory: dir, Logger: c.logger, OnProgress: bar.update})
	if err != nil {
		return err
	}
	defer w.Close(context.WithoutCancel(ctx))
	if *person != "" {
		return pushPerson(ctx, w, dir, c.env.Namespace, *person, stdout)
	}
	if !picked.Live {
		items, truncated, err := w.Preview(ctx, "", 0)
		bar.done()
		if err != nil {
			return err
		}
		printDryRun(stdout, picked.Name, items, truncated, *show)
		return nil
	}
	return pushAll(ctx, w, bar, stdout)
}

// pushPerson provisions one person on demand and prints the answer.
func pushPerson(ctx context.Context, w *push.Worker, dir *store.Directory, ns store.Namespace, person string, stdout io.Writer) error {
	id := person
	if _, ok := dir.View().Identity(id); !ok {
		id = ns.IdentityID(person)
	}
	res, err := w.PushNow(ctx, id)
	if errors.Is(err, push.ErrUnknownResource) {
		return fmt.Errorf("push --person %s: no such person in the directory (give a Personio id or a SCIM id)", person)
	}
	if err != nil {
		return err
	}
	mode := "pushed"
	if !w.Config().Live {
		mode = "dry run (nothing sent)"
	}
	fmt.Fprintf(stdout, "%s to %s: %s %s → %s", mode, w.Name(), res.Kind, res.ID, res.Outcome)
	if res.TargetID != "" {
		fmt.Fprintf(stdout, " (target id %s)", res.TargetID)
	}
	fmt.Fprintln(stdout)
	if res.Error != "" {
		fmt.Fprintf(stdout, "  error: %s\n", res.Error)
	}
	printRequests(stdout, res.Requests)
	return nil
}

// pushAll runs passes until the target has caught up with the change log.
func pushAll(ctx context.Context, w *push.Worker, bar *countBar, stdout io.Writer) error {
	var total push.PassReport
	for {
		rep, err := w.Step(ctx)
		if errors.Is(err, push.ErrNotLeader) {
			bar.done()
			return fmt.Errorf("push --target %s: another replica's worker leads this target and pushes it; see GET /api/v1/targets/%s", w.Name(), w.Name())
		}
		total.Items += rep.Items
		total.Done += rep.Done
		total.Failed += rep.Failed
		total.Held += rep.Held
		total.Pending += rep.Pending
		if err != nil {
			bar.done()
			return err
		}
		if rep.Rows == 0 && rep.Items == 0 {
			break
		}
	}
	bar.done()
	st, err := w.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed to %s: %d items sent, %d done, %d pending, %d failed, %d held by the guard; cursor %d, %d rows behind\n",
		w.Name(), total.Items, total.Done, total.Pending, total.Failed, total.Held, st.Cursor, st.LagRows)
	if st.Held > 0 {
		fmt.Fprintf(stdout, "\nGUARD: %s.\nApprove with: POST /api/v1/targets/%s/approve\n", st.HoldReason, w.Name())
	}
	if q := st.Counts[store.PushQuarantined]; q > 0 {
		fmt.Fprintf(stdout, "%d records are quarantined: GET /api/v1/targets/%s/records?status=quarantined\n", q, w.Name())
	}
	return nil
}

func printDryRun(w io.Writer, name string, items []push.ItemReport, truncated bool, show int) {
	requests := 0
	for _, it := range items {
		requests += len(it.Requests)
	}
	more := ""
	if truncated {
		more = " (the first 1000 items)"
	}
	fmt.Fprintf(w, "dry run for %s: %d items would be sent with %d write requests%s; nothing was sent\n", name, len(items), requests, more)
	shown := 0
	for _, it := range items {
		for _, r := range it.Requests {
			if shown == show {
				fmt.Fprintf(w, "  … and more (--show N lists more)\n")
				return
			}
			fmt.Fprintf(w, "  %-6s %s  (%s %s)\n", r.Method, r.URL, it.Kind, it.ID)
			shown++
		}
		if it.Error != "" {
			fmt.Fprintf(w, "  error for %s %s: %s\n", it.Kind, it.ID, it.Error)
		}
	}
}

func printRequests(w io.Writer, rs []push.Request) {
	for _, r := range rs {
		status := ""
		if r.Status != 0 {
			status = fmt.Sprintf(" → %d", r.Status)
		}
		fmt.Fprintf(w, "  %s %s%s\n", r.Method, r.URL, status)
		if len(r.Body) > 0 {
			fmt.Fprintf(w, "    %s\n", strings.TrimSpace(string(r.Body)))
		}
	}
}

// countBar redraws "pushing n/total" on a terminal and prints nothing
// otherwise.
type countBar struct {
	w        io.Writer
	terminal bool
	drawn    bool
}

func newCountBar(w io.Writer) *countBar { return &countBar{w: w, terminal: isTerminal(w)} }

func (b *countBar) update(done, total int) {
	if !b.terminal {
		return
	}
	b.drawn = true
	fmt.Fprintf(b.w, "\r\033[Kpushing %d/%d items", done, total)
}

func (b *countBar) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "print the plan; apply nothing")
	incremental := fs.Bool("incremental", false, "read only people changed since the last successful run (a full run when there is none, or as the first run of the company day)")
	showChanges := fs.Int("show", 50, "how many planned changes to list")
	fs.StringVar(&e.ConfigFile, "config", e.ConfigFile, "YAML configuration file (CONFIG_FILE)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	logger := newLogger(stderr, e.LogFormat, e.LogLevel)
	applySoftMemoryLimit(logger)
	policy, _, err := loadPolicy(e)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, e.MigrateOnStart && !*dryRun, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if *dryRun {
		if err := requireCurrentSchema(st, "sync --dry-run"); err != nil {
			return err
		}
	}
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{Logger: logger})
	if err != nil {
		return err
	}
	bar := newProgressBar(stderr)
	client, err := newPersonioClient(e, policy, func(c *personio.Config) { c.OnProgress = bar.update })
	if err != nil {
		return err
	}
	engine, err := newEngine(e, policy, st, dir, client, logger, nil)
	if err != nil {
		return err
	}
	opts := mirror.RunOptions{Trigger: "cli", DryRun: *dryRun}
	if *incremental {
		opts.Mode = mirror.ModeIncremental
	}
	rep, err := mirror.NewScheduler(engine, e.SyncInterval).RunNow(ctx, opts, false)
	bar.done()
	printReport(stdout, rep, *showChanges)
	return err
}

// printReport ends a sync with the summary an administrator reads first.
func printReport(w io.Writer, rep mirror.Report, show int) {
	if rep.RunID == "" {
		return
	}
	what := "sync"
	if rep.DryRun {
		what = "dry run (nothing applied)"
	}
	fmt.Fprintf(w, "%s %s: %s, %s mode, %d people read from Personio in %d calls\n", what, rep.RunID, rep.Status, rep.Mode, rep.People, rep.Fetch.Calls+rep.Lookups)
	if rep.ModeNote != "" {
		fmt.Fprintf(w, "(%s)\n", rep.ModeNote)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	c := rep.Counts
	for _, row := range []struct {
		name string
		n    int
	}{
		{"created", c.Created}, {"updated", c.Updated}, {"activated", c.Activated}, {"deactivated", c.Deactivated},
		{"removed", c.Removed}, {"group changes", c.GroupsCreated + c.GroupsUpdated + c.GroupsRemoved},
		{"held by the guard", c.Held}, {"skipped", c.Skipped},
	} {
		fmt.Fprintf(tw, "%s\t%d\t\n", row.name, row.n)
	}
	tw.Flush()
	printGuard(w, rep)
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped person %s: %s\n", s.PersonID, s.Reason)
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "conflict: %s\n", c)
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "\nerror: %s\n", rep.Error)
	}
	if len(rep.Changes) > 0 && show > 0 {
		fmt.Fprintln(w, "\nchanges:")
		for n, ch := range rep.Changes {
			if n == show {
				fmt.Fprintf(w, "  … and %d more (--show N lists more)\n", len(rep.Changes)-show+rep.Truncated)
				break
			}
			detail := ch.Reason
			if len(ch.Changed) > 0 && !strings.Contains(detail, ch.Changed[0]) {
				detail += " [" + strings.Join(ch.Changed, ", ") + "]"
			}
			fmt.Fprintf(w, "  %-6s %-8s %-40s %s\n", ch.Op, ch.Kind, ch.Name, detail)
		}
	}
}

// printGuard lists every change the guard held, and what an approval run
// applied and dropped.
func printGuard(w io.Writer, rep mirror.Report) {
	g := rep.Guard
	if g.Approved {
		fmt.Fprintf(w, "\napproval of run %s: %d approved changes applied, %d no longer wanted and dropped\n", rep.Approves, g.ApprovedApplied, len(g.ApprovedDropped))
		for _, h := range g.ApprovedDropped {
			fmt.Fprintf(w, "  dropped  %s\n", heldLine(h))
		}
	}
	if !g.Tripped {
		return
	}
	fmt.Fprintf(w, "\nGUARD: %s.\n%d changes held, plan digest %s:\n", g.Reason, len(g.Held), g.PlanDigest)
	for _, h := range g.Held {
		fmt.Fprintf(w, "  held     %s\n", heldLine(h))
	}
	if rep.DryRun {
		fmt.Fprintln(w, "A real run would hold these and wait for an administrator's approval.")
		return
	}
	fmt.Fprintf(w, "Review, then approve with: POST /api/v1/sync/runs/%s/approve?plan_digest=%s\n", rep.RunID, g.PlanDigest)
}

func heldLine(h mirror.HeldChange) string {
	change := h.Change
	if h.Change == mirror.ChangeMembershipRemoved {
		change = fmt.Sprintf("membership removed from group %q (%s)", h.Group, h.GroupID)
	}
	return fmt.Sprintf("%-10s person %s  %s  %s  rule %s, limit %s", change, h.PersonioID, h.SCIMID, h.UserName, h.Rule, h.Limit)
}

// progressBar redraws one line on a terminal and prints nothing otherwise:
// logs already say what happened when nobody watches.
type progressBar struct {
	w        io.Writer
	terminal bool
	drawn    bool
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, terminal: isTerminal(w)}
}

func (b *progressBar) update(p personio.Progress) {
	if !b.terminal {
		return
	}
	b.drawn = true
	if p.Total <= 0 {
		fmt.Fprintf(b.w, "\r\033[Kreading %s: page %d, %d records", p.Phase, p.Pages, p.Records)
		return
	}
	const width = 30
	filled := min(width, width*p.Records/p.Total)
	fmt.Fprintf(b.w, "\r\033[Kreading %s [%s%s] %d/%d", p.Phase, strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.Records, p.Total)
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

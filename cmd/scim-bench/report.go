package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// writeReport writes rep in format.
func writeReport(w io.Writer, format string, rep report) error {
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case formatMarkdown:
		return writeMarkdown(w, rep)
	}
	return writeText(w, rep)
}

// formatDuration rounds to what a reader compares: µs below a
// millisecond, then ms, then seconds.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func formatRatio(r scenarioResult) string {
	if r.VsBaseline == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r.VsBaseline)
}

func describeTarget(s setup) string {
	if s.SelfHosted {
		return fmt.Sprintf("self-hosted stack (simulated Personio with %d employees, in-memory store, mirror engine, api.NewRouter) at %s; first full sync %s",
			s.Employees, s.Target, formatDuration(s.FirstSync))
	}
	return "running server at " + s.Target
}

// targetConditions says under which conditions the issue states its
// targets, and where this run differs.
func targetConditions(s setup) string {
	const stated = "stated for 2 cores, loopback, 10,000 identities, 32 clients"
	if s.Concurrency == 32 {
		return stated
	}
	return fmt.Sprintf("%s; this run: %d clients", stated, s.Concurrency)
}

func describeBudget(s setup) string {
	budget := fmt.Sprintf("%s per scenario", s.Duration)
	if s.Requests > 0 {
		budget = fmt.Sprintf("%d requests per scenario", s.Requests)
	}
	return fmt.Sprintf("%d users and %d groups served; %d concurrent clients, %s in %d rounds alternating with equal baseline slices, after %s of warm-up; seed %d; baseline answer %d bytes",
		s.Users, s.Groups, s.Concurrency, budget, s.Rounds, s.Warmup, s.Seed, s.BodyBytes)
}

// pageLines describe whole imports and how server time was taken.
func pageLines(p *pageResult) []string {
	if p == nil || p.Imports == 0 {
		return []string{"page: no import completed"}
	}
	lines := []string{fmt.Sprintf("page: %s, each %d users in %s then %d groups in %s, count=%d, one request at a time; wall time per import %s (best %s), users alone %s",
		plural(p.Imports, "import"), p.Users, plural(p.UserPages, "page"), p.Groups, plural(p.GroupPages, "page"), pageSize,
		formatDuration(p.Wall), formatDuration(p.BestWall), formatDuration(p.UsersWall))}
	if p.ServerClock == "" {
		return append(lines, "page: server time unknown (the server's /metrics could not be read)")
	}
	return append(lines,
		fmt.Sprintf("page: server time per import: users %s, groups %s", formatDuration(p.UsersServer), formatDuration(p.GroupsServer)),
		"page: "+p.ServerClock)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func mixedLines(m *mixedResult) []string {
	if m == nil {
		return nil
	}
	mean := time.Duration(0)
	if m.SyncsApplied > 0 {
		mean = m.SyncTime / time.Duration(m.SyncsApplied)
	}
	lines := []string{
		fmt.Sprintf("mixed: %s applied of %d (%d people moved to another department before each; %d identity and %d group changes in all); sync time mean %s",
			plural(m.SyncsApplied, "sync"), m.Rounds, m.ChangesPerRound, m.IdentityChanges, m.GroupChanges, formatDuration(mean)),
		fmt.Sprintf("mixed: %d reads overlapped a sync: p50 %s, p90 %s, p99 %s, max %s",
			m.DuringSync.Count, formatDuration(m.DuringSync.P50), formatDuration(m.DuringSync.P90), formatDuration(m.DuringSync.P99), formatDuration(m.DuringSync.Max)),
	}
	if m.SyncErrors > 0 {
		lines = append(lines, fmt.Sprintf("mixed: %d syncs failed, the first with: %s", m.SyncErrors, m.FirstError))
	}
	return lines
}

func errorLines(results []scenarioResult) []string {
	var lines []string
	for _, r := range results {
		if r.FirstError != "" {
			lines = append(lines, fmt.Sprintf("%s: first error: %s", r.Scenario, r.FirstError))
		}
	}
	return lines
}

func writeText(w io.Writer, rep report) error {
	fmt.Fprintf(w, "scim-bench: %s\ncommand: %s\ntarget: %s\nload: %s\n\n", rep.Machine, rep.Command, describeTarget(rep.Setup), describeBudget(rep.Setup))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trequests\treq/s\tvs baseline\tp50\tp90\tp99\tmax\tHTTP errors\ttransport errors\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", r.Scenario, r.Requests, r.Throughput, formatRatio(r),
			formatDuration(r.Latency.P50), formatDuration(r.Latency.P90), formatDuration(r.Latency.P99), formatDuration(r.Latency.Max),
			r.HTTPErrors, r.TransportErrors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, r := range rep.Results {
		if r.Page != nil {
			notes = append(notes, pageLines(r.Page)...)
		}
		notes = append(notes, mixedLines(r.Mixed)...)
	}
	notes = append(notes, errorLines(rep.Results)...)
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\ntargets (%s):\n", targetConditions(rep.Setup))
		for _, t := range rep.Targets {
			fmt.Fprintf(w, "  %-6s %s: %s\n", metWord(t.Met), t.What, t.Got)
		}
	}
	_, err := fmt.Fprintln(w, "\n"+footnote)
	return err
}

// footnote says how to read the table.
const footnote = "Latency is per request at the client, until the body is read; req/s counts 2xx answers. " +
	"\"vs baseline\" divides a scenario's req/s by that of the baseline slices it alternated with; " +
	"the baseline row pools all of those slices."

func metWord(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

func writeMarkdown(w io.Writer, rep report) error {
	fmt.Fprintf(w, "Measured %s with\n\n```sh\n%s\n```\n\n%s; %s.\n\n", rep.Machine, rep.Command, describeTarget(rep.Setup), describeBudget(rep.Setup))
	fmt.Fprintln(w, "| scenario | requests | req/s | vs baseline | p50 | p90 | p99 | max | HTTP errors | transport errors |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rep.Results {
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %d | %d |\n", r.Scenario, r.Requests, r.Throughput, formatRatio(r),
			formatDuration(r.Latency.P50), formatDuration(r.Latency.P90), formatDuration(r.Latency.P99), formatDuration(r.Latency.Max),
			r.HTTPErrors, r.TransportErrors)
	}
	var notes []string
	for _, r := range rep.Results {
		if r.Page != nil {
			notes = append(notes, pageLines(r.Page)...)
		}
		notes = append(notes, mixedLines(r.Mixed)...)
	}
	notes = append(notes, errorLines(rep.Results)...)
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n- %s\n", strings.Join(notes, "\n- "))
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\n| target (%s) | measured | |\n", targetConditions(rep.Setup))
		fmt.Fprintln(w, "|---|---|---|")
		for _, t := range rep.Targets {
			fmt.Fprintf(w, "| %s | %s | %s |\n", t.What, t.Got, metWord(t.Met))
		}
	}
	_, err := fmt.Fprintln(w, "\n"+footnote)
	return err
}

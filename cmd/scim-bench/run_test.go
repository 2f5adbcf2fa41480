package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// runJSON runs the command with args and decodes its JSON report.
func runJSON(t *testing.T, args ...string) report {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append(args, "--format", "json"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode the report: %v\n%s", err, out.String())
	}
	return rep
}

// checkPlausible holds for every scenario's figures.
func checkPlausible(t *testing.T, r scenarioResult) {
	t.Helper()
	if r.HTTPErrors != 0 || r.TransportErrors != 0 || r.FirstError != "" {
		t.Errorf("%s: %d HTTP and %d transport errors: %s", r.Scenario, r.HTTPErrors, r.TransportErrors, r.FirstError)
	}
	if r.OK != r.Requests || r.Latency.Count != r.Requests {
		t.Errorf("%s: %d requests, %d OK, %d latencies; want all equal", r.Scenario, r.Requests, r.OK, r.Latency.Count)
	}
	l := r.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Mean <= l.Max) {
		t.Errorf("%s: latencies out of order: %+v", r.Scenario, l)
	}
	if r.Throughput <= 0 || r.Elapsed <= 0 {
		t.Errorf("%s: throughput %f over %s", r.Scenario, r.Throughput, r.Elapsed)
	}
}

func TestEveryScenarioAgainstTheSelfHostedStack(t *testing.T) {
	const requests, rounds, changes = 40, 2, 10
	rep := runJSON(t, "--scenario", "all", "--employees", "200", "--seed", "3", "--concurrency", "4",
		"--requests", "40", "--rounds", "2", "--warmup", "0", "--changes", "10")

	if rep.Setup.Users < 100 || rep.Setup.Users > 200 || rep.Setup.Groups == 0 {
		t.Errorf("setup: %d users and %d groups from 200 employees", rep.Setup.Users, rep.Setup.Groups)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Scenario)
		checkPlausible(t, r)
	}
	if got, want := strings.Join(names, ","), "baseline,lookup,get,filter-complex,page,mixed"; got != want {
		t.Fatalf("scenarios %s, want %s", got, want)
	}
	for _, r := range rep.Results {
		switch r.Scenario {
		case scenarioBaseline:
			// Four closed-loop scenarios, each paired with as many baseline requests.
			if r.Requests != 4*requests {
				t.Errorf("baseline: %d requests, want %d", r.Requests, 4*requests)
			}
		case scenarioPage:
			checkPage(t, r, rep.Setup)
		default:
			if r.Requests != requests {
				t.Errorf("%s: %d requests, want %d", r.Scenario, r.Requests, requests)
			}
			if r.BaselineThroughput <= 0 || r.VsBaseline <= 0 {
				t.Errorf("%s: baseline %f req/s, ratio %f", r.Scenario, r.BaselineThroughput, r.VsBaseline)
			}
		}
	}
	mixed, _ := find(rep.Results, scenarioMixed)
	m := mixed.Mixed
	switch {
	case m == nil:
		t.Fatal("mixed: no account of the syncs")
	case m.SyncsApplied < rounds || m.SyncErrors != 0:
		t.Errorf("mixed: %d syncs applied, %d failed (%s); want at least one per round", m.SyncsApplied, m.SyncErrors, m.FirstError)
	case m.PeopleMoved != changes*m.Rounds || m.IdentityChanges != m.PeopleMoved:
		t.Errorf("mixed: %d rounds moved %d people and changed %d identities; want %d per round, each one identity",
			m.Rounds, m.PeopleMoved, m.IdentityChanges, changes)
	case m.DuringSync.Count == 0 || m.DuringSync.Count > mixed.Requests:
		t.Errorf("mixed: %d of %d reads overlapped a sync", m.DuringSync.Count, mixed.Requests)
	}
	if len(rep.Targets) != 3 {
		t.Errorf("%d target checks, want 3: %+v", len(rep.Targets), rep.Targets)
	}
	checkFormats(t, rep)
}

func checkPage(t *testing.T, r scenarioResult, s setup) {
	t.Helper()
	p := r.Page
	if p == nil || p.Imports < 1 {
		t.Fatalf("page: no import completed: %+v", p)
	}
	if p.Users != s.Users || p.UserPages != (s.Users+pageSize-1)/pageSize || p.Groups != s.Groups || p.GroupPages != 1 {
		t.Errorf("page: imported %d users in %d pages and %d groups in %d pages; the target serves %d users and %d groups",
			p.Users, p.UserPages, p.Groups, p.GroupPages, s.Users, s.Groups)
	}
	if r.Requests != p.Imports*(p.UserPages+p.GroupPages) || r.Requests < 40 {
		t.Errorf("page: %d requests in %d imports of %d pages; want whole imports until 40 requests", r.Requests, p.Imports, p.UserPages+p.GroupPages)
	}
	if p.ServerClock == "" || p.UsersServer <= 0 || p.UsersServer > p.UsersWall || p.BestWall > p.Wall {
		t.Errorf("page: server time %s of wall %s (best %s, mean %s)", p.UsersServer, p.UsersWall, p.BestWall, p.Wall)
	}
}

// checkFormats renders the report as text and markdown.
func checkFormats(t *testing.T, rep report) {
	t.Helper()
	for _, format := range []string{formatText, formatMarkdown} {
		var out bytes.Buffer
		if err := writeReport(&out, format, rep); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{rep.Command, "GOMAXPROCS", "filter-complex", "syncs applied", "server time per import"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s report lacks %q:\n%s", format, want, out.String())
			}
		}
	}
}

func TestBaselineAlone(t *testing.T) {
	rep := runJSON(t, "--scenario", "baseline", "--employees", "50", "--concurrency", "2", "--requests", "20", "--warmup", "0")
	if len(rep.Results) != 1 || rep.Results[0].Scenario != scenarioBaseline || rep.Results[0].Requests != 20 {
		t.Fatalf("results %+v, want the baseline's 20 requests alone", rep.Results)
	}
	checkPlausible(t, rep.Results[0])
	if rep.Setup.BodyBytes < 200 {
		t.Errorf("baseline answer of %d bytes; want a whole SCIM ListResponse", rep.Setup.BodyBytes)
	}
}

func TestRemoteTargetIsDiscovered(t *testing.T) {
	st, err := startStack(context.Background(), 120, 5, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep := runJSON(t, "--url", st.URL, "--token", st.Token, "--scenario", "page", "--requests", "1", "--warmup", "0", "--rounds", "1")
	if rep.Setup.SelfHosted || rep.Setup.Users == 0 || len(rep.Results) != 1 {
		t.Fatalf("setup %+v, results %+v", rep.Setup, rep.Results)
	}
	checkPlausible(t, rep.Results[0])
	p := rep.Results[0].Page
	if p.Imports != 1 || p.Users != rep.Setup.Users {
		t.Errorf("page: %d imports of %d users; want one of %d", p.Imports, p.Users, rep.Setup.Users)
	}
	// The remote server's /metrics gives server time as well.
	if p.ServerClock == "" || p.UsersServer <= 0 {
		t.Errorf("page: no server time from /metrics: %+v", p)
	}
	if strings.Contains(rep.Command, st.Token) {
		t.Error("the report shows the token")
	}
}

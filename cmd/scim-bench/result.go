package main

import (
	"time"
)

// report is everything one invocation measured.
type report struct {
	Command string           `json:"command"`
	Machine machine          `json:"machine"`
	Setup   setup            `json:"setup"`
	Results []scenarioResult `json:"results"`
	Targets []targetCheck    `json:"targets,omitempty"`
}

// setup is what was measured and how.
type setup struct {
	SelfHosted  bool          `json:"self_hosted"`
	Target      string        `json:"target"` // the SCIM base URL
	Employees   int           `json:"employees,omitempty"`
	Users       int           `json:"users"` // discovered by paging /Users
	Groups      int           `json:"groups"`
	FirstSync   time.Duration `json:"first_sync_ns,omitempty"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns,omitempty"`
	Requests    int           `json:"requests,omitempty"`
	Warmup      time.Duration `json:"warmup_ns"`
	Rounds      int           `json:"rounds"`
	Seed        int64         `json:"seed"`
	BodyBytes   int           `json:"baseline_body_bytes,omitempty"`
}

// scenarioResult is one scenario's figures.
type scenarioResult struct {
	Scenario        string        `json:"scenario"`
	Requests        int           `json:"requests"`
	OK              int           `json:"ok"`
	HTTPErrors      int           `json:"http_errors"`
	TransportErrors int           `json:"transport_errors"`
	Elapsed         time.Duration `json:"elapsed_ns"`
	Throughput      float64       `json:"throughput_rps"` // 2xx answers per second
	// BaselineThroughput is of the baseline slices this scenario's slices
	// alternated with; VsBaseline is Throughput over it.
	BaselineThroughput float64        `json:"baseline_throughput_rps,omitempty"`
	VsBaseline         float64        `json:"throughput_vs_baseline,omitempty"`
	Latency            latencySummary `json:"latency"`
	FirstError         string         `json:"first_error,omitempty"`
	Page               *pageResult    `json:"page,omitempty"`
	Mixed              *mixedResult   `json:"mixed,omitempty"`
}

// pageResult is the page scenario's account of whole imports.
type pageResult struct {
	Imports     int    `json:"imports"` // completed without error
	Users       int    `json:"users"`   // per import
	UserPages   int    `json:"user_pages"`
	Groups      int    `json:"groups"`
	GroupPages  int    `json:"group_pages"`
	ServerClock string `json:"server_clock"` // how server time was measured; "" when it was not
	// Means per completed import.
	Wall         time.Duration `json:"wall_ns"`
	BestWall     time.Duration `json:"best_wall_ns"`
	UsersWall    time.Duration `json:"users_wall_ns"`
	UsersServer  time.Duration `json:"users_server_ns,omitempty"`
	GroupsServer time.Duration `json:"groups_server_ns,omitempty"`
}

// mixedResult is the mixed scenario's writer and the reads that overlapped
// its syncs.
type mixedResult struct {
	churnResult
	ChangesPerRound int            `json:"changes_per_round"`
	DuringSync      latencySummary `json:"during_sync"`
}

// targetCheck is one target the issue holds the service to.
type targetCheck struct {
	What string `json:"what"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// fromLoad fills the common figures of a closed-loop run.
func fromLoad(name string, r loadResult) scenarioResult {
	s := scenarioResult{
		Scenario: name, Requests: r.Requests, OK: r.OK, HTTPErrors: r.HTTPErrors, TransportErrors: r.TransportErrors,
		Elapsed: r.Elapsed, Latency: summarize(r.Latencies), FirstError: r.FirstError,
	}
	if r.Elapsed > 0 {
		s.Throughput = float64(r.OK) / r.Elapsed.Seconds()
	}
	return s
}

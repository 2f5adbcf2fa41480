package api

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

// BuildInfo names the running binary for personio_scim_build_info.
type BuildInfo struct {
	Version, Commit, GoVersion string
}

// SetBuild publishes the binary's version as personio_scim_build_info 1.
func (m *Metrics) SetBuild(b BuildInfo) {
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(b.Version, b.Commit, b.GoVersion).Set(1)
}

// syncMetrics are the sync gauges an operator alerts on. They are read from
// the store when scraped, so every replica reports the same numbers whichever
// one ran the sync, and a restart resets nothing.
type syncMetrics struct {
	st          store.Store
	now         func() time.Time
	lastSuccess *prometheus.Desc
	staleness   *prometheus.Desc
	held        *prometheus.Desc
}

func newSyncMetrics(st store.Store, now func() time.Time) *syncMetrics {
	return &syncMetrics{
		st: st, now: now,
		lastSuccess: prometheus.NewDesc("personio_scim_sync_last_success_timestamp_seconds",
			"When the newest sync that applied (succeeded or held) finished, on any replica (0: none recorded).", nil, nil),
		staleness: prometheus.NewDesc("personio_scim_sync_staleness_seconds",
			"Seconds since the newest sync that applied finished, on any replica (absent when none is recorded).", nil, nil),
		held: prometheus.NewDesc("personio_scim_sync_held_runs",
			"Runs the guard holds that wait for an administrator's approval.", nil, nil),
	}
}

func (c *syncMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lastSuccess
	ch <- c.staleness
	ch <- c.held
}

func (c *syncMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	runs, err := c.st.Runs(ctx, recentRunsChecked)
	if err != nil {
		return // the store is down: /readyz says so; no stale numbers
	}
	var last time.Time
	held := 0
	for _, r := range runs {
		if r.Status == store.RunHeld && !r.DryRun {
			held++
		}
		if completedSync(r) && r.FinishedAt.After(last) {
			last = r.FinishedAt
		}
	}
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(held))
	if last.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(last.Unix()))
	ch <- prometheus.MustNewConstMetric(c.staleness, prometheus.GaugeValue, c.now().Sub(last).Seconds())
}

// observeSkipped records how many people the last applied run on this
// replica left out (unmappable records, conflicts).
func (m *Metrics) observeSkipped(rep mirror.Report) {
	if !rep.DryRun {
		m.skipped.Set(float64(len(rep.Skipped)))
	}
}

package api

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// pushMetrics observe push targets: request latency as requests happen,
// and the workers' counts and lag when Prometheus scrapes.
type pushMetrics struct {
	requests    *prometheus.HistogramVec
	undelivered *prometheus.CounterVec
	once        sync.Once
}

func newPushMetrics() *pushMetrics {
	return &pushMetrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "personio_scim_push_request_duration_seconds", Help: "Requests to push targets by target, method and status.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"target", "method", "status"}),
		undelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "personio_scim_push_undelivered_deprovisions_total",
			Help: "Deactivations and removals a target could not be given; the people keep access there until it is.",
		}, []string{"target"}),
	}
}

// ObservePushRequest records one request to a target; it fits
// push.HTTPOptions.OnRequest.
func (m *Metrics) ObservePushRequest(ev push.RequestEvent) {
	m.push.requests.WithLabelValues(ev.Target, ev.Method, strconv.Itoa(ev.Status)).Observe(ev.Duration.Seconds())
}

// ObserveUndelivered counts a deactivation or removal a target could not
// be given; it fits push.WorkerOptions.OnUndelivered.
func (m *Metrics) ObserveUndelivered(target string) {
	m.push.undelivered.WithLabelValues(target).Inc()
}

// WatchTargets reports the targets' state on every scrape. Calling it again
// (the router does, with the same targets) changes nothing.
func (m *Metrics) WatchTargets(t *push.Targets) {
	if t == nil || len(t.All()) == 0 {
		return
	}
	m.push.once.Do(func() { m.registry.MustRegister(newTargetCollector(t)) })
}

type targetCollector struct {
	targets                              *push.Targets
	pushed, failed, quarantined, records *prometheus.Desc
	lagRows, lagSeconds, lastSuccess     *prometheus.Desc
}

func newTargetCollector(t *push.Targets) *targetCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("personio_scim_push_"+name, help, append([]string{"target"}, labels...), nil)
	}
	return &targetCollector{
		targets:     t,
		pushed:      d("items_pushed_total", "Items a target acknowledged, since the process started."),
		failed:      d("items_failed_total", "Item attempts that failed, since the process started."),
		quarantined: d("items_quarantined_total", "Items quarantined after repeated failures, since the process started."),
		records:     d("records", "Ledger records by status.", "status"),
		lagRows:     d("lag_rows", "Change-log rows the target has not been handed."),
		lagSeconds:  d("lag_seconds", "Age of the oldest change-log row the target has not been handed."),
		lastSuccess: d("last_success_timestamp_seconds", "When a pass last succeeded without failures (0: never, in this process)."),
	}
}

func (c *targetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pushed, c.failed, c.quarantined, c.records, c.lagRows, c.lagSeconds, c.lastSuccess} {
		ch <- d
	}
}

func (c *targetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, w := range c.targets.All() {
		s, err := w.Status(ctx)
		if err != nil {
			continue // the store is down: /readyz says so; no stale numbers
		}
		ch <- prometheus.MustNewConstMetric(c.pushed, prometheus.CounterValue, float64(s.Pushed), s.Name)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.Failed), s.Name)
		ch <- prometheus.MustNewConstMetric(c.quarantined, prometheus.CounterValue, float64(s.Quarantined), s.Name)
		for _, st := range []store.PushStatus{store.PushSynced, store.PushPending, store.PushFailed, store.PushQuarantined, store.PushSkipped, store.PushGone} {
			ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(s.Counts[st]), s.Name, string(st))
		}
		ch <- prometheus.MustNewConstMetric(c.lagRows, prometheus.GaugeValue, float64(s.LagRows), s.Name)
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, s.LagSeconds, s.Name)
		last := 0.0
		if !s.LastSuccess.IsZero() {
			last = float64(s.LastSuccess.Unix())
		}
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, last, s.Name)
	}
}

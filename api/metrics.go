package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

// Metrics are the service's Prometheus metrics, on a registry of their own.
type Metrics struct {
	registry        *prometheus.Registry
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	httpSeries      sync.Map // seriesKey → httpSeries, see series
	syncRuns        *prometheus.CounterVec
	syncDuration    *prometheus.HistogramVec
	guardHolds      prometheus.Counter
	personioCalls   *prometheus.CounterVec
	personioRetries prometheus.Counter
	personio429s    prometheus.Counter
	push            *pushMetrics
	routes          *routeLabelCache
	buildInfo       *prometheus.GaugeVec
	skipped         prometheus.Gauge
	// collectors is everything registered, so that tests can hold the
	// dashboards and alerts to the metrics that exist.
	collectors []prometheus.Collector
}

func (m *Metrics) register(cs ...prometheus.Collector) {
	m.registry.MustRegister(cs...)
	m.collectors = append(m.collectors, cs...)
}

// NewMetrics registers every metric. Gauges that describe the directory are
// computed when Prometheus scrapes, from dir and st.
func NewMetrics(dir *store.Directory, st store.Store) *Metrics {
	m := &Metrics{
		routes:   &routeLabelCache{labels: map[routeKey]string{}},
		registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "personio_scim_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "personio_scim_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method"}),
		syncRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "personio_scim_sync_runs_total", Help: "Sync runs by mode and outcome.",
		}, []string{"mode", "status"}),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "personio_scim_sync_duration_seconds", Help: "Sync run duration.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"mode"}),
		guardHolds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "personio_scim_guard_holds_total", Help: "Runs the guard held for approval.",
		}),
		personioCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "personio_scim_personio_requests_total", Help: "Requests to Personio by endpoint and status.",
		}, []string{"endpoint", "status"}),
		personioRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "personio_scim_personio_retries_total", Help: "Personio requests retried after 429, 5xx or network errors.",
		}),
		personio429s: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "personio_scim_personio_rate_limited_total", Help: "Personio answers with status 429.",
		}),
	}
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "personio_scim_build_info", Help: "The running binary: 1, labelled with its version, commit and Go version.",
	}, []string{"version", "commit", "goversion"})
	m.skipped = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "personio_scim_sync_skipped_people", Help: "People the last sync on this replica left out (unmappable or conflicting).",
	})
	m.register(m.buildInfo, m.skipped, newSyncMetrics(st, time.Now))
	m.push = newPushMetrics()
	m.register(m.push.requests, m.push.undelivered)
	m.register(m.httpRequests, m.httpDuration, m.syncRuns, m.syncDuration, m.guardHolds,
		m.personioCalls, m.personioRetries, m.personio429s,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newDirectoryCollector(dir, st))
	return m
}

// ObserveRun records a finished sync run; it fits mirror.EngineOptions.OnRun.
func (m *Metrics) ObserveRun(rep mirror.Report) {
	m.syncRuns.WithLabelValues(string(rep.Mode), string(rep.Status)).Inc()
	if !rep.DryRun {
		m.syncDuration.WithLabelValues(string(rep.Mode)).Observe(rep.Duration.Seconds())
	}
	if rep.Status == store.RunHeld {
		m.guardHolds.Inc()
	}
	m.observeSkipped(rep)
}

// ObservePersonio records one request to Personio; it fits
// personio.Config.OnRequest.
func (m *Metrics) ObservePersonio(ev personio.RequestEvent) {
	m.personioCalls.WithLabelValues(ev.Endpoint, strconv.Itoa(ev.Status)).Inc()
	if ev.Retry {
		m.personioRetries.Inc()
	}
	if ev.Status == http.StatusTooManyRequests {
		m.personio429s.Inc()
	}
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// instrument counts requests by chi's route pattern, never the raw path, so
// ids do not blow up the label space.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Under the request log (as the router stacks them) the status is
		// already being recorded, and the clock read: one writer serves both.
		sw, ok := w.(*statusWriter)
		if !ok || sw.wrote {
			sw = &statusWriter{ResponseWriter: w, status: http.StatusOK, start: time.Now()}
		}
		next.ServeHTTP(sw, r)
		s := m.series(r, sw.status)
		s.requests.Inc()
		s.duration.Observe(time.Since(sw.start).Seconds())
	})
}

// httpSeries is the request counter and latency histogram of one route,
// method and status.
type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// seriesKey names the series of a request by the patterns of the route it
// matched (one or two routers deep, as every route of the service is;
// none when unmatched), its method and status.
type seriesKey struct {
	route  routeKey
	method string
	status int
}

// series finds the metrics of a request, remembering them: building the
// route's label and looking the label values up in the vectors (hashing
// them, and formatting the status) on every request cost more than the
// rest of the bookkeeping. Its keys are registered route patterns, methods
// and statuses, so it grows as the metrics' own label values do.
func (m *Metrics) series(r *http.Request, status int) httpSeries {
	method := methodLabel(r.Method)
	var key seriesKey
	if rc := chi.RouteContext(r.Context()); rc != nil {
		switch n := len(rc.RoutePatterns); {
		case n > 2:
			return m.newSeries(m.routePattern(r), method, status)
		case n == 2:
			key.route.inner = rc.RoutePatterns[1]
			fallthrough
		case n == 1:
			key.route.outer = rc.RoutePatterns[0]
		}
	}
	key.method, key.status = method, status
	if s, ok := m.httpSeries.Load(key); ok {
		return s.(httpSeries)
	}
	s := m.newSeries(m.routePattern(r), method, status)
	m.httpSeries.Store(key, s)
	return s
}

func (m *Metrics) newSeries(route, method string, status int) httpSeries {
	return httpSeries{
		requests: m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)),
		duration: m.httpDuration.WithLabelValues(route, method),
	}
}

// routePattern is the route a request matched, as registered, so that ids
// and unknown paths do not add label values: everything unrouted is
// "unmatched", and what the SCIM handler routes itself "/scim/v2/*".
func (m *Metrics) routePattern(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil || len(rc.RoutePatterns) == 0 {
		return "unmatched"
	}
	if len(rc.RoutePatterns) <= 2 {
		key := routeKey{outer: rc.RoutePatterns[0]}
		if len(rc.RoutePatterns) == 2 {
			key.inner = rc.RoutePatterns[1]
		}
		return m.routes.label(key, rc)
	}
	return labelOf(rc.RoutePattern())
}

func labelOf(p string) string {
	switch {
	case p == "":
		return "unmatched"
	case !strings.HasSuffix(p, "*"):
		return strings.TrimSuffix(p, "/")
	case strings.HasPrefix(p, scimPath+"/"):
		return scimPath + "/*"
	}
	return "unmatched"
}

// routeKey is the patterns of a route one or two routers deep, which is
// every route of the service.
type routeKey struct{ outer, inner string }

// routeLabelCache remembers the label of each route, so that a request
// does not build its route pattern anew (chi joins the patterns of nested
// routers into a new string every time). Its keys are registered
// patterns, so it stays as small as the route table.
type routeLabelCache struct {
	mu     sync.RWMutex
	labels map[routeKey]string
}

func (c *routeLabelCache) label(key routeKey, rc *chi.Context) string {
	c.mu.RLock()
	l, ok := c.labels[key]
	c.mu.RUnlock()
	if ok {
		return l
	}
	l = labelOf(rc.RoutePattern())
	c.mu.Lock()
	c.labels[key] = l
	c.mu.Unlock()
	return l
}

// methodLabel names a request method for metrics and logs: the methods the
// service serves by name, any other token as "other", so that a client
// cannot add label values by inventing methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// directoryCollector reports identities by state and the replica's change-log
// lag when scraped.
type directoryCollector struct {
	dir        *store.Directory
	st         store.Store
	identities *prometheus.Desc
	groups     *prometheus.Desc
	lag        *prometheus.Desc
}

func newDirectoryCollector(dir *store.Directory, st store.Store) *directoryCollector {
	return &directoryCollector{
		dir: dir, st: st,
		identities: prometheus.NewDesc("personio_scim_identities", "Identities by lifecycle state and active flag.", []string{"state", "active"}, nil),
		groups:     prometheus.NewDesc("personio_scim_groups", "Groups in the directory.", nil, nil),
		lag:        prometheus.NewDesc("personio_scim_change_log_lag", "Change-log rows this replica's directory has not applied yet.", nil, nil),
	}
}

func (c *directoryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.identities
	ch <- c.groups
	ch <- c.lag
}

func (c *directoryCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.dir.View()
	type key struct {
		state  string
		active bool
	}
	counts := map[key]int{}
	for _, i := range v.Identities() {
		counts[key{string(i.Lifecycle.State), i.Active}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.identities, prometheus.GaugeValue, float64(n), k.state, strconv.FormatBool(k.active))
	}
	ch <- prometheus.MustNewConstMetric(c.groups, prometheus.GaugeValue, float64(len(v.Groups())))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if seq, err := c.st.LastSeq(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(seq-v.Seq()))
	}
}

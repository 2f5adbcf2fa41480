package api

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// The dashboard and the alert rules in deploy/ may name only metrics the
// binary exports: a renamed metric would otherwise leave an alert that can
// never fire.
func TestDeployedQueriesNameExportedMetrics(t *testing.T) {
	exported := exportedMetricNames(t)
	for _, want := range []string{
		"personio_scim_build_info", "personio_scim_sync_last_success_timestamp_seconds", "personio_scim_sync_staleness_seconds",
		"personio_scim_sync_held_runs", "personio_scim_sync_skipped_people", "personio_scim_push_lag_seconds",
	} {
		if !exported[want] {
			t.Errorf("the registry lacks %s", want)
		}
	}
	files := map[string][]string{
		"../deploy/prometheus/alerts.yaml":     alertExpressions(t, "../deploy/prometheus/alerts.yaml"),
		"../deploy/grafana/personio-scim.json": dashboardExpressions(t, "../deploy/grafana/personio-scim.json"),
	}
	for file, exprs := range files {
		if len(exprs) < 5 {
			t.Fatalf("%s: found only %d expressions", file, len(exprs))
		}
		for _, expr := range exprs {
			names := metricNamePattern.FindAllString(expr, -1)
			if len(names) == 0 {
				t.Errorf("%s: %q names no personio_scim metric", file, expr)
			}
			for _, n := range names {
				if !exported[seriesBase(n)] {
					t.Errorf("%s: %q names %s, which the binary does not export", file, expr, n)
				}
			}
		}
	}
}

var metricNamePattern = regexp.MustCompile(`personio_scim_[a-z0-9_]+`)

// seriesBase maps a histogram's series to the histogram's name.
func seriesBase(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(base, "_seconds") {
			return base
		}
	}
	return name
}

var fqNamePattern = regexp.MustCompile(`fqName: "([^"]+)"`)

func exportedMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	st := memory.New(memory.Options{})
	dir, err := store.NewDirectory(t.Context(), st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(dir, st)
	collectors := append([]prometheus.Collector{newTargetCollector(nil)}, m.collectors...)
	names := map[string]bool{}
	for _, c := range collectors {
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if match := fqNamePattern.FindStringSubmatch(d.String()); match != nil {
				names[match[1]] = true
			}
		}
	}
	return names
}

func alertExpressions(t *testing.T, path string) []string {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readInto(t, path, func(b []byte) error { return yaml.Unmarshal(b, &rules) })
	var exprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("%s: a rule without alert or expr: %+v", path, r)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs
}

func dashboardExpressions(t *testing.T, path string) []string {
	t.Helper()
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	readInto(t, path, func(b []byte) error { return json.Unmarshal(b, &dash) })
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", path, p.Title)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	return exprs
}

func readInto(t *testing.T, path string, decode func([]byte) error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

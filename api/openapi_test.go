package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"
)

// TestOpenAPICoversEveryRoute walks the routes the admin API really mounts
// and finds each, with its method, in openapi.yaml, and the other way round.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	r := chi.NewRouter()
	// Optional sections are walked too: a route that only some
	// deployments mount must still be documented.
	(&router{opts: Options{Notifications: NotificationsHandler(nil)}}).adminRoutes(r)
	mounted := map[string]bool{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		key := strings.ToLower(method) + " " + route
		mounted[key] = true
		if _, ok := doc.Paths[route][strings.ToLower(method)]; !ok {
			t.Errorf("%s %s is mounted but not in openapi.yaml", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !mounted[method+" "+path] {
				t.Errorf("openapi.yaml documents %s %s, which is not mounted", method, path)
			}
		}
	}
	if len(mounted) < 12 {
		t.Fatalf("walked only %d routes", len(mounted))
	}
}

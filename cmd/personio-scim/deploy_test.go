package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/personio/mirror"
)

// The deployment examples cannot be run here (no Docker engine, no cluster),
// so this test holds them to what the binary accepts: every variable they
// set exists, probes hit real endpoints, and their configuration compiles.

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if m, ok := v.(*[]map[string]any); ok {
			*m = append(*m, doc)
		}
	}
	if m, ok := v.(*[]map[string]any); !ok || len(*m) == 0 {
		t.Fatalf("%s holds no YAML document", path)
	}
}

func knownEnv() []string {
	var names []string
	for _, v := range envVars() {
		names = append(names, v.Name)
	}
	return names
}

func TestDockerComposeMatchesTheBinary(t *testing.T) {
	var docs []map[string]any
	readYAML(t, "../../deploy/docker-compose.yml", &docs)
	services, _ := docs[0]["services"].(map[string]any)
	svc, _ := services["personio-scim"].(map[string]any)
	pg, _ := services["postgres"].(map[string]any)
	if svc == nil || pg == nil || docs[0]["volumes"] == nil {
		t.Fatal("docker-compose.yml needs the services personio-scim and postgres and a volume")
	}
	for name, s := range map[string]map[string]any{"personio-scim": svc, "postgres": pg} {
		if s["healthcheck"] == nil {
			t.Errorf("service %s has no healthcheck", name)
		}
	}
	env, _ := svc["environment"].(map[string]any)
	for name := range env {
		if !slices.Contains(knownEnv(), name) {
			t.Errorf("docker-compose.yml sets %s, which personio-scim does not read", name)
		}
	}
	for _, required := range []string{"DATABASE_URL", "PERSONIO_CLIENT_ID", "PERSONIO_CLIENT_SECRET", "SCIM_TOKEN", "ADMIN_TOKEN"} {
		if _, ok := env[required]; !ok {
			t.Errorf("docker-compose.yml does not set %s", required)
		}
	}
	cfg, err := mirror.LoadConfig("../../deploy/config.yaml")
	if err != nil {
		t.Fatalf("deploy/config.yaml: %v", err)
	}
	if _, err := mirror.Compile(cfg); err != nil {
		t.Fatalf("deploy/config.yaml: %v", err)
	}
}

func TestKubernetesManifestsMatchTheBinary(t *testing.T) {
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byKind := map[string]map[string]any{}
	for _, f := range files {
		var docs []map[string]any
		readYAML(t, f, &docs)
		for _, d := range docs {
			kind, _ := d["kind"].(string)
			byKind[kind] = d
		}
	}
	for _, kind := range []string{"Deployment", "Service", "Secret", "ConfigMap"} {
		if byKind[kind] == nil {
			t.Fatalf("no %s manifest", kind)
		}
	}
	dep := byKind["Deployment"]
	spec := dep["spec"].(map[string]any)
	if spec["replicas"] != 2 {
		t.Errorf("replicas = %v, want 2", spec["replicas"])
	}
	container := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		p, _ := container[probe].(map[string]any)
		if p == nil || p["httpGet"].(map[string]any)["path"] != path {
			t.Errorf("%s should GET %s", probe, path)
		}
	}
	for key := range byKind["Secret"]["stringData"].(map[string]any) {
		if !slices.Contains(knownEnv(), key) {
			t.Errorf("the Secret sets %s, which personio-scim does not read", key)
		}
	}
	for _, e := range container["env"].([]any) {
		if name := e.(map[string]any)["name"].(string); !slices.Contains(knownEnv(), name) {
			t.Errorf("the Deployment sets %s, which personio-scim does not read", name)
		}
	}
	cm := byKind["ConfigMap"]["data"].(map[string]any)["config.yaml"].(string)
	cfg, err := mirror.ParseConfig("configmap", []byte(cm))
	if err == nil {
		_, err = mirror.Compile(cfg)
	}
	if err != nil {
		t.Fatalf("the ConfigMap's config.yaml: %v", err)
	}
}

// The Helm chart is held to the binary through its text: every variable
// its values and templates set is one personio-scim reads, the probes hit
// real endpoints, and its configuration example compiles. .ci/run renders
// it with helm itself.
func TestHelmChartMatchesTheBinary(t *testing.T) {
	const chart = "../../deploy/helm/personio-scim"
	var docs []map[string]any
	readYAML(t, chart+"/values.yaml", &docs)
	values := docs[0]
	var names []string
	for name := range values["env"].(map[string]any) {
		names = append(names, name)
	}
	for name := range values["secret"].(map[string]any)["values"].(map[string]any) {
		names = append(names, name)
	}
	templates, err := filepath.Glob(chart + "/templates/*.yaml")
	if err != nil || len(templates) < 6 {
		t.Fatalf("templates: %v (%d)", err, len(templates))
	}
	var text strings.Builder
	for _, f := range templates {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(b)
	}
	for _, m := range envNameInTemplate.FindAllStringSubmatch(text.String(), -1) {
		names = append(names, m[1])
	}
	for _, required := range []string{"DATABASE_URL", "PUBLIC_URL", "LISTEN_ADDR", "CONFIG_FILE", "SCIM_TOKEN", "ADMIN_TOKEN"} {
		if !slices.Contains(names, required) {
			t.Errorf("the chart does not set %s", required)
		}
	}
	for _, name := range names {
		if !slices.Contains(knownEnv(), name) {
			t.Errorf("the chart sets %s, which personio-scim does not read", name)
		}
	}
	for _, want := range []string{"path: /readyz", "path: /healthz", "kind: PodDisruptionBudget", "kind: Ingress", "kind: ServiceMonitor", "podAntiAffinity", "existingSecret"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the templates lack %q", want)
		}
	}
}

// envNameInTemplate finds container variables the templates name literally.
var envNameInTemplate = regexp.MustCompile(`- name: ([A-Z][A-Z0-9_]+)\b`)

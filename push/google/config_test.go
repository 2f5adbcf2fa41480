package google_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/google"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/store"
)

func TestParseConfigRefusesBadSections(t *testing.T) {
	base := "credentials_file_env: GOOGLE_KEY\nsubject: admin@example.com\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown key with its line", base + "subjekt: x\n", []string{"line 3", "subjekt: unknown key"}},
		{"no credentials variable", "subject: admin@example.com\n", []string{"credentials_file_env"}},
		{"no subject", "credentials_file_env: GOOGLE_KEY\n", []string{"subject"}},
		{"endpoint not a URL", base + "endpoint: admin.googleapis.com\n", []string{"line 3", "endpoint", "absolute"}},
		{"endpoint over plain http", base + "endpoint: http://admin.example.com/\n", []string{"line 3", "endpoint", "plain http"}},
		{"endpoint with credentials", base + "endpoint: https://u:p@admin.googleapis.com/\n", []string{"endpoint", "without credentials"}},
		{"bad token_url", base + "token_url: ftp://x\n", []string{"token_url"}},
		{"bad on_remove", base + "on_remove: purge\n", []string{"on_remove", "keep or delete"}},
		{"bad password", base + "password: secret\n", []string{"password", "random or none"}},
		{"unknown group kind", base + "groups: [department, floor]\ndomain: example.com\n", []string{"groups", "floor"}},
		{"groups without an address", base + "groups: [department]\n", []string{"group_email"}},
		{"broken template", base + "groups: [team]\ngroup_email: '{{slug .DisplayName'\n", []string{"group_email"}},
		{"concurrency out of range", base + "concurrency: 100\n", []string{"concurrency", "1 to 32"}},
		{"not a mapping", "- a\n", []string{"want a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := google.ParseConfig(node(t, tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseConfigDefaultsAndScopes(t *testing.T) {
	cfg, err := google.ParseConfig(node(t, "credentials_file_env: K\nsubject: a@example.com\ndomain: example.com\ngroups: [office]\ncreate_org_units: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Customer != "my_customer" || cfg.OnRemove != "keep" || cfg.Password != "random" ||
		cfg.Endpoint != "https://admin.googleapis.com/" || cfg.GroupEmail != "{{slug .DisplayName}}@example.com" {
		t.Errorf("defaults: %+v", cfg)
	}
	want := []string{googlesim.ScopeUser, googlesim.ScopeGroup, googlesim.ScopeOrgUnit}
	if got := google.Scopes(cfg); !slices.Equal(got, want) {
		t.Errorf("scopes %v, want %v", got, want)
	}
	cfg.Groups, cfg.CreateOrgUnits = nil, false
	if got := google.Scopes(cfg); !slices.Equal(got, want[:1]) {
		t.Errorf("users-only scopes %v", got)
	}
}

func TestOpenNamesTheMissingVariableNotItsValue(t *testing.T) {
	sec := node(t, "credentials_file_env: GOOGLE_KEY\nsubject: admin@example.com\n")
	tests := []struct {
		name string
		env  map[string]string
		file []byte
		want string
	}{
		{"unset", nil, nil, "GOOGLE_KEY"},
		{"missing file", map[string]string{"GOOGLE_KEY": "/nonexistent/key.json"}, nil, "GOOGLE_KEY"},
		{"not a key", map[string]string{"GOOGLE_KEY": "FILE"}, []byte(`{"type":"authorized_user","client_secret":"s3cr3t"}`), "not a service account key"},
		{"not JSON", map[string]string{"GOOGLE_KEY": "FILE"}, []byte(`s3cr3t`), "not JSON"},
		{"broken private key", map[string]string{"GOOGLE_KEY": "FILE"}, []byte(`{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\ns3cr3t\n-----END PRIVATE KEY-----\n"}`), "private_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				if v == "FILE" {
					v = filepath.Join(t.TempDir(), "key.json")
					if err := os.WriteFile(v, tc.file, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				env[k] = v
			}
			_, err := google.Open(context.Background(), sec, push.Env{Getenv: func(k string) string { return env[k] }})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error echoes the key file: %v", err)
			}
		})
	}
}

func TestGroupEmailTemplate(t *testing.T) {
	f := newFixture(t, setup{section: "groups: [department, rule]\ngroup_email: '{{.Kind}}-{{slug .DisplayName}}@example.com'\n"})
	items := []struct {
		name, kind, want string
	}{
		{"Forschung & Entwicklung", "department", "department-forschung-entwicklung@example.com"},
		{"Engineering Berlin", "rule", "rule-engineering-berlin@example.com"},
	}
	for _, tc := range items {
		res := f.push(groupItem("g-"+tc.want, tc.kind, tc.name, nil, store.PushRecord{}))[0]
		mustDone(t, res)
		if _, ok := f.sim.GroupByKey(tc.want); !ok {
			t.Errorf("no group %s", tc.want)
		}
	}
	it := groupItem("g-mapped", "department", "Sales", nil, store.PushRecord{})
	it.Group.Mapped = map[string]string{"email": "Vertrieb@Example.com"}
	mustDone(t, f.push(it)[0])
	if g, ok := f.sim.GroupByKey("vertrieb@example.com"); !ok || g.Name != "Sales" {
		t.Errorf("mapped email: %+v (found %v)", g, ok)
	}
	plain := newFixture(t, setup{section: groupsSection})
	bad := groupItem("g-empty", "department", "!!!", nil, store.PushRecord{})
	if res := plain.push(bad)[0]; res.Outcome != push.Failed || res.Retryable {
		t.Errorf("a name that slugs to nothing: %+v, want a permanent failure", res)
	}
}

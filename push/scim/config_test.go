package scim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push/scim"
)

func TestConfigErrors(t *testing.T) {
	vars := map[string]string{"TOK": "t-secret-1", "PW": "p-secret-1", "CS": "c-secret-1"}
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key with its line", "base_url: https://scim.example.test\ntoken_env: TOK\ntokn_env: X\n", `line 3: unknown key "tokn_env" in scim`},
		{"unknown dialect key", "base_url: https://scim.example.test\ntoken_env: TOK\ndialect:\n  users_onyl: true\n", `line 4: unknown key "users_onyl" in scim.dialect`},
		{"missing base_url", "token_env: TOK\n", "scim.base_url: is required"},
		{"relative base_url", "base_url: /scim/v2\ntoken_env: TOK\n", "scim.base_url: want an absolute https URL"},
		{"plain http to a remote host", "base_url: http://scim.example.test/v2\ntoken_env: TOK\n", "plain http is allowed only for a loopback host"},
		{"credentials in the URL", "base_url: https://u:p@scim.example.test\ntoken_env: TOK\n", "without credentials"},
		{"ftp", "base_url: ftp://scim.example.test\ntoken_env: TOK\n", "want an https URL"},
		{"no auth", "base_url: https://scim.example.test\n", "no authentication"},
		{"two auths", "base_url: https://scim.example.test\ntoken_env: TOK\nusername: u\npassword_env: PW\n", "choose one authentication"},
		{"basic without password", "base_url: https://scim.example.test\nusername: u\n", "needs both username and password_env"},
		{"oauth without client id", "base_url: https://scim.example.test\ntoken_url: https://idp.example.test/token\nclient_secret_env: CS\n", "need token_url, client_id and client_secret_env"},
		{"bad token_url", "base_url: https://scim.example.test\ntoken_url: http://idp.example.test/token\nclient_id: c\nclient_secret_env: CS\n", "scim.token_url: plain http"},
		{"missing variable named, no value", "base_url: https://scim.example.test\ntoken_env: NOPE\n", "environment variable NOPE is unset or empty"},
		{"missing password variable", "base_url: https://scim.example.test\nusername: u\npassword_env: NOPE_PW\n", "NOPE_PW"},
		{"bad match", "base_url: https://scim.example.test\ntoken_env: TOK\nmatch: email\n", "line 3: scim.match: must be externalId or userName"},
		{"bad on_remove", "base_url: https://scim.example.test\ntoken_env: TOK\non_remove: purge\n", "scim.on_remove"},
		{"bad update", "base_url: https://scim.example.test\ntoken_env: TOK\nupdate: post\n", "scim.update"},
		{"bad member_remove", "base_url: https://scim.example.test\ntoken_env: TOK\ndialect:\n  member_remove: all\n", "member_remove must be filter or value"},
		{"patch operations out of range", "base_url: https://scim.example.test\ntoken_env: TOK\nmax_patch_operations: -1\n", "scim.max_patch_operations"},
		{"concurrency out of range", "base_url: https://scim.example.test\ntoken_env: TOK\nconcurrency: 100\n", "line 3: scim.concurrency: must be between 1 and 32"},
		{"contradiction", "base_url: https://scim.example.test\ntoken_env: TOK\ndiscovery: true\ndialect:\n  no_discovery: true\n", "contradicts dialect.no_discovery"},
		{"wrong type", "base_url: https://scim.example.test\ntoken_env: TOK\nmax_batch: many\n", "scim:"},
		{"not a mapping", "- base_url\n", "must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scim.Open(context.Background(), section(t, tt.yaml), testEnv(vars, nil))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			for _, secret := range vars {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error echoes a secret: %s", err)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := scim.ParseConfig(section(t, "base_url: https://scim.example.test/scim/v2/\ntoken_env: TOK\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://scim.example.test/scim/v2" || c.Match != "externalId" || c.OnRemove != "keep" ||
		c.Update != "auto" || c.MaxPatchOperations != 100 || c.MaxBatch != 100 || c.Timeout != 30*time.Second || c.Concurrency != 4 ||
		c.Dialect.MemberRemove != "filter" {
		t.Errorf("defaults %+v", c)
	}
	c, err = scim.ParseConfig(section(t, "base_url: http://127.0.0.1:8880\ntoken_env: TOK\ntimeout: 5s\nmax_batch: 20\ndialect:\n  users_only: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 5*time.Second || c.MaxBatch != 20 || !c.Dialect.UsersOnly {
		t.Errorf("parsed %+v", c)
	}
	target, err := scim.New(context.Background(), c, testEnv(map[string]string{"TOK": "x"}, &http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	if info := target.Info(); info.Type != "scim" || info.MaxBatch != 20 || info.Groups || info.DeleteOnRemoval {
		t.Errorf("info %+v", info)
	}
}

package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/push/scim"
)

// A server that answers garbage, redirects elsewhere or hangs fails the
// whole batch with a clear reason, and no item counts as delivered.
func TestBadServersFailTheBatch(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		fault func(f *fixture, elsewhere string)
		want  string
	}{
		{
			name:  "garbage discovery",
			fault: func(f *fixture, _ string) { f.sim.Garbage(1) },
			want:  "ServiceProviderConfig is not a SCIM ServiceProviderConfig",
		},
		{
			name:  "garbage search",
			extra: "discovery: false\n",
			fault: func(f *fixture, _ string) { f.sim.Garbage(1) },
			want:  "not SCIM",
		},
		{
			name:  "garbage create answer",
			extra: "discovery: false\nconcurrency: 1\n",
			fault: func(f *fixture, _ string) {
				// The search goes through, the POST's answer is garbage.
				f.garbageAt.Store(2)
			},
			want: "not SCIM",
		},
		{
			name:  "redirect to another host",
			extra: "discovery: false\n",
			fault: func(f *fixture, elsewhere string) { f.sim.Redirect(1, elsewhere) },
			want:  "refusing a redirect to another host",
		},
		{
			name:  "hanging server",
			extra: "discovery: false\ntimeout: 200ms\n",
			fault: func(f *fixture, _ string) { f.sim.Hang(true) },
			want:  "no answer within the timeout",
		},
		{
			name:  "slow server",
			extra: "discovery: false\ntimeout: 200ms\n",
			fault: func(f *fixture, _ string) { f.sim.Slow(time.Hour) },
			want:  "no answer within the timeout",
		},
		{
			name:  "wrong base URL",
			extra: "discovery: false\n",
			fault: func(f *fixture, _ string) {},
			want:  "answered 404: check base_url",
		},
		{
			name:  "discovery missing",
			fault: func(f *fixture, _ string) {},
			want:  "set discovery: false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var strayRequests, strayTokens atomic.Int32
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				strayRequests.Add(1)
				if r.Header.Get("Authorization") != "" {
					strayTokens.Add(1)
				}
				w.WriteHeader(http.StatusOK)
			}))
			defer elsewhere.Close()
			opts := scimsim.Options{}
			if strings.HasPrefix(tt.name, "wrong base URL") || strings.HasPrefix(tt.name, "discovery missing") {
				opts.BasePath = "/scim/v2"
				opts.NoDiscovery = strings.HasPrefix(tt.name, "discovery missing")
			}
			f := start(t, opts, tt.extra)
			if strings.HasPrefix(tt.name, "wrong base URL") {
				f = reopen(t, f, f.srv.URL+"/wrong", tt.extra)
			}
			tt.fault(f, elsewhere.URL)
			res, err := f.pushErr([]push.Item{person("1"), person("2")}, false)
			if err == nil {
				t.Fatalf("no batch error; results %+v", res)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
			if res != nil {
				t.Errorf("results %v with a batch error", res)
			}
			if strayTokens.Load() != 0 {
				t.Error("the token went to another host")
			}
			if strings.Contains(err.Error(), "example.test") || strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks data: %s", err)
			}
		})
	}
}

func reopen(t *testing.T, f *fixture, base, extra string) *fixture {
	t.Helper()
	cfg := fmt.Sprintf("base_url: %s\ntoken_env: SCIM_TOKEN\n%s", base, extra)
	target, err := scim.Open(context.Background(), section(t, cfg), testEnv(map[string]string{"SCIM_TOKEN": testToken}, nil))
	if err != nil {
		t.Fatal(err)
	}
	f.target = target
	return f
}

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name  string
		opts  scimsim.Options
		extra string
		ok    bool
	}{
		{name: "bearer", opts: scimsim.Options{Token: testToken}, ok: true},
		{name: "wrong bearer", opts: scimsim.Options{Token: "another-token"}},
		{name: "basic", opts: scimsim.Options{Username: "scim", Password: "pw-1"}, extra: "username: scim\npassword_env: SCIM_PASSWORD\n", ok: true},
		{name: "wrong basic", opts: scimsim.Options{Username: "other", Password: "pw-1"}, extra: "username: scim\npassword_env: SCIM_PASSWORD\n"},
		{
			name: "oauth2 client credentials", opts: scimsim.Options{ClientID: "cid", ClientSecret: "cs-1"},
			extra: "token_url: {{url}}/oauth/token\nclient_id: cid\nclient_secret_env: SCIM_SECRET\nscopes: [scim]\n", ok: true,
		},
		{
			name: "oauth2 wrong client", opts: scimsim.Options{ClientID: "other", ClientSecret: "cs-1"},
			extra: "token_url: {{url}}/oauth/token\nclient_id: cid\nclient_secret_env: SCIM_SECRET\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, tt.opts, tt.extra)
			_, err := f.pushErr([]push.Item{person("1")}, false)
			if tt.ok != (err == nil) {
				t.Fatalf("error %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "credentials") && !strings.Contains(err.Error(), "token endpoint answered 401") {
				t.Errorf("error %q does not say the credentials were refused", err)
			}
			if err != nil && (strings.Contains(err.Error(), "cs-1") || strings.Contains(err.Error(), "pw-1")) {
				t.Errorf("error echoes a secret: %s", err)
			}
			if tt.ok && f.sim.Users() != 1 {
				t.Errorf("%d users", f.sim.Users())
			}
		})
	}
}

func TestCancelledContextFailsTheBatch(t *testing.T) {
	f := start(t, scimsim.Options{}, "discovery: false\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.target.Push(ctx, []push.Item{person("1")}, false)
	if err == nil {
		t.Fatal("no error with a cancelled context")
	}
	if f.sim.Users() != 0 {
		t.Error("wrote with a cancelled context")
	}
}

func TestRetryAfterAsDate(t *testing.T) {
	// The simulator sends seconds; a server may send an HTTP date.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", testNow.Add(90*time.Second).Format(http.TimeFormat))
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429"}`)
	}))
	defer srv.Close()
	cfg := fmt.Sprintf("base_url: %s\ntoken_env: SCIM_TOKEN\ndiscovery: false\n", srv.URL)
	target, err := scim.Open(context.Background(), section(t, cfg), testEnv(map[string]string{"SCIM_TOKEN": testToken}, nil))
	if err != nil {
		t.Fatal(err)
	}
	res, err := target.Push(context.Background(), []push.Item{person("1")}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Retryable || res[0].RetryAfter != 90*time.Second {
		t.Errorf("retryable %v after %v, want 90s", res[0].Retryable, res[0].RetryAfter)
	}
}

package personio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// TestLegacyTokenRotation: with one-time tokens every answer hands out the
// next token, which the client must use; reusing one would be refused.
func TestLegacyTokenRotation(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 350, Credentials: []personiotest.Credential{
				{ClientID: "c", ClientSecret: "s", NoRateLimit: true, TokenMode: personiotest.TokenLegacy}}})
			c, _ := newClient(t, srv, v, nil)
			got, stats, err := c.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, srv.Records()); err != nil {
				t.Error(err)
			}
			if stats.AuthCalls != 1 || stats.Retries != 0 {
				t.Errorf("stats %+v: want one auth call and no retries", stats)
			}
			if _, stats, err := c.FetchAll(context.Background()); err != nil || stats.AuthCalls != 0 {
				t.Errorf("second fetch with the rotated token: stats %+v, %v", stats, err)
			}
		})
	}
}

func TestWrongCredentials(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 5})
			c, _ := newClient(t, srv, v, func(c *personio.Config) { c.ClientSecret = "wrong" })
			got, stats, err := c.FetchAll(context.Background())
			if !errors.Is(err, personio.ErrAuth) || got != nil || stats.AuthCalls != 1 {
				t.Errorf("wrong secret: %d records, stats %+v, %v", len(got), stats, err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}

func TestTokenCachedUntilExpiry(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			clock := personiotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			srv := startSim(t, personiotest.Options{Employees: 5, Now: clock.Now})
			c, _ := newClient(t, srv, v, func(c *personio.Config) { c.Now = clock.Now })
			auths := func() int {
				_, stats, err := c.FetchAll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return stats.AuthCalls
			}
			first := auths()
			clock.Advance(23 * time.Hour)
			second := auths()
			clock.Advance(2 * time.Hour)
			third := auths()
			if first != 1 || second != 0 || third != 1 {
				t.Errorf("auth calls at 0h, 23h, 25h = %d, %d, %d; want 1, 0, 1", first, second, third)
			}
		})
	}
}

// TestReauthOnce: a token the server no longer accepts costs one new token;
// a credential that cannot read persons fails after that with a hint.
func TestReauthOnce(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 5, V2MissingScopeStatus: http.StatusUnauthorized,
		Credentials: []personiotest.Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true, Scopes: []string{"personio:webhooks:read"}}}})
	c, _ := newClient(t, srv, personio.APIv2, nil)
	got, stats, err := c.FetchAll(context.Background())
	if !errors.Is(err, personio.ErrAuth) || got != nil || stats.AuthCalls != 2 || !strings.Contains(err.Error(), "scope") {
		t.Errorf("missing scope: %d records, stats %+v, %v; want ErrAuth after two tokens", len(got), stats, err)
	}
}

func TestMissingScopeForbidden(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 5,
		Credentials: []personiotest.Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true, Scopes: []string{"personio:webhooks:read"}}}})
	c, _ := newClient(t, srv, personio.APIv2, nil)
	got, stats, err := c.FetchAll(context.Background())
	if !errors.Is(err, personio.ErrAuth) || got != nil || stats.AuthCalls != 1 || stats.Retries != 0 {
		t.Errorf("403 for a missing scope: %d records, stats %+v, %v", len(got), stats, err)
	}
}

// TestHeadersOnEveryCall checks the partner and app headers reach the
// simulator on every request, the token calls included.
func TestHeadersOnEveryCall(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			sim := personiotest.New(personiotest.Options{Employees: 120,
				Credentials: []personiotest.Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true}}})
			var mu sync.Mutex
			var seen, bad []string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.Path)
				if r.Header.Get("X-Personio-Partner-ID") != "ACME" || r.Header.Get("X-Personio-App-ID") != "PERSONIO_SCIM" {
					bad = append(bad, r.Method+" "+r.URL.Path)
				}
				mu.Unlock()
				sim.ServeHTTP(w, r)
			}))
			defer ts.Close()
			c, err := personio.NewClient(personio.Config{BaseURL: ts.URL, ClientID: "c", ClientSecret: "s", APIVersion: v,
				NoRateLimit: true, PartnerID: "ACME"})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.FetchAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) < 3 || len(bad) > 0 || !strings.Contains(seen[0], "auth") {
				t.Errorf("requests %v; without headers: %v", seen[:min(len(seen), 5)], bad)
			}
		})
	}
}

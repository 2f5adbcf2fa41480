package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/store"
)

const oktaSecret = "pst_stored-okta-token-0123456789abcdef"

func (e *edge) storeToken(secret string, scopes ...string) {
	e.t.Helper()
	tok := store.Token{ID: "tok-" + secret[len(secret)-6:], Name: "okta", Scopes: scopes, Hash: store.HashToken(secret)}
	if err := e.st.CreateToken(context.Background(), tok); err != nil {
		e.t.Fatal(err)
	}
}

func basic(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestValidTokenIsNeverLockedOut: behind one load balancer every identity
// provider shares an address; wrong tokens from it must not stop a valid
// one, stored or bootstrap.
func TestValidTokenIsNeverLockedOut(t *testing.T) {
	e := newEdge(t, nil, api.Options{AuthFailureBurst: 3})
	e.storeToken(oktaSecret, store.ScopeSCIMRead)
	lb := "10.0.0.5:40000"
	limited := false
	for i := range 10 {
		rec := e.send(http.MethodGet, "/scim/v2/Users", "", lb, fmt.Sprintf("Authorization: Bearer pst_wrong-%d", i))
		limited = limited || rec.Code == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("ten wrong tokens from one address were never rate limited")
	}
	for _, auth := range []string{"Authorization: Bearer " + oktaSecret, "Authorization: Bearer " + scimToken, basic("okta", oktaSecret)} {
		if rec := e.send(http.MethodGet, "/scim/v2/Users", "", lb, auth); rec.Code != http.StatusOK {
			t.Errorf("%s… from the limited address: status %d, want 200", auth[:22], rec.Code)
		}
	}
	t.Run("a wrong token replayed from other addresses is limited too", func(t *testing.T) {
		var last int
		for i := range 6 {
			last = e.send(http.MethodGet, "/scim/v2/Users", "", fmt.Sprintf("192.0.2.%d:1", i+1), "Authorization: Bearer pst_replayed").Code
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("status %d, want 429", last)
		}
	})
}

// TestTrustedProxies: forwarded headers count only from TRUSTED_PROXIES,
// for rate limiting, logs and meta.location.
func TestTrustedProxies(t *testing.T) {
	tp, err := api.ParseTrustedProxies("10.0.0.0/8, 2001:db8::1")
	if err != nil {
		t.Fatal(err)
	}
	e := newEdge(t, nil, api.Options{AuthFailureBurst: 3, TrustedProxies: tp})
	proxy := "10.1.2.3:5000"
	fail := func(remote, xff string) int {
		return e.send(http.MethodGet, "/scim/v2/Users", "", remote, "Authorization: Bearer pst_wrong-"+xff, "X-Forwarded-For: "+xff).Code
	}
	t.Run("clients behind the proxy are limited one by one", func(t *testing.T) {
		var last int
		for range 5 {
			last = fail(proxy, "203.0.113.50, 10.9.9.9")
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("the failing client: status %d, want 429", last)
		}
		if got := fail(proxy, "198.51.100.20"); got != http.StatusUnauthorized {
			t.Errorf("another client behind the same proxy: status %d, want 401", got)
		}
		if !strings.Contains(e.logs.String(), "client=203.0.113.50") {
			t.Errorf("logs do not name the client behind the proxy:\n%s", e.logs.String())
		}
	})
	t.Run("an untrusted peer cannot pick its address", func(t *testing.T) {
		var last int
		for i := range 5 {
			last = fail("192.0.2.99:1", fmt.Sprintf("198.51.100.%d", 100+i))
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("rotating X-Forwarded-For from one untrusted peer: status %d, want 429", last)
		}
		if strings.Contains(e.logs.String(), "client=198.51.100.101") {
			t.Error("a forwarded address from an untrusted peer was logged as the client")
		}
	})
	t.Run("meta.location", func(t *testing.T) {
		location := func(remote string) string {
			rec := e.send(http.MethodGet, "/scim/v2/Users/"+e.ids[0], "", remote, "Authorization: Bearer "+scimToken,
				"X-Forwarded-Proto: https", "X-Forwarded-Host: scim.example.com", "X-Forwarded-For: 203.0.113.7")
			var body struct {
				Meta struct{ Location string } `json:"meta"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			return body.Meta.Location
		}
		if got := location(proxy); !strings.HasPrefix(got, "https://scim.example.com/scim/v2/Users/") {
			t.Errorf("through the proxy: %q", got)
		}
		if got := location("[2001:db8::1]:443"); !strings.HasPrefix(got, "https://scim.example.com/") {
			t.Errorf("through the IPv6 proxy: %q", got)
		}
		if got := location("192.0.2.1:1"); !strings.HasPrefix(got, "http://example.com/scim/v2/Users/") {
			t.Errorf("from an untrusted peer: %q", got)
		}
	})
	t.Run("bad TRUSTED_PROXIES", func(t *testing.T) {
		for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0.0/8,,x"} {
			if _, err := api.ParseTrustedProxies(bad); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
	})
}

// TestSCIMBasicUser: SCIM_BASIC_USER makes Basic's user name count.
func TestSCIMBasicUser(t *testing.T) {
	strict := newEdge(t, nil, api.Options{SCIMBasicUser: "okta"})
	if rec := strict.send(http.MethodGet, "/scim/v2/Users", "", "192.0.2.1:1", basic("okta", scimToken)); rec.Code != http.StatusOK {
		t.Errorf("the configured user: status %d", rec.Code)
	}
	if rec := strict.send(http.MethodGet, "/scim/v2/Users", "", "192.0.2.1:1", basic("someone", scimToken)); rec.Code != http.StatusUnauthorized {
		t.Errorf("another user name: status %d, want 401", rec.Code)
	}
	lax := newEdge(t, nil, api.Options{})
	if rec := lax.send(http.MethodGet, "/scim/v2/Users", "", "192.0.2.1:1", basic("anyone", scimToken)); rec.Code != http.StatusOK {
		t.Errorf("no SCIM_BASIC_USER: status %d", rec.Code)
	}
}

// TestRouterSCIMWiring checks what the router adds around the SCIM
// handler: the trailing-slash collection route and write-only tokens.
func TestRouterSCIMWiring(t *testing.T) {
	e := newEdge(t, nil, api.Options{Writable: []string{store.AttrTitle}})
	const writeOnly = "pst_stored-write-only-0123456789abcdef"
	e.storeToken(writeOnly, store.ScopeSCIMWrite)
	rec := e.send(http.MethodGet, `/scim/v2/Users/?filter=userName%20eq%20%22grace@example.com%22`, "", "192.0.2.1:1", "Authorization: Bearer "+scimToken)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"totalResults":1`) {
		t.Errorf("/Users/?filter=: %d %s", rec.Code, rec.Body)
	}
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"T"}]}`
	rec = e.send(http.MethodPatch, "/scim/v2/Users/"+e.ids[0], patch, "192.0.2.1:1", "Authorization: Bearer "+writeOnly)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("PATCH with a write-only token: %d %q, want 204 without a body", rec.Code, rec.Body)
	}
}

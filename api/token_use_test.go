package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// countingToucher counts last-use writes.
type countingToucher struct {
	*memory.Store
	touches int
}

func (c *countingToucher) TouchToken(ctx context.Context, id string, at time.Time) error {
	c.touches++
	return c.Store.TouchToken(ctx, id, at)
}

// Expired tokens are refused; a token's use is written at most once a
// minute, however many requests it authenticates.
func TestStoredTokensExpireAndRecordUseCheaply(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)
	st := &countingToucher{Store: memory.New(memory.Options{})}
	defer st.Close()
	for _, tok := range []store.Token{
		{ID: "live", Name: "okta", Scopes: []string{store.ScopeSCIMRead}, Hash: store.HashToken("live-secret-0123456789"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "old", Name: "jumpcloud", Scopes: []string{store.ScopeSCIMRead}, Hash: store.HashToken("old-secret-0123456789"), CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now},
	} {
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	clock := now
	h := Authenticate(st, AuthOptions{RequiredScope: SCIMScope, Now: func() time.Time { return clock }, FailureBurst: 100})(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	send := func(secret string) int {
		req := httptest.NewRequest(http.MethodGet, "/scim/v2/Users", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := send("old-secret-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("an expired token answered %d, want 401", code)
	}
	for i := range 50 {
		clock = now.Add(time.Duration(i) * time.Second)
		if code := send("live-secret-0123456789"); code != http.StatusNoContent {
			t.Fatalf("request %d answered %d", i, code)
		}
	}
	if st.touches != 1 {
		t.Fatalf("50 requests within a minute wrote last use %d times, want 1", st.touches)
	}
	clock = now.Add(61 * time.Second)
	send("live-secret-0123456789")
	if st.touches != 2 {
		t.Fatalf("a request after a minute wrote last use %d times in all, want 2", st.touches)
	}
	tokens, err := st.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.ID == "live" && !tok.LastUsedAt.Equal(now.Add(61*time.Second)) {
			t.Fatalf("last used = %v", tok.LastUsedAt)
		}
	}
	clock = now.Add(2 * time.Hour)
	if code := send("live-secret-0123456789"); code == http.StatusNoContent {
		t.Fatal("a token past its expiry still works (past the cache's lifetime)")
	}
}

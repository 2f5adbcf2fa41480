package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

const notifyAdminToken = "admin-token-for-notifications-0123"

// notificationsStack serves the admin API with notifications on a memory
// store; its one channel is a signed webhook to a receiver that answers
// with the queued status codes.
type notificationsStack struct {
	url   string
	n     *notify.Notifier
	mu    sync.Mutex
	posts [][]byte
	codes []int
}

func startNotifications(t *testing.T) *notificationsStack {
	t.Helper()
	s := &notificationsStack{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.posts = append(s.posts, b)
		if len(s.codes) > 0 {
			w.WriteHeader(s.codes[0])
			s.codes = s.codes[1:]
		}
	}))
	t.Cleanup(recv.Close)
	clock := storetest.NewClock()
	st := memory.New(memory.Options{Now: clock.Now})
	cfg := notify.DefaultConfig()
	cfg.Recipients.Admins = []string{"admin@example.com"}
	cfg.Channels = []notify.ChannelConfig{{Name: "hook", Type: notify.TypeWebhook, URL: recv.URL + "/in", SecretEnv: "HOOK_SECRET"}}
	chans, err := notify.OpenChannels(cfg, func(string) string { return "0123456789abcdef0123" }, notify.ChannelOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.n, err = notify.New(notify.Options{Store: st, Config: cfg, Channels: chans, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, AdminToken: notifyAdminToken, Now: clock.Now,
		Notifications: api.NotificationsHandler(s.n)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *notificationsStack) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+notifyAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestNotificationsAPI(t *testing.T) {
	s := startNotifications(t)
	ctx := context.Background()

	resp, err := http.Get(s.url + "/api/v1/notifications")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %d; want 401", resp.StatusCode)
	}

	tests := []struct {
		name, method, path, body string
		want                     int
		check                    func(t *testing.T, v map[string]any)
	}{
		{"preview in German", "POST", "/api/v1/notifications/preview", `{"event":"run_held","language":"de"}`, 200, func(t *testing.T, v map[string]any) {
			if !strings.HasPrefix(v["subject"].(string), "Synchronisation angehalten") || !strings.Contains(v["html"].(string), "<html") {
				t.Errorf("preview = %v", v)
			}
		}},
		{"preview of a digest", "POST", "/api/v1/notifications/preview", `{"event":"joiner_created","digest":true}`, 200, func(t *testing.T, v map[string]any) {
			if v["subject"] != "New accounts prepared: 3" {
				t.Errorf("digest preview subject = %v", v["subject"])
			}
		}},
		{"preview of an unknown event", "POST", "/api/v1/notifications/preview", `{"event":"nope"}`, 400, nil},
		{"preview with an unknown field", "POST", "/api/v1/notifications/preview", `{"evnt":"run_held"}`, 400, nil},
		{"test send", "POST", "/api/v1/notifications/test", `{"channel":"hook","event":"data_stale"}`, 200, nil},
		{"test send to an unknown channel", "POST", "/api/v1/notifications/test", `{"channel":"pager"}`, 400, nil},
		{"list with a bad status", "GET", "/api/v1/notifications?status=lost", "", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v := s.do(t, tt.method, tt.path, tt.body)
			if code != tt.want {
				t.Fatalf("%s %s = %d %v; want %d", tt.method, tt.path, code, v, tt.want)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
	s.mu.Lock()
	if len(s.posts) != 1 || !strings.Contains(string(s.posts[0]), "[test]") {
		t.Fatalf("the receiver got %d posts; want the one test message", len(s.posts))
	}
	s.codes = []int{http.StatusInternalServerError}
	s.mu.Unlock()
	if code, v := s.do(t, "POST", "/api/v1/notifications/test", `{"channel":"hook"}`); code != http.StatusBadGateway ||
		!strings.Contains(v["detail"].(string), "answered 500") {
		t.Fatalf("a refused test send = %d %v; want 502 with the reason", code, v)
	}

	if err := s.n.RunFinished(ctx, notify.RunEvent{ID: "r1", Status: "held", HeldTotal: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	code, v := s.do(t, "GET", "/api/v1/notifications?status=sent", "")
	items, _ := v["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("list of sent = %d %v; want the held run's message", code, v)
	}
	item := items[0].(map[string]any)
	if item["event"] != "run_held" || item["channel"] != "hook" || item["status"] != "sent" || item["attempts"] != float64(1) {
		t.Fatalf("listed message = %v", item)
	}
	if _, leaked := item["payload"]; leaked {
		t.Fatal("the listing shows the payload")
	}
	if _, v := s.do(t, "GET", "/api/v1/notifications?status=pending", ""); len(v["items"].([]any)) != 0 {
		t.Fatalf("pending = %v; want none", v)
	}
}

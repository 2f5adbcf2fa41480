package personiotest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver records what a webhook endpoint was sent and answers status.
type receiver struct {
	mu      sync.Mutex
	status  int
	bodies  []map[string]any
	auths   []string
	blocked chan struct{} // when set, requests never get an answer
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	rc.auths = append(rc.auths, r.Header.Get("Authorization"))
	status, blocked := rc.status, rc.blocked
	rc.mu.Unlock()
	if blocked != nil {
		select {
		case <-blocked:
		case <-r.Context().Done():
		}
		return
	}
	if status == http.StatusFound {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return
	}
	w.WriteHeader(status)
}

func (rc *receiver) events() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, b := range rc.bodies {
		p, _ := b["payload"].(map[string]any)
		out = append(out, b["event_name"].(string)+" "+p["id"].(string))
	}
	return out
}

func startReceiver(t *testing.T, status int) (*receiver, string) {
	rc := &receiver{status: status}
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	return rc, ts.URL + "/webhooks/personio"
}

// waits records the simulator's waits instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) Sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d > 0 {
		w.d = append(w.d, d)
	}
	return ctx.Err()
}

func TestWebhooksAPIAndDelivery(t *testing.T) {
	rc, target := startReceiver(t, http.StatusAccepted)
	s := Start(t, Options{Employees: 5, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
	h := bearer(v2Token(t, s))
	status, _, body := call(t, "POST", s.URL()+"/v2/webhooks",
		`{"url":"`+target+`","description":"scim","auth_type":"TOKEN","token":"Bearer s3cret","enabled_events":["person.updated","employment.updated"]}`, h)
	if status != http.StatusCreated || body["status"] != "DISABLED" || body["token"] != nil {
		t.Fatalf("create: %d %v (want 201, DISABLED by default, no token echoed)", status, body)
	}
	id := body["id"].(string)
	id0 := s.Records()[0].ID
	if err := s.Update(id0, Attrs{"first_name": "Quiet"}); err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	if n := len(rc.events()); n != 0 {
		t.Fatalf("a disabled webhook was delivered %d events", n)
	}
	if status, _, _ := call(t, "PATCH", s.URL()+"/v2/webhooks/"+id, `{"status":"ENABLED"}`, h); status != http.StatusOK {
		t.Fatalf("enable: %d", status)
	}
	if status, _, _ := call(t, "POST", s.URL()+"/v2/webhooks", `{"url":"`+target+`","description":"again","enabled_events":["person.updated"]}`, h); status != http.StatusConflict {
		t.Errorf("second webhook for the same url: %d, want 409", status)
	}
	if status, _, _ := call(t, "POST", s.URL()+"/v2/webhooks", `{"url":"http://example.com/x","description":"x","enabled_events":["person.updated"]}`, h); status != http.StatusUnprocessableEntity {
		t.Errorf("plain http url: %d, want 422", status)
	}
	if err := s.Update(id0, Attrs{"first_name": "Loud", "position": "Chef"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(id0, Attrs{"first_name": "Loud"}); err != nil { // no change, no event
		t.Fatal(err)
	}
	s.WaitWebhooks()
	got := rc.events()
	slices.Sort(got)
	if len(got) != 2 || got[0] != "employment.updated "+firstEmployment(t, s, id0) || got[1] != "person.updated "+id0 {
		t.Fatalf("events %v", got)
	}
	rc.mu.Lock()
	b, auth := rc.bodies[0], rc.auths[0]
	rc.mu.Unlock()
	if auth != "Bearer s3cret" || b["company_id"] != "12345" || b["occurred_at"] != seedNow.Format(time.RFC3339) {
		t.Errorf("envelope %v with Authorization %q", b, auth)
	}
	_, _, list := call(t, "GET", s.URL()+"/v2/webhooks", "", h)
	if data := list["_data"].([]any); len(data) != 1 {
		t.Errorf("list: %v", list)
	}
	if status, _, _ := call(t, "DELETE", s.URL()+"/v2/webhooks/"+id, "", h); status != http.StatusNoContent {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := call(t, "DELETE", s.URL()+"/v2/webhooks/"+id, "", h); status != http.StatusNotFound {
		t.Errorf("delete again: %d", status)
	}
}

func firstEmployment(t *testing.T, s *Server, id string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _ := s.lookup(id)
	return p.current().ID
}

func TestWebhookRetries(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		block    bool
		requests int
	}{
		{"acknowledged", http.StatusOK, false, 1},
		{"server error retried to the end", http.StatusServiceUnavailable, false, 14},
		{"not implemented is final", http.StatusNotImplemented, false, 1},
		{"client error is final", http.StatusUnauthorized, false, 1},
		{"redirect not followed", http.StatusFound, false, 1},
		{"timeout retried", 0, true, 14},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, target := startReceiver(t, tc.status)
			if tc.block {
				rc.blocked = make(chan struct{})
				defer close(rc.blocked)
			}
			w := &waits{}
			s := Start(t, Options{Employees: 3, Now: func() time.Time { return seedNow }, Credentials: noLimits(),
				Webhooks: WebhookOptions{Sleep: w.Sleep, Timeout: 20 * time.Millisecond}})
			s.RegisterWebhook(target, "tok", "person.updated")
			if err := s.Update(s.Records()[1].ID, Attrs{"last_name": "Neu"}); err != nil {
				t.Fatal(err)
			}
			s.WaitWebhooks()
			if got := len(s.Deliveries()); got != tc.requests {
				t.Fatalf("%d requests, want %d: %v", got, tc.requests, s.Deliveries())
			}
			if rcN := len(rc.events()); rcN != tc.requests {
				t.Errorf("receiver saw %d requests, want %d (a redirect must not be followed)", rcN, tc.requests)
			}
			if tc.requests == 14 && len(w.d) != 6 {
				t.Errorf("waits between attempts %v, want Personio's six", w.d)
			}
		})
	}
}

func TestWebhookDropDuplicateReorder(t *testing.T) {
	cases := []struct {
		name string
		opts WebhookOptions
		want int
	}{
		{"dropped", WebhookOptions{DropRate: 1}, 0},
		{"duplicated", WebhookOptions{DuplicateRate: 1}, 6},
		{"plain", WebhookOptions{}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, target := startReceiver(t, http.StatusOK)
			s := Start(t, Options{Employees: 5, Now: func() time.Time { return seedNow }, Credentials: noLimits(), Webhooks: tc.opts})
			s.RegisterWebhook(target, "tok", "person.updated")
			for _, rec := range s.Records()[:3] {
				if err := s.Update(rec.ID, Attrs{"preferred_name": "X" + rec.ID}); err != nil {
					t.Fatal(err)
				}
			}
			s.WaitWebhooks()
			if got := len(rc.events()); got != tc.want {
				t.Errorf("%d deliveries, want %d", got, tc.want)
			}
		})
	}
	t.Run("reordered", func(t *testing.T) {
		rc, target := startReceiver(t, http.StatusOK)
		s := Start(t, Options{Employees: 5, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
		s.RegisterWebhook(target, "tok", "person.updated")
		s.HoldWebhooks()
		var want []string
		for _, rec := range s.Records()[:3] {
			if err := s.Update(rec.ID, Attrs{"preferred_name": "Y"}); err != nil {
				t.Fatal(err)
			}
			want = append([]string{"person.updated " + rec.ID}, want...)
		}
		s.ReleaseWebhooks(true)
		s.WaitWebhooks()
		// Released in reverse; each goes out on its own goroutine, so only
		// the set is certain, and the hold kept all three back until now.
		got := rc.events()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}

func TestWriteBackEchoes(t *testing.T) {
	rc, target := startReceiver(t, http.StatusOK)
	s := Start(t, Options{Employees: 4, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
	s.RegisterWebhook(target, "tok")
	recs := s.Records()
	h := bearer(v2Token(t, s))
	if status, _, _ := call(t, "PATCH", s.URL()+"/v2/persons/"+recs[0].ID, `{"email":"`+recs[1].Email+`"}`, h); status != http.StatusBadRequest {
		t.Fatalf("duplicate email: %d, want 400", status)
	}
	if status, _, _ := call(t, "PATCH", s.URL()+"/v2/persons/"+recs[0].ID, `{"email":"new.login@alpenwerk.example"}`, h); status != http.StatusNoContent {
		t.Fatalf("email write: %d, want 204", status)
	}
	status, _, body := call(t, "PATCH", s.URL()+"/v1/company/employees/"+recs[2].ID, `{"employee":{"email":"other@alpenwerk.example"}}`, bearer(v1Token(t, s)))
	if status != http.StatusOK || !strings.Contains(strings.Join(anyStrings(body["meta"]), " "), "email") {
		t.Fatalf("v1 email write: %d %v, want 200 with a meta note", status, body)
	}
	s.WaitWebhooks()
	if got := rc.events(); !slices.Equal(got, []string{"person.updated " + recs[0].ID}) {
		t.Errorf("echoes %v: want one person.updated for the v2 write, none for the refused ones", got)
	}
}

func TestWebhookEffectiveDates(t *testing.T) {
	rc, target := startReceiver(t, http.StatusOK)
	s := Start(t, Options{Employees: -1, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
	today := s.Today()
	joiner, err := s.Hire(Attrs{"first_name": "Jo", "last_name": "Neu", "hire_date": today.AddDays(2).String()})
	if err != nil {
		t.Fatal(err)
	}
	leaver, err := s.Hire(Attrs{"first_name": "Le", "last_name": "Alt", "hire_date": "2020-01-01", "termination_date": today.AddDays(1).String()})
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterWebhook(target, "tok", "employment.started", "employment.terminated")
	s.Advance(24 * time.Hour)
	s.WaitWebhooks()
	if got := rc.events(); !slices.Equal(got, []string{"employment.terminated " + firstEmployment(t, s, leaver)}) {
		t.Errorf("day 1: %v", got)
	}
	s.Advance(24 * time.Hour)
	s.Advance(time.Hour) // the same day again fires nothing new
	s.WaitWebhooks()
	if got := rc.events(); len(got) != 2 || got[1] != "employment.started "+firstEmployment(t, s, joiner) {
		t.Errorf("day 2: %v", got)
	}
}

func TestWebhookDelay(t *testing.T) {
	rc, target := startReceiver(t, http.StatusOK)
	w := &waits{}
	s := Start(t, Options{Employees: 2, Now: func() time.Time { return seedNow }, Credentials: noLimits(),
		Webhooks: WebhookOptions{Sleep: w.Sleep, Delay: 90 * time.Second}})
	s.RegisterWebhook(target, "tok", "person.updated")
	if err := s.Update(s.Records()[0].ID, Attrs{"first_name": "Später"}); err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	if len(rc.events()) != 1 || !slices.Equal(w.d, []time.Duration{90 * time.Second}) {
		t.Errorf("deliveries %v after waits %v, want one after Personio's delay", rc.events(), w.d)
	}
}

func TestWebhookRemoveAndHire(t *testing.T) {
	rc, target := startReceiver(t, http.StatusOK)
	s := Start(t, Options{Employees: 2, Now: func() time.Time { return seedNow }, Credentials: noLimits(), Webhooks: WebhookOptions{EmploymentIDOnly: true}})
	s.RegisterWebhook(target, "tok")
	if err := s.Remove("no-such-id"); err == nil {
		t.Fatal("an unknown person was removed")
	}
	gone := s.Records()[0].ID
	if err := s.Remove(gone); err != nil {
		t.Fatal(err)
	}
	id, err := s.Hire(Attrs{"first_name": "Neu", "last_name": "Ling"})
	if err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	got := rc.events()
	slices.Sort(got)
	if len(got) != 4 || got[2] != "person.created "+id || got[3] != "person.deleted "+gone {
		t.Fatalf("events %v", got)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bodies {
		if p := b["payload"].(map[string]any); strings.HasPrefix(b["event_name"].(string), "employment.") && p["person_id"] != nil {
			t.Errorf("payload %v carries person_id although the layout leaves it out", p)
		}
	}
}

package personio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

func TestWebhookSubscriptions(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 3})
	var auths []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(hook.Close)
	ctx := context.Background()
	c, _ := newClient(t, srv, personio.APIv2, nil)
	created, err := c.CreateWebhook(ctx, personio.Webhook{URL: hook.URL + "/webhooks/personio", Description: "personio-scim",
		Token: "Bearer abc", EnabledEvents: personio.PeopleEvents()})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Status != personio.WebhookEnabled || created.Token != "" {
		t.Fatalf("created %+v: want an id, ENABLED (Personio's default is DISABLED), no token", created)
	}
	if err := srv.Update(srv.Records()[0].ID, personiotest.Attrs{"first_name": "Neu"}); err != nil {
		t.Fatal(err)
	}
	srv.WaitWebhooks()
	if !slices.Equal(auths, []string{"Bearer abc"}) {
		t.Errorf("deliveries carried %q, want the token verbatim once", auths)
	}
	list, err := c.ListWebhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != created.ID || !slices.Equal(list[0].EnabledEvents, personio.PeopleEvents()) {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := c.DeleteWebhook(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, created.ID); !errors.Is(err, personio.ErrNotFound) {
		t.Errorf("delete again: %v, want ErrNotFound", err)
	}
	if list, err := c.ListWebhooks(ctx); err != nil || len(list) != 0 {
		t.Errorf("list after delete: %+v %v", list, err)
	}
}

func TestWebhookRequestChecks(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 1})
	ctx := context.Background()
	v1, _ := newClient(t, srv, personio.APIv1, nil)
	if _, err := v1.ListWebhooks(ctx); err == nil || !strings.Contains(err.Error(), "v2") {
		t.Errorf("v1 client: %v, want a hint at v2", err)
	}
	v2, _ := newClient(t, srv, personio.APIv2, nil)
	for _, w := range []personio.Webhook{
		{URL: "http://scim.example.com/hook", Description: "d", Token: "t", EnabledEvents: []string{"person.updated"}},
		{URL: "/relative", Description: "d", Token: "t", EnabledEvents: []string{"person.updated"}},
		{URL: "https://scim.example.com/hook", Token: "t", EnabledEvents: []string{"person.updated"}},
		{URL: "https://scim.example.com/hook", Description: "d", EnabledEvents: []string{"person.updated"}},
		{URL: "https://scim.example.com/hook", Description: "d", Token: "t"},
	} {
		if _, err := v2.CreateWebhook(ctx, w); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
	if got := srv.Calls("POST /v2/webhooks"); got != 0 {
		t.Errorf("%d invalid webhooks were sent to Personio", got)
	}
}

func TestParseWebhookEvent(t *testing.T) {
	at := time.Date(2026, 9, 30, 22, 0, 5, 0, time.UTC)
	cases := []struct {
		name, body string
		want       personio.WebhookEvent
		err        bool
	}{
		{"person event", `{"company_id":"12345","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"3003"},"meta":{}}`,
			personio.WebhookEvent{CompanyID: "12345", Name: "person.updated", OccurredAt: at, ResourceID: "3003", PersonID: "3003"}, false},
		{"employment event with person", `{"company_id":12345,"event_name":"employment.terminated","occurred_at":"2026-10-01T00:00:05+02:00","payload":{"id":"778899","person_id":3003}}`,
			personio.WebhookEvent{CompanyID: "12345", Name: "employment.terminated", OccurredAt: at, ResourceID: "778899", PersonID: "3003"}, false},
		{"employment event without person", `{"company_id":"1","event_name":"employment.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"9"}}`,
			personio.WebhookEvent{CompanyID: "1", Name: "employment.updated", OccurredAt: at, ResourceID: "9"}, false},
		{"ping", `{"company_id":"1","event_name":"ping","occurred_at":"2026-09-30T22:00:05Z","payload":{}}`,
			personio.WebhookEvent{CompanyID: "1", Name: "ping", OccurredAt: at}, false},
		{"unknown members tolerated", `{"company_id":"1","event_name":"person.created","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"7","extra":[1]},"new":true}`,
			personio.WebhookEvent{CompanyID: "1", Name: "person.created", OccurredAt: at, ResourceID: "7", PersonID: "7"}, false},
		{"not json", `{"company_id":`, personio.WebhookEvent{}, true},
		{"a list", `[]`, personio.WebhookEvent{}, true},
		{"missing company", `{"event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"1"}}`, personio.WebhookEvent{}, true},
		{"missing payload", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z"}`, personio.WebhookEvent{}, true},
		{"payload not an object", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":"1"}`, personio.WebhookEvent{}, true},
		{"person event without id", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{}}`, personio.WebhookEvent{}, true},
		{"bad time", `{"company_id":"1","event_name":"person.updated","occurred_at":"yesterday","payload":{"id":"1"}}`, personio.WebhookEvent{}, true},
		{"bad event name", `{"company_id":"1","event_name":"Person Updated!","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"1"}}`, personio.WebhookEvent{}, true},
		{"id with a path", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"../1"}}`, personio.WebhookEvent{}, true},
		{"fractional id", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":1.5}}`, personio.WebhookEvent{}, true},
		{"duplicate key", `{"company_id":"1","event_name":"person.updated","event_name":"person.deleted","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"1"}}`, personio.WebhookEvent{}, true},
		{"meta not an object", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"1"},"meta":3}`, personio.WebhookEvent{}, true},
		{"too large", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"1"},"meta":{"x":"` + strings.Repeat("a", personio.MaxWebhookBody) + `"}}`, personio.WebhookEvent{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := personio.ParseWebhookEvent([]byte(tc.body))
			if tc.err {
				if !errors.Is(err, personio.ErrBadWebhook) {
					t.Fatalf("err %v, want ErrBadWebhook", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestWebhookEventKey(t *testing.T) {
	a, _ := personio.ParseWebhookEvent([]byte(`{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"1"}}`))
	b, _ := personio.ParseWebhookEvent([]byte(`{"company_id":"1","event_name":"person.updated","occurred_at":"2026-10-01T00:00:05+02:00","payload":{"id":1}}`))
	c, _ := personio.ParseWebhookEvent([]byte(`{"company_id":"1","event_name":"person.updated","occurred_at":"2026-09-30T22:00:06Z","payload":{"id":"1"}}`))
	if a.Key() != b.Key() || a.Key() == c.Key() {
		t.Errorf("keys %q %q %q: the same event must share a key, another time must not", a.Key(), b.Key(), c.Key())
	}
}

func FuzzParseWebhookEvent(f *testing.F) {
	for _, seed := range []string{
		`{"company_id":"12345","event_name":"person.updated","occurred_at":"2024-06-01T10:00:00Z","payload":{"id":"3003"},"meta":{}}`,
		`{"company_id":"12345","event_name":"employment.terminated","occurred_at":"2026-09-30T22:00:05Z","payload":{"id":"778899","person_id":"3003"},"meta":{}}`,
		`{"company_id":1,"event_name":"ping","occurred_at":"2026-09-30T22:00:05Z","payload":{}}`,
		`{"company_id":"1","event_name":"a","event_name":"b"}`,
		`{"payload":{"id":"\u0000"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := personio.ParseWebhookEvent(body)
		if err != nil {
			if !errors.Is(err, personio.ErrBadWebhook) {
				t.Fatalf("error %v does not match ErrBadWebhook", err)
			}
			return
		}
		if ev.CompanyID == "" || ev.Name == "" || ev.OccurredAt.IsZero() {
			t.Fatalf("accepted an envelope without its required members: %+v", ev)
		}
		for _, id := range []string{ev.ResourceID, ev.PersonID} {
			if strings.ContainsAny(id, "/?#\\ \n") {
				t.Fatalf("accepted an id that could escape a path: %q", id)
			}
		}
	})
}

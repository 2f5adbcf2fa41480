package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
	"github.com/personio-scim/personio-scim/store"
)

// targetStack serves the admin API over a memory store with one fake push
// target named "okta".
type targetStack struct {
	t   *testing.T
	url string
	env *pushtest.Env
	sim *fake.Target
	w   *push.Worker
}

func newTargetStack(t *testing.T, cfg push.TargetConfig) *targetStack {
	t.Helper()
	var sim *fake.Target
	h := pushtest.Harness{Type: "fake", Groups: true, Open: func(testing.TB, pushtest.Options) (push.Target, pushtest.Sim) {
		sim = fake.New(fake.Options{})
		return sim, sim
	}}
	e := pushtest.NewEnv(t, h, pushtest.Backends()[0])
	w := e.Worker(false, cfg)
	handler, err := api.NewRouter(api.Options{Store: e.A, Directory: e.DirA, AdminToken: adminToken, SCIMToken: scimToken,
		Targets: push.NewTargets(w), Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &targetStack{t: t, url: srv.URL, env: e, sim: sim, w: w}
}

func (s *targetStack) do(method, path, token string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			s.t.Fatalf("%s %s: not JSON: %s", method, path, body)
		}
	}
	return resp.StatusCode, out
}

func (s *targetStack) step() {
	s.t.Helper()
	if _, err := s.w.Step(context.Background()); err != nil {
		s.t.Fatalf("step: %v", err)
	}
}

var (
	tAda   = pushtest.Person{PersonioID: "1", Given: "Ada", Family: "Lovelace", Department: "Engineering"}
	tGrace = pushtest.Person{PersonioID: "2", Given: "Grace", Family: "Hopper", Department: "Sales"}
)

func TestTargetsNeedTheAdminScope(t *testing.T) {
	s := newTargetStack(t, pushtest.WorkerConfig("okta"))
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {scimToken, 403}, {adminToken, 200}} {
		if code, _ := s.do("GET", "/api/v1/targets", c.token); code != c.want {
			t.Errorf("token %q: %d, want %d", c.token, code, c.want)
		}
	}
}

func TestTargetStatusRecordsAndRelease(t *testing.T) {
	cfg := pushtest.WorkerConfig("okta")
	cfg.QuarantineAfter = 1
	s := newTargetStack(t, cfg)
	s.sim.Reject(tGrace.PersonioID)
	s.env.Create(tAda, tGrace)
	code, list := s.do("GET", "/api/v1/targets", adminToken)
	items, _ := list["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	if lag := items[0].(map[string]any)["lag_rows"].(float64); lag != 2 {
		t.Errorf("before the first pass lag_rows = %v, want 2", lag)
	}
	s.step()
	code, one := s.do("GET", "/api/v1/targets/okta", adminToken)
	target, _ := one["target"].(map[string]any)
	if code != 200 || target["name"] != "okta" || target["live"] != true || target["lag_rows"].(float64) != 0 {
		t.Fatalf("target: %d %v", code, one)
	}
	counts := target["counts"].(map[string]any)
	if counts["synced"].(float64) != 1 || counts["quarantined"].(float64) != 1 {
		t.Errorf("counts %v, want one synced and one quarantined", counts)
	}
	code, recs := s.do("GET", "/api/v1/targets/okta/records?status=quarantined", adminToken)
	ritems, _ := recs["items"].([]any)
	graceID := s.env.IDOf(tGrace.PersonioID)
	if code != 200 || len(ritems) != 1 || ritems[0].(map[string]any)["id"] != graceID {
		t.Fatalf("quarantined records: %d %v", code, recs)
	}
	code, rec := s.do("GET", "/api/v1/targets/okta/records/"+graceID, adminToken)
	reqs, _ := rec["requests"].([]any)
	if code != 200 || rec["status"] != "quarantined" || !strings.Contains(rec["last_error"].(string), "400") || len(reqs) != 0 && reqs[0] == nil {
		t.Fatalf("record: %d %v", code, rec)
	}
	code, rec = s.do("GET", "/api/v1/targets/okta/records/"+s.env.IDOf(tAda.PersonioID), adminToken)
	reqs, _ = rec["requests"].([]any)
	if code != 200 || len(reqs) != 1 || reqs[0].(map[string]any)["method"] != "POST" {
		t.Errorf("a synced record's last request: %d %v", code, rec)
	}
	s.sim.Accept(tGrace.PersonioID)
	if code, rel := s.do("POST", "/api/v1/targets/okta/records/"+graceID+"/release", adminToken); code != 200 || rel["status"] != "failed" || rel["attempts"].(float64) != 0 {
		t.Fatalf("release: %d %v", code, rel)
	}
	s.step()
	if _, ok := s.sim.User(tGrace.PersonioID); !ok {
		t.Errorf("the released record was not pushed")
	}
	if code, _ := s.do("POST", "/api/v1/targets/okta/records/"+graceID+"/release", adminToken); code != 409 {
		t.Errorf("releasing a synced record: %d, want 409", code)
	}
	for _, path := range []string{"/api/v1/targets/nope", "/api/v1/targets/okta/records/nope", "/api/v1/targets/nope/records"} {
		if code, _ := s.do("GET", path, adminToken); code != 404 {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	if code, _ := s.do("GET", "/api/v1/targets/okta/records?status=lost", adminToken); code != 400 {
		t.Errorf("a bad status filter: %d, want 400", code)
	}
}

func TestTargetPreviewPushNowReconcile(t *testing.T) {
	s := newTargetStack(t, pushtest.WorkerConfig("okta"))
	s.env.Create(tAda, tGrace)
	code, prev := s.do("POST", "/api/v1/targets/okta/preview", adminToken)
	items, _ := prev["items"].([]any)
	if code != 200 || len(items) != 2 || s.sim.Writes() != 0 {
		t.Fatalf("preview: %d %v (%d writes)", code, prev, s.sim.Writes())
	}
	adaID := s.env.IDOf(tAda.PersonioID)
	code, prev = s.do("POST", "/api/v1/targets/okta/preview?id="+adaID, adminToken)
	items, _ = prev["items"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != adaID {
		t.Fatalf("preview of one: %d %v", code, prev)
	}
	code, res := s.do("POST", "/api/v1/targets/okta/push/"+adaID, adminToken)
	result, _ := res["result"].(map[string]any)
	if code != 200 || result["outcome"] != "done" || result["targetId"] == "" {
		t.Fatalf("push now: %d %v", code, res)
	}
	if _, ok := s.sim.User(tAda.PersonioID); !ok {
		t.Errorf("push now did not provision")
	}
	if code, _ := s.do("POST", "/api/v1/targets/okta/push/nobody", adminToken); code != 404 {
		t.Errorf("push now of an unknown id: %d, want 404", code)
	}
	s.step()
	s.sim.Tamper(tAda.PersonioID, "Tampered")
	if code, _ := s.do("POST", "/api/v1/targets/okta/reconcile", adminToken); code != 202 {
		t.Fatalf("reconcile: %d", code)
	}
	s.step()
	if u, _ := s.sim.User(tAda.PersonioID); u.DisplayName != "Ada Lovelace" {
		t.Errorf("the reconcile left %q", u.DisplayName)
	}
}

func TestTargetApprove(t *testing.T) {
	cfg := pushtest.WorkerConfig("okta")
	cfg.Guard = push.Guard{MaxPercent: 100, MaxCount: 1}
	s := newTargetStack(t, cfg)
	s.env.Create(tAda, tGrace)
	s.step()
	if code, _ := s.do("POST", "/api/v1/targets/okta/approve", adminToken); code != 409 {
		t.Errorf("approve with nothing held: %d, want 409", code)
	}
	a, g := tAda, tGrace
	a.Inactive, g.Inactive = true, true
	s.env.Update(a, g)
	s.step()
	code, one := s.do("GET", "/api/v1/targets/okta", adminToken)
	hold, _ := one["hold"].(map[string]any)
	if code != 200 || hold == nil || len(hold["items"].([]any)) != 2 || one["target"].(map[string]any)["state"] != "held" {
		t.Fatalf("the hold is not shown: %d %v", code, one)
	}
	code, ap := s.do("POST", "/api/v1/targets/okta/approve", adminToken)
	if code != 200 || ap["approved_by"] != "ADMIN_TOKEN" {
		t.Fatalf("approve: %d %v", code, ap)
	}
	s.step()
	for _, p := range []pushtest.Person{tAda, tGrace} {
		if u, _ := s.sim.User(p.PersonioID); u.Active {
			t.Errorf("%s is still active after approval", p.PersonioID)
		}
	}
	if recs, err := s.w.Records(context.Background(), store.PushQuery{Status: store.PushSynced}); err != nil || len(recs) != 2 {
		t.Errorf("records after approval: %d, %v", len(recs), err)
	}
}

func TestTargetsWithoutAnyConfigured(t *testing.T) {
	e := pushtest.NewEnv(t, fake.Harness(fake.Options{}), pushtest.Backends()[0])
	handler, err := api.NewRouter(api.Options{Store: e.A, Directory: e.DirA, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	s := &targetStack{t: t, url: srv.URL}
	if code, list := s.do("GET", "/api/v1/targets", adminToken); code != 200 || len(list["items"].([]any)) != 0 {
		t.Errorf("no targets: %d %v", code, list)
	}
	if code, _ := s.do("POST", "/api/v1/targets/okta/reconcile", adminToken); code != 404 {
		t.Errorf("an unknown target: %d, want 404", code)
	}
}

func TestTargetMetrics(t *testing.T) {
	s := newTargetStack(t, pushtest.WorkerConfig("okta"))
	s.env.Create(tAda)
	s.step()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`personio_scim_push_items_pushed_total{target="okta"} 1`,
		`personio_scim_push_lag_rows{target="okta"} 0`,
		`personio_scim_push_records{status="synced",target="okta"} 1`,
		`personio_scim_push_last_success_timestamp_seconds{target="okta"}`,
		`personio_scim_push_items_quarantined_total{target="okta"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

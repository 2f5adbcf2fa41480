package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/store"
)

func TestInfo(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	want := push.Info{Type: "entra", MaxBatch: 50, Groups: false, DeleteOnRemoval: false}
	if got := f.tgt.Info(); got != want {
		t.Fatalf("Info() = %+v, want %+v", got, want)
	}
}

func TestPushFromEmptyMatchesAndEnables(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	boss := person(1)
	report := withManager(person(2), boss)
	leaver := person(3)
	leaver.Identity.Active = false
	leaver.Identity.Lifecycle = store.Lifecycle{State: store.StateLeaver, HireDate: "2020-02-01", EndDate: "2026-08-31"}
	items := []push.Item{boss, report, leaver}

	got := f.pushAndConfirm(items...)

	for _, it := range items {
		r := got[it.ID]
		var st struct{ ObjectID string }
		_ = json.Unmarshal(r.State, &st)
		u, _ := f.sim.Tenant(it.Identity.PersonioID)
		if r.Outcome != push.Done || r.TargetID != it.Identity.PersonioID || st.ObjectID != u.ObjectID {
			t.Errorf("%s: outcome %s, target id %q, object id %q, error %q; want done, known by the externalId, with the account's object id in the state",
				it.Identity.PersonioID, r.Outcome, r.TargetID, st.ObjectID, r.Error)
		}
	}
	tests := []struct {
		pid     string
		enabled bool
		manager string
	}{{"1", true, ""}, {"2", true, "1"}, {"3", false, ""}}
	for _, tc := range tests {
		u, ok := f.sim.Tenant(tc.pid)
		if !ok {
			t.Fatalf("%s: not in the tenant", tc.pid)
		}
		if u.AccountEnabled != tc.enabled || u.ManagerEmployeeID != tc.manager {
			t.Errorf("%s: enabled %v manager %q, want %v %q", tc.pid, u.AccountEnabled, u.ManagerEmployeeID, tc.enabled, tc.manager)
		}
		if u.UserPrincipalName != "user"+tc.pid+"@example.com" || u.Department != "Engineering" || u.JobTitle != "Engineer" ||
			u.CompanyName != "Example GmbH" || u.Office != "Berlin" {
			t.Errorf("%s: attributes not mapped: %+v", tc.pid, u)
		}
	}
	if u, _ := f.sim.Tenant("3"); u.HireDate != "2020-02-01T00:00:00Z" || u.LeaveDate != "2026-08-31T00:00:00Z" {
		t.Errorf("leaver dates: hire %q leave %q", u.HireDate, u.LeaveDate)
	}
}

func TestMoverChangesReachTheTenant(t *testing.T) {
	tests := []struct {
		name   string
		change func(it *push.Item, other push.Item)
		check  func(u entrasim.User) bool
	}{
		{"department move", func(it *push.Item, _ push.Item) { it.Identity.Department = "Sales" },
			func(u entrasim.User) bool { return u.Department == "Sales" }},
		{"name change", func(it *push.Item, _ push.Item) {
			it.Identity.FamilyName, it.Identity.DisplayName = "Married", "User Married"
		}, func(u entrasim.User) bool { return u.Surname == "Married" && u.DisplayName == "User Married" }},
		{"manager change", func(it *push.Item, other push.Item) { *it = withManager(*it, other) },
			func(u entrasim.User) bool { return u.ManagerEmployeeID == "2" }},
		{"leaver disabled", func(it *push.Item, _ push.Item) {
			it.Identity.Active = false
			it.Identity.Lifecycle.State, it.Identity.Lifecycle.EndDate = store.StateLeaver, "2026-08-31"
		}, func(u entrasim.User) bool { return !u.AccountEnabled && u.LeaveDate == "2026-08-31T00:00:00Z" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, entrasim.Options{}, nil)
			mgr1, mgr2 := person(1), person(2)
			it := withManager(person(10), mgr1)
			f.pushAndConfirm(mgr1, mgr2, it)
			f.clock.Advance(time.Hour)

			tc.change(&it, mgr2)
			got := f.pushAndConfirm(it)

			if r := got[it.ID]; r.Outcome != push.Done {
				t.Fatalf("outcome %s (%s), want done", r.Outcome, r.Error)
			}
			u, _ := f.sim.Tenant("10")
			if !tc.check(u) {
				t.Fatalf("tenant user after the change: %+v", u)
			}
		})
	}
}

func TestPerRecordFailuresFailOnlyThatPerson(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(f *fixture, items []push.Item)
		wantCode string
	}{
		{"duplicate UPN", func(_ *fixture, items []push.Item) {
			items[2].Identity.UserName = items[1].Identity.UserName
		}, entrasim.CodeDuplicateUPN},
		{"rejected by the directory", func(f *fixture, items []push.Item) { f.sim.Reject(items[2].Identity.PersonioID) }, entrasim.CodeRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, entrasim.Options{}, nil)
			items := []push.Item{person(1), person(2), person(3), person(4)}
			tc.prepare(f, items)

			got := f.pushAndConfirm(items...)

			for i, it := range items {
				r := got[it.ID]
				if i == 2 {
					if r.Outcome != push.Failed || r.Code != tc.wantCode || r.Retryable {
						t.Errorf("failing person: %s %q retryable %v, want failed %s not retryable", r.Outcome, r.Code, r.Retryable, tc.wantCode)
					}
					if !strings.Contains(r.Error, tc.wantCode) || strings.Contains(r.Error, "@example.com") {
						t.Errorf("error %q: want Entra's code and no personal data", r.Error)
					}
					continue
				}
				if r.Outcome != push.Done {
					t.Errorf("person %d: %s (%s), want done", i, r.Outcome, r.Error)
				}
			}
		})
	}
}

func TestUnknownManagerIsResolvedOnALaterPass(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	boss := person(1)
	report := withManager(person(2), boss)

	got := f.pushAndConfirm(report)
	if r := got[report.ID]; r.Outcome != push.Done {
		t.Fatalf("report with an unknown manager: %s (%s), want done (Entra logs a warning)", r.Outcome, r.Error)
	}
	if u, _ := f.sim.Tenant("2"); u.ManagerEmployeeID != "" {
		t.Fatalf("manager set before the manager exists: %q", u.ManagerEmployeeID)
	}

	f.pushAndConfirm(boss)

	if u, _ := f.sim.Tenant("2"); u.ManagerEmployeeID != "1" {
		t.Fatalf("manager after the manager arrived: %q, want 1", u.ManagerEmployeeID)
	}
}

func TestOutOfScopeIsSkipped(t *testing.T) {
	f := setup(t, entrasim.Options{InScope: func(r entrasim.Record) bool { return r.Department != "Contractors" }}, nil)
	in, out := person(1), person(2)
	out.Identity.Department = "Contractors"

	got := f.pushAndConfirm(in, out)

	if got[in.ID].Outcome != push.Done || got[out.ID].Outcome != push.Skipped {
		t.Fatalf("outcomes %s and %s, want done and skipped", got[in.ID].Outcome, got[out.ID].Outcome)
	}
}

func TestUnconfirmedAfterTimeout(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	f.sim.SetJobStatus(entrasim.JobPaused)
	items := []push.Item{person(1)}
	res := f.pushAll(items...)

	early, err := f.tgt.Confirm(context.Background(), records(items, res))
	if err != nil || len(early) != 0 {
		t.Fatalf("before the timeout: %+v, %v; want nothing (still pending)", early, err)
	}
	f.clock.Advance(time.Hour + time.Minute)
	late, err := f.tgt.Confirm(context.Background(), records(items, res))
	if err != nil {
		t.Fatal(err)
	}
	if len(late) != 1 || late[0].Outcome != push.Failed || late[0].Code != "unconfirmed" || !late[0].Retryable {
		t.Fatalf("after the timeout: %+v, want one retryable unconfirmed failure", late)
	}
}

func TestConfirmWithoutUsableState(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	got, err := f.tgt.Confirm(context.Background(), []store.PushRecord{{ResourceID: "x", State: []byte("garbage")}})
	if err != nil || len(got) != 1 || got[0].Code != "unconfirmed" || !got[0].Retryable {
		t.Fatalf("got %+v, %v; want a retryable unconfirmed failure", got, err)
	}
}

func TestAuthentication(t *testing.T) {
	t.Run("expired secret stops the target with a clear error", func(t *testing.T) {
		f := setup(t, entrasim.Options{}, nil)
		f.sim.ExpireSecret()
		_, err := f.tgt.Push(context.Background(), []push.Item{person(1)}, false)
		if !errors.Is(err, entra.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		for _, want := range []string{"AADSTS7000222", "client_secret_env"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
		if strings.Contains(err.Error(), f.sim.Options().ClientSecret) {
			t.Error("error echoes the secret")
		}
		if f.sim.Writes() != 0 {
			t.Error("records were written without a token")
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		g := setup(t, entrasim.Options{}, nil)
		g.tgt = g.openWithSecret("not-the-secret")
		_, err := g.tgt.Push(context.Background(), []push.Item{person(1)}, false)
		if !errors.Is(err, entra.ErrUnauthorized) || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Fatalf("err = %v, want ErrUnauthorized naming AADSTS7000215", err)
		}
	})
	t.Run("revoked token refreshes once", func(t *testing.T) {
		f := setup(t, entrasim.Options{}, nil)
		f.pushAll(person(1))
		f.sim.ExpireTokens()
		if res := f.pushAll(person(2)); res[0].Outcome != push.Pending {
			t.Fatalf("after a revoked token: %s (%s)", res[0].Outcome, res[0].Error)
		}
	})
	t.Run("token expiry by the clock", func(t *testing.T) {
		f := setup(t, entrasim.Options{TokenLifetime: 10 * time.Minute}, nil)
		f.pushAll(person(1))
		f.clock.Advance(11 * time.Minute)
		if res := f.pushAll(person(2)); res[0].Outcome != push.Pending {
			t.Fatalf("after expiry: %s (%s)", res[0].Outcome, res[0].Error)
		}
	})
	t.Run("missing permission", func(t *testing.T) {
		f := setup(t, entrasim.Options{Permissions: []string{entrasim.PermLogs}}, nil)
		_, err := f.tgt.Push(context.Background(), []push.Item{person(1)}, false)
		if !errors.Is(err, entra.ErrUnauthorized) || !strings.Contains(err.Error(), "SynchronizationData-User.Upload") {
			t.Fatalf("err = %v, want ErrUnauthorized naming the permission", err)
		}
	})
	t.Run("logs without permission", func(t *testing.T) {
		f := setup(t, entrasim.Options{Permissions: []string{entrasim.PermUpload}}, nil)
		items := []push.Item{person(1)}
		res := f.pushAll(items...)
		f.sim.Settle()
		_, err := f.tgt.Confirm(context.Background(), records(items, res))
		if !errors.Is(err, entra.ErrUnauthorized) || !strings.Contains(err.Error(), "ProvisioningLog.Read.All") {
			t.Fatalf("err = %v, want ErrUnauthorized naming the log permission", err)
		}
	})
}

func (f *fixture) openWithSecret(secret string) *entra.Target {
	f.t.Helper()
	tgt, err := entra.New(f.config(nil), push.Env{
		Getenv:     func(string) string { return secret },
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Now:        f.clock.Now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return tgt
}

func TestThrottlingStopsTheBatch(t *testing.T) {
	tests := []struct {
		name      string
		daily     int // a daily cap already spent when > 0
		fault     func(*entrasim.Sim)
		wantAfter time.Duration
		wantText  string
	}{
		{"throttled", 0, func(s *entrasim.Sim) { s.Throttle(1, 7*time.Second) }, 7 * time.Second, "429"},
		{"500", 0, func(s *entrasim.Sim) { s.FailNext(http.StatusInternalServerError) }, 30 * time.Second, "500"},
		{"503", 0, func(s *entrasim.Sim) { s.FailNext(http.StatusServiceUnavailable) }, 10 * time.Second, "503"},
		{"bucket full", 0, func(s *entrasim.Sim) { s.SetBucketFull(true) }, 5 * time.Minute, "bucket full"},
		{"daily cap", 1, func(*entrasim.Sim) {}, 24 * time.Hour, "daily budget"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, entrasim.Options{}, nil)
			if tc.daily > 0 {
				f.tgt = f.open(func(c *entra.Config) { c.DailyLimit = tc.daily })
				for n := range tc.daily {
					f.pushAll(person(900 + n))
				}
			}
			before := f.sim.Writes()
			tc.fault(f.sim)
			_, err := f.tgt.Push(context.Background(), []push.Item{person(1), person(2)}, false)
			var te *push.ThrottledError
			if !errors.As(err, &te) || te.RetryAfter > tc.wantAfter || te.RetryAfter < tc.wantAfter-time.Second || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err = %v, want a ThrottledError after %s mentioning %q", err, tc.wantAfter, tc.wantText)
			}
			if f.sim.Writes() != before {
				t.Error("a refused upload reached the tenant")
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	items := []push.Item{person(1), withManager(person(2), person(1))}
	res, err := f.tgt.Push(context.Background(), items, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.sim.Writes() != 0 {
		t.Fatalf("dry run wrote %d records", f.sim.Writes())
	}
	for i, r := range res {
		if len(r.Requests) != 1 || r.Requests[0].Method != http.MethodPost || !strings.HasSuffix(r.Requests[0].URL, "/bulkUpload") {
			t.Fatalf("item %d: requests %+v, want the bulkUpload POST", i, r.Requests)
		}
		var op struct {
			Method, Path string
			Data         map[string]any
		}
		if err := json.Unmarshal(r.Requests[0].Body, &op); err != nil || op.Path != "/Users" || op.Data["externalId"] != items[i].Identity.PersonioID {
			t.Fatalf("item %d: body %s", i, r.Requests[0].Body)
		}
		if strings.Contains(string(r.Requests[0].Body), f.sim.Options().ClientSecret) {
			t.Fatal("request body holds the secret")
		}
	}
	var op struct {
		Data map[string]map[string]any
	}
	_ = json.Unmarshal(res[1].Requests[0].Body, &op)
	ent := op.Data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
	if m, _ := ent["manager"].(map[string]any); m["value"] != "1" {
		t.Fatalf("manager = %v, want the manager's externalId 1", ent["manager"])
	}
}

func TestMappedAttributesGoToTheExtension(t *testing.T) {
	f := setup(t, entrasim.Options{}, func(c *entra.Config) { c.ExtensionURN = "urn:contoso:employee" })
	it := person(1)
	it.Identity.Mapped = map[string]string{"JobCode": "ENG-1", "office": "Remote"}
	res, err := f.tgt.Push(context.Background(), []push.Item{it}, true)
	if err != nil {
		t.Fatal(err)
	}
	var op struct {
		Data map[string]json.RawMessage
	}
	if err := json.Unmarshal(res[0].Requests[0].Body, &op); err != nil {
		t.Fatal(err)
	}
	var ext map[string]string
	_ = json.Unmarshal(op.Data["urn:contoso:employee"], &ext)
	want := map[string]string{"JobCode": "ENG-1", "office": "Remote", "hireDate": "2024-01-15T00:00:00Z", "lifecycleState": "active"}
	for k, v := range want {
		if ext[k] != v {
			t.Errorf("extension %s = %q, want %q", k, ext[k], v)
		}
	}
	if !strings.Contains(string(op.Data["schemas"]), "urn:contoso:employee") {
		t.Errorf("schemas %s do not list the extension", op.Data["schemas"])
	}

	bad := person(2)
	bad.Identity.Mapped = map[string]string{"not valid": "x"}
	res, err = f.tgt.Push(context.Background(), []push.Item{bad}, false)
	if err != nil || res[0].Outcome != push.Failed || res[0].Retryable {
		t.Fatalf("bad mapping key: %+v, %v; want a non-retryable failure", res, err)
	}
}

func TestItemsEntraDoesNotTake(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	gone := person(1)
	gone.Delete = true
	noID := person(2)
	noID.Identity.PersonioID = ""
	group := push.Item{Kind: store.KindGroup, ID: "g1", Group: &push.Group{}}
	res, err := f.tgt.Push(context.Background(), []push.Item{gone, noID, group}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != push.Pending || len(res[0].Requests) != 1 || !strings.Contains(string(res[0].Requests[0].Body), `"active":false`) {
		t.Errorf("identity out of scope: %+v, want its account disabled (bulkUpload deletes nothing)", res[0])
	}
	if !gone.Identity.Active {
		t.Error("disabling changed the caller's identity")
	}
	if res[1].Outcome != push.Failed || res[2].Outcome != push.Failed {
		t.Errorf("no Personio id / group: %s, %s; want failed", res[1].Outcome, res[2].Outcome)
	}
	if f.sim.Writes() != 1 {
		t.Errorf("%d writes, want the one disable", f.sim.Writes())
	}
	nothing := push.Item{Kind: store.KindIdentity, ID: "x", Delete: true}
	res, err = f.tgt.Push(context.Background(), []push.Item{nothing}, false)
	if err != nil || res[0].Outcome != push.Done || len(res[0].Requests) != 0 {
		t.Errorf("removal without a last state: %+v, %v; want done without a request", res, err)
	}
}

func TestLogPagingAndVersions(t *testing.T) {
	for _, version := range []string{"v1.0", "beta"} {
		t.Run(version, func(t *testing.T) {
			f := setup(t, entrasim.Options{MaxLogPage: 7}, func(c *entra.Config) { c.LogPageSize = 20 })
			f.tgt = f.open(func(c *entra.Config) { c.GraphURL = f.srv.URL + "/" + version; c.LogPageSize = 20 })
			var items []push.Item
			for n := 1; n <= 60; n++ {
				items = append(items, person(n))
			}
			items[5].Identity.UserName = items[4].Identity.UserName
			got := f.pushAndConfirm(items...)
			if len(got) != len(items) {
				t.Fatalf("%d outcomes for %d records", len(got), len(items))
			}
			if got[items[5].ID].Code != entrasim.CodeDuplicateUPN {
				t.Fatalf("the duplicate's outcome: %+v", got[items[5].ID])
			}
		})
	}
}

func TestConfirmReadsTheLogOnceForManyPages(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	var items []push.Item
	for n := 1; n <= 120; n++ {
		items = append(items, person(n))
	}
	res := f.pushAll(items...)
	f.sim.Settle()
	recs := records(items, res)

	first, err := f.tgt.Confirm(context.Background(), recs[:60])
	if err != nil || len(first) != 60 {
		t.Fatalf("first page: %d outcomes, %v", len(first), err)
	}
	reads := f.sim.LogReads()
	second, err := f.tgt.Confirm(context.Background(), recs[60:])
	if err != nil || len(second) != 60 {
		t.Fatalf("second page: %d outcomes, %v", len(second), err)
	}
	if f.sim.LogReads() != reads {
		t.Fatalf("the second page read the log again (%d reads, then %d)", reads, f.sim.LogReads())
	}

	// A record uploaded after the read is looked up in the log again.
	f.clock.Advance(time.Minute)
	late := []push.Item{person(500)}
	lateRes := f.pushAll(late...)
	got := f.confirm(late, lateRes)
	if got[late[0].ID].Outcome != push.Done || f.sim.LogReads() == reads {
		t.Fatalf("late record: %+v after %d reads", got[late[0].ID], f.sim.LogReads())
	}
}

func TestDryRunChecksTheCredentials(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	f.sim.ExpireSecret()
	if _, err := f.tgt.Push(context.Background(), []push.Item{person(1)}, true); !errors.Is(err, entra.ErrUnauthorized) {
		t.Fatalf("dry run with an expired secret: %v, want ErrUnauthorized", err)
	}
}

func TestRehireKeepsTheAccount(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	it := person(1)
	f.pushAndConfirm(it)
	before, _ := f.sim.Tenant("1")

	it.Identity.Active = false
	f.pushAndConfirm(it)
	it.Identity.Active = true
	got := f.pushAndConfirm(it)

	after, _ := f.sim.Tenant("1")
	if got[it.ID].Outcome != push.Done || after.ObjectID != before.ObjectID || !after.AccountEnabled || f.sim.Users() != 1 {
		t.Fatalf("after the rehire: %s, object id %s → %s, enabled %v, %d accounts", got[it.ID].Outcome, before.ObjectID, after.ObjectID, after.AccountEnabled, f.sim.Users())
	}
}

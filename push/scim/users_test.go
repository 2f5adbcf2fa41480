package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/store"
)

// The manager is created in the same batch, just before the report: the
// report points at the manager's new id although the worker could not
// resolve it in advance.
func TestCreateSendsCoreAndEnterpriseAttributes(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	res := f.push(t, person("1"), person("2", managedBy("1")))
	wantOutcomes(t, res, push.Done, push.Done)
	u, ok := f.sim.UserByExternalID("2")
	if !ok {
		t.Fatal("user 2 not created")
	}
	want := scimsim.User{
		ID: res[1].TargetID, UserName: "user2@example.test", ExternalID: "2", GivenName: "Given2", FamilyName: "Family2",
		DisplayName: "Given2 Family2", Email: "user2@example.test", Title: "Engineer", Department: "Engineering",
		EmployeeNumber: "2", Active: true, ManagerID: res[0].TargetID, ManagerExternalID: "1", Version: 1,
	}
	if u != want {
		t.Errorf("user\n got %+v\nwant %+v", u, want)
	}
	if got := len(f.requests("POST", "/Users")); got != 2 {
		t.Errorf("%d POSTs, want 2", got)
	}
	if got := len(f.requests("GET", "/Users")); got != 2 {
		t.Errorf("%d searches before the creates, want 2", got)
	}
}

func TestMatchingBeforeCreate(t *testing.T) {
	tests := []struct {
		name     string
		extra    string
		existing func(*scimsim.Sim) string // returns the id that must be adopted, "" for none
		outcome  push.Outcome
		code     string
		users    int
	}{
		{
			name:     "by externalId",
			existing: func(s *scimsim.Sim) string { return s.AddUser("renamed@example.test", "7") },
			outcome:  push.Done, users: 1,
		},
		{
			name:     "by userName, case-insensitive",
			extra:    "match: userName\n",
			existing: func(s *scimsim.Sim) string { return s.AddUser("USER7@Example.Test", "") },
			outcome:  push.Done, users: 1,
		},
		{
			name:     "externalId is case-exact",
			extra:    "match: userName\n",
			existing: func(s *scimsim.Sim) string { s.AddUser("user7@example.test", "7a"); return "" },
			outcome:  push.Failed, code: "uniqueness", users: 1,
		},
		{
			name: "409 on create adopts our own account",
			existing: func(s *scimsim.Sim) string {
				return s.AddUser("user7@example.test", "") // an earlier create whose answer was lost
			},
			outcome: push.Done, users: 1,
		},
		{
			name:     "409 on create never takes over another person's account",
			existing: func(s *scimsim.Sim) string { s.AddUser("user7@example.test", "99"); return "" },
			outcome:  push.Failed, code: "uniqueness", users: 1,
		},
		{
			name:     "no match creates",
			existing: func(s *scimsim.Sim) string { s.AddUser("other@example.test", "8"); return "" },
			outcome:  push.Done, users: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, scimsim.Options{}, tt.extra)
			adopt := tt.existing(f.sim)
			res := f.push(t, person("7"))
			wantOutcomes(t, res, tt.outcome)
			if res[0].Code != tt.code {
				t.Errorf("code %q, want %q (%s)", res[0].Code, tt.code, res[0].Error)
			}
			if adopt != "" && res[0].TargetID != adopt {
				t.Errorf("target id %q, want the existing %q", res[0].TargetID, adopt)
			}
			if got := f.sim.Users(); got != tt.users {
				t.Errorf("%d users, want %d", got, tt.users)
			}
			if tt.outcome == push.Done {
				u, _ := f.sim.UserByID(res[0].TargetID)
				if u.ExternalID != "7" || u.GivenName != "Given7" {
					t.Errorf("user not brought to the desired state: %+v", u)
				}
			}
			if tt.outcome == push.Failed && strings.Contains(res[0].Error, "user7") {
				t.Errorf("error carries personal data: %s", res[0].Error)
			}
		})
	}
}

func TestUpdateMethod(t *testing.T) {
	tests := []struct {
		name      string
		opts      scimsim.Options
		extra     string
		method    string
		spcReads  int
		noContent bool
	}{
		{name: "PATCH when the server supports it", method: "PATCH", spcReads: 1},
		{name: "PUT when it does not", opts: scimsim.Options{NoPatch: true}, method: "PUT", spcReads: 1},
		{name: "PUT when configured", extra: "update: put\n", method: "PUT"},
		{name: "PATCH without discovery", opts: scimsim.Options{NoDiscovery: true}, extra: "discovery: false\n", method: "PATCH"},
		{name: "dialect no_discovery", opts: scimsim.Options{NoDiscovery: true}, extra: "dialect:\n  no_discovery: true\n", method: "PATCH"},
		{name: "PATCH answered 204", opts: scimsim.Options{NoContent: true}, method: "PATCH", spcReads: 1},
		{name: "PUT answered 204", opts: scimsim.Options{NoContent: true, NoPatch: true}, method: "PUT", spcReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, tt.opts, tt.extra)
			f.push(t, person("1"))
			f.push(t, person("1", func(i *push.Identity) { i.Title = "Lead"; i.Department = "Platform" }))
			f.push(t, person("1", func(i *push.Identity) { i.Title = "Principal" }))
			u, _ := f.sim.UserByExternalID("1")
			if u.Title != "Principal" || u.Department != "Engineering" {
				t.Errorf("title %q department %q after updates", u.Title, u.Department)
			}
			if got := len(f.requests(tt.method, "/Users/")); got != 2 {
				t.Errorf("%d %s requests, want 2", got, tt.method)
			}
			if got := len(f.requests("GET", "/ServiceProviderConfig")); got != tt.spcReads {
				t.Errorf("ServiceProviderConfig read %d times, want %d", got, tt.spcReads)
			}
		})
	}
}

func TestClearedAttributeIsRemoved(t *testing.T) {
	for _, update := range []string{"patch", "put"} {
		t.Run(update, func(t *testing.T) {
			f := start(t, scimsim.Options{}, "update: "+update+"\n")
			f.push(t, person("1"))
			f.push(t, person("1", func(i *push.Identity) { i.Title = ""; i.Department = "" }))
			u, _ := f.sim.UserByExternalID("1")
			if u.Title != "" || u.Department != "" {
				t.Errorf("title %q department %q, want both cleared", u.Title, u.Department)
			}
			if u.GivenName != "Given1" {
				t.Errorf("given name lost: %q", u.GivenName)
			}
		})
	}
}

func TestETags(t *testing.T) {
	f := start(t, scimsim.Options{ETags: true}, "")
	res := f.push(t, person("1"))
	f.push(t, person("1", func(i *push.Identity) { i.Title = "Lead" }))
	patches := f.requests("PATCH", "/Users/")
	if len(patches) != 1 || patches[0].IfMatch != `W/"1"` {
		t.Fatalf("PATCH requests %+v, want one with If-Match W/\"1\"", patches)
	}
	// Changed behind our back: the PATCH is refused with 412, the target
	// reads the new version and sends again.
	f.sim.Tamper("1", "Someone Else")
	res = f.push(t, person("1", func(i *push.Identity) { i.Title = "Principal" }))
	wantOutcomes(t, res, push.Done)
	u, _ := f.sim.UserByExternalID("1")
	if u.Title != "Principal" || u.DisplayName != "Given1 Family1" {
		t.Errorf("after a 412: title %q displayName %q", u.Title, u.DisplayName)
	}
	var statuses []int
	for _, r := range f.requests("PATCH", "/Users/") {
		statuses = append(statuses, r.Status)
	}
	if want := []int{200, 412, 200}; !equalInts(statuses, want) {
		t.Errorf("PATCH statuses %v, want %v", statuses, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLeaverIsDeactivatedByPatch(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	f.push(t, person("1"))
	f.push(t, person("1", func(i *push.Identity) { i.Active = false }))
	u, _ := f.sim.UserByExternalID("1")
	if u.Active {
		t.Error("leaver still active")
	}
	if got := len(f.requests("PATCH", "/Users/")); got != 1 {
		t.Errorf("%d PATCHes, want 1", got)
	}
	// Rehire: the same account comes back.
	res := f.push(t, person("1"))
	u, _ = f.sim.UserByExternalID("1")
	if !u.Active || res[0].TargetID != u.ID || f.sim.Users() != 1 {
		t.Errorf("rehire: active %v, target id %q vs %q, %d users", u.Active, res[0].TargetID, u.ID, f.sim.Users())
	}
}

func TestRemoval(t *testing.T) {
	tests := []struct {
		name       string
		extra      string
		deleteInfo bool
		exists     bool
	}{
		{name: "keep (default) deactivates", extra: "", deleteInfo: false, exists: true},
		{name: "delete", extra: "on_remove: delete\n", deleteInfo: true, exists: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, scimsim.Options{}, tt.extra)
			if got := f.target.Info().DeleteOnRemoval; got != tt.deleteInfo {
				t.Errorf("DeleteOnRemoval %v, want %v", got, tt.deleteInfo)
			}
			res := f.push(t, person("1"))
			id := res[0].TargetID
			res = f.push(t, deleted(person("1")))
			wantOutcomes(t, res, push.Done)
			u, ok := f.sim.UserByID(id)
			if ok != tt.exists {
				t.Fatalf("user exists %v, want %v", ok, tt.exists)
			}
			if ok && u.Active {
				t.Error("kept user still active")
			}
			// Removing again is harmless: a 404 means gone.
			res = f.push(t, deleted(person("1")))
			wantOutcomes(t, res, push.Done)
		})
	}
}

func TestDeletedInTargetIsCreatedAgain(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	res := f.push(t, person("1"))
	f.sim.Remove(res[0].TargetID)
	res = f.push(t, person("1", func(i *push.Identity) { i.Title = "Lead" }))
	wantOutcomes(t, res, push.Done)
	u, ok := f.sim.UserByExternalID("1")
	if !ok || u.ID != res[0].TargetID || u.Title != "Lead" {
		t.Errorf("user %+v, result target id %q", u, res[0].TargetID)
	}
}

func TestPostAdoptsDialect(t *testing.T) {
	f := start(t, scimsim.Options{Profile: scimsim.Authentik}, "dialect:\n  post_adopts: true\n")
	existing := f.sim.AddUser("user1@example.test", "")
	res := f.push(t, person("1"), person("2"))
	wantOutcomes(t, res, push.Done, push.Done)
	if res[0].TargetID != existing || f.sim.Users() != 2 {
		t.Errorf("adopted %q, want %q; %d users", res[0].TargetID, existing, f.sim.Users())
	}
	if got := len(f.requests("GET", "/Users")); got != 0 {
		t.Errorf("%d searches, want none: POST is the match", got)
	}
}

func TestZitadelProfile(t *testing.T) {
	f := start(t, scimsim.Options{Profile: scimsim.Zitadel}, "dialect:\n  users_only: true\n  no_discovery: true\n  core_only: true\n")
	if f.target.Info().Groups {
		t.Error("Info().Groups true for a users-only server")
	}
	res := f.push(t, person("1"), group("Engineering", "1"))
	wantOutcomes(t, res, push.Done, push.Skipped)
	if got := len(f.requests("GET", "/Groups")) + len(f.requests("POST", "/Groups")); got != 0 {
		t.Errorf("%d requests to /Groups", got)
	}
	u, _ := f.sim.UserByExternalID("1")
	if u.Department != "" {
		t.Errorf("enterprise extension sent to a core-only server: %+v", u)
	}
	// Zitadel needs names and an email.
	res = f.push(t, person("2", func(i *push.Identity) { i.FamilyName = "" }))
	wantOutcomes(t, res, push.Failed)
	if res[0].Retryable || res[0].Code != "invalidValue" {
		t.Errorf("missing family name: retryable %v code %q", res[0].Retryable, res[0].Code)
	}
}

func TestFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name       string
		fault      func(*scimsim.Sim)
		outcomes   []push.Outcome
		retryable  []bool
		retryAfter time.Duration
	}{
		{
			name:      "one bad record does not sink the batch",
			fault:     func(s *scimsim.Sim) { s.Reject("2") },
			outcomes:  []push.Outcome{push.Done, push.Failed, push.Done},
			retryable: []bool{false, false, false},
		},
		{
			name:       "throttling stops the batch, everything retryable",
			fault:      func(s *scimsim.Sim) { s.Throttle(1, 7*time.Second) },
			outcomes:   []push.Outcome{push.Failed, push.Failed, push.Failed},
			retryable:  []bool{true, true, true},
			retryAfter: 7 * time.Second,
		},
		{
			name:      "a server error fails one item, retryable",
			fault:     func(s *scimsim.Sim) { s.Fail(1, 503) },
			outcomes:  []push.Outcome{push.Failed, push.Done, push.Done},
			retryable: []bool{true, false, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One at a time, so that the fault hits the first item.
			f := start(t, scimsim.Options{}, "discovery: false\nconcurrency: 1\n")
			tt.fault(f.sim)
			res := f.push(t, person("1"), person("2"), person("3"))
			wantOutcomes(t, res, tt.outcomes...)
			for i, r := range res {
				if r.Retryable != tt.retryable[i] {
					t.Errorf("item %d retryable %v, want %v (%s)", i, r.Retryable, tt.retryable[i], r.Error)
				}
				if r.Outcome == push.Failed && r.Retryable && r.RetryAfter != tt.retryAfter {
					t.Errorf("item %d RetryAfter %v, want %v", i, r.RetryAfter, tt.retryAfter)
				}
				if strings.Contains(r.Error, "example.test") || strings.Contains(r.Error, "Given") {
					t.Errorf("error carries personal data: %s", r.Error)
				}
			}
			// Once the fault is gone, everything goes through, without duplicates.
			f.sim.Accept("2")
			res = f.push(t, person("1"), person("2"), person("3"))
			wantOutcomes(t, res, push.Done, push.Done, push.Done)
			if f.sim.Users() != 3 {
				t.Errorf("%d users, want 3", f.sim.Users())
			}
		})
	}
}

func TestRejectedRecordCarriesTheServersCode(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	f.sim.Reject("1")
	res := f.push(t, person("1"))
	if res[0].Code != "invalidValue" || !strings.Contains(res[0].Error, "HTTP 400") {
		t.Errorf("code %q error %q", res[0].Code, res[0].Error)
	}
	if len(res[0].Requests) != 1 || res[0].Requests[0].Status != 400 {
		t.Errorf("requests %+v, want the refused POST", res[0].Requests)
	}
}

func TestDryRunSendsNoWrite(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	existing := f.sim.AddUser("user1@example.test", "1")
	writes := f.sim.Writes()
	items := []push.Item{person("1"), person("2"), group("Engineering", "1", "2")}
	res, err := f.pushErr(items, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.sim.Writes() != writes {
		t.Fatalf("a dry run wrote %d times", f.sim.Writes()-writes)
	}
	want := []struct{ method, path string }{
		{"PATCH", "/Users/" + existing},
		{"POST", "/Users"},
		{"POST", "/Groups"},
	}
	for i, w := range want {
		if len(res[i].Requests) != 1 {
			t.Fatalf("item %d: requests %+v", i, res[i].Requests)
		}
		r := res[i].Requests[0]
		if r.Method != w.method || !strings.HasSuffix(r.URL, w.path) || len(r.Body) == 0 || r.Status != 0 {
			t.Errorf("item %d: %s %s (%d bytes, status %d), want %s …%s", i, r.Method, r.URL, len(r.Body), r.Status, w.method, w.path)
		}
		if strings.Contains(string(r.Body), testToken) {
			t.Errorf("item %d: the token is in the request body", i)
		}
	}
	if res[0].TargetID != existing {
		t.Errorf("dry run matched %q, want %q", res[0].TargetID, existing)
	}
}

func TestMappedAttributesOverrideAndAdd(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	f.push(t, person("1", func(i *push.Identity) {
		i.Mapped = map[string]string{
			"title": "Staff Engineer",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Platform",
			"name.givenName": "Nick",
		}
	}))
	u, _ := f.sim.UserByExternalID("1")
	if u.Title != "Staff Engineer" || u.Department != "Platform" || u.GivenName != "Nick" || u.FamilyName != "Family1" {
		t.Errorf("user %+v", u)
	}
}

func TestRemovalOfAUserGoneFromTheTarget(t *testing.T) {
	for _, extra := range []string{"", "on_remove: delete\n"} {
		t.Run("on_remove "+extra, func(t *testing.T) {
			f := start(t, scimsim.Options{}, extra)
			res := f.push(t, person("1"))
			f.sim.Remove(res[0].TargetID)
			res = f.push(t, deleted(person("1")))
			wantOutcomes(t, res, push.Done)
			if f.sim.Users() != 0 {
				t.Errorf("a removal brought the user back: %d users", f.sim.Users())
			}
		})
	}
}

// A 404 from a wrong URL is not taken for "already gone".
func TestRemovalAgainstAWrongURLFailsTheBatch(t *testing.T) {
	f := start(t, scimsim.Options{BasePath: "/scim/v2"}, "on_remove: delete\n")
	res := f.push(t, person("1"))
	f = reopen(t, f, f.srv.URL+"/wrong", "on_remove: delete\ndiscovery: false\n")
	items := []push.Item{deleted(person("1"))}
	items[0].Previous.TargetID = res[0].TargetID
	if _, err := f.pushErr(items, false); err == nil || !strings.Contains(err.Error(), "check base_url") {
		t.Fatalf("error %v, want a wrong-URL batch error", err)
	}
	if f.sim.Users() != 1 {
		t.Error("the user is gone")
	}
}

// Keycloak without an externalId mapping drops the Personio id; the target
// still never duplicates a user, even when its ledger is lost.
func TestKeycloakWithoutExternalIDMapping(t *testing.T) {
	for _, match := range []string{"externalId", "userName"} {
		t.Run(match, func(t *testing.T) {
			f := start(t, scimsim.Options{Profile: scimsim.Keycloak, ExternalIDUnmapped: true}, "match: "+match+"\n")
			first := f.push(t, person("1"))
			f.ledger = map[string]store.PushRecord{} // a restored backup, a new database
			again := f.push(t, person("1", func(i *push.Identity) { i.Title = "Lead" }))
			wantOutcomes(t, again, push.Done)
			if f.sim.Users() != 1 || again[0].TargetID != first[0].TargetID {
				t.Errorf("%d users; target id %q then %q", f.sim.Users(), first[0].TargetID, again[0].TargetID)
			}
			if u, _ := f.sim.UserByID(first[0].TargetID); u.Title != "Lead" {
				t.Errorf("title %q", u.Title)
			}
		})
	}
}

// Many items at once: reports still point at managers created in the same
// batch, and groups at members created in it.
func TestConcurrentBatchKeepsReferences(t *testing.T) {
	f := start(t, scimsim.Options{}, "concurrency: 8\nmax_batch: 200\n")
	var items []push.Item
	all := pids(60)
	for i, pid := range all {
		if i == 0 {
			items = append(items, person(pid))
			continue
		}
		items = append(items, person(pid, managedBy(all[(i-1)/3])))
	}
	items = append(items, group("Everyone", all...), group("Leads", all[:5]...))
	res := f.push(t, items...)
	for i, r := range res {
		if r.Outcome != push.Done {
			t.Fatalf("item %d: %s %s", i, r.Outcome, r.Error)
		}
	}
	for i, pid := range all[1:] {
		u, _ := f.sim.UserByExternalID(pid)
		if want := all[i/3]; u.ManagerExternalID != want {
			t.Errorf("%s: manager %q, want %q", pid, u.ManagerExternalID, want)
		}
	}
	if got := members(t, f.sim, "Everyone"); len(got) != len(all) {
		t.Errorf("Everyone has %d members, want %d", len(got), len(all))
	}
	if f.sim.Users() != len(all) {
		t.Errorf("%d users", f.sim.Users())
	}
}

// The search carries spaces as %20 and a plus in a userName as %2B.
func TestSearchEncoding(t *testing.T) {
	f := start(t, scimsim.Options{}, "match: userName\n")
	f.push(t, person("1", func(i *push.Identity) { i.UserName = "a+b@example.test" }))
	gets := f.requests("GET", "/Users")
	if len(gets) != 1 || gets[0].Query != "filter=userName%20eq%20%22a%2Bb%40example.test%22" {
		t.Fatalf("search %+v", gets)
	}
	// And it finds the account again.
	f.ledger = map[string]store.PushRecord{}
	f.push(t, person("1", func(i *push.Identity) { i.UserName = "a+b@example.test" }))
	if f.sim.Users() != 1 {
		t.Errorf("%d users", f.sim.Users())
	}
}

// A server that refuses to remove an attribute it no longer has (400
// noTarget) gets the update without removals.
func TestRemoveOfAnAbsentAttribute(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	f.push(t, person("1"))
	strict := func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if r.Method != http.MethodPatch || !strings.Contains(string(body), `"op":"remove"`) {
			return false
		}
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"noTarget"}`)
		return true
	}
	f.intercept.Store(&strict)
	res := f.push(t, person("1", func(i *push.Identity) { i.Title = ""; i.Department = "Platform" }))
	wantOutcomes(t, res, push.Done)
	if u, _ := f.sim.UserByExternalID("1"); u.Department != "Platform" {
		t.Errorf("department %q", u.Department)
	}
}

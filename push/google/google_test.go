package google_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/google"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/store"
)

const groupsSection = "create_org_units: true\ngroups: [department, office]\ngroup_email: '{{slug .DisplayName}}@example.com'\n"

func TestJoinerGetsAnAccount(t *testing.T) {
	f := newFixture(t, setup{section: groupsSection})
	grace := person{pid: "7", given: "Grace", family: "Hopper", email: "grace.hopper@example.com", active: true}
	res := f.push(grace.item(store.PushRecord{}))
	mustDone(t, res[0])
	p := ada()
	p.manager = &push.Ref{ID: "id-7", PersonioID: "7", Email: grace.email, TargetID: res[0].TargetID}
	p.mapped = map[string]string{"orgUnitPath": "/Berlin/Engineering"}
	res = f.push(p.item(store.PushRecord{}))
	mustDone(t, res[0])

	u := f.user("1042")
	want := googlesim.User{
		ID: res[0].TargetID, PrimaryEmail: "ada.lovelace@example.com", GivenName: "Ada", FamilyName: "Lovelace",
		DisplayName: "Ada Lovelace", Title: "Engineer", Department: "Engineering", CostCenter: "CC-10",
		OrgUnitPath: "/Berlin/Engineering", ManagerEmail: grace.email, ManagerPersonioID: "7", PersonioID: "1042",
	}
	u.ETag, u.Aliases = "", nil
	if !reflect.DeepEqual(u, want) {
		t.Errorf("user\n got %+v\nwant %+v", u, want)
	}
	if ous := f.sim.OrgUnits(); !slices.Equal(ous, []string{"/", "/Berlin", "/Berlin/Engineering"}) {
		t.Errorf("OUs %v, want the mapping's path and its parent created", ous)
	}
	insert := findRequest(t, res[0].Requests, http.MethodPost, "/admin/directory/v1/users")
	var body map[string]any
	if err := json.Unmarshal(insert.Body, &body); err != nil {
		t.Fatalf("insert body: %v", err)
	}
	if body["password"] != "[not shown]" || body["changePasswordAtNextLogin"] != true {
		t.Errorf("insert shows password %v, changePasswordAtNextLogin %v; want it hidden and true", body["password"], body["changePasswordAtNextLogin"])
	}
	if insert.Status != http.StatusOK || len(insert.Answer) == 0 {
		t.Errorf("insert recorded status %d and %d answer bytes", insert.Status, len(insert.Answer))
	}
}

func findRequest(t *testing.T, reqs []push.Request, method, pathSuffix string) push.Request {
	t.Helper()
	for _, r := range reqs {
		if r.Method == method && strings.HasSuffix(strings.SplitN(r.URL, "?", 2)[0], pathSuffix) {
			return r
		}
	}
	t.Fatalf("no %s …%s among %d requests", method, pathSuffix, len(reqs))
	return push.Request{}
}

func TestPasswordNoneAsksNoChange(t *testing.T) {
	f := newFixture(t, setup{section: "password: none\n"})
	res := f.push(ada().item(store.PushRecord{}))
	mustDone(t, res[0])
	body := findRequest(t, res[0].Requests, http.MethodPost, "/users").Body
	if bytes.Contains(body, []byte("changePasswordAtNextLogin")) {
		t.Errorf("password none asked for a change at next login: %s", body)
	}
}

func TestMatchingBeforeInsert(t *testing.T) {
	tests := []struct {
		name   string
		seed   func(*googlesim.Sim) string // returns the existing user's id
		wantOK bool
	}{
		{"by Personio id under another address", func(s *googlesim.Sim) string {
			return s.AddUser("ada@example.com", "Ada", "L", "1042")
		}, true},
		{"by primary email without a Personio id", func(s *googlesim.Sim) string {
			return s.AddUser("ada.lovelace@example.com", "Ada", "Lovelace", "")
		}, true},
		{"an address held by another Personio id is refused", func(s *googlesim.Sim) string {
			return s.AddUser("ada.lovelace@example.com", "Ada", "Lovelace", "999")
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, setup{})
			id := tc.seed(f.sim)
			res := f.push(ada().item(store.PushRecord{}))
			if f.sim.UserCount() != 1 {
				t.Fatalf("%d users, want the existing one only", f.sim.UserCount())
			}
			if !tc.wantOK {
				if res[0].Outcome != push.Failed || res[0].Retryable || res[0].Code != "duplicate" {
					t.Fatalf("result %+v, want a permanent duplicate failure", res[0])
				}
				return
			}
			mustDone(t, res[0])
			if res[0].TargetID != id {
				t.Errorf("target id %s, want the existing user's %s", res[0].TargetID, id)
			}
			if u := f.user("1042"); u.Department != "Engineering" {
				t.Errorf("adopted user not updated: %+v", u)
			}
		})
	}
}

// A user created after the listing the target matched against makes the
// insert answer 409; the target looks the address up and adopts it.
func TestConflictOnInsertLeadsToLookup(t *testing.T) {
	f := newFixture(t, setup{})
	var batch []push.Item
	for i := range 60 {
		p := person{pid: "p" + itoa(i), given: "Given", family: "Family", email: "user" + itoa(i) + "@example.com", active: true}
		batch = append(batch, p.item(store.PushRecord{}))
	}
	for _, r := range f.push(batch...) {
		mustDone(t, r)
	}
	id := f.sim.AddUser("ada.lovelace@example.com", "Ada", "Lovelace", "")
	res := f.push(ada().item(store.PushRecord{}))
	mustDone(t, res[0])
	if res[0].TargetID != id || f.sim.UserCount() != 61 {
		t.Fatalf("target id %s (want %s), %d users (want 61): a 409 must lead to the existing user", res[0].TargetID, id, f.sim.UserCount())
	}
	findRequest(t, res[0].Requests, http.MethodPost, "/users")
}

func itoa(i int) string { return strconv.Itoa(i) }

func httptestServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestMoverChangesOUAndGroups(t *testing.T) {
	f := newFixture(t, setup{section: groupsSection})
	p := ada()
	p.mapped = map[string]string{"orgUnitPath": "/Berlin"}
	u := f.push(p.item(store.PushRecord{}))[0]
	mustDone(t, u)
	berlin := groupItem("g-berlin", "office", "Berlin", []push.Ref{ref(p, u.TargetID)}, store.PushRecord{})
	munich := groupItem("g-munich", "office", "München", nil, store.PushRecord{})
	gs := f.push(berlin, munich)
	mustDone(t, gs[0])
	mustDone(t, gs[1])

	p.mapped = map[string]string{"orgUnitPath": "/Munich"}
	moved := f.push(p.item(record(u)))[0]
	mustDone(t, moved)
	berlin = groupItem("g-berlin", "office", "Berlin", nil, record(gs[0]))
	munich = groupItem("g-munich", "office", "München", []push.Ref{ref(p, u.TargetID)}, record(gs[1]))
	gs = f.push(berlin, munich)
	mustDone(t, gs[0])
	mustDone(t, gs[1])

	if got := f.user("1042").OrgUnitPath; got != "/Munich" {
		t.Errorf("OU %s, want /Munich", got)
	}
	if g, _ := f.sim.GroupByKey("berlin@example.com"); len(g.Members) != 0 {
		t.Errorf("Berlin members %v, want none", g.Members)
	}
	if g, _ := f.sim.GroupByKey("muenchen@example.com"); !slices.Equal(g.MemberPersonioIDs, []string{"1042"}) {
		t.Errorf("München group %+v, want Ada as its member", g)
	}
	if moved.TargetID != u.TargetID {
		t.Errorf("target id changed from %s to %s", u.TargetID, moved.TargetID)
	}
}

func TestNameChangeKeepsPrimaryEmail(t *testing.T) {
	f := newFixture(t, setup{})
	p := ada()
	first := f.push(p.item(store.PushRecord{}))[0]
	mustDone(t, first)
	p.family, p.email = "King", "ada.king@example.com"
	res := f.push(p.item(record(first)))[0]
	mustDone(t, res)
	u := f.user("1042")
	if u.FamilyName != "King" || u.PrimaryEmail != "ada.lovelace@example.com" {
		t.Errorf("user %s %s <%s>, want the new name under the old address", u.GivenName, u.FamilyName, u.PrimaryEmail)
	}
	update := findRequest(t, res.Requests, http.MethodPut, "/users/"+first.TargetID)
	var body map[string]any
	_ = json.Unmarshal(update.Body, &body)
	if _, ok := body["primaryEmail"]; ok || body["name"] == nil {
		t.Errorf("update body %s, want the name and no primaryEmail", update.Body)
	}
	if _, ok := body["orgUnitPath"]; ok {
		t.Errorf("update body %s sends an unchanged field", update.Body)
	}
}

func TestMappedPrimaryEmailChangeKeepsAlias(t *testing.T) {
	f := newFixture(t, setup{})
	p := ada()
	p.mapped = map[string]string{"primaryEmail": "ada.lovelace@example.com"}
	first := f.push(p.item(store.PushRecord{}))[0]
	mustDone(t, first)
	p.family = "King"
	p.mapped = map[string]string{"primaryEmail": "ada.king@example.com"}
	res := f.push(p.item(record(first)))[0]
	mustDone(t, res)
	u := f.user("1042")
	if u.PrimaryEmail != "ada.king@example.com" || !slices.Contains(u.Aliases, "ada.lovelace@example.com") {
		t.Errorf("user <%s> aliases %v, want the new address with the old one as alias", u.PrimaryEmail, u.Aliases)
	}
	if u.ID != first.TargetID {
		t.Errorf("id changed from %s to %s", first.TargetID, u.ID)
	}
	// The same state again sends nothing.
	before := f.sim.Writes()
	again := f.push(p.item(record(res)))[0]
	mustDone(t, again)
	if f.sim.Writes() != before || len(again.Requests) != 0 {
		t.Errorf("an unchanged user sent %d writes", f.sim.Writes()-before)
	}
}

func TestLeaverSuspendedRehireUnsuspended(t *testing.T) {
	f := newFixture(t, setup{})
	p := ada()
	first := f.push(p.item(store.PushRecord{}))[0]
	mustDone(t, first)
	p.active = false
	left := f.push(p.item(record(first)))[0]
	mustDone(t, left)
	if !f.user("1042").Suspended {
		t.Fatal("leaver not suspended")
	}
	p.active = true
	back := f.push(p.item(record(left)))[0]
	mustDone(t, back)
	u := f.user("1042")
	if u.Suspended || u.ID != first.TargetID || back.TargetID != first.TargetID {
		t.Errorf("rehire: suspended %v, id %s / %s, want active with the first id %s", u.Suspended, u.ID, back.TargetID, first.TargetID)
	}
	body := findRequest(t, back.Requests, http.MethodPut, "/users/"+first.TargetID).Body
	if !bytes.Contains(body, []byte(`"suspended":false`)) {
		t.Errorf("unsuspend body %s, want suspended false sent explicitly", body)
	}
}

func TestRemoval(t *testing.T) {
	for _, mode := range []string{"keep", "delete"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, setup{section: "on_remove: " + mode + "\n"})
			if got := f.target.Info().DeleteOnRemoval; got != (mode == "delete") {
				t.Errorf("Info.DeleteOnRemoval %v", got)
			}
			p := ada()
			first := f.push(p.item(store.PushRecord{}))[0]
			it := p.item(record(first))
			it.Delete = true
			mustDone(t, f.push(it)[0])
			u, ok := f.sim.UserByPersonioID("1042")
			if mode == "delete" && ok {
				t.Errorf("user still there: %+v", u)
			}
			if mode == "keep" && (!ok || !u.Suspended) {
				t.Errorf("kept user %+v (found %v), want it suspended", u, ok)
			}
		})
	}
}

func TestRejectedRecordFailsAlone(t *testing.T) {
	f := newFixture(t, setup{})
	f.sim.Reject("1042")
	other := person{pid: "7", given: "Grace", family: "Hopper", email: "grace@example.com", active: true}
	res := f.push(ada().item(store.PushRecord{}), other.item(store.PushRecord{}))
	if res[0].Outcome != push.Failed || res[0].Retryable || !strings.HasPrefix(res[0].Error, "400") {
		t.Errorf("rejected record: %+v, want a permanent 400 failure", res[0])
	}
	mustDone(t, res[1])
	if strings.Contains(res[0].Error, "@") {
		t.Errorf("error %q carries an address", res[0].Error)
	}
}

func TestUnknownOUWithoutCreateIsADataError(t *testing.T) {
	f := newFixture(t, setup{})
	p := ada()
	p.mapped = map[string]string{"orgUnitPath": "/Nowhere"}
	res := f.push(p.item(store.PushRecord{}))[0]
	if res.Outcome != push.Failed || res.Retryable || !strings.Contains(res.Error, "INVALID_OU_ID") {
		t.Errorf("result %+v, want a permanent 400 INVALID_OU_ID", res)
	}
}

func TestDryRunSendsNoWrite(t *testing.T) {
	f := newFixture(t, setup{section: groupsSection})
	p := ada()
	p.mapped = map[string]string{"orgUnitPath": "/Berlin"}
	items := []push.Item{
		p.item(store.PushRecord{}),
		groupItem("g-eng", "department", "Engineering", []push.Ref{ref(p, "")}, store.PushRecord{}),
	}
	res, err := f.target.Push(context.Background(), items, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.sim.Writes() != 0 || f.sim.UserCount() != 0 {
		t.Fatalf("dry run wrote %d times", f.sim.Writes())
	}
	var got []string
	for _, r := range res {
		for _, q := range r.Requests {
			got = append(got, q.Method+" "+strings.TrimPrefix(q.URL, f.srv.URL))
			if bytes.Contains(q.Body, []byte(`"password":"`)) && !bytes.Contains(q.Body, []byte(`[not shown]`)) {
				t.Errorf("dry run shows a password: %s", q.Body)
			}
		}
	}
	want := []string{
		"POST /admin/directory/v1/customer/my_customer/orgunits?alt=json&prettyPrint=false",
		"POST /admin/directory/v1/users?alt=json&prettyPrint=false",
		"POST /admin/directory/v1/groups?alt=json&prettyPrint=false",
		"POST /admin/directory/v1/groups/engineering%40example.com/members?alt=json&prettyPrint=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("dry-run requests\n got %q\nwant %q", got, want)
	}
}

func TestGroupMembershipIsKeptInStep(t *testing.T) {
	f := newFixture(t, setup{section: groupsSection})
	a, g := ada(), person{pid: "7", given: "Grace", family: "Hopper", email: "grace@example.com", active: true}
	ra, rg := f.push(a.item(store.PushRecord{}))[0], f.push(g.item(store.PushRecord{}))[0]
	// Someone adds a member by hand; the target must leave them.
	res := f.push(groupItem("g-eng", "department", "Engineering", []push.Ref{ref(a, ra.TargetID)}, store.PushRecord{}))[0]
	mustDone(t, res)
	f.sim.AddUser("manual@example.com", "Man", "Ual", "")
	gid := res.TargetID
	if !f.sim.AddMember(gid, "manual@example.com") {
		t.Fatal("adding a member by hand failed")
	}

	steps := []struct {
		members []push.Ref
		want    []string
	}{
		{[]push.Ref{ref(a, ra.TargetID), ref(g, rg.TargetID)}, []string{"ada.lovelace@example.com", "grace@example.com", "manual@example.com"}},
		{[]push.Ref{ref(g, rg.TargetID)}, []string{"grace@example.com", "manual@example.com"}},
		{nil, []string{"manual@example.com"}},
	}
	for i, s := range steps {
		res = f.push(groupItem("g-eng", "department", "Engineering", s.members, record(res)))[0]
		mustDone(t, res)
		grp, _ := f.sim.GroupByKey(gid)
		if !slices.Equal(grp.Members, s.want) {
			t.Errorf("step %d: members %v, want %v", i, grp.Members, s.want)
		}
	}
	// A renamed group keeps its id and gets the new address.
	res = f.push(groupItem("g-eng", "department", "R&D", nil, record(res)))[0]
	mustDone(t, res)
	grp, _ := f.sim.GroupByKey(gid)
	if grp.Email != "r-d@example.com" || grp.Name != "R&D" || res.TargetID != gid {
		t.Errorf("renamed group %+v (result id %s)", grp, res.TargetID)
	}
}

func TestGroupKindsNotConfiguredAreSkipped(t *testing.T) {
	f := newFixture(t, setup{section: groupsSection})
	res := f.push(groupItem("g-team", "team", "Platform", nil, store.PushRecord{}))[0]
	if res.Outcome != push.Skipped || f.sim.GroupCount() != 0 {
		t.Errorf("team group: %+v, %d groups; want skipped", res, f.sim.GroupCount())
	}
	plain := newFixture(t, setup{})
	if plain.target.Info().Groups {
		t.Error("a target without groups says it holds groups")
	}
}

func TestNewUserNotYetAddableIsRetryable(t *testing.T) {
	f := newFixture(t, setup{section: groupsSection, sim: googlesim.Options{CreationDelay: 30 * time.Second, GroupDelay: 5 * time.Second}})
	p := ada()
	u := f.push(p.item(store.PushRecord{}))[0]
	mustDone(t, u)
	g := f.push(groupItem("g-eng", "department", "Engineering", []push.Ref{ref(p, u.TargetID)}, store.PushRecord{}))[0]
	if g.Outcome != push.Failed || !g.Retryable || g.RetryAfter <= 0 {
		t.Fatalf("member add right after creation: %+v, want retryable", g)
	}
	f.clock.Advance(6 * time.Second)
	g = f.push(groupItem("g-eng", "department", "Engineering", []push.Ref{ref(p, u.TargetID)}, record(g)))[0]
	if g.Outcome != push.Failed || !g.Retryable || g.Code != "conditionNotMet" {
		t.Fatalf("member add while the user is incomplete: %+v, want retryable 412", g)
	}
	f.clock.Advance(30 * time.Second)
	g = f.push(groupItem("g-eng", "department", "Engineering", []push.Ref{ref(p, u.TargetID)}, record(g)))[0]
	mustDone(t, g)
	if grp, _ := f.sim.GroupByKey("engineering@example.com"); len(grp.Members) != 1 || f.sim.GroupCount() != 1 {
		t.Errorf("group %+v after settling, %d groups", grp, f.sim.GroupCount())
	}
}

// A storm: a quota of 15 requests a minute for 40 joiners, plus injected
// 403 and 429 answers. The push takes many rounds (each after the longest
// wait asked for), and every failure on the way is retryable.
func TestRateLimitStormSlowsButRejectsNobody(t *testing.T) {
	f := newFixture(t, setup{sim: googlesim.Options{PerMinute: 15}})
	var people []person
	for i := range 40 {
		people = append(people, person{pid: "s" + itoa(i+1), given: "Storm", family: "Person", email: "storm" + itoa(i+1) + "@example.com", active: true})
	}
	prev := map[string]store.PushRecord{}
	done := map[string]bool{}
	rounds, batchFailures := 0, 0
	for ; len(done) < len(people); rounds++ {
		if rounds > 100 {
			t.Fatalf("still %d of %d undelivered after 100 rounds", len(people)-len(done), len(people))
		}
		switch rounds % 4 {
		case 1:
			f.sim.Throttle(1, 2*time.Second)
		case 2:
			f.sim.Fail(1, http.StatusTooManyRequests, "rateLimitExceeded", "Rate Limit Exceeded", 0)
		case 3:
			f.sim.Fail(1, http.StatusForbidden, "quotaExceeded", "Quota exceeded", 0)
		}
		var items []push.Item
		for _, p := range people {
			if !done[p.pid] {
				items = append(items, p.item(prev[p.pid]))
			}
		}
		wait := time.Duration(0)
		res, err := f.target.Push(context.Background(), items, false)
		if err != nil {
			// Throttled before anything was done: the batch fails, no
			// record's attempts grow, the target waits.
			batchFailures++
			f.clock.Advance(2 * time.Minute) // past the longest back-off
			continue
		}
		for i, r := range res {
			pid := items[i].Identity.PersonioID
			switch {
			case r.Outcome == push.Done:
				done[pid] = true
			case r.Outcome == push.Failed && r.Retryable && r.RetryAfter > 0:
				prev[pid] = store.PushRecord{TargetID: r.TargetID, State: r.State, Attempts: prev[pid].Attempts + 1}
				wait = max(wait, r.RetryAfter)
			default:
				t.Fatalf("round %d: %s: %+v, want done or retryable", rounds, pid, r)
			}
		}
		f.clock.Advance(max(wait, time.Minute))
	}
	if f.sim.UserCount() != len(people) {
		t.Errorf("%d users, want %d (no duplicates)", f.sim.UserCount(), len(people))
	}
	if rounds < 5 {
		t.Errorf("%d rounds: the quota did not slow the push", rounds)
	}
	most := 0
	for _, r := range prev {
		most = max(most, r.Attempts)
	}
	t.Logf("%d rounds, %d failed as a whole; the most failed attempts of one record: %d", rounds, batchFailures, most)
}

func TestDelegationProblemsFailTheBatch(t *testing.T) {
	tests := []struct {
		name string
		opt  googlesim.Options
		want string
	}{
		{"subject not delegated", googlesim.Options{Admins: []string{"other@example.com"}}, "unauthorized_client"},
		{"scope not delegated", googlesim.Options{DelegatedScopes: []string{googlesim.ScopeGroup}}, "unauthorized_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, setup{sim: tc.opt})
			_, err := f.target.Push(context.Background(), []push.Item{ada().item(store.PushRecord{})}, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
			if f.sim.Writes() != 0 {
				t.Error("writes despite a refused token")
			}
		})
	}
}

// A token the API refuses (here: expired on the simulator's clock while
// the client still trusts it) is replaced and the request sent again; a
// token refused even when fresh fails the batch.
func TestRefusedTokenIsRenewed(t *testing.T) {
	f := newFixture(t, setup{sim: googlesim.Options{TokenLifetime: time.Minute}})
	mustDone(t, f.push(ada().item(store.PushRecord{}))[0])
	f.clock.Advance(2 * time.Minute)
	other := person{pid: "7", given: "Grace", family: "Hopper", email: "grace@example.com", active: true}
	mustDone(t, f.push(other.item(store.PushRecord{}))[0])

	refusals := 0
	mux := http.NewServeMux()
	mux.Handle("POST /token", f.sim)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		refusals++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Invalid Credentials","errors":[{"reason":"authError"}]}}`))
	})
	srv := httptestServer(t, mux)
	never, err := openTarget(t, srv.URL, "", nil, f.sim.KeyJSON(srv.URL), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := never.Push(context.Background(), []push.Item{other.item(store.PushRecord{})}, false); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("error %v, want the refused token reported", err)
	}
	if refusals != 2 {
		t.Errorf("%d requests refused, want the first and one retry with a new token", refusals)
	}
}

func TestGarbageAnswersFailTheBatch(t *testing.T) {
	redirect := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/admin/directory/v1/users", http.StatusTemporaryRedirect)
	}))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		client  *http.Client
		want    string
	}{
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("<html>oops"))
		}, nil, "not the Directory API's JSON"},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirect.URL+"/x", http.StatusTemporaryRedirect)
		}, &http.Client{Timeout: 5 * time.Second, CheckRedirect: sameHost}, "redirect"},
		{"hanging server", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, &http.Client{Timeout: 300 * time.Millisecond}, "no answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			sim := googlesim.New(googlesim.Options{Now: c.Now, Key: testKey()})
			mux := http.NewServeMux()
			mux.Handle("POST /token", sim)
			mux.Handle("/", tc.handler)
			srv := httptestServer(t, mux)
			target, err := openTarget(t, srv.URL, "", tc.client, sim.KeyJSON(srv.URL), c.Now)
			if err != nil {
				t.Fatal(err)
			}
			res, err := target.Push(context.Background(), []push.Item{ada().item(store.PushRecord{})}, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) || res != nil {
				t.Fatalf("results %v, error %v; want a batch failure saying %q", res, err, tc.want)
			}
			if strings.Contains(err.Error(), "@") {
				t.Errorf("error %q carries an address", err)
			}
		})
	}
}

// sameHost is what the shared client does: no redirects to another host.
func sameHost(req *http.Request, via []*http.Request) error {
	if req.URL.Host != via[0].URL.Host {
		return errRedirect
	}
	return nil
}

type redirectError struct{}

func (redirectError) Error() string { return "redirect to another host refused" }

var errRedirect = redirectError{}

func TestGroupRemoval(t *testing.T) {
	for _, mode := range []string{"keep", "delete"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, setup{section: groupsSection + "on_remove: " + mode + "\n"})
			p := ada()
			u := f.push(p.item(store.PushRecord{}))[0]
			g := f.push(groupItem("g-eng", "department", "Engineering", []push.Ref{ref(p, u.TargetID)}, store.PushRecord{}))[0]
			mustDone(t, g)
			// The worker may hand over a removal with no group state left.
			gone := push.Item{Kind: store.KindGroup, ID: "g-eng", Delete: true, Previous: record(g)}
			mustDone(t, f.push(gone)[0])
			grp, ok := f.sim.GroupByKey(g.TargetID)
			if mode == "delete" && ok {
				t.Errorf("group still there: %+v", grp)
			}
			if mode == "keep" && (!ok || len(grp.Members) != 0) {
				t.Errorf("kept group %+v (found %v), want it emptied", grp, ok)
			}
			// Likewise a user removal without the identity.
			mustDone(t, f.push(push.Item{Kind: store.KindIdentity, ID: u.ID, Delete: true, Previous: record(u)})[0])
			usr, ok := f.sim.UserByPersonioID("1042")
			if (mode == "delete") == ok || (mode == "keep" && !usr.Suspended) {
				t.Errorf("user after removal: %+v (found %v)", usr, ok)
			}
		})
	}
}

// With the engine's shared client: it retries 429 itself (here without
// waiting), while Google's 403 quota answers reach the target, which
// reports the item retryable.
func TestWithTheSharedClient(t *testing.T) {
	var waited []time.Duration
	c := newClock()
	client := push.NewHTTPClient(push.HTTPOptions{
		Target: "gws", RateLimit: google.DefaultRateLimit(), Now: c.Now, Seed: 1,
		Sleep: func(_ context.Context, d time.Duration) error { waited = append(waited, d); c.Advance(d); return nil },
	})
	f := newFixture(t, setup{client: client})
	f.sim.Fail(2, http.StatusTooManyRequests, "rateLimitExceeded", "Rate Limit Exceeded", time.Second)
	mustDone(t, f.push(ada().item(store.PushRecord{}))[0])
	if len(waited) != 2 {
		t.Errorf("the client waited %v, want two retries of the 429s", waited)
	}
	// Two joiners one after the other under a quota of three requests a
	// minute: the first gets through (list, get, insert), the second is
	// throttled and fails retryable; the target then pauses for the wait
	// and sends nothing until it is over.
	q := newFixture(t, setup{client: client, section: "concurrency: 1\n", sim: googlesim.Options{PerMinute: 3}})
	other := person{pid: "7", given: "Grace", family: "Hopper", email: "grace@example.com", active: true}
	third := person{pid: "8", given: "Alan", family: "Turing", email: "alan@example.com", active: true}
	res := q.push(other.item(store.PushRecord{}), third.item(store.PushRecord{}))
	mustDone(t, res[0])
	if r := res[1]; r.Outcome != push.Failed || !r.Retryable || r.Code != "userRateLimitExceeded" || r.RetryAfter != time.Second {
		t.Fatalf("403 userRateLimitExceeded: %+v, want retryable after 1 s", r)
	}
	writes := q.sim.Writes()
	if _, err := q.target.Push(context.Background(), []push.Item{third.item(store.PushRecord{})}, false); err == nil || q.sim.Writes() != writes {
		t.Errorf("during the pause: error %v, %d writes; want a refused batch and nothing sent", err, q.sim.Writes()-writes)
	}
	q.clock.Advance(time.Minute)
	mustDone(t, q.push(third.item(store.PushRecord{}))[0])
}

// Throttled before anything got through: the batch fails as a whole, so
// that no record's attempts grow.
func TestThrottledBatchFailsWhole(t *testing.T) {
	f := newFixture(t, setup{section: "concurrency: 1\n"})
	f.sim.Throttle(1, 30*time.Second)
	res, err := f.target.Push(context.Background(), []push.Item{ada().item(store.PushRecord{})}, false)
	if err == nil || res != nil || !strings.Contains(err.Error(), "userRateLimitExceeded") {
		t.Fatalf("results %v, error %v; want the batch failed for throttling", res, err)
	}
	f.clock.Advance(29 * time.Second)
	if _, err := f.target.Push(context.Background(), []push.Item{ada().item(store.PushRecord{})}, false); err == nil {
		t.Fatal("pushed before the Retry-After was over")
	}
	f.clock.Advance(time.Second)
	mustDone(t, f.push(ada().item(store.PushRecord{}))[0])
}

// Right after an address change Google answers 409 to further edits for a
// while: retried, not a data error. An address that belongs to someone
// else is one.
func TestConflictsAfterARename(t *testing.T) {
	f := newFixture(t, setup{sim: googlesim.Options{RenameDelay: time.Minute}})
	p := ada()
	p.mapped = map[string]string{"primaryEmail": "ada.lovelace@example.com"}
	first := f.push(p.item(store.PushRecord{}))[0]
	p.mapped = map[string]string{"primaryEmail": "ada.king@example.com"}
	renamed := f.push(p.item(record(first)))[0]
	mustDone(t, renamed)
	p.title = "Principal Engineer"
	res := f.push(p.item(record(renamed)))[0]
	if res.Outcome != push.Failed || !res.Retryable || res.Code != "duplicate" {
		t.Fatalf("edit right after the rename: %+v, want a retryable 409", res)
	}
	f.clock.Advance(2 * time.Minute)
	mustDone(t, f.push(p.item(record(renamed)))[0])
	if u := f.user("1042"); u.Title != "Principal Engineer" {
		t.Errorf("title %q after the delay", u.Title)
	}

	f.sim.AddUser("taken@example.com", "Some", "One", "")
	p.mapped = map[string]string{"primaryEmail": "taken@example.com"}
	res = f.push(p.item(record(renamed)))[0]
	if res.Outcome != push.Failed || res.Retryable || res.Code != "duplicate" {
		t.Errorf("rename onto someone else's address: %+v, want a permanent duplicate", res)
	}
}

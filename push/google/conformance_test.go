package google_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/store"
)

// harness opens the google target type against a fresh simulator for the
// push conformance suite. Groups of every kind are pushed, with addresses
// from the display name; OUs come from the mapping's orgUnitPath.
var harness = harnessWith(googlesim.Options{})

// harnessWith is the harness on a simulator with the given knobs.
func harnessWith(simOpts googlesim.Options) pushtest.Harness {
	return pushtest.Harness{Type: "google", Groups: true, Open: func(t testing.TB, opts pushtest.Options) (push.Target, pushtest.Sim) {
		now := opts.Now
		if now == nil {
			now = time.Now
		}
		so := simOpts
		so.Now, so.Key = now, testKey()
		sim := googlesim.New(so)
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		section := "create_org_units: true\n" +
			"groups: [department, office, team, legal_entity, cost_center, rule]\n" +
			"group_email: '{{slug .DisplayName}}@example.com'\n"
		target, err := openTarget(t, srv.URL, section, &http.Client{Timeout: 10 * time.Second}, sim.KeyJSON(srv.URL), now)
		if err != nil {
			t.Fatalf("google: open: %v", err)
		}
		return target, suiteSim{sim}
	}}
}

// suiteSim is the simulator as the suite sees it.
type suiteSim struct{ *googlesim.Sim }

func (s suiteSim) User(personioID string) (pushtest.SimUser, bool) {
	u, ok := s.UserByPersonioID(personioID)
	if !ok {
		return pushtest.SimUser{}, false
	}
	return pushtest.SimUser{
		TargetID: u.ID, Login: u.PrimaryEmail, GivenName: u.GivenName, FamilyName: u.FamilyName,
		DisplayName: u.DisplayName, Department: u.Department, Active: !u.Suspended,
		ManagerPersonioID: u.ManagerPersonioID,
	}, true
}

func (s suiteSim) Users() int { return s.UserCount() }

func (s suiteSim) Group(displayName string) (pushtest.SimGroup, bool) {
	g, ok := s.GroupByName(displayName)
	if !ok {
		return pushtest.SimGroup{}, false
	}
	return pushtest.SimGroup{TargetID: g.ID, Name: g.Name, MemberPersonioIDs: g.MemberPersonioIDs}, true
}

func (s suiteSim) Tamper(personioID, displayName string) { s.SetDisplayName(personioID, displayName) }

func (s suiteSim) Settle() {}

// The harness works on its own, before the suite drives it: a joiner and
// a group arrive, and the suite's view reads them back.
func TestHarnessOpens(t *testing.T) {
	target, sim := harness.Open(t, pushtest.Options{})
	p := ada()
	res, err := target.Push(context.Background(), []push.Item{p.item(store.PushRecord{})}, false)
	if err != nil || res[0].Outcome != push.Done {
		t.Fatalf("push: %v %+v", err, res)
	}
	userID := res[0].TargetID
	g := groupItem("g-eng", "department", "Engineering", []push.Ref{ref(p, userID)}, store.PushRecord{})
	if res, err = target.Push(context.Background(), []push.Item{g}, false); err != nil || res[0].Outcome != push.Done {
		t.Fatalf("group push: %v %+v", err, res)
	}
	u, ok := sim.User("1042")
	if !ok || u.Login != "ada.lovelace@example.com" || !u.Active || u.Department != "Engineering" {
		t.Errorf("suite view of the user: %+v (found %v)", u, ok)
	}
	grp, ok := sim.Group("Engineering")
	if !ok || len(grp.MemberPersonioIDs) != 1 || grp.MemberPersonioIDs[0] != "1042" {
		t.Errorf("suite view of the group: %+v (found %v)", grp, ok)
	}
	writes := sim.Writes()
	sim.Tamper("1042", "Someone Else")
	if u, _ := sim.User("1042"); u.DisplayName != "Someone Else" || sim.Writes() != writes {
		t.Errorf("tamper: %+v, writes %d → %d", u, writes, sim.Writes())
	}
	// Reconcile repairs drift: the same item again restores the name.
	if res, err = target.Push(context.Background(), []push.Item{p.item(store.PushRecord{TargetID: userID})}, false); err != nil || res[0].Outcome != push.Done {
		t.Fatalf("reconcile push: %v %+v", err, res)
	}
	if u, _ := sim.User("1042"); u.DisplayName != "Ada Lovelace" {
		t.Errorf("drift not repaired: %+v", u)
	}
}

func TestConformance(t *testing.T) { pushtest.Run(t, harness) }

// A storm through the real worker: 150 joiners into a tenant whose quota
// is 60 requests a minute. The push takes many passes and every failure on
// the way is throttling; no one is quarantined and everyone arrives.
func TestQuotaStormThroughTheWorker(t *testing.T) {
	for _, b := range pushtest.Backends()[:1] {
		e := pushtest.NewEnv(t, harnessWith(googlesim.Options{PerMinute: 60}), b)
		var people []pushtest.Person
		for i := range 150 {
			people = append(people, pushtest.Person{PersonioID: strconv.Itoa(5000 + i), Given: "Storm" + strconv.Itoa(i), Family: "Person", Department: "Sales"})
		}
		e.Create(people...)
		w := e.Worker(false, pushtest.WorkerConfig("storm"))
		for range 6 {
			e.Settle(w)
			e.Clock.Advance(time.Hour)
		}
		quarantined, unsynced := 0, 0
		for _, p := range people {
			switch rec := e.Record(w, p.PersonioID); rec.Status {
			case store.PushSynced:
			case store.PushQuarantined:
				quarantined++
			default:
				unsynced++
			}
		}
		// How many requests meet the quota depends on how the target's
		// concurrent requests interleave; that some do is what makes it a
		// storm.
		if refused := e.Sim.(suiteSim).Refused(); refused == 0 {
			t.Errorf("the quota refused %d requests: no storm", refused)
		} else {
			t.Logf("%d requests refused for quota", refused)
		}
		if quarantined > 0 || unsynced > 0 || e.Sim.Users() != len(people) {
			t.Errorf("%d quarantined, %d not synced, %d users in Google; want all %d synced", quarantined, unsynced, e.Sim.Users(), len(people))
		}
	}
}

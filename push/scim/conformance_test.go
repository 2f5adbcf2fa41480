package scim_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/push/scim"
)

// harness opens the SCIM target against a fresh generic simulator for the
// conformance suite.
func harness() pushtest.Harness {
	return pushtest.Harness{
		Type:   "scim",
		Groups: true,
		Open: func(t testing.TB, opts pushtest.Options) (push.Target, pushtest.Sim) {
			now := opts.Now
			if now == nil {
				now = time.Now
			}
			sim := scimsim.New(scimsim.Options{Token: testToken, Now: now, ETags: true})
			srv := httptest.NewServer(sim)
			t.Cleanup(func() { sim.Close(); srv.Close() })
			cfg := fmt.Sprintf("base_url: %s\ntoken_env: SCIM_TOKEN\non_remove: delete\n", srv.URL)
			// The worker's own client, with its retries; waits are skipped so
			// that only the suite's clock decides.
			client := push.NewHTTPClient(push.HTTPOptions{
				Target: "conformance", Timeout: 10 * time.Second, Now: now,
				Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
			})
			env := testEnv(map[string]string{"SCIM_TOKEN": testToken}, client)
			env.Now = now
			target, err := scim.Open(context.Background(), section(t, cfg), env)
			if err != nil {
				t.Fatalf("open the scim target: %v", err)
			}
			return target, simAdapter{sim}
		},
	}
}

// simAdapter is the suite's view of the simulator; users are anchored by
// externalId, the Personio id.
type simAdapter struct{ s *scimsim.Sim }

func (a simAdapter) User(personioID string) (pushtest.SimUser, bool) {
	u, ok := a.s.UserByExternalID(personioID)
	if !ok {
		return pushtest.SimUser{}, false
	}
	return pushtest.SimUser{
		TargetID: u.ID, Login: u.UserName, GivenName: u.GivenName, FamilyName: u.FamilyName,
		DisplayName: u.DisplayName, Department: u.Department, Active: u.Active, ManagerPersonioID: u.ManagerExternalID,
	}, true
}

func (a simAdapter) Users() int { return a.s.Users() }

func (a simAdapter) Group(displayName string) (pushtest.SimGroup, bool) {
	g, ok := a.s.GroupByName(displayName)
	if !ok {
		return pushtest.SimGroup{}, false
	}
	return pushtest.SimGroup{TargetID: g.ID, Name: g.DisplayName, MemberPersonioIDs: g.MemberExternalIDs}, true
}

func (a simAdapter) Writes() int                              { return a.s.Writes() }
func (a simAdapter) Reject(personioID string)                 { a.s.Reject(personioID) }
func (a simAdapter) Accept(personioID string)                 { a.s.Accept(personioID) }
func (a simAdapter) Throttle(n int, retryAfter time.Duration) { a.s.Throttle(n, retryAfter) }
func (a simAdapter) Tamper(personioID, displayName string)    { a.s.Tamper(personioID, displayName) }
func (a simAdapter) Settle()                                  { a.s.Settle() }

func TestConformance(t *testing.T) { pushtest.Run(t, harness()) }

// The harness itself works: a user and a group pushed through it show up
// in the suite's view of the simulator.
func TestHarness(t *testing.T) {
	h := harness()
	target, sim := h.Open(t, pushtest.Options{Now: func() time.Time { return testNow }})
	res, err := target.Push(context.Background(), []push.Item{person("1"), person("2", managedBy("1"))}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes(t, res, push.Done, push.Done)
	g := group("Ops", "1", "2")
	g.Group.Members[0].TargetID, g.Group.Members[1].TargetID = res[0].TargetID, res[1].TargetID
	if _, err := target.Push(context.Background(), []push.Item{g}, false); err != nil {
		t.Fatal(err)
	}
	u, ok := sim.User("2")
	if !ok || u.ManagerPersonioID != "1" || u.Login != "user2@example.test" || !u.Active {
		t.Errorf("user %+v", u)
	}
	sg, ok := sim.Group("Ops")
	if !ok || len(sg.MemberPersonioIDs) != 2 || sg.TargetID == "" {
		t.Errorf("group %+v", sg)
	}
	if sim.Users() != 2 || sim.Writes() != 3 {
		t.Errorf("%d users, %d writes", sim.Users(), sim.Writes())
	}
}

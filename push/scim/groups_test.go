package scim_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
)

func members(t *testing.T, s *scimsim.Sim, name string) []string {
	t.Helper()
	g, ok := s.GroupByName(name)
	if !ok {
		t.Fatalf("group %q missing", name)
	}
	return g.MemberExternalIDs
}

func TestGroupLifecycle(t *testing.T) {
	profiles := []struct {
		name  string
		opts  scimsim.Options
		extra string
	}{
		{name: "generic PATCH", opts: scimsim.Options{}},
		{name: "generic PUT", opts: scimsim.Options{NoPatch: true}},
		{name: "ETags", opts: scimsim.Options{ETags: true}},
		{name: "keycloak members by PATCH", opts: scimsim.Options{Profile: scimsim.Keycloak}, extra: "dialect:\n  members_by_patch: true\n"},
		{name: "authentik", opts: scimsim.Options{Profile: scimsim.Authentik, FilteredMemberRemoveIgnored: true}, extra: "dialect:\n  post_adopts: true\n  member_remove: value\n"},
	}
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			f := start(t, p.opts, p.extra)
			f.push(t, person("1"), person("2"), person("3"))

			res := f.push(t, group("Engineering", "1", "2"))
			wantOutcomes(t, res, push.Done)
			g, _ := f.sim.GroupByName("Engineering")
			if res[0].TargetID != g.ID || g.ExternalID != "g-Engineering" {
				t.Errorf("target id %q, group %+v", res[0].TargetID, g)
			}
			if got := members(t, f.sim, "Engineering"); !slices.Equal(got, []string{"1", "2"}) {
				t.Errorf("members after create %v", got)
			}

			f.push(t, renamed(group("Engineering", "2", "3"), "Platform Engineering"))
			if got := members(t, f.sim, "Platform Engineering"); !slices.Equal(got, []string{"2", "3"}) {
				t.Errorf("members after rename and change %v", got)
			}
			if _, ok := f.sim.GroupByName("Engineering"); ok {
				t.Error("the old name is still there")
			}
			if f.sim.Groups() != 1 {
				t.Errorf("%d groups, want 1", f.sim.Groups())
			}

			writes := f.sim.Writes()
			f.push(t, renamed(group("Engineering", "2", "3"), "Platform Engineering"))
			if f.sim.Writes() != writes {
				t.Errorf("an unchanged group caused %d writes", f.sim.Writes()-writes)
			}

			f.push(t, renamed(group("Engineering"), "Platform Engineering"))
			if got := members(t, f.sim, "Platform Engineering"); len(got) != 0 {
				t.Errorf("members after emptying %v", got)
			}
		})
	}
}

func TestMembershipInBatches(t *testing.T) {
	f := start(t, scimsim.Options{MaxPatchOperations: 100}, "max_patch_operations: 100\nmax_batch: 300\n")
	all := pids(250)
	var users []push.Item
	for _, pid := range all {
		users = append(users, person(pid))
	}
	f.push(t, users...)

	f.push(t, group("Big", all[:10]...))
	before := len(f.requests("PATCH", "/Groups/"))
	res := f.push(t, group("Big", all[5:]...)) // 240 to add, 5 to remove
	wantOutcomes(t, res, push.Done)
	if got := len(f.requests("PATCH", "/Groups/")) - before; got != 4 {
		t.Errorf("%d PATCHes for 240 adds and 5 removes at 100 per request, want 4", got)
	}
	if got := members(t, f.sim, "Big"); !slices.Equal(got, sortedCopy(all[5:])) {
		t.Errorf("%d members, want %d", len(got), len(all[5:]))
	}
	var st struct{ Members []string }
	if err := json.Unmarshal(res[0].State, &st); err != nil || len(st.Members) != 245 {
		t.Errorf("state holds %d members (%v), want 245", len(st.Members), err)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestGroupMatchedByDisplayNameIsAdopted(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	res := f.push(t, person("1"), person("2"))
	stranger := f.sim.AddUser("stranger@example.test", "")
	existing := f.sim.AddGroup("engineering", res[0].TargetID, stranger)
	gres := f.push(t, group("Engineering", "1", "2"))
	wantOutcomes(t, gres, push.Done)
	if gres[0].TargetID != existing || f.sim.Groups() != 1 {
		t.Errorf("adopted %q, want %q; %d groups", gres[0].TargetID, existing, f.sim.Groups())
	}
	g, _ := f.sim.GroupByName("Engineering")
	if !slices.Equal(g.MemberIDs, sortedCopy([]string{res[0].TargetID, res[1].TargetID})) {
		t.Errorf("members %v: the group must hold exactly the desired members", g.MemberIDs)
	}
}

func TestGroupRecoversFromChangesInTheTarget(t *testing.T) {
	t.Run("member removed behind our back", func(t *testing.T) {
		f := start(t, scimsim.Options{}, "")
		users := f.push(t, person("1"), person("2"))
		g := f.push(t, group("Ops", "1", "2"))
		// Someone removed user 2 in the target: our filtered remove finds
		// nothing (400 noTarget); the target reads the group and diffs again.
		f.sim.Remove(users[1].TargetID)
		delete(f.ledger, "id-2")
		res := f.push(t, group("Ops", "1"))
		wantOutcomes(t, res, push.Done)
		if got := members(t, f.sim, "Ops"); !slices.Equal(got, []string{"1"}) {
			t.Errorf("members %v", got)
		}
		_ = g
	})
	t.Run("group deleted behind our back", func(t *testing.T) {
		f := start(t, scimsim.Options{}, "")
		f.push(t, person("1"), person("2"))
		g := f.push(t, group("Ops", "1"))
		f.sim.Remove(g[0].TargetID)
		res := f.push(t, group("Ops", "1", "2"))
		wantOutcomes(t, res, push.Done)
		if got := members(t, f.sim, "Ops"); !slices.Equal(got, []string{"1", "2"}) {
			t.Errorf("members %v", got)
		}
		if res[0].TargetID == g[0].TargetID {
			t.Error("the target id did not follow the new group")
		}
	})
}

func TestGroupRemoval(t *testing.T) {
	tests := []struct {
		name   string
		extra  string
		exists bool
	}{
		{name: "keep empties the group", exists: true},
		{name: "delete", extra: "on_remove: delete\n", exists: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, scimsim.Options{}, tt.extra)
			f.push(t, person("1"))
			f.push(t, group("Ops", "1"))
			res := f.push(t, deleted(group("Ops", "1")))
			wantOutcomes(t, res, push.Done)
			g, ok := f.sim.GroupByName("Ops")
			if ok != tt.exists {
				t.Fatalf("group exists %v, want %v", ok, tt.exists)
			}
			if ok && len(g.MemberIDs) != 0 {
				t.Errorf("kept group still has members %v", g.MemberIDs)
			}
		})
	}
}

func TestKeycloakRefusesMembersInPost(t *testing.T) {
	// Without the dialect switch the server's refusal is a data error the
	// administrator sees, with the server's words.
	f := start(t, scimsim.Options{Profile: scimsim.Keycloak}, "")
	f.push(t, person("1"))
	res := f.push(t, group("Ops", "1"))
	wantOutcomes(t, res, push.Failed)
	if res[0].Retryable || !strings.Contains(res[0].Error, "members") {
		t.Errorf("retryable %v error %q", res[0].Retryable, res[0].Error)
	}
}

func TestUnresolvedMembersWaitForTheirTargetID(t *testing.T) {
	f := start(t, scimsim.Options{}, "")
	f.sim.Reject("2")
	f.push(t, person("1"), person("2"))
	res := f.push(t, group("Ops", "1", "2"))
	wantOutcomes(t, res, push.Done)
	if got := members(t, f.sim, "Ops"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("members %v", got)
	}
	f.sim.Accept("2")
	f.push(t, person("2"))
	f.push(t, group("Ops", "1", "2"))
	if got := members(t, f.sim, "Ops"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("members after the member arrived %v", got)
	}
}

func TestDryRunOfAGroupCreatedThenFilledByPatch(t *testing.T) {
	f := start(t, scimsim.Options{Profile: scimsim.Keycloak}, "dialect:\n  members_by_patch: true\n")
	f.push(t, person("1"))
	writes := f.sim.Writes()
	res, err := f.pushErr([]push.Item{group("Ops", "1")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.sim.Writes() != writes {
		t.Fatal("the dry run wrote")
	}
	reqs := res[0].Requests
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[1].Method != "PATCH" || !strings.HasSuffix(reqs[1].URL, "/Groups/{id}") {
		t.Fatalf("requests %+v", reqs)
	}
	if strings.Contains(string(reqs[0].Body), "members") || !strings.Contains(string(reqs[1].Body), `"path":"members"`) {
		t.Errorf("bodies %s / %s", reqs[0].Body, reqs[1].Body)
	}
	if res[0].TargetID != "" {
		t.Errorf("a preview invented target id %q", res[0].TargetID)
	}
}

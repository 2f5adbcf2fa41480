package google

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	admin "google.golang.org/api/admin/directory/v1"

	"github.com/personio-scim/personio-scim/push"
)

// groupState is what a group's ledger record keeps: the address and name
// sent, and the members this target added (our identity id → the member
// key Google knows them by), so that it removes only those.
type groupState struct {
	Email string            `json:"email,omitempty"`
	Name  string            `json:"name,omitempty"`
	Added map[string]string `json:"added,omitempty"`
}

func decodeGroupState(b []byte) groupState {
	var s groupState
	if len(b) > 0 {
		_ = json.Unmarshal(b, &s)
	}
	if s.Added == nil {
		s.Added = map[string]string{}
	}
	return s
}

func (s groupState) encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// groupAddress is the group's email: the mapping's `email` when it gives
// one, else the group_email template.
func (t *Target) groupAddress(g *push.Group) (string, bool) {
	if e := lowerEmail(g.Mapped["email"]); e != "" {
		return e, validAddress(e)
	}
	if t.groupEmail == nil {
		return "", false
	}
	var b strings.Builder
	data := struct {
		ID, Key, Kind, DisplayName string
	}{g.ID, g.Key, g.Kind, g.DisplayName}
	if err := t.groupEmail.Execute(&b, data); err != nil {
		return "", false
	}
	e := lowerEmail(b.String())
	return e, validAddress(e)
}

func validAddress(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(e, " \t\r\n,;<>")
}

func (t *Target) pushGroup(ctx context.Context, it push.Item, dry bool) (push.Result, error) {
	g := it.Group
	email, ok := t.groupAddress(g)
	if !ok {
		return dataError(it, "invalid", "the group's email (group_email template or mapping email) is not an address"), nil
	}
	st := decodeGroupState(it.Previous.State)
	cur, res, err := t.findGroup(ctx, it, email, st)
	if cur == nil && (err != nil || res.Outcome != "") {
		return res, err
	}
	if it.Delete {
		return t.removeGroup(ctx, it, cur, st)
	}
	fresh := false
	if cur == nil {
		cur, res, err = t.insertGroup(ctx, it, email, dry)
		if cur == nil {
			return res, err
		}
		fresh = res.Outcome == push.Done
	} else if cur.Name != g.DisplayName || !strings.EqualFold(cur.Email, email) {
		patch := &admin.Group{Name: g.DisplayName}
		if !strings.EqualFold(cur.Email, email) {
			patch.Email = email
		}
		if _, err := t.svc.Groups.Patch(cur.Id, patch).Context(ctx).Do(); err != nil {
			return t.fail("groups.patch", it, err)
		}
	}
	st.Email, st.Name = email, g.DisplayName
	key := cmp.Or(cur.Id, email)
	return t.syncMembers(ctx, it, key, fresh, st)
}

// findGroup finds the group by the id acknowledged last time, else by its
// address (a rename of ours moves the address, so the one sent last time
// is tried too).
func (t *Target) findGroup(ctx context.Context, it push.Item, email string, st groupState) (*admin.Group, push.Result, error) {
	for _, key := range []string{it.Previous.TargetID, email, st.Email} {
		if key == "" {
			continue
		}
		g, err := t.svc.Groups.Get(key).Context(ctx).Do()
		if err == nil {
			return g, push.Result{}, nil
		}
		if !isStatus(err, http.StatusNotFound) {
			res, berr := t.fail("groups.get", it, err)
			return nil, res, berr
		}
	}
	return nil, push.Result{}, nil
}

func (t *Target) insertGroup(ctx context.Context, it push.Item, email string, dry bool) (*admin.Group, push.Result, error) {
	g := it.Group
	body := &admin.Group{Email: email, Name: g.DisplayName, Description: "Managed by personio-scim from Personio (" + g.Kind + ")"}
	created, err := t.svc.Groups.Insert(body).Context(ctx).Do()
	if isStatus(err, http.StatusConflict) {
		existing, gerr := t.svc.Groups.Get(email).Context(ctx).Do()
		if gerr != nil {
			res, berr := t.fail("groups.get", it, gerr)
			return nil, res, berr
		}
		return existing, push.Result{}, nil
	}
	if err != nil {
		res, berr := t.fail("groups.insert", it, err)
		return nil, res, berr
	}
	if !dry {
		t.noteCreated(created.Id, email)
	}
	return created, push.Result{Outcome: push.Done}, nil
}

// members is a group's membership as Google lists it.
type members struct {
	ids, emails map[string]bool
}

func (m members) has(key string) bool {
	return m.ids[key] || m.emails[lowerEmail(key)]
}

func (t *Target) listMembers(ctx context.Context, key string) (members, error) {
	m := members{ids: map[string]bool{}, emails: map[string]bool{}}
	err := t.svc.Members.List(key).MaxResults(200).Pages(ctx, func(page *admin.Members) error {
		for _, mem := range page.Members {
			m.ids[mem.Id] = true
			m.emails[lowerEmail(mem.Email)] = true
		}
		return nil
	})
	return m, err
}

// syncMembers adds the members Google lacks and removes the ones this
// target added that left the group. Members someone else added stay. One
// member's failure does not stop the others; the item then fails with the
// first failure, retryable when every failure is.
func (t *Target) syncMembers(ctx context.Context, it push.Item, key string, fresh bool, st groupState) (push.Result, error) {
	have := members{ids: map[string]bool{}, emails: map[string]bool{}}
	if !fresh {
		var err error
		if have, err = t.listMembers(ctx, key); err != nil {
			return t.fail("members.list", it, err)
		}
	}
	want := map[string]bool{}
	var failed *push.Result
	allRetryable := true
	note := func(r push.Result) {
		allRetryable = allRetryable && r.Retryable
		if failed == nil {
			failed = &r
		}
	}
	for _, ref := range it.Group.Members {
		want[ref.ID] = true
		email := t.emailOf(ref)
		if have.has(ref.TargetID) || have.has(email) || have.has(ref.Email) {
			st.Added[ref.ID] = cmp.Or(st.Added[ref.ID], ref.TargetID, email)
			continue
		}
		memberKey, res, err := t.addMember(ctx, it, key, ref, email)
		if err != nil {
			return push.Result{}, err
		}
		if res.Outcome == push.Failed {
			note(res)
			continue
		}
		st.Added[ref.ID] = memberKey
	}
	ours := slices.Sorted(func(yield func(string) bool) {
		for id := range st.Added {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ours {
		if want[id] {
			continue
		}
		memberKey := st.Added[id]
		if !fresh && !have.has(memberKey) {
			delete(st.Added, id)
			continue
		}
		err := t.svc.Members.Delete(key, memberKey).Context(ctx).Do()
		if err != nil && !isStatus(err, http.StatusNotFound) {
			res, berr := t.fail("members.delete", it, err)
			if berr != nil {
				return push.Result{}, berr
			}
			note(res)
			continue
		}
		delete(st.Added, id)
	}
	targetID := key
	if strings.Contains(key, "@") {
		targetID = "" // a dry run's group that does not exist yet
	}
	if failed != nil {
		failed.TargetID, failed.State, failed.Retryable = targetID, st.encode(), allRetryable
		return *failed, nil
	}
	return push.Result{Outcome: push.Done, TargetID: targetID, State: st.encode()}, nil
}

// addMember adds one member by address. A member who is already there
// (409) counts as added. A 404 or 412 right after the user or the group
// was created is Google's eventual consistency and retryable.
func (t *Target) addMember(ctx context.Context, it push.Item, group string, ref push.Ref, email string) (string, push.Result, error) {
	if email == "" {
		return "", dataError(it, "invalid", "a member has no email address"), nil
	}
	m, err := t.svc.Members.Insert(group, &admin.Member{Email: email, Role: "MEMBER"}).Context(ctx).Do()
	switch {
	case err == nil:
		return cmp.Or(m.Id, ref.TargetID, email), push.Result{Outcome: push.Done}, nil
	case isStatus(err, http.StatusConflict):
		return cmp.Or(ref.TargetID, email), push.Result{Outcome: push.Done}, nil
	}
	ae, berr := classify("members.insert", err)
	if berr != nil {
		return "", push.Result{}, berr
	}
	settling := ae.status == http.StatusNotFound &&
		(ref.TargetID == "" || t.recentlyCreated(ref.TargetID, email, group))
	return "", ae.failure(it, settling), nil
}

// removeGroupByID removes a group known only by the id acknowledged last
// time (the worker no longer has its state).
func (t *Target) removeGroupByID(ctx context.Context, it push.Item) (push.Result, error) {
	if it.Previous.TargetID == "" {
		return push.Result{Outcome: push.Done}, nil
	}
	cur, err := t.svc.Groups.Get(it.Previous.TargetID).Context(ctx).Do()
	if isStatus(err, http.StatusNotFound) {
		return push.Result{Outcome: push.Done}, nil
	}
	if err != nil {
		return t.fail("groups.get", it, err)
	}
	it.Group = &push.Group{}
	return t.removeGroup(ctx, it, cur, decodeGroupState(it.Previous.State))
}

// removeGroup handles a group that is gone from our side: deleted with
// on_remove delete, else emptied of the members this target added.
func (t *Target) removeGroup(ctx context.Context, it push.Item, cur *admin.Group, st groupState) (push.Result, error) {
	if cur == nil {
		return push.Result{Outcome: push.Done}, nil
	}
	if t.cfg.OnRemove == OnRemoveDelete {
		err := t.svc.Groups.Delete(cur.Id).Context(ctx).Do()
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return t.fail("groups.delete", it, err)
		}
		return push.Result{Outcome: push.Done}, nil
	}
	empty := *it.Group
	empty.Members = nil
	it.Group = &empty
	return t.syncMembers(ctx, it, cur.Id, false, st)
}

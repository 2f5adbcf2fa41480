// Package fake is an in-memory push target and its simulator view, the
// engine's own test double: it lets the conformance suite and the worker's
// tests run without an outside system. It is not a product target type.
package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/store"
)

// Options shape the fake target.
type Options struct {
	MaxBatch int  // default 10
	NoGroups bool // the target holds no groups (like Entra)
	// Async answers Pending and confirms only after Settle, like a target
	// that processes uploads later.
	Async           bool
	DeleteOnRemoval bool
}

// Target is the fake target; it is also its own Sim.
type Target struct {
	opts Options

	mu       sync.Mutex
	next     int
	users    map[string]*user // by target id
	byPerson map[string]*user // by Personio id
	groups   map[string]*group
	writes   int
	rejected map[string]bool
	throttle int
	retry    time.Duration
	queued   map[string]bool // target ids written but not visible to Confirm yet (Async)
	settled  map[string]bool
	// BeforePush, when set, runs at the start of every Push call (tests
	// cancel a context there to kill a worker mid-push).
	BeforePush func(call int, items []push.Item)
	calls      int
}

type user struct {
	id     string
	person string
	u      pushtest.SimUser
}

type group struct {
	id      string
	name    string
	members map[string]bool // target user ids
}

// New returns an empty fake target.
func New(o Options) *Target {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 10
	}
	return &Target{opts: o, users: map[string]*user{}, byPerson: map[string]*user{}, groups: map[string]*group{}, rejected: map[string]bool{},
		queued: map[string]bool{}, settled: map[string]bool{}}
}

// Harness runs the conformance suite on a fake target with these options.
func Harness(o Options) pushtest.Harness {
	return pushtest.Harness{
		Type:   "fake",
		Groups: !o.NoGroups,
		Open: func(t testing.TB, _ pushtest.Options) (push.Target, pushtest.Sim) {
			f := New(o)
			return f, f
		},
	}
}

// Info implements push.Target.
func (f *Target) Info() push.Info {
	return push.Info{Type: "fake", MaxBatch: f.opts.MaxBatch, Groups: !f.opts.NoGroups, DeleteOnRemoval: f.opts.DeleteOnRemoval}
}

// Push implements push.Target.
func (f *Target) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	f.mu.Lock()
	f.calls++
	call, hook := f.calls, f.BeforePush
	f.mu.Unlock()
	if hook != nil {
		hook(call, items)
	}
	out := make([]push.Result, 0, len(items))
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(items) > f.opts.MaxBatch {
			return nil, fmt.Errorf("batch of %d above the limit %d", len(items), f.opts.MaxBatch)
		}
		f.mu.Lock()
		res := f.one(it, dry)
		f.mu.Unlock()
		out = append(out, res)
	}
	return out, nil
}

func (f *Target) one(it push.Item, dry bool) push.Result {
	res := push.Result{ID: it.ID, Outcome: push.Done}
	if !dry && f.throttle > 0 {
		f.throttle--
		return push.Result{ID: it.ID, Outcome: push.Failed, Error: "too many requests", Code: "429", Retryable: true, RetryAfter: f.retry}
	}
	switch {
	case it.Kind == store.KindGroup && f.opts.NoGroups:
		return push.Result{ID: it.ID, Outcome: push.Failed, Error: "this target holds no groups", Code: "400"}
	case it.Kind == store.KindGroup:
		return f.group(it, dry)
	}
	person := it.Previous.ResourceID
	if it.Identity != nil {
		person = it.Identity.PersonioID
	}
	if it.Identity != nil && f.rejected[it.Identity.PersonioID] {
		return push.Result{ID: it.ID, Outcome: push.Failed, Error: "invalid value for attribute userName", Code: "400"}
	}
	u := f.match(it)
	switch {
	case it.Delete && u == nil:
		return res
	case it.Delete:
		res.Requests = []push.Request{{Method: "DELETE", URL: "/Users/" + u.id}}
		res.TargetID = u.id
		if !dry {
			delete(f.users, u.id)
			delete(f.byPerson, u.person)
			for _, g := range f.groups {
				delete(g.members, u.id)
			}
			f.writes++
		}
		return f.async(res, dry)
	case u == nil:
		body, _ := json.Marshal(it.Identity.Attributes)
		res.Requests = []push.Request{{Method: "POST", URL: "/Users", Body: body}}
		if dry {
			return res
		}
		f.next++
		u = &user{id: "u" + strconv.Itoa(f.next), person: person}
		f.users[u.id] = u
		f.byPerson[person] = u
	default:
		body, _ := json.Marshal(it.Identity.Attributes)
		res.Requests = []push.Request{{Method: "PUT", URL: "/Users/" + u.id, Body: body}}
		if dry {
			res.TargetID = u.id
			return res
		}
	}
	f.writes++
	a := it.Identity
	u.u = pushtest.SimUser{TargetID: u.id, Login: a.UserName, GivenName: a.GivenName, FamilyName: a.FamilyName,
		DisplayName: a.DisplayName, Department: a.Department, Active: a.Active}
	if a.Manager != nil {
		u.u.ManagerPersonioID = a.Manager.PersonioID
	}
	res.TargetID = u.id
	return f.async(res, dry)
}

// match finds the user an item is about: by the id the target gave it, or
// by the Personio id, so that a create after a lost answer adopts the user
// instead of duplicating it.
func (f *Target) match(it push.Item) *user {
	if u, ok := f.users[it.Previous.TargetID]; ok && it.Previous.TargetID != "" {
		return u
	}
	if it.Identity == nil {
		return nil
	}
	return f.byPerson[it.Identity.PersonioID]
}

func (f *Target) async(res push.Result, dry bool) push.Result {
	if !f.opts.Async || dry {
		return res
	}
	f.queued[res.ID] = true
	res.Outcome = push.Pending
	return res
}

func (f *Target) group(it push.Item, dry bool) push.Result {
	res := push.Result{ID: it.ID, Outcome: push.Done}
	g := f.groups[it.Previous.TargetID]
	if g == nil && it.Group != nil {
		for _, cand := range f.groups {
			if cand.name == it.Group.DisplayName {
				g = cand
			}
		}
	}
	if it.Delete {
		if g != nil {
			res.Requests = []push.Request{{Method: "DELETE", URL: "/Groups/" + g.id}}
			if !dry {
				delete(f.groups, g.id)
				f.writes++
			}
		}
		return res
	}
	if g == nil {
		res.Requests = append(res.Requests, push.Request{Method: "POST", URL: "/Groups", Body: []byte(it.Group.DisplayName)})
		if dry {
			return res
		}
		f.next++
		g = &group{id: "g" + strconv.Itoa(f.next), name: it.Group.DisplayName, members: map[string]bool{}}
		f.groups[g.id] = g
		f.writes++
	}
	res.TargetID = g.id
	if g.name != it.Group.DisplayName {
		res.Requests = append(res.Requests, push.Request{Method: "PATCH", URL: "/Groups/" + g.id, Body: []byte("rename")})
		if !dry {
			g.name = it.Group.DisplayName
			f.writes++
		}
	}
	want := map[string]bool{}
	for _, m := range it.Group.Members {
		if m.TargetID != "" {
			want[m.TargetID] = true
		}
	}
	if !maps.Equal(want, g.members) {
		res.Requests = append(res.Requests, push.Request{Method: "PATCH", URL: "/Groups/" + g.id, Body: []byte("members")})
		if !dry {
			g.members = want
			f.writes++
		}
	}
	return res
}

// Confirm implements push.Confirmer for the Async mode: settled items are
// done, the others stay pending.
func (f *Target) Confirm(_ context.Context, pending []store.PushRecord) ([]push.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []push.Result
	for _, r := range pending {
		if f.settled[r.ResourceID] {
			delete(f.settled, r.ResourceID)
			out = append(out, push.Result{ID: r.ResourceID, Outcome: push.Done, TargetID: r.TargetID})
		}
	}
	return out, nil
}

// User implements pushtest.Sim.
func (f *Target) User(personioID string) (pushtest.SimUser, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.byPerson[personioID]; ok {
		return u.u, true
	}
	return pushtest.SimUser{}, false
}

// Users implements pushtest.Sim.
func (f *Target) Users() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}

// Group implements pushtest.Sim.
func (f *Target) Group(displayName string) (pushtest.SimGroup, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.groups {
		if g.name != displayName {
			continue
		}
		sg := pushtest.SimGroup{TargetID: g.id, Name: g.name}
		for id := range g.members {
			if u, ok := f.users[id]; ok {
				sg.MemberPersonioIDs = append(sg.MemberPersonioIDs, u.person)
			}
		}
		slices.Sort(sg.MemberPersonioIDs)
		return sg, true
	}
	return pushtest.SimGroup{}, false
}

// Writes implements pushtest.Sim.
func (f *Target) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// Reject implements pushtest.Sim.
func (f *Target) Reject(personioID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected[personioID] = true
}

// Accept implements pushtest.Sim.
func (f *Target) Accept(personioID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rejected, personioID)
}

// Throttle implements pushtest.Sim.
func (f *Target) Throttle(n int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.retry = n, retryAfter
}

// Tamper implements pushtest.Sim.
func (f *Target) Tamper(personioID, displayName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.byPerson[personioID]; ok {
		u.u.DisplayName = displayName
	}
}

// Settle implements pushtest.Sim: queued asynchronous work becomes
// confirmable.
func (f *Target) Settle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.queued {
		f.settled[id] = true
	}
	f.queued = map[string]bool{}
}

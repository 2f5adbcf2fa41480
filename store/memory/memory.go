// Package memory is the in-process store backend, used when DATABASE_URL is
// unset: the demo, tests, and single-replica trials. It keeps the same
// contract as the Postgres backend and passes the same conformance suite.
package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/plan"
)

// Options tunes a memory store.
type Options struct {
	// Now is the clock for change-log and version times (default time.Now).
	Now func() time.Time
}

// Shared is one in-memory database. Several handles opened on it with Open
// see one state, as replicas opened on one Postgres database do; each handle
// has its own watches and leaderships.
type Shared struct {
	now func() time.Time

	mu         sync.Mutex
	identities map[string]*store.Identity
	groups     map[string]*store.Group
	userNames  map[string]string // lower-cased userName → identity id
	groupNames map[string]string // lower-cased displayName → group id
	changes    []logRow
	pruned     int64 // change-log rows pruned from the front: changes[0] has Seq pruned+1
	runs       map[string]store.Run
	tokens     map[string]store.Token
	ledger     ledgerState
	outbox     outboxState
	leaders    map[string]*leadership
	watchers   map[chan struct{}]*Store // each watch's channel → the handle that opened it
}

// NewShared returns an empty in-memory database.
func NewShared(opts Options) *Shared {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Shared{
		now:        opts.Now,
		identities: map[string]*store.Identity{},
		groups:     map[string]*store.Group{},
		userNames:  map[string]string{},
		groupNames: map[string]string{},
		runs:       map[string]store.Run{},
		tokens:     map[string]store.Token{},
		ledger:     newLedgerState(),
		outbox:     newOutboxState(),
		leaders:    map[string]*leadership{},
		watchers:   map[chan struct{}]*Store{},
	}
}

// Store is one handle on a Shared database, the memory backend's Store. All
// methods are safe for concurrent use.
type Store struct {
	db     *Shared
	closed bool // guarded by db.mu
}

var _ store.Store = (*Store)(nil)

// Open returns a new handle on db.
func Open(db *Shared) *Store { return &Store{db: db} }

// New returns the one handle on a new, empty database.
func New(opts Options) *Store { return Open(NewShared(opts)) }

func (s *Store) Backend() string { return "memory" }

func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// Close gives up this handle's leaderships (their Lost channels close) and
// stops nudging its watches, as a replica's exit ends its database sessions.
// Other handles and the data are unaffected.
func (s *Store) Close() {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	s.closed = true
	for name, l := range s.db.leaders {
		if l.handle == s {
			l.lose()
			delete(s.db.leaders, name)
		}
	}
	for ch, owner := range s.db.watchers {
		if owner == s {
			delete(s.db.watchers, ch)
		}
	}
}

// Apply applies cs atomically: it checks the whole final state before
// changing anything.
func (s *Store) Apply(ctx context.Context, cs store.ChangeSet) (store.ApplyResult, error) {
	if err := ctx.Err(); err != nil {
		return store.ApplyResult{}, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	p, err := plan.ResolveKeepingStates(cs, s.db.identities, s.db.groups, s.db.now())
	if err != nil {
		return store.ApplyResult{}, err
	}
	if err := s.checkPlan(&cs, p); err != nil {
		return store.ApplyResult{}, err
	}
	return s.commit(&cs, p), nil
}

// checkPlan verifies uniqueness and member references against the state the
// plan would leave.
func (s *Store) checkPlan(cs *store.ChangeSet, p plan.KeptPlan) error {
	users := make([]nameClaim, 0, len(p.Identities))
	for _, pi := range p.Identities {
		c := nameClaim{id: pi.ID, deleted: pi.Op == store.OpDelete}
		if !c.deleted {
			c.name = cs.Identities[pi.Index].Identity.UserName
		}
		if pi.Previous != nil {
			c.previous = pi.Previous.UserName
		}
		users = append(users, c)
	}
	if err := checkUnique(users, s.db.userNames, "userName"); err != nil {
		return err
	}
	groups := make([]nameClaim, 0, len(p.Groups))
	for _, pg := range p.Groups {
		c := nameClaim{id: pg.Group.ID, name: pg.Group.DisplayName, deleted: pg.Op == store.OpDelete}
		if pg.Previous != nil {
			c.previous = pg.Previous.DisplayName
		}
		groups = append(groups, c)
	}
	if err := checkUnique(groups, s.db.groupNames, "group displayName"); err != nil {
		return err
	}
	return s.checkMembers(p)
}

// nameClaim is a planned resource's hold on a name that must be unique
// ignoring case; previous is the name it held before ("" for a create).
type nameClaim struct {
	id, name, previous string
	deleted            bool
}

// checkUnique verifies that no two resources share a name once the plan is
// applied; holders maps the stored lower-cased names to their resources.
// Names the plan moves away are free for others in the same plan.
func checkUnique(claims []nameClaim, holders map[string]string, what string) error {
	released := map[string]bool{}
	for _, c := range claims {
		if c.previous != "" {
			released[strings.ToLower(c.previous)] = true
		}
	}
	taken := map[string]string{}
	for _, c := range claims {
		if c.deleted {
			continue
		}
		key := strings.ToLower(c.name)
		if other, ok := taken[key]; ok && other != c.id {
			return fmt.Errorf("%w: %s %q", store.ErrDuplicate, what, c.name)
		}
		taken[key] = c.id
		if holder, ok := holders[key]; ok && holder != c.id && !released[key] {
			return fmt.Errorf("%w: %s %q", store.ErrDuplicate, what, c.name)
		}
	}
	return nil
}

// checkMembers makes sure no group would name an identity that does not exist.
func (s *Store) checkMembers(p plan.KeptPlan) error {
	final := map[string]bool{} // identity id → exists after the plan, for ids the plan touches
	for _, pi := range p.Identities {
		final[pi.ID] = pi.Op != store.OpDelete
	}
	exists := func(id string) bool {
		if e, ok := final[id]; ok {
			return e
		}
		_, ok := s.db.identities[id]
		return ok
	}
	plannedGroups := map[string]bool{}
	for _, pg := range p.Groups {
		plannedGroups[pg.Group.ID] = true
		for _, m := range pg.Group.Members {
			if !exists(m) {
				return fmt.Errorf("%w: group %s names unknown member %s", store.ErrInvalid, pg.Group.ID, m)
			}
		}
	}
	for id, e := range final {
		if e {
			continue
		}
		for gid, g := range s.db.groups {
			if !plannedGroups[gid] && slices.Contains(g.Members, id) {
				return fmt.Errorf("%w: identity %s is still a member of group %s", store.ErrInvalid, id, gid)
			}
		}
	}
	return nil
}

// commit stores the plan. The states it stores are the elements of the
// result (Shared): the store, the change log and the directory that applied
// the change set all hold one copy of each. The plan's states are the change
// set's, which Apply owns, so they need no copy either.
func (s *Store) commit(cs *store.ChangeSet, p plan.KeptPlan) store.ApplyResult {
	res := store.ApplyResult{Shared: true}
	for _, pi := range p.Identities {
		if pi.Previous != nil {
			delete(s.db.userNames, strings.ToLower(pi.Previous.UserName))
		}
	}
	kept := 0
	for _, pi := range p.Identities {
		if pi.Op != store.OpDelete {
			kept++
		}
	}
	res.Identities = make([]store.Identity, 0, kept)
	states := make([]*store.Identity, len(p.Identities)) // by plan position: what each change-log row keeps
	for n := range p.Identities {
		pi := &p.Identities[n]
		if pi.Op == store.OpDelete {
			delete(s.db.identities, pi.ID)
			res.DeletedIdentities = append(res.DeletedIdentities, pi.ID)
			states[n] = pi.Previous
			continue
		}
		res.Identities = append(res.Identities, pi.State(cs))
		stored := &res.Identities[len(res.Identities)-1]
		store.Intern(stored)
		s.db.identities[stored.ID] = stored
		s.db.userNames[strings.ToLower(stored.UserName)] = stored.ID
		states[n] = stored
	}
	// A manager is the very string of the manager's id, and so is a
	// member below: the change set's are copies of their own.
	for n := range res.Identities {
		if m, ok := s.db.identities[res.Identities[n].Manager]; ok {
			res.Identities[n].Manager = m.ID
		}
	}
	for _, pg := range p.Groups {
		if pg.Previous != nil {
			delete(s.db.groupNames, strings.ToLower(pg.Previous.DisplayName))
		}
	}
	res.Groups = make([]store.Group, 0, len(p.Groups))
	for _, pg := range p.Groups {
		if pg.Op == store.OpDelete {
			delete(s.db.groups, pg.Group.ID)
			res.DeletedGroups = append(res.DeletedGroups, pg.Group.ID)
			continue
		}
		res.Groups = append(res.Groups, pg.Group) // the plan made its member list
		stored := &res.Groups[len(res.Groups)-1]
		for n, m := range stored.Members {
			if i, ok := s.db.identities[m]; ok {
				stored.Members[n] = i.ID
			}
		}
		s.db.groups[stored.ID] = stored
		s.db.groupNames[strings.ToLower(stored.DisplayName)] = stored.ID
	}
	// Resolve logs one row per identity write, in order, then one per group
	// write. Grown once: row by row, a first sync's log was copied over and
	// over and left up to a quarter of it unused.
	s.db.changes = slices.Grow(s.db.changes, len(p.Changes))
	for n, c := range p.Changes {
		var state *store.Identity
		if n < len(states) && c.Kind == store.KindIdentity && c.ResourceID == p.Identities[n].ID {
			state = states[n]
		}
		for _, ms := range [][]string{c.MembersAdded, c.MembersRemoved} {
			for k, m := range ms {
				if i, ok := s.db.identities[m]; ok {
					ms[k] = i.ID
				}
			}
		}
		s.db.changes = append(s.db.changes, newLogRow(c, state))
		seq := s.db.lastSeq()
		if res.FirstSeq == 0 {
			res.FirstSeq = seq
		}
		res.LastSeq = seq
	}
	if len(p.Changes) > 0 {
		s.db.nudge()
	}
	return res
}

func (s *Store) State(ctx context.Context) (store.State, error) {
	if err := ctx.Err(); err != nil {
		return store.State{}, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	st := store.State{
		Identities: make([]store.Identity, 0, len(s.db.identities)),
		Groups:     make([]store.Group, 0, len(s.db.groups)),
		Seq:        s.db.lastSeq(),
	}
	for _, i := range s.db.identities {
		st.Identities = append(st.Identities, i.Clone())
	}
	for _, g := range s.db.groups {
		st.Groups = append(st.Groups, g.Clone())
	}
	return st, nil
}

func (s *Store) IdentitiesByID(ctx context.Context, ids []string) ([]store.Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	out := make([]store.Identity, 0, len(ids))
	for _, id := range ids {
		if i, ok := s.db.identities[id]; ok {
			out = append(out, i.Clone())
		}
	}
	return out, nil
}

func (s *Store) GroupsByID(ctx context.Context, ids []string) ([]store.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	out := make([]store.Group, 0, len(ids))
	for _, id := range ids {
		if g, ok := s.db.groups[id]; ok {
			out = append(out, g.Clone())
		}
	}
	return out, nil
}

func (s *Store) Changes(ctx context.Context, q store.ChangeQuery) ([]store.Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultChangeLimit
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	start := min(max(q.AfterSeq-s.db.pruned, 0), int64(len(s.db.changes)))
	var out []store.Change
	for n := range s.db.changes[start:] {
		if len(out) == limit {
			break
		}
		if r := &s.db.changes[start+int64(n)]; matches(r, q) {
			out = append(out, r.change(s.db.pruned+start+int64(n)+1))
		}
	}
	return out, nil
}

func matches(r *logRow, q store.ChangeQuery) bool {
	switch {
	case !q.Since.IsZero() && r.time.Before(q.Since):
		return false
	case !q.Until.IsZero() && !r.time.Before(q.Until):
		return false
	case q.Actor != "" && r.actor != q.Actor:
		return false
	case q.Kind != "" && r.kind != q.Kind:
		return false
	case q.ResourceID != "" && r.resourceID != q.ResourceID:
		return false
	}
	return true
}

func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	return s.db.lastSeq(), nil
}

// Watch returns a channel nudged after every apply through any handle that
// logged something. It closes when ctx ends; a closed handle no longer
// nudges it.
func (s *Store) Watch(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.db.mu.Lock()
	if !s.closed {
		s.db.watchers[ch] = s
	}
	s.db.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.db.mu.Lock()
		defer s.db.mu.Unlock()
		delete(s.db.watchers, ch)
		close(ch) // nudge sends only under mu, so nothing sends after this
	}()
	return ch
}

// nudge must be called with mu held; it never blocks.
func (db *Shared) nudge() {
	for ch := range db.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

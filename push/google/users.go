package google

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/googleapi"

	"github.com/personio-scim/personio-scim/push"
)

// userFields are the user attributes this target owns.
type userFields struct {
	PrimaryEmail string `json:"primaryEmail,omitempty"`
	GivenName    string `json:"givenName,omitempty"`
	FamilyName   string `json:"familyName,omitempty"`
	DisplayName  string `json:"displayName,omitempty"`
	OrgUnitPath  string `json:"orgUnitPath,omitempty"`
	Suspended    bool   `json:"suspended,omitempty"`
	PersonioID   string `json:"personioId,omitempty"`
	Title        string `json:"title,omitempty"`
	Department   string `json:"department,omitempty"`
	CostCenter   string `json:"costCenter,omitempty"`
	Organization string `json:"organization,omitempty"`
	Manager      string `json:"manager,omitempty"`
}

// userState is what a user's ledger record keeps: what was sent last (the
// mapping's primary email among it) and the old addresses kept as aliases.
type userState struct {
	Sent    userFields `json:"sent"`
	Aliases []string   `json:"aliases,omitempty"`
	ETag    string     `json:"etag,omitempty"`
}

func decodeUserState(b []byte) (userState, bool) {
	var s userState
	if len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return userState{}, false
	}
	return s, true
}

func (s userState) encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// desiredUser is the item's user as Google should hold it. PrimaryEmail is
// the mapping's value when it gives one, else the work email.
func (t *Target) desiredUser(it push.Item) userFields {
	id := it.Identity
	f := userFields{
		PrimaryEmail: lowerEmail(cmp.Or(id.Mapped["primaryEmail"], id.Email, id.UserName)),
		GivenName:    cmp.Or(id.Mapped["givenName"], id.GivenName),
		FamilyName:   cmp.Or(id.Mapped["familyName"], id.FamilyName),
		DisplayName:  cmp.Or(id.Mapped["displayName"], id.DisplayName),
		OrgUnitPath:  normalizeOU(id.Mapped["orgUnitPath"]),
		Suspended:    !id.Active,
		PersonioID:   id.PersonioID,
		Title:        cmp.Or(id.Mapped["title"], id.Title),
		Department:   cmp.Or(id.Mapped["department"], id.Department),
		CostCenter:   cmp.Or(id.Mapped["costCenter"], id.CostCenter),
		Organization: cmp.Or(id.Mapped["organization"], id.Organization),
	}
	if id.Manager != nil {
		f.Manager = t.emailOf(*id.Manager)
	}
	return f
}

func (t *Target) pushUser(ctx context.Context, it push.Item, dry bool) (push.Result, error) {
	want := t.desiredUser(it)
	prev, hasPrev := decodeUserState(it.Previous.State)
	if it.Delete {
		return t.removeUser(ctx, it, want, prev)
	}
	if want.GivenName == "" || want.FamilyName == "" {
		return dataError(it, "invalid", "Google needs a given and a family name (name.givenName, name.familyName)"), nil
	}
	cur, res, err := t.findUser(ctx, it, want)
	if cur == nil && (err != nil || res.Outcome != "") {
		return res, err
	}
	if cur == nil {
		if want.PrimaryEmail == "" {
			return dataError(it, "invalid", "no primary email: the identity has no work email and the mapping gives no primaryEmail"), nil
		}
		return t.insertUser(ctx, it, want, dry)
	}
	if pid := personioIDOf(cur); pid != "" && pid != want.PersonioID {
		return dataError(it, "duplicate", "the Google user at this address carries another Personio id"), nil
	}
	return t.updateUser(ctx, it, cur, want, prev, hasPrev, dry)
}

// findUser finds the item's Google user: by the id acknowledged last time,
// else by the Personio id in externalIds, else by the primary email. A
// nil user with a zero result means there is none.
func (t *Target) findUser(ctx context.Context, it push.Item, want userFields) (*admin.User, push.Result, error) {
	if id := it.Previous.TargetID; id != "" {
		u, err := t.svc.Users.Get(id).Context(ctx).Do()
		if err == nil {
			return u, push.Result{}, nil
		}
		if !isStatus(err, http.StatusNotFound) {
			res, berr := t.fail("users.get", it, err)
			return nil, res, berr
		}
		if t.recentlyCreated(id) {
			res, berr := t.fail("users.get", it, err)
			res.Retryable, res.RetryAfter = true, retryAfter(nil, it.Previous.Attempts)
			return nil, res, berr
		}
		// Deleted in Google behind our back: match afresh, and create the
		// user again if nothing matches.
	}
	if u, decided := t.fromIndex(want.PersonioID, want.PrimaryEmail); decided {
		return u, push.Result{}, nil
	}
	u, err := t.userByPersonioID(ctx, want.PersonioID)
	if errors.Is(err, errAmbiguous) {
		return nil, dataError(it, "duplicate", "several Google users carry this Personio id in externalIds"), nil
	}
	if err != nil {
		res, berr := t.fail("users.list", it, err)
		return nil, res, berr
	}
	if u != nil || want.PrimaryEmail == "" {
		return u, push.Result{}, nil
	}
	u, err = t.svc.Users.Get(want.PrimaryEmail).Context(ctx).Do()
	if isStatus(err, http.StatusNotFound) {
		return nil, push.Result{}, nil
	}
	if err != nil {
		res, berr := t.fail("users.get", it, err)
		return nil, res, berr
	}
	return u, push.Result{}, nil
}

var errAmbiguous = errors.New("ambiguous")

func (t *Target) userByPersonioID(ctx context.Context, pid string) (*admin.User, error) {
	if pid == "" {
		return nil, nil
	}
	found, err := t.svc.Users.List().Customer(t.cfg.Customer).Query("externalId=" + queryValue(pid)).
		MaxResults(10).Context(ctx).Do()
	if err != nil {
		return nil, err
	}
	var hits []*admin.User
	for _, u := range found.Users {
		if personioIDOf(u) == pid {
			hits = append(hits, u)
		}
	}
	switch len(hits) {
	case 0:
		return nil, nil
	case 1:
		return hits[0], nil
	}
	return nil, errAmbiguous
}

func queryValue(v string) string {
	if strings.ContainsAny(v, " '\"") {
		return "'" + strings.ReplaceAll(v, "'", "") + "'"
	}
	return v
}

func (t *Target) insertUser(ctx context.Context, it push.Item, want userFields, dry bool) (push.Result, error) {
	if res, err, ok := t.ensureOrgUnit(ctx, it, want.OrgUnitPath, dry); !ok {
		return res, err
	}
	password, err := randomPassword()
	if err != nil {
		return push.Result{}, &batchError{op: "users.insert", msg: "no random password: " + err.Error(), err: err}
	}
	u := &admin.User{
		PrimaryEmail:              want.PrimaryEmail,
		Name:                      &admin.UserName{GivenName: want.GivenName, FamilyName: want.FamilyName, DisplayName: want.DisplayName},
		Password:                  password,
		ChangePasswordAtNextLogin: t.cfg.Password == PasswordRandom,
		OrgUnitPath:               want.OrgUnitPath,
		Suspended:                 want.Suspended,
		ExternalIds:               externalIDs(nil, want.PersonioID),
		Organizations:             organizations(want),
	}
	if want.Manager != "" {
		u.Relations = relations(nil, want.Manager)
	}
	created, err := t.svc.Users.Insert(u).Context(ctx).Do()
	if isStatus(err, http.StatusConflict) {
		// Someone holds the address: look it up rather than create a
		// second account. It is ours only if it carries no other Personio id.
		existing, gerr := t.svc.Users.Get(want.PrimaryEmail).Context(ctx).Do()
		if gerr != nil {
			return t.fail("users.get", it, gerr)
		}
		if pid := personioIDOf(existing); pid != "" && pid != want.PersonioID {
			return dataError(it, "duplicate", "the primary email belongs to a Google user with another Personio id"), nil
		}
		return t.updateUser(ctx, it, existing, want, userState{}, false, dry)
	}
	if err != nil {
		return t.fail("users.insert", it, err)
	}
	st := userState{Sent: want, ETag: created.Etag}
	if !dry {
		t.notePrimary(created.Id, created.PrimaryEmail)
		t.noteCreated(created.Id, created.PrimaryEmail)
		t.indexUser(created)
	}
	return push.Result{Outcome: push.Done, TargetID: created.Id, State: st.encode()}, nil
}

// updateUser sends what differs between Google's user and the item, and
// nothing when nothing does.
func (t *Target) updateUser(ctx context.Context, it push.Item, cur *admin.User, want userFields, prev userState, hasPrev, dry bool) (push.Result, error) {
	have := fieldsOf(cur)
	st := prev
	st.Sent = want
	// The primary email moves only when the mapping's value moves: a name
	// change alone keeps the address.
	rename := ""
	if mapped, ok := it.Identity.Mapped["primaryEmail"]; ok && mapped != "" {
		target := lowerEmail(mapped)
		changed := hasPrev && prev.Sent.PrimaryEmail != "" && prev.Sent.PrimaryEmail != target
		if (changed || !hasPrev) && !strings.EqualFold(target, have.PrimaryEmail) {
			rename = target
		}
	}
	if rename == "" {
		st.Sent.PrimaryEmail = cmp.Or(want.PrimaryEmail, have.PrimaryEmail)
	}
	patch, changed := userPatch(cur, have, want)
	if rename != "" {
		patch.PrimaryEmail, changed = rename, true
	}
	if patch.OrgUnitPath != "" {
		if res, err, ok := t.ensureOrgUnit(ctx, it, want.OrgUnitPath, dry); !ok {
			return res, err
		}
	}
	result := cur
	if changed {
		// users.update has patch semantics (only the fields sent change)
		// and, unlike users.patch, can clear a repeated field with null.
		updated, err := t.svc.Users.Update(cur.Id, patch).Context(ctx).Do()
		if isStatus(err, http.StatusConflict) {
			updated, res, berr := t.afterConflict(ctx, it, cur.Id, want, rename, err)
			if updated == nil {
				return res, berr
			}
			result = updated
		} else if isStatus(err, http.StatusNotFound) {
			// Gone since it was listed or read (deleted in the Admin
			// console, or Google still settling): match afresh next time.
			t.forget(cur)
			res, berr := t.fail("users.update", it, err)
			res.Retryable, res.RetryAfter = true, retryAfter(nil, it.Previous.Attempts)
			return res, berr
		} else if err != nil {
			return t.fail("users.update", it, err)
		} else {
			result = updated
		}
	}
	// A dry run cannot know whether Google kept the old address, which it
	// usually does, so its preview shows no alias insert.
	if rename != "" && !dry {
		old := cur.PrimaryEmail
		if res, err, ok := t.keepAlias(ctx, it, cur.Id, old, result); !ok {
			return res, err
		}
		if !slices.Contains(st.Aliases, lowerEmail(old)) {
			st.Aliases = append(st.Aliases, lowerEmail(old))
		}
	}
	if !dry {
		t.notePrimary(cur.Id, cmp.Or(result.PrimaryEmail, cur.PrimaryEmail))
	}
	st.ETag = cmp.Or(result.Etag, cur.Etag)
	return push.Result{Outcome: push.Done, TargetID: cur.Id, State: st.encode()}, nil
}

// afterConflict reads the user again after a 409 on an update. Google
// answers 409 for a while after an address change, and has answered it to
// updates that were applied: only an address that belongs to someone else
// is a data error; anything else is retried.
func (t *Target) afterConflict(ctx context.Context, it push.Item, id string, want userFields, rename string, conflict error) (*admin.User, push.Result, error) {
	again, err := t.svc.Users.Get(id).Context(ctx).Do()
	if err != nil {
		res, berr := t.fail("users.get", it, err)
		return nil, res, berr
	}
	_, pending := userPatch(again, fieldsOf(again), want)
	if !pending && (rename == "" || strings.EqualFold(again.PrimaryEmail, rename)) {
		return again, push.Result{}, nil
	}
	if rename != "" {
		owner, err := t.svc.Users.Get(rename).Context(ctx).Do()
		if err == nil && owner.Id != id {
			return nil, dataError(it, "duplicate", "the new primary email belongs to another Google user"), nil
		}
	}
	ae, berr := classify("users.update", conflict)
	if berr != nil {
		return nil, push.Result{}, berr
	}
	return nil, ae.failure(it, true), nil
}

// keepAlias makes sure the old primary email still reaches the user.
// Google keeps it as an alias on a rename; when the answer does not show
// it, the target adds it.
func (t *Target) keepAlias(ctx context.Context, it push.Item, id, old string, updated *admin.User) (push.Result, error, bool) {
	if slices.ContainsFunc(updated.Aliases, func(a string) bool { return strings.EqualFold(a, old) }) {
		return push.Result{}, nil, true
	}
	_, err := t.svc.Users.Aliases.Insert(id, &admin.Alias{Alias: old}).Context(ctx).Do()
	if err == nil || isStatus(err, http.StatusConflict) {
		return push.Result{}, nil, true
	}
	res, berr := t.fail("users.aliases.insert", it, err)
	return res, berr, false
}

// userPatch holds the fields of want that differ from Google's user.
func userPatch(cur *admin.User, have, want userFields) (*admin.User, bool) {
	p := &admin.User{}
	changed := false
	if want.GivenName != have.GivenName || want.FamilyName != have.FamilyName ||
		(want.DisplayName != "" && want.DisplayName != have.DisplayName) {
		p.Name = &admin.UserName{GivenName: want.GivenName, FamilyName: want.FamilyName, DisplayName: want.DisplayName}
		changed = true
	}
	if want.OrgUnitPath != have.OrgUnitPath {
		p.OrgUnitPath, changed = want.OrgUnitPath, true
	}
	if want.Suspended != have.Suspended {
		p.Suspended, changed = want.Suspended, true
		p.ForceSendFields = append(p.ForceSendFields, "Suspended")
	}
	if want.PersonioID != have.PersonioID {
		p.ExternalIds, changed = externalIDs(cur.ExternalIds, want.PersonioID), true
	}
	if want.Title != have.Title || want.Department != have.Department ||
		want.CostCenter != have.CostCenter || want.Organization != have.Organization {
		changed = true
		if orgs := organizations(want); orgs != nil {
			p.Organizations = orgs
		} else {
			p.NullFields = append(p.NullFields, "Organizations")
		}
	}
	if !strings.EqualFold(want.Manager, have.Manager) {
		changed = true
		if rels := relations(cur.Relations, want.Manager); len(rels) > 0 {
			p.Relations = rels
		} else {
			p.NullFields = append(p.NullFields, "Relations")
		}
	}
	return p, changed
}

// removeUser handles a user removed after retention: deleted, or kept
// suspended (on_remove).
func (t *Target) removeUser(ctx context.Context, it push.Item, want userFields, prev userState) (push.Result, error) {
	id := it.Previous.TargetID
	if id == "" {
		u, err := t.userByPersonioID(ctx, want.PersonioID)
		if err != nil && !errors.Is(err, errAmbiguous) {
			return t.fail("users.list", it, err)
		}
		if u == nil {
			return push.Result{Outcome: push.Done}, nil
		}
		id = u.Id
	}
	if t.cfg.OnRemove == OnRemoveDelete {
		err := t.svc.Users.Delete(id).Context(ctx).Do()
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return t.fail("users.delete", it, err)
		}
		return push.Result{Outcome: push.Done}, nil
	}
	cur, err := t.svc.Users.Get(id).Context(ctx).Do()
	if isStatus(err, http.StatusNotFound) {
		return push.Result{Outcome: push.Done}, nil
	}
	if err != nil {
		return t.fail("users.get", it, err)
	}
	if !cur.Suspended {
		if _, err := t.svc.Users.Update(id, &admin.User{Suspended: true}).Context(ctx).Do(); err != nil {
			return t.fail("users.update", it, err)
		}
	}
	prev.Sent.Suspended = true
	return push.Result{Outcome: push.Done, TargetID: id, State: prev.encode()}, nil
}

// fieldsOf reads the attributes this target owns from Google's user.
func fieldsOf(u *admin.User) userFields {
	f := userFields{
		PrimaryEmail: lowerEmail(u.PrimaryEmail),
		OrgUnitPath:  normalizeOU(u.OrgUnitPath),
		Suspended:    u.Suspended,
		PersonioID:   personioIDOf(u),
	}
	if u.Name != nil {
		f.GivenName, f.FamilyName, f.DisplayName = u.Name.GivenName, u.Name.FamilyName, u.Name.DisplayName
	}
	org := primaryEntry(u.Organizations)
	f.Title, f.Department = str(org["title"]), str(org["department"])
	f.CostCenter, f.Organization = str(org["costCenter"]), str(org["name"])
	for _, r := range entries(u.Relations) {
		if str(r["type"]) == "manager" {
			f.Manager = lowerEmail(str(r["value"]))
		}
	}
	return f
}

func personioIDOf(u *admin.User) string {
	for _, e := range entries(u.ExternalIds) {
		if str(e["type"]) == "organization" {
			return str(e["value"])
		}
	}
	return ""
}

// entries reads one of the user's repeated fields, which the library
// leaves as decoded JSON.
func entries(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func primaryEntry(v any) map[string]any {
	list := entries(v)
	for _, e := range list {
		if b, _ := e["primary"].(bool); b {
			return e
		}
	}
	if len(list) > 0 {
		return list[0]
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// externalIDs sets the Personio id as the organization external id and
// keeps any other external ids an administrator gave the user.
func externalIDs(cur any, pid string) []any {
	var out []any
	for _, e := range entries(cur) {
		if str(e["type"]) != "organization" {
			out = append(out, e)
		}
	}
	if pid != "" {
		out = append(out, map[string]any{"type": "organization", "value": pid})
	}
	return out
}

// relations sets the manager relation and keeps the other relations.
func relations(cur any, manager string) []any {
	var out []any
	for _, e := range entries(cur) {
		if str(e["type"]) != "manager" {
			out = append(out, e)
		}
	}
	if manager != "" {
		out = append(out, map[string]any{"type": "manager", "value": manager})
	}
	return out
}

func organizations(f userFields) []any {
	org := map[string]any{}
	for k, v := range map[string]string{"title": f.Title, "department": f.Department, "costCenter": f.CostCenter, "name": f.Organization} {
		if v != "" {
			org[k] = v
		}
	}
	if len(org) == 0 {
		return nil
	}
	org["primary"], org["type"] = true, "work"
	return []any{org}
}

// randomPassword satisfies Google's required password on insert. It is
// never stored, logged or shown (requests show it as "[not shown]").
func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func isStatus(err error, status int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == status
}

func (t *Target) fail(op string, it push.Item, err error) (push.Result, error) {
	ae, berr := classify(op, err)
	if berr != nil {
		return push.Result{}, berr
	}
	return ae.failure(it, false), nil
}

func lowerEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalizeOU gives an OU path as Google writes it: a leading slash, no
// trailing one, "/" for the root.
func normalizeOU(p string) string {
	p = strings.TrimSpace(p)
	p = "/" + strings.Trim(p, "/")
	return p
}

// userIndex is one listing of the tenant's users, used to match many new
// items at once instead of two lookups each (a first push of thousands).
type userIndex struct {
	built   time.Time
	byPID   map[string]*admin.User
	byEmail map[string]*admin.User
}

// indexThreshold is how many unmatched identities in one batch make a
// full listing cheaper than looking each one up.
const indexThreshold = 50

// indexTTL bounds how long a listing stands in for lookups; users this
// target inserts are added to it, and a 409 on insert still leads to a
// lookup, so a stale index never makes a duplicate by address.
const indexTTL = 10 * time.Minute

// find answers from the listing; decided is false when the listing
// cannot tell (two users share the Personio id) and the API must.
func (idx *userIndex) find(pid, email string) (u *admin.User, decided bool) {
	if u, ok := idx.byPID[pid]; ok && pid != "" {
		return u, u != nil
	}
	if email == "" {
		return nil, true
	}
	return idx.byEmail[email], true
}

// fromIndex answers a match from a fresh listing; decided is false when
// there is none or it cannot tell.
func (t *Target) fromIndex(pid, email string) (*admin.User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.indexFresh() {
		return nil, false
	}
	return t.index.find(pid, email)
}

// indexFresh needs t.mu held.
func (t *Target) indexFresh() bool {
	return t.index != nil && t.now().Sub(t.index.built) <= indexTTL
}

func (t *Target) indexUser(u *admin.User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.index == nil {
		return
	}
	if pid := personioIDOf(u); pid != "" {
		t.index.byPID[pid] = u
	}
	t.index.byEmail[lowerEmail(u.PrimaryEmail)] = u
}

// forget drops a user from the listing.
func (t *Target) forget(u *admin.User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.index == nil {
		return
	}
	for k, v := range t.index.byPID {
		if v == u {
			delete(t.index.byPID, k)
		}
	}
	for k, v := range t.index.byEmail {
		if v == u {
			delete(t.index.byEmail, k)
		}
	}
}

// prepareIndex lists the tenant's users when the batch has many items not
// matched before. A failed listing leaves matching to lookups.
func (t *Target) prepareIndex(ctx context.Context, items []push.Item) {
	unmatched := 0
	for _, it := range items {
		if it.Identity != nil && !it.Delete && it.Previous.TargetID == "" {
			unmatched++
		}
	}
	t.mu.Lock()
	fresh := t.indexFresh()
	t.mu.Unlock()
	if unmatched < indexThreshold || fresh {
		return
	}
	idx := &userIndex{built: t.now(), byPID: map[string]*admin.User{}, byEmail: map[string]*admin.User{}}
	err := t.svc.Users.List().Customer(t.cfg.Customer).MaxResults(500).Pages(ctx, func(page *admin.Users) error {
		for _, u := range page.Users {
			if pid := personioIDOf(u); pid != "" {
				if _, dup := idx.byPID[pid]; dup {
					// Two users with one Personio id: leave it to the
					// lookup, which reports it.
					idx.byPID[pid] = nil
				} else {
					idx.byPID[pid] = u
				}
			}
			idx.byEmail[lowerEmail(u.PrimaryEmail)] = u
			for _, a := range u.Aliases {
				idx.byEmail[lowerEmail(a)] = u
			}
		}
		return nil
	})
	if err != nil {
		t.log.Warn("google: listing users for matching failed; matching one by one", "error", redactedError(err))
		return
	}
	t.mu.Lock()
	t.index = idx
	t.mu.Unlock()
}

func redactedError(err error) string {
	_, berr := classify("users.list", err)
	if berr != nil {
		return berr.Error()
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return withoutAddresses(gerr.Message)
	}
	return "error"
}

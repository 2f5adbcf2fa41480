package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/personio-scim/personio-scim/push"
)

const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// userState is what the target remembers of a user between pushes.
type userState struct {
	ETag string `json:"etag,omitempty"`
	// Set lists the attribute paths the last push gave a value, so that a
	// value that became empty is removed rather than left behind.
	Set []string `json:"set,omitempty"`
}

func decodeUserState(b []byte) userState {
	var s userState
	_ = json.Unmarshal(b, &s) // unknown or old state is only a lost hint
	return s
}

func (s userState) encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// attr is one attribute value at a SCIM path (name.givenName,
// urn:…:enterprise:2.0:User:department).
type attr struct {
	path  string
	value any
}

// userAttrs is the identity as SCIM attributes, in a fixed order. Empty
// values are left out.
func (t *Target) userAttrs(id *push.Identity, managerID string) []attr {
	a := id.Attributes
	externalID := id.PersonioID
	if externalID == "" {
		externalID = a.ExternalID
	}
	displayName := a.DisplayName
	if displayName == "" {
		displayName = strings.TrimSpace(a.GivenName + " " + a.FamilyName)
	}
	out := []attr{
		{"userName", a.UserName},
		{"externalId", externalID},
		{"displayName", displayName},
		{"name.givenName", a.GivenName},
		{"name.familyName", a.FamilyName},
		{"name.middleName", a.MiddleName},
		{"nickName", a.NickName},
		{"title", a.Title},
		{"userType", a.UserType},
		{"preferredLanguage", a.PreferredLanguage},
		{"locale", a.Locale},
		{"timezone", a.Timezone},
		{"active", a.Active},
	}
	if a.Email != "" {
		out = append(out, attr{"emails", []any{map[string]any{"value": a.Email, "type": "work", "primary": true}}})
	}
	if a.Phone != "" {
		out = append(out, attr{"phoneNumbers", []any{map[string]any{"value": a.Phone, "type": "work"}}})
	}
	if !t.cfg.Dialect.CoreOnly {
		ent := func(name string, v any) attr { return attr{schemaEnterprise + ":" + name, v} }
		out = append(out,
			ent("employeeNumber", firstNonEmpty(a.EmployeeNumber, id.PersonioID)),
			ent("department", a.Department),
			ent("organization", a.Organization),
			ent("costCenter", a.CostCenter),
			ent("division", a.Division),
		)
		if managerID != "" {
			out = append(out, ent("manager", map[string]any{"value": managerID}))
		}
	}
	for _, k := range sortedKeys(id.Mapped) {
		out = setAttr(out, k, id.Mapped[k])
	}
	return slices.DeleteFunc(out, func(a attr) bool { return a.value == "" })
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setAttr overrides the value at path or adds it.
func setAttr(attrs []attr, path string, v any) []attr {
	for i := range attrs {
		if strings.EqualFold(attrs[i].path, path) {
			attrs[i].value = v
			return attrs
		}
	}
	return append(attrs, attr{path, v})
}

// splitPath separates an extension URN from the attribute path after it.
func splitPath(p string) (urn, rest string) {
	if !strings.HasPrefix(strings.ToLower(p), "urn:") {
		return "", p
	}
	i := strings.LastIndexByte(p, ':')
	return p[:i], p[i+1:]
}

// body builds a resource body from attribute paths.
func body(schema string, attrs []attr) map[string]any {
	b := map[string]any{}
	schemas := []any{schema}
	for _, a := range attrs {
		urn, rest := splitPath(a.path)
		container := b
		if urn != "" {
			ext, _ := b[urn].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				b[urn] = ext
				schemas = append(schemas, urn)
			}
			container = ext
		}
		parent, sub, nested := strings.Cut(rest, ".")
		if !nested {
			container[rest] = a.value
			continue
		}
		inner, _ := container[parent].(map[string]any)
		if inner == nil {
			inner = map[string]any{}
			container[parent] = inner
		}
		inner[sub] = a.value
	}
	b["schemas"] = schemas
	return b
}

func paths(attrs []attr) []string {
	out := make([]string, len(attrs))
	for i, a := range attrs {
		out[i] = a.path
	}
	return out
}

// patchOps replaces every attribute we hold and removes those we set before
// that are now empty.
func patchOps(attrs []attr, previouslySet []string) []map[string]any {
	ops := make([]map[string]any, 0, len(attrs)+len(previouslySet))
	current := paths(attrs)
	for _, p := range previouslySet {
		if !slices.ContainsFunc(current, func(c string) bool { return strings.EqualFold(c, p) }) {
			ops = append(ops, map[string]any{"op": "remove", "path": p})
		}
	}
	for _, a := range attrs {
		ops = append(ops, map[string]any{"op": "replace", "path": a.path, "value": a.value})
	}
	return ops
}

func patchBody(ops []map[string]any) map[string]any {
	return map[string]any{"schemas": []string{schemaPatchOp}, "Operations": ops}
}

func (ir *itemRun) managerID() string {
	m := ir.it.Identity.Manager
	if m == nil {
		return ""
	}
	if m.TargetID != "" {
		return m.TargetID
	}
	return ir.b.createdID(m.ID)
}

func (ir *itemRun) pushIdentity(ctx context.Context) (push.Result, error) {
	prev := decodeUserState(ir.it.Previous.State)
	if ir.it.Delete {
		return ir.removeUser(ctx, prev)
	}
	attrs := ir.b.t.userAttrs(ir.it.Identity, ir.managerID())
	id := ir.it.Previous.TargetID
	if id == "" && !ir.b.t.cfg.Dialect.PostAdopts {
		found, failed, err := ir.findUser(ctx, ir.b.t.cfg.Match)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if found == nil {
			return ir.createUser(ctx, attrs)
		}
		id, prev = found.ID, userState{}
	}
	if id == "" {
		return ir.createUser(ctx, attrs)
	}
	return ir.updateUser(ctx, id, prev, attrs, recovery{rematch: true, refresh: true})
}

// recovery says which one-time recoveries an update may still make.
type recovery struct {
	rematch bool // after a 404: match again, create when absent
	refresh bool // after a 412: read the current version, send again
	// gone treats a 404 as the end state (a removal): confirmed, done.
	gone bool
}

func deref(r *push.Result) push.Result {
	if r == nil {
		return push.Result{}
	}
	return *r
}

// findUser looks the identity up by the given attribute. An account found
// by userName is adopted only when it carries no externalId or ours.
func (ir *itemRun) findUser(ctx context.Context, by string) (*resource, *push.Result, error) {
	want := ir.it.Identity.PersonioID
	value := want
	if by == "userName" {
		value = ir.it.Identity.UserName
	}
	if value == "" {
		r := ir.failData("invalidValue", "the identity has no "+by+" to match by")
		return nil, &r, nil
	}
	found, failed, err := ir.search(ctx, "Users", by, value)
	if err != nil || failed != nil {
		return nil, failed, err
	}
	switch len(found) {
	case 0:
		return nil, nil, nil
	case 1:
	default:
		r := ir.failData("ambiguous", fmt.Sprintf("%d users in the target match by %s; resolve the duplicates there", len(found), by))
		return nil, &r, nil
	}
	u := found[0]
	if u.ID == "" {
		return nil, nil, fmt.Errorf("searching /Users: %w (a resource without id)", errGarbage)
	}
	if u.ExternalID != "" && u.ExternalID != want {
		r := ir.failData("uniqueness", "the target's account with this userName belongs to another person (its externalId differs)")
		return nil, &r, nil
	}
	return &u, nil, nil
}

func (ir *itemRun) createUser(ctx context.Context, attrs []attr) (push.Result, error) {
	resp, err := ir.write(ctx, http.MethodPost, ir.b.t.url("Users"), body(schemaUser, attrs), "")
	if err != nil {
		return push.Result{}, err
	}
	switch {
	case resp.ok():
		r, etag, err := parseCreated(resp, "creating a user")
		if err != nil {
			return push.Result{}, err
		}
		return ir.doneUser(r.ID, userState{ETag: etag, Set: paths(attrs)}), nil
	case resp.status == http.StatusConflict:
		// Someone holds the userName: most likely our own create whose
		// answer was lost. Adopt it if it is ours, never duplicate.
		found, failed, err := ir.findUser(ctx, "userName")
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if found == nil {
			return ir.fail(resp, "creating a user"), nil
		}
		return ir.updateUser(ctx, found.ID, userState{}, attrs, recovery{refresh: true})
	}
	return ir.fail(resp, "creating a user"), nil
}

func (ir *itemRun) doneUser(id string, s userState) push.Result {
	r := ir.res
	r.Outcome, r.TargetID, r.State = push.Done, id, s.encode()
	if ir.b.dry {
		r.State = ir.it.Previous.State
	}
	return r
}

// updateUser brings the user with the target's id to attrs, with the
// recoveries rec allows.
func (ir *itemRun) updateUser(ctx context.Context, id string, prev userState, attrs []attr, rec recovery) (push.Result, error) {
	u := ir.b.t.url("Users", id)
	var resp response
	var err error
	if ir.b.t.capabilities().patch {
		resp, err = ir.write(ctx, http.MethodPatch, u, patchBody(patchOps(attrs, prev.Set)), prev.ETag)
	} else {
		b := body(schemaUser, attrs)
		b["id"] = id
		resp, err = ir.write(ctx, http.MethodPut, u, b, prev.ETag)
	}
	if err != nil {
		return push.Result{}, err
	}
	switch {
	case resp.ok():
		_, etag, err := parseResource(resp)
		if err != nil {
			return push.Result{}, fmt.Errorf("updating a user: %w", err)
		}
		return ir.doneUser(id, userState{ETag: etag, Set: paths(attrs)}), nil
	case resp.status == http.StatusBadRequest && resp.scimError().ScimType == "noTarget" && len(prev.Set) > 0:
		// An attribute we would remove is gone already (removed in the
		// server): send the update without removals.
		prev.Set = nil
		return ir.updateUser(ctx, id, prev, attrs, rec)
	case resp.status == http.StatusNotFound && rec.gone:
		if err := ir.confirmGone(ctx, "Users"); err != nil {
			return push.Result{}, err
		}
		return ir.doneUser(id, prev), nil
	case resp.status == http.StatusNotFound && rec.rematch:
		found, failed, err := ir.findUser(ctx, ir.b.t.cfg.Match)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if found == nil {
			return ir.createUser(ctx, attrs)
		}
		return ir.updateUser(ctx, found.ID, userState{}, attrs, recovery{refresh: true})
	case resp.status == http.StatusPreconditionFailed && rec.refresh:
		etag, failed, err := ir.currentETag(ctx, u)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		prev.ETag = etag
		rec.refresh = false
		return ir.updateUser(ctx, id, prev, attrs, rec)
	}
	return ir.fail(resp, "updating a user"), nil
}

// currentETag reads a resource's version.
func (ir *itemRun) currentETag(ctx context.Context, u *url.URL) (string, *push.Result, error) {
	resp, err := ir.read(ctx, u)
	if err != nil {
		return "", nil, err
	}
	if !resp.ok() {
		r := ir.fail(resp, "reading the current version")
		return "", &r, nil
	}
	_, etag, err := parseResource(resp)
	return etag, nil, err
}

func (ir *itemRun) removeUser(ctx context.Context, prev userState) (push.Result, error) {
	id := ir.it.Previous.TargetID
	if id == "" {
		if ir.it.Identity == nil {
			return ir.doneUser("", userState{}), nil
		}
		found, failed, err := ir.findUser(ctx, ir.b.t.cfg.Match)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if found == nil {
			return ir.doneUser("", userState{}), nil
		}
		id = found.ID
	}
	if ir.b.t.cfg.OnRemove == "delete" {
		return ir.deleteResource(ctx, "Users", id, prev.ETag, true)
	}
	return ir.deactivate(ctx, id, prev)
}

// deactivate keeps the account but switches it off, for targets that must
// not lose their records.
func (ir *itemRun) deactivate(ctx context.Context, id string, prev userState) (push.Result, error) {
	if ir.it.Identity != nil {
		attrs := ir.b.t.userAttrs(ir.it.Identity, ir.managerID())
		attrs = setAttr(attrs, "active", false)
		return ir.updateUser(ctx, id, prev, attrs, recovery{refresh: true, gone: true})
	}
	ops := []map[string]any{{"op": "replace", "path": "active", "value": false}}
	resp, err := ir.write(ctx, http.MethodPatch, ir.b.t.url("Users", id), patchBody(ops), prev.ETag)
	if err != nil {
		return push.Result{}, err
	}
	if resp.status == http.StatusNotFound {
		if err := ir.confirmGone(ctx, "Users"); err != nil {
			return push.Result{}, err
		}
		return ir.doneUser(id, prev), nil
	}
	if resp.ok() {
		_, etag, err := parseResource(resp)
		if err != nil && resp.ok() {
			return push.Result{}, fmt.Errorf("deactivating a user: %w", err)
		}
		prev.ETag = etag
		return ir.doneUser(id, prev), nil
	}
	return ir.fail(resp, "deactivating a user"), nil
}

// confirmGone tells a resource that is gone from a wrong URL: a 404 counts
// as gone only when the endpoint itself answers a SCIM list.
func (ir *itemRun) confirmGone(ctx context.Context, endpoint string) error {
	if ir.b.dry {
		return nil
	}
	u := ir.b.t.url(endpoint)
	u.RawQuery = "count=1"
	resp, err := ir.read(ctx, u)
	if err != nil {
		return err
	}
	if !resp.ok() {
		return fmt.Errorf("GET /%s answered %s after a 404: check base_url", endpoint, resp.describe())
	}
	if _, err := decodeList(resp); err != nil {
		return fmt.Errorf("GET /%s after a 404: %w", endpoint, err)
	}
	return nil
}

// deleteResource deletes; a 404 means it is gone already.
func (ir *itemRun) deleteResource(ctx context.Context, endpoint, id, etag string, retry bool) (push.Result, error) {
	u := ir.b.t.url(endpoint, id)
	resp, err := ir.write(ctx, http.MethodDelete, u, nil, etag)
	if err != nil {
		return push.Result{}, err
	}
	if resp.status == http.StatusNotFound {
		if err := ir.confirmGone(ctx, endpoint); err != nil {
			return push.Result{}, err
		}
	}
	switch {
	case resp.ok() || resp.status == http.StatusNotFound:
		r := ir.res
		r.Outcome, r.TargetID, r.State = push.Done, id, nil
		if ir.b.dry {
			r.State = ir.it.Previous.State
		}
		return r, nil
	case resp.status == http.StatusPreconditionFailed && retry:
		etag, failed, err := ir.currentETag(ctx, u)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		return ir.deleteResource(ctx, endpoint, id, etag, false)
	}
	return ir.fail(resp, "deleting"), nil
}

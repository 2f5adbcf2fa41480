package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/personio-scim/personio-scim/push"
)

// groupState is what the target remembers of a group between pushes: the
// name it holds and the members (target ids) it acknowledged, the base of
// the next membership diff.
type groupState struct {
	ETag        string   `json:"etag,omitempty"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"`
}

func decodeGroupState(b []byte) (groupState, bool) {
	var s groupState
	if len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return groupState{}, false
	}
	return s, true
}

func (s groupState) encode() []byte {
	s.Members = sortedUnique(s.Members)
	b, _ := json.Marshal(s)
	return b
}

func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// desiredMembers are the target ids of the group's members. Members the
// target does not hold yet are left out; the group is pushed again when
// they gain a target id.
func (ir *itemRun) desiredMembers() []string {
	var ids []string
	for _, m := range ir.it.Group.Members {
		id := m.TargetID
		if id == "" {
			id = ir.b.createdID(m.ID)
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	return sortedUnique(ids)
}

func (ir *itemRun) pushGroup(ctx context.Context) (push.Result, error) {
	state, known := decodeGroupState(ir.it.Previous.State)
	id := ir.it.Previous.TargetID
	if ir.it.Delete {
		return ir.removeGroup(ctx, id, state, known)
	}
	name := ir.it.Group.DisplayName
	if id != "" && !known {
		r, failed, err := ir.readGroup(ctx, id)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if r == nil {
			id = ""
		} else {
			state, known = groupState{DisplayName: r.DisplayName, Members: r.memberIDs()}, true
		}
	}
	if id == "" {
		if !ir.b.t.cfg.Dialect.PostAdopts {
			found, failed, err := ir.findGroup(ctx, name)
			if err != nil || failed != nil {
				return deref(failed), err
			}
			if found != nil {
				return ir.syncGroup(ctx, found.ID, groupState{DisplayName: found.DisplayName, Members: found.memberIDs()}, true)
			}
		}
		return ir.createGroup(ctx)
	}
	return ir.syncGroup(ctx, id, state, true)
}

func (ir *itemRun) findGroup(ctx context.Context, name string) (*resource, *push.Result, error) {
	found, failed, err := ir.search(ctx, "Groups", "displayName", name)
	if err != nil || failed != nil {
		return nil, failed, err
	}
	switch len(found) {
	case 0:
		return nil, nil, nil
	case 1:
		if found[0].ID == "" {
			return nil, nil, fmt.Errorf("searching /Groups: %w (a resource without id)", errGarbage)
		}
		return &found[0], nil, nil
	}
	r := ir.failData("ambiguous", fmt.Sprintf("%d groups in the target have this displayName", len(found)))
	return nil, &r, nil
}

// readGroup reads a group by id; nil when the target no longer has it.
func (ir *itemRun) readGroup(ctx context.Context, id string) (*resource, *push.Result, error) {
	resp, err := ir.read(ctx, ir.b.t.url("Groups", id))
	if err != nil {
		return nil, nil, err
	}
	switch {
	case resp.status == http.StatusNotFound:
		return nil, nil, nil
	case !resp.ok():
		r := ir.fail(resp, "reading a group")
		return nil, &r, nil
	}
	r, etag, err := parseResource(resp)
	if err != nil {
		return nil, nil, fmt.Errorf("reading a group: %w", err)
	}
	r.Meta.Version = etag
	return &r, nil, nil
}

func (ir *itemRun) groupBody(members []string) map[string]any {
	b := map[string]any{
		"schemas":     []string{schemaGroup},
		"displayName": ir.it.Group.DisplayName,
		"externalId":  ir.it.ID,
	}
	if !ir.b.t.cfg.Dialect.MembersByPatch {
		b["members"] = memberValues(members)
	}
	return b
}

func memberValues(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"value": id}
	}
	return out
}

func (ir *itemRun) createGroup(ctx context.Context) (push.Result, error) {
	members := ir.desiredMembers()
	resp, err := ir.write(ctx, http.MethodPost, ir.b.t.url("Groups"), ir.groupBody(members), "")
	if err != nil {
		return push.Result{}, err
	}
	switch {
	case resp.ok():
		r, etag, err := parseCreated(resp, "creating a group")
		if err != nil {
			return push.Result{}, err
		}
		held := members
		if ir.b.t.cfg.Dialect.MembersByPatch {
			held = nil
		}
		id := r.ID
		if resp.dry {
			id = "{id}" // the id the server will choose, in previews
		}
		return ir.syncGroup(ctx, id, groupState{ETag: etag, DisplayName: ir.it.Group.DisplayName, Members: held}, false)
	case resp.status == http.StatusConflict:
		found, failed, err := ir.findGroup(ctx, ir.it.Group.DisplayName)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if found == nil {
			return ir.fail(resp, "creating a group"), nil
		}
		return ir.syncGroup(ctx, found.ID, groupState{DisplayName: found.DisplayName, Members: found.memberIDs()}, false)
	}
	return ir.fail(resp, "creating a group"), nil
}

// syncGroup brings an existing group's name and members to the desired
// state, starting from what the target is known to hold. retry allows one
// recovery from a 404 (group deleted in the target) or a 400 noTarget or
// 412 (members changed in the target: read them and diff again).
func (ir *itemRun) syncGroup(ctx context.Context, id string, held groupState, retry bool) (push.Result, error) {
	want := ir.desiredMembers()
	name := ir.it.Group.DisplayName
	var resp response
	var err error
	var changed bool
	if !ir.b.t.capabilities().patch && !ir.b.t.cfg.Dialect.MembersByPatch {
		resp, changed, err = ir.putGroup(ctx, id, &held, want)
	} else {
		resp, changed, err = ir.patchGroup(ctx, id, &held, want)
	}
	if err != nil {
		return push.Result{}, err
	}
	if !changed || resp.ok() {
		r := ir.res
		r.Outcome, r.TargetID = push.Done, id
		r.State = held.encode()
		if ir.b.dry {
			r.State = ir.it.Previous.State
			if id == "{id}" {
				r.TargetID = ""
			}
		}
		return r, nil
	}
	e := resp.scimError()
	switch {
	case retry && resp.status == http.StatusNotFound:
		found, failed, err := ir.findGroup(ctx, name)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if found == nil {
			return ir.createGroup(ctx)
		}
		return ir.syncGroup(ctx, found.ID, groupState{DisplayName: found.DisplayName, Members: found.memberIDs()}, false)
	case retry && (resp.status == http.StatusPreconditionFailed || (resp.status == http.StatusBadRequest && e.ScimType == "noTarget")):
		r, failed, err := ir.readGroup(ctx, id)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if r == nil {
			return ir.createGroup(ctx)
		}
		return ir.syncGroup(ctx, id, groupState{ETag: r.Meta.Version, DisplayName: r.DisplayName, Members: r.memberIDs()}, false)
	}
	res := ir.fail(resp, "updating a group")
	// Chunks that went through are held; the next attempt diffs from them.
	res.TargetID, res.State = id, held.encode()
	return res, nil
}

// putGroup replaces the group when its name or members differ.
func (ir *itemRun) putGroup(ctx context.Context, id string, held *groupState, want []string) (response, bool, error) {
	if held.DisplayName == ir.it.Group.DisplayName && slices.Equal(sortedUnique(held.Members), want) {
		return response{}, false, nil
	}
	b := ir.groupBody(want)
	b["id"] = id
	resp, err := ir.write(ctx, http.MethodPut, ir.b.t.url("Groups", id), b, held.ETag)
	if err == nil && resp.ok() {
		_, etag, perr := parseResource(resp)
		if perr != nil {
			return resp, true, fmt.Errorf("replacing a group: %w", perr)
		}
		held.ETag, held.DisplayName, held.Members = etag, ir.it.Group.DisplayName, want
	}
	return resp, true, err
}

// patchGroup renames and changes membership by PATCH, at most
// max_patch_operations members per request; held follows each request that
// went through.
func (ir *itemRun) patchGroup(ctx context.Context, id string, held *groupState, want []string) (response, bool, error) {
	var reqs [][]map[string]any
	if held.DisplayName != ir.it.Group.DisplayName {
		reqs = append(reqs, []map[string]any{{"op": "replace", "path": "displayName", "value": ir.it.Group.DisplayName}})
	}
	have := sortedUnique(held.Members)
	add := difference(want, have)
	remove := difference(have, want)
	limit := ir.b.t.cfg.MaxPatchOperations
	for chunk := range slices.Chunk(add, limit) {
		reqs = append(reqs, []map[string]any{{"op": "add", "path": "members", "value": memberValues(chunk)}})
	}
	for chunk := range slices.Chunk(remove, limit) {
		reqs = append(reqs, ir.removeOps(chunk))
	}
	var resp response
	for _, ops := range reqs {
		var err error
		resp, err = ir.write(ctx, http.MethodPatch, ir.b.t.url("Groups", id), patchBody(ops), held.ETag)
		if err != nil || !resp.ok() {
			return resp, true, err
		}
		_, etag, err := parseResource(resp)
		if err != nil {
			return resp, true, fmt.Errorf("updating a group: %w", err)
		}
		held.ETag = etag
		applyOps(held, ops)
	}
	return resp, len(reqs) > 0, nil
}

func (ir *itemRun) removeOps(ids []string) []map[string]any {
	if ir.b.t.cfg.Dialect.MemberRemove == "value" {
		return []map[string]any{{"op": "remove", "path": "members", "value": memberValues(ids)}}
	}
	ops := make([]map[string]any, len(ids))
	for i, id := range ids {
		quoted, _ := json.Marshal(id)
		ops[i] = map[string]any{"op": "remove", "path": "members[value eq " + string(quoted) + "]"}
	}
	return ops
}

// applyOps updates what the target holds after a PATCH it accepted.
func applyOps(held *groupState, ops []map[string]any) {
	for _, op := range ops {
		switch {
		case op["path"] == "displayName":
			held.DisplayName, _ = op["value"].(string)
		case op["op"] == "add":
			for _, v := range op["value"].([]any) {
				held.Members = append(held.Members, v.(map[string]any)["value"].(string))
			}
		case op["op"] == "remove":
			var drop []string
			if vals, ok := op["value"].([]any); ok {
				for _, v := range vals {
					drop = append(drop, v.(map[string]any)["value"].(string))
				}
			} else if p, ok := op["path"].(string); ok {
				drop = append(drop, memberInPath(p))
			}
			held.Members = slices.DeleteFunc(held.Members, func(m string) bool { return slices.Contains(drop, m) })
		}
	}
	held.Members = sortedUnique(held.Members)
}

// memberInPath reads the id back from `members[value eq "id"]`.
func memberInPath(p string) string {
	const prefix = "members[value eq "
	if len(p) < len(prefix)+1 {
		return ""
	}
	var id string
	if json.Unmarshal([]byte(p[len(prefix):len(p)-1]), &id) != nil {
		return ""
	}
	return id
}

// difference lists the elements of a (sorted) missing from b (sorted).
func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func (ir *itemRun) removeGroup(ctx context.Context, id string, state groupState, known bool) (push.Result, error) {
	if id == "" {
		r := ir.res
		r.Outcome = push.Done
		return r, nil
	}
	if ir.b.t.cfg.OnRemove == "delete" {
		return ir.deleteResource(ctx, "Groups", id, state.ETag, true)
	}
	// Keep the group but take our members out of it.
	if !known {
		r, failed, err := ir.readGroup(ctx, id)
		if err != nil || failed != nil {
			return deref(failed), err
		}
		if r == nil {
			return ir.doneGone(), nil
		}
		state = groupState{ETag: r.Meta.Version, DisplayName: r.DisplayName, Members: r.memberIDs()}
	}
	// A copy: the item's group belongs to the worker.
	g := push.Group{}
	if ir.it.Group != nil {
		g = *ir.it.Group
	}
	g.Members, g.DisplayName = nil, state.DisplayName
	ir.it.Group = &g
	return ir.syncGroup(ctx, id, state, true)
}

func (ir *itemRun) doneGone() push.Result {
	r := ir.res
	r.Outcome, r.State = push.Done, nil
	return r
}

package scim

import (
	"maps"
	"slices"
	"strings"

	scimlib "github.com/elimity-com/scim"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/personio-scim/personio-scim/store"
)

// groupDraft is a group as a PATCH or PUT would leave it. writeGroup
// compares it with the stored group; nothing of a group is writable, so
// the draft only decides between "unchanged" and "refused".
type groupDraft struct {
	displayName string
	members     map[string]bool
	externalID  string
}

func newGroupDraft(g *store.Group) *groupDraft {
	d := &groupDraft{displayName: g.DisplayName, members: make(map[string]bool, len(g.Members))}
	for _, id := range g.Members {
		d.members[id] = true
	}
	return d
}

// changes names what the draft changes of g.
func (d *groupDraft) changes(g *store.Group) []string {
	var out []string
	if d.displayName != g.DisplayName {
		out = append(out, "displayName")
	}
	if len(d.members) != len(g.Members) || slices.ContainsFunc(g.Members, func(id string) bool { return !d.members[id] }) {
		out = append(out, "members")
	}
	if d.externalID != "" {
		out = append(out, "externalId")
	}
	return out
}

func (d *groupDraft) apply(op scimlib.PatchOperation) error {
	if op.Path != nil {
		return d.applyPath(op.Op, *op.Path, op.Value)
	}
	// Okta renames with {"op":"replace","value":{"id":…,"displayName":…}};
	// the library has already dropped the id.
	values, ok := op.Value.(map[string]any)
	if !ok {
		return invalidValue("An operation without a path needs an object as its value.")
	}
	for _, key := range slices.Sorted(maps.Keys(values)) {
		path, err := parsePatchPath(key)
		if err != nil {
			return err
		}
		if err := d.applyPath(op.Op, path, values[key]); err != nil {
			return err
		}
	}
	return nil
}

// applyPut replaces what a PUT body carries; members left out stay as
// they are.
func (d *groupDraft) applyPut(attrs map[string]any) error {
	for _, key := range slices.Sorted(maps.Keys(attrs)) {
		path := fp.Path{AttributePath: fp.AttributePath{AttributeName: key}}
		if err := d.applyPath(scimlib.PatchOperationReplace, path, attrs[key]); err != nil {
			return err
		}
	}
	return nil
}

func (d *groupDraft) applyPath(op string, path fp.Path, value any) error {
	switch schemaOfURI(path.AttributePath.URI()) {
	case uriNone, uriGroup:
	default:
		return invalidPath("Unknown schema in path %q.", path.String())
	}
	name := path.AttributePath.AttributeName
	if strings.EqualFold(name, "members") {
		return d.applyMembers(op, path, value)
	}
	if path.ValueExpression != nil || path.SubAttribute != nil || path.AttributePath.SubAttribute != nil {
		return invalidPath("Unknown attribute %q.", path.String())
	}
	target := &d.displayName
	switch {
	case strings.EqualFold(name, "displayName"):
	case strings.EqualFold(name, "externalId"):
		target = &d.externalID
	default:
		return invalidPath("Unknown attribute %q.", path.String())
	}
	if op == scimlib.PatchOperationRemove || value == nil {
		*target = ""
		return nil
	}
	s, ok := value.(string)
	if !ok {
		return invalidValue("%s must be a string.", name)
	}
	*target = s
	return nil
}

// applyMembers handles the two dialects of membership changes: a list of
// {"value": id} objects with add, replace or remove (Entra, Okta's add),
// and remove with a members[value eq "id"] filter (Okta, Entra with
// aadOptscim062020).
func (d *groupDraft) applyMembers(op string, path fp.Path, value any) error {
	if path.SubAttribute != nil || path.AttributePath.SubAttribute != nil {
		return invalidPath("Members are changed as a whole: use members or members[value eq \"…\"].")
	}
	if path.ValueExpression != nil {
		if op != scimlib.PatchOperationRemove {
			return invalidPath("A members filter is only used with remove.")
		}
		match, err := elementCompiler(elementSchema{valueExact: true}).compile(path.ValueExpression)
		if err != nil {
			return invalidPath("The filter in %q is not valid: %v", path.String(), err)
		}
		for id := range d.members {
			if match(element{value: id, typ: "User"}) {
				delete(d.members, id)
			}
		}
		return nil
	}
	ids, err := memberIDs(value)
	if err != nil {
		return err
	}
	switch op {
	case scimlib.PatchOperationAdd:
		for _, id := range ids {
			d.members[id] = true
		}
	case scimlib.PatchOperationReplace:
		clear(d.members)
		for _, id := range ids {
			d.members[id] = true
		}
	case scimlib.PatchOperationRemove:
		if value == nil {
			clear(d.members)
		}
		for _, id := range ids {
			delete(d.members, id)
		}
	}
	return nil
}

func memberIDs(value any) ([]string, error) {
	var items []any
	switch v := value.(type) {
	case nil:
		return nil, nil
	case []any:
		items = v
	case map[string]any:
		items = []any{v}
	default:
		return nil, invalidValue("members must be a list of objects with a value.")
	}
	ids := make([]string, 0, len(items))
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, invalidValue("members must be a list of objects with a value.")
		}
		id, ok := m["value"].(string)
		if !ok || id == "" {
			return nil, invalidValue("Every member needs its id as value.")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

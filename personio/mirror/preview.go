package mirror

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// PreviewIdentity is what one person would become under a policy.
type PreviewIdentity struct {
	Identity store.Identity `json:"-"`
	Groups   []string       `json:"groups"` // display names
}

// Preview is the result of evaluating a policy without writing anything.
type Preview struct {
	People     int               `json:"people"`
	Identities []PreviewIdentity `json:"identities"`
	Plan       SyncPlan          `json:"-"`
	Truncated  int               `json:"truncated,omitempty"`
}

// Preview evaluates policy (nil: the engine's own) against everyone in
// Personio, or only personID, against the current directory, and returns the
// identities and groups that would result. It writes nothing, not even a
// run record.
func (e *Engine) Preview(ctx context.Context, policy *Policy, personID string, limit int) (Preview, error) {
	if policy == nil {
		policy = e.policy
	}
	records, _, err := e.source.FetchAll(ctx)
	if err != nil {
		return Preview{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	if err := e.dir.Refresh(ctx); err != nil {
		return Preview{}, err
	}
	in := planInput{ctx: ctx, records: records, complete: true, view: e.dir.View(), today: policy.today(e.now())}
	if personID != "" {
		records = slices.DeleteFunc(records, func(r personio.Record) bool { return r.ID != personID })
		if len(records) == 0 {
			return Preview{}, fmt.Errorf("person %s: %w", personID, store.ErrNotFound)
		}
		in.records, in.complete = records, false
	}
	pl := policy.newPlanner(e.ns, in)
	pl.evaluateAll()
	if err := ctx.Err(); err != nil {
		return Preview{}, fmt.Errorf("preview cancelled: %w", err)
	}
	out := Preview{People: len(records)}
	ids := slices.Sorted(maps.Keys(pl.desired))
	if personID != "" {
		ids = []string{e.ns.IdentityID(personID)}
	}
	groups, _ := pl.desiredGroups()
	names := map[string][]string{}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		for _, m := range groups[key].members {
			names[m] = append(names[m], groups[key].ref.DisplayName)
		}
	}
	for _, id := range ids {
		ident, ok := pl.desired[id]
		if !ok {
			continue
		}
		if limit > 0 && len(out.Identities) == limit {
			out.Truncated++
			continue
		}
		out.Identities = append(out.Identities, PreviewIdentity{Identity: *ident, Groups: names[id]})
	}
	out.Plan = pl.finish()
	return out, nil
}

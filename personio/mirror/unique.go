package mirror

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/parser"

	"github.com/personio-scim/personio-scim/personio"
)

// unique([a, b, ...]) picks the first free value of an ordered list of
// candidates, then the first candidate numbered from 2 (a2, a3, ...). Which
// one is free depends on everyone else, which one person's evaluation
// cannot know: the macro rewrites the call to read the attempt number from
// the activation, the first evaluation takes attempt 0, and the planner
// evaluates further attempts only for people whose value is taken.
const (
	uniquePick    = "mirror_unique_pick"
	uniqueAttempt = "mirror_unique_attempt"
)

// maxUniqueNumber bounds the candidates tried for one person: past the
// list, up to the first candidate numbered 99.
const maxUniqueNumber = 99

const (
	errUniqueEmpty     = "unique: every candidate is empty (a name without Latin letters? add a fallback candidate)"
	errUniqueExhausted = "unique: no candidates left"
)

func uniqueOptions() []cel.EnvOption {
	strList := cel.ListType(cel.StringType)
	return []cel.EnvOption{
		cel.Variable(uniqueAttempt, cel.IntType),
		cel.Macros(parser.NewGlobalMacro("unique", 1, func(eh parser.ExprHelper, _ celast.Expr, args []celast.Expr) (celast.Expr, *common.Error) {
			return eh.NewCall(uniquePick, args[0], eh.NewIdent(uniqueAttempt)), nil
		})),
		cel.Function(uniquePick, cel.Overload("mirror_unique_pick_list_int", []*cel.Type{strList, cel.IntType}, cel.StringType,
			cel.BinaryBinding(pickCandidate))),
	}
}

// pickCandidate returns candidate number attempt, skipping empty ones; past
// the list, the first candidate numbered. An attempt past the last number
// fails with errUniqueExhausted, which the planner reads as "no more
// candidates".
func pickCandidate(list, attempt ref.Val) ref.Val {
	all, err := stringsOf(list)
	if err != nil {
		return types.NewErrFromString(err.Error())
	}
	candidates := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(candidates) == 0 {
		return types.NewErrFromString(errUniqueEmpty)
	}
	k := int(attempt.(types.Int))
	switch {
	case k < 0: // only an expression calling the rewritten form by hand gets here
		return types.NewErrFromString(errUniqueExhausted)
	case k < len(candidates):
		return types.String(candidates[k])
	case k-len(candidates)+2 <= maxUniqueNumber:
		return types.String(candidates[0] + strconv.Itoa(k-len(candidates)+2))
	}
	return types.NewErrFromString(errUniqueExhausted)
}

// usesUnique says whether a checked expression calls unique().
func usesUnique(a *celast.AST) bool {
	return len(celast.MatchDescendants(celast.NavigateAST(a), celast.FunctionMatcher(uniquePick))) > 0
}

// candidate evaluates one attribute for one person at one attempt.
func (cm *compiledMapping) candidate(ctx context.Context, ap *attributeProgram, rec *personio.Record, attempt int) (string, error) {
	act := newRecordActivation(rec)
	act.attempt = attempt
	return evalString(ctx, ap.prg, act)
}

// errNoFreeCandidate is the cause when every candidate unique() offers is
// held by someone else.
var errNoFreeCandidate = errors.New("unique: every candidate is taken by someone else")

// resolveUnique gives every person whose mapping uses unique() the first
// free value, in Personio id order so that the result does not depend on
// map order. A person keeps the value they hold when it is still one of
// their candidates; a value kept as on_create_only is never recomputed.
func (pl *planner) resolveUnique() {
	for i := range pl.policy.mapping.attrs {
		ap := &pl.policy.mapping.attrs[i]
		if ap.unique {
			pl.resolveUniqueAttr(ap)
		}
	}
}

func (pl *planner) resolveUniqueAttr(ap *attributeProgram) {
	pending := pl.uniquePending(ap)
	taken := map[string]string{} // lower value → SCIM id holding it
	isPending := make(map[string]bool, len(pending))
	for _, rec := range pending {
		isPending[pl.ns.IdentityID(rec.ID)] = true
	}
	claim := func(id, v string) {
		if v != "" {
			taken[strings.ToLower(v)] = id
		}
	}
	for _, prev := range pl.in.view.Identities() {
		if !isPending[prev.ID] {
			v, _ := prev.Get(ap.attr)
			claim(prev.ID, v)
		}
	}
	for id, ident := range pl.desired {
		if !isPending[id] {
			v, _ := ident.Get(ap.attr)
			claim(id, v)
		}
	}
	free := func(id, v string) bool {
		owner, ok := taken[strings.ToLower(v)]
		return !ok || owner == id
	}
	// Holders first: someone who has a value that is still theirs keeps it
	// even when a person with a lower id would want it.
	var seekers []*personio.Record
	for _, rec := range pending {
		id := pl.ns.IdentityID(rec.ID)
		if held, ok := pl.heldCandidate(ap, rec); ok && free(id, held) {
			pl.setUnique(id, ap.attr, held)
			claim(id, held)
			continue
		}
		seekers = append(seekers, rec)
	}
	for _, rec := range seekers {
		id := pl.ns.IdentityID(rec.ID)
		v, err := pl.firstFree(ap, rec, func(v string) bool { return free(id, v) })
		if err != nil {
			pl.dropUnmappable(id, rec.ID, &personError{PersonID: rec.ID, Attribute: ap.attr, Err: err})
			continue
		}
		pl.setUnique(id, ap.attr, v)
		claim(id, v)
	}
}

// uniquePending lists, in Personio id order, the people evaluated this run
// whose value for the attribute the planner must settle.
func (pl *planner) uniquePending(ap *attributeProgram) []*personio.Record {
	onCreateOnly := slices.Contains(pl.policy.mapping.onCreateOnly, ap.attr)
	var pending []*personio.Record
	for i := range pl.in.records {
		rec := &pl.in.records[i]
		id := pl.ns.IdentityID(rec.ID)
		if _, ok := pl.desired[id]; !ok || pl.shared[id] {
			continue // not evaluated this run, or kept as stored
		}
		if prev, ok := pl.in.view.Identity(id); ok && onCreateOnly {
			if v, _ := prev.Get(ap.attr); v != "" {
				continue
			}
		}
		pending = append(pending, rec)
	}
	slices.SortFunc(pending, func(a, b *personio.Record) int { return comparePersonIDs(a.ID, b.ID) })
	return pending
}

// heldCandidate is the value a person already holds, when it is still
// among their candidates.
func (pl *planner) heldCandidate(ap *attributeProgram, rec *personio.Record) (string, bool) {
	id := pl.ns.IdentityID(rec.ID)
	prev, ok := pl.in.view.Identity(id)
	if !ok {
		return "", false
	}
	held, _ := prev.Get(ap.attr)
	if held == "" {
		return "", false
	}
	if v, _ := pl.desired[id].Get(ap.attr); strings.EqualFold(v, held) {
		return held, true // attempt 0, evaluated already
	}
	found := false
	_ = pl.eachCandidate(ap, rec, 1, func(v string) bool {
		found = strings.EqualFold(v, held)
		return found
	})
	return held, found
}

// firstFree tries the candidates in order and returns the first one free.
func (pl *planner) firstFree(ap *attributeProgram, rec *personio.Record, free func(string) bool) (string, error) {
	if v, _ := pl.desired[pl.ns.IdentityID(rec.ID)].Get(ap.attr); v != "" && free(v) {
		return v, nil // attempt 0, evaluated already
	}
	var got string
	err := pl.eachCandidate(ap, rec, 1, func(v string) bool {
		if free(v) {
			got = v
			return true
		}
		return false
	})
	if err != nil {
		return "", err
	}
	if got == "" {
		return "", errNoFreeCandidate
	}
	return got, nil
}

// eachCandidate evaluates attempts from first on until stop says so or the
// candidates run out.
func (pl *planner) eachCandidate(ap *attributeProgram, rec *personio.Record, first int, stop func(string) bool) error {
	ctx := pl.in.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	for attempt := first; ; attempt++ {
		v, err := pl.policy.mapping.candidate(ctx, ap, rec, attempt)
		var evalErr *evalError
		if errors.As(err, &evalErr) && evalErr.Kind == errUniqueExhausted {
			return nil
		}
		if err != nil {
			return err
		}
		if stop(v) {
			return nil
		}
	}
}

func (pl *planner) setUnique(id, attr, v string) {
	ident := pl.desired[id]
	if cur, _ := ident.Get(attr); cur == v {
		return
	}
	ident.Set(attr, v)
}

// dropUnmappable reports a person whose attribute has no value and leaves
// them as stored, or uncreated.
func (pl *planner) dropUnmappable(id, personID string, err error) {
	pl.skipped = append(pl.skipped, Skip{PersonID: personID, Reason: err.Error()})
	if prev, ok := pl.in.view.Identity(id); ok {
		pl.keep(prev)
		return
	}
	delete(pl.desired, id)
	delete(pl.memberOf, id)
	delete(pl.reasons, id)
}

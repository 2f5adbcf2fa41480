package mirror

import (
	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"

	"github.com/personio-scim/personio-scim/personio"
)

// An expression whose checker estimate stays within costLimit for every
// record within these sizes cannot exceed the limit for such a record, so
// it is evaluated without a cost tracker. The bounds are generous: a
// record past them is evaluated the tracked way, only more slowly.
const (
	maxFieldBytes  = 4096 // any string a record holds: fields, list items, custom keys, labels and values
	maxListItems   = 256  // cost_centers
	maxCustomAttrs = 1024 // entries of custom, keys and labels together
)

// helperExpansion bounds how many characters one character of input
// becomes in our string helpers: translit spells щ as "shch".
const helperExpansion = 4

// recordSizes tells cel-go's cost estimator how large the variables can be
// for a record that fits the bounds above, and what our helpers cost. The
// costs are the ones the runtime tracker charges them (1, it knows no
// other); the result sizes bound what they return.
type recordSizes struct{}

func (recordSizes) EstimateSize(node cost.AstNode) *cost.SizeEstimate {
	path := node.Path()
	if len(path) == 0 {
		return nil
	}
	str := cost.RangedSizeEstimate(0, maxFieldBytes)
	switch {
	case path[0] == uniqueAttempt:
		return nil
	case path[0] == personio.FieldCostCenters && len(path) == 1:
		s := cost.RangedSizeEstimate(0, maxListItems)
		s.Elem = &str
		return &s
	case path[0] == fieldCustom && len(path) == 1:
		s := cost.RangedSizeEstimate(0, maxCustomAttrs)
		s.Key, s.Elem = &str, &str
		return &s
	}
	return &str
}

func (e recordSizes) EstimateCallCost(function, overloadID string, _ *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	size := func(i int) cost.SizeEstimate {
		if i >= len(args) {
			return cost.UnknownSizeEstimate()
		}
		return cost.EstimateSize(e, args[i])
	}
	elem := func(list cost.SizeEstimate) uint64 {
		if list.Elem == nil {
			return cost.UnknownSizeEstimate().Max
		}
		return list.Elem.Max
	}
	var resultMax uint64
	switch overloadID {
	case "mirror_lower_string", "mirror_upper_string", "mirror_trim_string", "mirror_translit_string", "mirror_login_string":
		resultMax = cost.SafeMultiply(size(0).Max, helperExpansion)
	case "mirror_join_list_string":
		list, sep := size(0), size(1)
		resultMax = cost.SafeMultiply(list.Max, cost.SafeAdd(elem(list), sep.Max))
	case "mirror_first_list":
		resultMax = elem(size(0))
	case "mirror_default_string_string":
		resultMax = max(size(0).Max, size(1).Max)
	case "mirror_format_date_string_string":
		// YYYY, MM and DD become as many digits.
		resultMax = size(1).Max
	case "mirror_unique_pick_list_int":
		resultMax = cost.SafeAdd(elem(size(0)), 2) // a number up to maxUniqueNumber
	default:
		return nil
	}
	result := cost.RangedSizeEstimate(0, resultMax)
	return cost.NewCallEstimate(cost.FixedCostEstimate(1), &result)
}

// staticallyBounded reports whether the expression stays within costLimit
// for every record within the size bounds.
func staticallyBounded(env *cel.Env, checked *cel.Ast) bool {
	est, err := env.EstimateCost(checked, recordSizes{})
	return err == nil && est.Max <= costLimit
}

// hasComprehension reports whether the expression loops (all, exists,
// exists_one, map, filter): only a loop can outlast a cancelled context.
func hasComprehension(a *celast.AST) bool {
	return len(celast.MatchDescendants(celast.NavigateAST(a), celast.KindMatcher(celast.ComprehensionKind))) > 0
}

// fitsSizeBounds reports whether the record is within the sizes the
// static cost estimate assumed.
func fitsSizeBounds(r *personio.Record) bool {
	for _, s := range [...]string{r.ID, r.FirstName, r.LastName, r.PreferredName, r.Email, r.Status,
		r.Position, r.Department, r.Office, r.Team, r.LegalEntity, r.SupervisorID, r.EmploymentType} {
		if len(s) > maxFieldBytes {
			return false
		}
	}
	if len(r.CostCenters) > maxListItems || 2*len(r.Custom) > maxCustomAttrs {
		return false
	}
	for _, c := range r.CostCenters {
		if len(c) > maxFieldBytes {
			return false
		}
	}
	for key, a := range r.Custom {
		if len(key) > maxFieldBytes || len(a.Label) > maxFieldBytes || len(a.Value) > maxFieldBytes {
			return false
		}
	}
	return true
}

package push

import (
	"fmt"
	"maps"
	"slices"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"

	"github.com/personio-scim/personio-scim/store"
)

// celCostLimit bounds one evaluation, so that an expression written in the
// configuration cannot stall a worker (a comprehension over a huge list).
const celCostLimit = 10_000

// Rules are a target's compiled `scope` and `mapping`: which identities go
// to the target and which target attributes they get.
type Rules struct {
	scope   cel.Program // nil: everyone
	mapping map[string]cel.Program
	keys    []string // mapping keys, sorted
}

// celVariables names what expressions see of an identity: its attributes
// under their SCIM names (dots replaced, so `name.givenName` is `givenName`),
// the Personio id, the lifecycle state and dates, the display names of its
// groups, the office, and `source`: the Personio fields the mirror keeps of
// the person (only those its mapping reads), by their record names.
var celVariables = map[string]*cel.Type{
	"office": cel.StringType, "source": cel.MapType(cel.StringType, cel.StringType),
	"id": cel.StringType, "personioId": cel.StringType, "userName": cel.StringType, "externalId": cel.StringType,
	"displayName": cel.StringType, "givenName": cel.StringType, "familyName": cel.StringType, "middleName": cel.StringType,
	"nickName": cel.StringType, "title": cel.StringType, "userType": cel.StringType, "preferredLanguage": cel.StringType,
	"locale": cel.StringType, "timezone": cel.StringType, "email": cel.StringType, "phone": cel.StringType,
	"active": cel.BoolType, "employeeNumber": cel.StringType, "department": cel.StringType,
	"organization": cel.StringType, "costCenter": cel.StringType, "division": cel.StringType, "manager": cel.StringType,
	"state": cel.StringType, "hireDate": cel.StringType, "endDate": cel.StringType,
	"inactiveSince": cel.StringType, "removeAfter": cel.StringType,
	"groups": cel.ListType(cel.StringType),
}

func celEnv() (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, len(celVariables)+1)
	opts = append(opts, ext.Strings())
	for _, name := range slices.Sorted(maps.Keys(celVariables)) {
		opts = append(opts, cel.Variable(name, celVariables[name]))
	}
	return cel.NewEnv(opts...)
}

// CompileRules compiles a target's scope (empty or "true": everyone) and
// mapping. Errors name the key: "scope: ..." or "mapping.upn: ...".
func CompileRules(scope string, mapping map[string]string) (*Rules, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("expression environment: %w", err)
	}
	r := &Rules{mapping: map[string]cel.Program{}}
	if scope != "" && scope != "true" {
		if r.scope, err = compileExpr(env, scope, cel.BoolType); err != nil {
			return nil, fmt.Errorf("scope: %w", err)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(mapping)) {
		prg, err := compileExpr(env, mapping[key], cel.StringType)
		if err != nil {
			return nil, fmt.Errorf("mapping.%s: %w", key, err)
		}
		r.mapping[key] = prg
		r.keys = append(r.keys, key)
	}
	return r, nil
}

func compileExpr(env *cel.Env, text string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(text)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if !ast.OutputType().IsExactType(want) && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("want a %s expression, this one gives %s", want, ast.OutputType())
	}
	return env.Program(ast, cel.CostLimit(celCostLimit))
}

// needsActivation reports whether evaluating needs the identity's variables
// at all (a target without scope and mapping does not).
func (r *Rules) needsActivation() bool { return r.scope != nil || len(r.mapping) > 0 }

func activation(id *store.Identity, groups []*store.Group) map[string]any {
	names := make([]string, len(groups))
	for n, g := range groups {
		names[n] = g.DisplayName
	}
	a := id.Attributes
	return map[string]any{
		"id": id.ID, "personioId": id.PersonioID, "userName": a.UserName, "externalId": a.ExternalID,
		"displayName": a.DisplayName, "givenName": a.GivenName, "familyName": a.FamilyName, "middleName": a.MiddleName,
		"nickName": a.NickName, "title": a.Title, "userType": a.UserType, "preferredLanguage": a.PreferredLanguage,
		"locale": a.Locale, "timezone": a.Timezone, "email": a.Email, "phone": a.Phone,
		"active": a.Active, "employeeNumber": a.EmployeeNumber, "department": a.Department,
		"organization": a.Organization, "costCenter": a.CostCenter, "division": a.Division, "manager": a.Manager,
		"state": string(id.Lifecycle.State), "hireDate": id.Lifecycle.HireDate, "endDate": id.Lifecycle.EndDate,
		"inactiveSince": id.Lifecycle.InactiveSince, "removeAfter": id.Lifecycle.RemoveAfter,
		"groups": names,
		// The office is no identity attribute, yet OUs commonly follow it;
		// the mirror keeps it in the source record under this name.
		"office": id.Source["office"], "source": sourceOf(id),
	}
}

// Evaluate decides whether the identity is in the target's scope and
// computes its mapped attributes. An expression that fails on one identity
// (a cost overrun, a wrong type at run time) is an error for that identity
// only.
func (r *Rules) Evaluate(id *store.Identity, groups []*store.Group) (inScope bool, mapped map[string]string, err error) {
	if !r.needsActivation() {
		return true, nil, nil
	}
	act := activation(id, groups)
	if r.scope != nil {
		out, _, err := r.scope.Eval(act)
		if err != nil {
			return false, nil, fmt.Errorf("scope: %w", err)
		}
		b, ok := out.(types.Bool)
		if !ok {
			return false, nil, fmt.Errorf("scope: gave %s, want a bool", out.Type())
		}
		if !bool(b) {
			return false, nil, nil
		}
	}
	if len(r.keys) > 0 {
		mapped = make(map[string]string, len(r.keys))
	}
	for _, key := range r.keys {
		out, _, err := r.mapping[key].Eval(act)
		if err != nil {
			return true, nil, fmt.Errorf("mapping.%s: %w", key, err)
		}
		s, ok := out.(types.String)
		if !ok {
			return true, nil, fmt.Errorf("mapping.%s: gave %s, want a string", key, out.Type())
		}
		mapped[key] = string(s)
	}
	return true, mapped, nil
}

// sourceOf never hands CEL a nil map: an identity written before sources
// were kept has none.
func sourceOf(id *store.Identity) map[string]string {
	if id.Source == nil {
		return map[string]string{}
	}
	return id.Source
}

package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/store"
)

// Mapping gives identity attributes their CEL expressions over the Personio
// record, keyed by attribute name (store.AttributeNames). An attribute
// without an entry stays empty, except active, which then follows the
// lifecycle alone.
type Mapping map[string]MappingRule

// MappingRule is one attribute's expression.
type MappingRule struct {
	Expr Expr
	// OnCreateOnly keeps the first value the attribute got: later changes
	// in Personio do not reach the identity.
	OnCreateOnly bool
}

// DefaultMapping is the mapping without a configuration file.
//
// userName is on_create_only: identity providers match accounts on it, and
// a marriage or a corrected spelling must not rename a person's login.
func DefaultMapping() Mapping {
	rule := func(text string) MappingRule { return MappingRule{Expr: Expr{Text: text}} }
	return Mapping{
		store.AttrUserName:       {Expr: Expr{Text: "lower(email)"}, OnCreateOnly: true},
		store.AttrExternalID:     rule("id"),
		store.AttrEmployeeNumber: rule("id"),
		store.AttrGivenName:      rule("first_name"),
		store.AttrFamilyName:     rule("last_name"),
		store.AttrNickName:       rule("preferred_name"),
		store.AttrDisplayName:    rule(`trim(default(preferred_name, first_name) + " " + last_name)`),
		store.AttrEmail:          rule("lower(email)"),
		store.AttrTitle:          rule("position"),
		store.AttrUserType:       rule("employment_type"),
		store.AttrDepartment:     rule("department"),
		store.AttrOrganization:   rule("legal_entity"),
		store.AttrCostCenter:     rule("first(cost_centers)"),
		store.AttrDivision:       rule("team"),
		store.AttrManager:        rule("supervisor_id"),
		store.AttrActive:         rule("true"),
	}
}

// defaultOnCreateOnly is what the short form `attr: expression` implies, so
// that changing userName's expression does not quietly make logins
// renameable.
func defaultOnCreateOnly(attr string) bool { return attr == store.AttrUserName }

// UnmarshalYAML merges the file's entries into the defaults: an entry
// replaces that attribute's rule, an empty entry (`title:`) unmaps it.
func (m *Mapping) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return positioned(n.Line, "mapping: want attribute: expression entries")
	}
	if *m == nil {
		*m = Mapping{}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		attr := key.Value
		if !slices.Contains(store.AttributeNames(), attr) {
			return positioned(key.Line, "mapping: unknown attribute %q; known: %s", attr, strings.Join(store.AttributeNames(), ", "))
		}
		if first, dup := seen[attr]; dup {
			return positioned(key.Line, "mapping: %s is already mapped on line %d", attr, first)
		}
		seen[attr] = key.Line
		if value.Kind == yaml.AliasNode && value.Alias != nil {
			value = value.Alias
		}
		if value.Kind == yaml.ScalarNode && value.ShortTag() == "!!null" {
			delete(*m, attr)
			continue
		}
		if attr == store.AttrActive && value.Kind == yaml.ScalarNode && value.ShortTag() == "!!bool" && value.Value != "true" {
			return positioned(value.Line, "mapping: active: %s is the constant false for everyone and would make every identity inactive; "+
				"give an expression (for example status != \"inactive\"), leave active to the lifecycle policy by removing it, "+
				"or quote it (\"false\") if every identity really is to be inactive", value.Value)
		}
		rule, err := parseMappingRule(attr, value)
		if err != nil {
			return err
		}
		(*m)[attr] = rule
	}
	return nil
}

// parseMappingRule reads the short form `expression` or the long form
// `{expr: expression, on_create_only: bool}`.
func parseMappingRule(attr string, n *yaml.Node) (MappingRule, error) {
	rule := MappingRule{OnCreateOnly: defaultOnCreateOnly(attr)}
	switch n.Kind {
	case yaml.ScalarNode:
		rule.Expr = Expr{Text: n.Value, line: n.Line}
		return rule, nil
	case yaml.MappingNode:
	default:
		return rule, positioned(n.Line, "mapping.%s: want an expression or {expr: ..., on_create_only: ...}", attr)
	}
	hasExpr := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		switch key.Value {
		case "expr":
			if err := rule.Expr.UnmarshalYAML(value); err != nil {
				return rule, positioned(value.Line, "mapping.%s.expr: want a CEL expression as a string", attr)
			}
			hasExpr = true
		case "on_create_only":
			if value.Kind != yaml.ScalarNode || value.ShortTag() != "!!bool" || value.Decode(&rule.OnCreateOnly) != nil {
				return rule, positioned(value.Line, "mapping.%s.on_create_only: want true or false", attr)
			}
		default:
			return rule, positioned(key.Line, "mapping.%s: unknown key %q; known: expr, on_create_only", attr, key.Value)
		}
	}
	if !hasExpr {
		return rule, positioned(n.Line, "mapping.%s: expr is missing", attr)
	}
	return rule, nil
}

// MarshalYAML writes attributes in store.AttributeNames order, in the short
// form unless on_create_only needs saying, and defaults the configuration
// unmapped as null.
func (m Mapping) MarshalYAML() (any, error) {
	out := &yaml.Node{Kind: yaml.MappingNode}
	defaults := DefaultMapping()
	for _, attr := range store.AttributeNames() {
		rule, ok := m[attr]
		if _, byDefault := defaults[attr]; !ok && byDefault {
			// Say so, or reading the output back would map it again.
			out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: attr},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", LineComment: "not mapped"})
		}
		if !ok {
			continue
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: attr}
		value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: rule.Expr.Text}
		if rule.OnCreateOnly || defaultOnCreateOnly(attr) {
			value = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "expr"}, value,
				{Kind: yaml.ScalarNode, Value: "on_create_only"},
				{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(rule.OnCreateOnly)},
			}}
		}
		out.Content = append(out.Content, key, value)
	}
	return out, nil
}

// attributeProgram is one compiled mapping entry.
type attributeProgram struct {
	attr   string
	prg    program
	unique bool // calls unique(): the planner settles the value
}

// compiledMapping evaluates every mapped attribute for one person.
type compiledMapping struct {
	attrs        []attributeProgram // string attributes, in store.AttributeNames order
	active       *program           // nil: active follows the lifecycle alone
	onCreateOnly []string
}

func compileMapping(env *cel.Env, cfgName string, m Mapping, refs *fieldRefs) (compiledMapping, []error) {
	var cm compiledMapping
	var errs []error
	if _, ok := m[store.AttrUserName]; !ok {
		errs = append(errs, configError(cfgName, 0, "mapping.userName", errors.New("must be mapped: every identity needs a userName")))
	}
	for _, attr := range store.AttributeNames() {
		rule, ok := m[attr]
		if !ok {
			continue
		}
		want := cel.StringType
		if attr == store.AttrActive {
			want = cel.BoolType
		}
		prg, checked, err := compileExpr(env, rule.Expr.Text, want)
		if err != nil {
			errs = append(errs, configError(cfgName, rule.Expr.line, "mapping."+attr, err))
			continue
		}
		refs.add(checked)
		if rule.OnCreateOnly {
			cm.onCreateOnly = append(cm.onCreateOnly, attr)
		}
		if attr == store.AttrActive {
			cm.active = &prg
			continue
		}
		cm.attrs = append(cm.attrs, attributeProgram{attr: attr, prg: prg, unique: usesUnique(checked)})
	}
	return cm, errs
}

// evaluate maps one person. lifecycleActive is the lifecycle's decision; the
// active expression can only narrow it, so it is not even evaluated for
// someone the lifecycle keeps inactive.
func (cm *compiledMapping) evaluate(ctx context.Context, act *recordActivation, lifecycleActive bool) (store.Attributes, error) {
	var a store.Attributes
	for i := range cm.attrs {
		ap := &cm.attrs[i]
		v, err := evalString(ctx, ap.prg, act)
		if err != nil {
			return store.Attributes{}, &personError{PersonID: act.rec.ID, Attribute: ap.attr, Err: err}
		}
		a.Set(ap.attr, v)
	}
	if a.UserName == "" {
		return store.Attributes{}, &personError{PersonID: act.rec.ID, Attribute: store.AttrUserName, Err: errEmptyUserName}
	}
	if strings.HasPrefix(a.UserName, "@") {
		return store.Attributes{}, &personError{PersonID: act.rec.ID, Attribute: store.AttrUserName, Err: errEmptyLogin}
	}
	a.Active = lifecycleActive
	if lifecycleActive && cm.active != nil {
		active, err := evalBool(ctx, *cm.active, act)
		if err != nil {
			return store.Attributes{}, &personError{PersonID: act.rec.ID, Attribute: store.AttrActive, Err: err}
		}
		a.Active = active
	}
	return a, nil
}

func evalString(ctx context.Context, prg program, act *recordActivation) (string, error) {
	v, err := prg.eval(ctx, act)
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", fmt.Errorf("yields %s, want string", v.Type())
	}
	return string(s), nil
}

func evalBool(ctx context.Context, prg program, act *recordActivation) (bool, error) {
	v, err := prg.eval(ctx, act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("yields %s, want bool", v.Type())
	}
	return bool(b), nil
}

// configError places a problem Compile found: the file, the YAML line,
// the configuration path, then the message, one line per problem (an
// expression's messages start with line:column within the expression).
func configError(cfgName string, line int, path string, err error) error {
	prefix := path
	switch {
	case cfgName != "" && line > 0:
		prefix = fmt.Sprintf("%s:%d: %s", cfgName, line, path)
	case cfgName != "":
		prefix = cfgName + ": " + path
	}
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = prefix + ": " + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

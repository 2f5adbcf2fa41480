package mirror

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/personio-scim/personio-scim/personio"
)

// fieldCustom is the CEL variable holding custom attributes; the other
// variables are the record's standard fields under personio's Field* names.
const fieldCustom = "custom"

// recordFieldNames lists every CEL variable in record order, the order
// SourceFields reports them in: the record fields expressions may read,
// then the custom attributes.
func recordFieldNames() []string {
	var names []string
	for _, f := range personio.RecordFields() {
		if f.Mapped {
			names = append(names, f.Name)
		}
	}
	return append(names, fieldCustom)
}

func fieldType(name string) *cel.Type {
	switch name {
	case personio.FieldCostCenters:
		return cel.ListType(cel.StringType)
	case fieldCustom:
		return cel.MapType(cel.StringType, cel.StringType)
	}
	return cel.StringType
}

// newEnv builds the one CEL environment every expression is checked in: the
// record fields as variables, the helpers people need for names and logins,
// the standard string extension and optional values (for custom attributes
// a person may lack).
func newEnv() (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, 32)
	for _, name := range recordFieldNames() {
		opts = append(opts, cel.Variable(name, fieldType(name)))
	}
	opts = append(opts, ext.Strings(), cel.OptionalTypes())
	opts = append(opts, helperFunctions()...)
	opts = append(opts, uniqueOptions()...)
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return env, nil
}

func helperFunctions() []cel.EnvOption {
	str, strList := cel.StringType, cel.ListType(cel.StringType)
	unary := func(name string, f func(string) string) cel.EnvOption {
		return cel.Function(name, cel.Overload("mirror_"+name+"_string", []*cel.Type{str}, str,
			cel.UnaryBinding(func(v ref.Val) ref.Val { return types.String(f(string(v.(types.String)))) })))
	}
	return []cel.EnvOption{
		unary("lower", strings.ToLower),
		unary("upper", strings.ToUpper),
		unary("trim", strings.TrimSpace),
		unary("translit", translit),
		unary("login", login),
		cel.Function("join", cel.Overload("mirror_join_list_string", []*cel.Type{strList, str}, str,
			cel.BinaryBinding(joinList))),
		cel.Function("first", cel.Overload("mirror_first_list", []*cel.Type{strList}, str,
			cel.UnaryBinding(firstOfList))),
		cel.Function("default", cel.Overload("mirror_default_string_string", []*cel.Type{str, str}, str,
			cel.BinaryBinding(func(v, fallback ref.Val) ref.Val {
				if strings.TrimSpace(string(v.(types.String))) == "" {
					return fallback
				}
				return v
			}))),
		cel.Function("format_date", cel.Overload("mirror_format_date_string_string", []*cel.Type{str, str}, str,
			cel.BinaryBinding(func(date, layout ref.Val) ref.Val {
				s, err := formatDate(string(date.(types.String)), string(layout.(types.String)))
				if err != nil {
					return types.NewErrFromString(err.Error())
				}
				return types.String(s)
			}))),
	}
}

func joinList(list, sep ref.Val) ref.Val {
	parts, err := stringsOf(list)
	if err != nil {
		return types.NewErrFromString(err.Error())
	}
	return types.String(strings.Join(parts, string(sep.(types.String))))
}

func firstOfList(list ref.Val) ref.Val {
	l, ok := list.(traits.Lister)
	if !ok {
		return types.NewErrFromString(errFirstWantsList)
	}
	if l.Size() == types.IntZero {
		return types.String("")
	}
	return l.Get(types.IntZero)
}

func stringsOf(list ref.Val) ([]string, error) {
	native, err := list.ConvertToNative(reflect.TypeFor[[]string]())
	if err != nil {
		return nil, errors.New(errWantStringList)
	}
	return native.([]string), nil
}

// recordActivation hands a record's fields to CEL without building a map
// per person: names resolve straight to the record. One activation serves
// every expression evaluated for one person and is not shared.
type recordActivation struct {
	rec    *personio.Record
	custom ref.Val // built on first use: most configurations never read it
	// attempt is which candidate unique() yields: 0 in the first
	// evaluation, more when the planner looks for a free one.
	attempt int
	fits    int8 // fitsSizeBounds: 0 not known yet, 1 yes, -1 no
}

// fitsSizeBounds is asked once per expression: the answer is kept.
func (a *recordActivation) fitsSizeBounds() bool {
	if a.fits == 0 {
		a.fits = -1
		if fitsSizeBounds(a.rec) {
			a.fits = 1
		}
	}
	return a.fits > 0
}

func newRecordActivation(rec *personio.Record) *recordActivation {
	return &recordActivation{rec: rec}
}

func (a *recordActivation) ResolveName(name string) (any, bool) {
	r := a.rec
	if name == uniqueAttempt {
		return types.Int(a.attempt), true
	}
	if name == fieldCustom {
		if a.custom == nil {
			a.custom = types.NewStringStringMap(types.DefaultTypeAdapter, customByKeyAndLabel(r.Custom))
		}
		return a.custom, true
	}
	f, ok := personio.LookupField(name)
	if !ok || !f.Mapped {
		return nil, false
	}
	if f.Kind == personio.KindList {
		return types.NewStringList(types.DefaultTypeAdapter, f.Strings(r)), true
	}
	return types.String(f.Value(r)), true
}

func (a *recordActivation) Parent() interpreter.Activation { return nil }

// customByKeyAndLabel indexes custom attributes by their dynamic_N key and by
// their label, so expressions can use whichever is clearer. A key always wins
// over a label; of two attributes with one label the smaller key wins, so the
// answer does not depend on map order.
func customByKeyAndLabel(attrs map[string]personio.CustomAttribute) map[string]string {
	m := make(map[string]string, 2*len(attrs))
	for key, a := range attrs {
		m[key] = a.Value
	}
	labelOwner := make(map[string]string, len(attrs))
	for key, a := range attrs {
		if a.Label == "" {
			continue
		}
		if _, isKey := attrs[a.Label]; isKey {
			continue
		}
		if owner, ok := labelOwner[a.Label]; ok && owner < key {
			continue
		}
		labelOwner[a.Label] = key
		m[a.Label] = a.Value
	}
	return m
}

// program is a compiled expression with the source positions its
// evaluation errors are reported at.
//
// prg is the guarded form: cost limit and interrupt checks. fast, when
// set, is the same expression without what cannot matter for it: without a
// cost tracker because its static estimate fits costLimit for a record
// within the size bounds, and without interrupt checks and a context
// unless it loops.
type program struct {
	prg   cel.Program
	fast  cel.Program
	loops bool
	info  *celast.SourceInfo
}

// costLimit bounds one evaluation of one expression for one person. Real
// mappings cost tens to hundreds; nested comprehensions over a list can
// cost billions, which would burn CPU long after the caller gave up.
const costLimit = 100_000

// interruptEvery is how many comprehension iterations pass between two
// checks whether the run or request was cancelled.
const interruptEvery = 100

// compileExpr parses and type-checks one expression and plans it for
// evaluation. Errors give line:column within the expression; the caller adds
// where the expression stands in the configuration.
func compileExpr(env *cel.Env, text string, want *cel.Type) (program, *celast.AST, error) {
	if strings.TrimSpace(text) == "" {
		return program{}, nil, errors.New("1:1: the expression is empty")
	}
	checked, iss := env.Compile(text)
	if iss.Err() != nil {
		return program{}, nil, issuesError(iss)
	}
	if got := checked.OutputType(); !got.IsExactType(want) {
		return program{}, nil, fmt.Errorf("1:1: the expression yields %s, want %s", got, want)
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(costLimit), cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return program{}, nil, fmt.Errorf("plan expression: %w", err)
	}
	native := checked.NativeRep()
	p := program{prg: prg, loops: hasComprehension(native), info: native.SourceInfo()}
	if staticallyBounded(env, checked) {
		opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
		if p.loops {
			opts = append(opts, cel.InterruptCheckFrequency(interruptEvery))
		}
		if p.fast, err = env.Program(checked, opts...); err != nil {
			return program{}, nil, fmt.Errorf("plan expression: %w", err)
		}
	}
	return p, native, nil
}

// eval runs the program for one person. Its errors never carry a value
// from the record: CEL's own messages quote them ("invalid RFC 3339
// timestamp \"Paul\""), and reports and logs must not hold personal data.
func (p program) eval(ctx context.Context, act *recordActivation) (ref.Val, error) {
	var v ref.Val
	var err error
	switch {
	case p.fast == nil || !act.fitsSizeBounds():
		v, _, err = p.prg.ContextEval(ctx, act)
	case p.loops:
		v, _, err = p.fast.ContextEval(ctx, act)
	default:
		v, _, err = p.fast.Eval(act)
	}
	if err != nil {
		return nil, p.safeError(ctx, err)
	}
	return v, nil
}

// evalError is an expression that failed for one person: where in the
// expression, and what kind of failure, without the values involved.
type evalError struct {
	Line, Column int // within the expression; 0 when CEL did not say
	Kind         string
	cause        error // kept for errors.Is (cancellation), never printed
}

func (e *evalError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Kind)
	}
	return e.Kind
}

func (e *evalError) Unwrap() error { return e.cause }

func (p program) safeError(ctx context.Context, err error) error {
	out := &evalError{Kind: evalErrorKind(err), cause: err}
	if ctxErr := ctx.Err(); ctxErr != nil {
		out.Kind, out.cause = "evaluation cancelled", ctxErr
	}
	var celErr *types.Err
	if errors.As(err, &celErr) && celErr.NodeID() != 0 && p.info != nil {
		loc := p.info.GetStartLocation(celErr.NodeID())
		if loc.Line() > 0 {
			out.Line, out.Column = loc.Line(), loc.Column()+1
		}
	}
	return out
}

// evalErrorKind names a CEL evaluation error by its kind. Only our own
// helpers' messages are passed on whole: they are written never to repeat
// a value.
func evalErrorKind(err error) string {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) {
		if cancelled.Cause == interpreter.CostLimitExceeded {
			return fmt.Sprintf("the expression exceeds the cost limit of %d", costLimit)
		}
		return "evaluation cancelled"
	}
	msg := err.Error()
	switch msg {
	case errFormatDate, errWantStringList, errFirstWantsList, errUniqueEmpty, errUniqueExhausted:
		return msg
	}
	kinds := []struct{ match, kind string }{
		{"no such overload", "no function matches the argument types"},
		{"no such key", "a map key is missing"},
		{"no such attribute", "an attribute is missing"},
		{"index out of", "a list index is out of range"},
		{"division by zero", "division by zero"},
		{"modulus by zero", "modulus by zero"},
		{"overflow", "a number overflows"},
		{"timestamp", "a value is not a valid timestamp"},
		{"duration", "a value is not a valid duration"},
		{"regex", "a regular expression is invalid"},
		{"conversion", "a value cannot be converted"},
		{"parsing", "a value cannot be converted"},
		{"range", "a value is out of range"},
	}
	for _, k := range kinds {
		if strings.Contains(msg, k.match) {
			return k.kind
		}
	}
	return "the expression failed"
}

func issuesError(iss *cel.Issues) error {
	errs := make([]error, 0, len(iss.Errors()))
	for _, e := range iss.Errors() {
		msg := strings.TrimSuffix(e.Message, " (in container '')")
		errs = append(errs, fmt.Errorf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, msg))
	}
	return errors.Join(errs...)
}

// fieldRefs are the record fields expressions read, found in the checked
// AST. Custom attributes are tracked by key so that only the ones in use
// are kept: they may hold anything a company chose to record.
type fieldRefs struct {
	fields     map[string]bool
	customKeys map[string]bool
	allCustom  bool // custom is read in a way that names no constant key
}

func newFieldRefs() fieldRefs {
	return fieldRefs{fields: map[string]bool{}, customKeys: map[string]bool{}}
}

// sourceFields lists the standard fields in record order, then the custom
// attributes named by dynamic_N key, sorted.
func (r *fieldRefs) sourceFields() []string {
	out := slices.DeleteFunc(recordFieldNames(), func(f string) bool { return f == fieldCustom || !r.fields[f] })
	var keys []string
	for key := range r.customKeys {
		if personio.IsCustomField(key) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return append(out, keys...)
}

// customLabels lists the custom attributes named by label, sorted.
func (r *fieldRefs) customLabels() []string {
	var labels []string
	for key := range r.customKeys {
		if !personio.IsCustomField(key) {
			labels = append(labels, key)
		}
	}
	slices.Sort(labels)
	return labels
}

// add records the record fields a checked expression references. Identifiers
// are resolved through the checker's reference map, so a string that merely
// contains a field name does not count.
func (r *fieldRefs) add(a *celast.AST) {
	known := map[string]bool{}
	for _, name := range recordFieldNames() {
		known[name] = true
	}
	refMap := a.ReferenceMap()
	for _, ident := range celast.MatchDescendants(celast.NavigateAST(a), celast.KindMatcher(celast.IdentKind)) {
		name := ident.AsIdent()
		if ref, ok := refMap[ident.ID()]; ok && ref.Name != "" {
			name = ref.Name
		}
		if !known[name] {
			continue
		}
		r.fields[name] = true
		if name != fieldCustom {
			continue
		}
		if key, ok := constantCustomKey(ident); ok {
			r.customKeys[key] = true
		} else {
			r.allCustom = true
		}
	}
}

// constantCustomKey finds the key in custom.key, custom["key"],
// custom[?"key"], custom.?key, has(custom.key) and "key" in custom.
func constantCustomKey(ident celast.NavigableExpr) (string, bool) {
	parent, ok := ident.Parent()
	if !ok {
		return "", false
	}
	switch parent.Kind() {
	case celast.SelectKind:
		sel := parent.AsSelect()
		if sel.Operand().ID() == ident.ID() {
			return sel.FieldName(), true
		}
	case celast.CallKind:
		call := parent.AsCall()
		args := call.Args()
		if len(args) != 2 || call.IsMemberFunction() {
			return "", false
		}
		switch call.FunctionName() {
		case operators.Index, operators.OptIndex, operators.OptSelect:
			if args[0].ID() == ident.ID() {
				return stringLiteral(args[1])
			}
		case operators.In:
			if args[1].ID() == ident.ID() {
				return stringLiteral(args[0])
			}
		}
	}
	return "", false
}

func stringLiteral(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// Package mirror turns Personio records into desired identities and groups:
// the configuration, the CEL attribute mapping, the lifecycle policy and the
// group rules. Everything here is a pure function of a record, a date and the
// configuration; the sync engine that fetches, diffs and applies lives on top.
package mirror

import (
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
		unary("translit", Translit),
		unary("login", Login),
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
				s, err := FormatDate(string(date.(types.String)), string(layout.(types.String)))
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
		return types.NewErrFromString("first: want a list of strings")
	}
	if l.Size() == types.IntZero {
		return types.String("")
	}
	return l.Get(types.IntZero)
}

func stringsOf(list ref.Val) ([]string, error) {
	native, err := list.ConvertToNative(reflect.TypeFor[[]string]())
	if err != nil {
		return nil, errors.New("want a list of strings")
	}
	return native.([]string), nil
}

// FormatDate renders a YYYY-MM-DD date with a layout in which YYYY, MM and
// DD stand for the year, month and day; everything else is copied. An unset
// date ("") yields "". The error never repeats the value, which is personal
// data.
func FormatDate(date, layout string) (string, error) {
	if date == "" {
		return "", nil
	}
	d, err := personio.ParseDate(date)
	if err != nil {
		return "", errors.New("format_date: the date is not YYYY-MM-DD")
	}
	r := strings.NewReplacer(
		"YYYY", fmt.Sprintf("%04d", d.Year),
		"MM", fmt.Sprintf("%02d", int(d.Month)),
		"DD", fmt.Sprintf("%02d", d.Day),
	)
	return r.Replace(layout), nil
}

// Translit spells a name in plain ASCII Latin letters the way German-speaking
// HR expects: ä→ae, ö→oe, ü→ue, ß→ss; other Latin letters lose their accents
// (é→e, ø→o, ł→l, ç→c) and ligatures are spelled out (æ→ae, œ→oe). Combining
// accents (decomposed input) are dropped, a combining diaeresis after a, o or
// u becomes e as for the composed letter. Letters of other scripts are left
// as they are.
func Translit(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	var last rune
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
			last = r
		case r == 0x0308 && strings.ContainsRune("aouAOU", last):
			b.WriteByte('e')
			last = 'e'
		case 0x0300 <= r && r <= 0x036f: // combining accents
		default:
			if plain, ok := latinPlain(r); ok {
				b.WriteString(plain)
				last = rune(plain[len(plain)-1])
				continue
			}
			b.WriteRune(r)
			last = r
		}
	}
	return b.String()
}

// Login turns a name into a login fragment: transliterated, lower case,
// spaces as dots, only a-z, 0-9, '.', '-' and '_' kept (letters of other
// scripts are dropped), no repeated or leading/trailing separators.
// "Jürgen Groß" → "juergen.gross".
func Login(s string) string {
	s = strings.ToLower(Translit(s))
	var b strings.Builder
	b.Grow(len(s))
	var last byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '_':
		case c == ' ', c == '\t':
			c = '.'
		default:
			continue
		}
		if isLoginSeparator(c) && (b.Len() == 0 || isLoginSeparator(last)) {
			continue
		}
		b.WriteByte(c)
		last = c
	}
	return strings.TrimRight(b.String(), ".-_")
}

func isLoginSeparator(c byte) bool { return c == '.' || c == '-' || c == '_' }

// latinPlain returns the ASCII spelling of a Latin letter with an accent,
// stroke or ligature.
func latinPlain(r rune) (string, bool) {
	switch r {
	case 'ä':
		return "ae", true
	case 'ö':
		return "oe", true
	case 'ü':
		return "ue", true
	case 'Ä':
		return "Ae", true
	case 'Ö':
		return "Oe", true
	case 'Ü':
		return "Ue", true
	case 'ß':
		return "ss", true
	case 'ẞ':
		return "SS", true
	case 'æ':
		return "ae", true
	case 'Æ':
		return "Ae", true
	case 'œ':
		return "oe", true
	case 'Œ':
		return "Oe", true
	case 'þ':
		return "th", true
	case 'Þ':
		return "Th", true
	case 'ĳ':
		return "ij", true
	case 'Ĳ':
		return "IJ", true
	case 'à', 'á', 'â', 'ã', 'å', 'ā', 'ă', 'ą', 'ǎ':
		return "a", true
	case 'À', 'Á', 'Â', 'Ã', 'Å', 'Ā', 'Ă', 'Ą', 'Ǎ':
		return "A", true
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return "c", true
	case 'Ç', 'Ć', 'Ĉ', 'Ċ', 'Č':
		return "C", true
	case 'ð', 'ď', 'đ':
		return "d", true
	case 'Ð', 'Ď', 'Đ':
		return "D", true
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return "e", true
	case 'È', 'É', 'Ê', 'Ë', 'Ē', 'Ĕ', 'Ė', 'Ę', 'Ě':
		return "E", true
	case 'ĝ', 'ğ', 'ġ', 'ģ':
		return "g", true
	case 'Ĝ', 'Ğ', 'Ġ', 'Ģ':
		return "G", true
	case 'ĥ', 'ħ':
		return "h", true
	case 'Ĥ', 'Ħ':
		return "H", true
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı', 'ǐ':
		return "i", true
	case 'Ì', 'Í', 'Î', 'Ï', 'Ĩ', 'Ī', 'Ĭ', 'Į', 'İ', 'Ǐ':
		return "I", true
	case 'ĵ':
		return "j", true
	case 'Ĵ':
		return "J", true
	case 'ķ', 'ĸ':
		return "k", true
	case 'Ķ':
		return "K", true
	case 'ĺ', 'ļ', 'ľ', 'ŀ', 'ł':
		return "l", true
	case 'Ĺ', 'Ļ', 'Ľ', 'Ŀ', 'Ł':
		return "L", true
	case 'ñ', 'ń', 'ņ', 'ň', 'ŉ', 'ŋ':
		return "n", true
	case 'Ñ', 'Ń', 'Ņ', 'Ň', 'Ŋ':
		return "N", true
	case 'ò', 'ó', 'ô', 'õ', 'ø', 'ō', 'ŏ', 'ő', 'ǒ', 'ơ':
		return "o", true
	case 'Ò', 'Ó', 'Ô', 'Õ', 'Ø', 'Ō', 'Ŏ', 'Ő', 'Ǒ', 'Ơ':
		return "O", true
	case 'ŕ', 'ŗ', 'ř':
		return "r", true
	case 'Ŕ', 'Ŗ', 'Ř':
		return "R", true
	case 'ś', 'ŝ', 'ş', 'š', 'ș', 'ſ':
		return "s", true
	case 'Ś', 'Ŝ', 'Ş', 'Š', 'Ș':
		return "S", true
	case 'ţ', 'ť', 'ŧ', 'ț':
		return "t", true
	case 'Ţ', 'Ť', 'Ŧ', 'Ț':
		return "T", true
	case 'ù', 'ú', 'û', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų', 'ǔ', 'ư':
		return "u", true
	case 'Ù', 'Ú', 'Û', 'Ũ', 'Ū', 'Ŭ', 'Ů', 'Ű', 'Ų', 'Ǔ', 'Ư':
		return "U", true
	case 'ŵ':
		return "w", true
	case 'Ŵ':
		return "W", true
	case 'ý', 'ÿ', 'ŷ':
		return "y", true
	case 'Ý', 'Ÿ', 'Ŷ':
		return "Y", true
	case 'ź', 'ż', 'ž':
		return "z", true
	case 'Ź', 'Ż', 'Ž':
		return "Z", true
	}
	return "", false
}

// recordActivation hands a record's fields to CEL without building a map
// per person: names resolve straight to the record. One activation serves
// every expression evaluated for one person and is not shared.
type recordActivation struct {
	rec    *personio.Record
	custom ref.Val // built on first use: most configurations never read it
}

func newRecordActivation(rec *personio.Record) *recordActivation {
	return &recordActivation{rec: rec}
}

func (a *recordActivation) ResolveName(name string) (any, bool) {
	r := a.rec
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

// compileExpr parses and type-checks one expression and plans it for
// evaluation. Errors give line:column within the expression; the caller adds
// where the expression stands in the configuration.
func compileExpr(env *cel.Env, text string, want *cel.Type) (cel.Program, *celast.AST, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil, errors.New("1:1: the expression is empty")
	}
	checked, iss := env.Compile(text)
	if iss.Err() != nil {
		return nil, nil, issuesError(iss)
	}
	if got := checked.OutputType(); !got.IsExactType(want) {
		return nil, nil, fmt.Errorf("1:1: the expression yields %s, want %s", got, want)
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, fmt.Errorf("plan expression: %w", err)
	}
	return prg, checked.NativeRep(), nil
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

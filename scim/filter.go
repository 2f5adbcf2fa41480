package scim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	fp "github.com/scim2/filter-parser/v2"
)

// maxFilterLength bounds the text handed to the third-party parser, whose
// cost grows with nesting; real client filters are far shorter.
const maxFilterLength = 4096

// filterError is a filter the server cannot evaluate. It answers 400
// invalidFilter with its text as the detail, which only ever repeats what the
// client sent.
type filterError struct{ detail string }

func (e *filterError) Error() string { return e.detail }

func invalidFilter(format string, args ...any) error {
	return &filterError{detail: fmt.Sprintf(format, args...)}
}

// parseFilter parses a filter expression. The parser is third-party code
// fed client input, so a panic in it becomes an invalid filter as well.
func parseFilter(s string) (expr fp.Expression, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, invalidFilter("the filter is empty")
	case len(s) > maxFilterLength:
		return nil, invalidFilter("the filter is longer than %d bytes", maxFilterLength)
	}
	if simple, ok := parseSimpleFilter(s); ok {
		return simple, nil
	}
	s, extra := rewriteClientFilter(s)
	defer func() {
		if recover() != nil {
			expr, err = nil, invalidFilter("the filter could not be parsed")
		}
	}()
	expr, err = fp.ParseFilter([]byte(s))
	if err != nil || expr == nil {
		return nil, invalidFilter(`the filter could not be parsed; write it as in RFC 7644, e.g. userName eq "jane@example.com"`)
	}
	if err := joinValuePathComparisons(expr, extra); err != nil {
		return nil, err
	}
	return expr, nil
}

// attrKind is how an attribute compares.
type attrKind int

const (
	kindString  attrKind = iota
	kindBool             // active, primary
	kindTime             // meta.created, meta.lastModified
	kindMulti            // emails, phoneNumbers, groups, members: any element may match
	kindComplex          // name, manager without sub-attribute: only "pr" applies
)

// element is one value of a multi-valued complex attribute. Identities keep
// one email and one phone, and groups keep member ids, so elements are
// built on the fly and passed by value to stay off the heap.
type element struct {
	value   string
	display string
	typ     string
	primary bool
}

// elementSchema says which sub-attributes the elements of one multi-valued
// attribute have.
type elementSchema struct {
	valueExact bool // ids compare exactly, email addresses ignore case
	hasDisplay bool
	hasPrimary bool
	// needsDisplay is set by the compiler when a filter reads display, so
	// member lists only look names up when asked.
	needsDisplay *bool
}

// attribute is a filterable attribute of a resource type T resolved from a
// path: how to read it and how it compares.
type attribute[T any] struct {
	name    string
	kind    attrKind
	exact   bool
	str     func(T) string
	flag    func(T) bool
	when    func(T) time.Time
	present func(T) bool
	each    func(T, func(element) bool) bool
	elems   elementSchema
	sub     string // the element field a kindMulti attribute compares
}

// compiler turns a parsed filter into a predicate over T. It is generic so
// that users, groups and the elements inside value paths share one
// implementation of the operators.
type compiler[T any] struct {
	resolve func(fp.AttributePath) (attribute[T], error)
}

func (c compiler[T]) compile(expr fp.Expression) (func(T) bool, error) {
	switch e := expr.(type) {
	case *fp.LogicalExpression:
		return c.logical(e)
	case *fp.NotExpression:
		if e.Expression == nil {
			return nil, invalidFilter("not() needs an expression")
		}
		inner, err := c.compile(e.Expression)
		if err != nil {
			return nil, err
		}
		return func(v T) bool { return !inner(v) }, nil
	case *fp.AttributeExpression:
		return c.comparison(e)
	case *fp.ValuePath:
		return c.valuePath(e)
	}
	return nil, invalidFilter("unsupported filter expression")
}

func (c compiler[T]) logical(e *fp.LogicalExpression) (func(T) bool, error) {
	if e.Left == nil || e.Right == nil {
		return nil, invalidFilter("%q needs two operands", e.Operator)
	}
	left, err := c.compile(e.Left)
	if err != nil {
		return nil, err
	}
	right, err := c.compile(e.Right)
	if err != nil {
		return nil, err
	}
	switch e.Operator {
	case fp.AND:
		return func(v T) bool { return left(v) && right(v) }, nil
	case fp.OR:
		return func(v T) bool { return left(v) || right(v) }, nil
	}
	return nil, invalidFilter("unknown logical operator %q", e.Operator)
}

func (c compiler[T]) comparison(e *fp.AttributeExpression) (func(T) bool, error) {
	a, err := c.resolve(e.AttributePath)
	if err != nil {
		return nil, err
	}
	switch a.kind {
	case kindString:
		test, err := stringTest(e.Operator, e.CompareValue, a.exact, a.name)
		if err != nil {
			return nil, err
		}
		get := a.str
		return func(v T) bool { return test(get(v)) }, nil
	case kindBool:
		test, err := boolTest(e.Operator, e.CompareValue, a.name)
		if err != nil {
			return nil, err
		}
		get := a.flag
		return func(v T) bool { return test(get(v)) }, nil
	case kindTime:
		test, err := timeTest(e.Operator, e.CompareValue, a.name)
		if err != nil {
			return nil, err
		}
		get := a.when
		return func(v T) bool { return test(get(v)) }, nil
	case kindComplex:
		if e.Operator != fp.PR {
			return nil, invalidFilter("%s is complex; compare one of its sub-attributes, e.g. %s.value", a.name, a.name)
		}
		return a.present, nil
	case kindMulti:
		field := fp.AttributePath{AttributeName: a.sub}
		test, err := elementCompiler(a.elems).comparison(&fp.AttributeExpression{
			AttributePath: field, Operator: e.Operator, CompareValue: e.CompareValue,
		})
		if err != nil {
			return nil, err
		}
		each := a.each
		return func(v T) bool { return each(v, test) }, nil
	}
	return nil, invalidFilter("%s cannot be filtered", a.name)
}

func (c compiler[T]) valuePath(e *fp.ValuePath) (func(T) bool, error) {
	a, err := c.resolve(e.AttributePath)
	if err != nil {
		return nil, err
	}
	if a.kind != kindMulti || e.AttributePath.SubAttribute != nil {
		return nil, invalidFilter("%s[…] needs a multi-valued attribute such as emails", e.AttributePath)
	}
	if e.ValueFilter == nil {
		return nil, invalidFilter("%s[] needs a filter", a.name)
	}
	inner, err := elementCompiler(a.elems).compile(e.ValueFilter)
	if err != nil {
		return nil, err
	}
	each := a.each
	return func(v T) bool { return each(v, inner) }, nil
}

// elementCompiler compiles the filter inside a value path, such as
// type eq "work" and value co "@" in emails[…].
func elementCompiler(s elementSchema) compiler[element] {
	return compiler[element]{resolve: func(p fp.AttributePath) (attribute[element], error) {
		if p.URIPrefix != nil || p.SubAttribute != nil {
			return attribute[element]{}, invalidFilter("%s is not a sub-attribute", p)
		}
		return elementField(p.AttributeName, s)
	}}
}

func elementField(name string, s elementSchema) (attribute[element], error) {
	switch {
	case strings.EqualFold(name, "value"):
		return attribute[element]{name: "value", kind: kindString, exact: s.valueExact,
			str: func(e element) string { return e.value }}, nil
	case strings.EqualFold(name, "type"):
		return attribute[element]{name: "type", kind: kindString,
			str: func(e element) string { return e.typ }}, nil
	case strings.EqualFold(name, "display") && s.hasDisplay:
		if s.needsDisplay != nil {
			*s.needsDisplay = true
		}
		return attribute[element]{name: "display", kind: kindString,
			str: func(e element) string { return e.display }}, nil
	case strings.EqualFold(name, "primary") && s.hasPrimary:
		return attribute[element]{name: "primary", kind: kindBool,
			flag: func(e element) bool { return e.primary }}, nil
	}
	return attribute[element]{}, invalidFilter("unknown sub-attribute %q", name)
}

// multi builds a kindMulti attribute; a path without a sub-attribute
// compares the elements' value, as RFC 7644 section 3.4.2.2 does with
// emails co "example.com".
func multi[T any](name, sub string, s elementSchema, each func(T, func(element) bool) bool) (attribute[T], error) {
	if sub == "" {
		sub = "value"
	}
	if _, err := elementField(sub, elementSchema{hasDisplay: s.hasDisplay, hasPrimary: s.hasPrimary}); err != nil {
		return attribute[T]{}, invalidFilter("unknown attribute %s.%s", name, sub)
	}
	return attribute[T]{name: name, kind: kindMulti, each: each, elems: s, sub: sub}, nil
}

// stringTest compiles a comparison of a string attribute. Unassigned
// attributes are empty: they equal "" and are not equal to anything else,
// and the ordering and substring operators never match them.
func stringTest(op fp.CompareOperator, cmp any, exact bool, name string) (func(string) bool, error) {
	if op == fp.PR {
		return func(s string) bool { return s != "" }, nil
	}
	if cmp == nil {
		switch op {
		case fp.EQ:
			return func(s string) bool { return s == "" }, nil
		case fp.NE:
			return func(s string) bool { return s != "" }, nil
		}
		return nil, invalidFilter("%s %s null is not a comparison", name, op)
	}
	v, err := stringOperand(cmp, name)
	if err != nil {
		return nil, err
	}
	order := compareFold
	if exact {
		order = strings.Compare
	}
	switch op {
	case fp.EQ:
		if exact {
			return func(s string) bool { return s == v }, nil
		}
		return func(s string) bool { return strings.EqualFold(s, v) }, nil
	case fp.NE:
		if exact {
			return func(s string) bool { return s != v }, nil
		}
		return func(s string) bool { return !strings.EqualFold(s, v) }, nil
	case fp.CO:
		if exact {
			return func(s string) bool { return s != "" && strings.Contains(s, v) }, nil
		}
		return func(s string) bool { return s != "" && containsFold(s, v) }, nil
	case fp.SW:
		if exact {
			return func(s string) bool { return s != "" && strings.HasPrefix(s, v) }, nil
		}
		return func(s string) bool { return s != "" && hasPrefixFold(s, v) }, nil
	case fp.EW:
		if exact {
			return func(s string) bool { return s != "" && strings.HasSuffix(s, v) }, nil
		}
		return func(s string) bool { return s != "" && hasSuffixFold(s, v) }, nil
	case fp.GT:
		return func(s string) bool { return s != "" && order(s, v) > 0 }, nil
	case fp.GE:
		return func(s string) bool { return s != "" && order(s, v) >= 0 }, nil
	case fp.LT:
		return func(s string) bool { return s != "" && order(s, v) < 0 }, nil
	case fp.LE:
		return func(s string) bool { return s != "" && order(s, v) <= 0 }, nil
	}
	return nil, invalidFilter("unknown operator %q", op)
}

// stringOperand accepts numbers for string attributes because clients send
// Personio ids unquoted (externalId eq 12345).
func stringOperand(cmp any, name string) (string, error) {
	switch v := cmp.(type) {
	case string:
		return unescapeFilterString(v)
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case json.Number:
		return v.String(), nil
	}
	return "", invalidFilter("%s is a string; compare it with a quoted value", name)
}

// unescapeFilterString resolves the JSON escapes the parser leaves in
// string literals (\" and \\ and \uXXXX).
func unescapeFilterString(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return "", invalidFilter("the string %q has an invalid escape", s)
	}
	return out, nil
}

// boolTest compiles a comparison of a boolean attribute. Strings such as
// "True" are accepted because Entra sends them.
func boolTest(op fp.CompareOperator, cmp any, name string) (func(bool) bool, error) {
	if op == fp.PR {
		return func(bool) bool { return true }, nil
	}
	if op != fp.EQ && op != fp.NE {
		return nil, invalidFilter("%s is a boolean; only eq, ne and pr apply", name)
	}
	var want bool
	switch v := cmp.(type) {
	case bool:
		want = v
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, invalidFilter("%s is a boolean; compare it with true or false", name)
		}
		want = b
	case nil:
		// A boolean attribute always has a value, so it never equals null.
		result := op == fp.NE
		return func(bool) bool { return result }, nil
	default:
		return nil, invalidFilter("%s is a boolean; compare it with true or false", name)
	}
	if op == fp.EQ {
		return func(b bool) bool { return b == want }, nil
	}
	return func(b bool) bool { return b != want }, nil
}

// timeTest compiles a comparison of a dateTime attribute; the operand is an
// xsd:dateTime string.
func timeTest(op fp.CompareOperator, cmp any, name string) (func(time.Time) bool, error) {
	if op == fp.PR {
		return func(t time.Time) bool { return !t.IsZero() }, nil
	}
	if cmp == nil {
		switch op {
		case fp.EQ:
			return func(t time.Time) bool { return t.IsZero() }, nil
		case fp.NE:
			return func(t time.Time) bool { return !t.IsZero() }, nil
		}
		return nil, invalidFilter("%s %s null is not a comparison", name, op)
	}
	s, ok := cmp.(string)
	if !ok {
		return nil, invalidFilter(`%s is a dateTime; compare it with a quoted value such as "2024-05-01T00:00:00Z"`, name)
	}
	want, ok := parseDateTime(s)
	if !ok {
		return nil, invalidFilter(`%q is not a dateTime such as "2024-05-01T00:00:00Z"`, s)
	}
	switch op {
	case fp.EQ:
		return func(t time.Time) bool { return !t.IsZero() && t.Equal(want) }, nil
	case fp.NE:
		return func(t time.Time) bool { return t.IsZero() || !t.Equal(want) }, nil
	case fp.GT:
		return func(t time.Time) bool { return !t.IsZero() && t.After(want) }, nil
	case fp.GE:
		return func(t time.Time) bool { return !t.IsZero() && !t.Before(want) }, nil
	case fp.LT:
		return func(t time.Time) bool { return !t.IsZero() && t.Before(want) }, nil
	case fp.LE:
		return func(t time.Time) bool { return !t.IsZero() && !t.After(want) }, nil
	}
	return nil, invalidFilter("%s is a dateTime; %s does not apply", name, op)
}

// parseDateTime reads xsd:dateTime values as clients write them: RFC 3339
// with any number of fractional digits (Entra sends seven), without a zone
// (taken as UTC), or a bare date.
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

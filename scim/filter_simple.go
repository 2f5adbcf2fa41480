package scim

import (
	"strings"
	"unicode/utf8"

	fp "github.com/scim2/filter-parser/v2"
)

// parseSimpleFilter recognises the one-comparison filters clients send on
// every existence check, such as userName eq "jane@example.com", and builds
// the AST the scim2 parser would build for them. Everything else goes to
// the parser. The parser allocates some two thousand objects for such a
// filter, which made it the largest cost of a lookup; FuzzSimpleFilter
// holds both to the same result.
//
// Accepted: attrName[.subAttr], one or more spaces, "pr" or an operator,
// spaces, and a double-quoted string without escapes or control
// characters. Names follow RFC 7644: an optional "$", a letter, then
// letters, digits, "-" and "_".
func parseSimpleFilter(s string) (*fp.AttributeExpression, bool) {
	name, i, ok := scanAttrName(s, 0)
	if !ok {
		return nil, false
	}
	path := fp.AttributePath{AttributeName: name}
	if i < len(s) && s[i] == '.' {
		sub, j, ok := scanAttrName(s, i+1)
		if !ok {
			return nil, false
		}
		path.SubAttribute, i = &sub, j
	}
	j := skipSpaces(s, i)
	if j == i || j+2 > len(s) {
		return nil, false
	}
	i = j
	op, ok := compareOperator(s[i : i+2])
	if !ok {
		return nil, false
	}
	i += 2
	if op == fp.PR {
		if i != len(s) {
			return nil, false
		}
		return &fp.AttributeExpression{AttributePath: path, Operator: op}, true
	}
	j = skipSpaces(s, i)
	if j == i {
		return nil, false
	}
	value, ok := plainString(s[j:])
	if !ok {
		return nil, false
	}
	return &fp.AttributeExpression{AttributePath: path, Operator: op, CompareValue: value}, true
}

// scanAttrName reads an attribute name starting at i.
func scanAttrName(s string, i int) (string, int, bool) {
	start := i
	if i < len(s) && s[i] == '$' {
		i++
	}
	if i == len(s) || !isAlpha(s[i]) {
		return "", 0, false
	}
	i++
	for i < len(s) && (isAlpha(s[i]) || '0' <= s[i] && s[i] <= '9' || s[i] == '-' || s[i] == '_') {
		i++
	}
	return s[start:i], i, true
}

func isAlpha(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// compareOperator matches an operator case-insensitively and returns it in
// lower case, as the parser does.
func compareOperator(s string) (fp.CompareOperator, bool) {
	for _, op := range []fp.CompareOperator{fp.EQ, fp.NE, fp.CO, fp.SW, fp.EW, fp.GT, fp.LT, fp.GE, fp.LE, fp.PR} {
		if strings.EqualFold(s, string(op)) {
			return op, true
		}
	}
	return "", false
}

// plainString reads a complete "…" literal without escapes: any valid
// UTF-8 except quotes, backslashes and control characters inside.
func plainString(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	body := s[1 : len(s)-1]
	for _, r := range body {
		if r < 0x20 || r == '"' || r == '\\' || r == utf8.RuneError {
			return "", false
		}
	}
	return body, true
}

// userNameEquality recognises the filter of Okta's existence check,
// userName eq "…", in the forms parseSimpleFilter accepts, and returns the
// compared name. The handler answers it from the userName index directly;
// FuzzUserNameEquality holds it to the general path.
func userNameEquality(filter string) (string, bool) {
	s := strings.TrimSpace(filter)
	if len(s) > maxFilterLength {
		return "", false
	}
	name, i, ok := scanAttrName(s, 0)
	if !ok || !strings.EqualFold(name, "userName") {
		return "", false
	}
	j := skipSpaces(s, i)
	if j == i || j+2 > len(s) || !strings.EqualFold(s[j:j+2], string(fp.EQ)) {
		return "", false
	}
	i = j + 2
	j = skipSpaces(s, i)
	if j == i {
		return "", false
	}
	return plainString(s[j:])
}

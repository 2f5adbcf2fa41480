package scim

import (
	"strings"

	fp "github.com/scim2/filter-parser/v2"
)

// rewriteClientFilter turns two spellings real clients send into the
// grammar of RFC 7644, in one pass that leaves string literals intact:
//
//   - the PATCH-path form of a value filter inside a filter,
//     emails[type eq "work"].value eq "x" (Entra-style clients build it),
//     becomes emails[type eq "work"], and the comparison after it is
//     returned in extra, at the position of that value path among all the
//     filter's value paths, for joinValuePathComparisons to add with "and"
//     (the parser takes no parentheses inside brackets, so the text alone
//     cannot say it);
//   - lower-case hex digits of \u escapes in strings ("\u00fc", as Python's
//     JSON encoder writes them) become upper case, the only form the
//     parser reads; the escape means the same either way.
//
// A filter that already follows the grammar comes back unchanged, with
// no extra comparisons.
func rewriteClientFilter(s string) (string, []string) {
	var b strings.Builder
	var extra []string
	paths := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			i = appendStringLiteral(&b, s, i)
			continue
		case c == '[':
			paths++
		case c == ']' && paths > 0 && i+1 < len(s) && s[i+1] == '.':
			if cmp, tail, ok := valuePathComparison(s, i+1); ok {
				for len(extra) < paths-1 {
					extra = append(extra, "")
				}
				extra = append(extra, cmp)
				b.WriteByte(']')
				i = tail
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), extra
}

// joinValuePathComparisons adds the comparisons rewriteClientFilter took
// out of the text to the value paths of expr they belong to, visiting the
// value paths in the order they appear in the text.
func joinValuePathComparisons(expr fp.Expression, extra []string) error {
	n := 0
	var failed error
	var walk func(e fp.Expression)
	walk = func(e fp.Expression) {
		switch v := e.(type) {
		case *fp.LogicalExpression:
			walk(v.Left)
			walk(v.Right)
		case *fp.NotExpression:
			walk(v.Expression)
		case *fp.ValuePath:
			if n < len(extra) && extra[n] != "" {
				cmp, err := fp.ParseFilter([]byte(extra[n]))
				if err != nil || cmp == nil {
					failed = invalidFilter("the comparison %q after a value filter could not be parsed", extra[n])
				} else {
					v.ValueFilter = &fp.LogicalExpression{Left: v.ValueFilter, Operator: fp.AND, Right: cmp}
				}
			}
			n++
		}
	}
	walk(expr)
	return failed
}

// appendStringLiteral copies the string literal starting at s[i] (a quote)
// to b, upper-casing the hex digits of \u escapes, and returns the index
// after it. An unterminated literal is copied to the end.
func appendStringLiteral(b *strings.Builder, s string, i int) int {
	b.WriteByte('"')
	for i++; i < len(s); i++ {
		c := s[i]
		b.WriteByte(c)
		switch c {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(s) {
				return len(s)
			}
			i++
			b.WriteByte(s[i])
			if s[i] == 'u' && i+4 < len(s) && isHex(s[i+1:i+5]) {
				b.WriteString(strings.ToUpper(s[i+1 : i+5]))
				i += 4
			}
		}
	}
	return len(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// valuePathComparison reads ".sub op value" (or ".sub pr") starting at the
// dot at s[i]. It returns the comparison as the value path's filter needs
// it and the index after it.
func valuePathComparison(s string, i int) (string, int, bool) {
	sub, j, ok := scanAttrName(s, i+1)
	if !ok {
		return "", 0, false
	}
	k := skipSpaces(s, j)
	if k == j || k+2 > len(s) {
		return "", 0, false
	}
	op, ok := compareOperator(s[k : k+2])
	if !ok || k+2 < len(s) && s[k+2] != ' ' && s[k+2] != ')' {
		return "", 0, false
	}
	k += 2
	if op == "pr" {
		return sub + " pr", k, true
	}
	v := skipSpaces(s, k)
	if v == k || v == len(s) {
		return "", 0, false
	}
	end := v
	if s[v] == '"' {
		var lit strings.Builder
		end = appendStringLiteral(&lit, s, v)
		return sub + " " + string(op) + " " + lit.String(), end, true
	}
	for end < len(s) && s[end] != ' ' && s[end] != ')' {
		end++
	}
	return sub + " " + string(op) + " " + s[v:end], end, true
}

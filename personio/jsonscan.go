package personio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
)

// A v1 page of 100 employees is a quarter of a megabyte of nested objects,
// and the client reads few of its values. encoding/json would re-validate
// every nested value it is asked to decode; this scanner walks a document
// that json.Valid has accepted once, or checks it as it walks (validValue),
// and hands out raw sub-slices, so that only the selected values are ever
// converted. It never panics on input
// that was not validated either (the fuzz tests feed it such input); it
// returns errSyntax instead.

var errSyntax = errors.New("json syntax")

// member is one member of a JSON object: its key (raw, without the quotes)
// and its raw value.
type member struct {
	key   []byte
	value []byte
}

// objectMembers splits a JSON object into its members, in order.
func objectMembers(data []byte) ([]member, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, errSyntax
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil, nil
	}
	out := make([]member, 0, 8)
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, errSyntax
		}
		end, err := skipString(data, i)
		if err != nil {
			return nil, err
		}
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, errSyntax
		}
		start := skipSpace(data, i+1)
		end, err = skipValue(data, start)
		if err != nil {
			return nil, err
		}
		out = append(out, member{key: key, value: data[start:end]})
		i = skipSpace(data, end)
		if i >= len(data) {
			return nil, errSyntax
		}
		if data[i] == '}' {
			return out, nil
		}
		if data[i] != ',' {
			return nil, errSyntax
		}
		i = skipSpace(data, i+1)
	}
}

// lookup returns the value of the member named key in the JSON object
// data without splitting the whole object, for objects read only once.
func lookup(data []byte, key string) ([]byte, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] == '"' {
		end, err := skipString(data, i)
		if err != nil {
			return nil, false
		}
		k := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, false
		}
		start := skipSpace(data, i+1)
		end, err = skipValue(data, start)
		if err != nil {
			return nil, false
		}
		if string(k) == key || (hasEscape(k) && unquoteKey(k) == key) {
			return data[start:end], true
		}
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return nil, false
}

// arrayElements splits a JSON array into its raw elements.
func arrayElements(data []byte) ([][]byte, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, errSyntax
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return nil, nil
	}
	var out [][]byte
	for {
		end, err := skipValue(data, i)
		if err != nil {
			return nil, err
		}
		out = append(out, data[i:end])
		i = skipSpace(data, end)
		if i >= len(data) {
			return nil, errSyntax
		}
		if data[i] == ']' {
			return out, nil
		}
		if data[i] != ',' {
			return nil, errSyntax
		}
		i = skipSpace(data, i+1)
	}
}

// find returns the value of the member named key. Keys written with escapes
// are compared after unquoting.
func find(members []member, key string) ([]byte, bool) {
	for _, m := range members {
		if string(m.key) == key || (hasEscape(m.key) && unquoteKey(m.key) == key) {
			return m.value, true
		}
	}
	return nil, false
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

func unquoteKey(raw []byte) string {
	var s string
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	if json.Unmarshal(quoted, &s) != nil {
		return ""
	}
	return s
}

func skipSpace(data []byte, i int) int {
	// Personio writes compact JSON: one test settles nearly every call.
	if i < len(data) && data[i] > ' ' {
		return i
	}
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at data[i] ('"').
// It jumps from quote to quote; a quote preceded by an odd number of
// backslashes is escaped.
func skipString(data []byte, i int) (int, error) {
	for j := i + 1; j < len(data); {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			break
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p > i && data[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
	return 0, errSyntax
}

// skipValue returns the index after the value starting at data[i].
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errSyntax
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		return skipNested(data, i)
	}
	j := i
	for j < len(data) {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return 0, errSyntax
			}
			return j, nil
		}
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}

// skipNested returns the index after the object or array at data[i],
// counting brackets outside strings.
func skipNested(data []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(data); j++ {
		switch data[j] {
		case '"':
			end, err := skipString(data, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, errSyntax
}

// walkObject calls member for each member of the object starting at
// data[i], with the index where the member's value starts; member returns
// the index after that value, having skipped it or read into it. Reading
// into a value while walking its parent scans each byte once, where
// splitting every level first (objectMembers, then again inside each
// member) scans it once per level. walkObject returns the index after the
// object.
func walkObject(data []byte, i int, member func(key []byte, start int) (int, error)) (int, error) {
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != '{' {
		return 0, errSyntax
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, errSyntax
		}
		end, err := validString(data, i)
		if err != nil {
			return 0, err
		}
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return 0, errSyntax
		}
		if end, err = member(key, skipSpace(data, i+1)); err != nil {
			return 0, err
		}
		if i = skipSpace(data, end); i >= len(data) {
			return 0, errSyntax
		}
		switch data[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// walkArray is walkObject for arrays: element gets where each element
// starts and returns where it ends.
func walkArray(data []byte, i int, element func(start int) (int, error)) (int, error) {
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != '[' {
		return 0, errSyntax
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := element(i)
		if err != nil {
			return 0, err
		}
		if i = skipSpace(data, end); i >= len(data) {
			return 0, errSyntax
		}
		switch data[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// keyIs compares a raw member key with a name, unquoting escaped keys.
func keyIs(raw []byte, name string) bool {
	return string(raw) == name || (hasEscape(raw) && unquoteKey(raw) == name)
}

// maxNesting bounds how deep validValue descends, as encoding/json does,
// so that a hostile answer cannot exhaust the stack.
const maxNesting = 10000

// validValue returns the index after the JSON value starting at data[i],
// checking it as strictly as json.Valid does: a page walked with it needs
// no separate validating pass.
func validValue(data []byte, i int) (int, error) {
	return validNested(data, i, 0)
}

// validValueAt is validValue for a value nested in depth containers, which
// count against maxNesting as they do for json.Valid.
func validValueAt(data []byte, i, depth int) (int, error) {
	return validNested(data, i, depth)
}

func validNested(data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return 0, errSyntax
	}
	switch c := data[i]; {
	case c == '"':
		return validString(data, i)
	case c == '{' || c == '[':
		if depth >= maxNesting {
			return 0, errSyntax
		}
		return validContainer(data, i, depth+1)
	case c == 't':
		return validLiteral(data, i, "true")
	case c == 'f':
		return validLiteral(data, i, "false")
	case c == 'n':
		return validLiteral(data, i, "null")
	default:
		return validNumber(data, i)
	}
}

func validContainer(data []byte, i, depth int) (int, error) {
	closing, isObject := byte(']'), data[i] == '{'
	if isObject {
		closing = '}'
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == closing {
		return i + 1, nil
	}
	for {
		var err error
		if isObject {
			if i >= len(data) || data[i] != '"' {
				return 0, errSyntax
			}
			if i, err = validString(data, i); err != nil {
				return 0, err
			}
			if i = skipSpace(data, i); i >= len(data) || data[i] != ':' {
				return 0, errSyntax
			}
			i = skipSpace(data, i+1)
		}
		if i, err = validNested(data, i, depth); err != nil {
			return 0, err
		}
		if i = skipSpace(data, i); i >= len(data) {
			return 0, errSyntax
		}
		switch data[i] {
		case closing:
			return i + 1, nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// validString checks the escapes and control characters of the string at
// data[i] ('"'). Like json.Valid it does not check UTF-8.
//
// It looks for the next quote, backslash or control character eight bytes
// at a time: strings are most of a page, and a byte at a time was most of
// its walk. Each term of stops has the high bit of every byte that is
// zero (below 0x20 for the last), and possibly of bytes above it, never
// below: the lowest bit set is the first byte that ends the plain run.
func validString(data []byte, i int) (int, error) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	j := i + 1
	for {
		for ; j+8 <= len(data); j += 8 {
			x := binary.LittleEndian.Uint64(data[j:])
			quote, backslash := x^(ones*'"'), x^(ones*'\\')
			stops := ((quote - ones) &^ quote) | ((backslash - ones) &^ backslash) | ((x - ones*0x20) &^ x)
			if stops &= highs; stops != 0 {
				j += bits.TrailingZeros64(stops) >> 3
				break
			}
		}
		for j < len(data) && data[j] != '"' && data[j] != '\\' && data[j] >= 0x20 {
			j++
		}
		if j >= len(data) {
			return 0, errSyntax
		}
		switch c := data[j]; {
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return 0, errSyntax
		}
		// A backslash.
		if j++; j >= len(data) {
			return 0, errSyntax
		}
		switch data[j] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j++
		case 'u':
			if j+4 >= len(data) || !isHex(data[j+1]) || !isHex(data[j+2]) || !isHex(data[j+3]) || !isHex(data[j+4]) {
				return 0, errSyntax
			}
			j += 5
		default:
			return 0, errSyntax
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func validLiteral(data []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(data[i:], []byte(lit)) {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// validNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func validNumber(data []byte, i int) (int, error) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = skipDigits(data, i)
	default:
		return 0, errSyntax
	}
	if i < len(data) && data[i] == '.' {
		if j := skipDigits(data, i+1); j > i+1 {
			i = j
		} else {
			return 0, errSyntax
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return 0, errSyntax
		}
		i = j
	}
	return i, nil
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// validDocument reports whether data is one JSON value, as json.Valid does.
func validDocument(data []byte) bool {
	end, err := validValue(data, skipSpace(data, 0))
	return err == nil && skipSpace(data, end) == len(data)
}

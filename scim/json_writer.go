package scim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonWriter appends JSON to a byte slice. Resources are written by hand
// rather than through encoding/json because a list page renders thousands
// of values per request and reflection over maps dominated the profile; the
// writer only tracks where a comma is due.
type jsonWriter struct {
	b     []byte
	comma bool
}

func (w *jsonWriter) sep() {
	if w.comma {
		w.b = append(w.b, ',')
	}
}

// key writes a member name. Names are constants of this package (SCIM
// attribute names and URNs), never client data, so they are not escaped.
func (w *jsonWriter) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	w.comma = false
}

func (w *jsonWriter) beginObject() {
	w.sep()
	w.b = append(w.b, '{')
	w.comma = false
}

func (w *jsonWriter) endObject() {
	w.b = append(w.b, '}')
	w.comma = true
}

func (w *jsonWriter) beginArray() {
	w.sep()
	w.b = append(w.b, '[')
	w.comma = false
}

func (w *jsonWriter) endArray() {
	w.b = append(w.b, ']')
	w.comma = true
}

func (w *jsonWriter) str(s string) {
	w.sep()
	w.b = appendJSONString(w.b, s)
	w.comma = true
}

// strConcat writes the concatenation of parts as one JSON string, so URLs
// are written without building them first.
func (w *jsonWriter) strConcat(parts ...string) {
	w.sep()
	w.b = append(w.b, '"')
	for _, p := range parts {
		w.b = appendJSONStringBody(w.b, p)
	}
	w.b = append(w.b, '"')
	w.comma = true
}

func (w *jsonWriter) boolean(v bool) {
	w.sep()
	w.b = strconv.AppendBool(w.b, v)
	w.comma = true
}

func (w *jsonWriter) integer(n int64) {
	w.sep()
	w.b = strconv.AppendInt(w.b, n, 10)
	w.comma = true
}

func (w *jsonWriter) timestamp(t time.Time) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
	w.comma = true
}

// raw writes an already encoded JSON value.
func (w *jsonWriter) raw(v []byte) {
	w.sep()
	w.b = append(w.b, v...)
	w.comma = true
}

func (w *jsonWriter) field(k, v string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':', '"')
	w.b = appendJSONStringBody(w.b, v)
	w.b = append(w.b, '"')
	w.comma = true
}

// lit writes a string constant of this package that needs no escaping
// (URNs, "work", "User"); TestLiteralsNeedNoEscaping lists them.
func (w *jsonWriter) lit(s string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
	w.comma = true
}

// fieldIf writes a string member only when it has a value: SCIM leaves
// unassigned attributes out rather than sending empty strings.
func (w *jsonWriter) fieldIf(k, v string) {
	if v != "" {
		w.field(k, v)
	}
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONStringBody(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONStringBody escapes s for a JSON string the way encoding/json
// does without HTML escaping: quotes, backslashes and control characters are
// escaped, invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped so
// the output is also valid JavaScript. Runs of printable ASCII, which is
// nearly all of a directory, are skipped eight bytes at a time.
func appendJSONStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		i += safePrefix(s[i:])
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// byteClass holds, per byte value, classJSON when the byte is written as
// it is inside a JSON string (printable ASCII but '"' and '\\') and classPath
// when url.PathEscape leaves it as it is (letters, digits, "-._~$&+:=@").
// TestByteClass checks it against both rules.
const byteClass = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x00\x01\x03\x01\x03\x01\x01\x01\x01\x03\x01\x03\x03\x01\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x01\x01\x03\x01\x01" +
	"\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x01\x00\x01\x01\x03" +
	"\x01\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x01\x01\x01\x03\x01" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

const (
	classJSON = 1
	classPath = 2
)

// jsonSafe reports whether s is written unchanged inside a JSON string.
func jsonSafe(s string) bool { return safePrefix(s) == len(s) }

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// safePrefix is the length of the longest prefix of s made of printable
// ASCII other than '"' and '\\', the bytes a JSON string keeps as they are.
func safePrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		v := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte is flagged when its top bit is set, when it is below
		// 0x20, or when it is '"' or '\\' (zero after the XOR); a flag
		// sends the word to the byte loop below.
		quote, backslash := v^(lowBits*'"'), v^(lowBits*'\\')
		flags := v | (v - lowBits*0x20) | (quote-lowBits)&^quote | (backslash-lowBits)&^backslash
		if flags&highBits != 0 {
			break
		}
	}
	for i < len(s) && byteClass[s[i]]&classJSON != 0 {
		i++
	}
	return i
}

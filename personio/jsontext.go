package personio

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// unquote returns the text of a JSON string as encoding/json decodes it:
// escapes resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD.
// Personio writes every non-ASCII letter as \u00XX, so most names with an
// umlaut take this path; encoding/json would spend a reflective decode on
// each. ok is false for anything that is not a well-formed JSON string.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	r := 0
	for r < len(s) {
		c := s[r]
		if c == '\\' || c == '"' || c < ' ' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return string(s), true
	}
	b := make([]byte, r, len(s)+utf8.UTFMax)
	copy(b, s[:r])
	for r < len(s) {
		switch c := s[r]; {
		case c == '\\':
			if r+1 >= len(s) {
				return "", false
			}
			switch e := s[r+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				r += 2
			case 'b':
				b, r = append(b, '\b'), r+2
			case 'f':
				b, r = append(b, '\f'), r+2
			case 'n':
				b, r = append(b, '\n'), r+2
			case 'r':
				b, r = append(b, '\r'), r+2
			case 't':
				b, r = append(b, '\t'), r+2
			case 'u':
				rr := hex4(s[r:])
				if rr < 0 {
					return "", false
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, hex4(s[r:])); dec != utf8.RuneError {
						b, r = utf8.AppendRune(b, dec), r+6
						break
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
			default:
				return "", false
			}
		case c == '"', c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			b, r = append(b, c), r+1
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b, r = utf8.AppendRune(b, rr), r+size
		}
	}
	return string(b), true
}

// hex4 reads the \uXXXX escape at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// maxInterned bounds a texts table: names of departments, offices, teams,
// first names and the like repeat across a company, but a hostile or
// unusual answer must not grow the table without end.
const maxInterned = 1 << 14

// texts renders JSON scalars as text (as jsonText does) for one fetch,
// handing out one string for every repetition of the same raw value, so
// that ten thousand people in one department share one department name
// rather than each allocating and keeping a copy.
type texts struct {
	m map[string]string
	// Whole relation values repeat as well ({"type":"Department",
	// "attributes":{"id":7,"name":…}}); read once, each is one lookup.
	relations, supervisors map[string]string
	costCenters            map[string][]string
}

func newTexts() *texts {
	return &texts{m: make(map[string]string, 256), relations: map[string]string{},
		supervisors: map[string]string{}, costCenters: map[string][]string{}}
}

func (t *texts) relation(raw []byte) (string, error) {
	if t == nil {
		return relationName(raw, nil)
	}
	return derived(t, t.relations, raw, relationName)
}

func (t *texts) supervisor(raw []byte) (string, error) {
	if t == nil {
		return supervisorID(raw, nil)
	}
	return derived(t, t.supervisors, raw, supervisorID)
}

// costCenterNames returns a list shared with every other caller for the
// same raw value; whoever keeps it must copy it.
func (t *texts) costCenterNames(raw []byte) ([]string, error) {
	if t == nil {
		return costCenterNames(raw, nil)
	}
	return derived(t, t.costCenters, raw, costCenterNames)
}

// derived returns what read makes of raw, read once per distinct raw
// value into memo.
func derived[V any](t *texts, memo map[string]V, raw []byte, read func([]byte, *texts) (V, error)) (V, error) {
	if v, ok := memo[string(raw)]; ok {
		return v, nil
	}
	v, err := read(raw, t)
	if err == nil && len(memo) < maxInterned {
		memo[string(raw)] = v
	}
	return v, err
}

// text is jsonText, interned. A nil table interns nothing.
func (t *texts) text(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if t == nil {
		return jsonText(raw)
	}
	if s, ok := t.m[string(raw)]; ok {
		return s, nil
	}
	s, err := jsonText(raw)
	if err != nil || len(t.m) >= maxInterned {
		return s, err
	}
	key := string(raw)
	if len(key) == len(s)+2 && key[1:len(key)-1] == s {
		s = key[1 : len(key)-1] // one allocation for the key and the text
	} else if key == s {
		s = key
	}
	t.m[key] = s
	return s, nil
}

package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The backend keeps identities' attributes, lifecycle, overrides and source
// records as flat JSON objects of strings. encoding/json's reflection made
// decoding them most of a replica's start-up (1.2 s of 2.2 s at 100,000
// identities), so this file reads and writes exactly that shape.

// flatMap encodes a map, or nil for a nil map. Keys are not sorted: no
// reader depends on their order, and sorting cost a copy of every key.
func flatMap(m map[string]string) []byte {
	if m == nil {
		return nil
	}
	return appendFlatMap(make([]byte, 0, 32*len(m)+2), m)
}

// appendFlatMap is flatMap into buf, for a non-nil map.
func appendFlatMap(buf []byte, m map[string]string) []byte {
	buf = append(buf, '{')
	start := len(buf)
	for k, v := range m {
		if len(buf) > start {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = appendJSONString(buf, v)
	}
	return append(buf, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as JSON does: invalid UTF-8 becomes U+FFFD.
// Runs that need no escaping, nearly all of every value, are copied whole:
// byte-at-a-time appends were the largest cost of encoding a first sync's
// rows.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0 // s[start:i] is pending, copied as is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			if c < 0x20 {
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				buf = append(buf, '\\', c)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

var errFlatJSON = errors.New("not a flat JSON object of strings")

// eachMember calls fn for every member of a flat JSON object whose values
// are strings, booleans (passed as "true"/"false") or null (skipped). A
// repeated name is an error: this backend never writes one, and readers
// disagree on which value wins.
func eachMember(data []byte, fn func(key, value string)) error {
	p := flatParser{data: data}
	var seenBuf [32]string
	seen := seenBuf[:0]
	p.space()
	if !p.consume('{') {
		return p.fail("expected {")
	}
	p.space()
	if p.consume('}') {
		return p.end()
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return err
		}
		if slices.Contains(seen, key) {
			return p.fail("repeated name")
		}
		seen = append(seen, key)
		p.space()
		if !p.consume(':') {
			return p.fail("expected :")
		}
		p.space()
		value, present, err := p.value()
		if err != nil {
			return err
		}
		if present {
			fn(key, value)
		}
		p.space()
		if p.consume('}') {
			return p.end()
		}
		if !p.consume(',') {
			return p.fail("expected , or }")
		}
	}
}

type flatParser struct {
	data []byte
	pos  int
}

func (p *flatParser) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errFlatJSON, what, p.pos)
}

func (p *flatParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *flatParser) consume(c byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *flatParser) end() error {
	p.space()
	if p.pos != len(p.data) {
		return p.fail("trailing data")
	}
	return nil
}

func (p *flatParser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *flatParser) value() (string, bool, error) {
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '"':
		s, err := p.str()
		return s, true, err
	case p.literal("true"):
		return "true", true, nil
	case p.literal("false"):
		return "false", true, nil
	case p.literal("null"):
		return "", false, nil
	}
	return "", false, p.fail("expected a string, a boolean or null")
}

// str reads a JSON string; the common case without escapes is one copy.
func (p *flatParser) str() (string, error) {
	if !p.consume('"') {
		return "", p.fail(`expected "`)
	}
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := p.data[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return string([]rune(string(s))), nil // invalid bytes become U+FFFD, as encoding/json does
			}
			return string(s), nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", p.fail("control character in string")
		}
		p.pos++
	}
	return "", p.fail("unterminated string")
}

func (p *flatParser) escaped(start int) (string, error) {
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return string([]rune(string(buf))), nil
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", p.fail("unterminated escape")
		}
		esc := p.data[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.unicodeEscape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("unknown escape")
		}
	}
	return "", p.fail("unterminated string")
}

// unicodeEscape reads the XXXX of \uXXXX, and a low surrogate after a high one.
func (p *flatParser) unicodeEscape() (rune, error) {
	r, ok := p.hex4()
	if !ok {
		return 0, p.fail("bad \\u escape")
	}
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if p.literal(`\u`) {
		if r2, ok := p.hex4(); ok {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, nil
			}
			p.pos -= 6 // not a pair: the second escape stands on its own
		} else {
			return 0, p.fail("bad \\u escape")
		}
	}
	return utf8.RuneError, nil
}

func (p *flatParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

package personio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Personio's types are loose: numbers arrive as strings, unset relations as
// null, "" or [], ids as numbers or strings. These helpers read such values
// without ever putting the value itself into an error message.

// isEmptyJSON reports whether raw is absent, null, "", [] or {}.
func isEmptyJSON(raw []byte) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", `""`, "[]", "{}":
		return true
	}
	return false
}

// jsonText renders a scalar as text: strings as they are, numbers as written,
// booleans as true/false, null as "".
func jsonText(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		s, ok := unquote(raw)
		if !ok {
			return "", fmt.Errorf("bad string")
		}
		return s, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", fmt.Errorf("bad boolean")
		}
		return strconv.FormatBool(b), nil
	case '{', '[':
		return "", fmt.Errorf("want a scalar, got %s", jsonKind(raw))
	}
	if isPlainInteger(raw) {
		return string(raw), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("bad number")
	}
	return n.String(), nil
}

// isPlainInteger reports whether raw is a JSON integer without sign,
// fraction or exponent, the common case that needs no parser.
func isPlainInteger(raw []byte) bool {
	if len(raw) == 0 || len(raw) > 18 || (raw[0] == '0' && len(raw) > 1) {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// jsonTextList renders a scalar or a list of scalars, joining list items
// with commas (tags, multi-value custom attributes).
func jsonTextList(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return jsonText(raw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return "", fmt.Errorf("bad list")
	}
	parts := make([]string, 0, len(items))
	for _, item := range items {
		s, err := jsonText(item)
		if err != nil {
			return "", fmt.Errorf("list item: %w", err)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ","), nil
}

// jsonID reads an id sent as a number or a string.
func jsonID(raw []byte) (string, error) {
	s, err := jsonText(raw)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	}
	return "a scalar"
}

// looseInt is an integer Personio may send as a number or a numeric string.
type looseInt int

func (n *looseInt) UnmarshalJSON(raw []byte) error {
	s, err := jsonText(raw)
	if err != nil {
		return err
	}
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	*n = looseInt(v)
	return nil
}

// looseID is an id Personio may send as a number or a string.
type looseID string

func (id *looseID) UnmarshalJSON(raw []byte) error {
	s, err := jsonID(raw)
	if err != nil {
		return err
	}
	*id = looseID(s)
	return nil
}

package postgres

import (
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"
)

func decodeMap(data []byte) (map[string]string, error) {
	m := map[string]string{}
	err := eachMember(data, func(k, v string) { m[k] = v })
	return m, err
}

func TestFlatJSONRoundTrip(t *testing.T) {
	tests := []map[string]string{
		{},
		{"first_name": "Jürgen", "last_name": "Groß"},
		{"quote": `say "hi"`, "back": `a\b`, "ctl": "tab\there\nnew\x01", "emoji": "😀", "nonLatin": "王芳"},
		{"": "empty key", "html": "<b>&</b>"},
	}
	for _, m := range tests {
		got, err := decodeMap(flatMap(m))
		if err != nil || !maps.Equal(got, m) {
			t.Fatalf("round trip of %q = %q, %v", m, got, err)
		}
		std, _ := json.Marshal(m)
		got, err = decodeMap(std)
		if err != nil || !maps.Equal(got, m) {
			t.Fatalf("decoding encoding/json's %s = %q, %v", std, got, err)
		}
	}
}

func TestFlatJSONReadsPostgresOutput(t *testing.T) {
	// Postgres's text form of jsonb, which the columns were once, puts
	// spaces after colons and commas; hand-edited rows may too.
	got, err := decodeMap([]byte(`{"active": true, "inactive": false, "gone": null, "name": "Zo\u00eb \ud83d\ude00"}`))
	want := map[string]string{"active": "true", "inactive": "false", "name": "Zoë 😀"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestFlatJSONRejectsOtherShapes(t *testing.T) {
	for _, bad := range []string{``, `[]`, `{"a":1}`, `{"a":{"b":"c"}}`, `{"a":"b"`, `{"a" "b"}`, `{"a":"b"} x`, `{"a":"\q"}`, `{"a":"` + "\x01" + `"}`, `{"a":"b","a":"c"}`} {
		if _, err := decodeMap([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzFlatJSON holds the decoder to encoding/json: on any input it either
// fails, or agrees with encoding/json reading a map of strings; and what it
// writes, both read back the same.
func FuzzFlatJSON(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a": true, "b": null}`, `{"\u00fc":"\ud83d\ude00"}`, `{"x":"\ud800"}`, `{}`, `{"a":"b","a":"c"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeMap(data)
		if err != nil {
			return
		}
		var std map[string]any
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", data, err)
		}
		for k, v := range std {
			want := ""
			switch v := v.(type) {
			case string:
				want = v
			case bool:
				want = map[bool]string{true: "true", false: "false"}[v]
			case nil:
				if _, ok := got[k]; ok {
					t.Fatalf("null member %q decoded", k)
				}
				continue
			default:
				t.Fatalf("accepted a %T member", v)
			}
			if got[k] != want {
				t.Fatalf("member %q = %q, encoding/json says %q", k, got[k], want)
			}
		}
		again, err := decodeMap(flatMap(got))
		if err != nil || !maps.Equal(again, got) {
			t.Fatalf("re-encoding %q read back %q, %v", got, again, err)
		}
	})
}

// appendJSONStringBytewise is appendJSONString as it was before it copied
// runs whole: the reference its fast path is held to.
func appendJSONStringBytewise(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

func TestAppendJSONStringMatchesBytewise(t *testing.T) {
	for _, s := range []string{"", "plain", `say "hi"`, `a\b`, "tab\there\nnew\x01\x1f", "Zoë 😀 王芳", "\xff", "ab\xc3", "\xef\xbf\xbd", `"`, "x\x00y", "\xe2\x82"} {
		if got, want := string(appendJSONString([]byte("p"), s)), string(appendJSONStringBytewise([]byte("p"), s)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("Zoë \"x\"\\\n\xff😀")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, s)), string(appendJSONStringBytewise(nil, s)); got != want {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

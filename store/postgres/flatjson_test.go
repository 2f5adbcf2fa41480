package postgres

import (
	"encoding/json"
	"maps"
	"testing"
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

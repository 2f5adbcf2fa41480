package personio

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestObjectMembers(t *testing.T) {
	data := []byte(` { "a" : 1 , "b\"q" : {"x":[1,"}",{"y":"]"}]}, "c":"\\\\", "d":null,"e\u0041":true } `)
	got, err := objectMembers(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ key, value string }{
		{"a", "1"}, {`b\"q`, `{"x":[1,"}",{"y":"]"}]}`}, {"c", `"\\\\"`}, {"d", "null"}, {`e\u0041`, "true"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d members, want %d", len(got), len(want))
	}
	for i, w := range want {
		if string(got[i].key) != w.key || string(got[i].value) != w.value {
			t.Errorf("member %d = %s: %s, want %s: %s", i, got[i].key, got[i].value, w.key, w.value)
		}
	}
	if v, ok := find(got, "eA"); !ok || string(v) != "true" {
		t.Errorf("find of an escaped key = %s, %v", v, ok)
	}
	if v, ok := lookup(data, "d"); !ok || string(v) != "null" {
		t.Errorf("lookup(d) = %s, %v", v, ok)
	}
	if _, ok := lookup(data, "zz"); ok {
		t.Errorf("lookup of an absent key succeeded")
	}
}

func TestScannerRejects(t *testing.T) {
	for _, in := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":"x}`, `{"a":[1,2}`, `{a:1}`} {
		if _, err := objectMembers([]byte(in)); err == nil {
			t.Errorf("objectMembers(%q) accepted", in)
		}
	}
	for _, in := range []string{``, `{}`, `[`, `[1,]`, `[1 2]`, `["x]`} {
		if _, err := arrayElements([]byte(in)); err == nil {
			t.Errorf("arrayElements(%q) accepted", in)
		}
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"München"`, "München", true},
		{`"M\u00fcnchen"`, "München", true},
		{`"a\"b\\c\/d\n"`, "a\"b\\c/d\n", true},
		{`"\ud83d\ude00"`, "\U0001F600", true},
		{`"\ud83dx"`, "\uFFFDx", true},
		{`"\xff"`, "", false},
		{`"\'"`, "", false},
		{`"\u12"`, "", false},
		{"\"\xff\"", "\uFFFD", true},
		{`"tab` + "\t" + `"`, "", false},
		{`"a"b"`, "", false},
		{`x`, "", false},
	}
	for _, tt := range tests {
		got, ok := unquote([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("unquote(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzUnquote holds unquote to encoding/json's decoding of a string.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"M\u00fcnchen"`, `"\ud83d\ude00"`, `"\ud83d\u0041"`, `"\udc00"`, "\"\xc3\"", `"\'"`,
		`"a\"b"`, `"\b\f\n\r\t\/"`, `"x`, `""`, `"\u00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := unquote(raw)
		var want string
		// unquote is handed values the scanner cut out, without the white
		// space encoding/json allows around them.
		wantOK := len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && json.Unmarshal(raw, &want) == nil
		if ok != wantOK || got != want {
			t.Fatalf("unquote(%q) = %q, %v; encoding/json: %q, %v", raw, got, ok, want, wantOK)
		}
	})
}

// FuzzObjectMembers checks the scanner against encoding/json: on valid
// objects both must see the same members; on anything else it must not
// panic.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,2,{"c":"}"}]},"d":"\\""}`, `{}`, ` {"x" : null } `,
		`{"a":"\u00fc"}`, `{"a":1,"a":2}`, `{"a":[`, `[1,2]`, `"x"`, `{"k\"":"v"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		members, err := objectMembers(data)
		_, _ = lookup(data, "a")
		_, _ = arrayElements(data)
		var want map[string]json.RawMessage
		if json.Unmarshal(data, &want) != nil || want == nil {
			return
		}
		if err != nil {
			t.Fatalf("valid object %q rejected: %v", data, err)
		}
		seen := map[string]json.RawMessage{}
		for _, m := range members {
			seen[unquoteKey(m.key)] = m.value // the last duplicate wins, as in encoding/json
		}
		if len(seen) != len(want) {
			t.Fatalf("%q: %d distinct members, encoding/json sees %d", data, len(seen), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(seen[k]), bytes.TrimSpace(v)) {
				t.Fatalf("%q: member %q = %s, encoding/json says %s", data, k, seen[k], v)
			}
		}
	})
}

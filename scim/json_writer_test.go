package scim

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`Zoë "Z" Schäfer`, `"Zoë \"Z\" Schäfer"`},
		{"back\\slash\ttab\nnl\r\x01\x1f", `"back\\slash\ttab\nnl\r\u0001\u001f"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
		{"line\u2028sep\u2029", `"line\u2028sep\u2029"`},
		{"<&>", `"<&>"`},
	}
	for _, tt := range tests {
		got := string(appendJSONString(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestJSONWriterNesting(t *testing.T) {
	var w jsonWriter
	w.beginObject()
	w.field("a", "x")
	w.key("list")
	w.beginArray()
	w.beginObject()
	w.key("n")
	w.integer(-3)
	w.endObject()
	w.boolean(true)
	w.strConcat("u", "/", "v\"")
	w.endArray()
	w.fieldIf("empty", "")
	w.key("o")
	w.beginObject()
	w.endObject()
	w.endObject()
	want := `{"a":"x","list":[{"n":-3},true,"u/v\""],"o":{}}`
	if string(w.b) != want {
		t.Errorf("got %s, want %s", w.b, want)
	}
}

// FuzzAppendJSONString checks that any string comes out as JSON that
// decodes back to it (invalid UTF-8 aside, which becomes U+FFFD).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "Zoë", "\x00\"\\", "\xff\xfe", "\u2028", "𝄞"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q encoded as %s, which does not decode: %v", s, out, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q round-tripped to %q, encoding/json gives %q", s, back, wantBack)
		}
	})
}

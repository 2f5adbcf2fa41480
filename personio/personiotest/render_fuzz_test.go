package personiotest

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAppendQuoted checks the simulator's hand-written JSON string encoder
// against encoding/json: whatever the input, including invalid UTF-8 and
// control characters, the output is one valid JSON string that decodes to
// what encoding/json's own encoding of the input decodes to.
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "Jürgen Groß", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x1f\x7f",
		"\xff\xfe invalid", "\u2028\u2029", "<script>&amp;</script>", "日本語", "\xed\xa0\x80 surrogate half", "a\u00e4\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prefix := []byte(`{"k":`)
		out := appendQuoted(prefix, s)
		if string(out[:len(prefix)]) != string(prefix) {
			t.Fatalf("the prefix was overwritten")
		}
		encoded := out[len(prefix):]
		if !json.Valid(encoded) || !utf8.Valid(encoded) {
			t.Fatalf("appendQuoted(%q) = %q: not valid JSON", s, encoded)
		}
		var got, want string
		if err := json.Unmarshal(encoded, &got); err != nil {
			t.Fatalf("appendQuoted(%q) = %q: %v", s, encoded, err)
		}
		reference, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(reference, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("appendQuoted(%q) decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

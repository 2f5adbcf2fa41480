package personio

import (
	"encoding/json"
	"testing"
)

// FuzzValidValue holds the walker's validation to json.Valid: a page the
// walk accepts without json.Valid must be one json.Valid accepts, and the
// other way round.
func FuzzValidValue(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5, -0, 1e10, 1E-2, true, false, null, "x\"y\\u00e9\n"]} `,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":"` + "\xff" + `"}`, `{"a":1,}`, `[1,]`, `[1 2]`,
		`{"a" 1}`, `{a:1}`, `{"a":1}}`, `{"a":1} x`, `"\ud800"`, `[[[[[]]]]]`, `{"a":{"b":[{"c":"d"}]}}`, ``, ` `,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":1}}}]}`,
		// Strings longer than the eight bytes validString tests at once,
		// with what ends a plain run at every offset.
		`["0123456789abcdef\"0123456789abcdef\\0123\u00e9456789abcdef\n"]`, `"0123456789abcdef`, `"01234567"`,
		"[\"0123456789\x1f\"]", "[\"01234567\x00\"]", "[\"0123456\x7f\xff\xc3\xa4\"]", `"0123456\`, `"01234567\u00"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validDocument(data), json.Valid(data); got != want {
			t.Fatalf("validDocument = %v, json.Valid = %v for %q", got, want, data)
		}
	})
}

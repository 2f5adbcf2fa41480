package postgres

import (
	"maps"
	"testing"
)

// TestFlatScratchMatchesDecodeFlatMap holds the exact-size decoder the
// identity reads use to decodeFlatMap, which the change-log reads use: the
// same map or the same failure for every input, and nothing left over from
// one object in the next one decoded with the same scratch.
func TestFlatScratchMatchesDecodeFlatMap(t *testing.T) {
	inputs := []string{
		`{}`,
		`{"first_name":"Jürgen","last_name":"Groß"}`,
		`{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16","q":"17"}`,
		`{"x":"only"}`,
		`{"active": true, "gone": null, "name": "Zo\u00eb \ud83d\ude00"}`,
		`{"a":"1","a":"2"}`,
		`{"a":1}`,
		`{"a":"1"`,
		`[]`,
	}
	var scratch flatScratch
	for _, in := range inputs {
		want, wantErr := decodeFlatMap([]byte(in))
		got, err := scratch.decode([]byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, decodeFlatMap's %v", in, err, wantErr)
			continue
		}
		if err == nil && !maps.Equal(got, want) {
			t.Errorf("%s: %q, decodeFlatMap's %q", in, got, want)
		}
	}
	if got, err := scratch.decode(nil); got != nil || err != nil {
		t.Errorf("nil (SQL NULL): %q, %v; want a nil map", got, err)
	}
}

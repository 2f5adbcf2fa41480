package mirror

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// fingerprintStreamed is fingerprint as it was before it gathered the
// bytes on the stack: the reference its result is held to.
func fingerprintStreamed(src map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(src)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(src[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func TestFingerprintMatchesStreamedHash(t *testing.T) {
	many := map[string]string{}
	for n := range 40 {
		many[fmt.Sprintf("dynamic_%d", n)] = strings.Repeat("x", n*10)
	}
	for _, src := range []map[string]string{
		nil,
		{},
		{"first_name": "Zoë", "last_name": "王芳", "email": "zoe@example.com"},
		{"a": "", "": "b"},
		{"long": strings.Repeat("é", 3000)},
		many,
	} {
		if got, want := fingerprint(src), fingerprintStreamed(src); got != want {
			t.Errorf("fingerprint(%d fields) = %s, want %s", len(src), got, want)
		}
	}
	if fingerprint(map[string]string{"ab": "c"}) == fingerprint(map[string]string{"a": "bc"}) {
		t.Error("moving a byte from a key to its value keeps the fingerprint")
	}
}

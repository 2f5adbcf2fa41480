package mirror

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
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

// sourceOfFields is sourceOf as it was, from Record.Fields: the reference
// the direct build is held to.
func sourceOfFields(rec personio.Record) map[string]string {
	src := rec.Fields()
	delete(src, personio.FieldUpdatedAt)
	for k, v := range src {
		if v == "" {
			delete(src, k)
		}
	}
	for key, attr := range rec.Custom {
		if attr.Label != "" {
			src[labelPrefix+key] = attr.Label
		}
	}
	return src
}

func TestSourceOfMatchesRecordFields(t *testing.T) {
	sim := personiotest.New(personiotest.Options{Employees: 300, Seed: 7})
	records := sim.Records()
	edge := personio.Record{ID: "9", FirstName: "Zoë", UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Custom: map[string]personio.CustomAttribute{
			"dynamic_1":             {Label: "Shoe size", Value: "42"},
			"dynamic_2":             {Label: "Empty", Value: ""},
			"dynamic_3":             {Value: "no label"},
			personio.FieldFirstName: {Value: ""},
			personio.FieldUpdatedAt: {Value: "custom time"},
		}}
	records = append(records, edge, personio.Record{})
	fields := personio.RecordFields()
	policy, err := Compile(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range records {
		for _, r := range []personio.Record{rec, policy.Minimize(rec)} {
			if got, want := sourceOf(fields, &r), sourceOfFields(r); !maps.Equal(got, want) {
				t.Fatalf("person %s: sourceOf = %q, Record.Fields gives %q", r.ID, got, want)
			}
		}
	}
}

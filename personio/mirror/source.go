package mirror

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/personio-scim/personio-scim/personio"
)

// labelPrefix keys a custom attribute's label in a stored source record, so
// that rules written against labels still work on stored records.
const labelPrefix = "label:"

// sourceOf is the minimized record as stored with an identity: only what the
// policy reads, empty values and Personio's modification time left out so
// that the fingerprint changes only when something the mapping sees changes.
// fields is personio.RecordFields, asked once by the caller.
//
// It gives what Record.Fields gives without those, but builds only the map
// it keeps, at its final size: Fields' map is sized for every field Personio
// has, and one source is kept per identity, 100,000 of them at once.
func sourceOf(fields []personio.Field, rec *personio.Record) map[string]string {
	type member struct{ name, value string }
	var buf [48]member
	standard := buf[:0]
	for i := range fields {
		if v := fields[i].Value(rec); v != "" && fields[i].Name != personio.FieldUpdatedAt {
			standard = append(standard, member{fields[i].Name, v})
		}
	}
	n := len(standard)
	for _, attr := range rec.Custom {
		if attr.Value != "" {
			n++
		}
		if attr.Label != "" {
			n++
		}
	}
	src := make(map[string]string, n)
	for _, m := range standard {
		src[m.name] = m.value
	}
	// A custom attribute's value stands over a standard field of its name,
	// as in Record.Fields, and an empty one leaves nothing.
	for key, attr := range rec.Custom {
		if attr.Value != "" {
			src[key] = attr.Value
		} else {
			delete(src, key)
		}
	}
	delete(src, personio.FieldUpdatedAt)
	for key, attr := range rec.Custom {
		if attr.Label != "" {
			src[labelPrefix+key] = attr.Label
		}
	}
	return src
}

// recordOf rebuilds a record from its stored source, the inverse of sourceOf.
func recordOf(src map[string]string) (personio.Record, error) {
	fields := make(map[string]string, len(src))
	labels := map[string]string{}
	for k, v := range src {
		if key, ok := strings.CutPrefix(k, labelPrefix); ok {
			labels[key] = v
			continue
		}
		fields[k] = v
	}
	rec, err := personio.RecordFromFields(fields)
	if err != nil {
		return rec, err
	}
	for key, label := range labels {
		if attr, ok := rec.Custom[key]; ok {
			attr.Label = label
			rec.Custom[key] = attr
		}
	}
	return rec, nil
}

// fingerprint hashes a source record; equal sources give equal fingerprints.
// The keys and the hashed bytes are gathered in buffers on the stack, which
// a record of the usual size fits: it is computed for every person on
// every run.
func fingerprint(src map[string]string) string {
	var keyBuf [32]string
	keys := keyBuf[:0]
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var dataBuf [2048]byte
	data := dataBuf[:0]
	for _, k := range keys {
		data = append(data, k...)
		data = append(data, 0)
		data = append(data, src[k]...)
		data = append(data, 0)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

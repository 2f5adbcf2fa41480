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
//
// The map is made at its final size: Fields' map is sized for every field
// Personio has, and one is kept per identity, 100,000 of them at once.
func sourceOf(rec personio.Record) map[string]string {
	all := rec.Fields()
	delete(all, personio.FieldUpdatedAt)
	n := 0
	for _, v := range all {
		if v != "" {
			n++
		}
	}
	for _, attr := range rec.Custom {
		if attr.Label != "" {
			n++
		}
	}
	src := make(map[string]string, n)
	for k, v := range all {
		if v != "" {
			src[k] = v
		}
	}
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

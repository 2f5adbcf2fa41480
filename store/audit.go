package store

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Erased stands in for an erased personal value in the change log, so that
// the row still tells which attributes changed, when and by whom.
const Erased = "[erased]"

// Audit keeps personal data in the change log and run reports from
// outliving its purpose. It is part of the store contract.
type Audit interface {
	// PruneAudit deletes change-log rows and finished sync runs older than
	// before. It never deletes the newest change-log row (the sequence
	// continues from it), nor a row some push target's or event feed's
	// cursor has not passed yet, nor the newest run, nor a running or held one.
	PruneAudit(ctx context.Context, before time.Time) (rows, runs int, err error)
	// ErasePerson replaces every before and after value of the identity
	// scimID's change-log rows with Erased, keeping the rows, their actors
	// and causes, and blanks the names of the run-report entries that name
	// the person by Personio id or SCIM id. It counts the rows and runs it
	// rewrote.
	ErasePerson(ctx context.Context, personioID, scimID string) (rows, runs int, err error)
}

// EraseValues returns m with every value replaced by Erased (nil stays nil).
func EraseValues(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = Erased
	}
	return out
}

// reportIDKeys are the report fields that name a person; reportNameKeys
// the ones next to them that carry personal data.
var (
	reportPersonioKeys = []string{"personio_id", "person_id"}
	reportSCIMKeys     = []string{"scim_id", "id"}
	reportNameKeys     = []string{"user_name", "userName", "name", "display_name", "given_name", "family_name", "email"}
)

// EraseReport blanks the names in every object of a run report that names
// the person by personioID or scimID. The store keeps reports opaque, so it
// walks the JSON rather than the engine's types. It reports whether
// anything changed; an unreadable report is left alone.
func EraseReport(report []byte, personioID, scimID string) ([]byte, bool) {
	if len(report) == 0 || (personioID == "" && scimID == "") {
		return report, false
	}
	dec := json.NewDecoder(bytes.NewReader(report))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return report, false
	}
	if !eraseNode(doc, personioID, scimID) {
		return report, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return report, false
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true
}

func eraseNode(node any, personioID, scimID string) bool {
	changed := false
	switch v := node.(type) {
	case []any:
		for _, e := range v {
			changed = eraseNode(e, personioID, scimID) || changed
		}
	case map[string]any:
		if namesPerson(v, personioID, scimID) {
			for _, k := range reportNameKeys {
				if s, ok := v[k].(string); ok && s != "" {
					v[k] = ""
					changed = true
				}
			}
		}
		for _, e := range v {
			changed = eraseNode(e, personioID, scimID) || changed
		}
	}
	return changed
}

func namesPerson(obj map[string]any, personioID, scimID string) bool {
	return fieldIs(obj, reportPersonioKeys, personioID) || fieldIs(obj, reportSCIMKeys, scimID)
}

func fieldIs(obj map[string]any, keys []string, want string) bool {
	if want == "" {
		return false
	}
	for _, k := range keys {
		switch v := obj[k].(type) {
		case string:
			if v == want {
				return true
			}
		case json.Number:
			if v.String() == want {
				return true
			}
		}
	}
	return false
}

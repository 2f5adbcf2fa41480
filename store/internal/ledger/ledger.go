// Package ledger holds what both store backends do the same way for the push
// ledger: checking a SavePush call and normalizing its records, so that the
// memory and Postgres backends accept, reject and return exactly the same.
package ledger

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/personio-scim/personio-scim/store"
)

// Prepare checks a SavePush call and returns its records normalized: Target
// set to target, times in UTC at microsecond precision (what Postgres keeps),
// empty byte slices as nil, and LastError made storable. It fails with
// store.ErrInvalid, naming the offending record, when the call cannot be
// stored as given.
func Prepare(target string, from, to int64, records []store.PushRecord) ([]store.PushRecord, error) {
	if err := CheckTarget(target); err != nil {
		return nil, err
	}
	if from < 0 || to < 0 {
		return nil, fmt.Errorf("%w: push cursor %d → %d is negative", store.ErrInvalid, from, to)
	}
	out := make([]store.PushRecord, len(records))
	seen := make(map[string]bool, len(records))
	for n, r := range records {
		if err := checkRecord(target, r); err != nil {
			return nil, fmt.Errorf("push record %d: %w", n, err)
		}
		if seen[r.ResourceID] {
			return nil, fmt.Errorf("%w: push record %d repeats resource %s", store.ErrInvalid, n, r.ResourceID)
		}
		seen[r.ResourceID] = true
		out[n] = Normalize(r)
		out[n].Target = target
	}
	return out, nil
}

// CheckTarget rejects a target name no backend can key records by.
func CheckTarget(target string) error {
	if target == "" {
		return fmt.Errorf("%w: push target name is empty", store.ErrInvalid)
	}
	if !storableText(target) {
		return fmt.Errorf("%w: push target name is not valid text", store.ErrInvalid)
	}
	return nil
}

func checkRecord(target string, r store.PushRecord) error {
	switch {
	case r.Target != "" && r.Target != target:
		return fmt.Errorf("%w: names another target", store.ErrInvalid)
	case r.ResourceID == "":
		return fmt.Errorf("%w: resource id is empty", store.ErrInvalid)
	case r.Kind != store.KindIdentity && r.Kind != store.KindGroup:
		return fmt.Errorf("%w: unknown resource kind %q", store.ErrInvalid, r.Kind)
	case !knownStatus(r.Status):
		return fmt.Errorf("%w: unknown push status %q", store.ErrInvalid, r.Status)
	case r.Attempts < 0:
		return fmt.Errorf("%w: negative attempts", store.ErrInvalid)
	}
	// Identifiers must survive the round trip unchanged, so text Postgres
	// cannot store is refused rather than repaired.
	for _, id := range []string{r.ResourceID, r.TargetID, r.Fingerprint} {
		if !storableText(id) {
			return fmt.Errorf("%w: resource, target id or fingerprint is not valid text", store.ErrInvalid)
		}
	}
	return nil
}

func knownStatus(s store.PushStatus) bool {
	switch s {
	case store.PushSynced, store.PushPending, store.PushFailed, store.PushQuarantined, store.PushSkipped, store.PushGone:
		return true
	}
	return false
}

// storableText reports whether Postgres can keep s in a text column: valid
// UTF-8 without NUL.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Normalize returns r as a backend stores it. LastError often quotes what a
// misbehaving target answered; it is repaired (invalid bytes and NUL become
// U+FFFD) rather than refused, so that a garbage answer can still be
// recorded.
func Normalize(r store.PushRecord) store.PushRecord {
	r.LastAttempt = instant(r.LastAttempt)
	r.LastSuccess = instant(r.LastSuccess)
	r.PendingSince = instant(r.PendingSince)
	r.State = bytesOrNil(r.State)
	r.Detail = bytesOrNil(r.Detail)
	if !storableText(r.LastError) {
		r.LastError = strings.ReplaceAll(strings.ToValidUTF8(r.LastError, "\uFFFD"), "\x00", "\uFFFD")
	}
	return r
}

// instant is t as Postgres keeps a timestamptz: UTC, microseconds.
func instant(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// bytesOrNil copies b, so the caller may reuse it; empty becomes nil, as
// both backends read it back.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Limit is the page size of a ListPushRecords query.
func Limit(q store.PushQuery) int {
	if q.Limit <= 0 {
		return store.DefaultPushLimit
	}
	return q.Limit
}

package store

import (
	"context"
	"time"
)

// PushStatus is where a resource stands with one push target.
type PushStatus string

const (
	PushSynced      PushStatus = "synced"      // the target acknowledged the fingerprint
	PushPending     PushStatus = "pending"     // accepted, outcome not known yet (asynchronous targets)
	PushFailed      PushStatus = "failed"      // the last attempt failed; retried
	PushQuarantined PushStatus = "quarantined" // failed too often; waits for a change or a release
	PushSkipped     PushStatus = "skipped"     // the target declined it on purpose
	PushGone        PushStatus = "gone"        // deleted in the target, or no longer sent
)

// PushRecord is the ledger entry of one resource for one target: what the
// target last acknowledged and how the last attempts went. Backends keep its
// times in UTC at microsecond precision and give empty byte slices back as
// nil; LastError text that is not valid UTF-8 (or holds NUL) is stored with
// those bytes replaced by U+FFFD, while such identifiers are refused.
type PushRecord struct {
	Target      string
	Kind        ResourceKind
	ResourceID  string // our id
	TargetID    string // the target's id, when known
	Fingerprint string // of the state the target last acknowledged
	// State is the target's opaque data, handed back to it next time.
	State        []byte
	Status       PushStatus
	Attempts     int // consecutive failed attempts
	LastError    string
	LastAttempt  time.Time
	LastSuccess  time.Time
	PendingSince time.Time
	// Detail is the last request and answer, for the record's API view.
	Detail []byte
}

// PushQuery selects ledger records of one target; zero values mean no
// restriction. Records come in ResourceID order, after AfterID; Limit 0
// means DefaultPushLimit.
type PushQuery struct {
	Status  PushStatus
	Kind    ResourceKind
	AfterID string
	Limit   int
}

// DefaultPushLimit is how many ledger records a query returns at most when
// it does not say.
const DefaultPushLimit = DefaultChangeLimit

// PushLedger keeps, per push target, the cursor in the change log and a
// record per resource. It is part of the store contract.
type PushLedger interface {
	// PushCursor is the target's change-log cursor: every row up to it has
	// been handed to the target. 0 for a new target.
	PushCursor(ctx context.Context, target string) (int64, error)
	// PushRecords reads the records of the given resources in ResourceID
	// order; unknown ones are left out.
	PushRecords(ctx context.Context, target string, ids []string) ([]PushRecord, error)
	// ListPushRecords pages through a target's records.
	ListPushRecords(ctx context.Context, target string, q PushQuery) ([]PushRecord, error)
	// SavePush stores records and moves the cursor from `from` to `to` in
	// one atomic step. It fails with ErrConflict, saving nothing, when the
	// stored cursor is not `from` (another replica moved it first). from ==
	// to saves records without moving the cursor. A record replaces the
	// stored one of its resource; records the call does not name stay. A
	// malformed call (no target, a record without resource id, an unknown
	// kind or status, one resource twice) fails with ErrInvalid.
	SavePush(ctx context.Context, target string, from, to int64, records []PushRecord) error
}

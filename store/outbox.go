package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// OutboxStatus is where a notification stands.
type OutboxStatus string

const (
	OutboxPending  OutboxStatus = "pending"  // waiting until NextAttempt
	OutboxSending  OutboxStatus = "sending"  // claimed by a sender until LeaseUntil
	OutboxSent     OutboxStatus = "sent"     // the channel accepted it; never sent again
	OutboxFailed   OutboxStatus = "failed"   // refused for good or out of attempts
	OutboxDigested OutboxStatus = "digested" // went out folded into a digest message
)

// OutboxMessage is one notification for one recipient on one channel. The
// outbox keeps it from the moment an event is known until the channel
// accepted it, so that a crash or a restart neither loses nor repeats it.
// Backends keep its times in UTC at microsecond precision.
type OutboxMessage struct {
	ID int64 // assigned by the store, ascending in enqueue order
	// DedupeKey is unique across the outbox: enqueueing a key that is
	// present adds nothing, so an event seen twice is sent once.
	DedupeKey string
	Event     string
	Channel   string
	Recipient string // an address for mail; empty for a webhook channel
	// DigestKey groups messages that may be folded into one digest.
	DigestKey string
	// Digest marks a message that waits to go out in a digest.
	Digest bool
	// Payload is the event data the message is rendered from.
	Payload     []byte
	Status      OutboxStatus
	Attempts    int
	NextAttempt time.Time
	LeaseOwner  string
	LeaseUntil  time.Time
	LastError   string
	CreatedAt   time.Time
	SentAt      time.Time
}

// OutboxEnqueue adds messages and, when Cursor is set, moves that cursor
// from From to To in the same step, so that what an event feed produced and
// how far it read commit together.
type OutboxEnqueue struct {
	Cursor   string
	From, To int64
	Messages []OutboxMessage
}

// OutboxClaim leases due messages to Owner until Now+Lease: pending ones
// whose NextAttempt has come, and sending ones whose lease ran out (their
// sender died between sending and marking). DigestKey, when set, claims
// only that group. Messages come oldest first; Limit 0 means
// DefaultOutboxLimit.
type OutboxClaim struct {
	Owner     string
	Now       time.Time
	Lease     time.Duration
	Limit     int
	DigestKey string
}

// OutboxMark records what became of one claimed message.
type OutboxMark struct {
	ID          int64
	Status      OutboxStatus // pending (try again), sent, failed or digested
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Digest      bool
	At          time.Time
}

// OutboxQuery pages through the outbox newest first, before BeforeID when
// it is set; zero values mean no restriction.
type OutboxQuery struct {
	Status   OutboxStatus
	Event    string
	BeforeID int64
	Limit    int
}

// DefaultOutboxLimit is how many messages a claim or a query returns at
// most when it does not say.
const DefaultOutboxLimit = 500

// Outbox holds notifications until they are delivered, and the cursors of
// the feeds that produce them. It is part of the store contract.
type Outbox interface {
	// OutboxCursor is how far the named feed has read (0 for a new one).
	OutboxCursor(ctx context.Context, name string) (int64, error)
	// EnqueueOutbox adds the messages whose DedupeKey is new and returns how
	// many it added. It fails with ErrConflict, adding nothing, when the
	// cursor is set and not at From; with ErrInvalid for a malformed call.
	EnqueueOutbox(ctx context.Context, e OutboxEnqueue) (int, error)
	// ClaimOutbox leases due messages, see OutboxClaim.
	ClaimOutbox(ctx context.Context, c OutboxClaim) ([]OutboxMessage, error)
	// MarkOutbox records outcomes of messages owner holds, all or nothing:
	// ErrConflict when one of them is no longer leased to owner (its lease
	// ran out and another sender claimed it, or it was marked already).
	MarkOutbox(ctx context.Context, owner string, marks []OutboxMark) error
	// ListOutbox pages through messages, see OutboxQuery.
	ListOutbox(ctx context.Context, q OutboxQuery) ([]OutboxMessage, error)
	// PruneOutbox deletes finished messages (sent, failed, digested)
	// created before the given time, with the personal data they carry,
	// and returns how many. Their dedupe keys go with them.
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
}

// OutboxLimit applies the default and a cap to a requested limit.
func OutboxLimit(n int) int {
	if n <= 0 || n > 10*DefaultOutboxLimit {
		return DefaultOutboxLimit
	}
	return n
}

// PrepareOutboxMessage checks a message for enqueueing and normalizes it the
// way every backend stores it: pending, no lease, UTC microsecond times.
func PrepareOutboxMessage(m OutboxMessage, now time.Time) (OutboxMessage, error) {
	for name, v := range map[string]string{"dedupe key": m.DedupeKey, "event": m.Event, "channel": m.Channel} {
		if v == "" {
			return m, fmt.Errorf("%w: outbox message %s is empty", ErrInvalid, name)
		}
	}
	for _, v := range []string{m.DedupeKey, m.Event, m.Channel, m.Recipient, m.DigestKey} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return m, fmt.Errorf("%w: outbox message field is not valid text", ErrInvalid)
		}
	}
	m.ID, m.Status, m.Attempts, m.LeaseOwner, m.LeaseUntil, m.LastError, m.SentAt = 0, OutboxPending, 0, "", time.Time{}, "", time.Time{}
	m.CreatedAt = OutboxTime(now)
	m.NextAttempt = OutboxTime(m.NextAttempt)
	if len(m.Payload) == 0 {
		m.Payload = nil
	}
	return m, nil
}

// CheckOutboxMarks rejects marks no backend can store: no owner, a status
// a mark cannot set, text that is not storable, one message twice.
func CheckOutboxMarks(owner string, marks []OutboxMark) error {
	if owner == "" {
		return fmt.Errorf("%w: outbox mark without owner", ErrInvalid)
	}
	seen := make(map[int64]bool, len(marks))
	for _, m := range marks {
		if seen[m.ID] {
			return fmt.Errorf("%w: outbox message %d marked twice", ErrInvalid, m.ID)
		}
		seen[m.ID] = true
		if err := checkOutboxMark(m); err != nil {
			return err
		}
	}
	return nil
}

func checkOutboxMark(m OutboxMark) error {
	switch m.Status {
	case OutboxPending, OutboxSent, OutboxFailed, OutboxDigested:
	default:
		return fmt.Errorf("%w: outbox message %d cannot be marked %q", ErrInvalid, m.ID, m.Status)
	}
	if !utf8.ValidString(m.LastError) || strings.ContainsRune(m.LastError, 0) {
		return fmt.Errorf("%w: outbox error text is not valid text", ErrInvalid)
	}
	return nil
}

// OutboxTime is t as the outbox keeps it: UTC, microsecond precision.
func OutboxTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// outboxTests are the notification outbox's cases; Run runs them with the rest.
var outboxTests = []struct {
	name string
	fn   func(t *testing.T, open Factory)
}{
	{"OutboxEnqueueDeduplicates", testOutboxDedupe},
	{"OutboxEnqueueMovesCursorOrNothing", testOutboxCursor},
	{"OutboxClaimLeasesToOneInstance", testOutboxClaimOne},
	{"OutboxCrashBetweenSendAndMark", testOutboxCrash},
	{"OutboxMarkedIsNeverClaimedAgain", testOutboxMarkedFinal},
	{"OutboxRetryWaitsForNextAttempt", testOutboxRetry},
	{"OutboxClaimByDigestKey", testOutboxDigestClaim},
	{"OutboxConcurrentClaimsDoNotOverlap", testOutboxConcurrentClaims},
	{"OutboxListFiltersAndPages", testOutboxList},
	{"OutboxRejectsMalformedCalls", testOutboxInvalid},
	{"OutboxPruneDeletesOnlyOldFinishedMessages", testOutboxPrune},
}

func outboxMsg(key string) store.OutboxMessage {
	return store.OutboxMessage{DedupeKey: key, Event: "joiner_activated", Channel: "mail", Recipient: "it@example.com",
		DigestKey: "mail|it@example.com|joiner_activated", Payload: []byte(`{"k":"` + key + `"}`)}
}

func mustEnqueue(t *testing.T, s store.Store, e store.OutboxEnqueue) int {
	t.Helper()
	n, err := s.EnqueueOutbox(context.Background(), e)
	if err != nil {
		t.Fatalf("EnqueueOutbox: %v", err)
	}
	return n
}

func claim(t *testing.T, s store.Store, owner string, now time.Time, limit int) []store.OutboxMessage {
	t.Helper()
	got, err := s.ClaimOutbox(context.Background(), store.OutboxClaim{Owner: owner, Now: now, Lease: time.Minute, Limit: limit})
	if err != nil {
		t.Fatalf("ClaimOutbox(%s): %v", owner, err)
	}
	return got
}

func keysOf(ms []store.OutboxMessage) []string {
	out := make([]string, len(ms))
	for n, m := range ms {
		out[n] = m.DedupeKey
	}
	return out
}

func sentMarks(ms []store.OutboxMessage, at time.Time) []store.OutboxMark {
	out := make([]store.OutboxMark, len(ms))
	for n, m := range ms {
		out[n] = store.OutboxMark{ID: m.ID, Status: store.OutboxSent, Attempts: m.Attempts + 1, At: at}
	}
	return out
}

func testOutboxDedupe(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	if n := mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("k1"), outboxMsg("k2"), outboxMsg("k1")}}); n != 2 {
		t.Fatalf("first enqueue added %d; want 2 (k1 twice in one call counts once)", n)
	}
	if n := mustEnqueue(t, b, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("k2"), outboxMsg("k3")}}); n != 1 {
		t.Fatalf("second enqueue from the other instance added %d; want 1", n)
	}
	got, err := b.ListOutbox(context.Background(), store.OutboxQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); !slices.Equal(keys, []string{"k3", "k2", "k1"}) {
		t.Fatalf("outbox holds %v; want k3, k2, k1 newest first", keys)
	}
	m := got[2]
	if m.Status != store.OutboxPending || m.Event != "joiner_activated" || m.Channel != "mail" || m.Recipient != "it@example.com" ||
		m.DigestKey == "" || string(m.Payload) != `{"k":"k1"}` || !m.CreatedAt.Equal(clock.Now()) || m.CreatedAt.Location() != time.UTC {
		t.Fatalf("stored message %+v does not round-trip", m)
	}
}

func testOutboxCursor(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx := context.Background()
	mustEnqueue(t, a, store.OutboxEnqueue{Cursor: "changes", From: 0, To: 7, Messages: []store.OutboxMessage{outboxMsg("c1")}})
	_, err := b.EnqueueOutbox(ctx, store.OutboxEnqueue{Cursor: "changes", From: 0, To: 9, Messages: []store.OutboxMessage{outboxMsg("c2")}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("enqueue from a stale cursor = %v; want ErrConflict", err)
	}
	if cur, err := b.OutboxCursor(ctx, "changes"); err != nil || cur != 7 {
		t.Fatalf("cursor = %d, %v; want 7", cur, err)
	}
	if cur, err := b.OutboxCursor(ctx, "other"); err != nil || cur != 0 {
		t.Fatalf("unknown cursor = %d, %v; want 0", cur, err)
	}
	got, _ := a.ListOutbox(ctx, store.OutboxQuery{})
	if keys := keysOf(got); !slices.Equal(keys, []string{"c1"}) {
		t.Fatalf("after a refused enqueue the outbox holds %v; want only c1", keys)
	}
	mustEnqueue(t, b, store.OutboxEnqueue{Cursor: "changes", From: 7, To: 9})
	if cur, _ := a.OutboxCursor(ctx, "changes"); cur != 9 {
		t.Fatalf("cursor = %d after an enqueue without messages; want 9", cur)
	}
}

func testOutboxClaimOne(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("x1"), outboxMsg("x2")}})
	got := claim(t, a, "replica-a", clock.Now(), 0)
	if keys := keysOf(got); !slices.Equal(keys, []string{"x1", "x2"}) {
		t.Fatalf("a claimed %v; want x1, x2 oldest first", keys)
	}
	if got[0].Status != store.OutboxSending || got[0].LeaseOwner != "replica-a" || !got[0].LeaseUntil.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("claimed message %+v is not leased to replica-a for a minute", got[0])
	}
	if other := claim(t, b, "replica-b", clock.Now().Add(30*time.Second), 0); len(other) != 0 {
		t.Fatalf("b claimed %v while a's lease runs", keysOf(other))
	}
	if err := b.MarkOutbox(context.Background(), "replica-b", sentMarks(got, clock.Now())); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("b marking a's messages = %v; want ErrConflict", err)
	}
}

// testOutboxCrash: a sender that dies after sending and before marking
// leaves its messages leased; when the lease runs out another instance
// claims them (they go out again with the same identity, see notify), and
// the dead sender's late mark is refused.
func testOutboxCrash(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("y1")}})
	first := claim(t, a, "replica-a", clock.Now(), 0)
	later := clock.Now().Add(time.Minute + time.Second)
	second := claim(t, b, "replica-b", later, 0)
	if len(first) != 1 || len(second) != 1 || second[0].ID != first[0].ID || second[0].LeaseOwner != "replica-b" {
		t.Fatalf("after the lease ran out b claimed %+v; want the same message", second)
	}
	if err := a.MarkOutbox(context.Background(), "replica-a", sentMarks(first, later)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the dead sender's late mark = %v; want ErrConflict", err)
	}
	if err := b.MarkOutbox(context.Background(), "replica-b", sentMarks(second, later)); err != nil {
		t.Fatalf("b's mark: %v", err)
	}
}

func testOutboxMarkedFinal(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	ctx := context.Background()
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("s1"), outboxMsg("f1"), outboxMsg("d1")}})
	got := claim(t, a, "replica-a", clock.Now(), 0)
	marks := []store.OutboxMark{
		{ID: got[0].ID, Status: store.OutboxSent, Attempts: 1, At: clock.Now()},
		{ID: got[1].ID, Status: store.OutboxFailed, Attempts: 1, LastError: "smtp 550", At: clock.Now()},
		{ID: got[2].ID, Status: store.OutboxDigested, Attempts: 1, At: clock.Now()},
	}
	if err := a.MarkOutbox(ctx, "replica-a", marks); err != nil {
		t.Fatal(err)
	}
	// A restart: a new sender long after every lease.
	if again := claim(t, b, "replica-b", clock.Now().Add(24*time.Hour), 0); len(again) != 0 {
		t.Fatalf("marked messages claimed again: %v", keysOf(again))
	}
	if err := a.MarkOutbox(ctx, "replica-a", marks[:1]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("marking a sent message again = %v; want ErrConflict", err)
	}
	list, _ := b.ListOutbox(ctx, store.OutboxQuery{})
	byKey := map[string]store.OutboxMessage{}
	for _, m := range list {
		byKey[m.DedupeKey] = m
	}
	if m := byKey["s1"]; m.Status != store.OutboxSent || !m.SentAt.Equal(clock.Now()) || m.LeaseOwner != "" || !m.LeaseUntil.IsZero() || m.Attempts != 1 {
		t.Fatalf("sent message = %+v", m)
	}
	if m := byKey["f1"]; m.Status != store.OutboxFailed || m.LastError != "smtp 550" || !m.SentAt.IsZero() {
		t.Fatalf("failed message = %+v", m)
	}
	if m := byKey["d1"]; m.Status != store.OutboxDigested || !m.SentAt.Equal(clock.Now()) {
		t.Fatalf("digested message = %+v", m)
	}
}

func testOutboxRetry(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	ctx := context.Background()
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("r1")}})
	got := claim(t, a, "replica-a", clock.Now(), 0)
	next := clock.Now().Add(2 * time.Minute)
	err := a.MarkOutbox(ctx, "replica-a", []store.OutboxMark{{ID: got[0].ID, Status: store.OutboxPending, Attempts: 1,
		NextAttempt: next, LastError: "smtp 451", Digest: true}})
	if err != nil {
		t.Fatal(err)
	}
	if early := claim(t, b, "replica-b", next.Add(-time.Second), 0); len(early) != 0 {
		t.Fatalf("claimed before its next attempt: %v", keysOf(early))
	}
	due := claim(t, b, "replica-b", next, 0)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "smtp 451" || !due[0].Digest || !due[0].NextAttempt.Equal(next) {
		t.Fatalf("due retry = %+v; want attempts 1, the last error, the digest mark and its next attempt", due)
	}
}

func testOutboxDigestClaim(t *testing.T, open Factory) {
	clock := NewClock()
	a, _ := open(t, clock.Now)
	other := outboxMsg("o1")
	other.DigestKey = "mail|boss@example.com|joiner_activated"
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("g1"), other, outboxMsg("g2")}})
	got, err := a.ClaimOutbox(context.Background(), store.OutboxClaim{Owner: "a", Now: clock.Now(), Lease: time.Minute,
		DigestKey: outboxMsg("").DigestKey})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); !slices.Equal(keys, []string{"g1", "g2"}) {
		t.Fatalf("digest claim = %v; want g1, g2", keys)
	}
}

func testOutboxConcurrentClaims(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	var msgs []store.OutboxMessage
	for n := range 200 {
		msgs = append(msgs, outboxMsg(fmt.Sprintf("m%03d", n)))
	}
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: msgs})
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for _, r := range []struct {
		s     store.Store
		owner string
	}{{a, "a"}, {b, "b"}} {
		wg.Go(func() {
			for {
				got, err := r.s.ClaimOutbox(context.Background(), store.OutboxClaim{Owner: r.owner, Now: clock.Now(), Lease: time.Minute, Limit: 7})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if prev, dup := seen[m.DedupeKey]; dup {
						t.Errorf("%s claimed by %s and %s", m.DedupeKey, prev, r.owner)
					}
					seen[m.DedupeKey] = r.owner
				}
				mu.Unlock()
				if err := r.s.MarkOutbox(context.Background(), r.owner, sentMarks(got, clock.Now())); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d of 200 messages claimed", len(seen))
	}
}

func testOutboxList(t *testing.T, open Factory) {
	clock := NewClock()
	a, _ := open(t, clock.Now)
	ctx := context.Background()
	var msgs []store.OutboxMessage
	for n := range 5 {
		m := outboxMsg(fmt.Sprintf("l%d", n))
		if n%2 == 1 {
			m.Event = "run_held"
		}
		msgs = append(msgs, m)
	}
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: msgs})
	got := claim(t, a, "a", clock.Now(), 1)
	if err := a.MarkOutbox(ctx, "a", sentMarks(got, clock.Now())); err != nil {
		t.Fatal(err)
	}
	all, _ := a.ListOutbox(ctx, store.OutboxQuery{})
	tests := []struct {
		name string
		q    store.OutboxQuery
		want []string
	}{
		{"all newest first", store.OutboxQuery{}, []string{"l4", "l3", "l2", "l1", "l0"}},
		{"by status", store.OutboxQuery{Status: store.OutboxSent}, []string{"l0"}},
		{"by event", store.OutboxQuery{Event: "run_held"}, []string{"l3", "l1"}},
		{"page", store.OutboxQuery{BeforeID: all[1].ID, Limit: 2}, []string{"l2", "l1"}},
		{"pending and paged", store.OutboxQuery{Status: store.OutboxPending, BeforeID: all[0].ID}, []string{"l3", "l2", "l1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.ListOutbox(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if keys := keysOf(got); !slices.Equal(keys, tt.want) {
				t.Fatalf("ListOutbox(%+v) = %v; want %v", tt.q, keys, tt.want)
			}
		})
	}
}

func testOutboxInvalid(t *testing.T, open Factory) {
	clock := NewClock()
	a, _ := open(t, clock.Now)
	ctx := context.Background()
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("v1")}})
	held := claim(t, a, "a", clock.Now(), 0)
	noKey := outboxMsg("")
	noChannel := outboxMsg("v2")
	noChannel.Channel = ""
	badText := outboxMsg("v3")
	badText.Recipient = "a\x00b"
	tests := []struct {
		name string
		call func() error
	}{
		{"no dedupe key", func() error {
			_, err := a.EnqueueOutbox(ctx, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("ok"), noKey}})
			return err
		}},
		{"no channel", func() error {
			_, err := a.EnqueueOutbox(ctx, store.OutboxEnqueue{Messages: []store.OutboxMessage{noChannel}})
			return err
		}},
		{"NUL in recipient", func() error {
			_, err := a.EnqueueOutbox(ctx, store.OutboxEnqueue{Messages: []store.OutboxMessage{badText}})
			return err
		}},
		{"negative cursor", func() error {
			_, err := a.EnqueueOutbox(ctx, store.OutboxEnqueue{Cursor: "c", From: 0, To: -1})
			return err
		}},
		{"claim without owner", func() error {
			_, err := a.ClaimOutbox(ctx, store.OutboxClaim{Now: clock.Now(), Lease: time.Minute})
			return err
		}},
		{"claim without lease", func() error {
			_, err := a.ClaimOutbox(ctx, store.OutboxClaim{Owner: "a", Now: clock.Now()})
			return err
		}},
		{"mark as sending", func() error {
			return a.MarkOutbox(ctx, "a", []store.OutboxMark{{ID: held[0].ID, Status: store.OutboxSending}})
		}},
		{"mark twice in one call", func() error {
			return a.MarkOutbox(ctx, "a", []store.OutboxMark{{ID: held[0].ID, Status: store.OutboxSent}, {ID: held[0].ID, Status: store.OutboxSent}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("= %v; want ErrInvalid", err)
			}
		})
	}
	list, _ := a.ListOutbox(ctx, store.OutboxQuery{})
	if keys := keysOf(list); !slices.Equal(keys, []string{"v1"}) {
		t.Fatalf("after malformed calls the outbox holds %v; want only v1", keys)
	}
	if cur, _ := a.OutboxCursor(ctx, "c"); cur != 0 {
		t.Fatalf("a refused call moved the cursor to %d", cur)
	}
	if err := a.MarkOutbox(ctx, "a", sentMarks(held, clock.Now())); err != nil {
		t.Fatalf("the held message could not be marked after refused calls: %v", err)
	}
}

func testOutboxPrune(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	ctx := context.Background()
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("old-sent"), outboxMsg("old-failed"), outboxMsg("old-pending")}})
	got := claim(t, a, "a", clock.Now(), 2)
	marks := sentMarks(got, clock.Now())
	marks[1].Status = store.OutboxFailed
	if err := a.MarkOutbox(ctx, "a", marks); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	mustEnqueue(t, a, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("new-sent")}})
	fresh := claim(t, a, "a", clock.Now(), 0)
	var newer []store.OutboxMessage
	for _, m := range fresh {
		if m.DedupeKey == "new-sent" {
			newer = append(newer, m)
		}
	}
	if err := a.MarkOutbox(ctx, "a", sentMarks(newer, clock.Now())); err != nil {
		t.Fatal(err)
	}
	n, err := b.PruneOutbox(ctx, clock.Now().Add(-time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneOutbox = %d, %v; want the 2 old finished messages", n, err)
	}
	left, _ := a.ListOutbox(ctx, store.OutboxQuery{})
	if keys := keysOf(left); !slices.Equal(keys, []string{"new-sent", "old-pending"}) {
		t.Fatalf("after pruning the outbox holds %v; want new-sent and the unfinished old-pending", keys)
	}
	// A pruned key is free again: its event can be enqueued anew.
	if added := mustEnqueue(t, b, store.OutboxEnqueue{Messages: []store.OutboxMessage{outboxMsg("old-sent")}}); added != 1 {
		t.Fatalf("re-enqueueing a pruned key added %d", added)
	}
}

package scim

import (
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// TestSnapshotsAreBounded: however many listings start, no more than max
// views are kept, and expired ones go at the next pin.
func TestSnapshotsAreBounded(t *testing.T) {
	now := fixtureTime
	s := newSnapshots(func() time.Time { return now }, time.Minute, time.Hour, 8)
	view := &store.View{}
	for i := range 200 {
		s.pinCursor(uint64(i), view)
		s.pinIndexed(listingKey{client: uint64(i), count: 10}, view)
		if len(s.byID) > 8 || len(s.byKey) > 8 {
			t.Fatalf("after %d listings: %d snapshots, %d index keys; bound 8", i+1, len(s.byID), len(s.byKey))
		}
	}
	now = now.Add(2 * time.Minute)
	s.pinCursor(1, view)
	if len(s.byID) != 1 || len(s.byKey) != 0 {
		t.Errorf("expired snapshots kept: %d snapshots, %d index keys", len(s.byID), len(s.byKey))
	}
	if _, err := s.cursor(1, "unknown"); err == nil {
		t.Error("an unknown cursor was accepted")
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// pushTests are the push ledger's cases; Run runs them with the rest.
var pushTests = []struct {
	name string
	fn   func(t *testing.T, open Factory)
}{
	{"PushCursorStartsAtZero", testPushCursorStartsAtZero},
	{"SavePushMovesCursorAndSavesRecords", testSavePush},
	{"SavePushFromStaleCursorSavesNothing", testSavePushStale},
	{"SavePushRaceHasOneWinner", testSavePushRace},
	{"SavePushWithoutMovingTheCursor", testSavePushSameCursor},
	{"PushLedgerIsPerTarget", testPushPerTarget},
	{"PushRecordsReturnsKnownIDs", testPushRecordsKnown},
	{"ListPushRecordsFiltersAndPages", testListPushRecords},
	{"ListPushRecordsDefaultLimit", testListPushRecordsDefaultLimit},
	{"SavePushReplacesWholeRecords", testSavePushReplaces},
	{"SavePushRejectsMalformedCalls", testSavePushInvalid},
	{"PushLastErrorIsRepaired", testPushLastErrorRepaired},
	{"PushRecordsAreCopies", testPushRecordsAreCopies},
}

// berlin is a zone other than UTC, to see that times come back in UTC.
var berlin = time.FixedZone("CEST", 2*60*60)

// fullRecord sets every field, with times finer than a microsecond and in
// another zone than UTC, and bytes that are not text.
func fullRecord(id string) store.PushRecord {
	return store.PushRecord{
		Kind: store.KindIdentity, ResourceID: id, TargetID: "t-" + id, Fingerprint: "fp-" + id,
		State: []byte{0, 1, 0xfe, 0xff, '{'}, Status: store.PushFailed, Attempts: 3, LastError: "HTTP 503",
		LastAttempt:  time.Date(2026, 4, 1, 10, 0, 0, 123456789, berlin),
		LastSuccess:  time.Date(2026, 3, 31, 9, 0, 0, 999, berlin),
		PendingSince: time.Date(2026, 4, 1, 8, 0, 0, 1000, time.UTC),
		Detail:       []byte(`{"request":"PATCH /Users/x","status":503}`),
	}
}

// fullRecordStored is fullRecord(id) as the ledger gives it back for target.
func fullRecordStored(target, id string) store.PushRecord {
	r := fullRecord(id)
	r.Target = target
	r.LastAttempt = time.Date(2026, 4, 1, 8, 0, 0, 123456000, time.UTC)
	r.LastSuccess = time.Date(2026, 3, 31, 7, 0, 0, 0, time.UTC)
	r.PendingSince = time.Date(2026, 4, 1, 8, 0, 0, 1000, time.UTC)
	return r
}

func record(id string, kind store.ResourceKind, status store.PushStatus) store.PushRecord {
	return store.PushRecord{Kind: kind, ResourceID: id, Status: status, Fingerprint: "fp-" + id}
}

func mustSavePush(t *testing.T, s store.Store, target string, from, to int64, rs ...store.PushRecord) {
	t.Helper()
	if err := s.SavePush(context.Background(), target, from, to, rs); err != nil {
		t.Fatalf("save push %s %d→%d: %v", target, from, to, err)
	}
}

func pushCursor(t *testing.T, s store.Store, target string) int64 {
	t.Helper()
	seq, err := s.PushCursor(context.Background(), target)
	if err != nil {
		t.Fatalf("push cursor of %s: %v", target, err)
	}
	return seq
}

func pushRecords(t *testing.T, s store.Store, target string, ids ...string) []store.PushRecord {
	t.Helper()
	rs, err := s.PushRecords(context.Background(), target, ids)
	if err != nil {
		t.Fatalf("push records of %s: %v", target, err)
	}
	return rs
}

func listPush(t *testing.T, s store.Store, target string, q store.PushQuery) []store.PushRecord {
	t.Helper()
	rs, err := s.ListPushRecords(context.Background(), target, q)
	if err != nil {
		t.Fatalf("list push records of %s: %v", target, err)
	}
	return rs
}

func resourceIDs(rs []store.PushRecord) []string {
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.ResourceID)
	}
	return ids
}

func wantRecords(t *testing.T, got []store.PushRecord, want ...store.PushRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records %v, want %d %v", len(got), resourceIDs(got), len(want), resourceIDs(want))
	}
	for n := range want {
		if !reflect.DeepEqual(got[n], want[n]) {
			t.Fatalf("record %d differs:\n got %+v\nwant %+v", n, got[n], want[n])
		}
	}
}

func testPushCursorStartsAtZero(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	for _, s := range []store.Store{a, b} {
		if seq := pushCursor(t, s, "okta"); seq != 0 {
			t.Fatalf("cursor of a new target = %d, want 0", seq)
		}
		if rs := listPush(t, s, "okta", store.PushQuery{}); len(rs) != 0 {
			t.Fatalf("a new target has records %v", resourceIDs(rs))
		}
	}
}

func testSavePush(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	group := fullRecord("g-1")
	group.Kind, group.Status, group.State, group.Detail = store.KindGroup, store.PushSynced, nil, []byte{}
	group.LastError, group.Attempts, group.PendingSince = "", 0, time.Time{}
	mustSavePush(t, a, "okta", 0, 5, fullRecord("i-1"), group)

	if seq := pushCursor(t, b, "okta"); seq != 5 {
		t.Fatalf("cursor read through the other instance = %d, want 5", seq)
	}
	wantGroup := group
	wantGroup.Target, wantGroup.Detail = "okta", nil
	wantGroup.LastAttempt = time.Date(2026, 4, 1, 8, 0, 0, 123456000, time.UTC)
	wantGroup.LastSuccess = time.Date(2026, 3, 31, 7, 0, 0, 0, time.UTC)
	wantRecords(t, pushRecords(t, b, "okta", "i-1", "g-1"), wantGroup, fullRecordStored("okta", "i-1"))
	mustSavePush(t, b, "okta", 5, 9, record("i-2", store.KindIdentity, store.PushSynced))
	if seq := pushCursor(t, a, "okta"); seq != 9 {
		t.Fatalf("cursor after the second save = %d, want 9", seq)
	}
}

func testSavePushStale(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx := context.Background()
	mustSavePush(t, a, "okta", 0, 5, record("i-1", store.KindIdentity, store.PushSynced))
	changed := record("i-1", store.KindIdentity, store.PushFailed)
	tests := []struct {
		name     string
		from, to int64
	}{
		{"from the start", 0, 7},
		{"from behind", 3, 7},
		{"from ahead", 6, 7},
		{"without moving", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.SavePush(ctx, "okta", tt.from, tt.to, []store.PushRecord{changed, record("i-2", store.KindIdentity, store.PushSynced)})
			wantErr(t, err, store.ErrConflict)
			if seq := pushCursor(t, a, "okta"); seq != 5 {
				t.Fatalf("cursor after a stale save = %d, want 5", seq)
			}
			got := pushRecords(t, a, "okta", "i-1", "i-2")
			if len(got) != 1 || got[0].Status != store.PushSynced {
				t.Fatalf("records after a stale save = %+v; want i-1 unchanged and no i-2", got)
			}
		})
	}
}

// testSavePushRace starts two saves from one cursor through two instances
// at once, many times over: each round exactly one wins and only its
// records are kept.
func testSavePushRace(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	const rounds = 20
	var cursor int64
	for round := range rounds {
		instances := []store.Store{a, b}
		errs := make([]error, len(instances))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for n, s := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rec := record(fmt.Sprintf("r%02d-%d", round, n), store.KindIdentity, store.PushSynced)
				errs[n] = s.SavePush(context.Background(), "okta", cursor, cursor+int64(n)+1, []store.PushRecord{rec})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for n, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: both instances moved the cursor from %d", round, cursor)
			case err == nil:
				winner = n
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: losing save = %v, want ErrConflict", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither save won: %v", round, errs)
		}
		cursor += int64(winner) + 1
		if seq := pushCursor(t, b, "okta"); seq != cursor {
			t.Fatalf("round %d: cursor = %d, want the winner's %d", round, seq, cursor)
		}
		got := pushRecords(t, a, "okta", fmt.Sprintf("r%02d-0", round), fmt.Sprintf("r%02d-1", round))
		if want := []string{fmt.Sprintf("r%02d-%d", round, winner)}; !slices.Equal(resourceIDs(got), want) {
			t.Fatalf("round %d: records %v, want only the winner's %v", round, resourceIDs(got), want)
		}
	}
}

func testSavePushSameCursor(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	mustSavePush(t, a, "okta", 0, 0, record("i-1", store.KindIdentity, store.PushPending))
	mustSavePush(t, a, "okta", 0, 4)
	mustSavePush(t, b, "okta", 4, 4, record("i-2", store.KindIdentity, store.PushSynced))
	if seq := pushCursor(t, a, "okta"); seq != 4 {
		t.Fatalf("cursor = %d, want 4", seq)
	}
	if got := resourceIDs(pushRecords(t, a, "okta", "i-1", "i-2")); !slices.Equal(got, []string{"i-1", "i-2"}) {
		t.Fatalf("records = %v, want i-1 and i-2", got)
	}
}

func testPushPerTarget(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	okta := record("i-1", store.KindIdentity, store.PushSynced)
	okta.TargetID = "okta-id"
	entra := record("i-1", store.KindIdentity, store.PushQuarantined)
	entra.TargetID = "entra-id"
	mustSavePush(t, a, "okta", 0, 5, okta)
	mustSavePush(t, b, "entra", 0, 2, entra)
	// A stale save for one target does not care where the other stands.
	wantErr(t, a.SavePush(context.Background(), "entra", 5, 6, nil), store.ErrConflict)

	for _, tt := range []struct {
		target   string
		cursor   int64
		targetID string
		status   store.PushStatus
	}{
		{"okta", 5, "okta-id", store.PushSynced},
		{"entra", 2, "entra-id", store.PushQuarantined},
	} {
		if seq := pushCursor(t, a, tt.target); seq != tt.cursor {
			t.Fatalf("cursor of %s = %d, want %d", tt.target, seq, tt.cursor)
		}
		got := pushRecords(t, b, tt.target, "i-1")
		if len(got) != 1 || got[0].Target != tt.target || got[0].TargetID != tt.targetID || got[0].Status != tt.status {
			t.Fatalf("record of %s = %+v", tt.target, got)
		}
	}
	if seq, rs := pushCursor(t, a, "google"), listPush(t, a, "google", store.PushQuery{}); seq != 0 || len(rs) != 0 {
		t.Fatalf("an unused target has cursor %d and records %v", seq, resourceIDs(rs))
	}
}

func testPushRecordsKnown(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	mustSavePush(t, a, "okta", 0, 1,
		record("c", store.KindIdentity, store.PushSynced), record("a", store.KindGroup, store.PushSynced),
		record("b", store.KindIdentity, store.PushSynced))
	tests := []struct {
		name string
		ids  []string
		want []string
	}{
		{"some known, some not", []string{"c", "zzz", "a"}, []string{"a", "c"}},
		{"asked twice", []string{"b", "b"}, []string{"b"}},
		{"none known", []string{"x"}, []string{}},
		{"nothing asked", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resourceIDs(pushRecords(t, b, "okta", tt.ids...)); !slices.Equal(got, tt.want) {
				t.Fatalf("records = %v, want %v", got, tt.want)
			}
		})
	}
}

func testListPushRecords(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	mustSavePush(t, a, "okta", 0, 1,
		record("i-5", store.KindIdentity, store.PushQuarantined),
		record("i-1", store.KindIdentity, store.PushSynced),
		record("g-2", store.KindGroup, store.PushQuarantined),
		record("i-3", store.KindIdentity, store.PushFailed),
		record("i-4", store.KindIdentity, store.PushQuarantined),
		record("g-1", store.KindGroup, store.PushSynced))
	mustSavePush(t, a, "entra", 0, 1, record("i-2", store.KindIdentity, store.PushQuarantined))
	tests := []struct {
		name string
		q    store.PushQuery
		want []string
	}{
		{"everything in id order", store.PushQuery{}, []string{"g-1", "g-2", "i-1", "i-3", "i-4", "i-5"}},
		{"status", store.PushQuery{Status: store.PushQuarantined}, []string{"g-2", "i-4", "i-5"}},
		{"kind", store.PushQuery{Kind: store.KindGroup}, []string{"g-1", "g-2"}},
		{"status and kind", store.PushQuery{Status: store.PushQuarantined, Kind: store.KindIdentity}, []string{"i-4", "i-5"}},
		{"first page", store.PushQuery{Limit: 2}, []string{"g-1", "g-2"}},
		{"next page", store.PushQuery{AfterID: "g-2", Limit: 2}, []string{"i-1", "i-3"}},
		{"last page", store.PushQuery{AfterID: "i-3", Limit: 10}, []string{"i-4", "i-5"}},
		{"after an id that is not stored", store.PushQuery{AfterID: "i-35"}, []string{"i-4", "i-5"}},
		{"paging a filter", store.PushQuery{Status: store.PushQuarantined, AfterID: "g-2", Limit: 1}, []string{"i-4"}},
		{"past the end", store.PushQuery{AfterID: "i-5"}, []string{}},
		{"a status nobody has", store.PushQuery{Status: store.PushGone}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resourceIDs(listPush(t, b, "okta", tt.q)); !slices.Equal(got, tt.want) {
				t.Fatalf("records = %v, want %v", got, tt.want)
			}
		})
	}
}

func testListPushRecordsDefaultLimit(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	rs := make([]store.PushRecord, store.DefaultPushLimit+1)
	for n := range rs {
		rs[n] = record(fmt.Sprintf("i-%05d", n), store.KindIdentity, store.PushSynced)
	}
	mustSavePush(t, a, "okta", 0, 1, rs...)
	got := listPush(t, b, "okta", store.PushQuery{})
	if len(got) != store.DefaultPushLimit || got[0].ResourceID != "i-00000" || got[len(got)-1].ResourceID != fmt.Sprintf("i-%05d", store.DefaultPushLimit-1) {
		t.Fatalf("default page has %d records; want the first %d", len(got), store.DefaultPushLimit)
	}
	rest := listPush(t, b, "okta", store.PushQuery{AfterID: got[len(got)-1].ResourceID})
	if want := []string{fmt.Sprintf("i-%05d", store.DefaultPushLimit)}; !slices.Equal(resourceIDs(rest), want) {
		t.Fatalf("second page = %v, want %v", resourceIDs(rest), want)
	}
}

func testSavePushReplaces(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	mustSavePush(t, a, "okta", 0, 1, fullRecord("i-1"), fullRecord("i-2"))
	bare := record("i-1", store.KindIdentity, store.PushSynced)
	mustSavePush(t, b, "okta", 1, 2, bare)
	bare.Target = "okta"
	wantRecords(t, pushRecords(t, a, "okta", "i-1", "i-2"), bare, fullRecordStored("okta", "i-2"))
}

func testSavePushInvalid(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx := context.Background()
	mustSavePush(t, a, "okta", 0, 3, record("i-1", store.KindIdentity, store.PushSynced))
	ok := record("i-2", store.KindIdentity, store.PushSynced)
	with := func(change func(*store.PushRecord)) store.PushRecord {
		r := record("i-3", store.KindIdentity, store.PushSynced)
		change(&r)
		return r
	}
	tests := []struct {
		name     string
		target   string
		from, to int64
		records  []store.PushRecord
	}{
		{"no target", "", 3, 4, []store.PushRecord{ok}},
		{"target not text", "ok\xffta", 0, 1, []store.PushRecord{ok}},
		{"negative cursor", "okta", 3, -1, []store.PushRecord{ok}},
		{"no resource id", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.ResourceID = "" })}},
		{"unknown kind", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.Kind = "device" })}},
		{"no status", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.Status = "" })}},
		{"unknown status", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.Status = "done" })}},
		{"another target's record", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.Target = "entra" })}},
		{"one resource twice", "okta", 3, 4, []store.PushRecord{ok, ok}},
		{"negative attempts", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.Attempts = -1 })}},
		{"target id with NUL", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.TargetID = "a\x00b" })}},
		{"fingerprint not UTF-8", "okta", 3, 4, []store.PushRecord{ok, with(func(r *store.PushRecord) { r.Fingerprint = "\xc3" })}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, b.SavePush(ctx, tt.target, tt.from, tt.to, tt.records), store.ErrInvalid)
			if seq := pushCursor(t, a, "okta"); seq != 3 {
				t.Fatalf("cursor after a malformed save = %d, want 3", seq)
			}
			if got := resourceIDs(listPush(t, a, "okta", store.PushQuery{})); !slices.Equal(got, []string{"i-1"}) {
				t.Fatalf("records after a malformed save = %v, want only i-1", got)
			}
		})
	}
}

// testPushLastErrorRepaired: a target that answers garbage must still get
// its failure recorded, so LastError is repaired rather than refused.
func testPushLastErrorRepaired(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	r := record("i-1", store.KindIdentity, store.PushFailed)
	r.LastError = "HTTP 502: \xff\x00<html>"
	mustSavePush(t, a, "okta", 0, 1, r)
	got := pushRecords(t, b, "okta", "i-1")
	want := "HTTP 502: \uFFFD\uFFFD<html>"
	if len(got) != 1 {
		t.Fatalf("got %d records, want 1", len(got))
	}
	if got[0].LastError != want {
		t.Fatalf("last error = %+q, want %+q", got[0].LastError, want)
	}
}

func testPushRecordsAreCopies(t *testing.T, open Factory) {
	a, _ := open(t, NewClock().Now)
	r := fullRecord("i-1")
	mustSavePush(t, a, "okta", 0, 1, r)
	r.State[0], r.Detail[0] = 'X', 'X'
	got := pushRecords(t, a, "okta", "i-1")
	got[0].State[1], got[0].Detail[1] = 'Y', 'Y'
	wantRecords(t, pushRecords(t, a, "okta", "i-1"), fullRecordStored("okta", "i-1"))
}

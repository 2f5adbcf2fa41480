package push_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
	"github.com/personio-scim/personio-scim/store"
)

// eachBackend runs a worker test on memory and Postgres.
func eachBackend(t *testing.T, opts fake.Options, fn func(t *testing.T, e *pushtest.Env, f *fake.Target)) {
	for _, b := range pushtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var f *fake.Target
			h := pushtest.Harness{Type: "fake", Groups: !opts.NoGroups, Open: func(testing.TB, pushtest.Options) (push.Target, pushtest.Sim) {
				f = fake.New(opts)
				return f, f
			}}
			e := pushtest.NewEnv(t, h, b)
			fn(t, e, f)
		})
	}
}

var (
	ada   = pushtest.Person{PersonioID: "1", Given: "Ada", Family: "Lovelace", Department: "Engineering"}
	grace = pushtest.Person{PersonioID: "2", Given: "Grace", Family: "Hopper", Department: "Sales", Manager: "1"}
)

// failing makes the next n Push calls fail as a whole, like a target that
// answers garbage or cannot be reached.
type failing struct {
	push.Target
	mu sync.Mutex
	n  int
}

func (f *failing) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return nil, errors.New("decode answer: invalid character '<' looking for beginning of value")
	}
	return f.Target.Push(ctx, items, dry)
}

func TestWholeBatchFailureKeepsCursorAndBacksOff(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada, grace)
		ctx := context.Background()
		bad := &failing{Target: e.Seen, n: 30}
		w, err := push.NewWorker(ctx, push.WorkerOptions{Config: pushtest.WorkerConfig("t"), Target: bad, Store: e.A, Directory: e.DirA, Now: e.Clock.Now, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close(ctx)
		var waits []time.Duration
		for n := range 15 {
			_, err := w.Step(ctx)
			if err == nil || !strings.Contains(err.Error(), "invalid character") {
				t.Fatalf("pass %d: err = %v, want the target's garbage named", n, err)
			}
			st, err := w.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != push.StateBackoff || st.Cursor != 0 || st.LastError == "" {
				t.Fatalf("pass %d: status %+v, want backing off with the cursor at 0", n, st)
			}
			waits = append(waits, st.BackoffUntil.Sub(e.Clock.Now()))
			// Before the back-off ends a step sends nothing.
			rep, err := w.Step(ctx)
			if err != nil || rep.BackingOff.IsZero() {
				t.Fatalf("a step during the back-off: %+v, %v", rep, err)
			}
			e.Clock.Advance(waits[n])
		}
		for n, d := range waits {
			if d > time.Hour {
				t.Errorf("back-off %d is %s, above the one-hour cap", n, d)
			}
			if n > 0 && n < 10 && d <= waits[n-1]/2 {
				t.Errorf("back-off does not grow: %v", waits)
			}
		}
		if waits[len(waits)-1] < 30*time.Minute {
			t.Errorf("after 15 failures the back-off is only %s", waits[len(waits)-1])
		}
		if recs, _ := w.Records(ctx, store.PushQuery{}); len(recs) != 0 {
			t.Errorf("failed batches left %d records marked", len(recs))
		}
		if f.Users() != 0 {
			t.Errorf("garbage answers delivered users")
		}
		bad.mu.Lock()
		bad.n = 0
		bad.mu.Unlock()
		e.Settle(w)
		if f.Users() != 2 {
			t.Errorf("after recovery %d users, want 2", f.Users())
		}
		if st, _ := w.Status(ctx); st.State != push.StateIdle || st.LastError != "" || st.LastSuccess.IsZero() {
			t.Errorf("after recovery the status is %+v", st)
		}
	})
}

func TestLostLeadershipStopsAtOnce(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		if e.A.Backend() != "memory" {
			t.Skip("losing a Postgres session on purpose needs the server; the memory backend loses it when its handle closes")
		}
		e.Create(ada, grace)
		e.Seen.Before = func(ctx context.Context, _ []push.Item) {
			e.A.Close() // the database connection drops
			<-ctx.Done()
		}
		w := e.Worker(false, pushtest.WorkerConfig("t"))
		_, err := w.Step(context.Background())
		if err == nil || !strings.Contains(err.Error(), "leadership lost") {
			t.Fatalf("err = %v, want leadership lost", err)
		}
		if f.Writes() != 0 {
			t.Errorf("%d writes after the leadership was lost", f.Writes())
		}
		if _, err := w.Step(context.Background()); !errors.Is(err, push.ErrNotLeader) {
			t.Errorf("after the loss the worker still acts: %v", err)
		}
	})
}

func TestScopeAndMapping(t *testing.T) {
	for _, deleteOnRemoval := range []bool{false, true} {
		eachBackend(t, fake.Options{DeleteOnRemoval: deleteOnRemoval}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
			e.Create(ada, grace)
			cfg := pushtest.WorkerConfig("t")
			cfg.Scope = `department == "Engineering"`
			cfg.Mapping = map[string]string{"upn": `userName.lowerAscii()`}
			w := e.Worker(false, cfg)
			e.Settle(w)
			if _, ok := f.User(grace.PersonioID); ok || f.Users() != 1 {
				t.Fatalf("an out-of-scope person was pushed (%d users)", f.Users())
			}
			var mapped string
			for _, it := range e.Seen.Items() {
				if it.Identity != nil && it.Identity.PersonioID == ada.PersonioID {
					mapped = it.Identity.Mapped["upn"]
				}
			}
			if mapped != "ada.lovelace@example.com" {
				t.Errorf("the mapping gave %q", mapped)
			}
			moved := ada
			moved.Department = "Sales"
			e.Update(moved)
			e.Settle(w)
			u, ok := f.User(ada.PersonioID)
			switch {
			case deleteOnRemoval && ok:
				t.Errorf("a person who left the scope is still in a target that deletes")
			case !deleteOnRemoval && (!ok || u.Active):
				t.Errorf("a person who left the scope is not deactivated in a target that keeps records (present %v)", ok)
			}
		})
	}
}

func TestRulesFailingOnOnePersonQuarantineOnlyThem(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada, grace)
		cfg := pushtest.WorkerConfig("t")
		cfg.Mapping = map[string]string{"first": `groups[0]`} // nobody has groups: fails at run time
		cfg.Scope = `manager == "" || groups.size() == 0`
		w := e.Worker(false, cfg)
		e.Settle(w)
		if f.Users() != 0 {
			t.Fatalf("people with a failing mapping were pushed")
		}
		rec := e.Record(w, ada.PersonioID)
		if rec.Status != store.PushQuarantined || !strings.Contains(rec.LastError, "mapping.first") {
			t.Errorf("record %s %q, want quarantined naming the mapping key", rec.Status, rec.LastError)
		}
	})
}

func TestUnconfirmedPendingFails(t *testing.T) {
	eachBackend(t, fake.Options{Async: true}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada)
		ctx := context.Background()
		w := e.Worker(false, pushtest.WorkerConfig("t"))
		if _, err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if rec := e.Record(w, ada.PersonioID); rec.Status != store.PushPending {
			t.Fatalf("record %s, want pending", rec.Status)
		}
		e.Clock.Advance(61 * time.Minute) // never settled
		if _, err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
		rec := e.Record(w, ada.PersonioID)
		if rec.Status != store.PushFailed || !strings.Contains(rec.LastError, "did not confirm") {
			t.Errorf("record %s %q, want failed as unconfirmed", rec.Status, rec.LastError)
		}
	})
}

func TestUndeliveredDeactivationIsCounted(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada, grace)
		var mu sync.Mutex
		var counted []string
		ctx := context.Background()
		w, err := push.NewWorker(ctx, push.WorkerOptions{Config: pushtest.WorkerConfig("t"), Target: e.Seen, Store: e.A, Directory: e.DirA, Now: e.Clock.Now,
			OnUndelivered: func(target string) { mu.Lock(); counted = append(counted, target); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close(ctx)
		e.Settle(w)
		f.Reject(grace.PersonioID)
		left := grace
		left.Inactive = true
		e.Update(left)
		e.Settle(w)
		mu.Lock()
		defer mu.Unlock()
		if len(counted) == 0 || counted[0] != "t" {
			t.Errorf("the undelivered deactivation was not counted: %v", counted)
		}
		if st, _ := w.Status(ctx); st.Undelivered == 0 {
			t.Errorf("status shows no undelivered deactivation")
		}
	})
}

func TestPreviewAndPushNow(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada, grace)
		e.PutGroup(store.OpCreate, "team:x", "X", ada.PersonioID)
		ctx := context.Background()
		w := e.Worker(false, pushtest.WorkerConfig("t"))
		items, truncated, err := w.Preview(ctx, "", 0)
		if err != nil || truncated || len(items) != 3 || f.Writes() != 0 {
			t.Fatalf("preview of everyone: %d items, truncated %v, %v, %d writes", len(items), truncated, err, f.Writes())
		}
		if items[0].ID != e.IDOf(ada.PersonioID) || items[0].Requests[0].Method != "POST" {
			t.Errorf("the manager does not come first, or no create: %+v", items[0])
		}
		one, _, err := w.Preview(ctx, e.IDOf(grace.PersonioID), 0)
		if err != nil || len(one) != 1 || one[0].ID != e.IDOf(grace.PersonioID) {
			t.Fatalf("preview of one: %+v, %v", one, err)
		}
		res, err := w.PushNow(ctx, e.IDOf(grace.PersonioID))
		if err != nil || res.Outcome != push.Done || res.TargetID == "" {
			t.Fatalf("push now: %+v, %v", res, err)
		}
		if _, ok := f.User(grace.PersonioID); !ok {
			t.Errorf("push now did not provision")
		}
		if rec := e.Record(w, grace.PersonioID); rec.Status != store.PushSynced || rec.TargetID != res.TargetID {
			t.Errorf("push now left the record %s %q", rec.Status, rec.TargetID)
		}
		if _, err := w.PushNow(ctx, "no-such-id"); !errors.Is(err, push.ErrUnknownResource) {
			t.Errorf("push of an unknown id: %v", err)
		}
		e.Settle(w)
		if got, _ := f.Group("X"); !slices.Equal(got.MemberPersonioIDs, []string{ada.PersonioID}) {
			t.Errorf("group members %v", got.MemberPersonioIDs)
		}
		if items, _, _ := w.Preview(ctx, "", 0); len(items) != 0 {
			t.Errorf("after the push, a preview of everyone still shows %d items", len(items))
		}
	})
}

func TestDryRunKeepsNothingAndShowsRequests(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada, grace)
		cfg := pushtest.WorkerConfig("t")
		cfg.Live = false
		w := e.Worker(false, cfg)
		ctx := context.Background()
		if _, err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(w.LastDryRun()); got != 2 {
			t.Errorf("the last dry run shows %d items, want 2", got)
		}
		// A second pass with nothing new sends nothing, even as a dry run.
		rep, err := w.Step(ctx)
		if err != nil || rep.Items != 0 {
			t.Errorf("a second dry pass handled %d items (%v)", rep.Items, err)
		}
		res, err := w.PushNow(ctx, e.IDOf(ada.PersonioID))
		if err != nil || len(res.Requests) == 0 || f.Writes() != 0 {
			t.Errorf("push now on a dry target: %+v, %v, %d writes", res, err, f.Writes())
		}
	})
}

// throttling refuses the first batch as a whole with a Retry-After.
type throttling struct {
	push.Target
	mu   sync.Mutex
	done bool
}

func (t *throttling) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	t.mu.Lock()
	first := !t.done
	t.done = true
	t.mu.Unlock()
	if first {
		return nil, &push.ThrottledError{RetryAfter: 2 * time.Hour, Err: errors.New("429 Too Many Requests")}
	}
	return t.Target.Push(ctx, items, dry)
}

func TestThrottledBatchWaitsForRetryAfter(t *testing.T) {
	eachBackend(t, fake.Options{}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada)
		ctx := context.Background()
		w, err := push.NewWorker(ctx, push.WorkerOptions{Config: pushtest.WorkerConfig("t"), Target: &throttling{Target: f}, Store: e.A, Directory: e.DirA, Now: e.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close(ctx)
		if _, err := w.Step(ctx); err == nil {
			t.Fatal("the throttled batch succeeded")
		}
		e.Clock.Advance(time.Hour + 59*time.Minute)
		if rep, _ := w.Step(ctx); rep.BackingOff.IsZero() || f.Users() != 0 {
			t.Fatalf("the worker retried before the batch's Retry-After: %+v", rep)
		}
		e.Clock.Advance(2 * time.Minute)
		if _, err := w.Step(ctx); err != nil || f.Users() != 1 {
			t.Fatalf("after Retry-After: %v, %d users", err, f.Users())
		}
	})
}

// flaky answers every item with a retryable failure, as a target does for a
// user it created a moment ago and cannot yet find.
type flaky struct{ push.Target }

func (f flaky) Push(_ context.Context, items []push.Item, _ bool) ([]push.Result, error) {
	out := make([]push.Result, len(items))
	for n, it := range items {
		out[n] = push.Result{ID: it.ID, Outcome: push.Failed, Error: "creation not complete", Retryable: true}
	}
	return out, nil
}

// TestRetryableFailuresSlowButDoNotQuarantineSoon: throttling and eventual
// consistency are the target's state, so a record that keeps meeting them
// is retried for far longer than one the target refuses for its data.
func TestRetryableFailuresSlowButDoNotQuarantineSoon(t *testing.T) {
	eachBackend(t, fake.Options{NoGroups: true}, func(t *testing.T, e *pushtest.Env, f *fake.Target) {
		e.Create(ada)
		ctx := context.Background()
		cfg := pushtest.WorkerConfig("t")
		w, err := push.NewWorker(ctx, push.WorkerOptions{Config: cfg, Target: flaky{f}, Store: e.A, Directory: e.DirA, Now: e.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close(ctx)
		attempt := func() store.PushRecord {
			t.Helper()
			if _, err := w.Step(ctx); err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(2 * time.Hour) // past any back-off
			return e.Record(w, ada.PersonioID)
		}
		var rec store.PushRecord
		for range cfg.QuarantineAfter {
			rec = attempt()
		}
		if rec.Status != store.PushFailed || rec.Attempts != cfg.QuarantineAfter {
			t.Fatalf("after %d retryable failures: %s with %d attempts, want failed, still retried", cfg.QuarantineAfter, rec.Status, rec.Attempts)
		}
		for rec.Status == store.PushFailed && rec.Attempts < 10*cfg.QuarantineAfter {
			rec = attempt()
		}
		if rec.Status != store.PushQuarantined || rec.Attempts != 4*cfg.QuarantineAfter {
			t.Fatalf("record %s after %d attempts, want quarantined after %d", rec.Status, rec.Attempts, 4*cfg.QuarantineAfter)
		}
	})
}

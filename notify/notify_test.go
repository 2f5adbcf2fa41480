package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/store"
)

// joinerSetup creates a manager before the notifier starts (existing
// staff: no news), then a prehire joiner reporting to them.
func joinerSetup(h *harness) (manager, joiner store.Identity) {
	manager = identity("900", "boss@example.com", "Berta Boss", true, store.StateActive, "2019-01-01")
	manager.PreferredLanguage = "de-DE"
	h.apply(creates(manager))
	h.step() // the cursor starts at the end of the log
	joiner = identity("1001", "jane.doe@example.com", "Jane Doe", false, store.StatePrehire, "2026-04-14")
	joiner.Manager = manager.ID
	h.apply(creates(joiner))
	return manager, joiner
}

func TestJoinerAndLeaverMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) { testJoinerAndLeaverMessages(t, backend) })
}

func testJoinerAndLeaverMessages(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, nil)
	_, joiner := joinerSetup(h)
	h.step()

	boss := h.mailsTo("boss@example.com")
	it := h.mailsTo("it@example.com")
	if len(boss) != 1 || len(it) != 1 {
		t.Fatalf("joiner_created: %d mails to the manager, %d to IT; want 1 each", len(boss), len(it))
	}
	// The manager's identity says German; IT gets the configured English.
	if want := "Konto vorbereitet für Jane Doe (Start 2026-04-14)"; boss[0].Subject != want {
		t.Errorf("manager's subject = %q; want %q", boss[0].Subject, want)
	}
	if want := "Account prepared for Jane Doe (starts 2026-04-14)"; it[0].Subject != want {
		t.Errorf("IT's subject = %q; want %q", it[0].Subject, want)
	}
	for _, m := range append(boss, it...) {
		if !strings.Contains(m.Text, "jane.doe@example.com") || !strings.Contains(m.Text, "2026-04-14") {
			t.Errorf("text lacks the userName or the start date:\n%s", m.Text)
		}
		if !strings.Contains(m.HTML, "Jane Doe") || !strings.Contains(m.HTML, "<p>") {
			t.Errorf("HTML part lacks the content:\n%s", m.HTML)
		}
		if !m.raw.TLS || m.raw.AuthUser != "relay@example.com" || m.raw.From != "scim@example.com" {
			t.Errorf("mail went without STARTTLS and AUTH or from the wrong sender: %+v", m.raw)
		}
		if m.Header.Get("Reply-To") != "it-help@example.com" || m.Header.Get("Auto-Submitted") != "auto-generated" || m.MessageID == "" {
			t.Errorf("headers: %v", m.Header)
		}
	}
	if !strings.Contains(boss[0].Header.Get("Subject"), "=?utf-8?") {
		t.Errorf("the German subject is not RFC 2047 encoded: %q", boss[0].Header.Get("Subject"))
	}
	for _, path := range []string{"/slack", "/teams", "/hook"} {
		if got := h.hooks.requests(path); len(got) != 1 {
			t.Errorf("%s got %d posts; want 1", path, len(got))
		}
	}
	slack := decodeJSON(t, h.hooks.requests("/slack")[0].Body)
	if slack["text"] != "Account prepared for Jane Doe (starts 2026-04-14)" || len(slack["blocks"].([]any)) != 2 {
		t.Errorf("slack body = %v", slack)
	}
	teams := decodeJSON(t, h.hooks.requests("/teams")[0].Body)
	att := teams["attachments"].([]any)[0].(map[string]any)
	if teams["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" ||
		att["content"].(map[string]any)["type"] != "AdaptiveCard" {
		t.Errorf("teams body = %v", teams)
	}

	// The start date comes: the account is activated.
	h.clock.Advance(14 * 24 * time.Hour)
	joiner.Active, joiner.Lifecycle.State = true, store.StateActive
	h.apply(updates(joiner))
	h.step()
	if got := subjects(h.mailsTo("it@example.com")); len(got) != 2 || got[1] != "Account active for Jane Doe" {
		t.Fatalf("after activation IT has %q", got)
	}
	if got := subjects(h.mailsTo("boss@example.com")); len(got) != 2 || got[1] != "Konto aktiv für Jane Doe" {
		t.Fatalf("after activation the manager has %q", got)
	}

	// She leaves: IT is told, the manager is not (the default rule).
	joiner.Active, joiner.Lifecycle.State, joiner.Lifecycle.EndDate = false, store.StateLeaver, "2026-09-30"
	h.apply(updates(joiner))
	h.step()
	it = h.mailsTo("it@example.com")
	if len(it) != 3 || it[2].Subject != "Account deactivated: jane.doe@example.com" || !strings.Contains(it[2].Text, "Last day: 2026-09-30") {
		t.Fatalf("leaver: IT has %q", subjects(it))
	}
	if got := h.mailsTo("boss@example.com"); len(got) != 2 {
		t.Fatalf("the manager got the leaver mail by default: %q", subjects(got))
	}
	// Nothing is sent twice, however often the notifier steps.
	h.step()
	h.step()
	if got := len(h.smtp.received()); got != 5 {
		t.Fatalf("%d mails after idle steps; want 5", got)
	}
}

func TestLeaverToManagerWhenConfigured(t *testing.T) {
	h := newHarness(t, func(c *notify.Config) {
		c.Events = map[string]notify.EventConfig{notify.EventLeaverDeactivated: {To: []string{notify.ToIT, notify.ToManager}, Channels: []string{"mail"}}}
	})
	_, joiner := joinerSetup(h)
	joiner.Active, joiner.Lifecycle.State = true, store.StateActive
	h.apply(updates(joiner))
	h.step()
	before := len(h.mailsTo("boss@example.com"))
	joiner.Active, joiner.Lifecycle.State = false, store.StateLeaver
	h.apply(updates(joiner))
	h.step()
	if got := len(h.mailsTo("boss@example.com")) - before; got != 1 {
		t.Fatalf("manager got %d leaver mails; want 1", got)
	}
	if n := len(h.hooks.requests("/slack")); n != 2 {
		t.Fatalf("slack got %d posts; the leaver event is limited to mail, want only the 2 joiner posts", n)
	}
}

func TestExistingStaffAndScopeExclusionsAreNoNews(t *testing.T) {
	h := newHarness(t, nil)
	h.step()
	veteran := identity("1", "old@example.com", "Old Hand", true, store.StateActive, "2015-06-01")
	recent := identity("2", "new@example.com", "New Face", true, store.StateActive, "2026-03-30")
	excluded := identity("3", "x@example.com", "Ex Cluded", true, store.StateActive, "2015-06-01")
	h.apply(creates(veteran, recent, excluded))
	excluded.Active = false
	excluded.Lifecycle.ScopeExcluded = true
	h.apply(updates(excluded))
	h.step()
	got := subjects(h.mailsTo("it@example.com"))
	if !slices.Equal(got, []string{"Account active for New Face"}) {
		t.Fatalf("IT got %q; want only the recent hire's activation", got)
	}
}

func TestRunHeldMessage(t *testing.T) {
	h := newHarness(t, nil)
	var held []notify.HeldPerson
	for k := range 15 {
		held = append(held, notify.HeldPerson{PersonioID: strconv.Itoa(2000 + k), UserName: fmt.Sprintf("p%d@example.com", k), Change: "deactivate"})
	}
	ev := notify.RunEvent{ID: "run-42", Status: "held", Counts: map[string]int{"deactivate": 60}, Held: held, HeldTotal: 60}
	ctx := context.Background()
	for range 2 { // a second call, from another replica or a retry, adds nothing
		if err := h.n.RunFinished(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	h.step()
	admin := h.mailsTo("admin@example.com")
	if len(admin) != 1 {
		t.Fatalf("%d held mails to the administrators; want 1", len(admin))
	}
	m := admin[0]
	for _, want := range []string{"Run: run-42", "Held changes: 60", "deactivate: 60", "deactivate p0@example.com (Personio 2000)",
		"p9@example.com", "https://scim.example.com/admin/runs/run-42"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("held mail lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "p10@example.com") {
		t.Errorf("held mail names more than the first 10 people:\n%s", m.Text)
	}
	if len(h.mailsTo("it@example.com")) != 0 {
		t.Error("IT got the held mail")
	}
	// A held push names its target and links to it.
	if err := h.n.RunFinished(ctx, notify.RunEvent{ID: "p-1", Target: "entra", Status: "held", HeldTotal: 3}); err != nil {
		t.Fatal(err)
	}
	h.step()
	admin = h.mailsTo("admin@example.com")
	if len(admin) != 2 || !strings.HasPrefix(admin[1].Subject, "Push to entra held") ||
		!strings.Contains(admin[1].Text, "https://scim.example.com/api/v1/targets/entra") {
		t.Fatalf("held push mail: %q\n%s", subjects(admin), admin[len(admin)-1].Text)
	}
}

func TestFailingAndStaleSyncs(t *testing.T) {
	h := newHarness(t, nil) // failing_after 1h, stale_after 6h
	ctx := context.Background()
	start := h.clock.Now()
	ok := store.Run{ID: "ok-1", Status: store.RunSucceeded, StartedAt: start.Add(-time.Minute), FinishedAt: start}
	if err := h.st.SaveRun(ctx, ok); err != nil {
		t.Fatal(err)
	}
	fail := func(id string) {
		t.Helper()
		r := store.Run{ID: id, Status: store.RunFailed, StartedAt: h.clock.Now(), FinishedAt: h.clock.Now(), Error: "personio: 503"}
		if err := h.st.SaveRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := h.n.RunFinished(ctx, notify.RunEvent{ID: id, Status: "failed", Error: r.Error}); err != nil {
			t.Fatal(err)
		}
		h.step()
	}
	tests := []struct {
		advance     time.Duration
		run         string
		wantSubject []string
	}{
		{15 * time.Minute, "f-1", nil},
		{50 * time.Minute, "f-2", []string{"Sync failing since 2026-03-31 21:30 UTC"}},
		{time.Hour, "f-3", nil}, // the same failing stretch: no second mail
		{5 * time.Hour, "f-4", []string{"No successful sync for 7h5m0s"}},
		{time.Hour, "f-5", nil},
	}
	var want []string
	for _, tt := range tests {
		h.clock.Advance(tt.advance)
		fail(tt.run)
		want = append(want, tt.wantSubject...)
		if got := subjects(h.mailsTo("admin@example.com")); !slices.Equal(got, want) {
			t.Fatalf("after %s admins have %q; want %q", tt.run, got, want)
		}
	}
	last := h.mailsTo("admin@example.com")
	if !strings.Contains(last[1].Text, "Last error: personio: 503") {
		t.Errorf("stale mail lacks the last error:\n%s", last[1].Text)
	}
	// A success ends the stretch; the next failure stretch is reported again.
	h.clock.Advance(time.Minute)
	if err := h.st.SaveRun(ctx, store.Run{ID: "ok-2", Status: store.RunSucceeded, StartedAt: h.clock.Now(), FinishedAt: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	fail("f-6")
	if got := subjects(h.mailsTo("admin@example.com")); len(got) != 3 {
		t.Fatalf("a new failing stretch after a success: admins have %q", got)
	}
}

// TestWebhookSignature checks the generic webhook's signature the way a
// receiver would, with crypto/hmac and nothing of the notifier's code.
func TestWebhookSignature(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.n.RunFinished(context.Background(), notify.RunEvent{ID: "run-7", Status: "held", HeldTotal: 2}); err != nil {
		t.Fatal(err)
	}
	h.step()
	reqs := h.hooks.requests("/hook")
	if len(reqs) != 1 {
		t.Fatalf("%d signed posts; want 1", len(reqs))
	}
	r := reqs[0]
	ts := r.Header.Get("X-Personio-SCIM-Timestamp")
	if want := strconv.FormatInt(h.clock.Now().Unix(), 10); ts != want {
		t.Fatalf("timestamp header %q; want the send time %s", ts, want)
	}
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write([]byte(ts + "." + string(r.Body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get("X-Personio-SCIM-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("signature %q; want %q", got, want)
	}
	body := decodeJSON(t, r.Body)
	if body["event"] != "run_held" || body["id"] == "" || body["id"] != r.Header.Get("Idempotency-Key") {
		t.Fatalf("generic body = %v", body)
	}
	// Verify, the helper the docs offer receivers, agrees and refuses replays
	// and tampering.
	now := h.clock.Now()
	sig := r.Header.Get("X-Personio-SCIM-Signature")
	checks := []struct {
		name    string
		ts, sig string
		body    []byte
		now     time.Time
		ok      bool
	}{
		{"as sent", ts, sig, r.Body, now, true},
		{"replayed ten minutes later", ts, sig, r.Body, now.Add(10 * time.Minute), false},
		{"body changed", ts, sig, append([]byte(" "), r.Body...), now, false},
		{"timestamp changed", strconv.FormatInt(now.Unix()+1, 10), sig, r.Body, now, false},
	}
	for _, c := range checks {
		err := notify.Verify([]byte(hookSecret), c.ts, c.sig, c.body, c.now, 5*time.Minute)
		if (err == nil) != c.ok {
			t.Errorf("%s: Verify = %v; want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestRetriesAfterRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) { testRetriesAfterRefusals(t, backend) })
}

func testRetriesAfterRefusals(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(c *notify.Config) {
		c.Retry = notify.RetryConfig{MaxAttempts: 4, Initial: time.Minute, Max: 10 * time.Minute}
	})
	ctx := context.Background()
	h.smtp.refuseNext("RCPT", 451, 421)
	h.hooks.queue("/slack", answer{code: 503, retryAfter: "300"})
	h.hooks.queue("/teams", answer{code: 400})
	h.hooks.queue("/hook", answer{code: 500}, answer{code: 502})
	if err := h.n.RunFinished(ctx, notify.RunEvent{ID: "r1", Status: "held", HeldTotal: 1}); err != nil {
		t.Fatal(err)
	}
	h.step()
	status := func() map[string]store.OutboxMessage {
		out := map[string]store.OutboxMessage{}
		for _, m := range h.outbox(store.OutboxQuery{}) {
			out[m.Channel] = m
		}
		return out
	}
	st := status()
	if m := st["mail"]; m.Status != store.OutboxPending || m.Attempts != 1 || m.LastError != "smtp: deferred with 451" ||
		!m.NextAttempt.Equal(h.clock.Now().Add(time.Minute)) {
		t.Fatalf("mail after a 451 = %+v", m)
	}
	if strings.Contains(st["mail"].LastError, "admin@example.com") {
		t.Fatalf("the relay's reply text (with the address) was stored: %q", st["mail"].LastError)
	}
	if m := st["slack"]; m.Status != store.OutboxPending || !m.NextAttempt.Equal(h.clock.Now().Add(5*time.Minute)) {
		t.Fatalf("slack after 503 with Retry-After 300 = %+v; want the next attempt in 5 minutes", m)
	}
	if m := st["teams"]; m.Status != store.OutboxFailed || m.LastError != "webhook: receiver answered 400" {
		t.Fatalf("teams after a 400 = %+v; want failed for good", m)
	}
	h.clock.Advance(59 * time.Second)
	h.step()
	if n := len(h.smtp.received()); n != 0 {
		t.Fatalf("retried before the back-off: %d mails", n)
	}
	h.clock.Advance(time.Second)
	h.step() // mail: 421 → back-off 2 min; hook: 502 → 2 min
	if m := status()["mail"]; m.Attempts != 2 || !m.NextAttempt.Equal(h.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("second failure = %+v; want back-off doubled", m)
	}
	h.clock.Advance(5 * time.Minute)
	h.step()
	st = status()
	for _, ch := range []string{"mail", "slack", "hook"} {
		if st[ch].Status != store.OutboxSent {
			t.Errorf("%s = %+v; want sent after its retries", ch, st[ch])
		}
	}
	if n := len(h.mailsTo("admin@example.com")); n != 1 {
		t.Fatalf("%d mails delivered; want exactly 1", n)
	}
	if n := len(h.hooks.requests("/teams")); n != 1 {
		t.Fatalf("teams was retried after a 400: %d posts", n)
	}
}

func TestPermanentRefusalAndAttemptLimit(t *testing.T) {
	h := newHarness(t, func(c *notify.Config) {
		c.Retry = notify.RetryConfig{MaxAttempts: 2, Initial: time.Minute, Max: time.Minute}
		c.Channels = c.Channels[:1]
	})
	ctx := context.Background()
	h.smtp.refuseNext("RCPT", 550)
	h.smtp.refuseNext("DATA", 452, 452)
	if err := h.n.RunFinished(ctx, notify.RunEvent{ID: "r1", Status: "held"}); err != nil {
		t.Fatal(err)
	}
	h.cfg.Recipients.Admins = nil
	if err := h.n.WritebackRefused(ctx, notify.WritebackEvent{PersonioID: "5", UserName: "w@example.com", Attribute: "email", Reason: "422"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.step()
		h.clock.Advance(time.Minute)
	}
	got := map[string]store.OutboxMessage{}
	for _, m := range h.outbox(store.OutboxQuery{}) {
		got[m.Event] = m
	}
	if m := got[notify.EventRunHeld]; m.Status != store.OutboxFailed || m.Attempts != 1 || m.LastError != "smtp: refused with 550" {
		t.Errorf("after a 550 = %+v; want failed at once", m)
	}
	if m := got[notify.EventWritebackRefused]; m.Status != store.OutboxFailed || m.Attempts != 2 {
		t.Errorf("after two 452 = %+v; want failed after max_attempts 2", m)
	}
}

// crashingStore drops every mark, as a sender killed between sending and
// marking would.
type crashingStore struct{ store.Store }

func (crashingStore) MarkOutbox(context.Context, string, []store.OutboxMark) error {
	return nil
}

func TestCrashBetweenSendAndMark(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) { testCrashBetweenSendAndMark(t, backend) })
}

func testCrashBetweenSendAndMark(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(c *notify.Config) { c.Channels = c.Channels[:1] })
	ctx := context.Background()
	crashed := h.open("replica-a", crashingStore{h.st})
	if err := crashed.RunFinished(ctx, notify.RunEvent{ID: "r1", Status: "held", HeldTotal: 1}); err != nil {
		t.Fatal(err)
	}
	if err := crashed.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.smtp.received()); n != 1 {
		t.Fatalf("%d mails before the crash; want 1", n)
	}
	// Replica b takes over. While the dead sender's lease runs it sends
	// nothing; after the lease it sends the unmarked message once more,
	// with the same Message-ID, so the mail system drops the repeat.
	b := h.open("replica-b", h.st2)
	h.clock.Advance(time.Minute)
	if err := b.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.smtp.received()); n != 1 {
		t.Fatalf("resent while the lease ran: %d mails", n)
	}
	h.clock.Advance(2 * time.Minute)
	if err := b.Step(ctx); err != nil {
		t.Fatal(err)
	}
	mails := h.mailsTo("admin@example.com")
	if len(mails) != 2 || mails[0].MessageID != mails[1].MessageID {
		t.Fatalf("after the lease: %d transactions with Message-IDs %v; want the repeat under the same id", len(mails), messageIDs(mails))
	}
	// b marked it: no restart sends it again.
	for _, owner := range []string{"replica-b", "replica-c"} {
		h.clock.Advance(24 * time.Hour)
		if err := h.open(owner, h.st).Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.smtp.received()); n != 2 {
		t.Fatalf("a marked message went out again after restarts: %d transactions", n)
	}
	if m := h.outbox(store.OutboxQuery{}); len(m) != 1 || m[0].Status != store.OutboxSent {
		t.Fatalf("outbox = %+v; want one sent message", m)
	}
}

func messageIDs(ms []parsedMail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MessageID)
	}
	return out
}

// TestJoinerStorm: 5,000 joiners in one sync, reporting to 10 managers,
// become a few mails per recipient, not 5,000 mails to IT. On Postgres the
// storm is 1,000 joiners: the same digests, at a fifth of the database time.
func TestJoinerStorm(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) { testJoinerStorm(t, backend) })
}

func testJoinerStorm(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, nil) // threshold 10 within 15 minutes
	var managers []store.Identity
	for k := range 10 {
		managers = append(managers, identity(strconv.Itoa(100+k), fmt.Sprintf("manager%d@example.com", k), "Manager", true, store.StateActive, "2019-01-01"))
	}
	h.apply(creates(managers...))
	h.step()
	joinerCount := 5000
	if backend == "postgres" {
		joinerCount = 1000
	}
	var joiners []store.Identity
	for k := range joinerCount {
		j := identity(strconv.Itoa(10000+k), fmt.Sprintf("joiner%d@example.com", k), fmt.Sprintf("Joiner %d", k), false, store.StatePrehire, "2026-04-14")
		j.Manager = managers[k%10].ID
		joiners = append(joiners, j)
	}
	h.apply(creates(joiners...))
	for range 20 {
		h.step()
		if len(h.outbox(store.OutboxQuery{Status: store.OutboxPending}))+len(h.outbox(store.OutboxQuery{Status: store.OutboxSending})) == 0 {
			break
		}
		h.clock.Advance(5 * time.Minute)
	}
	if left := h.outbox(store.OutboxQuery{Status: store.OutboxPending}); len(left) != 0 {
		t.Fatalf("%d messages still pending", len(left))
	}
	for _, who := range []string{"it@example.com", "manager3@example.com"} {
		mails := h.mailsTo(who)
		if len(mails) > 11 {
			t.Errorf("%s got %d mails; want at most 10 single ones and a digest", who, len(mails))
		}
		covered := 0
		for _, m := range mails {
			if n, ok := digestCount(m.Subject); ok {
				covered += n
			} else {
				covered++
			}
		}
		want := joinerCount
		if who != "it@example.com" {
			want = joinerCount / 10
		}
		if covered != want {
			t.Errorf("%s: mails cover %d joiners; want %d (%q)", who, covered, want, subjects(mails))
		}
	}
	for _, path := range []string{"/slack", "/teams", "/hook"} {
		if n := len(h.hooks.requests(path)); n > 11 {
			t.Errorf("%s got %d posts; want at most 11", path, n)
		}
	}
	digested := h.outbox(store.OutboxQuery{Status: store.OutboxDigested, Event: notify.EventJoinerCreated})
	if len(digested) == 0 {
		t.Fatal("no message was folded into a digest")
	}
}

// digestCount reads "New accounts prepared: 4990" as 4990.
func digestCount(subject string) (int, bool) {
	_, n, ok := strings.Cut(subject, "New accounts prepared: ")
	if !ok {
		_, n, ok = strings.Cut(subject, "Neue Konten vorbereitet: ")
	}
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	return v, err == nil
}

func TestDailyDigest(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) { testDailyDigest(t, backend) })
}

func testDailyDigest(t *testing.T, backend string) {
	h := newHarnessOn(t, backend, func(c *notify.Config) { c.Channels = c.Channels[:1] })
	ctx := context.Background()
	ev := notify.RunEvent{ID: "r1", Status: "succeeded", Skipped: []notify.SkippedPerson{
		{PersonioID: "41", Reason: "userName: email is empty"}, {PersonioID: "42", Reason: "scope: expression failed"},
	}}
	if err := h.n.RunFinished(ctx, ev); err != nil {
		t.Fatal(err)
	}
	ev.ID = "r2" // the next run skips the same people: no new entries today
	if err := h.n.RunFinished(ctx, ev); err != nil {
		t.Fatal(err)
	}
	err := h.st.SavePush(ctx, "entra", 0, 0, []store.PushRecord{
		{Kind: store.KindIdentity, ResourceID: "id-1", Status: store.PushQuarantined, LastError: "400 invalid manager"},
		{Kind: store.KindIdentity, ResourceID: "id-2", Status: store.PushSynced},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.step()
	if n := len(h.smtp.received()); n != 0 {
		t.Fatalf("%d mails before the daily digest time", n)
	}
	// The clock stands at 23:30 in Berlin; the digest goes out at 08:00.
	h.clock.Advance(8*time.Hour + 29*time.Minute)
	h.step()
	if n := len(h.smtp.received()); n != 0 {
		t.Fatalf("%d mails at 07:59", n)
	}
	h.clock.Advance(time.Minute)
	h.step()
	got := h.mailsTo("admin@example.com")
	if len(got) != 2 {
		t.Fatalf("admins got %q; want one digest per event", subjects(got))
	}
	slices.SortFunc(got, func(a, b parsedMail) int { return strings.Compare(a.Subject, b.Subject) })
	if got[0].Subject != "People skipped by the mapping: 2" || !strings.Contains(got[0].Text, "Personio 41: userName: email is empty") {
		t.Errorf("skipped digest: %q\n%s", got[0].Subject, got[0].Text)
	}
	if got[1].Subject != "Push records in quarantine: 1" || !strings.Contains(got[1].Text, "entra: identity id-1: 400 invalid manager") {
		t.Errorf("quarantine digest: %q\n%s", got[1].Subject, got[1].Text)
	}
}

func TestWritebackRefusedGoesToIT(t *testing.T) {
	h := newHarness(t, func(c *notify.Config) { c.Channels = c.Channels[:1] })
	err := h.n.WritebackRefused(context.Background(), notify.WritebackEvent{PersonioID: "77", UserName: "w@example.com", Attribute: "email", Reason: "422 attribute is read-only"})
	if err != nil {
		t.Fatal(err)
	}
	h.step()
	it := h.mailsTo("it@example.com")
	if len(it) != 1 || it[0].Subject != "Personio refused a write-back for w@example.com" || !strings.Contains(it[0].Text, "Reason: 422 attribute is read-only") {
		t.Fatalf("IT got %q", subjects(it))
	}
}

func TestSwitchedOffEventSendsNothing(t *testing.T) {
	off := false
	h := newHarness(t, func(c *notify.Config) {
		c.Events = map[string]notify.EventConfig{notify.EventRunHeld: {Enabled: &off}}
	})
	if err := h.n.RunFinished(context.Background(), notify.RunEvent{ID: "r", Status: "held"}); err != nil {
		t.Fatal(err)
	}
	h.step()
	if n := len(h.outbox(store.OutboxQuery{})); n != 0 {
		t.Fatalf("%d messages for a switched-off event", n)
	}
}

func TestPreviewEveryEventAndLanguage(t *testing.T) {
	h := newHarness(t, nil)
	for _, ev := range notify.Events() {
		for _, lang := range notify.Languages() {
			for _, digest := range []bool{false, true} {
				p, err := h.n.Preview(ev, lang, digest)
				if err != nil {
					t.Fatalf("%s/%s digest=%v: %v", ev, lang, digest, err)
				}
				for _, s := range []string{p.Subject, p.Text, p.HTML} {
					if s == "" || strings.Contains(s, "<no value>") {
						t.Errorf("%s/%s digest=%v rendered %q", ev, lang, digest, s)
					}
				}
				if lang == "de" {
					en, _ := h.n.Preview(ev, "en", digest)
					if en.Text == p.Text {
						t.Errorf("%s: German text is the English one", ev)
					}
				}
			}
		}
	}
	if _, err := h.n.Preview("no_such_event", "en", false); err == nil {
		t.Error("preview of an unknown event succeeded")
	}
}

func TestTemplateOverrides(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "en"), 0o755)
	os.WriteFile(filepath.Join(dir, "en", "run_held.txt"), []byte(`{{define "title"}}Held{{end}}{{define "subject"}}HOLD {{.Run.ID}}{{end}}{{define "text"}}see {{.Run.ReviewURL}}{{end}}{{define "line"}}{{.Run.ID}}{{end}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "en", "run_held.html"), []byte(`<b>{{.Subject}}</b>`), 0o644)
	h := newHarness(t, func(c *notify.Config) { c.TemplatesDir = dir; c.Channels = c.Channels[:1] })
	if err := h.n.RunFinished(context.Background(), notify.RunEvent{ID: "r<1>", Status: "held"}); err != nil {
		t.Fatal(err)
	}
	h.step()
	got := h.mailsTo("admin@example.com")
	if len(got) != 1 || got[0].Subject != "HOLD r<1>" || got[0].HTML != "<b>HOLD r&lt;1&gt;</b>" {
		t.Fatalf("override: %q, html %q", subjects(got), got[0].HTML)
	}
	os.WriteFile(filepath.Join(dir, "en", "run_held.txt"), []byte(`{{define "subject"}}{{.Run.ID`), 0o644)
	chans, err := notify.OpenChannels(h.cfg, func(k string) string { return h.env[k] }, notify.ChannelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = notify.New(notify.Options{Store: h.st, Config: h.cfg, Channels: chans})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "en", "run_held.txt")) {
		t.Fatalf("a broken override = %v; want an error naming its file", err)
	}
}

func TestFinishedMessagesArePrunedAfterRetention(t *testing.T) {
	h := newHarness(t, func(c *notify.Config) { c.Channels = c.Channels[:1] })
	if err := h.n.RunFinished(context.Background(), notify.RunEvent{ID: "r1", Status: "held"}); err != nil {
		t.Fatal(err)
	}
	h.step()
	h.clock.Advance(29 * 24 * time.Hour)
	h.step()
	if n := len(h.outbox(store.OutboxQuery{})); n != 1 {
		t.Fatalf("%d messages after 29 days; want the sent one kept", n)
	}
	h.clock.Advance(2 * 24 * time.Hour)
	h.step()
	if n := len(h.outbox(store.OutboxQuery{})); n != 0 {
		t.Fatalf("%d messages after 31 days; want none", n)
	}
}

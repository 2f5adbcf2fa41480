package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/store"
)

// TestRunSendsFromOneReplica runs two replicas' loops on one database: the
// leader sends each message once; when its database session ends, the
// other replica takes over.
func TestRunSendsFromOneReplica(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarnessOn(t, backend, func(c *notify.Config) { c.Channels = c.Channels[:1] })
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()
		run := func(owner string, st store.Store) *notify.Notifier {
			chans, err := notify.OpenChannels(h.cfg, func(k string) string { return h.env[k] }, notify.ChannelOptions{TLS: h.pool})
			if err != nil {
				t.Fatal(err)
			}
			n, err := notify.New(notify.Options{Store: st, Config: h.cfg, Channels: chans, Now: h.clock.Now, Owner: owner, Poll: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { n.Run(ctx) })
			return n
		}
		a := run("replica-a", h.st)
		run("replica-b", h.st2)
		for k, id := range []string{"r1", "r2", "r3"} {
			if err := a.RunFinished(ctx, notify.RunEvent{ID: id, Status: "held"}); err != nil {
				t.Fatal(err)
			}
			waitForMails(t, h, k+1)
		}
		// Replica a's session ends (a crash, a deploy): b leads from now on.
		h.st.Close()
		other := h.open("replica-c", h.st2)
		if err := other.RunFinished(ctx, notify.RunEvent{ID: "r4", Status: "held"}); err != nil {
			t.Fatal(err)
		}
		waitForMails(t, h, 4)
		if got := len(h.smtp.received()); got != 4 {
			t.Fatalf("%d mails for 4 held runs", got)
		}
	})
}

// waitForMails waits until the SMTP server has n mails, failing after a
// generous bound; the outcome is decided by the count, not the time.
func waitForMails(t *testing.T, h *harness, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(h.smtp.received()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d mails after 30 s; want %d", len(h.smtp.received()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

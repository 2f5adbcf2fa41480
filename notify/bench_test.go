package notify_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// countingChannel accepts every message at once, so the benchmark
// measures the notifier and the outbox, not a relay.
type countingChannel struct{ sent atomic.Int64 }

func (c *countingChannel) Mail() bool { return true }
func (c *countingChannel) Send(context.Context, notify.Message) error {
	c.sent.Add(1)
	return nil
}

// BenchmarkJoinerStorm: 5,000 joiners in one change set, from the change
// log through the outbox to one digest per recipient (memory store).
func BenchmarkJoinerStorm(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		clock := storetest.NewClock()
		st := memory.New(memory.Options{Now: clock.Now})
		cfg := notify.DefaultConfig()
		cfg.Recipients.IT = []string{"it@example.com"}
		cfg.Channels = []notify.ChannelConfig{{Name: "mail", Type: notify.TypeSMTP, RatePerMinute: 1e6, RecipientPerHour: 1e6,
			SMTP: &notify.SMTPConfig{Host: "relay.example.com", From: "scim@example.com"}}}
		ch := &countingChannel{}
		n, err := notify.New(notify.Options{Store: st, Config: cfg, Channels: map[string]notify.Channel{"mail": ch}, Now: clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		manager := identity("1", "boss@example.com", "Boss", true, store.StateActive, "2019-01-01")
		st.Apply(ctx, creates(manager))
		n.Step(ctx)
		var joiners []store.Identity
		for k := range 5000 {
			j := identity(strconv.Itoa(10+k), fmt.Sprintf("j%d@example.com", k), "J", false, store.StatePrehire, "2026-04-14")
			j.Manager = manager.ID
			joiners = append(joiners, j)
		}
		st.Apply(ctx, creates(joiners...))
		b.StartTimer()
		for range 10 {
			if err := n.Step(ctx); err != nil {
				b.Fatal(err)
			}
			clock.Advance(cfg.Digest.Window)
		}
		b.StopTimer()
		if got := ch.sent.Load(); got != 22 { // per recipient: 10 single mails and one digest
			b.Fatalf("%d sends; want 22", got)
		}
		b.ReportMetric(float64(ch.sent.Load()), "sends/op")
		b.StartTimer()
	}
}

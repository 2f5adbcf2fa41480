package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/personio-scim/personio-scim/store"
)

// leaderName is the lock one replica holds while it follows the change log
// and sends.
const leaderName = "notify"

// changesCursor is the outbox cursor of the change-log feed.
const changesCursor = "notify:changes"

// Options wires a Notifier.
type Options struct {
	Store  store.Store
	Config Config
	// Channels by the names in Config.Channels (see OpenChannels).
	Channels map[string]Channel
	// Targets lists the push targets whose quarantined records go into
	// the daily digest (nil: none).
	Targets func() []string
	Now     func() time.Time
	Logger  *slog.Logger
	// Owner names this replica in outbox leases (default: random).
	Owner string
	// Lease is how long a claimed message is this replica's (default 2
	// min); a sender that dies holding it delays its messages this long.
	Lease time.Duration
	// Poll is the Run loop's interval (default 10 s).
	Poll time.Duration
}

// Notifier turns events into outbox messages and, on the leading replica,
// sends them.
type Notifier struct {
	st       store.Store
	cfg      Config
	channels map[string]Channel
	targets  func() []string
	now      func() time.Time
	log      *slog.Logger
	owner    string
	lease    time.Duration
	poll     time.Duration
	tpl      *templateSet
	zone     *time.Location

	mu          sync.Mutex
	channelRate map[string]*rate.Limiter
	personRate  map[string]*rate.Limiter
	recent      map[string][]time.Time // digest key → individual sends within the window
	lastDigest  map[string]time.Time   // digest key → when its last digest went out
	lastDaily   string                 // the day whose quarantine report was enqueued
	lastPrune   string                 // the day the outbox was last pruned
}

// New checks the configuration against the channels and parses the
// templates.
func New(opts Options) (*Notifier, error) {
	if opts.Store == nil {
		return nil, errors.New("notify: no store")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	for _, ch := range opts.Config.Channels {
		if opts.Channels[ch.Name] == nil {
			return nil, fmt.Errorf("notify: channel %q is not open", ch.Name)
		}
	}
	tpl, err := loadTemplates(opts.Config.TemplatesDir)
	if err != nil {
		return nil, err
	}
	zone, _ := time.LoadLocation(opts.Config.Digest.Timezone)
	n := &Notifier{
		st: opts.Store, cfg: opts.Config, channels: opts.Channels, targets: opts.Targets, now: opts.Now,
		log: opts.Logger, owner: opts.Owner, lease: opts.Lease, poll: opts.Poll, tpl: tpl, zone: zone,
		channelRate: map[string]*rate.Limiter{}, personRate: map[string]*rate.Limiter{},
		recent: map[string][]time.Time{}, lastDigest: map[string]time.Time{},
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.owner == "" {
		b := make([]byte, 8)
		rand.Read(b)
		n.owner = "notify-" + hex.EncodeToString(b)
	}
	if n.lease <= 0 {
		n.lease = 2 * time.Minute
	}
	if n.poll <= 0 {
		n.poll = 10 * time.Second
	}
	if n.targets == nil {
		n.targets = func() []string { return nil }
	}
	return n, nil
}

// Run follows the change log and sends while this replica leads, until ctx
// ends. Every replica may run it; one sends at a time.
func (n *Notifier) Run(ctx context.Context) error {
	nudge := n.st.Watch(ctx)
	tick := time.NewTicker(n.poll)
	defer tick.Stop()
	for {
		lead, err := n.st.TryLead(ctx, leaderName)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("notify: leader lock unavailable", "error", err)
		}
		if lead != nil {
			err := n.lead(ctx, lead, nudge, tick.C)
			lead.Release(context.WithoutCancel(ctx))
			if err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (n *Notifier) lead(ctx context.Context, lead store.Leadership, nudge <-chan struct{}, tick <-chan time.Time) error {
	for {
		if err := n.Step(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("notify: step failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-lead.Lost():
			return nil
		case <-nudge:
		case <-tick:
		}
	}
}

// Step does one round of the leader's work: read new change-log rows into
// the outbox, check for stale data and the daily report, and send what is
// due. Tests drive it with their clock.
func (n *Notifier) Step(ctx context.Context) error {
	var errs []error
	if err := n.FollowChanges(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.checkStale(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.enqueueQuarantined(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := n.Deliver(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.prune(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// prune deletes finished messages older than the retention, once a day.
func (n *Notifier) prune(ctx context.Context) error {
	now := n.now()
	day := now.In(n.zone).Format(time.DateOnly)
	n.mu.Lock()
	done := n.lastPrune == day
	n.mu.Unlock()
	if done {
		return nil
	}
	pruned, err := n.st.PruneOutbox(ctx, now.Add(-n.cfg.Retention))
	if err != nil {
		return fmt.Errorf("notify: prune: %w", err)
	}
	if pruned > 0 {
		n.log.Info("notify: pruned finished messages", "messages", pruned)
	}
	n.mu.Lock()
	n.lastPrune = day
	n.mu.Unlock()
	return nil
}

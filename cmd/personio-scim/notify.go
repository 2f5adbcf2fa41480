package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

// notifierOptions are what newNotifier needs besides the environment.
type notifierOptions struct {
	Store  store.Store
	Logger *slog.Logger
	Getenv func(string) string // os.Getenv in production
	// Targets lists the push targets whose quarantined records go into
	// the daily digest.
	Targets func() []string
	// Console receives console channels' output (the demo's stdout).
	Console io.Writer
}

// newNotifier builds the notifier from the `notifications:` section of
// CONFIG_FILE and the secrets its channels name in the environment. It
// returns nil and no error when the section is absent or has no channel:
// notifications are off.
func newNotifier(e env, cfg notify.Config, opts notifierOptions) (*notify.Notifier, error) {
	if len(cfg.Channels) == 0 {
		return nil, nil
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = e.PublicURL
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	chans, err := notify.OpenChannels(cfg, opts.Getenv, notify.ChannelOptions{Console: opts.Console})
	if err != nil {
		return nil, fmt.Errorf("CONFIG_FILE %s: %w", e.ConfigFile, err)
	}
	return notify.New(notify.Options{Store: opts.Store, Config: cfg, Channels: chans, Targets: opts.Targets, Logger: opts.Logger})
}

// demoNotifications print every event to the demo's console, in English.
func demoNotifications() notify.Config {
	cfg := notify.DefaultConfig()
	cfg.Recipients = notify.Recipients{IT: []string{"it@demo.invalid"}, Admins: []string{"admin@demo.invalid"}}
	cfg.Channels = []notify.ChannelConfig{{Name: "console", Type: notify.TypeConsole, RatePerMinute: 600, RecipientPerHour: 3600}}
	return cfg
}

// runEvent tells the notifier what a sync run came to: its counts, the
// first held changes (the review link leads to the rest) and the people
// the mapping skipped.
func runEvent(rep mirror.Report) notify.RunEvent {
	const firstHeld = 10
	held := rep.Guard.Held[:min(len(rep.Guard.Held), firstHeld)]
	ev := notify.RunEvent{
		ID: rep.RunID, Status: string(rep.Status), Counts: runCounts(rep.Counts),
		HeldTotal: len(rep.Guard.Held), Error: rep.Error,
	}
	for _, h := range held {
		change := h.Change
		if h.Group != "" {
			change += " from " + h.Group
		}
		ev.Held = append(ev.Held, notify.HeldPerson{PersonioID: h.PersonioID, UserName: h.UserName, Change: change})
	}
	for _, s := range rep.Skipped {
		ev.Skipped = append(ev.Skipped, notify.SkippedPerson{PersonioID: s.PersonID, Reason: s.Reason})
	}
	return ev
}

func runCounts(c mirror.Counts) map[string]int {
	return map[string]int{
		"created": c.Created, "updated": c.Updated, "activated": c.Activated, "deactivated": c.Deactivated,
		"removed": c.Removed, "groups_created": c.GroupsCreated, "groups_updated": c.GroupsUpdated,
		"groups_removed": c.GroupsRemoved, "skipped": c.Skipped, "held": c.Held,
	}
}

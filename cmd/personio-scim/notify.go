package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/personio-scim/personio-scim/notify"
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
func newNotifier(e env, opts notifierOptions) (*notify.Notifier, error) {
	cfg, err := loadNotifications(e.ConfigFile)
	if err != nil || len(cfg.Channels) == 0 {
		return nil, err
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

// newDemoNotifier prints every event to the console, in English.
func newDemoNotifier(st store.Store, logger *slog.Logger, console io.Writer) (*notify.Notifier, error) {
	cfg := notify.DefaultConfig()
	cfg.Recipients = notify.Recipients{IT: []string{"it@demo.invalid"}, Admins: []string{"admin@demo.invalid"}}
	cfg.Channels = []notify.ChannelConfig{{Name: "console", Type: notify.TypeConsole, RatePerMinute: 600, RecipientPerHour: 3600}}
	chans, err := notify.OpenChannels(cfg, os.Getenv, notify.ChannelOptions{Console: console})
	if err != nil {
		return nil, err
	}
	return notify.New(notify.Options{Store: st, Config: cfg, Channels: chans, Logger: logger})
}

// loadNotifications reads only the notifications section; the rest of the
// file belongs to the other packages' parsers.
func loadNotifications(path string) (notify.Config, error) {
	if path == "" {
		return notify.DefaultConfig(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return notify.Config{}, fmt.Errorf("CONFIG_FILE: %w", err)
	}
	return notify.ParseDocument(path, data)
}

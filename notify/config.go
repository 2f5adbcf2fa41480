// Package notify tells the people who must act: a manager that their new
// hire's account exists, IT that someone left, administrators that a sync is
// held or failing. Events come from the change log (followed from a durable
// cursor) and from the sync and push engines; messages go through the
// store's outbox, so that a crash or a restart neither loses nor repeats
// them, and out by mail (SMTP) or webhooks (Slack, Teams, signed JSON).
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Event kinds, the keys of the `events:` section.
const (
	EventJoinerCreated     = "joiner_created"
	EventJoinerActivated   = "joiner_activated"
	EventLeaverDeactivated = "leaver_deactivated"
	EventRunHeld           = "run_held"
	EventRunFailed         = "run_failed"
	EventDataStale         = "data_stale"
	EventPersonSkipped     = "person_skipped"
	EventPushQuarantined   = "push_quarantined"
	EventWritebackRefused  = "writeback_refused"
)

// Events lists every event kind in a fixed order.
func Events() []string {
	return []string{EventJoinerCreated, EventJoinerActivated, EventLeaverDeactivated, EventRunHeld, EventRunFailed,
		EventDataStale, EventPersonSkipped, EventPushQuarantined, EventWritebackRefused}
}

// isDaily reports whether an event goes out only in the daily digest.
func isDaily(event string) bool {
	return event == EventPersonSkipped || event == EventPushQuarantined
}

// Recipient rules: who an event goes to, besides literal addresses.
const (
	ToManager = "manager" // the person's manager, by the manager identity's work email
	ToIT      = "it"
	ToAdmins  = "admins"
)

// Channel types.
const (
	TypeSMTP    = "smtp"
	TypeSlack   = "slack"
	TypeTeams   = "teams"
	TypeWebhook = "webhook" // generic JSON, signed with HMAC-SHA256
	// TypeConsole prints messages to standard output: for the demo and
	// trials only, since it shows what recipients read.
	TypeConsole = "console"
)

// Config is the `notifications:` section of CONFIG_FILE.
type Config struct {
	// Language of messages: en or de. A manager whose identity says
	// preferredLanguage de gets German whatever this says.
	Language string `yaml:"language"`
	// PublicURL is the base of review links (default: PUBLIC_URL).
	PublicURL string `yaml:"public_url"`
	// TemplatesDir holds overrides: LANG/EVENT.txt and LANG/EVENT.html.
	TemplatesDir string                 `yaml:"templates_dir"`
	Recipients   Recipients             `yaml:"recipients"`
	Channels     []ChannelConfig        `yaml:"channels"`
	Events       map[string]EventConfig `yaml:"events"`
	Digest       DigestConfig           `yaml:"digest"`
	// StaleAfter: no successful sync for this long is reported.
	StaleAfter time.Duration `yaml:"stale_after"`
	// FailingAfter: failed syncs are reported once they have failed for
	// this long since the last success (0: at the first failure).
	FailingAfter time.Duration `yaml:"failing_after"`
	// JoinerGraceDays: an account created already active counts as a
	// joiner's when the hire date is at most this many days past; older
	// hires are existing staff seen for the first time.
	JoinerGraceDays int         `yaml:"joiner_grace_days"`
	Retry           RetryConfig `yaml:"retry"`
	// Retention is how long finished messages, and the personal data
	// they carry, stay in the outbox (and in GET /api/v1/notifications).
	Retention time.Duration `yaml:"retention"`
}

// Recipients are the standing addresses the rules name.
type Recipients struct {
	IT     []string `yaml:"it"`
	Admins []string `yaml:"admins"`
}

// ChannelConfig is one way out. Secrets come from the environment
// variables it names, never from the file.
type ChannelConfig struct {
	Name string      `yaml:"name"`
	Type string      `yaml:"type"`
	SMTP *SMTPConfig `yaml:"smtp"`
	URL  string      `yaml:"url"`
	// URLEnv names the variable holding the webhook URL (Slack and Teams
	// URLs are credentials).
	URLEnv    string `yaml:"url_env"`
	SecretEnv string `yaml:"secret_env"`
	// RatePerMinute caps messages on this channel (default 60);
	// RecipientPerHour caps messages to one recipient (default 30).
	RatePerMinute    float64 `yaml:"rate_per_minute"`
	RecipientPerHour float64 `yaml:"recipient_per_hour"`
}

// SMTPConfig is a mail relay.
type SMTPConfig struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS: starttls (default, port 587), implicit (port 465), or none
	// (loopback relays only).
	TLS         string `yaml:"tls"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	// Auth: plain (default), login, or xoauth2 (OAuth 2.0 client
	// credentials, as Microsoft 365 wants); ignored without a username.
	Auth string `yaml:"auth"`
	// OAuth2 is the token endpoint and client for auth: xoauth2.
	OAuth2  *OAuth2Config `yaml:"oauth2"`
	From    string        `yaml:"from"`
	ReplyTo string        `yaml:"reply_to"`
	// HeloName is the name given in EHLO (default localhost).
	HeloName string `yaml:"helo_name"`
}

// OAuth2Config is an OAuth 2.0 client-credentials grant for SMTP.
type OAuth2Config struct {
	TokenURL        string   `yaml:"token_url"`
	ClientID        string   `yaml:"client_id"`
	ClientSecretEnv string   `yaml:"client_secret_env"`
	Scopes          []string `yaml:"scopes"`
}

// EventConfig switches an event and overrides its recipients and channels.
type EventConfig struct {
	Enabled *bool    `yaml:"enabled"`
	To      []string `yaml:"to"`
	// Channels limits the event to these channels (default: all).
	Channels []string `yaml:"channels"`
}

// DigestConfig folds storms and daily reports into one message.
type DigestConfig struct {
	// More than Threshold messages of one event for one recipient within
	// Window become one digest per window.
	Window    time.Duration `yaml:"window"`
	Threshold int           `yaml:"threshold"`
	// DailyAt (HH:MM in Timezone) is when the daily digest of skipped
	// people and quarantined push records goes out.
	DailyAt  string `yaml:"daily_at"`
	Timezone string `yaml:"timezone"`
}

// RetryConfig is the back-off of failed deliveries.
type RetryConfig struct {
	MaxAttempts int           `yaml:"max_attempts"`
	Initial     time.Duration `yaml:"initial"`
	Max         time.Duration `yaml:"max"`
}

// defaultRecipients is each event's rule when the file does not say, and
// the set of known events.
func defaultRecipients() map[string][]string {
	return map[string][]string{
		EventJoinerCreated:     {ToManager, ToIT},
		EventJoinerActivated:   {ToManager, ToIT},
		EventLeaverDeactivated: {ToIT},
		EventRunHeld:           {ToAdmins},
		EventRunFailed:         {ToAdmins},
		EventDataStale:         {ToAdmins},
		EventPersonSkipped:     {ToAdmins},
		EventPushQuarantined:   {ToAdmins},
		EventWritebackRefused:  {ToIT},
	}
}

// DefaultConfig is what an empty section means: every event on, no channel.
func DefaultConfig() Config {
	return Config{
		Language:        "en",
		Digest:          DigestConfig{Window: 15 * time.Minute, Threshold: 10, DailyAt: "08:00", Timezone: "Europe/Berlin"},
		StaleAfter:      6 * time.Hour,
		FailingAfter:    time.Hour,
		JoinerGraceDays: 7,
		Retry:           RetryConfig{MaxAttempts: 10, Initial: time.Minute, Max: time.Hour},
		Retention:       30 * 24 * time.Hour,
	}
}

// ParseConfig reads the section's YAML strictly: an unknown key is an error
// naming it. name prefixes every error.
func ParseConfig(name string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// Validate names every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Language != "en" && c.Language != "de" {
		bad("notifications.language: %q is not en or de", c.Language)
	}
	for _, a := range slices.Concat(c.Recipients.IT, c.Recipients.Admins) {
		if _, err := mail.ParseAddress(a); err != nil {
			bad("notifications.recipients: %q is not a mail address", a)
		}
	}
	names := map[string]bool{}
	for n, ch := range c.Channels {
		key := fmt.Sprintf("notifications.channels[%d]", n)
		if ch.Name == "" || names[ch.Name] {
			bad("%s.name: empty or used twice", key)
		}
		names[ch.Name] = true
		errs = append(errs, ch.validate(key)...)
	}
	for ev, ec := range c.Events {
		if !knownEvent(ev) {
			bad("notifications.events.%s: unknown event; known: %s", ev, strings.Join(Events(), ", "))
			continue
		}
		for _, to := range ec.To {
			if to != ToManager && to != ToIT && to != ToAdmins {
				if _, err := mail.ParseAddress(to); err != nil {
					bad("notifications.events.%s.to: %q is not manager, it, admins or a mail address", ev, to)
				}
			}
		}
		for _, ch := range ec.Channels {
			if !names[ch] {
				bad("notifications.events.%s.channels: no channel named %q", ev, ch)
			}
		}
	}
	if c.Digest.Window <= 0 || c.Digest.Threshold < 1 {
		bad("notifications.digest: window must be positive and threshold at least 1")
	}
	if _, err := time.Parse("15:04", c.Digest.DailyAt); err != nil {
		bad("notifications.digest.daily_at: %q is not HH:MM", c.Digest.DailyAt)
	}
	if _, err := time.LoadLocation(c.Digest.Timezone); err != nil {
		bad("notifications.digest.timezone: %q is not a time zone", c.Digest.Timezone)
	}
	if c.StaleAfter <= 0 || c.FailingAfter < 0 || c.JoinerGraceDays < 0 {
		bad("notifications: stale_after must be positive, failing_after and joiner_grace_days not negative")
	}
	if c.Retention < 24*time.Hour {
		bad("notifications.retention: at least 24h, so that a day's events are not enqueued twice")
	}
	if c.Retry.MaxAttempts < 1 || c.Retry.Initial <= 0 || c.Retry.Max < c.Retry.Initial {
		bad("notifications.retry: max_attempts at least 1, initial positive, max not below initial")
	}
	return errors.Join(errs...)
}

func (ch *ChannelConfig) validate(key string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(key+format, args...)) }
	switch ch.Type {
	case TypeSMTP:
		if ch.SMTP == nil || ch.SMTP.Host == "" {
			bad(".smtp.host: required for type smtp")
			return errs
		}
		s := ch.SMTP
		if s.TLS != "" && s.TLS != "starttls" && s.TLS != "implicit" && s.TLS != "none" {
			bad(".smtp.tls: %q is not starttls, implicit or none", s.TLS)
		}
		switch s.Auth {
		case "", "plain", "login":
			if s.Username != "" && s.PasswordEnv == "" {
				bad(".smtp.password_env: required with a username")
			}
		case "xoauth2":
			if s.Username == "" || s.OAuth2 == nil || s.OAuth2.TokenURL == "" || s.OAuth2.ClientID == "" || s.OAuth2.ClientSecretEnv == "" {
				bad(".smtp: auth xoauth2 needs username and oauth2.token_url, client_id and client_secret_env")
			}
		default:
			bad(".smtp.auth: %q is not plain, login or xoauth2", s.Auth)
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			bad(".smtp.from: %q is not a mail address", s.From)
		}
		if s.ReplyTo != "" {
			if _, err := mail.ParseAddress(s.ReplyTo); err != nil {
				bad(".smtp.reply_to: %q is not a mail address", s.ReplyTo)
			}
		}
		if s.Port < 0 || s.Port > 65535 {
			bad(".smtp.port: %d is not a port", s.Port)
		}
	case TypeSlack, TypeTeams, TypeWebhook:
		if (ch.URL == "") == (ch.URLEnv == "") {
			bad(": give exactly one of url and url_env")
		}
		if ch.Type == TypeWebhook && ch.SecretEnv == "" {
			bad(".secret_env: a generic webhook is signed; name the variable holding its secret")
		}
	case TypeConsole:
	default:
		bad(".type: %q is not smtp, slack, teams, webhook or console", ch.Type)
	}
	if ch.RatePerMinute < 0 || ch.RecipientPerHour < 0 {
		bad(": rates must not be negative")
	}
	return errs
}

// enabled reports whether an event is switched on (default on).
func (c *Config) enabled(event string) bool {
	ec, ok := c.Events[event]
	return !ok || ec.Enabled == nil || *ec.Enabled
}

// recipients is the event's rule.
func (c *Config) recipients(event string) []string {
	if ec, ok := c.Events[event]; ok && len(ec.To) > 0 {
		return ec.To
	}
	return defaultRecipients()[event]
}

// channelAllowed reports whether an event may go out on a channel.
func (c *Config) channelAllowed(event, channel string) bool {
	ec, ok := c.Events[event]
	return !ok || len(ec.Channels) == 0 || slices.Contains(ec.Channels, channel)
}

// ParseDocument reads the notifications section out of a whole CONFIG_FILE
// document, leaving the other sections to their packages; a document
// without the section gives the defaults (no channel: notifications off).
func ParseDocument(name string, doc []byte) (Config, error) {
	var root struct {
		Notifications yaml.Node `yaml:"notifications"`
	}
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if root.Notifications.Kind == 0 {
		return DefaultConfig(), nil
	}
	section, err := yaml.Marshal(&root.Notifications)
	if err != nil {
		return Config{}, fmt.Errorf("%s: notifications: %w", name, err)
	}
	return ParseConfig(name+": notifications", section)
}

func knownEvent(event string) bool {
	_, ok := defaultRecipients()[event]
	return ok
}

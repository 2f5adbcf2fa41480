package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"slices"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/personio-scim/personio-scim/store"
)

// ChannelOptions are what OpenChannels cannot read from the configuration.
type ChannelOptions struct {
	TLS        *tls.Config  // SMTP client TLS (tests: a private root)
	Console    io.Writer    // where console channels write (default: none open)
	HTTPClient *http.Client // webhook client (default: 15 s, no redirects)
	Now        func() time.Time
}

// OpenChannels opens every configured channel, reading its secrets from
// the environment through getenv. An error names the channel and the
// variable, never a value.
func OpenChannels(cfg Config, getenv func(string) string, opts ChannelOptions) (map[string]Channel, error) {
	out := map[string]Channel{}
	for _, c := range cfg.Channels {
		ch, err := openChannel(c, getenv, opts)
		if err != nil {
			return nil, fmt.Errorf("notifications.channels %s: %w", c.Name, err)
		}
		out[c.Name] = ch
	}
	return out, nil
}

func openChannel(c ChannelConfig, getenv func(string) string, opts ChannelOptions) (Channel, error) {
	need := func(name string) (string, error) {
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return v, nil
	}
	if c.Type == TypeConsole {
		if opts.Console == nil {
			return nil, errors.New("a console channel needs a console")
		}
		return NewConsoleChannel(opts.Console), nil
	}
	if c.Type == TypeSMTP {
		var password string
		if c.SMTP.Auth == "xoauth2" {
			secret, err := need(c.SMTP.OAuth2.ClientSecretEnv)
			if err != nil {
				return nil, err
			}
			cc := clientcredentials.Config{ClientID: c.SMTP.OAuth2.ClientID, ClientSecret: secret,
				TokenURL: c.SMTP.OAuth2.TokenURL, Scopes: c.SMTP.OAuth2.Scopes}
			ctx := context.Background()
			if opts.HTTPClient != nil {
				ctx = context.WithValue(ctx, oauth2.HTTPClient, opts.HTTPClient)
			}
			return NewSMTPChannel(*c.SMTP, SMTPOptions{Tokens: cc.TokenSource(ctx), TLS: opts.TLS})
		}
		if c.SMTP.Username != "" {
			p, err := need(c.SMTP.PasswordEnv)
			if err != nil {
				return nil, err
			}
			password = p
		}
		return NewSMTPChannel(*c.SMTP, SMTPOptions{Password: password, TLS: opts.TLS})
	}
	u := c.URL
	if c.URLEnv != "" {
		v, err := need(c.URLEnv)
		if err != nil {
			return nil, err
		}
		u = v
	}
	var secret []byte
	if c.Type == TypeWebhook {
		v, err := need(c.SecretEnv)
		if err != nil {
			return nil, err
		}
		secret = []byte(v)
	}
	ch, err := NewWebhookChannel(c.Type, WebhookOptions{URL: u, Secret: secret, Client: opts.HTTPClient, Now: opts.Now})
	if err != nil && c.URLEnv != "" {
		return nil, fmt.Errorf("%s: %w", c.URLEnv, err)
	}
	return ch, err
}

// Preview is a rendered sample message.
type Preview struct {
	Event    string `json:"event"`
	Language string `json:"language"`
	Digest   bool   `json:"digest,omitempty"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
}

// Preview renders event's message in lang from sample data; digest renders
// the digest form with three sample entries. Nothing is sent or stored.
func (n *Notifier) Preview(event, lang string, digest bool) (Preview, error) {
	if !knownEvent(event) {
		return Preview{}, fmt.Errorf("unknown event %q; known: %v", event, Events())
	}
	if lang == "" {
		lang = n.cfg.Language
	}
	if !slices.Contains(Languages(), lang) {
		return Preview{}, fmt.Errorf("unknown language %q; known: %v", lang, Languages())
	}
	p := samplePayload(event, lang, n.now(), n)
	var r rendered
	var err error
	if digest {
		var lines []string
		for range 3 {
			l, err := n.tpl.line(p)
			if err != nil {
				return Preview{}, err
			}
			lines = append(lines, l)
		}
		r, err = n.tpl.renderDigest(lang, event, lines)
	} else {
		r, err = n.tpl.render(p)
	}
	if err != nil {
		return Preview{}, err
	}
	return Preview{Event: event, Language: lang, Digest: digest, Subject: r.Subject, Text: r.Text, HTML: r.HTML}, nil
}

// SendTest sends a sample of event over one channel now, bypassing the
// outbox, and returns the channel's answer; to is the address for a mail
// channel.
func (n *Notifier) SendTest(ctx context.Context, channel, to, event, lang string) error {
	ch, ok := n.channels[channel]
	if !ok {
		return requestError{fmt.Errorf("no channel named %q", channel)}
	}
	if ch.Mail() {
		if _, err := mail.ParseAddress(to); err != nil {
			return requestError{errors.New("a mail channel needs a recipient address in \"to\"")}
		}
	}
	if event == "" {
		event = EventRunHeld
	}
	pv, err := n.Preview(event, lang, false)
	if err != nil {
		return requestError{err}
	}
	now := n.now()
	return ch.Send(ctx, Message{ID: deliveryID("test|" + now.String()), Event: event, To: to, Subject: "[test] " + pv.Subject,
		Text: pv.Text, HTML: pv.HTML, Data: map[string]any{"test": true}, At: now})
}

// requestError is a test send the caller asked wrongly.
type requestError struct{ error }

// IsRequestError reports whether SendTest refused the request itself, as
// opposed to the channel refusing the message.
func IsRequestError(err error) bool {
	var re requestError
	return errors.As(err, &re)
}

// List pages through the outbox for the admin API.
func (n *Notifier) List(ctx context.Context, q store.OutboxQuery) ([]store.OutboxMessage, error) {
	return n.st.ListOutbox(ctx, q)
}

// ChannelNames lists the configured channels.
func (n *Notifier) ChannelNames() []string {
	var out []string
	for _, c := range n.cfg.Channels {
		out = append(out, c.Name)
	}
	return out
}

func samplePayload(event, lang string, now time.Time, n *Notifier) payload {
	p := payload{Event: event, Lang: lang, At: now.UTC()}
	day := now.In(n.zone)
	switch event {
	case EventJoinerCreated, EventJoinerActivated:
		p.Person = &PersonInfo{UserName: "jane.doe@example.com", DisplayName: "Jane Doe", StartDate: day.AddDate(0, 0, 14).Format(time.DateOnly)}
	case EventLeaverDeactivated:
		p.Person = &PersonInfo{UserName: "john.roe@example.com", DisplayName: "John Roe", StartDate: "2021-04-01", EndDate: day.AddDate(0, 0, -1).Format(time.DateOnly)}
	case EventRunHeld, EventRunFailed:
		ev := RunEvent{ID: "0193a1b2-sample", Status: "held", Counts: map[string]int{"deactivate": 60, "unchanged": 1940}}
		p.Run = n.runInfo(ev)
		if event == EventRunHeld {
			p.Run.Held = []HeldPerson{{PersonioID: "1001", UserName: "john.roe@example.com", Change: "deactivate"}}
			p.Run.HeldTotal = 60
		} else {
			p.Run.Status, p.Run.Error, p.Run.LastSuccess = "failed", "personio: 503 after 5 attempts", now.Add(-3*time.Hour).UTC()
		}
	case EventDataStale:
		p.Stale = &StaleInfo{Age: "7h0m0s", LastSuccess: now.Add(-7 * time.Hour).UTC(), LastError: "personio: 401 unauthorized"}
	case EventPersonSkipped:
		p.Skipped = &SkippedPerson{PersonioID: "1002", Reason: "userName: email is empty"}
	case EventPushQuarantined:
		p.Record = &RecordInfo{Target: "entra", Kind: "identity", ResourceID: "7f1c2d3e-sample", Error: "400 invalid manager"}
	case EventWritebackRefused:
		p.Writeback = &WritebackInfo{PersonioID: "1003", UserName: "jane.doe@example.com", Attribute: "email", Reason: "422 attribute is read-only"}
	}
	return p
}

package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook headers. The signature is HMAC-SHA256 with the channel's secret
// over the timestamp, a dot and the body, hex encoded after "sha256=";
// receivers reject timestamps too far from their clock to stop replays.
const (
	HeaderTimestamp   = "X-Personio-SCIM-Timestamp"
	HeaderSignature   = "X-Personio-SCIM-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// maxWebhookAnswer caps what is read of a receiver's answer.
const maxWebhookAnswer = 64 << 10

// WebhookChannel posts JSON: Slack's shape (text and blocks), Teams' (an
// Adaptive Card in a message, which Teams workflows accept), or the
// generic signed shape.
type WebhookChannel struct {
	style  string
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// WebhookOptions are what the configuration cannot say.
type WebhookOptions struct {
	URL    string
	Secret []byte
	Client *http.Client // default: 15 s timeout, no redirects
	Now    func() time.Time
}

// NewWebhookChannel checks the URL: https, or http to a loopback address.
func NewWebhookChannel(style string, opts WebhookOptions) (*WebhookChannel, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("the webhook URL is not an absolute URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackName(u.Hostname())) {
		return nil, errors.New("the webhook URL must use https (http only to a loopback address)")
	}
	if style == TypeWebhook && len(opts.Secret) < 16 {
		return nil, errors.New("the webhook secret must be at least 16 bytes")
	}
	c := &WebhookChannel{style: style, url: opts.URL, secret: opts.Secret, client: opts.Client, now: opts.Now}
	if c.client == nil {
		c.client = &http.Client{
			Timeout: 15 * time.Second,
			// A redirect could carry the message to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func (c *WebhookChannel) Mail() bool { return false }

func (c *WebhookChannel) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(c.body(m))
	if err != nil {
		return permanentf("webhook: encode: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return permanentf("webhook: bad request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "personio-scim-notify")
	req.Header.Set(HeaderIdempotency, m.ID)
	if c.style == TypeWebhook {
		ts := strconv.FormatInt(c.now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(c.secret, ts, body))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return temporaryf(0, "webhook: no answer in time")
		}
		return temporaryf(0, "webhook: cannot reach the receiver")
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswer))
	return webhookStatus(resp)
}

func webhookStatus(resp *http.Response) error {
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return temporaryf(parseRetryAfter(resp.Header.Get("Retry-After")), "webhook: receiver answered %d", code)
	default:
		return permanentf("webhook: receiver answered %d", code)
	}
}

func parseRetryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return min(time.Duration(s)*time.Second, time.Hour)
	}
	return 0
}

// Sign is the generic webhook's signature header value.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (c *WebhookChannel) body(m Message) any {
	switch c.style {
	case TypeSlack:
		return slackBody(m)
	case TypeTeams:
		return teamsBody(m)
	}
	return map[string]any{
		"id": m.ID, "event": m.Event, "time": m.At.UTC().Format(time.RFC3339),
		"subject": m.Subject, "text": m.Text, "data": m.Data,
	}
}

// Slack limits a header block to 150 characters and a section's text to
// 3,000; the top-level text is the notification's fallback.
func slackBody(m Message) any {
	return map[string]any{
		"text": truncate(m.Subject, 150),
		"blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(m.Subject, 150)}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(m.Text, 3000)}},
		},
	}
}

func teamsBody(m Message) any {
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "text": m.Subject, "weight": "Bolder", "size": "Medium", "wrap": true},
			map[string]any{"type": "TextBlock", "text": m.Text, "wrap": true},
		},
	}
	return map[string]any{
		"type":        "message",
		"summary":     m.Subject,
		"attachments": []any{map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}},
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Verify checks a generic webhook's signature and that its timestamp lies
// within tolerance of now; receivers written in Go can use it as it is.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp is %s away from now", d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("signature does not match")
	}
	return nil
}

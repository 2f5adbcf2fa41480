package personio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Webhook event names Personio v2 sends about people. Webhooks carry no
// person data ("dataless notifications"): an event only names what to read
// again.
const (
	EventPersonCreated        = "person.created"
	EventPersonUpdated        = "person.updated"
	EventPersonDeleted        = "person.deleted"
	EventEmploymentCreated    = "employment.created"
	EventEmploymentUpdated    = "employment.updated"
	EventEmploymentDeleted    = "employment.deleted"
	EventEmploymentStarted    = "employment.started"
	EventEmploymentTerminated = "employment.terminated"
	EventPing                 = "ping"
)

// PeopleEvents are the events a directory mirror subscribes to.
func PeopleEvents() []string {
	return []string{EventPersonCreated, EventPersonUpdated, EventPersonDeleted,
		EventEmploymentCreated, EventEmploymentUpdated, EventEmploymentDeleted,
		EventEmploymentStarted, EventEmploymentTerminated}
}

// Webhook statuses and the authentication type this service uses: the
// token goes verbatim into the Authorization header of every delivery.
const (
	WebhookEnabled   = "ENABLED"
	WebhookDisabled  = "DISABLED"
	WebhookAuthToken = "TOKEN"
)

// Webhook is one subscription in Personio's v2 webhooks API. Token is only
// ever sent; Personio does not return it.
type Webhook struct {
	ID            string   `json:"id,omitempty"`
	URL           string   `json:"url"`
	Description   string   `json:"description"`
	Status        string   `json:"status,omitempty"`
	AuthType      string   `json:"auth_type,omitempty"`
	Token         string   `json:"token,omitempty"`
	EnabledEvents []string `json:"enabled_events"`
}

const (
	endpointV2Webhooks      = "GET /v2/webhooks"
	endpointV2WebhookCreate = "POST /v2/webhooks"
	endpointV2WebhookDelete = "DELETE /v2/webhooks/{id}"
)

// errWebhooksNeedV2 explains why a v1 client cannot manage webhooks.
var errWebhooksNeedV2 = errors.New("personio webhooks exist in API v2 only: use a client configured for v2 (the same credential works)")

// CreateWebhook registers a subscription. Personio creates webhooks
// disabled unless told otherwise, so an empty Status is sent as ENABLED and
// an empty AuthType as TOKEN.
func (c *Client) CreateWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	if c.cfg.APIVersion != APIv2 {
		return Webhook{}, errWebhooksNeedV2
	}
	if err := checkWebhook(w); err != nil {
		return Webhook{}, err
	}
	if w.Status == "" {
		w.Status = WebhookEnabled
	}
	if w.AuthType == "" {
		w.AuthType = WebhookAuthToken
	}
	w.ID = ""
	body, err := json.Marshal(w)
	if err != nil {
		return Webhook{}, fmt.Errorf("encode webhook: %w", err)
	}
	resp, err := c.send(ctx, &run{}, call{
		method: http.MethodPost, endpoint: endpointV2WebhookCreate, auth: true,
		url: c.url("/v2/webhooks"), body: body, contentType: "application/json",
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	created, err := decodeWebhook(resp.body)
	if err != nil {
		return Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	return created, nil
}

// checkWebhook refuses what Personio would refuse, before sending it.
func checkWebhook(w Webhook) error {
	u, err := url.Parse(w.URL)
	switch {
	case err != nil || u.Host == "":
		return errors.New("webhook url must be an absolute URL")
	// Plain http only to this machine, for tests and the demo.
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
		return errors.New("webhook url must use https: Personio delivers to HTTPS endpoints only")
	case strings.TrimSpace(w.Description) == "":
		return errors.New("webhook needs a description")
	case len(w.EnabledEvents) == 0:
		return errors.New("webhook needs at least one enabled event")
	case (w.AuthType == "" || w.AuthType == WebhookAuthToken) && w.Token == "":
		return errors.New("webhook needs a token: Personio sends it in the Authorization header of every delivery")
	}
	return nil
}

// ListWebhooks reads every subscription of the company.
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	if c.cfg.APIVersion != APIv2 {
		return nil, errWebhooksNeedV2
	}
	raws, err := c.walkV2(ctx, &run{}, endpointV2Webhooks, "/v2/webhooks?limit=100", "webhooks", false, nil)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]Webhook, 0, len(raws))
	for _, raw := range raws {
		w, err := decodeWebhook(raw)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, nil
}

// DeleteWebhook removes a subscription; an unknown id is ErrNotFound.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if c.cfg.APIVersion != APIv2 {
		return errWebhooksNeedV2
	}
	if id == "" || strings.ContainsAny(id, "/?#") {
		return errors.New("delete webhook: invalid id")
	}
	_, err := c.send(ctx, &run{}, call{
		method: http.MethodDelete, endpoint: endpointV2WebhookDelete, auth: true,
		url: c.url("/v2/webhooks/" + url.PathEscape(id)),
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

func decodeWebhook(raw []byte) (Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(raw, &w); err != nil {
		return Webhook{}, malformed("webhook: %v", err)
	}
	if w.ID == "" {
		return Webhook{}, malformed("webhook without id")
	}
	w.Token = ""
	return w, nil
}

// MaxWebhookBody bounds a delivery. Deliveries are dataless and a few
// hundred bytes; anything near this size is not from Personio.
const MaxWebhookBody = 64 << 10

// WebhookEvent is one delivery from Personio, parsed.
type WebhookEvent struct {
	CompanyID  string
	Name       string // e.g. person.updated
	OccurredAt time.Time
	// ResourceID is the payload's id: a person's for person events, an
	// employment's for employment events.
	ResourceID string
	// PersonID is the person the event is about, "" when the event does not
	// say (an employment event without person_id).
	PersonID string
}

// Key identifies an event for deduplication: Personio may deliver the same
// event more than once and promises no order.
func (e WebhookEvent) Key() string {
	return e.Name + "\x00" + e.ResourceID + "\x00" + e.OccurredAt.UTC().Format(time.RFC3339Nano)
}

// ErrBadWebhook marks a delivery body that is not Personio's envelope.
var ErrBadWebhook = errors.New("not a personio webhook envelope")

// ParseWebhookEvent reads Personio's delivery envelope:
// {"company_id", "event_name", "occurred_at", "payload": {"id", "person_id"?}, "meta"?}.
// It is strict about what it relies on: one JSON object, no duplicate keys,
// the four required members with their types, ids as strings or integers.
// Members it does not know are tolerated, since Personio may add some.
func ParseWebhookEvent(body []byte) (WebhookEvent, error) {
	if len(body) > MaxWebhookBody {
		return WebhookEvent{}, fmt.Errorf("%w: body larger than %d bytes", ErrBadWebhook, MaxWebhookBody)
	}
	if !json.Valid(body) {
		return WebhookEvent{}, fmt.Errorf("%w: not valid JSON", ErrBadWebhook)
	}
	top, err := uniqueMembers(body)
	if err != nil {
		return WebhookEvent{}, err
	}
	var ev WebhookEvent
	if ev.CompanyID, err = requiredID(top, "company_id"); err != nil {
		return WebhookEvent{}, err
	}
	if ev.Name, err = eventName(top); err != nil {
		return WebhookEvent{}, err
	}
	if ev.OccurredAt, err = occurredAt(top); err != nil {
		return WebhookEvent{}, err
	}
	payload, ok := top["payload"]
	if !ok {
		return WebhookEvent{}, fmt.Errorf("%w: payload missing", ErrBadWebhook)
	}
	if err := ev.readPayload(payload); err != nil {
		return WebhookEvent{}, err
	}
	if meta, ok := top["meta"]; ok && valueKind(meta) != '{' && string(meta) != "null" {
		return WebhookEvent{}, fmt.Errorf("%w: meta is not an object", ErrBadWebhook)
	}
	return ev, nil
}

// uniqueMembers maps a JSON object's members by key and refuses duplicate
// keys, which decoders resolve differently.
func uniqueMembers(body []byte) (map[string][]byte, error) {
	members, err := objectMembers(bytes.TrimSpace(body))
	if err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadWebhook)
	}
	out := make(map[string][]byte, len(members))
	for _, m := range members {
		key := unquoteKey(m.key)
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: member %q appears twice", ErrBadWebhook, clip(key, 40))
		}
		out[key] = m.value
	}
	return out, nil
}

func requiredID(members map[string][]byte, key string) (string, error) {
	raw, ok := members[key]
	if !ok {
		return "", fmt.Errorf("%w: %s missing", ErrBadWebhook, key)
	}
	return idValue(raw, key)
}

// idValue reads an id: a non-empty string of printable characters without
// path separators, or a non-negative integer.
func idValue(raw []byte, key string) (string, error) {
	kind := valueKind(raw)
	if kind != '"' && kind != '0' {
		return "", fmt.Errorf("%w: %s is not an id", ErrBadWebhook, key)
	}
	if kind == '0' && !isPlainInteger(raw) {
		return "", fmt.Errorf("%w: %s is not an integer", ErrBadWebhook, key)
	}
	id, err := jsonID(raw)
	if err != nil || id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#\\") || strings.HasPrefix(id, "-") {
		return "", fmt.Errorf("%w: %s is not an id", ErrBadWebhook, key)
	}
	for _, r := range id {
		if r < 0x21 || r == 0x7f {
			return "", fmt.Errorf("%w: %s is not an id", ErrBadWebhook, key)
		}
	}
	return id, nil
}

func eventName(members map[string][]byte) (string, error) {
	raw, ok := members["event_name"]
	if !ok || valueKind(raw) != '"' {
		return "", fmt.Errorf("%w: event_name missing or not a string", ErrBadWebhook)
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil || name == "" || len(name) > 100 {
		return "", fmt.Errorf("%w: event_name is not an event name", ErrBadWebhook)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "", fmt.Errorf("%w: event_name is not an event name", ErrBadWebhook)
		}
	}
	return name, nil
}

func occurredAt(members map[string][]byte) (time.Time, error) {
	raw, ok := members["occurred_at"]
	if !ok || valueKind(raw) != '"' {
		return time.Time{}, fmt.Errorf("%w: occurred_at missing or not a string", ErrBadWebhook)
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return time.Time{}, fmt.Errorf("%w: occurred_at is not a string", ErrBadWebhook)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: occurred_at is not an RFC 3339 time", ErrBadWebhook)
	}
	return t.UTC(), nil
}

// readPayload takes the ids from the payload. Person events name the
// person in id; employment events name the employment in id and, where
// Personio adds it, the person in person_id.
func (ev *WebhookEvent) readPayload(raw []byte) error {
	if valueKind(raw) != '{' {
		return fmt.Errorf("%w: payload is not an object", ErrBadWebhook)
	}
	members, err := uniqueMembers(raw)
	if err != nil {
		return err
	}
	if rawID, ok := members["id"]; ok {
		if ev.ResourceID, err = idValue(rawID, "payload.id"); err != nil {
			return err
		}
	}
	if rawPerson, ok := members["person_id"]; ok {
		if ev.PersonID, err = idValue(rawPerson, "payload.person_id"); err != nil {
			return err
		}
	}
	if ev.PersonID == "" && strings.HasPrefix(ev.Name, "person.") {
		ev.PersonID = ev.ResourceID
	}
	if ev.ResourceID == "" && ev.Name != EventPing {
		return fmt.Errorf("%w: payload.id missing", ErrBadWebhook)
	}
	return nil
}

// valueKind classifies a raw JSON value by its first byte: '{', '[', '"',
// '0' for numbers, 'l' for literals (true, false, null), 0 for nothing.
func valueKind(raw []byte) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; {
	case c == '{' || c == '[' || c == '"':
		return c
	case c == '-' || c >= '0' && c <= '9':
		return '0'
	}
	return 'l'
}

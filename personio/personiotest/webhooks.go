package personiotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// WebhookOptions shape how the simulator delivers webhooks. The zero value
// behaves as Personio documents: a 3-second timeout, no redirects, retries
// on timeouts and 5xx (except 501) in 7 attempts of up to 2 quick requests
// each, spread over about three days.
type WebhookOptions struct {
	CompanyID string        // company_id of every envelope; default "12345"
	Timeout   time.Duration // per request; default 3 s
	// Retry holds the waits before the second, third, … attempt; default
	// 1m, 10m, 1h, 6h, 24h, 41h.
	Retry []time.Duration
	// QuickRequests is how many requests one attempt makes before it counts
	// as failed; default 2.
	QuickRequests int
	// Sleep waits between attempts and for Delay; tests pass one that does
	// not sleep. It must return ctx.Err() once ctx is done. Default: real
	// time.
	Sleep func(ctx context.Context, d time.Duration) error
	// Delay is Personio's own delay before the first attempt.
	Delay time.Duration
	// DropRate, DuplicateRate: the share of events never delivered, and of
	// events delivered twice, drawn from a generator seeded with Seed.
	DropRate, DuplicateRate float64
	Seed                    uint64
	// EmploymentIDOnly leaves person_id out of employment events' payloads
	// (Personio's payload keys are not documented per event).
	EmploymentIDOnly bool
	// HTTPClient delivers; default a client with Timeout that follows no
	// redirects.
	HTTPClient *http.Client
}

func (o WebhookOptions) withDefaults() WebhookOptions {
	if o.CompanyID == "" {
		o.CompanyID = "12345"
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Retry == nil {
		o.Retry = []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 41 * time.Hour}
	}
	if o.QuickRequests <= 0 {
		o.QuickRequests = 2
	}
	if o.Sleep == nil {
		o.Sleep = sleepFor
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return o
}

func sleepFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// webhookSub is one registered webhook.
type webhookSub struct {
	ID            string    `json:"id"`
	URL           string    `json:"url"`
	Description   string    `json:"description"`
	Status        string    `json:"status"`
	AuthType      string    `json:"auth_type"`
	EnabledEvents []string  `json:"enabled_events"`
	CreatedAt     time.Time `json:"created_at"`
	token         string
}

// Delivery is one HTTP request the simulator made to a webhook.
type Delivery struct {
	Webhook string // webhook id
	Event   string // event name
	ID      string // payload id
	Attempt int    // 1-based attempt of the event
	Request int    // 1-based request within the attempt
	Status  int    // 0 when no answer arrived
	Error   string // why there was no answer
}

// webhookHub registers webhooks and delivers events. It has its own lock,
// taken under the server's (never the other way round), and delivers from
// goroutines that Close stops.
type webhookHub struct {
	opts   WebhookOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	subs       []*webhookSub
	rng        *mrand.Rand
	holding    bool
	held       []func()
	deliveries []Delivery
	checkedDay personio.Date // the last day whose date events were fired
}

func newWebhookHub(opts WebhookOptions) *webhookHub {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &webhookHub{opts: opts, ctx: ctx, cancel: cancel, rng: mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0x5eed))}
}

// webhooks returns the hub, making it on first use.
func (s *Server) webhooks() *webhookHub {
	if s.co.hub == nil {
		s.co.hub = newWebhookHub(s.opts.Webhooks)
		s.co.hub.checkedDay = s.today()
	}
	return s.co.hub
}

// DeliverDateEvents fires employment.started and employment.terminated for
// the employments whose start or termination date the clock has reached
// since the last call, as Personio does on the effective date. Advance
// calls it; a simulator on an outside clock (Options.Now) calls it after
// moving that clock.
func (s *Server) DeliverDateEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emitDueDates()
}

// emitDueDates is DeliverDateEvents under the server's lock.
func (s *Server) emitDueDates() {
	hub := s.co.hub
	if hub == nil {
		return
	}
	today := s.today()
	passed := func(d personio.Date) bool { return !d.IsZero() && hub.checkedDay.Before(d) && !today.Before(d) }
	at := s.now()
	for _, p := range s.co.persons {
		for _, e := range p.Employments {
			if passed(e.HireDate) {
				hub.emit(personio.EventEmploymentStarted, p.ID, e.ID, at)
			}
			if passed(e.TerminationDate) {
				hub.emit(personio.EventEmploymentTerminated, p.ID, e.ID, at)
			}
		}
	}
	if hub.checkedDay.Before(today) {
		hub.checkedDay = today
	}
}

// CloseWebhooks stops every delivery in flight and waits for them.
func (s *Server) CloseWebhooks() {
	s.mu.Lock()
	hub := s.co.hub
	s.mu.Unlock()
	if hub != nil {
		hub.cancel()
		hub.wg.Wait()
	}
}

// WaitWebhooks blocks until every delivery started so far has ended
// (acknowledged, dropped, or out of retries). Held deliveries are not
// started; release them first.
func (s *Server) WaitWebhooks() {
	s.mu.Lock()
	hub := s.webhooks()
	s.mu.Unlock()
	hub.wg.Wait()
}

// HoldWebhooks queues deliveries instead of sending them, until
// ReleaseWebhooks; together they reorder deliveries.
func (s *Server) HoldWebhooks() {
	s.mu.Lock()
	hub := s.webhooks()
	s.mu.Unlock()
	hub.mu.Lock()
	hub.holding = true
	hub.mu.Unlock()
}

// ReleaseWebhooks sends the held deliveries, newest first when reverse is
// set, and stops holding.
func (s *Server) ReleaseWebhooks(reverse bool) {
	s.mu.Lock()
	hub := s.webhooks()
	s.mu.Unlock()
	hub.mu.Lock()
	held := hub.held
	hub.held, hub.holding = nil, false
	hub.mu.Unlock()
	if reverse {
		slices.Reverse(held)
	}
	for _, start := range held {
		start()
	}
}

// Deliveries returns every request made so far, in the order they ended.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	hub := s.webhooks()
	s.mu.Unlock()
	hub.mu.Lock()
	defer hub.mu.Unlock()
	return slices.Clone(hub.deliveries)
}

// RegisterWebhook adds an enabled webhook as POST /v2/webhooks would, for
// tests that need no client; it returns the webhook's id.
func (s *Server) RegisterWebhook(target, token string, events ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(events) == 0 {
		events = personio.PeopleEvents()
	}
	sub := &webhookSub{ID: newUUID(), URL: target, Description: "test", Status: "ENABLED", AuthType: "TOKEN",
		EnabledEvents: events, CreatedAt: s.now().UTC(), token: token}
	hub := s.webhooks()
	hub.mu.Lock()
	hub.subs = append(hub.subs, sub)
	hub.mu.Unlock()
	return sub.ID
}

// emitEdit announces a finished edit: person.updated when the person's own
// fields changed (names, email, gender, custom attributes; Personio fires it
// for nothing else), employment.updated when the employment changed.
func (c *company) emitEdit(ed *edit) {
	if c.hub == nil {
		return
	}
	if ed.personChanged {
		c.hub.emit(personio.EventPersonUpdated, ed.p.ID, "", ed.now)
	}
	if ed.employmentChanged {
		c.hub.emit(personio.EventEmploymentUpdated, ed.p.ID, ed.e.ID, ed.now)
	}
}

// emitHire announces a new person and its first employment.
func (c *company) emitHire(p *person) {
	if c.hub == nil {
		return
	}
	c.hub.emit(personio.EventPersonCreated, p.ID, "", p.CreatedAt)
	c.hub.emit(personio.EventEmploymentCreated, p.ID, p.current().ID, p.CreatedAt)
}

// emitRemove announces a deleted person; its employments go with it.
func (c *company) emitRemove(p *person, now time.Time) {
	if c.hub == nil || p == nil {
		return
	}
	now = now.UTC().Truncate(time.Second)
	for _, e := range p.Employments {
		c.hub.emit(personio.EventEmploymentDeleted, p.ID, e.ID, now)
	}
	c.hub.emit(personio.EventPersonDeleted, p.ID, "", now)
}

type envelope struct {
	CompanyID  string            `json:"company_id"`
	EventName  string            `json:"event_name"`
	OccurredAt string            `json:"occurred_at"`
	Payload    map[string]string `json:"payload"`
	Meta       map[string]any    `json:"meta"`
}

// emit starts the delivery of one event to every enabled webhook that
// subscribed to it.
func (h *webhookHub) emit(name string, personID int, employmentID string, at time.Time) {
	payload := map[string]string{"id": strconv.Itoa(personID)}
	if employmentID != "" {
		payload = map[string]string{"id": employmentID}
		if !h.opts.EmploymentIDOnly {
			payload["person_id"] = strconv.Itoa(personID)
		}
	}
	body, _ := json.Marshal(envelope{CompanyID: h.opts.CompanyID, EventName: name,
		OccurredAt: at.UTC().Format(time.RFC3339), Payload: payload, Meta: map[string]any{}})
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sub := range h.subs {
		if sub.Status != "ENABLED" || !slices.Contains(sub.EnabledEvents, name) {
			continue
		}
		copies := 1
		if h.rng.Float64() < h.opts.DropRate {
			copies = 0
		} else if h.rng.Float64() < h.opts.DuplicateRate {
			copies = 2
		}
		for range copies {
			h.startLocked(*sub, name, payload["id"], body)
		}
	}
}

func (h *webhookHub) startLocked(sub webhookSub, name, id string, body []byte) {
	start := func() {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.deliver(sub, name, id, body)
		}()
	}
	if h.holding {
		h.held = append(h.held, start)
		return
	}
	start()
}

// deliver runs one event's attempts: each makes up to QuickRequests
// requests; a timeout, a network error or a 5xx other than 501 fails the
// request, anything else ends the event (2xx acknowledged, others given up).
func (h *webhookHub) deliver(sub webhookSub, name, id string, body []byte) {
	if err := h.opts.Sleep(h.ctx, h.opts.Delay); err != nil {
		return
	}
	for attempt := 1; attempt <= len(h.opts.Retry)+1; attempt++ {
		if attempt > 1 {
			if err := h.opts.Sleep(h.ctx, h.opts.Retry[attempt-2]); err != nil {
				return
			}
		}
		for request := 1; request <= h.opts.QuickRequests; request++ {
			status, err := h.post(sub, body)
			d := Delivery{Webhook: sub.ID, Event: name, ID: id, Attempt: attempt, Request: request, Status: status}
			if err != nil {
				d.Error = err.Error()
			}
			h.mu.Lock()
			h.deliveries = append(h.deliveries, d)
			h.mu.Unlock()
			if h.ctx.Err() != nil {
				return
			}
			if err == nil && !(status >= 500 && status != http.StatusNotImplemented) {
				return
			}
		}
	}
}

func (h *webhookHub) post(sub webhookSub, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(h.ctx, h.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Personio-Webhooks-Simulator")
	if sub.AuthType == "TOKEN" && sub.token != "" {
		req.Header.Set("Authorization", sub.token) // verbatim, no scheme added
	}
	res, err := h.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, errors.New("no answer within the timeout or connection failed")
	}
	defer res.Body.Close()
	return res.StatusCode, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// webhookScopes open the webhooks API.
func webhookScopes() []string { return []string{"personio:webhooks:write"} }

// webhookRoutes adds the v2 webhooks API.
func (s *Server) webhookRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v2/webhooks", s.authorized(webhookScopes(), s.v2CreateWebhook))
	m.HandleFunc("GET /v2/webhooks", s.authorized(webhookScopes(), s.v2ListWebhooks))
	m.HandleFunc("GET /v2/webhooks/{id}", s.authorized(webhookScopes(), s.v2GetWebhook))
	m.HandleFunc("PATCH /v2/webhooks/{id}", s.authorized(webhookScopes(), s.v2PatchWebhook))
	m.HandleFunc("DELETE /v2/webhooks/{id}", s.authorized(webhookScopes(), s.v2DeleteWebhook))
	m.HandleFunc("POST /v2/webhooks/{id}/ping", s.authorized(webhookScopes(), s.v2PingWebhook))
}

type webhookBody struct {
	URL           *string   `json:"url"`
	Description   *string   `json:"description"`
	Status        *string   `json:"status"`
	AuthType      *string   `json:"auth_type"`
	Token         *string   `json:"token"`
	EnabledEvents *[]string `json:"enabled_events"`
}

func readWebhookBody(w http.ResponseWriter, r *http.Request) (webhookBody, bool) {
	var body webhookBody
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&body); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad request", "The request body is not a webhook object.")
		return body, false
	}
	return body, true
}

// applyWebhook validates a create or patch and fills sub; creating demands
// the required fields.
func applyWebhook(sub *webhookSub, body webhookBody, creating bool) error {
	if creating && (body.URL == nil || body.Description == nil || body.EnabledEvents == nil) {
		return badRequest("url, description and enabled_events are required")
	}
	if body.URL != nil {
		if !deliverable(*body.URL) {
			return badRequest("url must be an HTTPS URL")
		}
		sub.URL = *body.URL
	}
	if body.Description != nil {
		sub.Description = *body.Description
	}
	if body.Status != nil {
		if *body.Status != "ENABLED" && *body.Status != "DISABLED" {
			return badRequest("status must be ENABLED or DISABLED")
		}
		sub.Status = *body.Status
	}
	if body.AuthType != nil {
		if !slices.Contains([]string{"NONE", "TOKEN", "CUSTOM"}, *body.AuthType) {
			return badRequest("auth_type must be NONE, TOKEN or CUSTOM")
		}
		sub.AuthType = *body.AuthType
	}
	if body.Token != nil {
		sub.token = *body.Token
	}
	if body.EnabledEvents != nil {
		if len(*body.EnabledEvents) == 0 {
			return badRequest("enabled_events must not be empty")
		}
		sub.EnabledEvents = slices.Clone(*body.EnabledEvents)
	}
	return nil
}

// deliverable accepts HTTPS URLs, and plain HTTP to a loopback host so that
// tests and demos on one machine work.
func deliverable(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback()))
}

func (s *Server) v2CreateWebhook(w http.ResponseWriter, r *http.Request, _ *Credential) {
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	sub := &webhookSub{ID: newUUID(), Status: "DISABLED", AuthType: "TOKEN", CreatedAt: s.now().UTC()}
	if err := applyWebhook(sub, body, true); err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "Unprocessable entity", err.Error())
		return
	}
	hub := s.webhooks()
	hub.mu.Lock()
	defer hub.mu.Unlock()
	for _, other := range hub.subs {
		if other.URL == sub.URL {
			writeProblem(w, http.StatusConflict, "Conflict", "A webhook with this url exists.")
			return
		}
	}
	hub.subs = append(hub.subs, sub)
	writeJSON(w, http.StatusCreated, sub)
}

func (s *Server) v2ListWebhooks(w http.ResponseWriter, r *http.Request, _ *Credential) {
	hub := s.webhooks()
	hub.mu.Lock()
	defer hub.mu.Unlock()
	data := make([]webhookSub, 0, len(hub.subs))
	for _, sub := range hub.subs {
		data = append(data, *sub)
	}
	writeJSON(w, http.StatusOK, map[string]any{"_data": data, "_meta": map[string]any{"links": map[string]any{}}})
}

// onSub runs fn on the webhook the path names while holding the hub's lock;
// an unknown id gets Personio's 404.
func (s *Server) onSub(w http.ResponseWriter, r *http.Request, fn func(hub *webhookHub, i int)) {
	hub := s.webhooks()
	hub.mu.Lock()
	defer hub.mu.Unlock()
	i, ok := hub.subByPath(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	fn(hub, i)
}

// subByPath finds the webhook of the path; the caller holds hub.mu.
func (h *webhookHub) subByPath(r *http.Request) (int, bool) {
	i := slices.IndexFunc(h.subs, func(sub *webhookSub) bool { return sub.ID == r.PathValue("id") })
	return i, i >= 0
}

func (s *Server) v2GetWebhook(w http.ResponseWriter, r *http.Request, _ *Credential) {
	s.onSub(w, r, func(hub *webhookHub, i int) { writeJSON(w, http.StatusOK, hub.subs[i]) })
}

func (s *Server) v2PatchWebhook(w http.ResponseWriter, r *http.Request, _ *Credential) {
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	s.onSub(w, r, func(hub *webhookHub, i int) {
		next := *hub.subs[i]
		if err := applyWebhook(&next, body, false); err != nil {
			writeProblem(w, http.StatusUnprocessableEntity, "Unprocessable entity", err.Error())
			return
		}
		*hub.subs[i] = next
		writeJSON(w, http.StatusOK, next)
	})
}

func (s *Server) v2DeleteWebhook(w http.ResponseWriter, r *http.Request, _ *Credential) {
	s.onSub(w, r, func(hub *webhookHub, i int) {
		hub.subs = slices.Delete(hub.subs, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	})
}

// v2PingWebhook delivers a ping event, enabled or not, as Personio's
// reachability test does.
func (s *Server) v2PingWebhook(w http.ResponseWriter, r *http.Request, _ *Credential) {
	s.onSub(w, r, func(hub *webhookHub, i int) {
		body, _ := json.Marshal(envelope{CompanyID: hub.opts.CompanyID, EventName: personio.EventPing,
			OccurredAt: s.now().UTC().Format(time.RFC3339), Payload: map[string]string{}, Meta: map[string]any{}})
		hub.startLocked(*hub.subs[i], personio.EventPing, "", body)
		w.WriteHeader(http.StatusNoContent)
	})
}

// String describes a delivery for test failures.
func (d Delivery) String() string {
	return fmt.Sprintf("%s %s attempt %d.%d: %d %s", d.Event, d.ID, d.Attempt, d.Request, d.Status, strings.TrimSpace(d.Error))
}

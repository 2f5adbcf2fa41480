package notify_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/notify"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

const hookSecret = "0123456789abcdef-hook-secret"

// receiver is an HTTP webhook receiver: it records every request and
// answers with the codes a test queues (200 otherwise).
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []hookRequest
	// answers per path: status codes to give next, with Retry-After seconds.
	answers map[string][]answer
}

type answer struct {
	code       int
	retryAfter string
}

type hookRequest struct {
	Path   string
	Header http.Header
	Body   []byte
}

func startReceiver(t *testing.T) *receiver {
	r := &receiver{answers: map[string][]answer{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.got = append(r.got, hookRequest{Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		var a answer
		if q := r.answers[req.URL.Path]; len(q) > 0 {
			a, r.answers[req.URL.Path] = q[0], q[1:]
		}
		r.mu.Unlock()
		if a.code == 0 {
			w.Write([]byte("ok"))
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) queue(path string, as ...answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[path] = append(r.answers[path], as...)
}

// accepted are the requests to path the receiver answered with success.
func (r *receiver) requests(path string) []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hookRequest
	for _, g := range r.got {
		if g.Path == path {
			out = append(out, g)
		}
	}
	return out
}

// harness is a notifier on a memory store with a test clock, an SMTP
// server and a webhook receiver.
type harness struct {
	t     *testing.T
	clock *storetest.Clock
	st    store.Store
	st2   store.Store // a second handle on the same database: another replica
	smtp  *smtpServer
	hooks *receiver
	cfg   notify.Config
	pool  *tls.Config
	env   map[string]string
	n     *notify.Notifier
}

var ns = store.DefaultNamespace

// backends are the store backends the notifier's tests run on.
var backends = []string{"memory", "postgres"}

func newHarness(t *testing.T, tweak func(*notify.Config)) *harness {
	return newHarnessOn(t, "memory", tweak)
}

// eachBackend runs a test on every store backend.
func eachBackend(t *testing.T, test func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { test(t, b) })
	}
}

func newHarnessOn(t *testing.T, backend string, tweak func(*notify.Config)) *harness {
	t.Helper()
	cert, pool := testCertificate(t)
	h := &harness{t: t, clock: storetest.NewClock(), smtp: startSMTP(t, cert, false), hooks: startReceiver(t)}
	switch backend {
	case "memory":
		db := memory.NewShared(memory.Options{Now: h.clock.Now})
		h.st, h.st2 = memory.Open(db), memory.Open(db)
	case "postgres":
		a, url := pgtest.Open(t, postgres.Options{Now: h.clock.Now})
		h.st, h.st2 = a, pgtest.OpenURL(t, url, postgres.Options{Now: h.clock.Now})
	}
	h.pool = &tls.Config{RootCAs: pool}
	h.env = map[string]string{
		"SMTP_PASSWORD": h.smtp.pass, "SLACK_URL": h.hooks.srv.URL + "/slack", "TEAMS_URL": h.hooks.srv.URL + "/teams",
		"HOOK_SECRET": hookSecret,
	}
	h.cfg = notify.DefaultConfig()
	h.cfg.PublicURL = "https://scim.example.com"
	h.cfg.Recipients = notify.Recipients{IT: []string{"it@example.com"}, Admins: []string{"admin@example.com"}}
	h.cfg.Channels = []notify.ChannelConfig{
		{Name: "mail", Type: notify.TypeSMTP, RatePerMinute: 100000, RecipientPerHour: 100000, SMTP: &notify.SMTPConfig{
			Host: "127.0.0.1", Port: h.smtp.port(), Username: h.smtp.user, PasswordEnv: "SMTP_PASSWORD",
			From: "Personio SCIM <scim@example.com>", ReplyTo: "it-help@example.com",
		}},
		{Name: "slack", Type: notify.TypeSlack, URLEnv: "SLACK_URL", RatePerMinute: 100000, RecipientPerHour: 100000},
		{Name: "teams", Type: notify.TypeTeams, URLEnv: "TEAMS_URL", RatePerMinute: 100000, RecipientPerHour: 100000},
		{Name: "hook", Type: notify.TypeWebhook, URL: h.hooks.srv.URL + "/hook", SecretEnv: "HOOK_SECRET", RatePerMinute: 100000, RecipientPerHour: 100000},
	}
	if tweak != nil {
		tweak(&h.cfg)
	}
	h.n = h.open("replica-a", h.st)
	return h
}

// open starts a notifier (a replica, or the same one after a restart) on st.
func (h *harness) open(owner string, st store.Store) *notify.Notifier {
	h.t.Helper()
	chans, err := notify.OpenChannels(h.cfg, func(k string) string { return h.env[k] }, notify.ChannelOptions{TLS: h.pool, Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	n, err := notify.New(notify.Options{Store: st, Config: h.cfg, Channels: chans, Now: h.clock.Now, Owner: owner,
		Targets: func() []string { return []string{"entra"} }})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) step() {
	h.t.Helper()
	if err := h.n.Step(context.Background()); err != nil {
		h.t.Fatalf("Step: %v", err)
	}
}

func (h *harness) apply(cs store.ChangeSet) {
	h.t.Helper()
	if _, err := h.st.Apply(context.Background(), cs); err != nil {
		h.t.Fatalf("apply: %v", err)
	}
}

func (h *harness) outbox(q store.OutboxQuery) []store.OutboxMessage {
	h.t.Helper()
	q.Limit = 5000
	var all []store.OutboxMessage
	for {
		page, err := h.st.ListOutbox(context.Background(), q)
		if err != nil {
			h.t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < q.Limit {
			return all
		}
		q.BeforeID = page[len(page)-1].ID
	}
}

// mailsTo are the accepted mails to addr, parsed.
func (h *harness) mailsTo(addr string) []parsedMail {
	h.t.Helper()
	var out []parsedMail
	for _, m := range h.smtp.received() {
		if slices.Contains(m.To, addr) {
			out = append(out, parseMail(h.t, m))
		}
	}
	return out
}

// parsedMail is a received mail decoded as a mail client would.
type parsedMail struct {
	raw       smtpMail
	Subject   string
	MessageID string
	Header    mail.Header
	Text      string
	HTML      string
}

func parseMail(t *testing.T, m smtpMail) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("received mail does not parse: %v", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q does not decode: %v", msg.Header.Get("Subject"), err)
	}
	p := parsedMail{raw: m, Subject: subject, MessageID: msg.Header.Get("Message-Id"), Header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q, %v; want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mime part: %v", err)
		}
		b, _ := io.ReadAll(part)
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		}
	}
	return p
}

func subjects(ms []parsedMail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// identity builds an identity for Personio id pid.
func identity(pid, email, name string, active bool, state store.LifecycleState, hire string) store.Identity {
	return store.Identity{
		ID: ns.IdentityID(pid), PersonioID: pid,
		Attributes: store.Attributes{UserName: email, ExternalID: pid, DisplayName: name, Email: email, Active: active, EmployeeNumber: pid},
		Lifecycle:  store.Lifecycle{State: state, HireDate: hire, Rule: "test"},
		SourceHash: "h-" + pid,
	}
}

func creates(ids ...store.Identity) store.ChangeSet {
	cs := store.ChangeSet{Actor: "sync", Cause: "sync run test"}
	for _, i := range ids {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: i})
	}
	return cs
}

func updates(ids ...store.Identity) store.ChangeSet {
	cs := store.ChangeSet{Actor: "sync", Cause: "sync run test"}
	for _, i := range ids {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: i})
	}
	return cs
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("webhook body is not JSON: %v: %s", err, b)
	}
	return v
}

var _ = time.Second

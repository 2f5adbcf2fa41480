// Package google is the push target for Google Workspace and Cloud
// Identity, through the Admin SDK Directory API: users (with their
// organizational unit, manager and Personio id), organizational units and
// groups with their members. It authenticates as a service account with
// domain-wide delegation, impersonating an administrator.
package google

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"
	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/option"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// Type is the configuration's name for this target type.
const Type = "google"

// The Directory API allows 2,400 queries a minute per impersonated user
// and Cloud project by default. The default limit stays just under it so
// that a burst never crosses a minute's quota: in any 60 s at most
// DefaultBurst + 60 × DefaultRate = 2,360 requests.
const (
	DefaultRate  = 39.0 // requests per second
	DefaultBurst = 20
)

// DefaultRateLimit is the rate limit the engine gives the shared client of
// a google target whose entry sets no rate_limit.
func DefaultRateLimit() push.RateLimit {
	return push.RateLimit{Rate: DefaultRate, Burst: DefaultBurst}
}

// maxBatch is how many items one Push takes; Google has no batch call the
// Go library supports, so this only bounds the work between two ledger
// saves.
const maxBatch = 100

// keyFileCap bounds the service account key file read.
const keyFileCap = 64 << 10

// Target pushes to one Google Workspace tenant.
type Target struct {
	cfg        Config
	svc        *admin.Service
	tokens     *tokens
	groupEmail *template.Template
	kinds      map[string]bool
	now        func() time.Time
	log        *slog.Logger

	ouMu sync.Mutex // serializes OU creation
	mu   sync.Mutex
	// ous are the OU paths known to exist.
	ous map[string]bool
	// primary maps a Google user id to its primary email, learned from
	// this target's own answers, so that members and managers are named
	// by the address Google knows.
	primary map[string]string
	// created holds when this target inserted a user or group (by Google
	// id and by email), to tell eventual consistency from a data error.
	created map[string]time.Time
	index   *userIndex
	// pauseUntil is when Google's last throttling answer lets the target
	// send again.
	pauseUntil time.Time
}

var _ push.Target = (*Target)(nil)

// Open is the push.Factory of type google.
func Open(ctx context.Context, section *yaml.Node, env push.Env) (push.Target, error) {
	cfg, err := ParseConfig(section)
	if err != nil {
		return nil, err
	}
	path := ""
	if env.Getenv != nil {
		path = env.Getenv(cfg.CredentialsFileEnv)
	}
	if path == "" {
		return nil, fmt.Errorf("google: environment variable %s (credentials_file_env) is not set: it must hold the path of the service account's JSON key", cfg.CredentialsFileEnv)
	}
	key, err := readKey(path)
	if err != nil {
		return nil, fmt.Errorf("google: the key file named by %s: %w", cfg.CredentialsFileEnv, err)
	}
	return New(ctx, cfg, key, env)
}

func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, keyFileCap+1))
	if err != nil {
		return nil, err
	}
	if len(b) > keyFileCap {
		return nil, errors.New("larger than a service account key can be")
	}
	return b, nil
}

// New opens a target from a checked configuration and the key file's
// content.
func New(ctx context.Context, cfg Config, key []byte, env push.Env) (*Target, error) {
	jwtCfg, err := jwtConfig(key, scopes(cfg))
	if err != nil {
		return nil, err
	}
	jwtCfg.Subject = cfg.Subject
	if cfg.TokenURL != "" {
		jwtCfg.TokenURL = cfg.TokenURL
	}
	if err := push.CheckEndpointURL(jwtCfg.TokenURL); err != nil {
		return nil, fmt.Errorf("google: the key file's token_uri: %w", err)
	}
	hc := env.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// Token requests go through the shared client too; the context lives
	// as long as the target, since the token source refreshes from it.
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, hc)
	toks := newTokens(tokenCtx, jwtCfg)
	api := &http.Client{
		Transport:     authTransport{t: &oauth2.Transport{Source: toks, Base: recordingTransport{base: base}}, tokens: toks},
		CheckRedirect: hc.CheckRedirect,
		Timeout:       hc.Timeout,
	}
	svc, err := admin.NewService(ctx, option.WithEndpoint(cfg.Endpoint), option.WithHTTPClient(api))
	if err != nil {
		return nil, fmt.Errorf("google: opening the Directory API client: %w", err)
	}
	t := &Target{
		cfg: cfg, svc: svc, tokens: toks, kinds: map[string]bool{},
		now: env.Now, log: env.Logger,
		ous: map[string]bool{"/": true}, primary: map[string]string{}, created: map[string]time.Time{},
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	for _, k := range cfg.Groups {
		t.kinds[k] = true
	}
	if cfg.GroupEmail != "" {
		if t.groupEmail, err = parseGroupEmail(cfg.GroupEmail); err != nil {
			return nil, fmt.Errorf("google: group_email: %w", err)
		}
	}
	return t, nil
}

// authTransport adds the service account's token. A 401 means Google no
// longer takes the token (expired early, revoked, clocks apart): it fetches
// a new one and sends the request once more. It also hides
// oauth2.Transport's deprecated CancelRequest, which http.Client would
// otherwise call (and log) on a timeout.
type authTransport struct {
	t      *oauth2.Transport
	tokens *tokens
}

func (a authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.t.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, answerCap))
	_ = resp.Body.Close()
	a.tokens.reset()
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return a.t.RoundTrip(again)
}

// jwtConfig reads the service account key. Its errors never quote the
// file: a parser's message can carry a piece of it.
func jwtConfig(key []byte, scopes []string) (*jwt.Config, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(key, &probe) != nil {
		return nil, errors.New("google: the key file is not JSON")
	}
	if probe.Type != "service_account" {
		return nil, errors.New("google: the key file is not a service account key (its type is not service_account)")
	}
	cfg, err := googleoauth.JWTConfigFromJSON(key, scopes...)
	if err != nil || cfg.Email == "" {
		return nil, errors.New("google: the key file is not a usable service account key")
	}
	if !rsaKey(cfg.PrivateKey) {
		return nil, errors.New("google: the key file's private_key is not an RSA private key in PEM")
	}
	return cfg, nil
}

func rsaKey(pemBytes []byte) bool {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return false
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		_, ok := k.(*rsa.PrivateKey)
		return ok
	}
	_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return err == nil
}

// scopes are the OAuth scopes the configuration needs, no more: one scope
// that domain-wide delegation does not grant fails every token.
func scopes(cfg Config) []string {
	s := []string{admin.AdminDirectoryUserScope}
	if len(cfg.Groups) > 0 {
		s = append(s, admin.AdminDirectoryGroupScope)
	}
	if cfg.CreateOrgUnits {
		s = append(s, admin.AdminDirectoryOrgunitScope)
	}
	return s
}

// Scopes lists the OAuth scopes a configuration asks for, for the
// domain-wide delegation an administrator grants.
func Scopes(cfg Config) []string { return slices.Clone(scopes(cfg)) }

// Info describes the target to the worker.
func (t *Target) Info() push.Info {
	return push.Info{
		Type: Type, MaxBatch: maxBatch, Groups: len(t.kinds) > 0,
		DeleteOnRemoval: t.cfg.OnRemove == OnRemoveDelete,
	}
}

// Push makes Google hold the items' state. Identities go first, several
// at a time (Google answers each call in a fraction of a second, so one at
// a time could not reach the quota); groups follow, as their members must
// exist first, and each group's member changes are sent one after the
// other. Once Google throttles, items not yet started are not sent: they
// come back retryable with the same wait, as more requests would only be
// refused.
func (t *Target) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	if wait := t.paused(); wait > 0 {
		return nil, &push.ThrottledError{RetryAfter: wait, Err: &batchError{op: "push", msg: "the Directory API asked to wait; nothing sent"}}
	}
	t.prepareIndex(ctx, items)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]push.Result, len(items))
	var users, groups []int
	for i, it := range items {
		if it.Kind == store.KindGroup {
			groups = append(groups, i)
		} else {
			users = append(users, i)
		}
	}
	b := &batch{cancel: cancel}
	for _, part := range [][]int{users, groups} {
		t.pushAll(ctx, part, items, results, dry, b)
		if err := b.failure(); err != nil {
			if errors.Is(err, errUnauthorized) {
				t.tokens.reset()
			}
			return nil, err
		}
	}
	if cause := b.throttled(); cause != nil {
		t.pause(cause.RetryAfter)
		if allThrottled(results) {
			// Nothing got through: fail the batch rather than count a
			// failed attempt against every item, none of which was at fault.
			return nil, &push.ThrottledError{RetryAfter: cause.RetryAfter, Err: &batchError{op: "push", msg: "the Directory API is throttling (" + cause.Code + "); nothing was done"}}
		}
	}
	return results, nil
}

// pause makes the target send nothing for d: after a throttling answer
// more requests only count against the quota. Push refuses the batches
// meanwhile, without sending.
func (t *Target) pause(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := t.now().Add(d); until.After(t.pauseUntil) {
		t.pauseUntil = until
	}
}

func (t *Target) paused() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pauseUntil.Sub(t.now())
}

func allThrottled(results []push.Result) bool {
	for _, r := range results {
		if r.Outcome != push.Failed || !r.Retryable || !isThrottle(r.Code) {
			return false
		}
	}
	return true
}

// batch is what the items of one Push share: the first whole-batch error
// and the first throttling answer.
type batch struct {
	cancel   context.CancelFunc
	mu       sync.Mutex
	err      error
	throttle *push.Result
}

func (b *batch) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
		b.cancel()
	}
}

func (b *batch) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *batch) throttled() *push.Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.throttle
}

func (b *batch) noteThrottle(res push.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.throttle == nil {
		b.throttle = &res
	}
}

func (t *Target) pushAll(ctx context.Context, idx []int, items []push.Item, results []push.Result, dry bool, b *batch) {
	slots := make(chan struct{}, t.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		slots <- struct{}{}
		if b.failure() != nil {
			<-slots
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if cause := b.throttled(); cause != nil {
				results[i] = deferred(items[i], *cause)
				return
			}
			rec := &recorder{dry: dry}
			res, err := t.pushItem(withRecorder(ctx, rec), items[i], dry)
			if err != nil {
				b.fail(err)
				return
			}
			res.ID = items[i].ID
			res.Requests = rec.taken()
			if res.Retryable && isThrottle(res.Code) {
				b.noteThrottle(res)
			}
			results[i] = res
		})
	}
	wg.Wait()
}

var errUnauthorized = errors.New("unauthorized")

func isThrottle(code string) bool {
	return slices.Contains(quotaReasons, code) || code == "429"
}

func deferred(it push.Item, cause push.Result) push.Result {
	return push.Result{
		ID: it.ID, Outcome: push.Failed, TargetID: it.Previous.TargetID,
		Error: "not sent: the Directory API is throttling (" + cause.Code + ")",
		Code:  cause.Code, Retryable: true, RetryAfter: cause.RetryAfter,
	}
}

func (t *Target) pushItem(ctx context.Context, it push.Item, dry bool) (push.Result, error) {
	switch it.Kind {
	case store.KindIdentity:
		if it.Identity == nil && it.Delete {
			prev, _ := decodeUserState(it.Previous.State)
			return t.removeUser(ctx, it, prev.Sent, prev)
		}
		if it.Identity == nil {
			return dataError(it, "invalid", "identity item without an identity"), nil
		}
		return t.pushUser(ctx, it, dry)
	case store.KindGroup:
		if it.Group == nil && it.Delete {
			return t.removeGroupByID(ctx, it)
		}
		if it.Group == nil {
			return dataError(it, "invalid", "group item without a group"), nil
		}
		if !t.kinds[it.Group.Kind] && !(it.Delete && it.Previous.TargetID != "") {
			return push.Result{ID: it.ID, Outcome: push.Skipped, TargetID: it.Previous.TargetID}, nil
		}
		return t.pushGroup(ctx, it, dry)
	}
	return dataError(it, "invalid", fmt.Sprintf("unknown resource kind %q", it.Kind)), nil
}

// notePrimary remembers a user's primary email by Google id.
func (t *Target) notePrimary(id, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id != "" && email != "" {
		t.primary[id] = lowerEmail(email)
	}
}

// noteCreated remembers that this target just created the resource known
// by these keys (Google id, email).
func (t *Target) noteCreated(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if k != "" {
			t.created[lowerEmail(k)] = t.now()
		}
	}
}

// consistencyWindow is how long after this target created a user or group
// a "not found" from Google is taken for its eventual consistency.
const consistencyWindow = 10 * time.Minute

func (t *Target) recentlyCreated(keys ...string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if at, ok := t.created[lowerEmail(k)]; ok && k != "" && t.now().Sub(at) < consistencyWindow {
			return true
		}
	}
	return false
}

// emailOf is the address Google knows a referenced user by.
func (t *Target) emailOf(ref push.Ref) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.primary[ref.TargetID]; ok && ref.TargetID != "" {
		return e
	}
	return lowerEmail(ref.Email)
}

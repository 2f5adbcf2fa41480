// Package entra is the push target for Microsoft Entra ID's API-driven
// inbound provisioning (type `entra`), which also feeds on-premises Active
// Directory through Entra's provisioning agent (`directory: ad`). It posts
// SCIM BulkRequests to the provisioning job's bulkUpload endpoint, which
// answers 202 and processes them later, and reads each record's outcome from
// Graph's provisioning logs (push.Confirmer). See docs/entra.md and
// docs/active-directory.md.
package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// Target pushes identities to one API-driven provisioning app.
type Target struct {
	cfg     Config
	client  *http.Client
	now     func() time.Time
	tokens  *tokens
	uploads *pacer
	daily   *budget
	reads   *pacer
	bulkURL string
	logsURL string
	cache   logCache
}

var (
	_ push.Target    = (*Target)(nil)
	_ push.Confirmer = (*Target)(nil)
)

// Open is the push.Factory of type entra.
func Open(_ context.Context, section *yaml.Node, env push.Env) (push.Target, error) {
	cfg, err := ParseConfig(section)
	if err != nil {
		return nil, err
	}
	return New(cfg, env)
}

// New opens a target from a parsed configuration; it reads the client
// secret from the variable the configuration names.
func New(cfg Config, env push.Env) (*Target, error) {
	if env.Getenv == nil || env.HTTPClient == nil {
		return nil, errors.New("entra: the environment needs Getenv and HTTPClient")
	}
	if err := cfg.readCredentials(env.Getenv); err != nil {
		return nil, err
	}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	t := &Target{
		cfg: cfg, client: env.HTTPClient, now: now,
		tokens:  newTokens(cfg, env.HTTPClient, now),
		uploads: &pacer{interval: cfg.RateLimit.Interval(), now: now, sleep: sleep},
		daily:   &budget{limit: cfg.DailyLimit, span: 24 * time.Hour, now: now},
		reads:   &pacer{interval: cfg.LogReadLimit.Interval(), now: now, sleep: sleep},
		bulkURL: cfg.GraphURL + "/servicePrincipals/" + url.PathEscape(cfg.ServicePrincipalID) +
			"/synchronization/jobs/" + url.PathEscape(cfg.JobID) + "/bulkUpload",
		logsURL: cfg.GraphURL + "/auditLogs/provisioning",
	}
	return t, nil
}

// readCredentials reads the secret or the certificate from the variable
// the configuration names; errors name the variable, never its value.
func (c *Config) readCredentials(getenv func(string) string) error {
	if c.ClientCertificateEnv != "" {
		v := getenv(c.ClientCertificateEnv)
		if v == "" {
			return fmt.Errorf("entra: environment variable %s (client_certificate_env) is not set", c.ClientCertificateEnv)
		}
		cert, err := parseCertificate([]byte(v))
		if err != nil {
			return fmt.Errorf("entra: environment variable %s (client_certificate_env): %w", c.ClientCertificateEnv, err)
		}
		c.certificate = cert
		return nil
	}
	c.clientSecret = getenv(c.ClientSecretEnv)
	if c.clientSecret == "" {
		return fmt.Errorf("entra: environment variable %s (client_secret_env) is not set", c.ClientSecretEnv)
	}
	return nil
}

// Info: bulkUpload takes at most 50 users per request, holds no groups and
// deletes nothing (Entra's own deletion settings decide what happens to
// accounts no longer sent).
func (t *Target) Info() push.Info {
	return push.Info{Type: "entra", MaxBatch: MaxBatch, Groups: false, DeleteOnRemoval: false}
}

// state is what a record remembers of its last upload, to find its
// outcome in the provisioning logs.
type state struct {
	Job        string    `json:"job"`
	ExternalID string    `json:"externalId"`
	Uploaded   time.Time `json:"uploaded"`
	RequestID  string    `json:"requestId,omitempty"`
	LogEntry   string    `json:"logEntry,omitempty"` // the id of the entry that confirmed it
	ObjectID   string    `json:"objectId,omitempty"` // Entra's (or AD's) id of the account
}

// Push uploads the identities in bulk requests of at most 50 operations.
// Accepted records are Pending until Confirm finds their log entries.
func (t *Target) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	results := make([]push.Result, len(items))
	var idx []int
	var ops []operation
	for i, it := range items {
		results[i].ID = it.ID
		switch {
		case it.Kind != store.KindIdentity || it.Identity == nil && !it.Delete:
			results[i].Outcome, results[i].Error = push.Failed, "entra: the API-driven provisioning apps hold users only"
			continue
		case it.Delete && it.Identity == nil:
			// bulkUpload cannot delete, and without a last state there is
			// nothing to disable: Entra's own settings decide.
			results[i].Outcome = push.Done
			continue
		}
		id := it.Identity
		if it.Delete {
			// Out of this target's scope: bulkUpload cannot delete, so the
			// account is disabled, as Entra's own provisioning does with
			// users that leave an app's scope.
			disabled := *id
			disabled.Active = false
			id = &disabled
		}
		op, err := t.operation(id)
		if err != nil {
			results[i].Outcome, results[i].Error, results[i].Code = push.Failed, "entra: "+err.Error(), "invalid_identity"
			continue
		}
		idx, ops = append(idx, i), append(ops, op)
	}
	for start := 0; start < len(ops); start += MaxBatch {
		end := min(start+MaxBatch, len(ops))
		if err := t.upload(ctx, idx[start:end], ops[start:end], results, dry); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// upload sends one bulk request and records its answer in the items'
// results. Only failures that leave the whole batch undeliverable (auth,
// permissions, a wrong job, garbage) are errors.
func (t *Target) upload(ctx context.Context, idx []int, ops []operation, results []push.Result, dry bool) error {
	body, err := encodeBulk(ops)
	if err != nil {
		return fmt.Errorf("entra: encoding the bulk request: %w", err)
	}
	for k, i := range idx {
		opBody, _ := json.Marshal(ops[k])
		results[i].Requests = []push.Request{{Method: http.MethodPost, URL: t.bulkURL, Body: opBody}}
	}
	if dry {
		// A dry run sends no upload but does authenticate, so that a wrong
		// or expired secret shows before the target goes live.
		if _, err := t.tokens.get(ctx); err != nil {
			return err
		}
		for _, i := range idx {
			results[i].Outcome = push.Pending
		}
		return nil
	}
	if ok, wait := t.daily.take(); !ok {
		return &push.ThrottledError{RetryAfter: wait, Err: fmt.Errorf("entra: the daily budget of %d bulkUpload calls is spent", t.cfg.DailyLimit)}
	}
	if err := t.uploads.wait(ctx); err != nil {
		return fmt.Errorf("entra: waiting for the upload rate limit: %w", err)
	}
	uploaded := t.now()
	a, err := t.send(ctx, http.MethodPost, t.bulkURL, body, "application/scim+json")
	if err != nil {
		return err
	}
	for _, i := range idx {
		req := &results[i].Requests[0]
		req.Status, req.Answer = a.status, capAnswer(a.body)
	}
	if a.status == http.StatusAccepted {
		t.accepted(a, uploaded, idx, ops, results)
		return nil
	}
	if (a.status == http.StatusBadRequest || a.status == http.StatusRequestEntityTooLarge) && len(ops) > 1 {
		// One bad record refuses the whole request; send each alone to
		// find it rather than failing its neighbours.
		for k := range idx {
			if err := t.upload(ctx, idx[k:k+1], ops[k:k+1], results, false); err != nil {
				return err
			}
		}
		return nil
	}
	return t.refused(a, idx, results)
}

// accepted marks the records pending, with what Confirm needs to find
// their outcome.
func (t *Target) accepted(a answer, uploaded time.Time, idx []int, ops []operation, results []push.Result) {
	reqID := a.header.Get("request-id")
	for k, i := range idx {
		st, _ := json.Marshal(state{Job: t.cfg.JobID, ExternalID: ops[k].BulkID, Uploaded: uploaded, RequestID: reqID})
		// The record is known by the externalId the job matches on: the
		// account it names is the one the upload creates or updates.
		results[i].Outcome, results[i].State, results[i].TargetID = push.Pending, st, ops[k].BulkID
	}
}

// refused classifies an upload Graph did not accept. A refused record is
// that record's data error; throttling, a full ingestion queue and server
// trouble hold up every batch alike, so they stop the pass and make the
// worker wait (ThrottledError) instead of feeding the next batch into the
// same refusal.
func (t *Target) refused(a answer, idx []int, results []push.Result) error {
	code, msg := a.errorCode()
	switch {
	case a.status == http.StatusBadRequest || a.status == http.StatusRequestEntityTooLarge:
		failAll(results, idx, push.Result{Code: cmpOr(code, "BadRequest"), Error: fmt.Sprintf("entra: bulkUpload refused the record (%d %s): %s", a.status, code, scrub(msg))})
		return nil
	case a.status == http.StatusTooManyRequests:
		return &push.ThrottledError{RetryAfter: retryAfter(a.header, 5*time.Second), Err: fmt.Errorf("entra: bulkUpload is throttling (429 %s)", code)}
	case a.status >= 500 && strings.Contains(strings.ToLower(msg), "bucket"):
		// Microsoft advises pausing 5 to 10 minutes when the job's
		// ingestion queue is full.
		return &push.ThrottledError{RetryAfter: max(retryAfter(a.header, 0), 5*time.Minute),
			Err: errors.New("entra: the job's ingestion queue is full (bucket full); check that the provisioning job is running")}
	case a.status >= 500:
		return &push.ThrottledError{RetryAfter: retryAfter(a.header, 30*time.Second), Err: fmt.Errorf("entra: bulkUpload answered %d %s", a.status, code)}
	case a.status == http.StatusForbidden:
		return fmt.Errorf("%w: bulkUpload answered 403 %s; grant the app SynchronizationData-User.Upload with admin consent", ErrUnauthorized, code)
	case a.status == http.StatusNotFound:
		return fmt.Errorf("entra: bulkUpload answered 404 %s; check service_principal_id and job_id", code)
	}
	return fmt.Errorf("entra: bulkUpload answered an unexpected %d", a.status)
}

func failAll(results []push.Result, idx []int, r push.Result) {
	for _, i := range idx {
		res := &results[i]
		res.Outcome, res.Error, res.Code, res.Retryable, res.RetryAfter = push.Failed, r.Error, r.Code, r.Retryable, r.RetryAfter
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// retryAfter reads Retry-After in seconds (Graph's form), or the default.
func retryAfter(h http.Header, def time.Duration) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 && s < 24*3600 {
		return time.Duration(s) * time.Second
	}
	return def
}

func capAnswer(b []byte) []byte {
	const most = 4 << 10
	if len(b) > most {
		return b[:most]
	}
	return b
}

package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// clockSkew is how much earlier than our upload time a log entry may be
// stamped and still count as that upload's outcome: Entra stamps entries
// with its own clock.
const clockSkew = time.Minute

// logEntry is the part of a provisioningObjectSummary the target reads.
// v1.0 names the status provisioningStatusInfo, beta statusInfo.
type logEntry struct {
	ID               string     `json:"id"`
	ActivityDateTime time.Time  `json:"activityDateTime"`
	JobID            string     `json:"jobId"`
	CycleID          string     `json:"cycleId"`
	ChangeID         string     `json:"changeId"`
	Action           string     `json:"provisioningAction"`
	Status           *logStatus `json:"provisioningStatusInfo"`
	BetaStatus       *logStatus `json:"statusInfo"`
	SourceIdentity   struct {
		ID string `json:"id"`
	} `json:"sourceIdentity"`
	TargetIdentity struct {
		ID string `json:"id"`
	} `json:"targetIdentity"`
}

type logStatus struct {
	Status string `json:"status"`
	Error  *struct {
		ErrorCode     string `json:"errorCode"`
		Reason        string `json:"reason"`
		ErrorCategory string `json:"errorCategory"`
	} `json:"errorInformation"`
}

func (e *logEntry) status() logStatus {
	if e.Status != nil {
		return *e.Status
	}
	if e.BetaStatus != nil {
		return *e.BetaStatus
	}
	return logStatus{}
}

type logPage struct {
	Value    []logEntry `json:"value"`
	NextLink string     `json:"@odata.nextLink"`
}

type pendingRecord struct {
	rec store.PushRecord
	st  state
}

// Confirm reads the job's provisioning logs since the oldest pending
// upload and returns the outcome of every record whose entry has appeared,
// plus "unconfirmed" failures for records older than confirm_timeout
// without one. Records with no answer yet are left out and stay pending.
func (t *Target) Confirm(ctx context.Context, pending []store.PushRecord) ([]push.Result, error) {
	var out []push.Result
	byExt := map[string][]pendingRecord{}
	for _, rec := range pending {
		var st state
		if json.Unmarshal(rec.State, &st) != nil || st.ExternalID == "" || st.Uploaded.IsZero() || st.Job != t.cfg.JobID {
			// Nothing to correlate with (or another job's upload): send it
			// again rather than guess.
			out = append(out, unconfirmed(rec.ResourceID, "entra: the record holds no upload of this job to look up; it will be sent again"))
			continue
		}
		byExt[st.ExternalID] = append(byExt[st.ExternalID], pendingRecord{rec, st})
	}
	if len(byExt) == 0 {
		return out, nil
	}
	out = t.fromCache(byExt, out)
	if len(byExt) == 0 {
		return out, nil
	}
	since := oldestUpload(byExt)
	now := t.now()
	complete, err := t.readLogs(ctx, t.cache.window(since))
	if err != nil {
		return nil, err
	}
	if complete {
		t.cache.completed(now, now.Add(-2*t.cfg.ConfirmTimeout))
	}
	out = t.fromCache(byExt, out)
	if !complete {
		return out, nil
	}
	for _, recs := range byExt {
		for _, p := range recs {
			if now.Sub(p.st.Uploaded) > t.cfg.ConfirmTimeout {
				out = append(out, unconfirmed(p.rec.ResourceID, fmt.Sprintf(
					"entra: no provisioning log entry %s after the upload; check that the provisioning job runs (not paused or quarantined)", t.cfg.ConfirmTimeout)))
			}
		}
	}
	return out, nil
}

// fromCache appends the outcomes the entries read so far decide, and takes
// those records out of byExt.
func (t *Target) fromCache(byExt map[string][]pendingRecord, out []push.Result) []push.Result {
	t.cache.mu.Lock()
	defer t.cache.mu.Unlock()
	for ext, recs := range byExt {
		e, ok := t.cache.latest[ext]
		if !ok {
			continue
		}
		left := recs[:0]
		for _, p := range recs {
			if e.ActivityDateTime.Before(p.st.Uploaded.Add(-clockSkew)) {
				left = append(left, p) // an older upload's entry
				continue
			}
			out = append(out, t.outcome(p, e))
		}
		if len(left) == 0 {
			delete(byExt, ext)
		} else {
			byExt[ext] = left
		}
	}
	return out
}

func oldestUpload(byExt map[string][]pendingRecord) time.Time {
	var oldest time.Time
	for _, recs := range byExt {
		for _, p := range recs {
			if oldest.IsZero() || p.st.Uploaded.Before(oldest) {
				oldest = p.st.Uploaded
			}
		}
	}
	return oldest
}

// logLag is how long after its activity time an entry may take to appear
// in the logs: Microsoft documents 5 to 10 minutes.
const logLag = 15 * time.Minute

// logCache keeps the latest entry per externalId from every read, so that
// the worker's confirmations of a large upload, a page of records at a
// time, read each part of the log once instead of once per page.
type logCache struct {
	mu     sync.Mutex
	latest map[string]logEntry
	readAt time.Time // when the last complete read started
}

// window is where a read for uploads since `since` must start: entries
// older than the last complete read minus logLag were visible then and are
// in the cache already.
func (c *logCache) window(since time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from := c.readAt.Add(-logLag); !c.readAt.IsZero() && from.After(since) {
		return from
	}
	return since
}

func (c *logCache) add(e logEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.latest == nil {
		c.latest = map[string]logEntry{}
	}
	id := e.SourceIdentity.ID
	if cur, ok := c.latest[id]; !ok || e.ActivityDateTime.After(cur.ActivityDateTime) {
		c.latest[id] = e
	}
}

// completed records a complete read started at `at` and forgets entries
// older than `forget`, which no pending upload can still be waiting for.
func (c *logCache) completed(at, forget time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readAt = at
	for id, e := range c.latest {
		if e.ActivityDateTime.Before(forget) {
			delete(c.latest, id)
		}
	}
}

// readLogs pages through the job's log entries since `since` into the
// cache. complete says every page was read.
func (t *Target) readLogs(ctx context.Context, since time.Time) (bool, error) {
	filter := fmt.Sprintf("jobId eq '%s' and activityDateTime ge %s",
		strings.ReplaceAll(t.cfg.JobID, "'", "''"), since.Add(-clockSkew).UTC().Truncate(time.Second).Format(time.RFC3339))
	next := t.logsURL + "?" + url.Values{"$filter": {filter}, "$top": {fmt.Sprint(t.cfg.LogPageSize)}}.Encode()
	for page := 0; page < t.cfg.MaxLogPages; page++ {
		if err := t.reads.wait(ctx); err != nil {
			return false, fmt.Errorf("entra: waiting for the log read limit: %w", err)
		}
		a, err := t.send(ctx, http.MethodGet, next, nil, "")
		if err != nil {
			return false, err
		}
		switch {
		case a.status == http.StatusOK:
		case a.status == http.StatusTooManyRequests || a.status >= 500:
			// Keep what was read; the rest stays pending for the next call.
			return false, nil
		case a.status == http.StatusForbidden:
			code, _ := a.errorCode()
			return false, fmt.Errorf("%w: the provisioning logs answered 403 %s; grant the app ProvisioningLog.Read.All (or AuditLog.Read.All) with admin consent", ErrUnauthorized, code)
		default:
			code, _ := a.errorCode()
			return false, fmt.Errorf("entra: the provisioning logs answered %d %s", a.status, code)
		}
		var p logPage
		if err := json.Unmarshal(a.body, &p); err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return false, errors.New("entra: the provisioning logs answered something that is not a list of entries")
			}
			return false, fmt.Errorf("entra: a provisioning log entry does not parse: %w", err)
		}
		if p.Value == nil {
			return false, errors.New("entra: the provisioning logs answered something that is not a list of entries")
		}
		for _, e := range p.Value {
			if e.SourceIdentity.ID == "" || (e.JobID != "" && e.JobID != t.cfg.JobID) {
				continue
			}
			t.cache.add(e)
		}
		if p.NextLink == "" {
			return true, nil
		}
		if err := t.sameHost(p.NextLink); err != nil {
			return false, err
		}
		next = p.NextLink
	}
	return false, nil
}

// sameHost refuses a nextLink to another host: it would carry the token.
func (t *Target) sameHost(link string) error {
	u, err := url.Parse(link)
	g, _ := url.Parse(t.cfg.GraphURL)
	if err != nil || u.Scheme != g.Scheme || u.Host != g.Host {
		return fmt.Errorf("entra: the provisioning logs' nextLink points outside %s; refusing to follow it", g.Host)
	}
	return nil
}

// outcome turns a log entry into the record's result: success and warning
// (an unresolved manager reference the service retries) are delivered,
// skipped is out of the app's scope, failure carries Entra's code.
func (t *Target) outcome(p pendingRecord, e logEntry) push.Result {
	st := p.st
	st.LogEntry = e.ID
	if e.TargetIdentity.ID != "" {
		st.ObjectID = e.TargetIdentity.ID
	}
	b, _ := json.Marshal(st)
	s := e.status()
	// The target id stays the externalId: it is how bulkUpload addresses
	// the account, and a stable id keeps the reports' fingerprints (which
	// include their manager's target id) from changing on confirmation.
	r := push.Result{ID: p.rec.ResourceID, TargetID: p.st.ExternalID, State: b, Requests: []push.Request{t.detail(e, s)}}
	var code, reason, category string
	if s.Error != nil {
		code, reason, category = s.Error.ErrorCode, s.Error.Reason, s.Error.ErrorCategory
	}
	switch s.Status {
	case "success", "warning":
		r.Outcome = push.Done
	case "skipped":
		r.Outcome, r.Code, r.Error = push.Skipped, code, "entra: skipped: "+cmpOr(scrub(reason), "out of the app's scope")
	case "failure":
		r.Outcome, r.Code = push.Failed, cmpOr(code, "failure")
		r.Error = "entra: " + cmpOr(code, "failure") + ": " + scrub(reason)
		// nonServiceFailure is a data or configuration problem that comes
		// back on every try; anything else is the service's own.
		r.Retryable = category != "" && category != "nonServiceFailure"
	default:
		r.Outcome, r.Code, r.Retryable = push.Failed, "unknown_status", true
		r.Error = "entra: the log entry has an unknown status"
	}
	return r
}

// detail is the record's view of the log entry, without the names and
// values Entra echoes.
func (t *Target) detail(e logEntry, s logStatus) push.Request {
	d := map[string]any{"id": e.ID, "activityDateTime": e.ActivityDateTime, "cycleId": e.CycleID, "changeId": e.ChangeID,
		"provisioningAction": e.Action, "status": s.Status, "objectId": e.TargetIdentity.ID}
	if s.Error != nil {
		d["errorCode"], d["errorCategory"], d["reason"] = s.Error.ErrorCode, s.Error.ErrorCategory, scrub(s.Error.Reason)
	}
	b, _ := json.Marshal(d)
	return push.Request{Method: http.MethodGet, URL: t.logsURL, Status: http.StatusOK, Answer: b}
}

func unconfirmed(id, msg string) push.Result {
	return push.Result{ID: id, Outcome: push.Failed, Code: "unconfirmed", Retryable: true, Error: msg}
}

// quotedOrEmail finds what in Entra's reasons can be a person's data: the
// values it quotes and email addresses.
var quotedOrEmail = regexp.MustCompile(`'[^']*'|"[^"]*"|[^\s'"]+@[^\s'"]+`)

// scrub shortens an Entra reason and blanks the values it quotes, so that
// a record's error (which ends up in logs and the API) carries the reason
// but not a person's name or address.
func scrub(reason string) string {
	return truncate(quotedOrEmail.ReplaceAllString(reason, "…"), 300)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

package entrasim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// provisioningLogs lists provisioningObjectSummary entries, newest first,
// with $filter, $top and @odata.nextLink paging ($skiptoken).
func (s *Sim) provisioningLogs(w http.ResponseWriter, r *http.Request, version string) {
	if !s.authorize(w, r, PermLogs, PermAuditLogs) {
		return
	}
	s.mu.Lock()
	now := s.opts.Now()
	if s.throttle > 0 {
		s.throttle--
		s.throttled++
		wait := s.throttleFor
		s.mu.Unlock()
		tooMany(w, r, wait)
		return
	}
	if ok, wait := s.logWindow.admit(now); !ok {
		s.throttled++
		s.mu.Unlock()
		tooMany(w, r, wait)
		return
	}
	s.mu.Unlock()

	q := r.URL.Query()
	match, err := parseFilter(q.Get("$filter"))
	if err != nil {
		graphError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	top := 50
	if t := q.Get("$top"); t != "" {
		if top, err = strconv.Atoi(t); err != nil || top < 1 {
			graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid $top value.")
			return
		}
	}
	top = min(top, s.opts.MaxLogPage)
	skip := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		if skip, err = decodeSkip(tok); err != nil {
			graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid $skiptoken.")
			return
		}
	}

	s.mu.Lock()
	s.logReads++
	s.processDue(now)
	var hits []*entry
	for i := len(s.logs) - 1; i >= 0; i-- {
		e := s.logs[i]
		if (e.visible || !e.At.Add(s.opts.LogDelay).After(now)) && match(s.opts.JobID, s.opts.ServicePrincipalID, e) {
			hits = append(hits, e)
		}
	}
	page := make([]entryJSON, 0, top)
	for i := skip; i < len(hits) && i < skip+top; i++ {
		page = append(page, s.render(hits[i], version))
	}
	s.mu.Unlock()

	body := map[string]any{"@odata.context": baseURL(r) + "/" + version + "/$metadata#auditLogs/provisioning", "value": page}
	if skip+top < len(hits) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", encodeSkip(skip+top))
		body["@odata.nextLink"] = baseURL(r) + r.URL.Path + "?" + next.Encode()
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal")
	_ = json.NewEncoder(w).Encode(body)
}

type identityJSON struct {
	ID           string            `json:"id"`
	DisplayName  string            `json:"displayName"`
	IdentityType string            `json:"identityType"`
	Details      map[string]string `json:"details"`
}

type errorJSON struct {
	ErrorCode         string  `json:"errorCode"`
	Reason            string  `json:"reason"`
	AdditionalDetails *string `json:"additionalDetails"`
	ErrorCategory     string  `json:"errorCategory"`
	RecommendedAction *string `json:"recommendedAction"`
}

type statusJSON struct {
	Status           string     `json:"status"`
	ErrorInformation *errorJSON `json:"errorInformation"`
}

type stepJSON struct {
	Name        string            `json:"name"`
	Type        string            `json:"provisioningStepType"`
	Status      string            `json:"status"`
	Description string            `json:"description"`
	Details     map[string]string `json:"details"`
}

type changeJSON struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

type namedJSON struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName"`
}

// entryJSON is a provisioningObjectSummary; v1.0 names the status
// provisioningStatusInfo, beta statusInfo.
type entryJSON struct {
	ID                 string       `json:"id"`
	ActivityDateTime   string       `json:"activityDateTime"`
	TenantID           string       `json:"tenantId"`
	JobID              string       `json:"jobId"`
	CycleID            string       `json:"cycleId"`
	ChangeID           string       `json:"changeId"`
	Action             string       `json:"provisioningAction"`
	DurationMS         int          `json:"durationInMilliseconds"`
	Status             *statusJSON  `json:"provisioningStatusInfo,omitempty"`
	BetaStatus         *statusJSON  `json:"statusInfo,omitempty"`
	Steps              []stepJSON   `json:"provisioningSteps"`
	ModifiedProperties []changeJSON `json:"modifiedProperties"`
	ServicePrincipal   namedJSON    `json:"servicePrincipal"`
	SourceSystem       namedJSON    `json:"sourceSystem"`
	TargetSystem       namedJSON    `json:"targetSystem"`
	SourceIdentity     identityJSON `json:"sourceIdentity"`
	TargetIdentity     identityJSON `json:"targetIdentity"`
	InitiatedBy        namedJSON    `json:"initiatedBy"`
}

func (s *Sim) render(e *entry, version string) entryJSON {
	st := &statusJSON{Status: e.Status}
	if e.ErrorCode != "" || e.Reason != "" {
		st.ErrorInformation = &errorJSON{ErrorCode: e.ErrorCode, Reason: e.Reason, ErrorCategory: e.Category}
	}
	steps := make([]stepJSON, 0, len(e.Steps))
	for _, x := range e.Steps {
		steps = append(steps, stepJSON{x.Name, x.Type, x.Status, x.Description, map[string]string{}})
	}
	mods := make([]changeJSON, 0, len(e.Modified))
	for _, m := range e.Modified {
		mods = append(mods, changeJSON{m.Name, m.Old, m.New})
	}
	target := "Microsoft Entra ID"
	if s.opts.Directory == AD {
		target = "Active Directory"
	}
	out := entryJSON{
		ID: e.ID, ActivityDateTime: e.At.UTC().Format("2006-01-02T15:04:05.0000000Z"), TenantID: s.opts.TenantID,
		JobID: s.opts.JobID, CycleID: e.CycleID, ChangeID: e.ChangeID, Action: e.Action, DurationMS: 1,
		Steps: steps, ModifiedProperties: mods,
		ServicePrincipal: namedJSON{s.opts.ServicePrincipalID, "API-driven provisioning"},
		SourceSystem:     namedJSON{DisplayName: "API"},
		TargetSystem:     namedJSON{DisplayName: target},
		SourceIdentity:   identityJSON{e.SourceID, e.SourceName, "User", map[string]string{}},
		TargetIdentity:   identityJSON{e.TargetID, e.SourceName, "User", map[string]string{}},
		InitiatedBy:      namedJSON{DisplayName: "Azure AD Provisioning Service"},
	}
	if version == "beta" {
		out.BetaStatus = st
	} else {
		out.Status = st
	}
	return out
}

type clause func(job, sp string, e *entry) bool

// parseFilter reads the $filter subset Microsoft's own tools use on the
// provisioning logs: clauses joined by "and", each `prop eq 'value'` or
// `activityDateTime ge|gt|le|lt <time>`. Property names are matched the
// way Graph matches them (case-insensitively); values case-sensitively.
func parseFilter(f string) (func(job, sp string, e *entry) bool, error) {
	var clauses []clause
	if strings.TrimSpace(f) != "" {
		for _, part := range splitAnd(f) {
			c, err := parseClause(strings.TrimSpace(part))
			if err != nil {
				return nil, err
			}
			clauses = append(clauses, c)
		}
	}
	return func(job, sp string, e *entry) bool {
		for _, c := range clauses {
			if !c(job, sp, e) {
				return false
			}
		}
		return true
	}, nil
}

func splitAnd(f string) []string {
	var parts []string
	inQuote := false
	start := 0
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == '\'':
			inQuote = !inQuote
		case !inQuote && i+5 <= len(f) && strings.EqualFold(f[i:i+5], " and "):
			parts = append(parts, f[start:i])
			start = i + 5
			i += 4
		}
	}
	return append(parts, f[start:])
}

var errFilter = errors.New("Invalid filter clause: the provisioning logs support eq on jobId, sourceIdentity/id, servicePrincipal/id, provisioningAction and the status, and ge/gt/le/lt on activityDateTime")

func parseClause(c string) (clause, error) {
	fields := strings.SplitN(c, " ", 3)
	if len(fields) != 3 {
		return nil, errFilter
	}
	prop, op, val := strings.ToLower(fields[0]), strings.ToLower(fields[1]), strings.TrimSpace(fields[2])
	if prop == "activitydatetime" {
		t, err := time.Parse(time.RFC3339Nano, strings.Trim(val, "'"))
		if err != nil {
			return nil, errFilter
		}
		cmp := map[string]func(time.Time) bool{
			"ge": func(a time.Time) bool { return !a.Before(t) }, "gt": func(a time.Time) bool { return a.After(t) },
			"le": func(a time.Time) bool { return !a.After(t) }, "lt": func(a time.Time) bool { return a.Before(t) },
		}[op]
		if cmp == nil {
			return nil, errFilter
		}
		return func(_, _ string, e *entry) bool { return cmp(e.At) }, nil
	}
	if op != "eq" || len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
		return nil, errFilter
	}
	v := strings.ReplaceAll(val[1:len(val)-1], "''", "'")
	switch prop {
	case "jobid":
		return func(job, _ string, _ *entry) bool { return job == v }, nil
	case "serviceprincipal/id":
		return func(_, sp string, _ *entry) bool { return sp == v }, nil
	case "sourceidentity/id":
		return func(_, _ string, e *entry) bool { return e.SourceID == v }, nil
	case "provisioningaction":
		return func(_, _ string, e *entry) bool { return e.Action == v }, nil
	case "statusinfo/status", "provisioningstatusinfo/status":
		return func(_, _ string, e *entry) bool { return e.Status == v }, nil
	}
	return nil, errFilter
}

func encodeSkip(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(n)))
}

func decodeSkip(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "o:")
	if !ok {
		return 0, errors.New("bad token")
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 0 {
		return 0, errors.New("bad token")
	}
	return v, nil
}

// job answers the job resource with its synchronizationStatus.
func (s *Sim) job(w http.ResponseWriter, r *http.Request, _ string) {
	if r.PathValue("sp") != s.opts.ServicePrincipalID || r.PathValue("job") != s.opts.JobID {
		graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "The synchronization job was not found.")
		return
	}
	if !s.authorize(w, r, PermUpload) {
		return
	}
	s.mu.Lock()
	status := map[string]any{"code": string(s.status)}
	if s.status == JobQuarantine {
		status["quarantine"] = map[string]any{"reason": "IngestionInterrupted"}
	}
	s.mu.Unlock()
	template := "API2AAD"
	if s.opts.Directory == AD {
		template = "API2AD"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": s.opts.JobID, "templateId": template, "status": status})
}

// jobAction serves start, pause and restart; an idle restart purges the
// uploads not processed yet.
func (s *Sim) jobAction(action string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, _ string) { s.doJobAction(w, r, action) }
}

func (s *Sim) doJobAction(w http.ResponseWriter, r *http.Request, action string) {
	if r.PathValue("sp") != s.opts.ServicePrincipalID || r.PathValue("job") != s.opts.JobID {
		graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "The synchronization job was not found.")
		return
	}
	if !s.authorize(w, r, PermUpload) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch action {
	case "start":
		s.status = JobActive
		s.processDue(s.opts.Now())
	case "pause":
		s.status = JobPaused
	case "restart":
		s.queue = nil
		s.status = JobActive
	}
	w.WriteHeader(http.StatusNoContent)
}

package entrasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const maxOperations = 50

// Record is one user of a BulkRequest as the provisioning service reads it
// from the API attribute list.
type Record struct {
	ExternalID     string
	UserName       string
	DisplayName    string
	GivenName      string
	FamilyName     string
	Title          string
	Active         *bool
	WorkEmail      string
	WorkPhone      string
	EmployeeNumber string
	Department     string
	Division       string
	Organization   string
	CostCenter     string
	Manager        string // the manager's externalId
	// Extension holds the custom namespace's attributes (ExtensionURN).
	Extension map[string]string
}

type queued struct {
	at  time.Time
	rec Record
}

// bulkUpload stages a BulkRequest for the job and answers 202.
func (s *Sim) bulkUpload(w http.ResponseWriter, r *http.Request, version string) {
	if r.Method != http.MethodPost {
		graphError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method is not supported for this endpoint.")
		return
	}
	if r.PathValue("sp") != s.opts.ServicePrincipalID || r.PathValue("job") != s.opts.JobID {
		graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "The synchronization job was not found.")
		return
	}
	if !s.authorize(w, r, PermUpload) {
		return
	}
	if !s.admitUpload(w, r) {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/scim+json" {
		graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid Data Format")
		return
	}
	body := http.MaxBytesReader(w, r.Body, 4<<20)
	recs, err := s.parseBulk(body)
	if err != nil {
		graphError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	s.mu.Lock()
	now := s.opts.Now()
	s.processDue(now)
	if s.bucketFull || len(s.queue)+len(recs) > s.opts.QueueCap {
		s.mu.Unlock()
		// Microsoft documents the condition ("bucket full") but not the
		// body; this one names it so operators can tell it from other 500s.
		graphError(w, r, http.StatusInternalServerError, "InternalServerError", "Bucket is full: the job's ingestion queue cannot accept more data.")
		return
	}
	for _, rec := range recs {
		s.queue = append(s.queue, queued{at: now, rec: rec})
	}
	s.writes += len(recs)
	s.processDue(now)
	s.mu.Unlock()

	filter := "jobid eq '" + s.opts.JobID + "'"
	w.Header().Set("Location", baseURL(r)+"/"+version+"/auditLogs/provisioning/?$filter="+url.PathEscape(filter))
	w.Header().Set("request-id", newID())
	if c := r.Header.Get("client-request-id"); c != "" {
		w.Header().Set("client-request-id", c)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// admitUpload applies injected faults and the published upload limits.
func (s *Sim) admitUpload(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	now := s.opts.Now()
	if s.throttle > 0 {
		s.throttle--
		s.throttled++
		wait := s.throttleFor
		s.mu.Unlock()
		tooMany(w, r, wait)
		return false
	}
	ok, wait := s.uploads.admit(now)
	if ok {
		if ok, wait = s.daily.admit(now); !ok {
			s.uploads.times = s.uploads.times[:len(s.uploads.times)-1]
		}
	}
	if !ok {
		s.throttled++
		s.mu.Unlock()
		tooMany(w, r, wait)
		return false
	}
	if len(s.failNext) > 0 {
		status := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.mu.Unlock()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "10")
			graphError(w, r, status, "ServiceUnavailable", "The service is temporarily unavailable.")
		} else {
			graphError(w, r, status, "UnknownError", "An internal server error occurred.")
		}
		return false
	}
	s.mu.Unlock()
	return true
}

func tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	graphError(w, r, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
}

type bulkRequest struct {
	Schemas      []string          `json:"schemas"`
	Operations   []json.RawMessage `json:"Operations"`
	FailOnErrors *int              `json:"failOnErrors"`
}

type operation struct {
	Method string         `json:"method"`
	BulkID string         `json:"bulkId"`
	Path   string         `json:"path"`
	Data   map[string]any `json:"data"`
}

// parseBulk checks a BulkRequest against the bulkUpload rules and the
// schemas the app knows, and returns its users.
func (s *Sim) parseBulk(body io.Reader) ([]Record, error) {
	var req bulkRequest
	dec := json.NewDecoder(body)
	if err := dec.Decode(&req); err != nil {
		return nil, errors.New("Invalid Data Format: the body is not a BulkRequest")
	}
	if !contains(req.Schemas, bulkRequestURN) {
		return nil, errors.New("Invalid Data Format: schemas must list " + bulkRequestURN)
	}
	if len(req.Operations) == 0 {
		return nil, errors.New("Invalid Data Format: no Operations")
	}
	if len(req.Operations) > maxOperations {
		return nil, fmt.Errorf("the request holds %d operations, more than the maximum of %d", len(req.Operations), maxOperations)
	}
	recs := make([]Record, 0, len(req.Operations))
	for i, raw := range req.Operations {
		var op operation
		if err := json.Unmarshal(raw, &op); err != nil {
			return nil, fmt.Errorf("Invalid Data Format: operation %d: %v", i, err)
		}
		if op.Method != http.MethodPost {
			return nil, fmt.Errorf("operation %d: method must be POST", i)
		}
		if op.Path != "/Users" {
			return nil, fmt.Errorf("operation %d: path must be /Users", i)
		}
		if op.BulkID == "" {
			return nil, fmt.Errorf("operation %d: bulkId is required", i)
		}
		rec, err := s.parseUser(op.Data)
		if err != nil {
			return nil, fmt.Errorf("operation %d: %w", i, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func (s *Sim) parseUser(data map[string]any) (Record, error) {
	if data == nil {
		return Record{}, errors.New("data is required")
	}
	schemas, err := stringList(data["schemas"])
	if err != nil || !contains(schemas, coreUserURN) {
		return Record{}, errors.New("data.schemas must list " + coreUserURN)
	}
	for k := range data {
		if strings.HasPrefix(k, "urn:") && !contains(schemas, k) {
			return Record{}, fmt.Errorf("data holds %s, which data.schemas does not list", k)
		}
	}
	var rec Record
	var errs []error
	str := func(m map[string]any, key string) string {
		v, ok := m[key]
		if !ok || v == nil {
			return ""
		}
		sv, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s must be a string", key))
		}
		return sv
	}
	rec.ExternalID = str(data, "externalId")
	rec.UserName = str(data, "userName")
	rec.DisplayName = str(data, "displayName")
	rec.Title = str(data, "title")
	if v, ok := data["active"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			errs = append(errs, errors.New("active must be a boolean"))
		}
		rec.Active = &b
	}
	if name, ok := data["name"].(map[string]any); ok {
		rec.GivenName, rec.FamilyName = str(name, "givenName"), str(name, "familyName")
	}
	rec.WorkEmail = workValue(data["emails"])
	rec.WorkPhone = workValue(data["phoneNumbers"])
	if ent, ok := data[enterpriseURN].(map[string]any); ok {
		rec.EmployeeNumber = str(ent, "employeeNumber")
		rec.Department = str(ent, "department")
		rec.Division = str(ent, "division")
		rec.Organization = str(ent, "organization")
		rec.CostCenter = str(ent, "costCenter")
		if m, ok := ent["manager"].(map[string]any); ok {
			rec.Manager = str(m, "value")
		}
	}
	if ext, ok := data[s.opts.ExtensionURN].(map[string]any); ok {
		rec.Extension = map[string]string{}
		for k, v := range ext {
			switch v := v.(type) {
			case string:
				rec.Extension[k] = v
			case bool:
				rec.Extension[k] = strconv.FormatBool(v)
			case float64:
				rec.Extension[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case nil:
			default:
				errs = append(errs, fmt.Errorf("%s:%s must be a single value", s.opts.ExtensionURN, k))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Record{}, err
	}
	if rec.ExternalID == "" {
		return Record{}, errors.New("externalId is required: it is the matching attribute")
	}
	return rec, nil
}

// workValue returns the value of the work-typed entry of a multi-valued
// attribute; the service processes no other type.
func workValue(v any) string {
	list, _ := v.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if t, _ := m["type"].(string); t == "work" {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, errors.New("not a list of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

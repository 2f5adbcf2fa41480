package personiotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// ErrUnknownPerson is returned for an id the company does not have.
var ErrUnknownPerson = errors.New("unknown person")

// Records returns every person as the ground truth a client must produce
// with all attributes readable and every non-sensitive custom attribute
// allowed, ordered by id.
func (s *Server) Records() []personio.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := s.today()
	out := make([]personio.Record, 0, len(s.co.persons))
	for _, p := range s.co.persons {
		out = append(out, s.co.record(p, today, s.opts.StatusFollowsDates))
	}
	return out
}

// Record returns one person's ground truth.
func (s *Server) Record(id string) (personio.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookup(id)
	if !ok {
		return personio.Record{}, false
	}
	return s.co.record(p, s.today(), s.opts.StatusFollowsDates), true
}

func (s *Server) lookup(id string) (*person, bool) {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil, false
	}
	p, ok := s.co.byID[n]
	return p, ok
}

// Hire adds a person (see Attrs) and returns the new id.
func (s *Server) Hire(attrs Attrs) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.co.hire(attrs, s.now(), s.today(), s.opts.V2EmploymentBumpsPerson)
	if err != nil {
		return "", fmt.Errorf("hire: %w", err)
	}
	return strconv.Itoa(p.ID), nil
}

// Update changes a person as a Personio user would (see Attrs), bumping
// modification times for what really changed.
func (s *Server) Update(id string, attrs Attrs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookup(id)
	if !ok {
		return fmt.Errorf("update %s: %w", id, ErrUnknownPerson)
	}
	ed := s.co.edit(p, s.now(), s.opts.V2EmploymentBumpsPerson)
	if err := s.co.applyAttrs(ed, attrs, s.today()); err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	ed.finish()
	return nil
}

// Remove deletes a person: they vanish from every answer.
func (s *Server) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := strconv.Atoi(id)
	s.co.emitRemove(s.co.byID[n], s.now())
	if err != nil || !s.co.removePerson(n) {
		return fmt.Errorf("remove %s: %w", id, ErrUnknownPerson)
	}
	return nil
}

// Calls returns how often an endpoint pattern was called, e.g.
// "GET /v1/company/employees" or "GET /v2/persons/{id}/employments".
func (s *Server) Calls(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[pattern]
}

// CallCounts returns every endpoint's call count.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

func (s *Server) controlRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_sim/employees", s.simList)
	m.HandleFunc("POST /_sim/employees", s.simHire)
	m.HandleFunc("GET /_sim/employees/{id}", s.simGet)
	m.HandleFunc("PATCH /_sim/employees/{id}", s.simUpdate)
	m.HandleFunc("DELETE /_sim/employees/{id}", s.simRemove)
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Faults()) })
	m.HandleFunc("POST /_sim/faults", s.simFault)
	m.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.CallCounts()) })
	m.HandleFunc("DELETE /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sim/settings", s.simSettings)
	m.HandleFunc("PATCH /_sim/settings", s.simChangeSettings)
	m.HandleFunc("GET /_sim/clock", s.simClock)
	m.HandleFunc("POST /_sim/clock", s.simAdvance)
	return m
}

// simError is the control API's error shape.
func simError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (s *Server) simList(w http.ResponseWriter, r *http.Request) {
	records := s.Records()
	out := make([]map[string]string, 0, len(records))
	for _, rec := range records {
		out = append(out, rec.Fields())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) simGet(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.Record(r.PathValue("id"))
	if !ok {
		simError(w, http.StatusNotFound, ErrUnknownPerson)
		return
	}
	writeJSON(w, http.StatusOK, rec.Fields())
}

func readAttrs(w http.ResponseWriter, r *http.Request) (Attrs, bool) {
	var attrs Attrs
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&attrs); err != nil || attrs == nil {
		simError(w, http.StatusBadRequest, errors.New("body must be a JSON object of attributes"))
		return nil, false
	}
	return attrs, true
}

func (s *Server) simHire(w http.ResponseWriter, r *http.Request) {
	attrs, ok := readAttrs(w, r)
	if !ok {
		return
	}
	id, err := s.Hire(attrs)
	if err != nil {
		simError(w, http.StatusBadRequest, err)
		return
	}
	rec, _ := s.Record(id)
	writeJSON(w, http.StatusCreated, rec.Fields())
}

func (s *Server) simUpdate(w http.ResponseWriter, r *http.Request) {
	attrs, ok := readAttrs(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := s.Update(id, attrs); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrUnknownPerson) {
			status = http.StatusNotFound
		}
		simError(w, status, err)
		return
	}
	rec, _ := s.Record(id)
	writeJSON(w, http.StatusOK, rec.Fields())
}

func (s *Server) simRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.Remove(r.PathValue("id")); err != nil {
		simError(w, http.StatusNotFound, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// simFault takes one fault or a list of them.
func (s *Server) simFault(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&raw); err != nil {
		simError(w, http.StatusBadRequest, errors.New("body must be a fault object or a list of them"))
		return
	}
	var faults []Fault
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &faults); err != nil {
			simError(w, http.StatusBadRequest, fmt.Errorf("fault list: %w", err))
			return
		}
	} else {
		var f Fault
		if err := json.Unmarshal(raw, &f); err != nil {
			simError(w, http.StatusBadRequest, fmt.Errorf("fault: %w", err))
			return
		}
		faults = []Fault{f}
	}
	for _, f := range faults {
		if f.Path == "" {
			simError(w, http.StatusBadRequest, errors.New("a fault needs a path prefix"))
			return
		}
	}
	for _, f := range faults {
		s.InjectFault(f)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) simClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"now": s.Now().UTC().Format(time.RFC3339), "today": s.Today().String(),
	})
}

// simAdvance moves the clock: {"advance": "36h"}.
func (s *Server) simAdvance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Advance string `json:"advance"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		simError(w, http.StatusBadRequest, errors.New(`body must be {"advance": "24h"}`))
		return
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d < 0 {
		simError(w, http.StatusBadRequest, errors.New("advance must be a positive Go duration such as 24h"))
		return
	}
	s.Advance(d)
	s.simClock(w, r)
}

// SetUpdatedSinceLocation changes the zone v1 reads updated_since in: an
// account whose zone differs from the one the service assumes.
func (s *Server) SetUpdatedSinceLocation(loc *time.Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.V1UpdatedSinceLocation = loc
}

func (s *Server) simSettings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	zone := s.opts.V1UpdatedSinceLocation.String()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"v1_updated_since_zone": zone})
}

// simChangeSettings takes {"v1_updated_since_zone": "Europe/London"}.
func (s *Server) simChangeSettings(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Zone *string `json:"v1_updated_since_zone"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.Zone == nil {
		simError(w, http.StatusBadRequest, errors.New(`body must be {"v1_updated_since_zone": "Europe/London"}`))
		return
	}
	loc, err := time.LoadLocation(*body.Zone)
	if err != nil {
		simError(w, http.StatusBadRequest, fmt.Errorf("unknown time zone %q", *body.Zone))
		return
	}
	s.SetUpdatedSinceLocation(loc)
	s.simSettings(w, r)
}

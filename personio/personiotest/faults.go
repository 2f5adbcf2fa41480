package personiotest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the next Count requests whose path starts with Path misbehave.
// It is the body of POST /_sim/faults and the argument of InjectFault.
// Several effects can combine; a delay comes first.
type Fault struct {
	Path  string `json:"path"`  // prefix of the request path, e.g. "/v1/company/employees"
	Count int    `json:"count"` // requests affected; 0 means 1, negative means until cleared
	After int    `json:"after"` // matching requests to let through first (hit page 3, not page 1)

	Status     int  `json:"status,omitempty"`      // answer with this status and the version's error body
	RetryAfter int  `json:"retry_after,omitempty"` // seconds, sent with Status (429, 503)
	DelayMS    int  `json:"delay_ms,omitempty"`    // wait (real time) before answering
	Garbage    bool `json:"garbage,omitempty"`     // answer 200 with malformed JSON
	Empty      bool `json:"empty,omitempty"`       // list answers carry no items but keep their paging data

	SelfNext    bool `json:"self_next,omitempty"`    // v2: the next link points at this page
	CursorLoop  bool `json:"cursor_loop,omitempty"`  // v2: a new cursor that serves this page again
	ForeignNext bool `json:"foreign_next,omitempty"` // v2: the next link points at another host
	TotalDelta  int  `json:"total_delta,omitempty"`  // v1: total_elements off by this much
	// DropAttributes leaves these v1 attribute keys (and their v2
	// counterparts) out of person answers, as a credential lacking them would.
	DropAttributes []string `json:"drop_attributes,omitempty"`

	// End: v2 answers an empty page without a next link, ending the
	// listing early, as though everyone had been read.
	End bool `json:"end,omitempty"`
	// Omit leaves these person ids out of list answers (v1 counts them out
	// of total_elements too, a consistent lie), while GET by id still finds
	// them: a listing that silently loses people.
	Omit []string `json:"omit,omitempty"`
	// Hire adds a person to the company before the request is answered:
	// someone hired during a listing.
	Hire bool `json:"hire,omitempty"`
}

// faultState is a fault with its remaining budget.
type faultState struct {
	Fault
	skip      int
	remaining int // negative: unlimited
}

type faultKey struct{}

// faultFrom returns the fault a request carries into its handler.
func faultFrom(r *http.Request) Fault {
	f, _ := r.Context().Value(faultKey{}).(Fault)
	return f
}

// InjectFault queues a fault.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queueFault(f)
}

// queueFault queues a fault; the caller holds s.mu (or owns s alone).
func (s *Server) queueFault(f Fault) {
	remaining := f.Count
	if remaining == 0 {
		remaining = 1
	}
	s.faults = append(s.faults, &faultState{Fault: f, skip: f.After, remaining: remaining})
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults lists the queued faults with what is left of them.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		left := f.Fault
		left.Count, left.After = f.remaining, f.skip
		out = append(out, left)
	}
	return out
}

// takeFault consumes the first queued fault matching path. The caller holds
// s.mu.
func (s *Server) takeFault(path string) *faultState {
	for i, f := range s.faults {
		if !strings.HasPrefix(path, f.Path) {
			continue
		}
		if f.skip > 0 {
			f.skip--
			continue
		}
		if f.remaining > 0 {
			f.remaining--
			if f.remaining == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

// omitted is the set of person ids a fault leaves out of listings.
func omitted(f Fault) map[int]bool {
	if len(f.Omit) == 0 {
		return nil
	}
	m := make(map[int]bool, len(f.Omit))
	for _, id := range f.Omit {
		if n, err := strconv.Atoi(id); err == nil {
			m[n] = true
		}
	}
	return m
}

// hireDuringListing adds a generated person, numbered by how many such
// hires came before so that names and emails stay unique. The caller holds
// s.mu.
func (s *Server) hireDuringListing() {
	s.listingHires++
	n := strconv.Itoa(s.listingHires)
	_, _ = s.co.hire(Attrs{"first_name": "Neu", "last_name": "Einstellung" + n}, s.now(), s.today(), s.opts.V2EmploymentBumpsPerson)
}

// delay waits the fault's delay in real time; false means the client went
// away meanwhile.
func (f *faultState) delay(ctx context.Context) bool {
	if f.DelayMS <= 0 {
		return true
	}
	t := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// answer writes the fault's own answer (status or garbage) and reports
// whether it did.
func (f *faultState) answer(w http.ResponseWriter, r *http.Request, defaultRetryAfter int) bool {
	switch {
	case f.Status != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		} else if f.Status == http.StatusTooManyRequests && defaultRetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(defaultRetryAfter))
		}
		if isV2(r) {
			writeProblem(w, f.Status, http.StatusText(f.Status), "Injected fault.")
		} else {
			writeV1Error(w, f.Status, faultMessage(f.Status))
		}
		return true
	case f.Garbage:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"success":true,"data":[{"type":"Employee","attributes":{"id":{"label":"ID","val`))
		return true
	}
	return false
}

// faultMessage is what Personio's v1 says for a status, German where the
// spec shows German.
func faultMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Too Many Requests"
	case http.StatusNotFound:
		return "Es ist ein Problem aufgetreten"
	case http.StatusUnauthorized:
		return "Authorization is not provided"
	case http.StatusForbidden:
		return "Provided authorization is not valid"
	}
	if status >= 500 {
		return "Etwas ist schiefgelaufen. Bitte versuche es später noch einmal."
	}
	return http.StatusText(status)
}

package personio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Errors a fetch can end with, for errors.Is. A fetch that returns any error
// returns no records: a listing is complete or it is an error.
var (
	// ErrTruncated: the listing ended before it delivered everyone it
	// announced (an empty page in the middle, fewer people than the total).
	ErrTruncated = errors.New("personio listing truncated")
	// ErrCountMismatch: a v1 listing that ran to its last page holds more
	// or fewer people than total_elements announced, so nothing proves it
	// complete.
	ErrCountMismatch = errors.New("personio listing does not match its announced total")
	// ErrTotalChanged: v1's total_elements moved between pages.
	ErrTotalChanged = errors.New("personio total changed during listing")
	// ErrCursorLoop: v2 paging repeated a cursor, pointed at the page itself,
	// or served only people it had served before.
	ErrCursorLoop = errors.New("personio paging loops")
	// ErrForeignHost: a next link pointed at another host; following it
	// would send the token there.
	ErrForeignHost = errors.New("personio next link points at another host")
	// ErrMissingAttribute: a response lacked an attribute the client asked
	// for, usually because the credential may not read it.
	ErrMissingAttribute = errors.New("personio attribute missing")
	// ErrUnresolved: a v2 org id had no name in its lookup.
	ErrUnresolved = errors.New("personio org id unresolved")
	// ErrMalformed: a response body was not what the API documents.
	ErrMalformed = errors.New("malformed personio response")
	// ErrAuth: Personio refused the credentials or the token.
	ErrAuth = errors.New("personio authentication failed")
	// ErrRateLimited: Personio kept answering 429 until the attempts ran out.
	ErrRateLimited = errors.New("personio rate limit")
	// ErrTooManyMissing: more people are missing from a listing than may
	// be looked up one by one.
	ErrTooManyMissing = errors.New("too many people missing from the personio listing")
	// ErrNotFound: Personio answered 404 (unknown person, or an endpoint the
	// company has no access to).
	ErrNotFound = errors.New("personio resource not found")
)

// APIError is an error answer from Personio. Message and Code come from the
// response body; they are Personio's own texts (sometimes German) and are
// kept for operators, never matched on.
type APIError struct {
	Endpoint string // method and path template
	Status   int
	Code     string // v2 OAuth error code or v1 numeric code as text
	Message  string
	TraceID  string // v2 personio_trace_id, asked for by Personio support
	Attempts int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "personio %s: %d %s", e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.TraceID != "" {
		fmt.Fprintf(&b, " [trace %s]", e.TraceID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Is lets callers test an APIError against the sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrAuth:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// maxErrorMessage bounds what an error message keeps of a response text.
const maxErrorMessage = 200

// newAPIError reads whatever error shape the body has: v1
// {"success":false,"error":{"code","message"}}, v2 problem+json
// {"personio_trace_id","errors":[{"title","detail"}]}, or OAuth
// {"error","error_description","trace_id"}.
func newAPIError(endpoint string, status int, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, Status: status}
	var shape struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		TraceID          string          `json:"trace_id"`
		PersonioTraceID  string          `json:"personio_trace_id"`
		Errors           []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &shape) != nil {
		return e
	}
	e.TraceID = firstNonEmpty(shape.PersonioTraceID, shape.TraceID)
	var v1 struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	}
	var oauthCode string
	switch {
	case json.Unmarshal(shape.Error, &v1) == nil && (v1.Message != "" || v1.Code != nil):
		e.Code = strings.Trim(string(v1.Code), `"`)
		e.Message = v1.Message
	case json.Unmarshal(shape.Error, &oauthCode) == nil:
		e.Code = oauthCode
		e.Message = shape.ErrorDescription
	case len(shape.Errors) > 0:
		e.Message = firstNonEmpty(shape.Errors[0].Detail, shape.Errors[0].Title)
	}
	e.Message = clip(e.Message, maxErrorMessage)
	e.Code = clip(e.Code, 60)
	e.TraceID = clip(e.TraceID, 100)
	return e
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// malformed wraps a decoding problem so that it matches ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

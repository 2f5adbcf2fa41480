package personio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const (
	endpointV1EmployeePatch = "PATCH /v1/company/employees/{id}"
	endpointV2PersonPatch   = "PATCH /v2/persons/{id}"
)

// PersonUpdate is a write to one person: the work email and custom
// attributes by key (dynamic_N). Empty Email leaves the email alone.
type PersonUpdate struct {
	Email  string
	Custom map[string]string
}

// Fields lists the Personio fields the update writes, sorted.
func (u PersonUpdate) Fields() []string {
	fields := slices.Sorted(maps.Keys(u.Custom))
	if u.Email != "" {
		fields = append([]string{FieldEmail}, fields...)
	}
	return fields
}

// WriteResult is Personio's answer to an accepted write.
type WriteResult struct {
	Endpoint string
	Status   int // 200 (v1) or 204 (v2)
}

// Answer renders the answer for the change log.
func (r WriteResult) Answer() string {
	return fmt.Sprintf("%s: %d %s", r.Endpoint, r.Status, http.StatusText(r.Status))
}

// ErrWriteRefused matches every WriteRefusedError.
var ErrWriteRefused = errors.New("personio refused the write")

// WriteRefusedError is a write Personio answered but did not carry out: a
// 4xx (a duplicate email, an unknown attribute, a field the credential may
// not write) or, on v1, a 200 whose meta says the fields were ignored.
// Retrying the same write will not help until something changes.
type WriteRefusedError struct {
	Endpoint string
	Status   int
	Message  string // Personio's text, never the value written
	TraceID  string
}

func (e *WriteRefusedError) Error() string {
	msg := fmt.Sprintf("personio %s refused the write: %d %s", e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.TraceID != "" {
		msg += " [trace " + e.TraceID + "]"
	}
	return msg
}

// Is makes errors.Is(err, ErrWriteRefused) true.
func (e *WriteRefusedError) Is(target error) bool { return target == ErrWriteRefused }

// ErrEmailNotWritableV1 is the refusal of an email write through API v1,
// which cannot change emails; it is refused before anything is sent.
var ErrEmailNotWritableV1 = &WriteRefusedError{Endpoint: endpointV1EmployeePatch, Status: http.StatusUnprocessableEntity,
	Message: "API v1 cannot change the email; use API v2 for email write-back"}

// UpdatePerson writes u to the person with Personio id id, through v1
// (PATCH employee, custom attributes only) or v2 (PATCH persons: email and
// custom attributes), under the client's rate limits and back-off. A 429
// is retried; other answers are not, since a PATCH that timed out may have
// taken effect. Refusals are WriteRefusedErrors; anything else (5xx,
// network) is a plain error worth retrying later.
func (c *Client) UpdatePerson(ctx context.Context, id string, u PersonUpdate) (WriteResult, error) {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return WriteResult{}, errors.New("personio update person: invalid id")
	}
	if u.Email == "" && len(u.Custom) == 0 {
		return WriteResult{}, errors.New("personio update person: nothing to write")
	}
	for key := range u.Custom {
		if !IsCustomField(key) {
			return WriteResult{}, fmt.Errorf("personio update person: %q is not a custom attribute key (dynamic_N)", clip(key, 40))
		}
	}
	if c.cfg.APIVersion == APIv2 {
		return c.patchV2Person(ctx, id, u)
	}
	if u.Email != "" {
		return WriteResult{}, ErrEmailNotWritableV1
	}
	return c.patchV1Employee(ctx, id, u.Custom)
}

func (c *Client) patchV1Employee(ctx context.Context, id string, custom map[string]string) (WriteResult, error) {
	body, err := json.Marshal(map[string]any{"employee": map[string]any{"custom_attributes": custom}})
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode employee update: %w", err)
	}
	resp, err := c.send(ctx, &run{}, call{
		method: http.MethodPatch, endpoint: endpointV1EmployeePatch, auth: true,
		url: c.url("/v1/company/employees/" + url.PathEscape(id)), body: body, contentType: "application/json",
	})
	if err != nil {
		return WriteResult{}, refusal(err)
	}
	var answer struct {
		Success bool            `json:"success"`
		Meta    json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || !answer.Success {
		return WriteResult{}, malformed("employee update answer: want success true")
	}
	// Personio ignores what it cannot write and says so in meta, with a 200.
	if notes := metaNotes(answer.Meta); len(notes) > 0 {
		return WriteResult{}, &WriteRefusedError{Endpoint: endpointV1EmployeePatch, Status: resp.status,
			Message: clip(strings.Join(notes, "; "), maxErrorMessage)}
	}
	return WriteResult{Endpoint: endpointV1EmployeePatch, Status: resp.status}, nil
}

// metaNotes reads v1's meta: a list of texts, or an object of them.
func metaNotes(raw json.RawMessage) []string {
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		return textsOf(list)
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		return textsOf(slices.Collect(maps.Values(obj)))
	}
	return nil
}

func textsOf(values []any) []string {
	var out []string
	for _, v := range values {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		} else if v != nil {
			out = append(out, fmt.Sprint(v))
		}
	}
	slices.Sort(out)
	return out
}

func (c *Client) patchV2Person(ctx context.Context, id string, u PersonUpdate) (WriteResult, error) {
	body := map[string]any{}
	if u.Email != "" {
		body["email"] = u.Email
	}
	if len(u.Custom) > 0 {
		items := make([]map[string]string, 0, len(u.Custom))
		for _, key := range slices.Sorted(maps.Keys(u.Custom)) {
			items = append(items, map[string]string{"id": key, "value": u.Custom[key]})
		}
		body["custom_attributes"] = items
	}
	data, err := json.Marshal(body)
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode person update: %w", err)
	}
	resp, err := c.send(ctx, &run{}, call{
		method: http.MethodPatch, endpoint: endpointV2PersonPatch, auth: true,
		url: c.url("/v2/persons/" + url.PathEscape(id)), body: data, contentType: "application/json",
	})
	if err != nil {
		return WriteResult{}, refusal(err)
	}
	return WriteResult{Endpoint: endpointV2PersonPatch, Status: resp.status}, nil
}

// refusal turns a 4xx answer into a WriteRefusedError. 401 and 429 stay
// what they are (credentials, limits): they say nothing about the write.
func refusal(err error) error {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status < 400 || apiErr.Status >= 500 ||
		apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusTooManyRequests {
		return err
	}
	return &WriteRefusedError{Endpoint: apiErr.Endpoint, Status: apiErr.Status, Message: apiErr.Message, TraceID: apiErr.TraceID}
}

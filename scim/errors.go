package scim

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/personio-scim/personio-scim/store"
)

// WriteError writes a SCIM error response (RFC 7644 section 3.12) with the
// given status and detail. Its signature is the one the authentication
// middleware takes for rendering its 401, 403 and 429 answers, so that
// clients of /scim get SCIM errors there too.
func WriteError(w http.ResponseWriter, r *http.Request, status int, detail string) {
	writeError(negotiated(w, r), scimerrors.ScimError{Status: status, Detail: detail})
}

// writeError writes e. The status is sent as a JSON string, as RFC 7644
// demands and Okta's test suite checks.
func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	var jw jsonWriter
	jw.beginObject()
	jw.key("schemas")
	jw.beginArray()
	jw.str(errorURN)
	jw.endArray()
	if e.ScimType != "" {
		jw.field("scimType", string(e.ScimType))
	}
	detail := e.Detail
	if detail == "" {
		detail = http.StatusText(e.Status)
	}
	jw.field("detail", detail)
	jw.field("status", strconv.Itoa(e.Status))
	jw.endObject()
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(e.Status)
	_, _ = w.Write(jw.b)
}

func badRequest(scimType scimerrors.ScimType, detail string) scimerrors.ScimError {
	return scimerrors.ScimError{ScimType: scimType, Detail: detail, Status: http.StatusBadRequest}
}

func notFound(id string) scimerrors.ScimError {
	return scimerrors.ScimError{Detail: "Resource " + id + " not found.", Status: http.StatusNotFound}
}

// internalError is what a client sees of a failure inside the server: no
// message, no stack, nothing of the store.
func internalError() scimerrors.ScimError {
	return scimerrors.ScimError{Detail: "internal error", Status: http.StatusInternalServerError}
}

// toScimError maps any error of the handlers to a SCIM error with a status
// the library accepts for method: the library answers any other error with
// a 500 whose detail is err.Error(), and a status it does not expect for
// the method with a 500 as well. Domain errors get their SCIM status here;
// unknown ones are logged and hidden.
func toScimError(ctx context.Context, log *slog.Logger, err error, method string) scimerrors.ScimError {
	var (
		value  scimerrors.ScimError
		filter *filterError
		se     scimerrors.ScimError
	)
	switch {
	case errors.As(err, &value):
		se = value
	case errors.As(err, &filter):
		se = badRequest(scimerrors.ScimTypeInvalidFilter, filter.detail)
	case errors.Is(err, store.ErrNotFound):
		se = scimerrors.ScimError{Detail: "The resource does not exist (any more).", Status: http.StatusNotFound}
	case errors.Is(err, store.ErrConflict):
		se = preconditionFailed()
	case errors.Is(err, store.ErrDuplicate):
		se = scimerrors.ScimError{ScimType: scimerrors.ScimTypeUniqueness, Status: http.StatusConflict,
			Detail: "The value is already taken by another resource."}
	case errors.Is(err, store.ErrInvalid):
		se = badRequest(scimerrors.ScimTypeInvalidValue, "The change is not valid for this resource.")
	default:
		log.ErrorContext(ctx, "scim request failed", "method", method, "error", err)
		return internalError()
	}
	if checked := scimerrors.CheckScimError(se, method); checked.Status != se.Status {
		log.ErrorContext(ctx, "scim error status not allowed for method", "method", method, "status", se.Status)
		return internalError()
	}
	return se
}

// StoreUnavailable reports whether err says the store cannot be reached
// (network errors, timeouts, connections a driver says are safe to retry)
// rather than that the request was wrong. Such failures answer 503 with
// Retry-After, so that clients come back instead of giving up on a 500.
func StoreUnavailable(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// unavailableRetryAfter is what a 503 tells clients to wait, in seconds;
// Okta honours only whole seconds.
const unavailableRetryAfter = "5"

// writeUnavailable answers a write that could not reach the store.
func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", unavailableRetryAfter)
	writeError(w, scimerrors.ScimError{Status: http.StatusServiceUnavailable,
		Detail: "The directory cannot store changes right now; reads still work. Try again shortly."})
}

// preconditionFailed answers an If-Match that no longer holds.
func preconditionFailed() scimerrors.ScimError {
	return scimerrors.ScimError{Status: http.StatusPreconditionFailed,
		Detail: "The resource has changed since the version named in If-Match; read it again."}
}

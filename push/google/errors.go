package google

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/personio-scim/personio-scim/push"
)

// The reasons Google gives for throttling; all three are retried with
// back-off, other 403s are not.
var quotaReasons = []string{"userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded", "dailyLimitExceeded"}

// maxBackoff is where Google's suggested back-off (1 s, 2 s, 4 s, …) stops
// growing.
const maxBackoff = 64 * time.Second

// batchError is a failure of the connection or the credentials rather than
// of one record: the whole batch fails and the worker retries it.
type batchError struct {
	op  string
	msg string
	err error
}

// Error never carries an address, whatever a lower layer put in its message.
func (e *batchError) Error() string { return "google: " + e.op + ": " + withoutAddresses(e.msg) }
func (e *batchError) Unwrap() error { return e.err }

// apiError is the Directory API's error in a form the target decides on.
type apiError struct {
	status  int
	reason  string
	message string
	header  http.Header
}

// classify turns an error from the client library into an API error, or
// into a batch error when no answer came or it was not the API's
// (network, timeout, redirect, token endpoint, garbage).
func classify(op string, err error) (*apiError, error) {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		ae := &apiError{status: gerr.Code, message: gerr.Message, header: gerr.Header}
		if len(gerr.Errors) > 0 {
			ae.reason = gerr.Errors[0].Reason
			if ae.message == "" {
				ae.message = gerr.Errors[0].Message
			}
		}
		if ae.status == http.StatusUnauthorized {
			return nil, &batchError{op: op, msg: "the Directory API refused the access token (401); a new one is fetched on the next attempt", err: fmt.Errorf("%w: %w", errUnauthorized, err)}
		}
		if ae.status == http.StatusForbidden && ae.reason == "insufficientPermissions" {
			return nil, &batchError{op: op, msg: "the token lacks a scope this call needs (403 insufficientPermissions): check the domain-wide delegation's scopes", err: err}
		}
		return ae, nil
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		code := rerr.ErrorCode
		if code == "" {
			// The JWT flow leaves the body to the caller: {"error": "..."}.
			var body struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(rerr.Body, &body)
			code = body.Error
		}
		if code == "" && rerr.Response != nil {
			code = strconv.Itoa(rerr.Response.StatusCode)
		}
		msg := "fetching an access token failed: " + code
		if code == "unauthorized_client" {
			msg += " (domain-wide delegation is missing for the subject or one of the scopes)"
		}
		return nil, &batchError{op: op, msg: msg, err: errors.New(msg)}
	}
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typeErr) {
		return nil, &batchError{op: op, msg: "the answer is not the Directory API's JSON", err: err}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// url.Error's text carries the URL, which names people by email.
		return nil, &batchError{op: op, msg: "no answer: " + uerr.Err.Error(), err: uerr.Err}
	}
	return nil, &batchError{op: op, msg: err.Error(), err: err}
}

func (e *apiError) throttled() bool {
	return e.status == http.StatusTooManyRequests ||
		(e.status == http.StatusForbidden && slices.Contains(quotaReasons, e.reason))
}

// transient says the same request may well succeed later: throttling,
// server errors, and 412 "User creation is not complete".
func (e *apiError) transient() bool {
	return e.throttled() || e.status >= 500 || e.status == http.StatusPreconditionFailed
}

// failure is the item's result for an API error.
func (e *apiError) failure(it push.Item, retryable bool) push.Result {
	res := push.Result{
		ID: it.ID, Outcome: push.Failed, TargetID: it.Previous.TargetID,
		Error: fmt.Sprintf("%d %s", e.status, withoutAddresses(e.message)),
		Code:  e.reason, Retryable: retryable || e.transient(),
	}
	if res.Code == "" {
		res.Code = strconv.Itoa(e.status)
	}
	if res.Retryable {
		res.RetryAfter = retryAfter(e.header, it.Previous.Attempts)
	}
	return res
}

// retryAfter honours a Retry-After header, else backs off as Google
// suggests: 2^attempts seconds, capped.
func retryAfter(h http.Header, attempts int) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second
		}
	}
	d := time.Second << min(max(attempts, 0), 6)
	return min(d, maxBackoff)
}

var address = regexp.MustCompile(`[^\s@"']+@[^\s@"']+`)

// withoutAddresses keeps Google's message but not the addresses it may
// quote: results end up in the ledger and the API.
func withoutAddresses(msg string) string {
	return address.ReplaceAllString(msg, "<address>")
}

// dataError is the result of a record the target refuses before sending.
func dataError(it push.Item, code, msg string) push.Result {
	return push.Result{ID: it.ID, Outcome: push.Failed, TargetID: it.Previous.TargetID, Code: code, Error: msg}
}

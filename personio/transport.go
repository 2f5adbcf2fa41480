package personio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBodyBytes bounds a response body; a page of 100 employees with every
// attribute is well under a megabyte.
const maxBodyBytes = 32 << 20

// call is one logical request; send turns it into one or more attempts.
type call struct {
	method      string
	endpoint    string // template for limits, metrics and errors
	url         string // absolute
	body        []byte
	contentType string
	auth        bool // needs a bearer token
	beta        bool // sends "Beta: true" (v2 cost centers are gated behind it)
	// repeatable marks a POST that is safe to send again after a 5xx or a
	// lost answer: asking for a token twice only yields a second token.
	repeatable bool
	// into, when set, is a buffer the answer's body is read into, reused
	// from call to call: a listing reads a quarter megabyte a page and
	// keeps none of it. The body is valid until the buffer's next use.
	into *[]byte
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// attemptOutcome is what send does after one attempt.
type attemptOutcome int

const (
	outcomeDone attemptOutcome = iota
	outcomeRetry
	outcomeReauth
	outcomeFail
)

// send performs a call with rate limiting, authentication, retries and
// back-off. It retries 429 for every method and 5xx and network failures
// for GET and repeatable calls only (another POST might have taken effect), waiting as long as a
// Retry-After asks; when the token is refused it fetches a new one once. It
// returns the first 2xx response, or an error.
func (c *Client) send(ctx context.Context, run *run, cl call) (response, error) {
	reauthed := false
	for attempt := 1; ; attempt++ {
		if err := c.limits.wait(ctx, cl.endpoint, c.cfg.Now, c.cfg.Sleep); err != nil {
			return response{}, err
		}
		token := ""
		if cl.auth {
			var err error
			if token, err = c.token(ctx, run); err != nil {
				return response{}, err
			}
		}
		started := c.cfg.Now()
		resp, err := c.attempt(ctx, cl, token)
		run.countCall(cl.endpoint, resp.status)
		if err == nil {
			c.limits.learn(cl.endpoint, resp.header, c.cfg.Now())
			if cl.auth {
				c.rotateToken(token, resp.header)
			}
		}
		outcome := classify(cl, resp, err, attempt, c.cfg.MaxAttempts, reauthed)
		c.observe(cl, resp.status, attempt, outcome == outcomeRetry || outcome == outcomeReauth, c.cfg.Now().Sub(started))
		switch outcome {
		case outcomeDone:
			return resp, nil
		case outcomeReauth:
			reauthed = true
			c.dropToken(token)
			run.stats.Retries++
			continue
		case outcomeFail:
			return response{}, c.failure(ctx, cl, resp, err, attempt)
		}
		run.stats.Retries++
		retryAfter, has := parseRetryAfter(resp.header, c.cfg.Now())
		if err := c.cfg.Sleep(ctx, c.backoff.delay(attempt, retryAfter, has)); err != nil {
			return response{}, fmt.Errorf("personio %s: wait before retry: %w", cl.endpoint, err)
		}
	}
}

// classify decides what follows an attempt.
func classify(cl call, resp response, err error, attempt, maxAttempts int, reauthed bool) attemptOutcome {
	idempotent := cl.method == http.MethodGet || cl.repeatable
	retryable := false
	switch {
	case err != nil:
		retryable = idempotent && !errors.Is(err, errCallerDone)
	case resp.status >= 200 && resp.status < 300:
		return outcomeDone
	case refusesToken(cl, resp.status) && !reauthed:
		return outcomeReauth
	case resp.status == http.StatusTooManyRequests:
		retryable = true
	case resp.status >= 500:
		retryable = idempotent
	}
	if retryable && attempt < maxAttempts {
		return outcomeRetry
	}
	return outcomeFail
}

// refusesToken reports whether an answer says the token is no good: 401,
// and on v1 also 403, which Personio's v1 examples pair with "Provided
// authorization is not valid".
func refusesToken(cl call, status int) bool {
	if !cl.auth {
		return false
	}
	return status == http.StatusUnauthorized || (status == http.StatusForbidden && strings.Contains(cl.endpoint, " /v1/"))
}

// errCallerDone marks a failed attempt whose cause is the caller's context,
// not the network: it must not be retried.
var errCallerDone = errors.New("caller context done")

// attempt sends one HTTP request under the per-attempt timeout and reads the
// whole body before the timeout is released.
func (c *Client) attempt(ctx context.Context, cl call, token string) (response, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, cl.url, body)
	if err != nil {
		return response{}, fmt.Errorf("build request: %w", err)
	}
	c.setHeaders(req, cl, token)
	res, err := c.http.Do(req)
	if err != nil {
		return response{}, c.transportError(ctx, err)
	}
	defer res.Body.Close()
	data, err := readBody(res, cl.into)
	if err != nil {
		return response{status: res.StatusCode, header: res.Header}, c.transportError(ctx, fmt.Errorf("read body: %w", err))
	}
	if len(data) > maxBodyBytes {
		return response{}, fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, maxBodyBytes)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}, nil
}

// readBody reads at most maxBodyBytes+1 bytes, into a buffer sized from
// Content-Length when the server sent one: a v1 page is a quarter megabyte,
// and growing a buffer to that size by doubling copies it over and over.
// With into it reads into that buffer, grown as needed, and leaves it
// there for the next call.
func readBody(res *http.Response, into *[]byte) ([]byte, error) {
	var buf []byte
	if into != nil {
		buf = (*into)[:0]
	}
	if n := res.ContentLength; n > 0 && n <= maxBodyBytes {
		// One byte more than announced, so that the read that finds the
		// end needs no room of its own.
		buf = slices.Grow(buf, int(n)+1)
	}
	limited := io.LimitReader(res.Body, maxBodyBytes+1)
	var err error
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(bytes.MinRead, cap(buf)))
		}
		var n int
		n, err = limited.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	if into != nil {
		*into = buf
	}
	if err == io.EOF {
		err = nil
	}
	return buf, err
}

func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", errCallerDone, ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: %w", c.cfg.Timeout, err)
	}
	return err
}

func (c *Client) setHeaders(req *http.Request, cl call, token string) {
	req.Header.Set("Accept", "application/json")
	if cl.contentType != "" {
		req.Header.Set("Content-Type", cl.contentType)
	}
	if c.cfg.PartnerID != "" {
		req.Header.Set("X-Personio-Partner-ID", c.cfg.PartnerID)
	}
	req.Header.Set("X-Personio-App-ID", c.cfg.AppID)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cl.beta {
		req.Header.Set("Beta", "true")
	}
}

// failure builds the error for an attempt that will not be retried.
func (c *Client) failure(ctx context.Context, cl call, resp response, err error, attempt int) error {
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("personio %s: %w", cl.endpoint, ctx.Err())
		}
		if attempt > 1 {
			return fmt.Errorf("personio %s: after %d attempts: %w", cl.endpoint, attempt, err)
		}
		return fmt.Errorf("personio %s: %w", cl.endpoint, err)
	}
	apiErr := newAPIError(cl.endpoint, resp.status, resp.body)
	apiErr.Attempts = attempt
	if refusesToken(cl, resp.status) {
		return fmt.Errorf("%w (a fresh token was refused too: the credential may lack the right or scope for this endpoint)", apiErr)
	}
	return apiErr
}

func (c *Client) observe(cl call, status, attempt int, retry bool, d time.Duration) {
	if c.cfg.OnRequest == nil {
		return
	}
	c.cfg.OnRequest(RequestEvent{Endpoint: cl.endpoint, Status: status, Attempt: attempt, Retry: retry, Duration: d})
}

// refuseForeignRedirects keeps the bearer token on Personio's host: a
// redirect elsewhere is an error, not a hop.
func refuseForeignRedirects(host string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !strings.EqualFold(req.URL.Host, host) {
			return fmt.Errorf("%w: redirect to %s refused", ErrForeignHost, req.URL.Host)
		}
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return nil
	}
}

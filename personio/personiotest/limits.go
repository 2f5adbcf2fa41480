package personiotest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// penaltyWindow is how long Personio punishes an auth client that went over
// its limit: v1 refuses everything for 60 s, v2 accepts 1 request/s.
const penaltyWindow = 60 * time.Second

// simLimits enforces Personio's rate limits per credential and endpoint
// class, against the simulator's clock.
type simLimits struct {
	v2      map[string]Bucket
	buckets map[string]*rate.Limiter
	penalty map[string]time.Time // key → end of the penalty window
	slow    map[string]*rate.Limiter
}

func newSimLimits(opts Options) *simLimits {
	return &simLimits{
		v2:      opts.V2Limits,
		buckets: map[string]*rate.Limiter{},
		penalty: map[string]time.Time{},
		slow:    map[string]*rate.Limiter{},
	}
}

// bucketFor is the published limit of a class: v1 auth 60/min, v1 employees
// 300/min in bursts of 15, v2 token 150/min, v2 endpoints per V2Limits or
// 10/s with bursts of 10.
func (l *simLimits) bucketFor(class string) Bucket {
	switch class {
	case "v1-auth":
		return Bucket{Rate: 1, Burst: 60}
	case "v1-employees":
		return Bucket{Rate: 5, Burst: 15}
	case "v1-other":
		return Bucket{Rate: 2000.0 / 60, Burst: 100}
	case "v2-token":
		return Bucket{Rate: 2.5, Burst: 150}
	}
	if b, ok := l.v2[class]; ok {
		return b
	}
	return Bucket{Rate: 10, Burst: 10}
}

// allow admits or refuses one request; for v2 endpoints it also returns the
// x-ratelimit-* headers a third-party client observed on Personio.
func (l *simLimits) allow(clientID, class string, now time.Time) (bool, map[string]string) {
	key := clientID + "\x00" + class
	b := l.bucketFor(class)
	lim, ok := l.buckets[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(b.Rate), b.Burst)
		l.buckets[key] = lim
	}
	if until, punished := l.penalty[key]; punished && now.Before(until) {
		return l.allowPenalized(key, class, now), nil
	}
	allowed := lim.AllowN(now, 1)
	if !allowed && (class == "v1-auth" || class == "v2-token") {
		l.penalty[key] = now.Add(penaltyWindow)
	}
	if !strings.HasPrefix(class, "GET /v2/") && !strings.HasPrefix(class, "PATCH /v2/") {
		return allowed, nil
	}
	return allowed, map[string]string{
		"X-Ratelimit-Replenish-Rate":   strconv.FormatFloat(b.Rate, 'f', -1, 64),
		"X-Ratelimit-Burst-Capacity":   strconv.Itoa(b.Burst),
		"X-Ratelimit-Requested-Tokens": "1",
		"X-Ratelimit-Remaining":        strconv.Itoa(max(0, int(lim.TokensAt(now)))),
	}
}

// allowPenalized: v1 auth refuses everything during the window, v2 token
// takes one request per second.
func (l *simLimits) allowPenalized(key, class string, now time.Time) bool {
	if class == "v1-auth" {
		return false
	}
	slow, ok := l.slow[key]
	if !ok {
		slow = rate.NewLimiter(1, 1)
		l.slow[key] = slow
	}
	return slow.AllowN(now, 1)
}

// limitClass names the bucket a request draws from.
func (s *Server) limitClass(r *http.Request) string {
	_, pattern := s.api.Handler(r)
	switch {
	case pattern == "GET /v1/company/employees" || pattern == "GET /v1/company/employees/{id}":
		return "v1-employees"
	case strings.Contains(pattern, " /v1/"):
		return "v1-other"
	}
	return pattern
}

// writeTooMany answers 429 in the version's error shape.
func (s *Server) writeTooMany(w http.ResponseWriter, r *http.Request, headers map[string]string) {
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	if s.opts.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.opts.RetryAfterSeconds))
	}
	if isV2(r) {
		writeProblem(w, http.StatusTooManyRequests, "Too Many Requests", "The rate limit for this endpoint was exceeded.")
		return
	}
	writeV1Error(w, http.StatusTooManyRequests, "Too Many Requests")
}

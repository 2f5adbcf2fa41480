package personio

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Endpoint templates: the keys of rate limiting, metrics and call counts.
const (
	endpointV1Auth       = "POST /v1/auth"
	endpointV1Employees  = "GET /v1/company/employees"
	endpointV1Employee   = "GET /v1/company/employees/{id}"
	endpointV1Attributes = "GET /v1/company/employees/attributes"
	endpointV2Token      = "POST /v2/auth/token"
	endpointV2Persons    = "GET /v2/persons"
	endpointV2Person     = "GET /v2/persons/{id}"
	endpointV2Employment = "GET /v2/persons/{id}/employments"
	endpointV2OrgUnits   = "GET /v2/org-units"
	endpointV2Legal      = "GET /v2/legal-entities"
	endpointV2CostCenter = "GET /v2/cost-centers"
	endpointV2Workplaces = "GET /v2/workplaces"
)

// perMinute builds a limiter that never lets more than n requests through in
// any 60-second window: the burst plus what refills in a minute is n.
func perMinute(n, burst int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(n-burst)/60), burst)
}

// limits keeps the client under Personio's published rates: v1 employees
// 300/min with bursts of 15, v1 auth 60/min, every v1 endpoint 2000/min per
// caller, v2 token 150/min, and each v2 endpoint at the rate its
// x-ratelimit-* headers announce.
type limits struct {
	off         bool
	v1All       *rate.Limiter
	v1Auth      *rate.Limiter
	v1Employees *rate.Limiter
	v2Token     *rate.Limiter

	mu      sync.Mutex
	v2      map[string]*rate.Limiter
	v2Rate  rate.Limit
	v2Burst int
}

func newLimits(cfg Config) *limits {
	return &limits{
		off:         cfg.NoRateLimit,
		v1All:       perMinute(2000, 15),
		v1Auth:      perMinute(60, 1),
		v1Employees: perMinute(300, 15),
		v2Token:     perMinute(150, 1),
		v2:          map[string]*rate.Limiter{},
		v2Rate:      rate.Limit(cfg.V2Rate),
		v2Burst:     cfg.V2Burst,
	}
}

// forEndpoint lists the limiters a request to endpoint must pass.
func (l *limits) forEndpoint(endpoint string) []*rate.Limiter {
	switch endpoint {
	case endpointV1Auth:
		return []*rate.Limiter{l.v1All, l.v1Auth}
	case endpointV1Employees, endpointV1Employee:
		return []*rate.Limiter{l.v1All, l.v1Employees}
	case endpointV2Token:
		return []*rate.Limiter{l.v2Token}
	}
	if strings.Contains(endpoint, " /v1/") {
		return []*rate.Limiter{l.v1All}
	}
	return []*rate.Limiter{l.v2Endpoint(endpoint)}
}

func (l *limits) v2Endpoint(endpoint string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.v2[endpoint]
	if !ok {
		lim = rate.NewLimiter(l.v2Rate, l.v2Burst)
		l.v2[endpoint] = lim
	}
	return lim
}

// wait blocks until every limiter of endpoint allows one more request. It
// reserves against the injected clock and sleeps with the injected sleeper,
// so tests run through minutes of limits in no time.
func (l *limits) wait(ctx context.Context, endpoint string, now func() time.Time,
	sleep func(context.Context, time.Duration) error) error {
	if l.off {
		return nil
	}
	t := now()
	var longest time.Duration
	var reservations []*rate.Reservation
	for _, lim := range l.forEndpoint(endpoint) {
		r := lim.ReserveN(t, 1)
		if !r.OK() {
			cancelAll(reservations, t)
			return fmt.Errorf("rate limiter for %s cannot admit a request", endpoint)
		}
		reservations = append(reservations, r)
		longest = max(longest, r.DelayFrom(t))
	}
	if longest <= 0 {
		return nil
	}
	if err := sleep(ctx, longest); err != nil {
		cancelAll(reservations, now())
		return fmt.Errorf("wait for rate limit of %s: %w", endpoint, err)
	}
	return nil
}

func cancelAll(rs []*rate.Reservation, t time.Time) {
	for _, r := range rs {
		r.CancelAt(t)
	}
}

// learn adopts the bucket a v2 endpoint announces in its x-ratelimit-*
// headers (replenish rate per second, burst capacity, tokens remaining).
// Personio does not document them [UNCONFIRMED]; without them the
// configured default stays.
func (l *limits) learn(endpoint string, h http.Header, t time.Time) {
	if l.off || !strings.Contains(endpoint, " /v2/") || endpoint == endpointV2Token {
		return
	}
	replenish, err1 := strconv.ParseFloat(h.Get("X-Ratelimit-Replenish-Rate"), 64)
	burst, err2 := strconv.Atoi(h.Get("X-Ratelimit-Burst-Capacity"))
	if err1 != nil || err2 != nil || replenish <= 0 || burst < 1 {
		return
	}
	lim := rate.NewLimiter(rate.Limit(replenish), burst)
	if remaining, err := strconv.Atoi(h.Get("X-Ratelimit-Remaining")); err == nil && remaining >= 0 && remaining < burst {
		lim.ReserveN(t, burst-remaining) // start as empty as the server's bucket
	}
	l.mu.Lock()
	l.v2[endpoint] = lim
	l.mu.Unlock()
}

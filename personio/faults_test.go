package personio_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// listPath is the path of the person listing of a version.
func listPath(v personio.APIVersion) string {
	if v == personio.APIv1 {
		return "/v1/company/employees"
	}
	return "/v2/persons"
}

func authPath(v personio.APIVersion) string {
	if v == personio.APIv1 {
		return "/v1/auth"
	}
	return "/v2/auth/token"
}

// TestFaultsFailClearly: every malformed or cut answer ends the fetch with
// a clear error and no records; nothing is retried that should not be.
func TestFaultsFailClearly(t *testing.T) {
	type tc struct {
		name    string
		fault   func(v personio.APIVersion) personiotest.Fault
		want    error
		retries int
	}
	tests := []tc{
		{"garbage on page 2", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 1, Garbage: true}
		}, personio.ErrMalformed, 0},
		{"garbage on the first page", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), Garbage: true}
		}, personio.ErrMalformed, 0},
		{"empty page in the middle", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 1, Empty: true}
		}, personio.ErrTruncated, 0},
		{"empty first page that announces more", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), Empty: true}
		}, personio.ErrTruncated, 0},
		{"429 storm beyond the attempts", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 1, Status: 429, Count: 10}
		}, personio.ErrRateLimited, 5},
		{"502 that does not go away", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), Status: 502, Count: -1}
		}, nil, 5},
		{"404 on the listing", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), Status: 404}
		}, personio.ErrNotFound, 0},
		{"503 on authentication that does not go away", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: authPath(v), Status: 503, Count: -1}
		}, personio.ErrAuth, 5},
		{"attribute missing on page 2", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 1, DropAttributes: []string{"first_name"}}
		}, personio.ErrMissingAttribute, 0},
	}
	v1Only := []tc{
		{"total changes on every page after the first", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v1/company/employees", After: 1, TotalDelta: -3, Count: -1}
		}, personio.ErrCountMismatch, 0},
		{"total short by a whole page", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v1/company/employees", TotalDelta: -100, Count: -1}
		}, personio.ErrCountMismatch, 0},
		{"total long by two whole pages", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v1/company/employees", TotalDelta: 200, Count: -1}
		}, personio.ErrTruncated, 0},
	}
	v2Only := []tc{
		{"next link points at the page itself", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons", After: 1, SelfNext: true}
		}, personio.ErrCursorLoop, 0},
		{"new cursor serving the same page", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons", After: 2, CursorLoop: true}
		}, personio.ErrCursorLoop, 0},
		{"next link to a foreign host", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons", After: 1, ForeignNext: true}
		}, personio.ErrForeignHost, 0},
		{"garbage on one person's employments", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons/", After: 17, Garbage: true}
		}, personio.ErrMalformed, 0},
		{"empty employments page", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons/", After: 3, Empty: true}
		}, personio.ErrTruncated, 0},
		{"lookup answering 500", func(personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/org-units", Status: 500, Count: -1}
		}, nil, 5},
	}
	run := func(t *testing.T, v personio.APIVersion, tt tc) {
		srv := startSim(t, personiotest.Options{Employees: 230})
		srv.InjectFault(tt.fault(v))
		c, _ := newClient(t, srv, v, nil)
		got, stats, err := c.FetchAll(context.Background())
		if err == nil {
			t.Fatalf("fetch succeeded with %d records", len(got))
		}
		if got != nil {
			t.Errorf("an error came with %d records", len(got))
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("error %v, want %v", err, tt.want)
		}
		if stats.Retries != tt.retries {
			t.Errorf("retries = %d, want %d (error %v)", stats.Retries, tt.retries, err)
		}
	}
	for _, v := range versions() {
		cases := append(append([]tc(nil), tests...), v2Only...)
		if v == personio.APIv1 {
			cases = append(append([]tc(nil), tests...), v1Only...)
		}
		for _, tt := range cases {
			t.Run(string(v)+" "+tt.name, func(t *testing.T) { run(t, v, tt) })
		}
	}
}

// TestFaultsRecover: transient failures are retried and the fetch ends
// complete.
func TestFaultsRecover(t *testing.T) {
	tests := []struct {
		name             string
		fault            func(v personio.APIVersion) personiotest.Fault
		retries, limited int
		auths            int
	}{
		{"three 429 in a row", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 1, Status: 429, Count: 3}
		}, 3, 3, 1},
		{"two 500 on a page", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 2, Status: 500, Count: 2}
		}, 2, 0, 1},
		{"503 once", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), Status: 503}
		}, 1, 0, 1},
		{"429 on authentication", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: authPath(v), Status: 429, Count: 2}
		}, 2, 2, 3},
		{"503 on authentication", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: authPath(v), Status: 503, Count: 2}
		}, 2, 0, 3},
		{"401 once: re-authenticate", func(v personio.APIVersion) personiotest.Fault {
			return personiotest.Fault{Path: listPath(v), After: 1, Status: 401}
		}, 1, 0, 2},
	}
	for _, v := range versions() {
		for _, tt := range tests {
			t.Run(string(v)+" "+tt.name, func(t *testing.T) {
				srv := startSim(t, personiotest.Options{Employees: 230})
				srv.InjectFault(tt.fault(v))
				c, sleeper := newClient(t, srv, v, nil)
				got, stats, err := c.FetchAll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if err := sameRecords(got, srv.Records()); err != nil {
					t.Error(err)
				}
				if stats.Retries != tt.retries || stats.RateLimited != tt.limited || stats.AuthCalls != tt.auths {
					t.Errorf("stats %+v: want %d retries, %d 429s, %d auth calls", stats, tt.retries, tt.limited, tt.auths)
				}
				for i, d := range sleeper.recorded() {
					low := time.Second << i
					if d < low || d > low+low/2 {
						t.Errorf("back-off %d = %s, want within [%s, %s]", i+1, d, low, low+low/2)
					}
				}
			})
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 20})
			srv.InjectFault(personiotest.Fault{Path: listPath(v), Status: 429, RetryAfter: 7})
			c, sleeper := newClient(t, srv, v, nil)
			if _, _, err := c.FetchAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := sleeper.recorded(); len(got) != 1 || got[0] != 7*time.Second {
				t.Errorf("sleeps = %v, want [7s]", got)
			}
		})
	}
}

func TestV1ForbiddenTokenReauthenticates(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 20, V1InvalidTokenStatus: http.StatusForbidden})
	c, _ := newClient(t, srv, personio.APIv1, nil)
	if _, _, err := c.FetchAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Advance(25 * time.Hour) // the token expires on the server; the client's clock has not moved
	got, stats, err := c.FetchAll(context.Background())
	if err != nil || len(got) != 20 || stats.AuthCalls != 1 || stats.Retries != 1 {
		t.Errorf("after expiry: %d records, stats %+v, %v; want a second token after one 403", len(got), stats, err)
	}
}

// TestSlowAnswers: an answer slower than the timeout is a failed attempt,
// retried for GET; one that stays slow ends the fetch.
func TestSlowAnswers(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 20})
			srv.InjectFault(personiotest.Fault{Path: listPath(v), DelayMS: 400})
			c, _ := newClient(t, srv, v, func(c *personio.Config) { c.Timeout = 100 * time.Millisecond })
			got, stats, err := c.FetchAll(context.Background())
			if err != nil || len(got) != 20 || stats.Retries != 1 {
				t.Fatalf("one slow answer: %d records, stats %+v, %v", len(got), stats, err)
			}
			srv.InjectFault(personiotest.Fault{Path: listPath(v), DelayMS: 400, Count: 2})
			c, _ = newClient(t, srv, v, func(c *personio.Config) { c.Timeout = 100 * time.Millisecond; c.MaxAttempts = 2 })
			got, _, err = c.FetchAll(context.Background())
			if !errors.Is(err, context.DeadlineExceeded) || got != nil || !strings.Contains(err.Error(), "no answer within") {
				t.Errorf("slow answers: %d records, %v; want none and a timeout", len(got), err)
			}
		})
	}
}

// TestCancelStopsWaiting: cancelling the context during a back-off ends the
// fetch at once with the context's error.
func TestCancelStopsWaiting(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 20})
			srv.InjectFault(personiotest.Fault{Path: listPath(v), Status: 429, RetryAfter: 3600, Count: -1})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, _ := newClient(t, srv, v, func(c *personio.Config) {
				c.Sleep = func(ctx context.Context, d time.Duration) error {
					cancel() // the operator gives up while the client waits
					<-ctx.Done()
					return ctx.Err()
				}
			})
			got, _, err := c.FetchAll(ctx)
			if !errors.Is(err, context.Canceled) || got != nil {
				t.Errorf("cancelled during back-off: %d records, %v", len(got), err)
			}
		})
	}
}

// TestTotalChangeRestarts: a total that moves between pages restarts the
// listing, up to MaxRestarts times; with the error policy it fails at once.
func TestTotalChangeRestarts(t *testing.T) {
	tests := []struct {
		name         string
		fault        personiotest.Fault
		policy       personio.TotalChangePolicy
		wantErr      error
		wantRestarts int
	}{
		{"someone hired during the listing", personiotest.Fault{Path: "/v1/company/employees", After: 1, Hire: true}, "", nil, 1},
		{"shrinks once", personiotest.Fault{Path: "/v1/company/employees", After: 2, TotalDelta: -2}, "", nil, 1},
		{"someone hired during every listing", personiotest.Fault{Path: "/v1/company/employees", After: 1, Hire: true, Count: -1},
			"", personio.ErrTotalChanged, 3},
		{"error policy", personiotest.Fault{Path: "/v1/company/employees", After: 1, TotalDelta: 2},
			personio.TotalChangeError, personio.ErrTotalChanged, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 230})
			srv.InjectFault(tt.fault)
			c, _ := newClient(t, srv, personio.APIv1, func(c *personio.Config) { c.TotalChange = tt.policy })
			got, stats, err := c.FetchAll(context.Background())
			if stats.Restarts != tt.wantRestarts {
				t.Errorf("restarts = %d, want %d", stats.Restarts, tt.wantRestarts)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Errorf("%d records, %v; want %v", len(got), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, srv.Records()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestOffsetMismatchIsTruncation: a client counting records against a
// server counting pages runs into empty pages and says so.
func TestOffsetMismatchIsTruncation(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 230, V1OffsetPages: true})
	c, _ := newClient(t, srv, personio.APIv1, nil)
	if got, _, err := c.FetchAll(context.Background()); !errors.Is(err, personio.ErrTruncated) || got != nil {
		t.Errorf("record offsets against page offsets: %d records, %v; want ErrTruncated", len(got), err)
	}
}

package personio_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

func TestUpdatePerson(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		version personio.APIVersion
		update  func(recs []personio.Record) personio.PersonUpdate
		status  int  // accepted: Personio's status
		refused bool // a WriteRefusedError
		calls   int  // PATCH requests sent
		check   func(t *testing.T, before, after personio.Record)
	}{
		{"v1 custom attribute", personio.APIv1,
			func([]personio.Record) personio.PersonUpdate {
				return personio.PersonUpdate{Custom: map[string]string{"dynamic_1002": "j.gross"}}
			}, http.StatusOK, false, 1,
			func(t *testing.T, _, after personio.Record) {
				if after.Custom["dynamic_1002"].Value != "j.gross" {
					t.Errorf("custom attribute is %q", after.Custom["dynamic_1002"].Value)
				}
			}},
		{"v1 email refused before sending", personio.APIv1,
			func([]personio.Record) personio.PersonUpdate {
				return personio.PersonUpdate{Email: "new@alpenwerk.example"}
			},
			0, true, 0, unchangedEmail},
		{"v1 unknown custom attribute ignored by Personio", personio.APIv1,
			func([]personio.Record) personio.PersonUpdate {
				return personio.PersonUpdate{Custom: map[string]string{"dynamic_4711": "x"}}
			}, 0, true, 1, nil},
		{"v2 email and custom attribute", personio.APIv2,
			func([]personio.Record) personio.PersonUpdate {
				return personio.PersonUpdate{Email: "juergen.gross@alpenwerk.example", Custom: map[string]string{"dynamic_1002": "jgross"}}
			}, http.StatusNoContent, false, 1,
			func(t *testing.T, _, after personio.Record) {
				if after.Email != "juergen.gross@alpenwerk.example" || after.Custom["dynamic_1002"].Value != "jgross" {
					t.Errorf("after write: email %q, custom %q", after.Email, after.Custom["dynamic_1002"].Value)
				}
			}},
		{"v2 duplicate email refused", personio.APIv2,
			func(recs []personio.Record) personio.PersonUpdate { return personio.PersonUpdate{Email: recs[1].Email} },
			0, true, 1, unchangedEmail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 5})
			c, _ := newClient(t, srv, tc.version, nil)
			recs := srv.Records()
			res, err := c.UpdatePerson(ctx, recs[0].ID, tc.update(recs))
			if tc.refused {
				var refused *personio.WriteRefusedError
				if !errors.As(err, &refused) || !errors.Is(err, personio.ErrWriteRefused) || refused.Message == "" {
					t.Fatalf("err %v, want a WriteRefusedError with Personio's reason", err)
				}
			} else if err != nil || res.Status != tc.status {
				t.Fatalf("result %+v, %v; want status %d", res, err, tc.status)
			}
			calls := srv.Calls("PATCH /v1/company/employees/{id}") + srv.Calls("PATCH /v2/persons/{id}")
			if calls != tc.calls {
				t.Errorf("%d PATCH requests, want %d", calls, tc.calls)
			}
			if tc.check != nil {
				after, _ := srv.Record(recs[0].ID)
				tc.check(t, recs[0], after)
			}
		})
	}
}

func unchangedEmail(t *testing.T, before, after personio.Record) {
	if after.Email != before.Email {
		t.Errorf("email changed to %q", after.Email)
	}
}

func TestUpdatePersonRetriesAndFailures(t *testing.T) {
	ctx := context.Background()
	srv := startSim(t, personiotest.Options{Employees: 2})
	c, sleeper := newClient(t, srv, personio.APIv2, nil)
	id := srv.Records()[0].ID
	srv.InjectFault(personiotest.Fault{Path: "/v2/persons/" + id, Status: http.StatusTooManyRequests})
	if _, err := c.UpdatePerson(ctx, id, personio.PersonUpdate{Custom: map[string]string{"dynamic_1002": "a"}}); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	if got := sleeper.recorded(); len(got) != 1 || got[0] < 1e9 {
		t.Errorf("waits %v: want one back-off of at least a second after the 429", got)
	}
	srv.InjectFault(personiotest.Fault{Path: "/v2/persons/" + id, Status: http.StatusBadGateway})
	_, err := c.UpdatePerson(ctx, id, personio.PersonUpdate{Custom: map[string]string{"dynamic_1002": "b"}})
	if err == nil || errors.Is(err, personio.ErrWriteRefused) {
		t.Errorf("502: %v, want a plain error to retry later, not a refusal", err)
	}
	if got := srv.Calls("PATCH /v2/persons/{id}"); got != 3 {
		t.Errorf("%d PATCH requests, want 3: a PATCH that may have landed is not repeated on 5xx", got)
	}
	if _, err := c.UpdatePerson(ctx, id, personio.PersonUpdate{Custom: map[string]string{"first_name": "x"}}); err == nil {
		t.Error("a standard field as custom attribute was accepted")
	}
}

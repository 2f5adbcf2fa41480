package personio_test

import (
	"context"
	"slices"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

func TestProgressReports(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 230})
	var reports []personio.Progress
	c, _ := newClient(t, srv, personio.APIv1, func(c *personio.Config) {
		c.OnProgress = func(p personio.Progress) { reports = append(reports, p) }
	})
	if _, _, err := c.FetchAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []personio.Progress{
		{Phase: "employees", Pages: 1, Records: 100, Total: 230},
		{Phase: "employees", Pages: 2, Records: 200, Total: 230},
		{Phase: "employees", Pages: 3, Records: 230, Total: 230},
	}
	if !slices.Equal(reports, want) {
		t.Errorf("v1 progress = %v, want %v", reports, want)
	}

	reports = nil
	c, _ = newClient(t, srv, personio.APIv2, func(c *personio.Config) {
		c.OnProgress = func(p personio.Progress) { reports = append(reports, p) }
	})
	if _, _, err := c.FetchAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := reports[len(reports)-1]
	if reports[0].Phase != "persons" || reports[0].Records != 50 || last.Phase != "employments" || last.Records != 230 || last.Total != 230 {
		t.Errorf("v2 progress: first %+v, last %+v", reports[0], last)
	}
}

func TestRequestObserver(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 20})
	srv.InjectFault(personiotest.Fault{Path: "/v1/company/employees", Status: 429})
	var events []personio.RequestEvent
	c, _ := newClient(t, srv, personio.APIv1, func(c *personio.Config) {
		c.OnRequest = func(e personio.RequestEvent) {
			e.Duration = 0
			events = append(events, e)
		}
	})
	if _, _, err := c.FetchAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []personio.RequestEvent{
		{Endpoint: "POST /v1/auth", Status: 200, Attempt: 1},
		{Endpoint: "GET /v1/company/employees", Status: 429, Attempt: 1, Retry: true},
		{Endpoint: "GET /v1/company/employees", Status: 200, Attempt: 2},
	}
	if !slices.Equal(events, want) {
		t.Errorf("events = %+v, want %+v", events, want)
	}
}

package personio_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

func TestCustomAttributesByLabelResolveWhenFetching(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: -1})
			id, err := srv.Hire(personiotest.Attrs{"first_name": "Jürgen", "last_name": "Groß", "hire_date": "2024-02-01",
				"status": "active", "dynamic_1002": "jgross", "dynamic_1003": "4711"})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := newClient(t, srv, v, func(cfg *personio.Config) {
				cfg.Attributes = personio.StandardFields()
				cfg.CustomLabels = []string{"GitHub-Benutzername"}
			})
			for name, fetch := range map[string]func() (personio.Record, error){
				"all": func() (personio.Record, error) {
					recs, _, err := c.FetchAll(context.Background())
					if err != nil || len(recs) != 1 {
						return personio.Record{}, errors.Join(err, errors.New("want one record"))
					}
					return recs[0], nil
				},
				"one": func() (personio.Record, error) { return c.FetchOne(context.Background(), id) },
			} {
				rec, err := fetch()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, ok := rec.Custom["dynamic_1002"]
				if !ok || got.Value != "jgross" || got.Label != "GitHub-Benutzername" {
					t.Errorf("%s: dynamic_1002 = %+v (present %v), want the value under its label", name, got, ok)
				}
				if _, ok := rec.Custom["dynamic_1003"]; ok {
					t.Errorf("%s: an attribute the configuration does not name was kept", name)
				}
			}
		})
	}
}

func TestUnknownCustomLabelFailsTheFetchNamingIt(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 3})
	c, _ := newClient(t, srv, personio.APIv1, func(cfg *personio.Config) {
		cfg.Attributes = personio.StandardFields()
		cfg.CustomLabels = []string{"GitHub-Benutzername", "Language"}
	})
	_, _, err := c.FetchAll(context.Background())
	if !errors.Is(err, personio.ErrUnknownLabel) || !strings.Contains(err.Error(), `"Language"`) || strings.Contains(err.Error(), `"GitHub-Benutzername"`) {
		t.Fatalf("err = %v, want ErrUnknownLabel naming only the unknown label", err)
	}
}

func TestAllCustomAttributesThroughTheListing(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: -1})
	if _, err := srv.Hire(personiotest.Attrs{"first_name": "Anna", "last_name": "Schmidt", "hire_date": "2024-02-01",
		"status": "active", "dynamic_1002": "aschmidt", "dynamic_9001": "DE02120300000000202051"}); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, srv, personio.APIv1, func(cfg *personio.Config) {
		cfg.Attributes = personio.StandardFields()
		cfg.AllCustom = true
	})
	recs, _, err := c.FetchAll(context.Background())
	if err != nil || len(recs) != 1 {
		t.Fatalf("fetch: %v, %d records", err, len(recs))
	}
	if got := recs[0].Custom["dynamic_1002"].Value; got != "aschmidt" {
		t.Errorf("dynamic_1002 = %q, want it kept", got)
	}
	if _, ok := recs[0].Custom["dynamic_9001"]; ok {
		t.Error("the IBAN was kept")
	}
}

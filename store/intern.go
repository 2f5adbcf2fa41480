package store

import "unique"

// repeatsAcrossPeople says whether a source-record field's values repeat
// across people (a department, a status, a start date), so that the
// directory keeps one copy of each value instead of one per person.
func repeatsAcrossPeople(field string) bool {
	switch field {
	case "status", "hire_date", "termination_date", "last_working_day", "contract_end_date", "position",
		"department", "office", "team", "legal_entity", "cost_centers", "employment_type":
		return true
	}
	return false
}

// Intern makes an identity about to be kept share its strings: values that
// repeat across people are kept once for everyone, and values that repeat
// within the person (the Personio id as externalId and employeeNumber, the
// email as userName) once for the person. The directory interns what it
// holds; a backend that keeps its own states and hands them to the directory
// (ApplyResult.Shared) interns them first. It writes to i and replaces its
// Source map, so only an identity nobody else can see yet may be passed.
func Intern(i *Identity) {
	a := &i.Attributes
	for _, s := range []*string{&a.Title, &a.UserType, &a.PreferredLanguage, &a.Locale, &a.Timezone,
		&a.Department, &a.Organization, &a.CostCenter, &a.Division} {
		*s = internString(*s)
	}
	l := &i.Lifecycle
	l.State = LifecycleState(internString(string(l.State)))
	for _, s := range []*string{&l.HireDate, &l.EndDate, &l.InactiveSince, &l.RemoveAfter, &l.Rule} {
		*s = internString(*s)
	}
	own := []string{i.PersonioID, a.UserName, a.GivenName, a.FamilyName, a.NickName, a.DisplayName}
	for _, s := range []*string{&a.ExternalID, &a.EmployeeNumber, &a.Email} {
		*s = sameAs(*s, own)
	}
	if i.Source != nil {
		src := make(map[string]string, len(i.Source))
		for k, v := range i.Source {
			if repeatsAcrossPeople(k) {
				v = internString(v)
			} else {
				v = sameAs(v, own)
			}
			src[internString(k)] = v
		}
		i.Source = src
	}
}

// sameAs returns the copy of s among candidates, or s.
func sameAs(s string, candidates []string) string {
	for _, c := range candidates {
		if c == s {
			return c
		}
	}
	return s
}

func internString(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

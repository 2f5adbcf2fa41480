// Package personio reads people from Personio (API v1 and v2) and normalizes
// them into Records, the only shape the rest of the service sees.
package personio

import (
	"fmt"
	"time"
)

// Record is one Personio person, normalized across API versions and reduced
// to the attributes the mapping can use. Salary, bank and similar fields
// never reach it.
type Record struct {
	ID              string // Personio person id, e.g. "1234"
	FirstName       string
	LastName        string
	PreferredName   string
	Email           string
	Status          string // lower case: "active", "onboarding", "leave", "inactive"
	HireDate        Date
	TerminationDate Date
	LastWorkingDay  Date
	ContractEndDate Date
	Position        string
	Department      string
	Office          string
	Team            string
	LegalEntity     string
	CostCenters     []string // names, in Personio's order
	SupervisorID    string   // Personio id of the supervisor, "" if none
	EmploymentType  string   // "internal" or "external"
	// Custom holds custom attributes (dynamic_N) by key.
	Custom    map[string]CustomAttribute
	UpdatedAt time.Time // Personio's last modification, UTC; zero if unknown
}

// CustomAttribute is a company-defined attribute with its label as shown in
// Personio, its value rendered as text.
type CustomAttribute struct {
	Label string
	Value string
}

// Date is a calendar date without a time zone: the day Personio means, in
// the company's time zone. The zero Date means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// String formats the date as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return DateOf(t)
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, day := t.Date()
	return Date{Year: y, Month: m, Day: day}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse date: want YYYY-MM-DD")
	}
	return DateOf(t), nil
}

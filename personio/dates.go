package personio

import (
	"fmt"
	"strings"
	"time"
)

// Layouts Personio uses for date-times. time.Parse accepts a fractional
// second after the seconds field even where the layout has none, so
// "2014-11-08T23:00:00.000Z" matches the first one.
const (
	layoutColonOffset = "2006-01-02T15:04:05Z07:00" // 2014-11-09T00:00:00+01:00, ...Z
	layoutPlainOffset = "2006-01-02T15:04:05Z0700"  // 2012-02-01T00:00:00+0100
	layoutNoZone      = "2006-01-02T15:04:05"       // updated_since examples
)

// parseCalendarDate returns the calendar day a Personio date value means.
//
// v1 sends dates as the company's local midnight with its offset
// ("2014-11-09T00:00:00+01:00" or "+0100"); the day is read in that offset,
// never after converting to UTC, which would give the 8th. Older payloads
// sent the same instant in UTC ("2014-11-08T23:00:00.000Z"); such a value is
// moved into the company zone first, unless it is exactly midnight UTC,
// which can only be a day written in UTC. v2 sends bare YYYY-MM-DD.
// The empty string means "not set".
func parseCalendarDate(s string, zone *time.Location) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	if len(s) == len(time.DateOnly) {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Date{}, fmt.Errorf("parse date: want YYYY-MM-DD")
		}
		return DateOf(t), nil
	}
	t, hasZone, err := parseDateTime(s)
	if err != nil {
		return Date{}, err
	}
	if hasZone && isUTCInstantOfLocalMidnight(t) {
		t = t.In(zone)
	}
	return DateOf(t), nil
}

// isUTCInstantOfLocalMidnight reports whether t carries a zero offset but is
// not midnight, the sign of a local midnight written as a UTC instant.
func isUTCInstantOfLocalMidnight(t time.Time) bool {
	if _, offset := t.Zone(); offset != 0 {
		return false
	}
	return t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0
}

// parseTimestamp reads a Personio date-time (created_at, last_modified_at,
// updated_at) and returns it in UTC. A value without zone is taken to be in
// the company's zone.
func parseTimestamp(s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, hasZone, err := parseDateTime(s)
	if err != nil {
		return time.Time{}, err
	}
	if !hasZone {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), zone)
	}
	return t.UTC(), nil
}

// parseDateTime tries the layouts Personio uses and reports whether the value
// carried a zone.
func parseDateTime(s string) (time.Time, bool, error) {
	for _, layout := range []string{layoutColonOffset, layoutPlainOffset} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true, nil
		}
	}
	if t, err := time.Parse(layoutNoZone, s); err == nil {
		return t, false, nil
	}
	// The value stays out of the message: it may be a person's date.
	return time.Time{}, false, fmt.Errorf("parse date-time of %d characters: unknown format", len(s))
}

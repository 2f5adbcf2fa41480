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

// fastCalendarDate is parseCalendarDate of a raw JSON value for the forms
// Personio sends every day: null, "YYYY-MM-DD", and a local midnight
// "YYYY-MM-DDT00:00:00+01:00". time.Parse costs more than the rest of an
// employee's attributes together; anything else (ok false) is left to it.
func fastCalendarDate(raw []byte) (Date, bool) {
	if string(raw) == "null" {
		return Date{}, true
	}
	if len(raw) == len(`"2006-01-02"`) && raw[0] == '"' && raw[len(raw)-1] == '"' {
		y, m, d, ok := fastDay(raw[1 : len(raw)-1])
		return Date{Year: y, Month: m, Day: d}, ok
	}
	y, m, d, secs, offset, ok := fastDateTime(raw)
	// A zero offset other than midnight is a UTC instant, to be moved into
	// the company zone; that is left to parseCalendarDate.
	if !ok || offset == 0 && secs != 0 {
		return Date{}, false
	}
	return Date{Year: y, Month: m, Day: d}, true
}

// fastTimestamp is parseTimestamp of a raw JSON value for null and
// "YYYY-MM-DDTHH:MM:SS" with a zone (Z, ±HH:MM or ±HHMM); anything else
// (ok false) is left to parseTimestamp.
func fastTimestamp(raw []byte) (time.Time, bool) {
	if string(raw) == "null" {
		return time.Time{}, true
	}
	y, m, d, secs, offset, ok := fastDateTime(raw)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, m, d, 0, 0, secs-offset, 0, time.UTC), true
}

// fastDateTime reads a JSON string "YYYY-MM-DDTHH:MM:SS" followed by Z,
// ±HH:MM or ±HHMM, checking the ranges time.Parse checks. secs is the
// time of day in seconds, offset the zone's in seconds east of UTC.
func fastDateTime(raw []byte) (y int, m time.Month, d, secs, offset int, ok bool) {
	const dateTime = len("2006-01-02T15:04:05")
	if len(raw) < dateTime+3 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return 0, 0, 0, 0, 0, false
	}
	s := raw[1 : len(raw)-1]
	if y, m, d, ok = fastDay(s[:10]); !ok || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, 0, 0, 0, 0, false
	}
	hh, ok1 := digits2(s[11:13])
	mm, ok2 := digits2(s[14:16])
	ss, ok3 := digits2(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return 0, 0, 0, 0, 0, false
	}
	secs = (hh*60+mm)*60 + ss
	zone := s[dateTime:]
	var zh, zm int
	switch {
	case len(zone) == 1 && zone[0] == 'Z':
		return y, m, d, secs, 0, true
	case len(zone) == 6 && zone[3] == ':':
		zh, ok1 = digits2(zone[1:3])
		zm, ok2 = digits2(zone[4:6])
	case len(zone) == 5:
		zh, ok1 = digits2(zone[1:3])
		zm, ok2 = digits2(zone[3:5])
	default:
		return 0, 0, 0, 0, 0, false
	}
	if !ok1 || !ok2 || zh > 24 || zm > 60 {
		return 0, 0, 0, 0, 0, false
	}
	offset = (zh*60 + zm) * 60
	switch zone[0] {
	case '+':
	case '-':
		offset = -offset
	default:
		return 0, 0, 0, 0, 0, false
	}
	return y, m, d, secs, offset, true
}

// fastDay reads YYYY-MM-DD with a day that exists.
func fastDay(s []byte) (int, time.Month, int, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	hi, ok1 := digits2(s[0:2])
	lo, ok2 := digits2(s[2:4])
	m, ok3 := digits2(s[5:7])
	d, ok4 := digits2(s[8:10])
	y := hi*100 + lo
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return 0, 0, 0, false
	}
	return y, time.Month(m), d, true
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + int((m+m/8)%2)
}

func digits2(s []byte) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

package personio

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func TestParseCalendarDate(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	newYork := mustZone(t, "America/New_York")
	tests := []struct {
		in   string
		zone *time.Location
		want string
	}{
		{"2014-11-09T00:00:00+01:00", berlin, "2014-11-09"},
		{"2012-02-01T00:00:00+0100", berlin, "2012-02-01"},
		{"2021-07-01T00:00:00+02:00", berlin, "2021-07-01"},
		// Local midnight written as a UTC instant: the day is Berlin's.
		{"2014-11-08T23:00:00.000Z", berlin, "2014-11-09"},
		{"2021-06-30T22:00:00Z", berlin, "2021-07-01"},
		// Midnight UTC can only be a day written in UTC, whatever the zone.
		{"2014-11-09T00:00:00Z", berlin, "2014-11-09"},
		{"2014-11-09T00:00:00Z", newYork, "2014-11-09"},
		{"2014-11-09T05:00:00Z", newYork, "2014-11-09"},
		// The offset given wins over the company zone.
		{"2014-11-09T00:00:00-05:00", berlin, "2014-11-09"},
		{"2014-11-09T00:00:00+09:00", berlin, "2014-11-09"},
		{"2014-11-09", berlin, "2014-11-09"},
		{"2014-11-09T00:00:00", berlin, "2014-11-09"},
		{" 2014-11-09 ", berlin, "2014-11-09"},
		{"", berlin, ""},
		{"2024-02-29", berlin, "2024-02-29"},
	}
	for _, tt := range tests {
		got, err := parseCalendarDate(tt.in, tt.zone)
		if err != nil {
			t.Errorf("parseCalendarDate(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("parseCalendarDate(%q, %s) = %s, want %s", tt.in, tt.zone, got, tt.want)
		}
	}
}

func TestParseCalendarDateRejects(t *testing.T) {
	for _, in := range []string{"09.11.2014", "2014-13-01", "2023-02-29", "yesterday", "2014-11-09T25:00:00+01:00", "2014-11-09T00:00:00+1"} {
		if _, err := parseCalendarDate(in, time.UTC); err == nil {
			t.Errorf("parseCalendarDate(%q) accepted", in)
		} else if strings.Contains(err.Error(), in) {
			t.Errorf("error for %q repeats the value: %v", in, err)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	tests := []struct{ in, want string }{
		{"2017-05-23T09:49:03+02:00", "2017-05-23T07:49:03Z"},
		{"2017-05-23T09:49:03+0200", "2017-05-23T07:49:03Z"},
		{"2017-05-23T07:49:03Z", "2017-05-23T07:49:03Z"},
		{"2017-05-23T09:49:03", "2017-05-23T07:49:03Z"}, // no zone: the company's
		{"", "0001-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		got, err := parseTimestamp(tt.in, berlin)
		if err != nil {
			t.Errorf("parseTimestamp(%q): %v", tt.in, err)
			continue
		}
		if got.Format(time.RFC3339) != tt.want || got.Location() != time.UTC {
			t.Errorf("parseTimestamp(%q) = %s, want %s in UTC", tt.in, got.Format(time.RFC3339), tt.want)
		}
	}
}

func FuzzParseCalendarDate(f *testing.F) {
	for _, s := range []string{"2014-11-09T00:00:00+01:00", "2012-02-01T00:00:00+0100", "2014-11-08T23:00:00.000Z",
		"2014-11-09", "2014-11-09T00:00:00", "", "0000-00-00", "9999-12-31T23:59:59-23:59", "2014-11-09T00:00:00+01:00:00"} {
		f.Add(s)
	}
	berlin := mustZone(f, "Europe/Berlin")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseCalendarDate(s, berlin)
		if err != nil {
			return
		}
		if d.IsZero() {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("non-empty %q parsed to the zero date", s)
			}
			return
		}
		if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
			t.Fatalf("%q parsed to impossible date %+v", s, d)
		}
		if trimmed := strings.TrimSpace(s); len(trimmed) == 10 && d.String() != trimmed {
			t.Fatalf("bare date %q came back as %s", s, d)
		}
	})
}

// FuzzFastDates holds the fast date readers to parseCalendarDate and
// parseTimestamp: whatever they accept must read as time.Parse reads it.
func FuzzFastDates(f *testing.F) {
	for _, s := range []string{`"2021-03-01T00:00:00+01:00"`, `"2026-06-30T00:00:00+0200"`, `"2026-06-25T22:00:00.000Z"`,
		`"2026-06-25T22:00:00Z"`, `"2026-06-25T00:00:00+00:00"`, `"2026-06-25T01:00:00-00:00"`, `"2021-03-01"`, `null`,
		`"2024-02-29T23:59:59-12:00"`, `"2023-02-29T00:00:00+01:00"`, `"2021-04-31"`, `"2021-13-01"`, `"0000-01-01"`,
		`"2021-03-01T24:00:00+01:00"`, `"2021-03-01T00:00:00+25:00"`, `"2021-03-01T00:00:00+24:60"`, `"2021-03-01T00:00:60Z"`,
		`"2021-03-01T00:00:00*01:00"`, `"2021-03-01T00:00:00+01:0a"`, `"2021-03-01 00:00:00+01:00"`, `" 2021-03-01"`} {
		f.Add([]byte(s))
	}
	berlin := mustZone(f, "Europe/Berlin")
	f.Fuzz(func(t *testing.T, raw []byte) {
		if date, ok := fastCalendarDate(raw); ok {
			s, err := jsonText(raw)
			if err != nil {
				t.Fatalf("%q: fast date %v from no text: %v", raw, date, err)
			}
			want, err := parseCalendarDate(s, berlin)
			if err != nil || want != date {
				t.Fatalf("%q: fast date %v, parseCalendarDate %v, %v", raw, date, want, err)
			}
		}
		if instant, ok := fastTimestamp(raw); ok {
			s, err := jsonText(raw)
			if err != nil {
				t.Fatalf("%q: fast timestamp %v from no text: %v", raw, instant, err)
			}
			want, err := parseTimestamp(s, berlin)
			if err != nil || !reflect.DeepEqual(want, instant) {
				t.Fatalf("%q: fast timestamp %v, parseTimestamp %v, %v", raw, instant, want, err)
			}
		}
	})
}

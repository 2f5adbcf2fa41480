package mirror

import (
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

func date(t testing.TB, s string) personio.Date {
	t.Helper()
	if s == "" {
		return personio.Date{}
	}
	d, err := personio.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLifecycleDecide(t *testing.T) {
	defaults := lifecyclePolicy{prehireDays: 14, activateDays: 0, retentionDays: 30}
	type rec struct{ status, hire, lwd, term, contract string }
	employed := &store.Lifecycle{State: store.StateActive} // an identity exists
	tests := []struct {
		name    string
		policy  lifecyclePolicy
		rec     rec
		today   string
		prev    *store.Lifecycle
		want    store.Lifecycle
		present bool
	}{
		// joiner, hire date 2026-04-15
		{"15 days before hire: not yet", defaults, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-03-31", nil,
			store.Lifecycle{State: store.StatePrehire, HireDate: "2026-04-15", Rule: RuleBeforePrehireWindow}, false},
		{"14 days before hire: prehire", defaults, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-04-01", nil,
			store.Lifecycle{State: store.StatePrehire, HireDate: "2026-04-15", Rule: RulePrehireWindow}, true},
		{"day before hire: prehire", defaults, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-04-14", nil,
			store.Lifecycle{State: store.StatePrehire, HireDate: "2026-04-15", Rule: RulePrehireWindow}, true},
		{"hire date: active", defaults, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-04-15", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2026-04-15", Rule: RuleHireDate}, true},
		{"activate_days 2: two days before", lifecyclePolicy{14, 2, 30}, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-04-13", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2026-04-15", Rule: RuleHireDate}, true},
		{"activate_days 2: three days before", lifecyclePolicy{14, 2, 30}, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-04-12", nil,
			store.Lifecycle{State: store.StatePrehire, HireDate: "2026-04-15", Rule: RulePrehireWindow}, true},
		{"prehire_days 0: day before hire", lifecyclePolicy{0, 0, 30}, rec{"onboarding", "2026-04-15", "", "", ""}, "2026-04-14", nil,
			store.Lifecycle{State: store.StatePrehire, HireDate: "2026-04-15", Rule: RuleBeforePrehireWindow}, false},
		{"no hire date: active", defaults, rec{"active", "", "", "", ""}, "2026-04-15", nil,
			store.Lifecycle{State: store.StateActive, Rule: RuleEmployed}, true},
		{"status leave stays active", defaults, rec{"leave", "2020-01-01", "", "", ""}, "2026-04-15", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01", Rule: RuleHireDate}, true},

		// leaver, last working day 2026-03-31
		{"last working day: active", defaults, rec{"active", "2020-01-01", "2026-03-31", "", ""}, "2026-03-31", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01", EndDate: "2026-03-31", Rule: RuleHireDate}, true},
		{"day after: leaver", defaults, rec{"active", "2020-01-01", "2026-03-31", "", ""}, "2026-04-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},
		{"last day of retention", defaults, rec{"inactive", "2020-01-01", "2026-03-31", "", ""}, "2026-04-30", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},
		{"retention over", defaults, rec{"inactive", "2020-01-01", "2026-03-31", "", ""}, "2026-05-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleRetention}, false},
		{"retention 0: gone at once", lifecyclePolicy{14, 0, 0}, rec{"active", "2020-01-01", "2026-03-31", "", ""}, "2026-04-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-03-31", Rule: RuleRetention}, false},
		{"retention 1: visible one day", lifecyclePolicy{14, 0, 1}, rec{"active", "2020-01-01", "2026-03-31", "", ""}, "2026-04-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-01", Rule: RuleEndDate}, true},
		{"retention 1: gone the day after", lifecyclePolicy{14, 0, 1}, rec{"active", "2020-01-01", "2026-03-31", "", ""}, "2026-04-02", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-01", Rule: RuleRetention}, false},

		// which end date
		{"earlier of termination and contract end", defaults, rec{"active", "2020-01-01", "", "2026-05-31", "2026-04-30"}, "2026-05-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-04-30", InactiveSince: "2026-05-01", RemoveAfter: "2026-05-30", Rule: RuleEndDate}, true},
		{"termination date alone", defaults, rec{"active", "2020-01-01", "", "2026-05-31", ""}, "2026-05-31", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01", EndDate: "2026-05-31", Rule: RuleHireDate}, true},
		{"last working day wins over termination", defaults, rec{"active", "2020-01-01", "2026-06-30", "2026-05-31", ""}, "2026-06-01", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01", EndDate: "2026-06-30", Rule: RuleHireDate}, true},
		{"no hire date, contract ended", defaults, rec{"active", "", "", "", "2026-03-31"}, "2026-04-01", nil,
			store.Lifecycle{State: store.StateLeaver, EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},
		{"on leave past the end date", defaults, rec{"leave", "2020-01-01", "2026-03-31", "", ""}, "2026-04-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},

		// status inactive
		{"status inactive without an identity: none, nobody to deprovision", defaults, rec{"inactive", "2020-01-01", "", "", ""}, "2026-04-10", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", Rule: RuleStatusInactive}, false},
		{"status inactive: from today", defaults, rec{"Inactive", "2020-01-01", "", "", ""}, "2026-04-10", employed,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleStatusInactive}, true},
		{"status inactive, end date gives an earlier day", defaults, rec{"inactive", "2020-01-01", "2026-03-31", "", ""}, "2026-04-10", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},
		{"status inactive before a future end date", defaults, rec{" INACTIVE ", "2020-01-01", "2026-06-30", "", ""}, "2026-04-10", employed,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-06-30", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleStatusInactive}, true},
		{"already a leaver: first inactive day kept", defaults, rec{"inactive", "2020-01-01", "", "", ""}, "2026-04-10",
			&store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-04-05"},
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", InactiveSince: "2026-04-05", RemoveAfter: "2026-05-04", Rule: RuleStatusInactive}, true},
		{"already a leaver, retention over by the kept day", defaults, rec{"inactive", "2020-01-01", "", "", ""}, "2026-05-05",
			&store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-04-05"},
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", InactiveSince: "2026-04-05", RemoveAfter: "2026-05-04", Rule: RuleRetention}, false},
		{"recorded day later than the end date gives", defaults, rec{"inactive", "2020-01-01", "2026-03-31", "", ""}, "2026-04-10",
			&store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-04-05"},
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},
		{"previous active state does not matter", defaults, rec{"inactive", "2020-01-01", "", "", ""}, "2026-04-10",
			&store.Lifecycle{State: store.StateActive, InactiveSince: "2026-04-05"},
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleStatusInactive}, true},

		// rehire: hire date 2026-05-01 after an employment that ended 2025-12-31
		{"rehire still marked inactive: a leaver by status", defaults, rec{"inactive", "2026-05-01", "2025-12-31", "2025-12-31", ""}, "2026-04-10", employed,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2026-05-01", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleStatusInactive}, true},
		{"rehire: onboarding in the window", defaults, rec{"onboarding", "2026-05-01", "2025-12-31", "2025-12-31", ""}, "2026-04-20",
			&store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-01-01"},
			store.Lifecycle{State: store.StatePrehire, HireDate: "2026-05-01", Rule: RulePrehireWindow}, true},
		{"rehire: active on the new hire date", defaults, rec{"active", "2026-05-01", "2025-12-31", "", ""}, "2026-05-01", nil,
			store.Lifecycle{State: store.StateActive, HireDate: "2026-05-01", Rule: RuleHireDate}, true},
		{"rehire: stale last working day does not hide the new contract end", defaults, rec{"active", "2026-01-01", "2025-06-30", "", "2026-03-31"}, "2026-04-01", nil,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2026-01-01", EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, true},
		{"rehire leaves again: day from the earlier employment not kept", defaults, rec{"inactive", "2026-01-01", "", "", ""}, "2026-04-10",
			&store.Lifecycle{State: store.StateLeaver, InactiveSince: "2025-07-01"},
			store.Lifecycle{State: store.StateLeaver, HireDate: "2026-01-01", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleStatusInactive}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := personio.Record{
				ID: "1", Status: tt.rec.status, HireDate: date(t, tt.rec.hire), LastWorkingDay: date(t, tt.rec.lwd),
				TerminationDate: date(t, tt.rec.term), ContractEndDate: date(t, tt.rec.contract),
			}
			got, present := tt.policy.decide(&r, date(t, tt.today), tt.prev)
			if got != tt.want || present != tt.present {
				t.Errorf("decide on %s =\n %+v, present %v\nwant\n %+v, present %v", tt.today, got, present, tt.want, tt.present)
			}
		})
	}
}

func TestLifecycleDeparted(t *testing.T) {
	lp := lifecyclePolicy{prehireDays: 14, activateDays: 0, retentionDays: 30}
	tests := []struct {
		name    string
		prev    store.Lifecycle
		today   string
		rule    string
		want    store.Lifecycle
		present bool
	}{
		{"active person vanishes", store.Lifecycle{State: store.StateActive, HireDate: "2020-01-01", Rule: RuleHireDate}, "2026-04-10", RuleVanished,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleVanished, VanishedSource: true}, true},
		{"leaver vanishes: first inactive day kept", store.Lifecycle{State: store.StateLeaver, EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleEndDate}, "2026-04-10", RuleVanished,
			store.Lifecycle{State: store.StateLeaver, EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleVanished, VanishedSource: true}, true},
		{"vanished leaver past retention", store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-04-01", Rule: RuleVanished, VanishedSource: true}, "2026-05-01", RuleVanished,
			store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleRetention, VanishedSource: true}, false},
		{"prehire leaves the scope", store.Lifecycle{State: store.StatePrehire, HireDate: "2026-05-01", Rule: RulePrehireWindow}, "2026-04-20", RuleOutOfScope,
			store.Lifecycle{State: store.StateLeaver, HireDate: "2026-05-01", InactiveSince: "2026-04-20", RemoveAfter: "2026-05-19", Rule: RuleOutOfScope, ScopeExcluded: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, present := lp.departed(tt.prev, date(t, tt.today), tt.rule)
			if got != tt.want || present != tt.present {
				t.Errorf("departed =\n %+v, present %v\nwant\n %+v, present %v", got, present, tt.want, tt.present)
			}
		})
	}
}

// TestTodayFlipsAtCompanyMidnight checks that the calendar date, and so
// every date rule, changes at midnight in the company's zone, not UTC's.
func TestTodayFlipsAtCompanyMidnight(t *testing.T) {
	tests := []struct {
		zone string
		now  string // UTC
		want string
	}{
		{"Europe/Berlin", "2026-03-31T21:59:59Z", "2026-03-31"}, // 23:59:59 CEST
		{"Europe/Berlin", "2026-03-31T22:00:00Z", "2026-04-01"}, // 00:00 CEST
		{"Europe/Berlin", "2026-01-31T22:59:59Z", "2026-01-31"}, // 23:59:59 CET
		{"Europe/Berlin", "2026-01-31T23:00:00Z", "2026-02-01"},
		{"America/New_York", "2026-04-01T03:59:59Z", "2026-03-31"}, // 23:59:59 EDT
		{"America/New_York", "2026-04-01T04:00:00Z", "2026-04-01"},
		{"Pacific/Auckland", "2026-03-31T10:59:59Z", "2026-03-31"}, // 23:59:59 NZDT
		{"Pacific/Auckland", "2026-03-31T11:00:00Z", "2026-04-01"},
		{"UTC", "2026-03-31T23:59:59Z", "2026-03-31"},
		{"UTC", "2026-04-01T00:00:00Z", "2026-04-01"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Lifecycle.Timezone = tt.zone
		p, err := Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now, err := time.Parse(time.RFC3339, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.today(now).String(); got != tt.want {
			t.Errorf("%s at %s: Today = %s, want %s", tt.zone, tt.now, got, tt.want)
		}
		if p.Location().String() != tt.zone {
			t.Errorf("Location = %s, want %s", p.Location(), tt.zone)
		}
	}
}

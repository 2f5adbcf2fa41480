package mirror

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// LifecycleConfig sets the joiner and leaver dates (design section 4).
type LifecycleConfig struct {
	// Timezone is the company's IANA zone; every date rule flips at its
	// midnight.
	Timezone string `yaml:"timezone"`
	// PrehireDays is how many days before the hire date a joiner appears,
	// inactive.
	PrehireDays int `yaml:"prehire_days"`
	// ActivateDays is how many days before the hire date a joiner becomes
	// active.
	ActivateDays int `yaml:"activate_days"`
	// RetentionDays is how many days a leaver stays visible, inactive,
	// before the identity is removed.
	RetentionDays int `yaml:"retention_days"`
}

// maxLifecycleDays bounds the day counts; ten years is far beyond any real
// policy, and a bound keeps date arithmetic sane.
const maxLifecycleDays = 3650

// Rule names say which lifecycle rule decided a person's state; they are
// stored in store.Lifecycle.Rule and shown in the change log.
const (
	RuleBeforePrehireWindow = "before-prehire-window" // hire date further ahead than prehire_days: no identity yet
	RulePrehireWindow       = "prehire-window"        // within prehire_days of the hire date: visible, inactive
	RuleHireDate            = "hire-date"             // hire date (less activate_days) reached: active
	RuleEmployed            = "employed"              // no hire date in Personio: active
	RuleStatusInactive      = "status-inactive"       // Personio status "inactive": leaver from today
	RuleEndDate             = "end-date"              // past the last working day or end date: leaver
	RuleVanished            = "vanished"              // missing from Personio: leaver
	RuleOutOfScope          = "out-of-scope"          // no longer accepted by the scope expression: leaver
	RuleRetention           = "retention"             // leaver past retention_days: identity removed
)

func defaultLifecycle() LifecycleConfig {
	return LifecycleConfig{Timezone: "Europe/Berlin", PrehireDays: 14, ActivateDays: 0, RetentionDays: 30}
}

func (c LifecycleConfig) validate(v *validator) {
	if _, err := loadZone(c.Timezone); err != nil {
		v.errorf("lifecycle.timezone", "%v", err)
	}
	days := []struct {
		key string
		n   int
	}{
		{"lifecycle.prehire_days", c.PrehireDays},
		{"lifecycle.activate_days", c.ActivateDays},
		{"lifecycle.retention_days", c.RetentionDays},
	}
	for _, d := range days {
		if d.n < 0 || d.n > maxLifecycleDays {
			v.errorf(d.key, "must be between 0 and %d days, got %d", maxLifecycleDays, d.n)
		}
	}
}

// loadZone refuses "" and "Local", which LoadLocation accepts but which
// mean whatever zone the host happens to run in.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, errors.New("must name an IANA time zone such as Europe/Berlin")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; want an IANA name such as Europe/Berlin", name)
	}
	return loc, nil
}

// lifecyclePolicy decides where a person stands on a given day.
type lifecyclePolicy struct {
	prehireDays, activateDays, retentionDays int
}

// decide applies design section 4 to one in-scope record and reports
// whether an identity should exist today.
func (lp lifecyclePolicy) decide(rec *personio.Record, today personio.Date, prev *store.Lifecycle) (store.Lifecycle, bool) {
	hire := rec.HireDate
	end := employmentEnd(rec)
	lc := store.Lifecycle{HireDate: hire.String(), EndDate: end.String()}
	if since, rule, ok := leavingSince(rec.Status, end, today); ok {
		if rule == RuleStatusInactive && prev == nil {
			// Inactive with no end date and no identity: either they left
			// before we ever knew them, or their identity was removed when
			// retention ended. Personio says nothing of when they left, so
			// "since today" would bring a removed leaver back every day for
			// another retention period. Nobody has access to take away:
			// they get no identity until Personio makes them a joiner.
			lc.State, lc.Rule = store.StateLeaver, RuleStatusInactive
			return lc, false
		}
		return lp.leaver(lc, keepEarlierInactiveSince(since, prev, hire), today, rule)
	}
	switch {
	case hire.IsZero():
		lc.State, lc.Rule = store.StateActive, RuleEmployed
	case !today.Before(hire.AddDays(-lp.activateDays)):
		lc.State, lc.Rule = store.StateActive, RuleHireDate
	case !today.Before(hire.AddDays(-lp.prehireDays)):
		lc.State, lc.Rule = store.StatePrehire, RulePrehireWindow
	default:
		lc.State, lc.Rule = store.StatePrehire, RuleBeforePrehireWindow
		return lc, false
	}
	return lc, true
}

// departed makes a leaver of someone Personio no longer gives us (vanished)
// or the scope no longer accepts. The first inactive day is today unless
// the identity already was a leaver.
func (lp lifecyclePolicy) departed(prev store.Lifecycle, today personio.Date, rule string) (store.Lifecycle, bool) {
	lc := prev
	since := today
	if prev.State == store.StateLeaver {
		if d, err := personio.ParseDate(prev.InactiveSince); err == nil && d.Before(today) {
			since = d
		}
	}
	lc.ScopeExcluded = rule == RuleOutOfScope
	lc.VanishedSource = rule == RuleVanished
	return lp.leaver(lc, since, today, rule)
}

// leaver sets the leaver dates: inactive from since, visible through
// since + retention_days - 1.
func (lp lifecyclePolicy) leaver(lc store.Lifecycle, since, today personio.Date, rule string) (store.Lifecycle, bool) {
	removeAfter := since.AddDays(lp.retentionDays - 1)
	lc.State = store.StateLeaver
	lc.InactiveSince = since.String()
	lc.RemoveAfter = removeAfter.String()
	lc.Rule = rule
	if removeAfter.Before(today) {
		lc.Rule = RuleRetention
		return lc, false
	}
	return lc, true
}

// employmentEnd is the last day of the current employment: the last
// working day if set, else the earlier of termination and contract end.
// A date before the hire date belongs to an earlier employment (a rehire)
// and is ignored, each date on its own, so that a stale last working day
// does not hide the current contract's end.
func employmentEnd(rec *personio.Record) personio.Date {
	current := func(d personio.Date) personio.Date {
		if !d.IsZero() && !rec.HireDate.IsZero() && d.Before(rec.HireDate) {
			return personio.Date{}
		}
		return d
	}
	if lwd := current(rec.LastWorkingDay); !lwd.IsZero() {
		return lwd
	}
	term, contract := current(rec.TerminationDate), current(rec.ContractEndDate)
	switch {
	case term.IsZero():
		return contract
	case contract.IsZero(), term.Before(contract):
		return term
	}
	return contract
}

// leavingSince reports whether the person is a leaver today and their first
// inactive day. A passed end date gives end+1 even when Personio also says
// inactive, so a late status change does not shift the date.
func leavingSince(status string, end, today personio.Date) (personio.Date, string, bool) {
	if !end.IsZero() && end.Before(today) {
		return end.AddDays(1), RuleEndDate, true
	}
	if strings.EqualFold(strings.TrimSpace(status), "inactive") {
		return today, RuleStatusInactive, true
	}
	return personio.Date{}, "", false
}

// keepEarlierInactiveSince keeps the first inactive day already recorded,
// so that "inactive since today" does not move forward every day, unless it
// lies before the current hire date and so belongs to an earlier employment.
func keepEarlierInactiveSince(since personio.Date, prev *store.Lifecycle, hire personio.Date) personio.Date {
	if prev == nil || prev.State != store.StateLeaver {
		return since
	}
	d, err := personio.ParseDate(prev.InactiveSince)
	if err != nil || !d.Before(since) || (!hire.IsZero() && d.Before(hire)) {
		return since
	}
	return d
}

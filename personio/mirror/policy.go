package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// Policy is a compiled configuration: it decides, for one person on one
// day, whether they are in scope, whether an identity should exist, its
// attributes, lifecycle and groups. It is immutable and safe for concurrent
// use.
type Policy struct {
	loc       *time.Location
	lifecycle lifecyclePolicy
	scope     program
	mapping   compiledMapping
	groups    compiledGroups

	includePrehire bool
	sourceFields   []string         // standard fields, then dynamic_N keys
	recordFields   []personio.Field // personio.RecordFields, for sourceOf
	customLabels   []string
	allCustom      bool

	guard     GuardConfig
	writable  []string
	fullEvery time.Duration
}

// outcome is everything the policy says about one person today.
type outcome struct {
	// InScope is the scope expression's answer; false for a person who is
	// not in Personio's answer at all.
	InScope bool
	// Present says whether an identity should exist today.
	Present bool
	// Attributes are the mapped values; Active is the lifecycle's decision
	// and the mapping's active expression together. Manager is the
	// supervisor's Personio id: the engine translates it to a SCIM id.
	Attributes store.Attributes
	Lifecycle  store.Lifecycle
	// Groups the person is a member of; empty unless they are to be one.
	Groups []groupRef
	// OnCreateOnly lists the attributes whose first value must be kept.
	// The slice is shared between outcomes: do not modify it.
	OnCreateOnly []string
}

// personError reports that the policy could not be applied to one person.
// It names the person by Personio id only, never by name or email, so it
// can be logged and shown in sync reports.
type personError struct {
	PersonID  string
	Attribute string // the mapped attribute, "scope" or "group rule:<name>"
	Err       error
}

func (e *personError) Error() string {
	return fmt.Sprintf("person %s: %s: %v", e.PersonID, e.Attribute, e.Err)
}

func (e *personError) Unwrap() error { return e.Err }

// errEmptyUserName is the cause when a person maps to an empty userName,
// typically because Personio has no work email for them.
var errEmptyUserName = errors.New("userName is empty (is the work email missing in Personio?)")

// errEmptyLogin is the cause when a userName has nothing before its @,
// typically a login built from a name without Latin letters.
var errEmptyLogin = errors.New("userName has nothing before the @ (a name without Latin letters? give unique() a fallback candidate)")

// Compile checks a configuration and compiles every expression once. The
// error lists every problem, each with its file, YAML line, configuration
// path and position within the expression.
func Compile(cfg Config) (*Policy, error) {
	v := validator{name: cfg.name}
	cfg.validate(&v)
	if err := errors.Join(v.errs...); err != nil {
		return nil, err
	}
	loc, err := loadZone(cfg.Lifecycle.Timezone)
	if err != nil {
		return nil, fmt.Errorf("lifecycle.timezone: %w", err)
	}
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	refs := newFieldRefs()
	var errs []error
	scope, checked, err := compileExpr(env, cfg.Scope.Text, cel.BoolType)
	if err != nil {
		errs = append(errs, configError(cfg.name, cfg.Scope.line, "scope", err))
	} else {
		refs.add(checked)
	}
	mapping, mappingErrs := compileMapping(env, cfg.name, cfg.Mapping, &refs)
	groups, groupErrs := compileGroups(env, cfg.name, cfg.Groups, &refs)
	if err := errors.Join(slices.Concat(errs, mappingErrs, groupErrs)...); err != nil {
		return nil, err
	}
	for _, f := range lifecycleFields() {
		refs.fields[f] = true
	}
	return &Policy{
		loc: loc,
		lifecycle: lifecyclePolicy{
			prehireDays:   cfg.Lifecycle.PrehireDays,
			activateDays:  cfg.Lifecycle.ActivateDays,
			retentionDays: cfg.Lifecycle.RetentionDays,
		},
		scope:          scope,
		mapping:        mapping,
		groups:         groups,
		includePrehire: cfg.Groups.IncludePrehire,
		sourceFields:   refs.sourceFields(),
		recordFields:   personio.RecordFields(),
		customLabels:   refs.customLabels(),
		allCustom:      refs.allCustom,
		guard:          cfg.Guard,
		writable:       slices.Clone(cfg.SCIM.Writable),
		fullEvery:      cfg.Sync.FullEvery,
	}, nil
}

// lifecycleFields are read by the lifecycle policy whatever the
// expressions say; id identifies the person.
func lifecycleFields() []string {
	return []string{personio.FieldID, personio.FieldStatus, personio.FieldHireDate, personio.FieldTerminationDate, personio.FieldLastWorkingDay, personio.FieldContractEndDate}
}

// evaluate applies the policy to one Personio record. prev is the lifecycle
// stored for the person, nil for someone new.
//
// A person outside the scope gets InScope false and nothing else; for an
// existing identity the engine then calls outOfScope. A person with no
// identity due today (hire date further ahead than prehire_days, or a
// leaver past retention) gets Present false and their lifecycle, without
// mapping: old leavers do not need a work email.
//
// Expressions stop when ctx is cancelled or when one exceeds costLimit.
// An expression that fails for this person returns a *personError. The
// outcome then still carries InScope, Present and Lifecycle, so the engine
// can deactivate a leaver whose record no longer maps, keeping the stored
// attributes.
func (p *Policy) evaluate(ctx context.Context, rec personio.Record, today personio.Date, prev *store.Lifecycle) (outcome, error) {
	return p.evaluateRecord(ctx, &rec, today, prev)
}

// evaluateRecord is evaluate without copying the record: the planner's
// records stay where they are, not one copy on the heap per person.
func (p *Policy) evaluateRecord(ctx context.Context, rec *personio.Record, today personio.Date, prev *store.Lifecycle) (outcome, error) {
	act := newRecordActivation(rec)
	inScope, err := evalBool(ctx, p.scope, act)
	if err != nil {
		return outcome{}, &personError{PersonID: rec.ID, Attribute: "scope", Err: err}
	}
	if !inScope {
		return outcome{}, nil
	}
	lc, present := p.lifecycle.decide(rec, today, prev)
	out := outcome{InScope: true, Present: present, Lifecycle: lc, OnCreateOnly: p.mapping.onCreateOnly}
	if !present {
		return out, nil
	}
	out.Attributes, err = p.mapping.evaluate(ctx, act, lc.State == store.StateActive)
	if err != nil {
		return out, err
	}
	if p.isMember(lc.State) {
		out.Groups, err = p.groups.evaluate(ctx, act)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (p *Policy) isMember(s store.LifecycleState) bool {
	return s == store.StateActive || (s == store.StatePrehire && p.includePrehire)
}

// vanished is the outcome for an identity whose person is missing from
// Personio: a leaver from today (or from the first inactive day already
// recorded), visible and inactive until retention ends, attributes kept,
// no groups.
func (p *Policy) vanished(prev store.Identity, today personio.Date) outcome {
	return p.departed(prev, today, RuleVanished)
}

// outOfScope is vanished for an identity whose person the scope expression
// no longer accepts.
func (p *Policy) outOfScope(prev store.Identity, today personio.Date) outcome {
	return p.departed(prev, today, RuleOutOfScope)
}

func (p *Policy) departed(prev store.Identity, today personio.Date, rule string) outcome {
	lc, present := p.lifecycle.departed(prev.Lifecycle, today, rule)
	attrs := prev.Attributes
	attrs.Active = false
	return outcome{Present: present, Attributes: attrs, Lifecycle: lc, OnCreateOnly: p.mapping.onCreateOnly}
}

// SourceFields lists what the policy reads from a record, in the
// vocabulary of personio.Config.Attributes: the standard fields (personio's
// Field* names, in record order) that expressions reference, that the
// lifecycle needs and that enabled group kinds group by, then the custom
// attributes expressions name by their dynamic_N key. The engine asks
// Personio only for these and stores only these.
func (p *Policy) SourceFields() []string { return slices.Clone(p.sourceFields) }

// CustomLabels reports the custom attributes SourceFields cannot list:
// those expressions name by label (custom["GitHub handle"]), which Personio's
// attribute list resolves to dynamic_N keys, and whether an expression reads
// custom attributes without naming one (iterating them, or a key computed
// at run time), in which case every custom attribute is needed.
func (p *Policy) CustomLabels() (labels []string, all bool) {
	return slices.Clone(p.customLabels), p.allCustom
}

// Minimize keeps only what the policy reads from a record (SourceFields and
// CustomLabels) and UpdatedAt: the minimized source record the engine
// stores. The policy's outcome for the minimized record is the same.
func (p *Policy) Minimize(rec personio.Record) personio.Record {
	out := personio.Record{UpdatedAt: rec.UpdatedAt}
	for _, f := range p.sourceFields {
		copyField(&out, &rec, f)
	}
	for key, a := range rec.Custom {
		if p.allCustom || slices.Contains(p.sourceFields, key) || slices.Contains(p.customLabels, a.Label) {
			if out.Custom == nil {
				out.Custom = map[string]personio.CustomAttribute{}
			}
			out.Custom[key] = a
		}
	}
	return out
}

func copyField(dst, src *personio.Record, field string) {
	if f, ok := personio.LookupField(field); ok {
		f.Copy(dst, src)
	}
}

// Location is the company's time zone.
func (p *Policy) Location() *time.Location { return p.loc }

// today is the calendar date at now in the company's time zone: date rules
// flip at its midnight, not UTC's.
func (p *Policy) today(now time.Time) personio.Date { return personio.DateOf(now.In(p.loc)) }

// Writable lists the attributes SCIM clients may override.
func (p *Policy) Writable() []string { return slices.Clone(p.writable) }

// isWritable reports whether SCIM clients may override the attribute.
func (p *Policy) isWritable(attr string) bool { return slices.Contains(p.writable, attr) }

// fullSyncEvery is how often a sync must read every person; 0 means always.
func (p *Policy) fullSyncEvery() time.Duration { return p.fullEvery }

package personiotest

import (
	"time"
)

// Default credential of a simulator built without Credentials.
const (
	DefaultClientID     = "personio-sim"
	DefaultClientSecret = "personio-sim-secret"
)

// TokenMode says how the simulator hands out bearer tokens.
type TokenMode string

// Personio's current and its legacy token behaviour.
const (
	// TokenStable: one token per credential (and scope set) for 24 hours,
	// echoed in the Authorization header of every answer.
	TokenStable TokenMode = "stable"
	// TokenLegacy: every token works for one request; the answer carries the
	// next one in its Authorization header.
	TokenLegacy TokenMode = "legacy"
)

// Credential is one API credential of the simulated company.
type Credential struct {
	ClientID     string
	ClientSecret string
	// Scopes granted to the credential; nil grants every scope the
	// simulator knows (see AllScopes).
	Scopes []string
	// Readable lists the v1 attribute keys (first_name, hire_date,
	// fix_salary, dynamic_1001, …) the credential may read; nil means all,
	// salary and bank data included. Attributes not readable are absent from
	// answers in both versions, not null. The id is always readable.
	Readable []string
	// Writable lists the attribute keys writes may change; nil means all.
	// Whether Personio has such a list is [UNCONFIRMED].
	Writable  []string
	TokenMode TokenMode // default TokenStable
	// NoRateLimit turns Personio's rate limits off for this credential.
	NoRateLimit bool
}

// AllScopes are the scopes a credential without an explicit list has: the v2
// names and the legacy v1 names seen in tokens.
func AllScopes() []string {
	return []string{
		"personio:persons:read", "personio:persons:write",
		"personio:org-units:read", "personio:legal-entities:read",
		"personio:cost-centers:read", "personio:workplaces:read",
		"employees:read", "employees:write", "personio:webhooks:write",
	}
}

// DateFormat is how v1 writes dates (local midnight of the company zone).
type DateFormat string

// The three forms Personio has used.
const (
	DateColon   DateFormat = "colon"    // 2014-11-09T00:00:00+01:00 (current)
	DateNoColon DateFormat = "no-colon" // 2014-11-09T00:00:00+0100 (schema example)
	DateUTC     DateFormat = "utc"      // 2014-11-08T23:00:00.000Z (older spec)
)

// EmptyRelation is how v1 writes an unset department, office, team,
// subcompany or supervisor; Personio does not document it [UNCONFIRMED].
type EmptyRelation string

// The candidate forms.
const (
	EmptyNull   EmptyRelation = "null"
	EmptyString EmptyRelation = "string" // ""
	EmptyList   EmptyRelation = "list"   // []
)

// Bucket is a token bucket: Rate requests per second, bursts of Burst.
type Bucket struct {
	Rate  float64
	Burst int
}

// Options shape a simulator. The zero value is a company of 200 people
// (seed 1) served the way Personio documents it; every behaviour Personio
// leaves open (marked UNCONFIRMED or CONFLICT below, and listed in
// docs/simulator.md) has a field here.
type Options struct {
	Employees int   // people to generate; 0 means 200, negative means none
	Seed      int64 // generation seed; 0 means 1

	// Now is the simulator's clock; seeded dates are relative to its day
	// at New. Default time.Now. Advance moves it further.
	Now func() time.Time
	// Location is the company's time zone; default Europe/Berlin.
	Location *time.Location
	// EmailDomain of generated work emails; default "alpenwerk.example".
	EmailDomain string

	// Credentials of the company; default one credential with
	// DefaultClientID and DefaultClientSecret and everything allowed.
	Credentials []Credential

	// V1DefaultLimit is the page size when limit is not sent: the spec says
	// 10, the guide 50 [CONFLICT]. Default 50.
	V1DefaultLimit int
	// V1OffsetPages makes offset count pages (0-based) instead of records
	// [UNCONFIRMED which one production uses; the guide says records].
	V1OffsetPages bool
	V1DateFormat  DateFormat    // default DateColon
	V1EmptyValue  EmptyRelation // default EmptyNull
	// V1UpdatedSinceLocation is the zone an updated_since without offset is
	// read in [UNCONFIRMED]; default Location.
	V1UpdatedSinceLocation *time.Location
	// V1UpdatedSinceAllInOne makes updated_since ignore limit and offset, as
	// Personio's API reference says, instead of paging as its changelog
	// says [CONFLICT].
	V1UpdatedSinceAllInOne bool
	// V1InvalidTokenStatus is the status for an unknown or expired token on
	// v1: the spec's examples pair 403 with "Provided authorization is not
	// valid" [UNCONFIRMED]. Default 401.
	V1InvalidTokenStatus int
	// V1RejectEmailPatch answers a v1 PATCH carrying email with 422 instead
	// of ignoring it with a meta note.
	V1RejectEmailPatch bool

	// V2RelativeLinks writes next links as /v2/…?cursor=… instead of
	// absolute URLs (attendance periods did so until 2024).
	V2RelativeLinks bool
	// V2EmploymentBumpsPerson makes an employment change bump the person's
	// updated_at too [UNCONFIRMED; default no, the cautious reading].
	V2EmploymentBumpsPerson bool
	// V2UpperCaseCustomTypes writes custom attribute types as the enum does
	// (STRING) instead of as every official example does (string).
	V2UpperCaseCustomTypes bool
	// V2OmitCustomLabels leaves labels out of v2 custom attributes, as
	// forum users report.
	V2OmitCustomLabels bool
	// V2LastWorkingDateKey writes termination.last_working_date (the spec's
	// examples) instead of last_working_day (the spec's schema).
	V2LastWorkingDateKey bool
	// V2OrgUnitsPerType applies whitelisting to each org unit type of an
	// employment's org_units list instead of to the whole list
	// [UNCONFIRMED which one Personio does]: with department hidden, the
	// list is present and lacks the departments, which no client can tell
	// from "no department".
	V2OrgUnitsPerType bool
	// V2OrgEndpointsMissing answers 404 on org units, workplaces, legal
	// entities and cost centers, as for companies without the beta.
	V2OrgEndpointsMissing bool
	// V2CostCentersNeedBeta answers 404 on /v2/cost-centers without the
	// header "Beta: true" (a third-party observation).
	V2CostCentersNeedBeta bool
	// V2MissingScopeStatus is the status for a token without the needed
	// scope: 403 per the docs, 401 per a third-party report. Default 403.
	V2MissingScopeStatus int

	// StatusFollowsDates serves onboarding people as active from their hire
	// date and active people as inactive after their termination date, the
	// way Personio's daily jobs do it [UNCONFIRMED], without bumping
	// modification times. Default: status changes only when written.
	StatusFollowsDates bool

	// Rate limits (per credential, when the credential has them on).
	// Defaults: Personio's published v1 numbers; v2 endpoints 10/s burst 10,
	// /v2/persons 30/s burst 30 (third-party observations).
	V2Limits map[string]Bucket // by endpoint pattern, e.g. "GET /v2/persons"
	// RetryAfterSeconds, when positive, adds Retry-After to 429 answers;
	// Personio sends none by default.
	RetryAfterSeconds int

	// Faults are queued at start, as InjectFault would (a simulator that
	// misbehaves from its first answer).
	Faults []Fault
	// Webhooks shapes webhook deliveries (see WebhookOptions).
	Webhooks WebhookOptions
}

func (o Options) withDefaults() Options {
	switch {
	case o.Employees == 0:
		o.Employees = 200
	case o.Employees < 0:
		o.Employees = 0
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = berlin()
	}
	if o.EmailDomain == "" {
		o.EmailDomain = "alpenwerk.example"
	}
	if len(o.Credentials) == 0 {
		o.Credentials = []Credential{{ClientID: DefaultClientID, ClientSecret: DefaultClientSecret}}
	}
	for i := range o.Credentials {
		if o.Credentials[i].TokenMode == "" {
			o.Credentials[i].TokenMode = TokenStable
		}
		if o.Credentials[i].Scopes == nil {
			o.Credentials[i].Scopes = AllScopes()
		}
	}
	if o.V1DefaultLimit == 0 {
		o.V1DefaultLimit = 50
	}
	if o.V1DateFormat == "" {
		o.V1DateFormat = DateColon
	}
	if o.V1EmptyValue == "" {
		o.V1EmptyValue = EmptyNull
	}
	if o.V1UpdatedSinceLocation == nil {
		o.V1UpdatedSinceLocation = o.Location
	}
	if o.V1InvalidTokenStatus == 0 {
		o.V1InvalidTokenStatus = 401
	}
	if o.V2MissingScopeStatus == 0 {
		o.V2MissingScopeStatus = 403
	}
	limits := map[string]Bucket{"GET /v2/persons": {Rate: 30, Burst: 30}}
	for k, v := range o.V2Limits {
		limits[k] = v
	}
	o.V2Limits = limits
	return o
}

// berlin loads the default company zone; without zone data on the machine
// it falls back to a fixed CET offset rather than failing.
func berlin() *time.Location {
	if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
}

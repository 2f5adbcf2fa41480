// Package mirror turns Personio into identities and groups and keeps the
// store in step with it.
//
// The policy (configuration, CEL attribute mapping, lifecycle dates, group
// rules) is a pure function of a record, a date and the configuration. On
// top of it sit the planner, which diffs what the policy wants against the
// directory and puts the guard's limits on what changes access; the engine,
// which fetches from Personio, confirms vanished people, applies plans and
// records every run; and the scheduler, which runs the engine on an
// interval under a leader lock and releases runs an administrator approves.
// docs/configuration.md and docs/operations.md describe what they do.
package mirror

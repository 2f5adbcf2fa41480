package entrasim

import (
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/push/pushtest"
)

// The methods below are the simulator's controls for tests and demos; the
// ones the conformance suite uses make Sim a pushtest.Sim.
var _ pushtest.Sim = (*Sim)(nil)

// Tenant returns the account the tenant holds for an employeeId.
func (s *Sim) Tenant(employeeID string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.tenant.users[employeeID]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// User returns the account for a Personio id (the employeeId it is matched
// by) in the suite's terms. Its TargetID is the employeeId: bulkUpload
// addresses accounts (and managers) by it, never by the object id, so it is
// the id the Entra target records; the object id is in Tenant.
func (s *Sim) User(personioID string) (pushtest.SimUser, bool) {
	u, ok := s.Tenant(personioID)
	if !ok {
		return pushtest.SimUser{}, false
	}
	return pushtest.SimUser{
		TargetID: u.EmployeeID, Login: u.UserPrincipalName, GivenName: u.GivenName, FamilyName: u.Surname,
		DisplayName: u.DisplayName, Department: u.Department, Active: u.AccountEnabled,
		ManagerPersonioID: u.ManagerEmployeeID,
	}, true
}

// Users counts the tenant's accounts.
func (s *Sim) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tenant.users)
}

// Group: the API-driven apps provision users only.
func (s *Sim) Group(string) (pushtest.SimGroup, bool) { return pushtest.SimGroup{}, false }

// Writes counts the user operations bulkUpload accepted.
func (s *Sim) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Reject makes the person's records fail in the provisioning logs with a
// data error until Accept.
func (s *Sim) Reject(personioID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[personioID] = true
}

func (s *Sim) Accept(personioID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rejected, personioID)
}

// Throttle makes the next n Graph requests answer 429 with Retry-After.
func (s *Sim) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.throttleFor = n, retryAfter
}

// Tamper renames the account behind the product's back.
func (s *Sim) Tamper(personioID, displayName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.tenant.users[personioID]; ok {
		u.DisplayName = displayName
	}
}

// Settle processes every staged upload now (unless the job is paused) and
// makes every log entry visible, as if the log delay had passed.
func (s *Sim) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.process(s.opts.Now(), func(queued) bool { return true })
	for _, e := range s.logs {
		e.visible = true
	}
}

// ExpireTokens invalidates every access token issued so far.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// ExpireSecret makes the token endpoint refuse the client secret as
// expired (AADSTS7000222) until RenewSecret.
func (s *Sim) ExpireSecret() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secretExpiry = true
}

func (s *Sim) RenewSecret() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secretExpiry = false
}

// FailNext makes the next uploads answer the given statuses (500, 503),
// one each.
func (s *Sim) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, statuses...)
}

// SetBucketFull makes uploads answer the "bucket full" 500 while on.
func (s *Sim) SetBucketFull(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucketFull = on
}

// SetJobStatus pauses or quarantines the job (uploads are staged but not
// processed) or makes it active again.
func (s *Sim) SetJobStatus(st JobStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = st
}

// Queued counts staged operations not processed yet.
func (s *Sim) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Throttled counts the requests answered 429 (limits and Throttle).
func (s *Sim) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// LogEntries counts the provisioning log entries written so far, visible or
// not.
func (s *Sim) LogEntries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logs)
}

// AddUnmanagedAccount adds an account this job does not manage (created by
// hand, or by another app), holding a UPN and, in AD, a sAMAccountName:
// records that want either fail as Entra's do.
func (s *Sim) AddUnmanagedAccount(upn, samAccountName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	holder := "unmanaged:" + newID()
	if upn != "" {
		s.tenant.upns[strings.ToLower(upn)] = holder
	}
	if samAccountName != "" {
		s.tenant.sams[strings.ToLower(samAccountName)] = holder
	}
}

// LogReads counts the provisioning-log pages served.
func (s *Sim) LogReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logReads
}

// SetAgentActive switches the AD provisioning agent on or off; while it is
// off, uploads are accepted but not processed.
func (s *Sim) SetAgentActive(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agentDown = !on
	if on {
		s.processDue(s.opts.Now())
	}
}

// Requests counts every request the simulator served.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

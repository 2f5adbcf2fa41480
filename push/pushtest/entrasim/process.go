package entrasim

import (
	"strings"
	"time"
	"unicode/utf8"
)

// User is an account in the simulated tenant (Entra ID) or domain (AD).
type User struct {
	ObjectID          string
	EmployeeID        string // matched with the record's externalId
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	JobTitle          string
	Department        string
	Division          string
	CompanyName       string
	CostCenter        string
	EmployeeNumber    string
	BusinessPhone     string
	AccountEnabled    bool
	ManagerEmployeeID string // the manager as resolved; empty without one
	HireDate          string // employeeHireDate (AD: extensionAttribute2)
	LeaveDate         string // employeeLeaveDateTime (AD: extensionAttribute3)
	Office            string // physicalDeliveryOfficeName / officeLocation
	// AD only.
	SAMAccountName string
	ParentDN       string // the OU the account lives in
}

type tenant struct {
	users   map[string]*User  // by employeeId
	upns    map[string]string // lowercased UPN → employeeId
	sams    map[string]string // lowercased sAMAccountName → employeeId
	ous     map[string]bool   // lowercased DN
	pending map[string]string // employeeId → manager externalId not yet resolved
}

func newTenant(o Options) *tenant {
	t := &tenant{users: map[string]*User{}, upns: map[string]string{}, sams: map[string]string{}, ous: map[string]bool{}, pending: map[string]string{}}
	t.ous[strings.ToLower(o.DefaultContainer)] = true
	for _, ou := range o.OUs {
		t.ous[strings.ToLower(ou)] = true
	}
	return t
}

// entry is one provisioning log entry (provisioningObjectSummary).
type entry struct {
	ID, CycleID, ChangeID string
	At                    time.Time
	Action                string // create, update, disable, other
	Status                string // success, warning, failure, skipped
	ErrorCode, Reason     string
	Category              string
	SourceID, SourceName  string
	TargetID              string
	Steps                 []step
	Modified              []change
	visible               bool
}

type step struct{ Name, Type, Status, Description string }

type change struct{ Name, Old, New string }

// Error codes of per-record failures. Microsoft documents the UPN one; the
// others are the simulator's names for failures whose code Microsoft does
// not publish.
const (
	CodeDuplicateUPN     = "AzureActiveDirectoryInvalidUserPrincipalName"
	CodeRejected         = "AzureActiveDirectoryInvalidProperty"
	CodeManagerUnknown   = "UnresolvedManagerReference"
	CodeNoSuperior       = "HybridSynchronizationActiveDirectoryOperationsError"
	CodeConstraint       = "HybridSynchronizationActiveDirectoryConstraintViolation"
	CodeSAMNotUnique     = "HybridSynchronizationActiveDirectoryAttributeValueNotUnique"
	categoryData         = "nonServiceFailure"
	maxSAMAccountName    = 20
	maxADComponentLength = 64
)

// processDue processes the queued uploads whose processing time has come,
// then resolves manager references left open. Caller holds s.mu.
func (s *Sim) processDue(now time.Time) {
	s.process(now, func(q queued) bool { return !q.at.Add(s.opts.ProcessDelay).After(now) })
}

func (s *Sim) process(now time.Time, due func(queued) bool) {
	if s.status != JobActive || len(s.queue) == 0 || (s.opts.Directory == AD && s.agentDown) {
		return
	}
	cycle := newID()
	n := 0
	for n < len(s.queue) && due(s.queue[n]) {
		s.logEntry(now, cycle, s.apply(s.queue[n].rec))
		n++
	}
	if n == 0 {
		return
	}
	s.queue = s.queue[n:]
	s.resolveManagers(now, cycle)
}

// logEntry stamps an entry; entries of one cycle are a millisecond apart,
// as processing takes time, which keeps their order visible in the times.
func (s *Sim) logEntry(now time.Time, cycle string, e *entry) {
	at := now
	if len(s.logs) > 0 {
		if last := s.logs[len(s.logs)-1].At; !at.After(last) {
			at = last.Add(time.Millisecond)
		}
	}
	e.ID, e.CycleID, e.ChangeID, e.At = newID(), cycle, newID(), at
	s.logs = append(s.logs, e)
}

// apply runs one record through the job: scoping, matching, the attribute
// mapping and the export, and returns its log entry.
func (s *Sim) apply(rec Record) *entry {
	e := &entry{SourceID: rec.ExternalID, SourceName: rec.DisplayName, Action: "other"}
	e.Steps = append(e.Steps, step{"EntryImport", "import", "success", "Received the user from the API."})
	if s.opts.InScope != nil && !s.opts.InScope(rec) {
		e.Status = "skipped"
		e.Reason = "The user is not in scope of the app's scoping filter."
		e.Steps = append(e.Steps, step{"EntrySynchronizationScoping", "scoping", "skipped", e.Reason})
		return e
	}
	cur, exists := s.tenant.users[rec.ExternalID]
	e.Steps = append(e.Steps, step{"EntryMatching", "matching", "success", matchText(exists)})
	if s.rejected[rec.ExternalID] {
		return fail(e, createOrUpdate(exists), CodeRejected, "The target rejected a property value of the user.")
	}
	next := User{}
	if exists {
		next = *cur
	}
	s.mapRecord(rec, &next, exists)
	if code, reason := s.constraints(rec, &next, exists); code != "" {
		return fail(e, createOrUpdate(exists), code, reason)
	}
	if !exists {
		next.ObjectID = newID()
	}
	old := User{}
	if exists {
		old = *cur
	}
	e.Modified = diffUsers(old, next, s.opts.Directory)
	e.TargetID = next.ObjectID
	e.Status = "success"
	switch {
	case !exists:
		e.Action = "create"
	case old.AccountEnabled && !next.AccountEnabled:
		e.Action = "disable"
	case len(e.Modified) > 0:
		e.Action = "update"
	}
	s.store(old, &next, exists)
	if rec.Manager != "" {
		if _, ok := s.tenant.users[rec.Manager]; ok && rec.Manager != rec.ExternalID {
			s.setManager(&next, rec.Manager, e)
		} else {
			s.tenant.pending[rec.ExternalID] = rec.Manager
			e.Status = "warning"
			e.ErrorCode = CodeManagerUnknown
			e.Reason = "The manager reference could not be resolved: no user in scope has the manager's externalId yet."
			e.Category = categoryData
		}
	}
	e.Steps = append(e.Steps, step{"EntryExport", "export", e.Status, "Provisioned the user."})
	return e
}

func (s *Sim) setManager(u *User, mgr string, e *entry) {
	if u.ManagerEmployeeID != mgr {
		e.Modified = append(e.Modified, change{"manager", u.ManagerEmployeeID, mgr})
		if e.Action == "other" {
			e.Action = "update"
		}
	}
	u.ManagerEmployeeID = mgr
	s.tenant.users[u.EmployeeID].ManagerEmployeeID = mgr
	delete(s.tenant.pending, u.EmployeeID)
}

// resolveManagers retries the references left open, as the service's later
// pass does, and logs an update for each one it sets.
func (s *Sim) resolveManagers(now time.Time, cycle string) {
	for emp, mgr := range s.tenant.pending {
		u, ok := s.tenant.users[emp]
		if !ok {
			delete(s.tenant.pending, emp)
			continue
		}
		if _, ok := s.tenant.users[mgr]; !ok {
			continue
		}
		e := &entry{SourceID: emp, SourceName: u.DisplayName, TargetID: u.ObjectID, Action: "update", Status: "success"}
		s.setManager(u, mgr, e)
		e.Steps = []step{{"EntryExportUpdate", "referenceResolution", "success", "Set the manager reference."}}
		s.logEntry(now, cycle, e)
	}
}

// mapRecord applies the attribute mapping docs/entra.md and
// docs/active-directory.md configure: Entra's default mapping plus the
// custom namespace. Attributes the record leaves out keep their value, as
// with "flow null values" off.
func (s *Sim) mapRecord(rec Record, u *User, exists bool) {
	set := func(dst *string, v string) {
		if v != "" || s.opts.FlowNulls {
			*dst = v
		}
	}
	u.EmployeeID = rec.ExternalID
	if rec.Active != nil {
		u.AccountEnabled = *rec.Active
	}
	set(&u.DisplayName, rec.DisplayName)
	set(&u.GivenName, rec.GivenName)
	set(&u.Surname, rec.FamilyName)
	set(&u.JobTitle, rec.Title)
	set(&u.Department, rec.Department)
	set(&u.Division, rec.Division)
	set(&u.CompanyName, rec.Organization)
	set(&u.CostCenter, rec.CostCenter)
	set(&u.EmployeeNumber, rec.EmployeeNumber)
	set(&u.BusinessPhone, rec.WorkPhone)
	ext := rec.Extension
	set(&u.HireDate, ext["hireDate"])
	set(&u.LeaveDate, ext["leaveDate"])
	set(&u.Office, ext["office"])
	upn := rec.UserName
	if s.opts.Directory == AD {
		if v := ext["userPrincipalName"]; v != "" {
			upn = v
		}
		if dn := ext["parentDistinguishedName"]; dn != "" {
			u.ParentDN = dn
		} else if !exists {
			u.ParentDN = s.opts.DefaultContainer
		}
	}
	if upn != "" {
		u.UserPrincipalName = upn
	}
}

// constraints checks what the directory refuses: a UPN another account
// holds, and in AD an unknown OU, an invalid or taken sAMAccountName and
// over-long names. On create it also picks the sAMAccountName, the first
// free candidate, as SelectUniqueValue does.
func (s *Sim) constraints(rec Record, u *User, exists bool) (string, string) {
	if u.UserPrincipalName == "" {
		return CodeDuplicateUPN, "The userPrincipalName is empty; the mapping gives it no value."
	}
	if holder, ok := s.tenant.upns[strings.ToLower(u.UserPrincipalName)]; ok && holder != u.EmployeeID {
		return CodeDuplicateUPN, "Another object already uses the userPrincipalName value; it must be unique."
	}
	if s.opts.Directory != AD {
		return "", ""
	}
	if !s.tenant.ous[strings.ToLower(u.ParentDN)] {
		return CodeNoSuperior, "OperationsError: No superior reference has been configured for the directory service (the parentDistinguishedName does not exist)."
	}
	if utf8.RuneCountInString(u.CompanyName) > maxADComponentLength || utf8.RuneCountInString(u.DisplayName) > maxADComponentLength {
		return CodeConstraint, "ConstraintViolation: CONSTRAINT_ATT_TYPE (company or CN longer than 64 characters)."
	}
	if exists {
		return "", ""
	}
	for _, key := range []string{"sAMAccountName", "sAMAccountName2", "sAMAccountName3"} {
		cand := rec.Extension[key]
		if cand == "" {
			continue
		}
		if _, taken := s.tenant.sams[strings.ToLower(cand)]; taken {
			continue
		}
		if !validSAM(cand) {
			return CodeConstraint, "ConstraintViolation: the sAMAccountName is longer than 20 characters or holds a character AD refuses."
		}
		u.SAMAccountName = cand
		return "", ""
	}
	return CodeSAMNotUnique, "SelectUniqueValue found no free sAMAccountName among the candidates."
}

func validSAM(v string) bool {
	if utf8.RuneCountInString(v) > maxSAMAccountName || strings.HasSuffix(v, ".") {
		return false
	}
	return !strings.ContainsAny(v, `"\/[]:;|=,+*?<>@ `)
}

func (s *Sim) store(old User, next *User, exists bool) {
	if exists && !strings.EqualFold(old.UserPrincipalName, next.UserPrincipalName) {
		delete(s.tenant.upns, strings.ToLower(old.UserPrincipalName))
	}
	s.tenant.upns[strings.ToLower(next.UserPrincipalName)] = next.EmployeeID
	if next.SAMAccountName != "" {
		s.tenant.sams[strings.ToLower(next.SAMAccountName)] = next.EmployeeID
	}
	u := *next
	s.tenant.users[next.EmployeeID] = &u
}

func diffUsers(a, b User, dir Directory) []change {
	var out []change
	add := func(name, x, y string) {
		if x != y {
			out = append(out, change{name, x, y})
		}
	}
	add("employeeId", a.EmployeeID, b.EmployeeID)
	add("userPrincipalName", a.UserPrincipalName, b.UserPrincipalName)
	add("displayName", a.DisplayName, b.DisplayName)
	add("givenName", a.GivenName, b.GivenName)
	add("surname", a.Surname, b.Surname)
	add("jobTitle", a.JobTitle, b.JobTitle)
	add("department", a.Department, b.Department)
	add("companyName", a.CompanyName, b.CompanyName)
	add("employeeHireDate", a.HireDate, b.HireDate)
	add("employeeLeaveDateTime", a.LeaveDate, b.LeaveDate)
	if a.AccountEnabled != b.AccountEnabled || a.EmployeeID == "" {
		if dir == AD {
			add("accountDisabled", boolText(!a.AccountEnabled, a.EmployeeID == ""), boolText(!b.AccountEnabled, false))
		} else {
			add("accountEnabled", boolText(a.AccountEnabled, a.EmployeeID == ""), boolText(b.AccountEnabled, false))
		}
	}
	if dir == AD {
		add("sAMAccountName", a.SAMAccountName, b.SAMAccountName)
		add("parentDistinguishedName", a.ParentDN, b.ParentDN)
	}
	return out
}

func boolText(b, none bool) string {
	if none {
		return ""
	}
	if b {
		return "True"
	}
	return "False"
}

func fail(e *entry, action, code, reason string) *entry {
	e.Action, e.Status, e.ErrorCode, e.Reason, e.Category = action, "failure", code, reason, categoryData
	e.Steps = append(e.Steps, step{"EntryExport", "export", "failure", reason})
	return e
}

func createOrUpdate(exists bool) string {
	if exists {
		return "update"
	}
	return "create"
}

func matchText(exists bool) string {
	if exists {
		return "Matched an existing user by employeeId."
	}
	return "No user matched by employeeId; the user will be created."
}

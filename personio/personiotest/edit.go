package personiotest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// edit applies changes to one person the way Personio records them: only
// a real change counts, and it bumps the modification times that
// updated_since (v1) and updated_at (v2) look at. Every write path (v1, v2,
// /_sim/) goes through it.
type edit struct {
	c   *company
	p   *person
	e   *employment
	now time.Time
	// bumpPerson: an employment change also bumps the person's updated_at.
	bumpPerson        bool
	personChanged     bool
	employmentChanged bool
}

func (c *company) edit(p *person, now time.Time, bumpPerson bool) *edit {
	return &edit{c: c, p: p, e: p.current(), now: now.UTC().Truncate(time.Second), bumpPerson: bumpPerson}
}

// mark records that a v1 attribute changed.
func (ed *edit) mark(attr string, personLevel bool) {
	if ed.p.changed == nil {
		ed.p.changed = map[string]time.Time{}
	}
	ed.p.changed[attr] = ed.now
	if personLevel {
		ed.personChanged = true
	} else {
		ed.employmentChanged = true
	}
}

// finish bumps the modification times.
func (ed *edit) finish() {
	if !ed.personChanged && !ed.employmentChanged {
		return
	}
	if ed.personChanged || ed.bumpPerson {
		ed.p.UpdatedAt = ed.now
	}
	if ed.employmentChanged {
		ed.e.UpdatedAt = ed.now
	}
	ed.p.LastModified = ed.now
	ed.p.changed["last_modified_at"] = ed.now
	ed.c.emitEdit(ed)
}

func (ed *edit) personText(attr string, field *string, value string) {
	if *field != value {
		*field = value
		ed.mark(attr, true)
	}
}

func (ed *edit) employmentText(attr string, field *string, value string) {
	if *field != value {
		*field = value
		ed.mark(attr, false)
	}
}

func (ed *edit) employmentDate(attr string, field *personio.Date, value personio.Date) {
	if *field != value {
		*field = value
		ed.mark(attr, false)
	}
}

func (ed *edit) employmentRef(attr string, field *int, value int) {
	if *field != value {
		*field = value
		ed.mark(attr, false)
	}
}

func (ed *edit) costCenters(shares []costShare) {
	if !slices.Equal(ed.e.CostCenters, shares) {
		ed.e.CostCenters = shares
		ed.mark("cost_centers", false)
	}
}

func (ed *edit) custom(i int, value string) {
	ed.personText(ed.c.customs[i].Key, &ed.p.Custom[i], value)
}

// email changes the work email, keeping emails unique.
func (ed *edit) email(value string) error {
	value = strings.TrimSpace(value)
	if value == "" || !strings.Contains(value, "@") {
		return fmt.Errorf("email must be an address")
	}
	if owner, taken := ed.c.emails[strings.ToLower(value)]; taken && owner != ed.p.ID {
		return fmt.Errorf("email is already used by another person")
	}
	delete(ed.c.emails, strings.ToLower(ed.p.Email))
	ed.c.emails[strings.ToLower(value)] = ed.p.ID
	ed.personText("email", &ed.p.Email, value)
	return nil
}

// clearEmail removes the work email, as an HR admin can for a person who
// has none (a warehouse worker, an external).
func (ed *edit) clearEmail() {
	delete(ed.c.emails, strings.ToLower(ed.p.Email))
	ed.personText("email", &ed.p.Email, "")
}

// supervisor sets the supervisor; 0 removes it. allowCycles is for the
// control API, whose users may want to hand a client a cycle on purpose.
func (ed *edit) supervisor(id int, allowCycles bool) error {
	if id != 0 {
		if id == ed.p.ID {
			return fmt.Errorf("a person cannot supervise themselves")
		}
		if _, ok := ed.c.byID[id]; !ok {
			return fmt.Errorf("Supervisor with ID %d not found", id)
		}
		if !allowCycles && ed.c.supervises(ed.p.ID, id) {
			return fmt.Errorf("supervisor %d reports to %d already", id, ed.p.ID)
		}
	}
	ed.employmentRef("supervisor", &ed.e.SupervisorID, id)
	return nil
}

// supervises reports whether boss is somewhere above id in the chain.
func (c *company) supervises(boss, id int) bool {
	seen := map[int]bool{}
	for id != 0 && !seen[id] {
		seen[id] = true
		p, ok := c.byID[id]
		if !ok {
			return false
		}
		id = p.current().SupervisorID
		if id == boss {
			return true
		}
	}
	return false
}

// rehire starts a new employment on the given day, carrying the org data of
// the last one over; the old one stays as history.
func (ed *edit) rehire(start, today personio.Date) {
	old := ed.e
	e := &employment{
		ID:            ed.c.newEmploymentID(),
		Status:        "active",
		Type:          old.Type,
		Position:      old.Position,
		HireDate:      start,
		SupervisorID:  old.SupervisorID,
		OfficeID:      old.OfficeID,
		DepartmentID:  old.DepartmentID,
		TeamID:        old.TeamID,
		LegalEntityID: old.LegalEntityID,
		CostCenters:   slices.Clone(old.CostCenters),
		WeeklyHours:   old.WeeklyHours,
		CreatedAt:     ed.now,
		UpdatedAt:     ed.now,
	}
	if today.Before(start) {
		e.Status = "onboarding"
	}
	if old.Status != "inactive" {
		old.Status = "inactive"
		old.UpdatedAt = ed.now
	}
	ed.p.Employments = slices.Insert(ed.p.Employments, 0, e)
	ed.e = e
	for _, attr := range []string{"status", "hire_date", "termination_date", "last_working_day", "contract_end_date"} {
		ed.mark(attr, false)
	}
}

func validStatus(s string) bool {
	switch s {
	case "active", "onboarding", "leave", "inactive":
		return true
	}
	return false
}

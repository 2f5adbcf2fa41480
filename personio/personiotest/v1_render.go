package personiotest

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/personio-scim/personio-scim/personio"
)

// v1 answers are the bulk of what the simulator writes (a quarter megabyte
// per page of 100), so they are appended as bytes directly instead of going
// through maps and encoding/json: benchmarks fetching 10,000 people measure
// the client, not the simulator.

// jsonValue is an attribute value that can write itself as JSON.
type jsonValue interface {
	appendJSON(b []byte) []byte
}

type (
	jString string
	jNumber float64
	jInt    int
	jNull   struct{}
	jList   struct{} // an empty list
	// jRelation is {"type": …, "attributes": {"id": …, "name": …}}.
	jRelation struct {
		typ  string
		id   int
		name string
	}
	jCostCenters []jCostCenter
	jCostCenter  struct {
		id      int
		name    string
		percent int
	}
	// jSupervisor is an employee relation whose id is an attribute object.
	jSupervisor int
)

func (v jString) appendJSON(b []byte) []byte { return appendQuoted(b, string(v)) }
func (v jNumber) appendJSON(b []byte) []byte {
	return strconv.AppendFloat(b, float64(v), 'f', -1, 64)
}
func (v jInt) appendJSON(b []byte) []byte { return strconv.AppendInt(b, int64(v), 10) }
func (jNull) appendJSON(b []byte) []byte  { return append(b, "null"...) }
func (jList) appendJSON(b []byte) []byte  { return append(b, "[]"...) }
func (v jRelation) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendQuoted(b, v.typ)
	b = append(b, `,"attributes":{"id":`...)
	b = strconv.AppendInt(b, int64(v.id), 10)
	b = append(b, `,"name":`...)
	b = appendQuoted(b, v.name)
	return append(b, "}}"...)
}

func (v jCostCenters) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, cc := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"CostCenter","attributes":{"id":`...)
		b = strconv.AppendInt(b, int64(cc.id), 10)
		b = append(b, `,"name":`...)
		b = appendQuoted(b, cc.name)
		b = append(b, `,"percentage":`...)
		b = strconv.AppendInt(b, int64(cc.percent), 10)
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

func (v jSupervisor) appendJSON(b []byte) []byte {
	b = append(b, `{"type":"Employee","attributes":{"id":{"label":"ID","value":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	return append(b, `,"type":"integer","universal_id":"id"}}}`...)
}

// appendQuoted writes s as a JSON string; invalid UTF-8 becomes U+FFFD as
// encoding/json does.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// attrWriter appends the members of an employee's attributes object.
type attrWriter struct {
	b     []byte
	s     *Server
	view  v1View
	count int
}

// put writes one attribute if the view shows it.
func (w *attrWriter) put(key string, value jsonValue) {
	if !w.view.shows(key) {
		return
	}
	def := w.s.v1Def(key)
	w.write(key, def.Label, def.Type, def.UniversalID, "", value)
}

func (w *attrWriter) write(key, label, typ, universalID, currency string, value jsonValue) {
	if w.count > 0 {
		w.b = append(w.b, ',')
	}
	w.count++
	w.b = appendQuoted(w.b, key)
	w.b = append(w.b, `:{"label":`...)
	w.b = appendQuoted(w.b, label)
	w.b = append(w.b, `,"value":`...)
	w.b = value.appendJSON(w.b)
	w.b = append(w.b, `,"type":`...)
	w.b = appendQuoted(w.b, typ)
	w.b = append(w.b, `,"universal_id":`...)
	if universalID == "" {
		w.b = append(w.b, "null"...)
	} else {
		w.b = appendQuoted(w.b, universalID)
	}
	if currency != "" {
		w.b = append(w.b, `,"currency":`...)
		w.b = appendQuoted(w.b, currency)
	}
	w.b = append(w.b, '}')
}

// appendV1Employee writes a person the way v1 does:
// {"type":"Employee","attributes":{…}}.
func (s *Server) appendV1Employee(b []byte, p *person, v v1View) []byte {
	e := p.current()
	w := &attrWriter{b: append(b, `{"type":"Employee","attributes":{`...), s: s, view: v}
	w.put("id", jInt(p.ID))
	w.put("first_name", jString(p.FirstName))
	w.put("last_name", jString(p.LastName))
	w.put("preferred_name", jString(p.PreferredName))
	w.put("email", jString(p.Email))
	w.put("gender", jString(p.Gender))
	w.put("status", jString(status(e, v.today, s.opts.StatusFollowsDates)))
	w.put("position", jString(e.Position))
	w.put("supervisor", s.v1Supervisor(e.SupervisorID))
	w.put("employment_type", jString(e.Type))
	w.put("weekly_working_hours", jNumber(e.WeeklyHours))
	w.put("hire_date", s.v1Date(e.HireDate))
	w.put("contract_end_date", s.v1Date(e.ContractEnd))
	w.put("termination_date", s.v1Date(e.TerminationDate))
	w.put("termination_type", stringOrNull(e.TerminationType))
	w.put("termination_reason", stringOrNull(e.TerminationReason))
	w.put("probation_period_end", s.v1Date(e.ProbationEnd))
	w.put("created_at", s.v1Timestamp(p.CreatedAt))
	w.put("last_modified_at", s.v1Timestamp(p.LastModified))
	w.put("subcompany", s.v1Org("Subcompany", kindLegalEntity, e.LegalEntityID))
	w.put("office", s.v1Org("Office", kindOffice, e.OfficeID))
	w.put("department", s.v1Org("Department", kindDepartment, e.DepartmentID))
	w.put("team", s.v1Org("Team", kindTeam, e.TeamID))
	w.put("cost_centers", s.v1CostCenters(e.CostCenters))
	w.put("last_working_day", s.v1Date(e.LastWorkingDay))
	w.put("profile_picture", jString("https://api.personio.de/v1/company/employees/"+strconv.Itoa(p.ID)+"/profile-picture"))
	s.putSalary(w, p)
	for i, def := range s.co.customs {
		if v.shows(def.Key) {
			w.write(def.Key, def.Label, def.Type, def.UniversalID, "", s.v1Custom(def, p.Custom[i]))
		}
	}
	return append(w.b, "}}"...)
}

// putSalary writes the pay attributes, which carry a currency.
func (s *Server) putSalary(w *attrWriter, p *person) {
	pay := func(key, currency string, value jsonValue) {
		if w.view.shows(key) {
			def := s.v1Def(key)
			w.write(key, def.Label, def.Type, def.UniversalID, currency, value)
		}
	}
	pay("fix_salary", "EUR", jInt(p.FixSalary))
	pay("fix_salary_interval", "", jString("monthly"))
	pay("hourly_salary", "EUR", jNumber(roundCents(p.HourlySalary)))
}

func roundCents(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

func stringOrNull(s string) jsonValue {
	if s == "" {
		return jNull{}
	}
	return jString(s)
}

// v1Custom renders a custom value by its type: numbers as numbers, dates
// as local midnight, the rest as text.
func (s *Server) v1Custom(def customDef, value string) jsonValue {
	switch def.Type {
	case "integer", "decimal":
		if n, err := strconv.ParseFloat(value, 64); err == nil {
			return jNumber(n)
		}
		return jNull{}
	case "date":
		if d, err := personio.ParseDate(value); err == nil {
			return s.v1Date(d)
		}
		return jNull{}
	}
	return jString(value)
}

// empty is the unset form of a relation, per Options.V1EmptyValue.
func (s *Server) empty() jsonValue {
	switch s.opts.V1EmptyValue {
	case EmptyString:
		return jString("")
	case EmptyList:
		return jList{}
	}
	return jNull{}
}

func (s *Server) v1Org(typ string, kind orgKind, id int) jsonValue {
	u, ok := s.co.orgs[kind].byID[id]
	if !ok {
		return s.empty()
	}
	return jRelation{typ: typ, id: u.ID, name: u.Name}
}

func (s *Server) v1CostCenters(shares []costShare) jsonValue {
	if len(shares) == 0 {
		return s.empty()
	}
	out := make(jCostCenters, 0, len(shares))
	for _, cc := range shares {
		out = append(out, jCostCenter{id: cc.ID, name: s.co.orgs[kindCostCenter].name(cc.ID), percent: cc.Percent})
	}
	return out
}

func (s *Server) v1Supervisor(id int) jsonValue {
	if id == 0 {
		return s.empty()
	}
	return jSupervisor(id)
}

// v1Date writes a day as local midnight in the company zone, in the
// configured form; null when unset.
func (s *Server) v1Date(d personio.Date) jsonValue {
	if d.IsZero() {
		return jNull{}
	}
	return jString(s.formatV1Time(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, s.opts.Location)))
}

func (s *Server) v1Timestamp(t time.Time) jsonValue {
	if t.IsZero() {
		return jNull{}
	}
	return jString(s.formatV1Time(t.In(s.opts.Location)))
}

func (s *Server) formatV1Time(t time.Time) string {
	switch s.opts.V1DateFormat {
	case DateNoColon:
		return t.Format("2006-01-02T15:04:05-0700")
	case DateUTC:
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format(time.RFC3339)
}

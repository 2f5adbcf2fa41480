package googlesim

import (
	"slices"
	"strings"
)

// User is a user as tests see it.
type User struct {
	ID           string
	PrimaryEmail string
	Aliases      []string
	GivenName    string
	FamilyName   string
	DisplayName  string
	Title        string
	Department   string
	CostCenter   string
	OrgUnitPath  string
	Suspended    bool
	ManagerEmail string
	// ManagerPersonioID is the Personio id of the user the manager
	// relation names, empty when it names nobody the tenant knows.
	ManagerPersonioID string
	PersonioID        string
	ETag              string
}

// Group is a group as tests see it.
type Group struct {
	ID      string
	Email   string
	Name    string
	Aliases []string
	// Members are the members' primary emails (addresses for members who
	// are not users), sorted.
	Members []string
	// MemberPersonioIDs are the Personio ids of the members that are users
	// with one, sorted.
	MemberPersonioIDs []string
}

func (s *Sim) view(u *user) User {
	v := User{
		ID: u.id, PrimaryEmail: u.str("primaryEmail"), Aliases: slices.Clone(u.aliases),
		GivenName: u.name("givenName"), FamilyName: u.name("familyName"), DisplayName: u.name("displayName"),
		Title: u.organization("title"), Department: u.organization("department"),
		CostCenter: u.organization("costCenter"), OrgUnitPath: u.str("orgUnitPath"),
		Suspended: u.suspended(), ManagerEmail: u.manager(), PersonioID: u.personioID(),
		ETag: s.etag(u.id, u.version),
	}
	if v.OrgUnitPath == "" {
		v.OrgUnitPath = "/"
	}
	if m := s.userByKey(v.ManagerEmail); m != nil && v.ManagerEmail != "" {
		v.ManagerPersonioID = m.personioID()
	}
	return v
}

// UserByPersonioID returns the user whose externalIds organization value
// is the Personio id.
func (s *Sim) UserByPersonioID(personioID string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.personioID() == personioID {
			return s.view(u), true
		}
	}
	return User{}, false
}

// UserByKey returns the user with that id, primary email or alias.
func (s *Sim) UserByKey(key string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByKey(key); u != nil {
		return s.view(u), true
	}
	return User{}, false
}

// UserCount counts the tenant's users.
func (s *Sim) UserCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// AddUser creates a user as an administrator would in the Admin console,
// bypassing quotas and faults: email, names and, when not empty, the
// Personio id as externalIds organization. It returns the user's id.
func (s *Sim) AddUser(email, givenName, familyName, personioID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := map[string]any{
		"primaryEmail": email,
		"name":         map[string]any{"givenName": givenName, "familyName": familyName},
	}
	if personioID != "" {
		data["externalIds"] = []any{map[string]any{"type": "organization", "value": personioID}}
	}
	u := &user{id: s.nextID(), created: s.now(), version: 1, data: data}
	s.users[u.id] = u
	s.emails[lower(email)] = u.id
	return u.id
}

// SetDisplayName changes a user's name.displayName behind the client's
// back (drift).
func (s *Sim) SetDisplayName(personioID, displayName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.personioID() == personioID {
			name, _ := u.data["name"].(map[string]any)
			if name == nil {
				name = map[string]any{}
				u.data["name"] = name
			}
			name["displayName"] = displayName
			u.version++
			return true
		}
	}
	return false
}

// OrgUnits lists the paths of the tenant's OUs, root included, sorted.
func (s *Sim) OrgUnits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, o := range s.ous {
		out = append(out, o.path)
	}
	slices.Sort(out)
	return out
}

// AddOrgUnit creates an OU path (and its parents) as an administrator would.
func (s *Sim) AddOrgUnit(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := ""
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		cur += "/" + part
		if _, ok := s.ous[lower(cur)]; !ok {
			s.ous[lower(cur)] = &orgUnit{id: "id:03ph" + s.nextID()[10:], name: part, path: cur, version: 1}
		}
	}
}

func (s *Sim) groupView(g *group) Group {
	v := Group{ID: g.id, Email: g.email, Name: g.name, Aliases: slices.Clone(g.aliases)}
	for _, m := range g.members {
		if u, ok := s.users[m.key]; ok {
			v.Members = append(v.Members, u.str("primaryEmail"))
			if pid := u.personioID(); pid != "" {
				v.MemberPersonioIDs = append(v.MemberPersonioIDs, pid)
			}
			continue
		}
		v.Members = append(v.Members, m.email)
	}
	slices.Sort(v.Members)
	slices.Sort(v.MemberPersonioIDs)
	return v
}

// GroupByName returns the group with that name.
func (s *Sim) GroupByName(name string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if g.name == name {
			return s.groupView(g), true
		}
	}
	return Group{}, false
}

// GroupByKey returns the group with that id, email or alias.
func (s *Sim) GroupByKey(key string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groupByKey(key); g != nil {
		return s.groupView(g), true
	}
	return Group{}, false
}

// GroupCount counts the tenant's groups.
func (s *Sim) GroupCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.groups)
}

// AddMember adds a user to a group as an administrator would in the Admin
// console, bypassing quotas and faults.
func (s *Sim) AddMember(groupKey, userKey string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groupByKey(groupKey), s.userByKey(userKey)
	if g == nil || u == nil {
		return false
	}
	g.members[u.id] = &member{key: u.id, role: "MEMBER", kind: "USER"}
	g.version++
	return true
}

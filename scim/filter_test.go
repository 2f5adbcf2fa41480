package scim

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/store"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func TestUserFilters(t *testing.T) {
	_, dir := newFixtureStore(t, company())
	view := dir.View()
	eng := store.DefaultNamespace.GroupID("department:Engineering")
	platform := store.DefaultNamespace.GroupID("team:R&D; Platform")
	all := []string{"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008"}

	tests := []struct {
		filter string
		want   []string // Personio ids
	}{
		{`userName eq "ZOE.SCHAEFER@EXAMPLE.DE"`, []string{"1002"}},
		{`userName Eq "oemer.yildiz@example.de"`, []string{"1004"}},
		{`userName eq "nobody@example.de"`, nil},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjoern.weiss@example.de"`, []string{"1003"}},
		{`externalId eq "1003"`, []string{"1003"}},
		{`externalId eq 1003`, []string{"1003"}},
		{`id eq "` + personID("1004") + `"`, []string{"1004"}},
		{`id eq "` + strings.ToUpper(personID("1004")) + `"`, nil},
		{`name.familyName eq "müller"`, []string{"1001"}},
		{`name.familyName eq "MÜLLER"`, []string{"1001"}},
		{`name.givenName sw "jÜ"`, []string{"1001"}},
		{`displayName co "öM"`, []string{"1004"}},
		{`userName ew "@EXAMPLE.de"`, all},
		{`title ne "SRE"`, []string{"1001", "1002", "1003", "1004", "1005", "1006", "1007"}},
		{`title pr`, all},
		{`nickName pr`, nil},
		{`nickName eq null`, all},
		{`active eq true`, []string{"1001", "1002", "1003", "1004", "1007", "1008"}},
		{`active eq "False"`, []string{"1005", "1006"}},
		{`not (active eq true)`, []string{"1005", "1006"}},
		{`active eq false and ` + ent + `:department eq "Engineering"`, []string{"1006"}},
		{`(department eq "Sales" or department eq "People") and active eq true`, []string{"1003", "1004", "1007"}},
		{`not(title sw "Head") and department eq "Engineering"`, []string{"1002", "1006", "1008"}},
		{`title eq "Head of Engineering" or title eq "Head of Sales"`, []string{"1001", "1004"}},
		{`emails[type eq "work" and value co "oe"]`, []string{"1002", "1003", "1004", "1005"}},
		{`emails[TYPE eq "Work"]`, all},
		{`emails[type eq "home"]`, nil},
		{`emails[primary eq true]`, all},
		{`emails.value eq "LEA.DUBOIS@example.de"`, []string{"1007"}},
		{`emails co "hansen"`, []string{"1008"}},
		{`phoneNumbers pr`, []string{"1001"}},
		{ent + `:manager.value eq "` + personID("1001") + `"`, []string{"1002", "1005", "1008"}},
		{`manager eq "` + personID("1004") + `"`, []string{"1003", "1007"}},
		{ent + `:manager.displayName eq "jürgen müller"`, []string{"1002", "1005", "1008"}},
		{`id eq "` + personID("1002") + `" and manager eq "` + personID("1001") + `"`, []string{"1002"}},
		{`id eq "` + personID("1003") + `" and manager eq "` + personID("1001") + `"`, nil},
		{`groups.value eq "` + platform + `"`, []string{"1002", "1006"}},
		{`groups eq "` + eng + `"`, []string{"1001", "1002", "1006", "1008"}},
		{`groups.display eq "sales"`, []string{"1003", "1004", "1007"}},
		{`groups[display eq "R&D; Platform"]`, []string{"1002", "1006"}},
		{`meta.lastModified gt "2024-05-01T00:00:00Z"`, all},
		{`meta.lastModified lt "2024-05-01T00:00:00.0000000Z"`, nil},
		{`meta.created eq "2024-05-02T08:30:00Z"`, all},
		{`meta.created ge "2024-05-02"`, all},
		{`meta.lastModified ge "0001-01-03T00:00:00.0000000Z" and meta.lastModified le "2024-05-02T08:30:00Z"`, all},
		{`meta.resourceType eq "User"`, all},
		{ent + `:employeeNumber gt "1006"`, []string{"1007", "1008"}},
		{`name.familyName lt "K"`, []string{"1006", "1007", "1008"}},
		{`name.familyName le "köhler"`, []string{"1005", "1006", "1007", "1008"}},
		{`name pr`, all},
		{`userName eq "a\"b"`, nil},
		{`displayName eq "J\u00FCrgen M\u00FCller"`, []string{"1001"}},
		{ent + `:organization eq "beispiel gmbh" and ` + ent + `:costCenter eq "CC-Sales"`, []string{"1003", "1004", "1007"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			expr, err := parseFilter(tt.filter)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			match, err := compileUserFilter(expr, view)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var got []string
			for _, u := range view.Identities() {
				if match(u) {
					got = append(got, u.PersonioID)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
			// The index shortcut must agree with the scan.
			if u, ok := indexedUser(expr, view); ok {
				var viaIndex []string
				if u != nil && match(u) {
					viaIndex = []string{u.PersonioID}
				}
				if !slices.Equal(viaIndex, tt.want) {
					t.Errorf("index shortcut matched %v, want %v", viaIndex, tt.want)
				}
			}
		})
	}
}

func TestGroupFilters(t *testing.T) {
	_, dir := newFixtureStore(t, company())
	view := dir.View()
	eng := store.DefaultNamespace.GroupID("department:Engineering")
	tests := []struct {
		filter string
		want   []string // display names
	}{
		{`displayName eq "engineering"`, []string{"Engineering"}},
		{`displayName eq "R&D; Platform"`, []string{"R&D; Platform"}},
		{`displayName sw "office"`, []string{"Office Berlin"}},
		{`members eq "` + personID("1006") + `"`, []string{"Engineering", "Office Berlin", "R&D; Platform"}},
		{`members.value eq "` + personID("1005") + `"`, []string{"Office Berlin", "People"}},
		{`id eq "` + eng + `" and members eq "` + personID("1002") + `"`, []string{"Engineering"}},
		{`id eq "` + eng + `" and members eq "` + personID("1003") + `"`, nil},
		{`members[display eq "léa dubois"]`, []string{"Office Berlin", "Sales"}},
		{`members.display co "GROß"`, []string{"Engineering", "Office Berlin", "R&D; Platform"}},
		{`not (members pr)`, []string{"Empty Team"}},
		{`externalId eq "x"`, nil},
		{`externalId pr`, nil},
		{`meta.lastModified gt "2020-01-01T00:00:00Z" and displayName eq "Sales"`, []string{"Sales"}},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "People"`, []string{"People"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			expr, err := parseFilter(tt.filter)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			match, err := compileGroupFilter(expr, view)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var got []string
			for _, g := range view.Groups() {
				if match(g) {
					got = append(got, g.DisplayName)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
			if g, ok := indexedGroup(expr, view); ok {
				var viaIndex []string
				if g != nil && match(g) {
					viaIndex = []string{g.DisplayName}
				}
				if !slices.Equal(viaIndex, tt.want) {
					t.Errorf("index shortcut matched %v, want %v", viaIndex, tt.want)
				}
			}
		})
	}
}

func TestInvalidFilters(t *testing.T) {
	_, dir := newFixtureStore(t, company())
	view := dir.View()
	users := []string{
		``,
		`   `,
		`foo eq "x"`,
		`userName eq`,
		`userName eq jyoung`,
		`userName eq 'x'`,
		`name eq "x"`,
		`emails eq true`,
		`active gt true`,
		`active eq "maybe"`,
		`userName eq true`,
		`userName gt null`,
		`meta.lastModified gt "yesterday"`,
		`meta.lastModified co "2024"`,
		`meta.lastModified gt 5`,
		`meta.foo eq "x"`,
		`emails[foo eq "x"]`,
		`title[value eq "x"]`,
		`urn:example:custom:2.0:User:attr eq "x"`,
		`groups.unknown eq "x"`,
		`members eq "x"`,
		`id.value eq "x"`,
		`userName eq "x" and`,
		`(userName eq "x"`,
		strings.Repeat(`title pr or `, 500) + `title pr`,
	}
	for _, f := range users {
		t.Run("user "+f[:min(len(f), 60)], func(t *testing.T) {
			err := compileUser(f, view)
			var fe *filterError
			if !errors.As(err, &fe) || fe.detail == "" {
				t.Fatalf("got %v, want a filter error with a detail", err)
			}
		})
	}
	groups := []string{`userName eq "x"`, `members.foo eq "x"`, ent + `:department eq "x"`, `displayName.x eq "y"`}
	for _, f := range groups {
		t.Run("group "+f, func(t *testing.T) {
			expr, err := parseFilter(f)
			if err == nil {
				_, err = compileGroupFilter(expr, view)
			}
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a filter error", err)
			}
		})
	}
}

func compileUser(f string, view *store.View) error {
	expr, err := parseFilter(f)
	if err != nil {
		return err
	}
	_, err = compileUserFilter(expr, view)
	return err
}

func TestSimpleFilterAcceptance(t *testing.T) {
	tests := []struct {
		in   string
		fast bool
	}{
		{`userName eq "jane@example.com"`, true},
		{`userName  EQ  "Zoë Schäfer"`, true},
		{`name.givenName sw "Jü"`, true},
		{`title pr`, true},
		{`$ref eq "x"`, true},
		{`userName eq ""`, true},
		{`userName eq "a\"b"`, false},
		{`userName eq true`, false},
		{`userName eq "a" and title pr`, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`, false},
		{`emails[type eq "work"]`, false},
		{`userName eq"a"`, false},
		{`userName eqs "a"`, false},
		{`title pr x`, false},
	}
	for _, tt := range tests {
		if _, ok := parseSimpleFilter(tt.in); ok != tt.fast {
			t.Errorf("parseSimpleFilter(%q) accepted = %v, want %v", tt.in, ok, tt.fast)
		}
	}
}

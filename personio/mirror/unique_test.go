package mirror

import (
	"strings"
	"testing"

	"cel.dev/cel-go/common/types"

	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// loginRecipe is the recipe docs/configuration.md shows: the full name,
// the initial and the last name, the Personio id for names without Latin
// letters.
const loginRecipe = `
mapping:
  userName: &login 'unique([default(login(first_name + " " + last_name), "person" + id), login(first_name.substring(0, 1) + " " + last_name)]) + "@alpenwerk.example"'
  emails.work:
    expr: *login
    on_create_only: false
`

func TestUniqueLoginsForNamesakesAndNonLatinNames(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, loginRecipe)
		w.hireColleagues(20) // so that the guard lets one hire through
		var juergens []string
		for range 3 {
			juergens = append(juergens, w.hire(person("Jürgen", "Groß", nil)))
		}
		cyrillic := w.hire(person("Юрий", "Гагарин", nil))
		arabic := w.hire(person("محمد", "علي", nil))
		chinese := w.hire(person("伟", "王", nil))
		rep := w.sync()
		if len(rep.Skipped) != 0 {
			t.Fatalf("skipped: %+v, counts %+v, guard %+v", rep.Skipped, rep.Counts, rep.Guard)
		}
		want := map[string]string{
			juergens[0]: "juergen.gross@alpenwerk.example",
			juergens[1]: "j.gross@alpenwerk.example",
			juergens[2]: "juergen.gross2@alpenwerk.example",
		}
		for pid, login := range want {
			if got := w.mustIdentity(pid).UserName; got != login {
				t.Errorf("person %s: userName %q, want %q", pid, got, login)
			}
		}
		all := append(append([]string{}, juergens...), cyrillic, arabic, chinese)
		first := map[string]string{}
		seen := map[string]string{}
		for _, pid := range all {
			ident := w.mustIdentity(pid)
			if strings.HasPrefix(ident.UserName, "@") || ident.UserName == "" {
				t.Errorf("person %s: userName %q has no login", pid, ident.UserName)
			}
			if other, dup := seen[ident.UserName]; dup {
				t.Errorf("persons %s and %s share userName %q", other, pid, ident.UserName)
			}
			seen[ident.UserName] = pid
			first[pid] = ident.UserName
			if ident.Email != ident.UserName {
				t.Errorf("person %s: email %q, userName %q", pid, ident.Email, ident.UserName)
			}
		}
		for pid, login := range map[string]string{
			cyrillic: "iurii.gagarin@alpenwerk.example",
			arabic:   "person" + arabic + "@alpenwerk.example",
			chinese:  "person" + chinese + "@alpenwerk.example",
		} {
			if got := w.mustIdentity(pid).UserName; got != login {
				t.Errorf("person %s: userName %q, want %q", pid, got, login)
			}
		}

		// Stable across syncs, and a namesake hired later takes the next
		// free candidate without moving anyone.
		w.sync()
		late := w.hire(person("Jürgen", "Groß", nil))
		if rep := w.sync(); len(rep.Skipped) != 0 || rep.Counts.Created != 1 {
			t.Fatalf("skipped: %+v, counts %+v, guard %+v", rep.Skipped, rep.Counts, rep.Guard)
		}
		for _, pid := range all {
			if got := w.mustIdentity(pid).UserName; got != first[pid] {
				t.Errorf("person %s: userName moved from %q to %q", pid, first[pid], got)
			}
			if got := w.mustIdentity(pid).Email; got != first[pid] {
				t.Errorf("person %s: email moved from %q to %q", pid, first[pid], got)
			}
		}
		if got := w.mustIdentity(late).UserName; got != "juergen.gross3@alpenwerk.example" {
			t.Errorf("late namesake: userName %q, want juergen.gross3@alpenwerk.example", got)
		}
	})
}

func TestUniqueKeepsTheHolderOverALowerID(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, loginRecipe)
		anna := w.hire(person("Anna", "Schmidt", nil))
		juergen := w.hire(person("Jürgen", "Groß", nil))
		w.sync()
		w.update(anna, personiotest.Attrs{"first_name": "Jürgen", "last_name": "Groß"})
		w.sync()
		if got := w.mustIdentity(juergen).Email; got != "juergen.gross@alpenwerk.example" {
			t.Errorf("holder's email %q, want it kept", got)
		}
		renamed := w.mustIdentity(anna)
		if renamed.Email != "j.gross@alpenwerk.example" {
			t.Errorf("renamed person's email %q, want the next free candidate", renamed.Email)
		}
		if renamed.UserName != "anna.schmidt@alpenwerk.example" {
			t.Errorf("renamed person's userName %q, want it kept (on_create_only)", renamed.UserName)
		}
	})
}

func TestLoginWithoutLatinLettersIsAPersonError(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, `
mapping:
  userName: 'login(first_name + " " + last_name) + "@alpenwerk.example"'
`)
		chinese := w.hire(person("伟", "王", nil))
		other := w.hire(person("Anna", "Schmidt", nil))
		rep := w.sync()
		if _, ok := w.identity(chinese); ok {
			t.Error("a person without a login got an identity")
		}
		if got := w.mustIdentity(other).UserName; got != "anna.schmidt@alpenwerk.example" {
			t.Errorf("others are blocked: userName %q", got)
		}
		if len(rep.Skipped) != 1 || rep.Skipped[0].PersonID != chinese || !strings.Contains(rep.Skipped[0].Reason, "nothing before the @") {
			t.Errorf("skipped = %+v, want the person with the reason", rep.Skipped)
		}
	})
}

func TestCustomAttributeByLabelReachesTheIdentity(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, `
mapping:
  nickName: 'custom[?"GitHub-Benutzername"].orValue("")'
`)
		id := w.hire(person("Anna", "Schmidt", personiotest.Attrs{"email": "anna.schmidt@alpenwerk.example", "dynamic_1002": "aschmidt"}))
		w.sync()
		if got := w.mustIdentity(id).NickName; got != "aschmidt" {
			t.Errorf("nickName %q, want the custom attribute named by label", got)
		}
	})
}

func TestPickCandidate(t *testing.T) {
	list := types.NewStringList(types.DefaultTypeAdapter, []string{"", "juergen.gross", " ", "j.gross"})
	for _, tt := range []struct {
		attempt int
		want    string
	}{
		{0, "juergen.gross"}, {1, "j.gross"}, {2, "juergen.gross2"}, {99, "juergen.gross99"}, {100, errUniqueExhausted}, {-1, errUniqueExhausted},
	} {
		got := pickCandidate(list, types.Int(tt.attempt))
		if e, ok := got.(*types.Err); ok {
			if e.String() != tt.want {
				t.Errorf("attempt %d: error %v, want %q", tt.attempt, e, tt.want)
			}
			continue
		}
		if string(got.(types.String)) != tt.want {
			t.Errorf("attempt %d: %v, want %q", tt.attempt, got, tt.want)
		}
	}
	empty := types.NewStringList(types.DefaultTypeAdapter, []string{"", " "})
	if e, ok := pickCandidate(empty, types.Int(0)).(*types.Err); !ok || e.String() != errUniqueEmpty {
		t.Errorf("all empty: %v, want %q", pickCandidate(empty, types.Int(0)), errUniqueEmpty)
	}
}

package entra_test

import (
	"testing"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
)

const (
	ouBerlin = "OU=Berlin,OU=People,DC=corp,DC=example,DC=com"
	ouMunich = "OU=Munich,OU=People,DC=corp,DC=example,DC=com"
	ouNew    = "OU=New,OU=People,DC=corp,DC=example,DC=com"
)

func adSetup(t *testing.T) *fixture {
	return setup(t, entrasim.Options{Directory: entrasim.AD, DefaultContainer: ouNew, OUs: []string{ouBerlin, ouMunich}},
		func(c *entra.Config) { c.Directory = "ad" })
}

// adPerson is person n with the attributes a target mapping computes for
// AD: the OU, sAMAccountName candidates and the UPN.
func adPerson(n int, ou string, sams ...string) push.Item {
	it := person(n)
	it.Identity.Mapped = map[string]string{"userPrincipalName": it.Identity.UserName}
	if ou != "" {
		it.Identity.Mapped["parentDistinguishedName"] = ou
	}
	for i, s := range sams {
		key := "sAMAccountName"
		if i > 0 {
			key += string(rune('1' + i))
		}
		it.Identity.Mapped[key] = s
	}
	return it
}

func TestActiveDirectory(t *testing.T) {
	t.Run("placed in the mapped OU, or the default container", func(t *testing.T) {
		f := adSetup(t)
		a, b := adPerson(1, ouBerlin, "user1"), adPerson(2, "", "user2")
		got := f.pushAndConfirm(a, b)
		for _, it := range []push.Item{a, b} {
			if got[it.ID].Outcome != push.Done {
				t.Fatalf("%s: %s (%s)", it.Identity.PersonioID, got[it.ID].Outcome, got[it.ID].Error)
			}
		}
		ua, _ := f.sim.Tenant("1")
		ub, _ := f.sim.Tenant("2")
		if ua.ParentDN != ouBerlin || ub.ParentDN != ouNew || ua.SAMAccountName != "user1" {
			t.Fatalf("OUs %q and %q, sAMAccountName %q", ua.ParentDN, ub.ParentDN, ua.SAMAccountName)
		}
	})
	t.Run("an office move moves the account", func(t *testing.T) {
		f := adSetup(t)
		it := adPerson(1, ouBerlin, "user1")
		f.pushAndConfirm(it)
		it.Identity.Mapped["parentDistinguishedName"] = ouMunich
		got := f.pushAndConfirm(it)
		u, _ := f.sim.Tenant("1")
		if got[it.ID].Outcome != push.Done || u.ParentDN != ouMunich || u.SAMAccountName != "user1" {
			t.Fatalf("after the move: %s, OU %q, sAMAccountName %q", got[it.ID].Outcome, u.ParentDN, u.SAMAccountName)
		}
	})
	t.Run("leaver disabled", func(t *testing.T) {
		f := adSetup(t)
		it := adPerson(1, ouBerlin, "user1")
		f.pushAndConfirm(it)
		it.Identity.Active = false
		f.pushAndConfirm(it)
		if u, _ := f.sim.Tenant("1"); u.AccountEnabled {
			t.Fatal("the leaver's AD account is still enabled")
		}
	})

	failures := []struct {
		name     string
		items    []push.Item
		wantCode string
	}{
		{"unknown OU", []push.Item{adPerson(1, "OU=Atlantis,DC=corp,DC=example,DC=com", "user1")}, entrasim.CodeNoSuperior},
		{"sAMAccountName over 20 characters", []push.Item{adPerson(1, ouBerlin, "a-very-long-account-name")}, entrasim.CodeConstraint},
		{"every candidate taken", []push.Item{adPerson(2, ouBerlin, "taken"), adPerson(1, ouBerlin, "taken")}, entrasim.CodeSAMNotUnique},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			f := adSetup(t)
			got := f.pushAndConfirm(tc.items...)
			last := tc.items[len(tc.items)-1]
			r := got[last.ID]
			if r.Outcome != push.Failed || r.Code != tc.wantCode || r.Retryable {
				t.Fatalf("%+v: want a non-retryable %s", r, tc.wantCode)
			}
			if _, ok := f.sim.Tenant(last.Identity.PersonioID); ok {
				t.Fatal("the refused account exists")
			}
		})
	}
	t.Run("the next free candidate is used", func(t *testing.T) {
		f := adSetup(t)
		first := adPerson(2, ouBerlin, "alovelace")
		second := adPerson(1, ouBerlin, "alovelace", "alovelace2")
		got := f.pushAndConfirm(first, second)
		u, _ := f.sim.Tenant("1")
		if got[second.ID].Outcome != push.Done || u.SAMAccountName != "alovelace2" {
			t.Fatalf("%s, sAMAccountName %q; want done with the second candidate", got[second.ID].Outcome, u.SAMAccountName)
		}
	})
}

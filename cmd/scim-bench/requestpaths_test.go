package main

import (
	"slices"
	"testing"
)

func user(id, userName, given, family, workEmail string) scimUser {
	u := scimUser{ID: id, UserName: userName}
	u.Name.GivenName, u.Name.FamilyName = given, family
	if workEmail != "" {
		u.Emails = append(u.Emails, struct {
			Value string `json:"value"`
			Type  string `json:"type"`
		}{workEmail, "work"})
	}
	return u
}

func TestRequestPaths(t *testing.T) {
	users := []scimUser{
		user("a1", "jürgen.groß@alpenwerk.example", "Jürgen", "Groß", "jürgen.groß@alpenwerk.example"),
		user("b 2", `o"neil@x.example`, "Mia", "O", "mia@x.example"),
		user("", "", "", "", ""),
	}
	if got, want := lookupPaths(users), []string{
		"/Users?filter=userName%20eq%20%22j%C3%BCrgen.gro%C3%9F%40alpenwerk.example%22",
		"/Users?filter=userName%20eq%20%22o%5C%22neil%40x.example%22",
	}; !slices.Equal(got, want) {
		t.Errorf("lookupPaths = %q, want %q", got, want)
	}
	if got, want := getPaths(users), []string{"/Users/a1", "/Users/b%202"}; !slices.Equal(got, want) {
		t.Errorf("getPaths = %q, want %q", got, want)
	}
	// Only the first user has a family name of two letters and a work email.
	if got, want := complexFilterPaths(users), []string{
		"/Users?filter=%28name.familyName%20sw%20%22Gr%22%20or%20name.givenName%20eq%20%22J%C3%BCrgen%22%29%20and%20emails%5Btype%20eq%20%22work%22%20and%20value%20ew%20%22ro%C3%9F%40alpenwerk.example%22%5D",
	}; !slices.Equal(got, want) {
		t.Errorf("complexFilterPaths = %q, want %q", got, want)
	}
}

func TestShuffledIsFixedBySeed(t *testing.T) {
	var users []scimUser
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		users = append(users, scimUser{ID: id})
	}
	ids := func(us []scimUser) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	one, again, other := ids(shuffled(users, 1)), ids(shuffled(users, 1)), ids(shuffled(users, 2))
	if !slices.Equal(one, again) {
		t.Errorf("seed 1 gave %q, then %q", one, again)
	}
	if slices.Equal(one, other) {
		t.Errorf("seeds 1 and 2 gave the same order %q", one)
	}
	if sorted := slices.Sorted(slices.Values(one)); !slices.Equal(sorted, ids(users)) {
		t.Errorf("shuffle lost or invented users: %q", one)
	}
}

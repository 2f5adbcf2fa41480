package main

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
)

// Request paths are built before a scenario starts, in an order fixed by
// the seed, so that the generator only picks the next one per request.

// maxComplexFilters is how many distinct complex filters a run cycles
// through; each one scans the whole directory, so more add nothing.
const maxComplexFilters = 256

// shuffled returns a copy of users in an order fixed by seed.
func shuffled(users []scimUser, seed int64) []scimUser {
	out := make([]scimUser, len(users))
	copy(out, users)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5c1b))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// filterQuery escapes a filter the way Okta sends it: %20 for spaces.
func filterQuery(filter string) string {
	return strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

// quote writes s as a SCIM filter string literal.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// lookupPaths is Okta's existence check for every user.
func lookupPaths(users []scimUser) []string {
	paths := make([]string, 0, len(users))
	for _, u := range users {
		if u.UserName != "" {
			paths = append(paths, "/Users?filter="+filterQuery("userName eq "+quote(u.UserName)))
		}
	}
	return paths
}

// getPaths reads every user by id.
func getPaths(users []scimUser) []string {
	paths := make([]string, 0, len(users))
	for _, u := range users {
		if u.ID != "" {
			paths = append(paths, "/Users/"+url.PathEscape(u.ID))
		}
	}
	return paths
}

// complexFilterPaths builds filters no index answers: an or inside an and
// with a value path on emails, each made to match at least the user it was
// built from, so that every one scans the whole directory and returns a
// little.
func complexFilterPaths(users []scimUser) []string {
	var paths []string
	for _, u := range users {
		f, ok := complexFilter(u)
		if !ok {
			continue
		}
		paths = append(paths, "/Users?filter="+filterQuery(f))
		if len(paths) == maxComplexFilters {
			break
		}
	}
	return paths
}

func complexFilter(u scimUser) (string, bool) {
	family, given, email := []rune(u.Name.FamilyName), u.Name.GivenName, u.workEmail()
	local, domain, ok := strings.Cut(email, "@")
	if len(family) < 2 || given == "" || !ok || local == "" {
		return "", false
	}
	tail := []rune(local)
	tail = tail[max(0, len(tail)-3):]
	return fmt.Sprintf(`(name.familyName sw %s or name.givenName eq %s) and emails[type eq "work" and value ew %s]`,
		quote(string(family[:2])), quote(given), quote(string(tail)+"@"+domain)), true
}

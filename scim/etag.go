package scim

import (
	"strconv"
	"strings"

	"github.com/personio-scim/personio-scim/store"
)

// A resource's ETag must change whenever its representation does. The
// store version covers the resource's own state; what a User or Group shows
// of other resources (the manager's and the members' names, the groups a
// user is in) is folded into a hash next to it: W/"<version>-<hash>".

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvString mixes s and a terminator into an FNV-1a hash, so that ("ab","")
// and ("a","b") differ.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff
	h *= fnvPrime
	return h
}

func userDerivedHash(view *store.View, u *store.Identity) uint64 {
	return derivedHashOf(managerName(view, u), view.GroupsOf(u.ID))
}

// derivedHashOf is userDerivedHash from the manager's name and the groups
// of the user, for the renderer, which has them already.
func derivedHashOf(manager string, groups []*store.Group) uint64 {
	h := fnvString(fnvOffset, manager)
	for _, g := range groups {
		h = fnvString(h, g.ID)
		h = fnvString(h, g.DisplayName)
	}
	return h
}

func groupDerivedHash(view *store.View, g *store.Group) uint64 {
	h := uint64(fnvOffset)
	for _, id := range g.Members {
		h = fnvString(h, id)
		h = fnvString(h, memberDisplay(view, id))
	}
	return h
}

// appendETag writes the weak entity tag of a version and derived hash.
func appendETag(b []byte, version int64, hash uint64) []byte {
	b = append(b, `W/"`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, hash, 36)
	return append(b, '"')
}

// appendETagJSON writes the tag as a JSON string, its quotes escaped.
func appendETagJSON(b []byte, version int64, hash uint64) []byte {
	b = append(b, `"W/\"`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, hash, 36)
	return append(b, `\""`...)
}

func userETag(view *store.View, u *store.Identity) string {
	return string(appendETag(nil, u.Version, userDerivedHash(view, u)))
}

func groupETag(view *store.View, g *store.Group) string {
	return string(appendETag(nil, g.Version, groupDerivedHash(view, g)))
}

// etagMatches evaluates an If-Match or If-None-Match header against the
// current tag with the weak comparison of RFC 9110 section 8.8.3.2, which
// is what both headers use for weak tags. Clients that drop the quotes or
// the W/ prefix are tolerated.
func etagMatches(header, current string) bool {
	cur := opaqueTag(current)
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || part != "" && opaqueTag(part) == cur {
			return true
		}
	}
	return false
}

func opaqueTag(t string) string {
	t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
	return strings.Trim(t, `"`)
}

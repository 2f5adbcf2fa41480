package store

import (
	"crypto/sha1"
	"fmt"
)

// Namespace is a UUID that scopes the SCIM ids of one installation, so that
// two installations mirroring the same Personio company do not collide.
type Namespace [16]byte

// DefaultNamespace is used when the installation configures none.
var DefaultNamespace = Namespace{0x6f, 0x0c, 0x3d, 0x2e, 0x61, 0x1f, 0x4b, 0x8a, 0x9d, 0x35, 0x7e, 0x42, 0x10, 0xc4, 0x5a, 0x01}

// ParseNamespace reads a UUID in its canonical textual form.
func ParseNamespace(s string) (Namespace, error) {
	var ns Namespace
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return ns, fmt.Errorf("namespace %q: want a UUID like 6f0c3d2e-611f-4b8a-9d35-7e4210c45a01", s)
	}
	j := 0
	for i := 0; i < len(s); i += 2 {
		if s[i] == '-' {
			i--
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return ns, fmt.Errorf("namespace %q: not hexadecimal", s)
		}
		ns[j] = hi<<4 | lo
		j++
	}
	return ns, nil
}

// IdentityID derives the SCIM id of a Personio person: a UUIDv5 of the
// installation namespace and the Personio id. It is the same on every
// backend and every replica, and a rehired person gets their old id back.
func (ns Namespace) IdentityID(personioID string) string {
	return uuidV5(ns, "person:"+personioID)
}

// GroupID derives the SCIM id of a group from its stable key.
func (ns Namespace) GroupID(key string) string {
	return uuidV5(ns, "group:"+key)
}

// uuidV5 implements RFC 9562 section 5.5.
func uuidV5(ns Namespace, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	const hex = "0123456789abcdef"
	buf := make([]byte, 0, 36)
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf = append(buf, '-')
		}
		buf = append(buf, hex[b>>4], hex[b&0x0f])
	}
	return string(buf)
}

func (ns Namespace) String() string { return formatUUID(ns) }

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

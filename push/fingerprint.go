package push

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
	"strconv"

	"github.com/personio-scim/personio-scim/store"
)

// fingerprintDeleted is the fingerprint of a resource the target no longer
// holds.
const fingerprintDeleted = "deleted"

// Fingerprint is a stable hash of an item's desired state: the same state
// gives the same fingerprint in every process and release, so a replay or
// a restart pushes nothing the target already acknowledged. An identity's
// fingerprint starts with its active flag ("1:" or "0:") so that the guard
// can tell a deactivation from the ledger alone. Group memberships are not
// part of an identity's fingerprint: the group items carry them.
func Fingerprint(it Item) string {
	if it.Delete {
		return fingerprintDeleted
	}
	h := fingerprinter{h: sha256.New()}
	prefix := ""
	switch {
	case it.Identity != nil:
		h.identity(it.Identity)
		prefix = "0:"
		if it.Identity.Active {
			prefix = "1:"
		}
	case it.Group != nil:
		h.group(it.Group)
		prefix = "g:"
	}
	sum := h.h.Sum(nil)
	return prefix + hex.EncodeToString(sum[:16])
}

type fingerprinter struct {
	h   hash.Hash
	buf [8]byte
}

func (f *fingerprinter) str(s string) {
	binary.LittleEndian.PutUint64(f.buf[:], uint64(len(s)))
	f.h.Write(f.buf[:])
	f.h.Write([]byte(s))
}

func (f *fingerprinter) strMap(m map[string]string) {
	f.str(strconv.Itoa(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		f.str(k)
		f.str(m[k])
	}
}

func (f *fingerprinter) ref(r *Ref) {
	if r == nil {
		f.str("-")
		return
	}
	f.str(r.ID)
	f.str(r.TargetID)
}

func (f *fingerprinter) identity(id *Identity) {
	f.str("identity")
	f.str(id.ID)
	f.str(id.PersonioID)
	for _, name := range store.AttributeNames() {
		v, _ := id.Attributes.Get(name)
		f.str(v)
	}
	lc := id.Lifecycle
	for _, v := range []string{string(lc.State), lc.HireDate, lc.EndDate, lc.InactiveSince, lc.RemoveAfter} {
		f.str(v)
	}
	f.strMap(id.Overrides)
	f.strMap(id.Mapped)
	f.ref(id.Manager)
}

func (f *fingerprinter) group(g *Group) {
	f.str("group")
	f.str(g.ID)
	f.str(g.Key)
	f.str(g.Kind)
	f.str(g.DisplayName)
	f.strMap(g.Mapped)
	f.str(strconv.Itoa(len(g.Members)))
	for n := range g.Members {
		f.ref(&g.Members[n])
	}
}

// activeIn reports whether a fingerprint is of an active identity.
func activeIn(fp string) bool { return len(fp) > 2 && fp[:2] == "1:" }

package memory_test

import (
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// TestConformance opens two handles on one shared database, as the Postgres
// run opens two connection pools on one database, so that the two-instance
// cases compare two handles and not one handle with itself.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
		db := memory.NewShared(memory.Options{Now: now})
		a, b := memory.Open(db), memory.Open(db)
		t.Cleanup(a.Close)
		t.Cleanup(b.Close)
		return a, b
	})
}

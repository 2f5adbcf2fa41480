package memory_test

import (
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
		s := memory.New(memory.Options{Now: now})
		t.Cleanup(s.Close)
		return s, s
	})
}

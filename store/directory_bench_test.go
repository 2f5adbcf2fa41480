package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// BenchmarkDirectoryMemory reports what the in-memory directory costs per
// identity: the heap still in use once a directory of 100,000 identities (and
// their department groups) is built and the store that fed it is gone. The
// identities go through JSON first so that their strings are their own, as
// after a load from Postgres.
//
//	go test -run '^$' -bench BenchmarkDirectoryMemory -benchtime 1x ./store/
func BenchmarkDirectoryMemory(b *testing.B) {
	const n = 100000
	ids, groups := storetest.Synthetic(store.DefaultNamespace, n)
	idJSON, err := json.Marshal(ids)
	if err != nil {
		b.Fatal(err)
	}
	groupJSON, err := json.Marshal(groups)
	if err != nil {
		b.Fatal(err)
	}
	var perIdentity float64
	for b.Loop() {
		before := storetest.LiveHeap()
		view := buildDirectory(b, idJSON, groupJSON).View() // the store behind it is garbage now
		after := storetest.LiveHeap()
		perIdentity = float64(after-before) / n
		if got, _ := view.Len(); got != n {
			b.Fatalf("directory holds %d identities", got)
		}
	}
	b.ReportMetric(perIdentity, "bytes/identity")
}

func buildDirectory(b *testing.B, idJSON, groupJSON []byte) *store.Directory {
	var ids []store.Identity
	var groups []store.Group
	if err := json.Unmarshal(idJSON, &ids); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(groupJSON, &groups); err != nil {
		b.Fatal(err)
	}
	st := memory.New(memory.Options{})
	if _, err := st.Apply(context.Background(), storetest.CreateAll(ids, groups)); err != nil {
		b.Fatal(err)
	}
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

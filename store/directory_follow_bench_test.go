package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// BenchmarkDirectoryRefresh measures what the follower pays to bring a
// directory of 100,000 identities up to date after another writer changed
// some of them: small incremental runs and a large sync that the follower
// reads back in many change-log pages. The store writes are outside the
// timer; what is timed is reading the changes back and building the view.
//
//	go test -run '^$' -bench BenchmarkDirectoryRefresh -benchtime 20x ./store/
func BenchmarkDirectoryRefresh(b *testing.B) {
	const n = 100000
	for _, changed := range []int{10, 1000, 20000} {
		b.Run(fmt.Sprintf("changed=%d/of=%d", changed, n), func(b *testing.B) {
			st, dir, ids := syntheticDirectory(b, n)
			round := 0
			for b.Loop() {
				b.StopTimer()
				round++
				applyDirect(b, st, ids, changed, round)
				b.StartTimer()
				if err := dir.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDirectoryApply measures a writer's own change going through the
// directory: the store's apply and the directory taking the result in.
//
//	go test -run '^$' -bench BenchmarkDirectoryApply -benchtime 20x ./store/
func BenchmarkDirectoryApply(b *testing.B) {
	const n = 100000
	for _, changed := range []int{10, 1000} {
		b.Run(fmt.Sprintf("changed=%d/of=%d", changed, n), func(b *testing.B) {
			_, dir, ids := syntheticDirectory(b, n)
			round := 0
			for b.Loop() {
				round++
				if _, err := dir.Apply(context.Background(), renames(ids, changed, round)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func syntheticDirectory(b *testing.B, n int) (*memory.Store, *store.Directory, []store.Identity) {
	b.Helper()
	ids, groups := storetest.Synthetic(store.DefaultNamespace, n)
	st := memory.New(memory.Options{})
	if _, err := st.Apply(context.Background(), storetest.CreateAll(cloneAll(ids), groups)); err != nil {
		b.Fatal(err)
	}
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return st, dir, ids
}

func cloneAll(ids []store.Identity) []store.Identity {
	out := make([]store.Identity, len(ids))
	for n := range ids {
		out[n] = ids[n].Clone()
	}
	return out
}

func applyDirect(b *testing.B, st store.Store, ids []store.Identity, changed, round int) {
	b.Helper()
	if _, err := st.Apply(context.Background(), renames(ids, changed, round)); err != nil {
		b.Fatal(err)
	}
}

// renames changes the title of changed identities spread over the directory,
// a different value every round so that every update is a change.
func renames(ids []store.Identity, changed, round int) store.ChangeSet {
	cs := store.ChangeSet{Actor: "bench"}
	step := len(ids) / changed
	for k := range changed {
		next := ids[k*step].Clone()
		next.Attributes.Title = fmt.Sprintf("title %d", round)
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: next})
	}
	return cs
}

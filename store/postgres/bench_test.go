package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// BenchmarkReplicaStartup measures what a replica does at start-up: read
// every identity and group from Postgres and build its directory.
//
//	go test -run '^$' -bench BenchmarkReplicaStartup -benchtime 3x ./store/postgres/
func BenchmarkReplicaStartup(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st, _ := pgtest.Open(b, postgres.Options{})
			ids, groups := storetest.Synthetic(store.DefaultNamespace, n)
			if _, err := st.Apply(context.Background(), storetest.CreateAll(ids, groups)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if got, _ := dir.View().Len(); got != n {
					b.Fatalf("loaded %d identities", got)
				}
			}
		})
	}
}

// BenchmarkReplicaPropagation measures how long a change applied through one
// replica takes to appear in another replica's directory: the apply, the
// NOTIFY nudge, and the other directory reading the change log.
//
//	go test -run '^$' -bench BenchmarkReplicaPropagation -benchtime 200x ./store/postgres/
func BenchmarkReplicaPropagation(b *testing.B) {
	a, url := pgtest.Open(b, postgres.Options{})
	replica := pgtest.OpenURL(b, url, postgres.Options{})
	ids, groups := storetest.Synthetic(store.DefaultNamespace, 10000)
	if _, err := a.Apply(context.Background(), storetest.CreateAll(ids, groups)); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := store.NewDirectory(ctx, replica, store.DirectoryOptions{PollInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	go dir.Run(ctx)
	time.Sleep(200 * time.Millisecond) // let the listener connect before the first change
	ident := ids[0]
	var worst time.Duration
	for n := 0; b.Loop(); n++ {
		start := time.Now()
		ident.Title = fmt.Sprintf("Engineer %d", n)
		res, err := a.Apply(ctx, store.ChangeSet{Actor: "bench", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: ident}}})
		if err != nil {
			b.Fatal(err)
		}
		for dir.View().Seq() < res.LastSeq {
			time.Sleep(50 * time.Microsecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
}

// BenchmarkSavePush measures one push-ledger save (cursor move and records)
// by batch size; a push worker saves once per batch it sent.
//
//	go test -run '^$' -bench BenchmarkSavePush -benchtime 100x ./store/postgres/
func BenchmarkSavePush(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st, _ := pgtest.Open(b, postgres.Options{})
			records := make([]store.PushRecord, n)
			now := time.Now()
			for k := range records {
				records[k] = store.PushRecord{Kind: store.KindIdentity, ResourceID: store.DefaultNamespace.IdentityID(fmt.Sprint(k)),
					TargetID: fmt.Sprintf("t-%d", k), Fingerprint: fmt.Sprintf("%064x", k), Status: store.PushSynced,
					State: []byte(`{"etag":"W/\"1\""}`), LastAttempt: now, LastSuccess: now}
			}
			var cursor int64
			for b.Loop() {
				if err := st.SavePush(context.Background(), "bench", cursor, cursor+1, records); err != nil {
					b.Fatal(err)
				}
				cursor++
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

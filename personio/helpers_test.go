package personio_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// customKeys are the simulator's non-sensitive custom attributes.
func customKeys() []string {
	return []string{"dynamic_1001", "dynamic_1002", "dynamic_1003", "dynamic_1004", "dynamic_1005", "dynamic_1006", "dynamic_1007"}
}

// allAttributes selects every standard field and every non-sensitive custom
// attribute, which is what the simulator's Records() describe.
func allAttributes() []string { return append(personio.StandardFields(), customKeys()...) }

// sleepRecorder is a back-off sleeper that records instead of sleeping.
type sleepRecorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sleeps = append(s.sleeps, d)
	return nil
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.sleeps...)
}

// startSim starts a simulator whose only credential has no rate limits
// unless the options bring their own credentials.
func startSim(t testing.TB, opts personiotest.Options) *personiotest.Server {
	t.Helper()
	if opts.Credentials == nil {
		opts.Credentials = []personiotest.Credential{{ClientID: "test-client", ClientSecret: "test-secret", NoRateLimit: true}}
	}
	return personiotest.Start(t, opts)
}

// newClient builds a client for srv; mod adjusts the config.
func newClient(t testing.TB, srv *personiotest.Server, version personio.APIVersion, mod func(*personio.Config)) (*personio.Client, *sleepRecorder) {
	t.Helper()
	sleeper := &sleepRecorder{}
	cfg := personio.Config{
		BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), APIVersion: version,
		NoRateLimit: true, Sleep: sleeper.Sleep, Jitter: rand.NewPCG(1, 2), Timeout: 10 * time.Second,
		Attributes: allAttributes(),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := personio.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sleeper
}

func versions() []personio.APIVersion { return []personio.APIVersion{personio.APIv1, personio.APIv2} }

// sameRecords reports the first difference between two record lists.
func sameRecords(got, want []personio.Record) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Errorf("record %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	return nil
}

// only keeps the records with the given ids.
func only(records []personio.Record, ids ...string) []personio.Record {
	var out []personio.Record
	for _, r := range records {
		for _, id := range ids {
			if r.ID == id {
				out = append(out, r)
			}
		}
	}
	return out
}

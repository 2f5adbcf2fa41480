package fake_test

import (
	"testing"

	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
)

// The suite runs on the engine's own fake target in every shape a real
// target type can take, so that the suite itself is tested before the
// target types deliver. The full shape runs on every backend; the other
// shapes change only what the target does, so memory suffices for them.
func TestConformance(t *testing.T) {
	all, memory := pushtest.Backends(), pushtest.Backends()[:1]
	for _, c := range []struct {
		name     string
		opts     fake.Options
		backends []pushtest.Backend
	}{
		{"groups", fake.Options{}, all},
		{"no-groups", fake.Options{NoGroups: true, MaxBatch: 3}, memory},
		{"async", fake.Options{Async: true}, memory},
		{"delete-on-removal", fake.Options{DeleteOnRemoval: true, MaxBatch: 1}, memory},
	} {
		t.Run(c.name, func(t *testing.T) { pushtest.Run(t, fake.Harness(c.opts), c.backends...) })
	}
}

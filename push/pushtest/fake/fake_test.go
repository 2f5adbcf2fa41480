package fake_test

import (
	"testing"

	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
)

// The suite runs on the engine's own fake target in every shape a real
// target type can take, so that the suite itself is tested before the
// target types deliver.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts fake.Options
	}{
		{"groups", fake.Options{}},
		{"no-groups", fake.Options{NoGroups: true, MaxBatch: 3}},
		{"async", fake.Options{Async: true}},
		{"delete-on-removal", fake.Options{DeleteOnRemoval: true, MaxBatch: 1}},
	} {
		t.Run(c.name, func(t *testing.T) { pushtest.Run(t, fake.Harness(c.opts)) })
	}
}

package push

import (
	"context"
	"sync"
)

// Targets are the workers of every configured target, by name.
type Targets struct {
	list   []*Worker
	byName map[string]*Worker
}

// NewTargets collects workers; names are unique (ParseTargets checks).
func NewTargets(workers ...*Worker) *Targets {
	t := &Targets{byName: map[string]*Worker{}}
	for _, w := range workers {
		t.list = append(t.list, w)
		t.byName[w.Name()] = w
	}
	return t
}

// All returns the workers in configuration order.
func (t *Targets) All() []*Worker {
	if t == nil {
		return nil
	}
	return t.list
}

// Get finds a target's worker by name.
func (t *Targets) Get(name string) (*Worker, bool) {
	if t == nil {
		return nil, false
	}
	w, ok := t.byName[name]
	return w, ok
}

// Run runs every worker until ctx ends. A failing target never stops the
// others: each worker backs off on its own.
func (t *Targets) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, w := range t.All() {
		wg.Go(func() { w.Run(ctx) })
	}
	wg.Wait()
}

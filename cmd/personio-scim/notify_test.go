package main

import (
	"context"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// TestPushHoldEventNamesThePeople: the notice of a held push names who is
// held by Personio id and userName, keyed by the hold's start so that a
// growing hold is noticed once.
func TestPushHoldEventNamesThePeople(t *testing.T) {
	ctx := context.Background()
	st := memory.New(memory.Options{})
	defer st.Close()
	ada := store.Identity{ID: store.Namespace{}.IdentityID("7"), PersonioID: "7"}
	ada.UserName = "ada@example.com"
	if _, err := st.Apply(ctx, store.ChangeSet{Actor: "test", Identities: []store.IdentityChange{{Op: store.OpCreate, Identity: ada}}}); err != nil {
		t.Fatal(err)
	}
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	h := push.Hold{Since: since, Reason: "5 deactivations exceed guard.max_percent 10", Items: []push.HeldItem{{ID: ada.ID}, {ID: "gone", Delete: true}}}
	ev := pushHoldEvent("entra", h, dir.View())
	grown := pushHoldEvent("entra", push.Hold{Since: since, Items: append(h.Items, push.HeldItem{ID: "x"})}, dir.View())
	switch {
	case ev.Target != "entra" || ev.Status != "held" || ev.HeldTotal != 2:
		t.Errorf("event %+v", ev)
	case ev.Held[0].PersonioID != "7" || ev.Held[0].UserName != "ada@example.com" || ev.Held[0].Change != "deactivate":
		t.Errorf("first held %+v", ev.Held[0])
	case ev.Held[1].Change != "remove" || ev.Held[1].PersonioID != "":
		t.Errorf("second held %+v", ev.Held[1])
	case grown.ID != ev.ID:
		t.Errorf("a growing hold changed its notice id: %s, %s", ev.ID, grown.ID)
	}
}

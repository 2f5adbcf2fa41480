package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// controlID is the ledger record that holds a target's own state: the
// guard's hold and the requests any replica makes of the leader (approve,
// reconcile). Keeping it in the ledger lets an administrator's request
// reach the leader whichever replica answered it, and survive a restart.
// No SCIM id starts with "~", so it cannot collide with a resource.
const controlID = "~control"

// control is the control record's content.
type control struct {
	Hold               *Hold     `json:"hold,omitempty"`
	ReconcileRequested bool      `json:"reconcileRequested,omitempty"`
	LastReconcile      time.Time `json:"lastReconcile,omitzero"`
}

// Hold is a pass's deactivations and removals the guard kept back.
type Hold struct {
	Since  time.Time  `json:"since"`
	Reason string     `json:"reason"`
	Items  []HeldItem `json:"items"`
	// Approved releases exactly Items: the leader pushes each one whose
	// desired state still has the held fingerprint.
	Approved   bool      `json:"approved,omitempty"`
	ApprovedBy string    `json:"approvedBy,omitempty"`
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
}

// HeldItem is one change the guard held.
type HeldItem struct {
	Kind        store.ResourceKind `json:"kind"`
	ID          string             `json:"id"`
	Fingerprint string             `json:"fingerprint"`
	Delete      bool               `json:"delete,omitempty"`
}

func (h *Hold) holds(id, fp string) bool {
	if h == nil {
		return false
	}
	for _, it := range h.Items {
		if it.ID == id && it.Fingerprint == fp {
			return true
		}
	}
	return false
}

func (w *Worker) loadControl(ctx context.Context) (control, error) {
	recs, err := w.ledger.PushRecords(ctx, w.name, []string{controlID})
	if err != nil {
		return control{}, fmt.Errorf("read the control record: %w", err)
	}
	var c control
	for _, r := range recs {
		if r.ResourceID == controlID && len(r.Detail) > 0 {
			if err := json.Unmarshal(r.Detail, &c); err != nil {
				return control{}, fmt.Errorf("decode the control record: %w", err)
			}
		}
	}
	return c, nil
}

func controlRecord(target string, c control) store.PushRecord {
	detail, _ := json.Marshal(c) // plain data: cannot fail
	return store.PushRecord{Target: target, Kind: store.KindIdentity, ResourceID: controlID, Status: store.PushSkipped, Detail: detail}
}

// updateRecords saves records without moving the cursor, from any replica:
// a conflict means the leader moved the cursor meanwhile, so read it again
// and retry.
func (w *Worker) updateRecords(ctx context.Context, build func() ([]store.PushRecord, error)) error {
	for range 5 {
		cur, err := w.ledger.PushCursor(ctx, w.name)
		if err != nil {
			return fmt.Errorf("read cursor: %w", err)
		}
		recs, err := build()
		if err != nil {
			return err
		}
		err = w.ledger.SavePush(ctx, w.name, cur, cur, recs)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("target %s: the cursor kept moving; try again", w.name)
}

// updateControl changes the control record with fn and saves it.
func (w *Worker) updateControl(ctx context.Context, fn func(*control) error) error {
	return w.updateRecords(ctx, func() ([]store.PushRecord, error) {
		c, err := w.loadControl(ctx)
		if err != nil {
			return nil, err
		}
		if err := fn(&c); err != nil {
			return nil, err
		}
		return []store.PushRecord{controlRecord(w.name, c)}, nil
	})
}

// ErrNothingHeld answers an approval when the target holds nothing back.
var ErrNothingHeld = errors.New("nothing is held")

// Approve releases what the guard holds for this target: the leader pushes
// exactly the held changes on its next pass; changes that differ from what
// was held are checked again. It returns the approved hold.
func (w *Worker) Approve(ctx context.Context, by string) (Hold, error) {
	var approved Hold
	err := w.updateControl(ctx, func(c *control) error {
		if c.Hold == nil || c.Hold.Approved {
			return ErrNothingHeld
		}
		c.Hold.Approved, c.Hold.ApprovedBy, c.Hold.ApprovedAt = true, by, w.now()
		approved = *c.Hold
		return nil
	})
	if err == nil {
		w.nudge()
	}
	return approved, err
}

// RequestReconcile asks the leader to reconcile on its next pass.
func (w *Worker) RequestReconcile(ctx context.Context) error {
	err := w.updateControl(ctx, func(c *control) error { c.ReconcileRequested = true; return nil })
	if err == nil {
		w.nudge()
	}
	return err
}

// CurrentHold reads the guard's hold, nil when nothing is held.
func (w *Worker) CurrentHold(ctx context.Context) (*Hold, error) {
	c, err := w.loadControl(ctx)
	if err != nil {
		return nil, err
	}
	return c.Hold, nil
}

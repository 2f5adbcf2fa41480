package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// changeBatch is how many change-log rows one step reads.
const changeBatch = store.DefaultChangeLimit

// FollowChanges reads the change log from the notifier's cursor and turns
// joiners and leavers into outbox messages; the messages and the moved
// cursor commit together. A new installation starts at the log's end: the
// people already there are no news.
func (n *Notifier) FollowChanges(ctx context.Context) error {
	for {
		done, err := n.followOnce(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (n *Notifier) followOnce(ctx context.Context) (done bool, err error) {
	stored, err := n.st.OutboxCursor(ctx, changesCursor)
	if err != nil {
		return true, fmt.Errorf("notify: read cursor: %w", err)
	}
	last, err := n.st.LastSeq(ctx)
	if err != nil {
		return true, fmt.Errorf("notify: read change log end: %w", err)
	}
	if stored == 0 {
		return true, n.moveCursor(ctx, -1, last, nil)
	}
	cur := stored - 1
	if last <= cur {
		return true, nil
	}
	rows, err := n.st.Changes(ctx, store.ChangeQuery{AfterSeq: cur, Limit: changeBatch, Kind: store.KindIdentity})
	if err != nil {
		return true, fmt.Errorf("notify: read change log: %w", err)
	}
	to := last
	if len(rows) == changeBatch {
		to = rows[len(rows)-1].Seq
	} else if len(rows) > 0 {
		to = max(to, rows[len(rows)-1].Seq)
	}
	msgs, err := n.changeMessages(ctx, rows)
	if err != nil {
		return true, err
	}
	return len(rows) < changeBatch, n.moveCursor(ctx, cur, to, msgs)
}

// moveCursor enqueues and moves the cursor from one sequence number to
// another; another replica that moved it first did this work already. The
// stored value is the sequence number plus one, so that 0 still means
// "never started" after starting on an empty change log.
func (n *Notifier) moveCursor(ctx context.Context, from, to int64, msgs []store.OutboxMessage) error {
	_, err := n.st.EnqueueOutbox(ctx, store.OutboxEnqueue{Cursor: changesCursor, From: from + 1, To: to + 1, Messages: msgs})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: enqueue change events: %w", err)
	}
	return nil
}

// lifecycleEvent is what one change-log row means for notifications.
type lifecycleEvent struct {
	event string
	row   store.Change
}

// classify reads joiners and leavers off identity rows: an account created
// before the start date (joiner_created), an account that became active
// (joiner_activated, also for a rehire), one created already active for a
// recent hire, and an active account deactivated by the lifecycle
// (leaver_deactivated).
func (n *Notifier) classify(c store.Change, today time.Time) string {
	wasActive, isActive := c.Before[store.AttrActive], c.After[store.AttrActive]
	switch c.Op {
	case store.OpCreate:
		if isActive == "true" {
			if n.recentHire(c.After["lifecycle.hireDate"], today) {
				return EventJoinerActivated
			}
			return ""
		}
		if c.After["lifecycle.state"] == string(store.StatePrehire) {
			return EventJoinerCreated
		}
	case store.OpUpdate:
		switch {
		case wasActive == "false" && isActive == "true":
			return EventJoinerActivated
		case wasActive == "true" && isActive == "false":
			return EventLeaverDeactivated
		}
	}
	return ""
}

func (n *Notifier) recentHire(hireDate string, today time.Time) bool {
	d, err := time.ParseInLocation(time.DateOnly, hireDate, n.zone)
	if err != nil {
		return false
	}
	return !d.Before(today.AddDate(0, 0, -n.cfg.JoinerGraceDays))
}

// changeMessages reads the people the rows name (and their managers) and
// builds their messages. A person deleted since is skipped: whoever needed
// to act has been told by the later rows or no longer needs to.
func (n *Notifier) changeMessages(ctx context.Context, rows []store.Change) ([]store.OutboxMessage, error) {
	now := n.now()
	local := now.In(n.zone)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, n.zone)
	var events []lifecycleEvent
	var ids []string
	for _, c := range rows {
		if ev := n.classify(c, today); ev != "" && n.cfg.enabled(ev) {
			events = append(events, lifecycleEvent{ev, c})
			ids = append(ids, c.ResourceID)
		}
	}
	if len(events) == 0 {
		return nil, nil
	}
	people, err := n.identities(ctx, ids)
	if err != nil {
		return nil, err
	}
	var managerIDs []string
	for _, p := range people {
		if p.Manager != "" {
			managerIDs = append(managerIDs, p.Manager)
		}
	}
	managers, err := n.identities(ctx, managerIDs)
	if err != nil {
		return nil, err
	}
	var msgs []store.OutboxMessage
	for _, ev := range events {
		p, ok := people[ev.row.ResourceID]
		if !ok {
			continue
		}
		if ev.event == EventLeaverDeactivated && p.Lifecycle.State != store.StateLeaver {
			continue // out of scope or switched off by a rule: not a departure
		}
		info := &PersonInfo{UserName: p.UserName, DisplayName: p.DisplayName, StartDate: p.Lifecycle.HireDate, EndDate: p.Lifecycle.EndDate}
		var aud audience
		if m, ok := managers[p.Manager]; ok && m.Active {
			aud = audience{managerEmail: m.Email, managerLang: languageOf(m.PreferredLanguage)}
		}
		key := ev.row.ResourceID + ":" + strconv.FormatInt(ev.row.Seq, 10)
		msgs = append(msgs, n.build(ev.event, key, payload{Person: info}, aud, now)...)
	}
	return msgs, nil
}

func (n *Notifier) identities(ctx context.Context, ids []string) (map[string]store.Identity, error) {
	out := map[string]store.Identity{}
	if len(ids) == 0 {
		return out, nil
	}
	got, err := n.st.IdentitiesByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("notify: read identities: %w", err)
	}
	for _, i := range got {
		out[i.ID] = i
	}
	return out, nil
}

// languageOf maps a preferredLanguage such as de-DE to a built-in language.
func languageOf(pref string) string {
	p := strings.ToLower(pref)
	for _, l := range Languages() {
		if p == l || strings.HasPrefix(p, l+"-") || strings.HasPrefix(p, l+"_") {
			return l
		}
	}
	return ""
}

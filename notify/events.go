package notify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// RunEvent is what the sync and push engines tell the notifier when a run
// ends. It carries only what the messages need.
type RunEvent struct {
	ID string
	// Target is the push target's name; empty for a sync from Personio.
	Target string
	// Status is the run's outcome: succeeded, failed, held, approved, planned.
	Status string
	Counts map[string]int
	// Held lists the held changes (the first ones suffice; HeldTotal
	// gives the whole number when the list is cut).
	Held      []HeldPerson
	HeldTotal int
	// Skipped lists the people the mapping skipped.
	Skipped []SkippedPerson
	// Error says why a failed run failed; it must hold no personal data.
	Error string
}

// HeldPerson is one change the guard holds.
type HeldPerson struct {
	PersonioID string `json:"personioId"`
	UserName   string `json:"userName"`
	Change     string `json:"change"` // deactivate, remove, activate, membership removed from …
}

// SkippedPerson is one person the mapping could not turn into an identity.
type SkippedPerson struct {
	PersonioID string `json:"personioId"`
	Reason     string `json:"reason"` // the rule or attribute, never the value
}

// WritebackEvent is a write-back Personio refused.
type WritebackEvent struct {
	PersonioID, UserName, Attribute, Reason string
}

// maxHeldListed is how many held people a message names; the review link
// has the rest.
const maxHeldListed = 10

// RunFinished records the messages a run's outcome calls for. Any replica
// may call it: the outbox keeps one message per run and recipient however
// often it is called.
func (n *Notifier) RunFinished(ctx context.Context, ev RunEvent) error {
	now := n.now()
	var msgs []store.OutboxMessage
	switch ev.Status {
	case string(store.RunHeld):
		total := max(ev.HeldTotal, len(ev.Held))
		info := n.runInfo(ev)
		info.Held, info.HeldTotal = ev.Held[:min(len(ev.Held), maxHeldListed)], total
		msgs = n.build(EventRunHeld, "run:"+ev.Target+":"+ev.ID, payload{Run: info}, audience{}, now)
	case string(store.RunFailed):
		m, err := n.runFailed(ctx, ev, now)
		if err != nil {
			return err
		}
		msgs = m
	}
	digest := n.nextDaily(now).Format(time.DateOnly)
	for _, s := range ev.Skipped {
		msgs = append(msgs, n.build(EventPersonSkipped, "skipped:"+s.PersonioID+":"+hashText(s.Reason)+":"+digest,
			payload{Skipped: &s}, audience{}, now)...)
	}
	return n.enqueue(ctx, store.OutboxEnqueue{Messages: msgs})
}

func (n *Notifier) runInfo(ev RunEvent) *RunInfo {
	return &RunInfo{ID: ev.ID, Target: ev.Target, Status: ev.Status, Counts: ev.Counts, Error: ev.Error, ReviewURL: n.reviewURL(ev)}
}

// runFailed reports a failing sync once per failing stretch, and only once
// it has lasted FailingAfter since the last success.
func (n *Notifier) runFailed(ctx context.Context, ev RunEvent, now time.Time) ([]store.OutboxMessage, error) {
	info := n.runInfo(ev)
	if ev.Target != "" {
		day := now.In(n.zone).Format(time.DateOnly)
		return n.build(EventRunFailed, "failing:target:"+ev.Target+":"+day, payload{Run: info}, audience{}, now), nil
	}
	fresh, err := n.lastFresh(ctx)
	if err != nil {
		return nil, err
	}
	if fresh.ok && now.Sub(fresh.at) < n.cfg.FailingAfter {
		return nil, nil
	}
	info.LastSuccess = fresh.at
	return n.build(EventRunFailed, "failing:"+cmp.Or(fresh.id, "never"), payload{Run: info}, audience{}, now), nil
}

func (n *Notifier) reviewURL(ev RunEvent) string {
	base := strings.TrimRight(n.cfg.PublicURL, "/")
	switch {
	case ev.Target != "":
		return base + "/api/v1/targets/" + url.PathEscape(ev.Target)
	case base != "":
		return base + "/admin/runs/" + url.PathEscape(ev.ID)
	}
	return "/api/v1/sync/runs/" + url.PathEscape(ev.ID)
}

// WritebackRefused records a message to IT about a refused write-back.
func (n *Notifier) WritebackRefused(ctx context.Context, ev WritebackEvent) error {
	now := n.now()
	day := now.In(n.zone).Format(time.DateOnly)
	p := payload{Writeback: &WritebackInfo{PersonioID: ev.PersonioID, UserName: ev.UserName, Attribute: ev.Attribute, Reason: ev.Reason}}
	key := "writeback:" + ev.PersonioID + ":" + ev.Attribute + ":" + hashText(ev.Reason) + ":" + day
	return n.enqueue(ctx, store.OutboxEnqueue{Messages: n.build(EventWritebackRefused, key, p, audience{}, now)})
}

// freshness is the last run that brought Personio's state in.
type freshness struct {
	ok        bool
	id        string
	at        time.Time
	lastError string
	oldest    time.Time // the oldest run seen, when none was fresh
}

// staleRuns is how many recent runs are read to find the last fresh one.
const staleRuns = 200

// lastFresh finds the newest sync that read Personio completely: a held
// run applied everything but what it held, so it counts.
func (n *Notifier) lastFresh(ctx context.Context) (freshness, error) {
	runs, err := n.st.Runs(ctx, staleRuns)
	if err != nil {
		return freshness{}, fmt.Errorf("notify: read runs: %w", err)
	}
	var f freshness
	for _, r := range runs {
		switch r.Status {
		case store.RunSucceeded, store.RunHeld, store.RunApproved:
			if !r.DryRun {
				f.ok, f.id, f.at = true, r.ID, r.FinishedAt
				return f, nil
			}
		case store.RunFailed:
			if f.lastError == "" {
				f.lastError = r.Error
			}
		}
		f.oldest = r.StartedAt
	}
	return f, nil
}

// checkStale reports once per stale stretch that no sync succeeded for
// StaleAfter.
func (n *Notifier) checkStale(ctx context.Context) error {
	if !n.cfg.enabled(EventDataStale) {
		return nil
	}
	f, err := n.lastFresh(ctx)
	if err != nil {
		return err
	}
	since := f.at
	if !f.ok {
		since = f.oldest
	}
	now := n.now()
	if since.IsZero() || now.Sub(since) < n.cfg.StaleAfter {
		return nil
	}
	p := payload{Stale: &StaleInfo{Age: roundAge(now.Sub(since)), LastSuccess: f.at, LastError: f.lastError}}
	return n.enqueue(ctx, store.OutboxEnqueue{Messages: n.build(EventDataStale, "stale:"+cmp.Or(f.id, "never"), p, audience{}, now)})
}

func roundAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.Truncate(time.Minute).String()
}

// enqueueQuarantined adds each target's quarantined records to the next
// daily digest, once per digest: a record still quarantined tomorrow is in
// tomorrow's digest again.
func (n *Notifier) enqueueQuarantined(ctx context.Context) error {
	now := n.now()
	day := n.nextDaily(now).Format(time.DateOnly)
	n.mu.Lock()
	done := n.lastDaily == day
	n.mu.Unlock()
	if done || !n.cfg.enabled(EventPushQuarantined) {
		return nil
	}
	var msgs []store.OutboxMessage
	for _, target := range n.targets() {
		after := ""
		for {
			recs, err := n.st.ListPushRecords(ctx, target, store.PushQuery{Status: store.PushQuarantined, AfterID: after})
			if err != nil {
				return fmt.Errorf("notify: read quarantined records of %s: %w", target, err)
			}
			for _, r := range recs {
				p := payload{Record: &RecordInfo{Target: target, Kind: string(r.Kind), ResourceID: r.ResourceID, Error: r.LastError}}
				msgs = append(msgs, n.build(EventPushQuarantined, "quarantined:"+target+":"+r.ResourceID+":"+day, p, audience{}, now)...)
			}
			if len(recs) < store.DefaultPushLimit {
				break
			}
			after = recs[len(recs)-1].ResourceID
		}
	}
	if err := n.enqueue(ctx, store.OutboxEnqueue{Messages: msgs}); err != nil {
		return err
	}
	n.mu.Lock()
	n.lastDaily = day
	n.mu.Unlock()
	return nil
}

// audience is who besides the standing recipients an event reaches.
type audience struct {
	managerEmail string
	managerLang  string
}

// build makes an event's messages: one per mail recipient on each mail
// channel and one per webhook channel, following the event's rule.
func (n *Notifier) build(event, key string, p payload, aud audience, now time.Time) []store.OutboxMessage {
	if !n.cfg.enabled(event) {
		return nil
	}
	p.Event, p.At = event, now.UTC()
	daily := isDaily(event)
	next := now
	if daily {
		next = n.nextDaily(now)
	}
	var out []store.OutboxMessage
	for _, ch := range n.cfg.Channels {
		if !n.cfg.channelAllowed(event, ch.Name) {
			continue
		}
		add := func(to, lang string) {
			q := p
			q.Lang = cmp.Or(lang, n.cfg.Language)
			body, _ := json.Marshal(q)
			out = append(out, store.OutboxMessage{
				DedupeKey: event + "|" + key + "|" + ch.Name + "|" + to, Event: event, Channel: ch.Name, Recipient: to,
				DigestKey: ch.Name + "|" + to + "|" + event, Digest: daily, Payload: body, NextAttempt: next,
			})
		}
		rules := n.cfg.recipients(event)
		if !n.channels[ch.Name].Mail() {
			if len(rules) > 0 {
				add("", "")
			}
			continue
		}
		for _, r := range n.expand(rules, aud) {
			add(r.addr, r.lang)
		}
	}
	return out
}

type address struct{ addr, lang string }

func (n *Notifier) expand(rules []string, aud audience) []address {
	var out []address
	seen := map[string]bool{}
	add := func(a, lang string) {
		key := strings.ToLower(a)
		if a == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, address{a, lang})
	}
	for _, r := range rules {
		switch r {
		case ToManager:
			add(aud.managerEmail, aud.managerLang)
		case ToIT:
			for _, a := range n.cfg.Recipients.IT {
				add(a, "")
			}
		case ToAdmins:
			for _, a := range n.cfg.Recipients.Admins {
				add(a, "")
			}
		default:
			add(r, "")
		}
	}
	return out
}

// nextDaily is the next daily digest time after now.
func (n *Notifier) nextDaily(now time.Time) time.Time {
	hm, _ := time.Parse("15:04", n.cfg.Digest.DailyAt)
	local := now.In(n.zone)
	at := time.Date(local.Year(), local.Month(), local.Day(), hm.Hour(), hm.Minute(), 0, 0, n.zone)
	if !at.After(now) {
		at = time.Date(local.Year(), local.Month(), local.Day()+1, hm.Hour(), hm.Minute(), 0, 0, n.zone)
	}
	return at
}

func (n *Notifier) enqueue(ctx context.Context, e store.OutboxEnqueue) error {
	if len(e.Messages) == 0 && e.Cursor == "" {
		return nil
	}
	if _, err := n.st.EnqueueOutbox(ctx, e); err != nil {
		return fmt.Errorf("notify: enqueue: %w", err)
	}
	return nil
}

// hashText keys free text (a reason) without putting it in a key.
func hashText(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

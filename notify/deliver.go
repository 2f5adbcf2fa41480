package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/personio-scim/personio-scim/store"
)

// claimBatch is how many messages one claim leases; digestBatch how many
// one digest may fold (the rest go into the next one).
const (
	claimBatch  = 200
	digestBatch = 5000
	maxRounds   = 20
)

// Default rates when a channel does not say.
const (
	defaultPerMinute = 60
	defaultPerHour   = 30
)

// Deliver sends what is due: claimed with a lease, sent, and marked, so a
// message marked sent never goes out again, and one whose sender died
// before marking goes out once more, under the same Message-ID or
// Idempotency-Key, when its lease runs out. It returns how many channel
// sends succeeded.
func (n *Notifier) Deliver(ctx context.Context) (int, error) {
	total := 0
	for range maxRounds {
		claimed, err := n.st.ClaimOutbox(ctx, store.OutboxClaim{Owner: n.owner, Now: n.now(), Lease: n.lease, Limit: claimBatch})
		if err != nil {
			return total, fmt.Errorf("notify: claim: %w", err)
		}
		sent, err := n.deliverClaimed(ctx, claimed)
		total += sent
		if err != nil || len(claimed) < claimBatch || ctx.Err() != nil {
			return total, err
		}
	}
	return total, nil
}

func (n *Notifier) deliverClaimed(ctx context.Context, claimed []store.OutboxMessage) (int, error) {
	start := n.now()
	var order []string
	groups := map[string][]store.OutboxMessage{}
	for _, m := range claimed {
		if _, ok := groups[m.DigestKey]; !ok {
			order = append(order, m.DigestKey)
		}
		groups[m.DigestKey] = append(groups[m.DigestKey], m)
	}
	sent := 0
	var errs []error
	var deferred []store.OutboxMark
	for _, key := range order {
		// Slow channels must not outlast the lease: what is left goes back
		// to the outbox when the lease runs out, for the next round.
		if ctx.Err() != nil || n.now().Sub(start) > n.lease/2 {
			break
		}
		s, later, err := n.deliverGroup(ctx, key, groups[key])
		sent += s
		deferred = append(deferred, later...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Messages waiting for a digest are marked together: a storm defers
	// thousands, one transaction instead of one per recipient.
	if err := n.mark(ctx, deferred); err != nil {
		errs = append(errs, err)
	}
	return sent, errors.Join(errs...)
}

// deliverGroup sends one recipient's messages of one event: one by one
// while they are few, and as one digest once there are more than the
// threshold within the window (or when they are digest-only).
func (n *Notifier) deliverGroup(ctx context.Context, key string, msgs []store.OutboxMessage) (int, []store.OutboxMark, error) {
	now := n.now()
	for _, m := range msgs {
		if m.Digest {
			sent, err := n.sendDigest(ctx, key, msgs, now)
			return sent, nil, err
		}
	}
	sent := 0
	var deferred []store.OutboxMark
	for _, m := range msgs {
		if due, storm := n.storm(key, now); storm {
			deferred = append(deferred, store.OutboxMark{ID: m.ID, Status: store.OutboxPending, Attempts: m.Attempts,
				NextAttempt: due, LastError: m.LastError, Digest: true})
			continue
		}
		ok, err := n.sendOne(ctx, m, now)
		if err != nil {
			return sent, deferred, err
		}
		if ok {
			sent++
		}
	}
	return sent, deferred, nil
}

// storm reports whether a message for key should wait for a digest, and
// until when: once Threshold messages went out individually within the
// window, or a digest went out within it, the rest of the window is
// folded into one digest at its end.
func (n *Notifier) storm(key string, now time.Time) (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.cfg.Digest.Window
	recent := n.recent[key]
	for len(recent) > 0 && now.Sub(recent[0]) >= w {
		recent = recent[1:]
	}
	n.recent[key] = recent
	if last, ok := n.lastDigest[key]; ok && now.Sub(last) < w {
		return last.Add(w), true
	}
	if len(recent) >= n.cfg.Digest.Threshold {
		return recent[0].Add(w), true
	}
	return time.Time{}, false
}

func (n *Notifier) noteSent(key string, at time.Time, digest bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if digest {
		n.lastDigest[key] = at
		return
	}
	n.recent[key] = append(n.recent[key], at)
}

// sendOne sends one message and marks its outcome.
func (n *Notifier) sendOne(ctx context.Context, m store.OutboxMessage, now time.Time) (bool, error) {
	ch, ok := n.channels[m.Channel]
	if !ok {
		return false, n.mark(ctx, []store.OutboxMark{failMark(m, "the channel is no longer configured", now)})
	}
	if wait := n.allow(m.Channel, m.Recipient, now); wait > 0 {
		return false, n.mark(ctx, []store.OutboxMark{{ID: m.ID, Status: store.OutboxPending, Attempts: m.Attempts,
			NextAttempt: now.Add(wait), LastError: m.LastError, Digest: m.Digest}})
	}
	var p payload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return false, n.mark(ctx, []store.OutboxMark{failMark(m, "the stored event cannot be read", now)})
	}
	r, err := n.tpl.render(p)
	if err != nil {
		n.log.Error("notify: template failed", "event", m.Event, "outbox_id", m.ID, "error", err)
		return false, n.mark(ctx, []store.OutboxMark{failMark(m, "the template failed; see the server log", now)})
	}
	msg := Message{ID: deliveryID(m.DedupeKey), Event: m.Event, To: m.Recipient, Subject: r.Subject, Text: r.Text,
		HTML: r.HTML, Data: p, At: now}
	err = ch.Send(ctx, msg)
	mark := n.outcome(m.ID, m.Attempts, err, now)
	if err == nil {
		n.noteSent(m.DigestKey, now, false)
	}
	n.logOutcome(m.Event, m.Channel, []int64{m.ID}, mark)
	return err == nil, n.mark(ctx, []store.OutboxMark{mark})
}

// sendDigest folds every due message of the group (claiming the rest of
// it) into one message.
func (n *Notifier) sendDigest(ctx context.Context, key string, msgs []store.OutboxMessage, now time.Time) (int, error) {
	more, err := n.st.ClaimOutbox(ctx, store.OutboxClaim{Owner: n.owner, Now: now, Lease: n.lease, Limit: digestBatch, DigestKey: key})
	if err != nil {
		return 0, fmt.Errorf("notify: claim digest: %w", err)
	}
	msgs = append(msgs, more...)
	first := msgs[0]
	ch, ok := n.channels[first.Channel]
	if !ok {
		return 0, n.mark(ctx, marksFor(msgs, func(m store.OutboxMessage) store.OutboxMark {
			return failMark(m, "the channel is no longer configured", now)
		}))
	}
	if wait := n.allow(first.Channel, first.Recipient, now); wait > 0 {
		return 0, n.mark(ctx, marksFor(msgs, func(m store.OutboxMessage) store.OutboxMark {
			return store.OutboxMark{ID: m.ID, Status: store.OutboxPending, Attempts: m.Attempts, NextAttempt: now.Add(wait), Digest: true}
		}))
	}
	lang := n.cfg.Language
	var lines []string
	var ids []int64
	for _, m := range msgs {
		var p payload
		if json.Unmarshal(m.Payload, &p) == nil {
			lang = p.Lang
			if l, err := n.tpl.line(p); err == nil {
				lines = append(lines, l)
			}
		}
		ids = append(ids, m.ID)
	}
	r, err := n.tpl.renderDigest(lang, first.Event, lines)
	if err != nil {
		n.log.Error("notify: digest template failed", "event", first.Event, "error", err)
		return 0, n.mark(ctx, marksFor(msgs, func(m store.OutboxMessage) store.OutboxMark {
			return failMark(m, "the digest template failed; see the server log", now)
		}))
	}
	id := deliveryID("digest|" + key + "|" + strconv.FormatInt(ids[0], 10) + "|" + strconv.FormatInt(ids[len(ids)-1], 10))
	err = ch.Send(ctx, Message{ID: id, Event: first.Event, To: first.Recipient, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		Data: map[string]any{"digest": true, "count": len(lines), "lines": lines}, At: now})
	marks := marksFor(msgs, func(m store.OutboxMessage) store.OutboxMark {
		mk := n.outcome(m.ID, m.Attempts, err, now)
		mk.Digest = true
		if mk.Status == store.OutboxSent {
			mk.Status = store.OutboxDigested
		}
		return mk
	})
	if err == nil {
		n.noteSent(key, now, true)
	}
	n.logOutcome(first.Event, first.Channel, ids, marks[0])
	if err != nil {
		return 0, n.mark(ctx, marks)
	}
	return 1, n.mark(ctx, marks)
}

func marksFor(msgs []store.OutboxMessage, f func(store.OutboxMessage) store.OutboxMark) []store.OutboxMark {
	out := make([]store.OutboxMark, len(msgs))
	for k, m := range msgs {
		out[k] = f(m)
	}
	return out
}

func failMark(m store.OutboxMessage, why string, now time.Time) store.OutboxMark {
	return store.OutboxMark{ID: m.ID, Status: store.OutboxFailed, Attempts: m.Attempts, LastError: why, Digest: m.Digest, At: now}
}

// outcome turns a send's result into a mark: sent, retried with
// exponential back-off (at least what the receiver asked for), or failed
// when refused for good or out of attempts.
func (n *Notifier) outcome(id int64, attempts int, err error, now time.Time) store.OutboxMark {
	mk := store.OutboxMark{ID: id, Attempts: attempts + 1, At: now}
	switch {
	case err == nil:
		mk.Status = store.OutboxSent
	case isPermanent(err) || mk.Attempts >= n.cfg.Retry.MaxAttempts:
		mk.Status, mk.LastError = store.OutboxFailed, safeError(err)
	default:
		mk.Status, mk.LastError = store.OutboxPending, safeError(err)
		mk.NextAttempt = now.Add(max(n.backoff(mk.Attempts), retryAfter(err)))
	}
	return mk
}

func (n *Notifier) backoff(attempts int) time.Duration {
	d := float64(n.cfg.Retry.Initial) * math.Pow(2, float64(attempts-1))
	return time.Duration(min(d, float64(n.cfg.Retry.Max)))
}

// mark records outcomes; a lease lost meanwhile (this replica stalled past
// it and another took over) is logged, not fatal: the other sender owns
// the message now.
func (n *Notifier) mark(ctx context.Context, marks []store.OutboxMark) error {
	if len(marks) == 0 {
		return nil
	}
	err := n.st.MarkOutbox(context.WithoutCancel(ctx), n.owner, marks)
	if errors.Is(err, store.ErrConflict) {
		n.log.Warn("notify: lease lost before marking", "messages", len(marks))
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: mark: %w", err)
	}
	return nil
}

// logOutcome logs ids, event, channel and outcome; never a recipient or
// a message's content.
func (n *Notifier) logOutcome(event, channel string, ids []int64, mk store.OutboxMark) {
	attrs := []any{"event", event, "channel", channel, "outbox_id", ids[0], "messages", len(ids), "status", mk.Status, "attempts", mk.Attempts}
	if mk.LastError != "" {
		attrs = append(attrs, "error", mk.LastError)
	}
	if mk.Status == store.OutboxFailed {
		n.log.Warn("notify: delivery failed", attrs...)
		return
	}
	n.log.Info("notify: delivery", attrs...)
}

// allow takes a token from the channel's and the recipient's limiter at
// now, or returns how long to wait, taking none.
func (n *Notifier) allow(channel, recipient string, now time.Time) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	cfg := n.channelConfig(channel)
	perMinute, perHour := cfg.RatePerMinute, cfg.RecipientPerHour
	if perMinute == 0 {
		perMinute = defaultPerMinute
	}
	if perHour == 0 {
		perHour = defaultPerHour
	}
	cl := limiter(n.channelRate, channel, rate.Limit(perMinute/60), int(math.Max(1, perMinute)))
	pl := limiter(n.personRate, channel+"|"+recipient, rate.Limit(perHour/3600), int(math.Max(1, perHour)))
	cr := cl.ReserveN(now, 1)
	pr := pl.ReserveN(now, 1)
	wait := max(cr.DelayFrom(now), pr.DelayFrom(now))
	if !cr.OK() || !pr.OK() {
		wait = time.Minute
	}
	if wait > 0 {
		cr.CancelAt(now)
		pr.CancelAt(now)
	}
	return wait
}

func limiter(m map[string]*rate.Limiter, key string, r rate.Limit, burst int) *rate.Limiter {
	l, ok := m[key]
	if !ok {
		l = rate.NewLimiter(r, burst)
		m[key] = l
	}
	return l
}

func (n *Notifier) channelConfig(name string) ChannelConfig {
	for _, c := range n.cfg.Channels {
		if c.Name == name {
			return c
		}
	}
	return ChannelConfig{}
}

// deliveryID is a message's identity towards receivers, stable across its
// attempts; it reveals nothing of the recipient.
func deliveryID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "ps-" + hex.EncodeToString(sum[:12])
}

package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// When a write-back rule writes.
const (
	WriteCreated = "created" // once per person: the first value, never overwritten
	WriteAlways  = "always"  // whenever the identity's value differs from Personio's
)

// WritebackRule writes one identity attribute into one Personio field.
type WritebackRule struct {
	Field string `yaml:"field"` // "email" or a custom attribute key (dynamic_N)
	From  string `yaml:"from"`  // identity attribute, e.g. userName or emails.work
	When  string `yaml:"when"`  // created or always (default always)
}

// WritebackConfig is the `writeback:` section: a list of rules.
//
//	writeback:
//	  - field: dynamic_1002
//	    from: userName
//	    when: created
type WritebackConfig struct {
	Rules []WritebackRule
}

// PersonioFields lists the Personio fields the rules write: the client must
// read them too, so that a value already in Personio is not written again.
func (c WritebackConfig) PersonioFields() []string {
	fields := make([]string, 0, len(c.Rules))
	for _, r := range c.Rules {
		fields = append(fields, r.Field)
	}
	return fields
}

// WithSourceFields returns a copy of the policy that also reads and stores
// the given Personio fields. Write-back needs Personio's current value of
// every field it writes, to write only what differs:
// policy.WithSourceFields(cfg.PersonioFields()...) before the client and
// the engine are built from the policy.
func (p *Policy) WithSourceFields(fields ...string) *Policy {
	cp := *p
	cp.sourceFields = slices.Clone(p.sourceFields)
	for _, f := range fields {
		if !slices.Contains(cp.sourceFields, f) {
			cp.sourceFields = append(cp.sourceFields, f)
		}
	}
	return &cp
}

// ParseWritebackConfig decodes and checks the `writeback:` node of the
// configuration file; name prefixes errors, with the YAML line. A nil node
// is no write-back.
func ParseWritebackConfig(name string, n *yaml.Node) (WritebackConfig, error) {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return WritebackConfig{}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return WritebackConfig{}, fmt.Errorf("%s:%d: writeback: want a list of rules (field, from, when)", name, n.Line)
	}
	var cfg WritebackConfig
	var errs []error
	for i, item := range n.Content {
		rule, err := decodeRule(item)
		if err == nil {
			err = rule.check(cfg.Rules)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: writeback[%d]: %w", name, item.Line, i, err))
			continue
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	if err := errors.Join(errs...); err != nil {
		return WritebackConfig{}, err
	}
	return cfg, nil
}

func decodeRule(n *yaml.Node) (WritebackRule, error) {
	if n.Kind != yaml.MappingNode {
		return WritebackRule{}, errors.New("want a mapping with field, from and when")
	}
	var rule WritebackRule
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if value.Kind != yaml.ScalarNode {
			return WritebackRule{}, fmt.Errorf("%s: want a string", key.Value)
		}
		switch key.Value {
		case "field":
			rule.Field = value.Value
		case "from":
			rule.From = value.Value
		case "when":
			rule.When = value.Value
		default:
			return WritebackRule{}, fmt.Errorf("unknown key %q (known: field, from, when)", key.Value)
		}
	}
	if rule.When == "" {
		rule.When = WriteAlways
	}
	return rule, nil
}

func (r WritebackRule) check(earlier []WritebackRule) error {
	switch {
	case r.Field != personio.FieldEmail && !personio.IsCustomField(r.Field):
		return fmt.Errorf("field %q: Personio takes written values only for email and custom attributes (dynamic_N)", r.Field)
	case !slices.Contains(store.AttributeNames(), r.From):
		return fmt.Errorf("from %q: unknown attribute; known: %s", r.From, strings.Join(store.AttributeNames(), ", "))
	case r.From == store.AttrActive:
		return errors.New("from: active is decided by the lifecycle policy, not written to Personio")
	case r.When != WriteCreated && r.When != WriteAlways:
		return fmt.Errorf("when %q: want created or always", r.When)
	case slices.ContainsFunc(earlier, func(o WritebackRule) bool { return o.Field == r.Field }):
		return fmt.Errorf("field %s is written by an earlier rule", r.Field)
	}
	return nil
}

// PersonWriter writes to Personio; the Personio client is one.
type PersonWriter interface {
	UpdatePerson(ctx context.Context, id string, u personio.PersonUpdate) (personio.WriteResult, error)
}

// WritebackActor is the change log's actor of write-back rows.
const WritebackActor = "writeback"

// writebackPrefix keys an identity's write-back state in its Overrides.
// Overrides are stored, diffed into the change log and shown by the admin
// API with the identity on both backends; a key with a colon can never be
// an attribute, so it never overrides anything.
const writebackPrefix = "writeback:"

// writeState is what the last write of a field did, stored as JSON.
type writeState struct {
	Value    string    `json:"value"`
	Status   string    `json:"status"` // written, refused, failed
	Answer   string    `json:"answer"` // Personio's answer, never the value
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
}

const (
	statusWritten = "written"
	statusRefused = "refused"
	statusFailed  = "failed"
)

func stateOf(ident *store.Identity, field string) (writeState, bool) {
	raw, ok := ident.Overrides[writebackPrefix+field]
	if !ok {
		return writeState{}, false
	}
	var st writeState
	if json.Unmarshal([]byte(raw), &st) != nil {
		return writeState{}, false
	}
	return st, true
}

// keepWritebackState carries the write-back state over when a sync
// rebuilds an identity.
func keepWritebackState(prev, next *store.Identity) {
	for k, v := range prev.Overrides {
		if strings.HasPrefix(k, writebackPrefix) {
			if next.Overrides == nil {
				next.Overrides = map[string]string{}
			}
			next.Overrides[k] = v
		}
	}
}

// WritebackOptions wire a Writeback.
type WritebackOptions struct {
	Config    WritebackConfig
	Writer    PersonWriter
	Directory *store.Directory
	Now       func() time.Time
	Logger    *slog.Logger
}

// Writeback writes identity attributes back into Personio. A value is
// written only when it differs from Personio's, and at most once: when
// Personio accepted a value and still shows another (it changed it, or
// someone changed it since), the same value is not written again, so a
// write that Personio echoes as a change can never start a loop. A refusal
// is recorded on the identity and tried again later, with growing pauses;
// it never stops a sync.
type Writeback struct {
	opts WritebackOptions
	mu   sync.Mutex // one pass at a time
	kick chan struct{}
}

// NewWriteback checks the wiring.
func NewWriteback(o WritebackOptions) (*Writeback, error) {
	if o.Writer == nil || o.Directory == nil {
		return nil, errors.New("write-back needs a Personio writer and the directory")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writeback{opts: o, kick: make(chan struct{}, 1)}, nil
}

// Kick asks for a pass soon; give it to the engine as OnRun (directly or
// beside metrics) so that values are written right after each sync. It
// never blocks.
func (w *Writeback) Kick(Report) {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Loop makes a pass whenever kicked and at least every interval, until ctx
// ends. A pass that fails is logged; the next one tries again.
func (w *Writeback) Loop(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.kick:
		}
		if _, err := w.Run(ctx); err != nil && ctx.Err() == nil {
			w.opts.Logger.Warn("write-back pass did not complete", "error", err)
		}
	}
}

// WritebackReport counts one pass.
type WritebackReport struct {
	Written, Refused, Failed int
}

// fieldWrite is one value to write into one Personio field. Each field is
// written on its own, so that a refused email does not hold back a login
// in a custom attribute, and each gets its own answer in the change log.
type fieldWrite struct {
	field, value string
}

func (f fieldWrite) update() personio.PersonUpdate {
	if f.field == personio.FieldEmail {
		return personio.PersonUpdate{Email: f.value}
	}
	return personio.PersonUpdate{Custom: map[string]string{f.field: f.value}}
}

// Run makes one pass over every identity. It fails only when the directory
// cannot record what was written; Personio's refusals and failures are
// counted and recorded on the identities.
func (w *Writeback) Run(ctx context.Context) (WritebackReport, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var rep WritebackReport
	if len(w.opts.Config.Rules) == 0 {
		return rep, nil
	}
	now := w.opts.Now()
	for _, ident := range w.opts.Directory.View().Identities() {
		for _, fw := range w.needed(ident, now) {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			res, err := w.opts.Writer.UpdatePerson(ctx, ident.PersonioID, fw.update())
			status := statusWritten
			switch {
			case errors.Is(err, personio.ErrWriteRefused):
				status = statusRefused
				rep.Refused++
			case err != nil:
				status = statusFailed
				rep.Failed++
			default:
				rep.Written++
			}
			if err := w.record(ctx, ident, fw, status, answerOf(res, err), now); err != nil {
				return rep, err
			}
		}
	}
	if rep != (WritebackReport{}) {
		w.opts.Logger.Info("write-back to Personio", "written", rep.Written, "refused", rep.Refused, "failed", rep.Failed)
	}
	return rep, nil
}

func answerOf(res personio.WriteResult, err error) string {
	var refused *personio.WriteRefusedError
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case err != nil:
		return clipText(err.Error(), 300)
	}
	return res.Answer()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// needed works out what to write for one identity.
func (w *Writeback) needed(ident *store.Identity, now time.Time) []fieldWrite {
	if ident.PersonioID == "" || ident.Lifecycle.State == store.StateLeaver {
		return nil
	}
	var out []fieldWrite
	for _, rule := range w.opts.Config.Rules {
		value, _ := ident.Get(rule.From)
		if value == "" || sameValue(rule.Field, value, ident.Source[rule.Field]) {
			continue
		}
		if st, written := stateOf(ident, rule.Field); written && !due(st, value, rule.When, now) {
			continue
		}
		out = append(out, fieldWrite{field: rule.Field, value: value})
	}
	return out
}

// sameValue compares an identity's value with Personio's. Email addresses
// compare without case: rewriting only the case would change nothing that
// mail delivery sees and would overwrite what HR typed.
func sameValue(field, ours, theirs string) bool {
	if field == personio.FieldEmail {
		return strings.EqualFold(ours, theirs)
	}
	return ours == theirs
}

// due decides whether a field with a recorded write is written again.
func due(st writeState, value, when string, now time.Time) bool {
	switch {
	case st.Status == statusWritten && when == WriteCreated:
		return false // written once; Personio's value is HR's from then on
	case st.Status == statusWritten:
		return st.Value != value // the same value twice would be a loop
	case st.Value != value:
		return true // a new value deserves a new try at once
	}
	return !now.Before(st.At.Add(retryPause(st)))
}

// retryPause grows with each attempt: a refusal needs a person to act, so
// it is retried hourly at first and daily at most; a failure (5xx, network)
// is retried after minutes.
func retryPause(st writeState) time.Duration {
	base, ceiling := time.Hour, 24*time.Hour
	if st.Status == statusFailed {
		base, ceiling = 5*time.Minute, time.Hour
	}
	shift := min(max(st.Attempts-1, 0), 10)
	return min(base<<shift, ceiling)
}

// record stores the outcome on the identity: one change-log row per write,
// with Personio's answer. A conflict (a sync changed the identity
// meanwhile) is retried on the newer version.
func (w *Writeback) record(ctx context.Context, ident *store.Identity, fw fieldWrite, status, answer string, now time.Time) error {
	for attempt := 1; ; attempt++ {
		next := ident.Clone()
		if next.Overrides == nil {
			next.Overrides = map[string]string{}
		}
		st, _ := stateOf(ident, fw.field)
		attempts := 1
		if st.Value == fw.value && st.Status != statusWritten {
			attempts = st.Attempts + 1
		}
		raw, err := json.Marshal(writeState{Value: fw.value, Status: status, Answer: answer, Attempts: attempts, At: now.UTC()})
		if err != nil {
			return fmt.Errorf("encode write-back state: %w", err)
		}
		next.Overrides[writebackPrefix+fw.field] = string(raw)
		cs := store.ChangeSet{Actor: WritebackActor, Cause: "write-back to Personio: " + answer,
			Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: next, IfVersion: ident.Version,
				Reason: "writeback " + fw.field + " " + status}}}
		_, err = w.opts.Directory.Apply(ctx, cs)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 3 {
			return fmt.Errorf("record write-back of identity %s: %w", ident.ID, err)
		}
		if err := w.opts.Directory.Refresh(ctx); err != nil {
			return fmt.Errorf("record write-back of identity %s: %w", ident.ID, err)
		}
		fresh, ok := w.opts.Directory.View().Identity(ident.ID)
		if !ok {
			return nil // removed meanwhile: nothing to report on
		}
		ident = fresh
	}
}

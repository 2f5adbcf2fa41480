package mirror

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
)

const writebackMapping = `
mapping:
  userName: 'login(first_name + " " + last_name) + "@corp.example"'
  emails.work: 'login(first_name + " " + last_name) + "@corp.example"'
`

const writebackRules = `
- field: dynamic_1002
  from: userName
  when: created
- field: email
  from: emails.work
  when: always
`

func parseRules(t *testing.T, text string) (WritebackConfig, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	var n *yaml.Node
	if len(doc.Content) > 0 {
		n = doc.Content[0]
	}
	return ParseWritebackConfig("config.yaml", n)
}

func TestParseWritebackConfig(t *testing.T) {
	cfg, err := parseRules(t, writebackRules)
	if err != nil {
		t.Fatal(err)
	}
	want := []WritebackRule{{"dynamic_1002", "userName", "created"}, {"email", "emails.work", "always"}}
	if len(cfg.Rules) != 2 || cfg.Rules[0] != want[0] || cfg.Rules[1] != want[1] {
		t.Fatalf("rules %+v", cfg.Rules)
	}
	if def, err := parseRules(t, "- {field: dynamic_7, from: userName}\n"); err != nil || def.Rules[0].When != WriteAlways {
		t.Errorf("default when: %+v %v", def, err)
	}
	for _, bad := range []struct{ text, want string }{
		{"- {field: first_name, from: userName}\n", "email and custom attributes"},
		{"- {field: dynamic_1, from: nope}\n", "unknown attribute"},
		{"- {field: dynamic_1, from: active}\n", "lifecycle"},
		{"- {field: dynamic_1, from: userName, when: sometimes}\n", "created or always"},
		{"- {field: dynamic_1, from: userName}\n- {field: dynamic_1, from: title}\n", "earlier rule"},
		{"- {field: dynamic_1, from: userName, how: x}\n", "unknown key"},
		{"field: email\n", "list"},
	} {
		_, err := parseRules(t, bad.text)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "config.yaml:") {
			t.Errorf("%q: %v, want an error about %q with the file and line", bad.text, err, bad.want)
		}
	}
}

// writebackWorld is a world whose engine and writer use the given API
// version and read the written fields too.
type writebackWorld struct {
	*world
	wb     *Writeback
	client *personio.Client
}

func newWritebackWorld(t *testing.T, open storeOpener, version personio.APIVersion) *writebackWorld {
	t.Helper()
	w := newWorld(t, open, writebackMapping)
	rules, err := parseRules(t, writebackRules)
	if err != nil {
		t.Fatal(err)
	}
	policy := w.engine.policy.WithSourceFields(rules.PersonioFields()...)
	client, err := personio.NewClient(personio.Config{
		BaseURL: w.sim.URL(), ClientID: w.sim.ClientID(), ClientSecret: w.sim.ClientSecret(), APIVersion: version,
		Attributes: policy.SourceFields(), Location: policy.Location(),
		Now: w.clock.Now, Sleep: w.clock.Sleep, NoRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.engine, err = NewEngine(EngineOptions{Policy: policy, Store: w.store, Directory: w.dir, Source: client, Namespace: store.DefaultNamespace, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	wb, err := NewWriteback(WritebackOptions{Config: rules, Writer: client, Directory: w.dir, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &writebackWorld{world: w, wb: wb, client: client}
}

func (w *writebackWorld) writeback() WritebackReport {
	w.t.Helper()
	rep, err := w.wb.Run(context.Background())
	if err != nil {
		w.t.Fatalf("write-back: %v", err)
	}
	return rep
}

func (w *writebackWorld) patches() int {
	return w.sim.Calls("PATCH /v1/company/employees/{id}") + w.sim.Calls("PATCH /v2/persons/{id}")
}

func (w *writebackWorld) state(pid, field string) writeState {
	w.t.Helper()
	st, ok := stateOf(w.mustIdentity(pid), field)
	if !ok {
		w.t.Fatalf("person %s has no write-back state for %s", pid, field)
	}
	return st
}

func TestWritebackV2WritesOnceAndNeverLoops(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWritebackWorld(t, open, personio.APIv2)
		id := w.hire(person("Jürgen", "Groß", nil))
		w.sync()
		if rep := w.writeback(); rep != (WritebackReport{Written: 2}) {
			t.Fatalf("first pass %+v, want the login and the email written", rep)
		}
		rec, _ := w.sim.Record(id)
		if rec.Email != "juergen.gross@corp.example" || rec.Custom["dynamic_1002"].Value != "juergen.gross@corp.example" {
			t.Fatalf("Personio holds %q and %q", rec.Email, rec.Custom["dynamic_1002"].Value)
		}
		if st := w.state(id, "email"); st.Status != statusWritten || !strings.Contains(st.Answer, "204") {
			t.Errorf("email state %+v, want written with Personio's 204", st)
		}
		rows, err := w.store.Changes(context.Background(), store.ChangeQuery{Actor: WritebackActor})
		if err != nil || len(rows) != 2 || !strings.Contains(rows[0].Cause, "204 No Content") {
			t.Fatalf("change log %+v, %v: want one row per write with Personio's answer", rows, err)
		}
		// Before the echo is read back: the same values are not written again.
		if rep := w.writeback(); rep != (WritebackReport{}) || w.patches() != 2 {
			t.Fatalf("second pass %+v, %d PATCHes: a write must not repeat", rep, w.patches())
		}
		// Personio echoes the write as a change; syncing it and passing again writes nothing.
		w.clock.Advance(time.Minute)
		w.sync()
		if got := w.mustIdentity(id).Source["email"]; got != "juergen.gross@corp.example" {
			t.Fatalf("stored Personio email %q: the written field must be read back", got)
		}
		if rep := w.writeback(); rep != (WritebackReport{}) || w.patches() != 2 {
			t.Fatalf("after the echo %+v, %d PATCHes", rep, w.patches())
		}
		// HR renames the person: "always" writes the new email, "created" keeps the login.
		w.update(id, personiotest.Attrs{"last_name": "Klein"})
		w.clock.Advance(time.Minute)
		w.sync()
		if rep := w.writeback(); rep != (WritebackReport{Written: 1}) {
			t.Fatalf("after a rename %+v", rep)
		}
		rec, _ = w.sim.Record(id)
		if rec.Email != "juergen.klein@corp.example" || rec.Custom["dynamic_1002"].Value != "juergen.gross@corp.example" {
			t.Errorf("after the rename Personio holds %q and %q", rec.Email, rec.Custom["dynamic_1002"].Value)
		}
	})
}

func TestWritebackRefusalIsReportedAndRetried(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWritebackWorld(t, open, personio.APIv2)
		id := w.hire(person("Anna", "Berg", nil))
		w.sync()
		// Someone not synced yet holds the address in Personio.
		squatter := w.hire(person("Xaver", "Huber", personiotest.Attrs{"email": "anna.berg@corp.example"}))
		rep := w.writeback()
		if rep.Refused != 1 {
			t.Fatalf("pass %+v, want Anna's email refused as a duplicate", rep)
		}
		st := w.state(id, "email")
		if st.Status != statusRefused || st.Attempts != 1 || !strings.Contains(st.Answer, "400") {
			t.Fatalf("state %+v, want the refusal with Personio's answer", st)
		}
		if st := w.state(id, "dynamic_1002"); st.Status != statusWritten {
			t.Errorf("the login was held back by the refused email: %+v", st)
		}
		w.update(id, personiotest.Attrs{"position": "Lead"})
		if err := w.engine.SyncPeople(context.Background(), []string{id}, "test"); err != nil || w.mustIdentity(id).Title != "Lead" {
			t.Fatalf("sync after a refusal: %v", err)
		}
		before := w.patches()
		w.writeback()
		if w.patches() != before {
			t.Fatal("a refusal was retried at once")
		}
		w.clock.Advance(61 * time.Minute)
		w.writeback()
		if st := w.state(id, "email"); st.Attempts != 2 || w.patches() != before+1 {
			t.Fatalf("after an hour: state %+v, %d new PATCHes", st, w.patches()-before)
		}
		w.update(squatter, personiotest.Attrs{"email": "xaver.huber@alpenwerk.example"})
		w.clock.Advance(3 * time.Hour)
		w.writeback()
		if st := w.state(id, "email"); st.Status != statusWritten {
			t.Errorf("once the address is free: %+v", st)
		}
	})
}

func TestWritebackV1(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWritebackWorld(t, open, personio.APIv1)
		id := w.hire(person("Jürgen", "Groß", nil))
		w.sync()
		if rep := w.writeback(); rep != (WritebackReport{Written: 1, Refused: 1}) {
			t.Fatalf("pass %+v, want the login written and the email refused", rep)
		}
		if st := w.state(id, "email"); st.Status != statusRefused || !strings.Contains(st.Answer, "v1 cannot change the email") {
			t.Errorf("email state %+v", st)
		}
		if got := w.sim.Calls("PATCH /v1/company/employees/{id}"); got != 1 {
			t.Errorf("%d v1 PATCHes, want 1 (the email is refused before sending)", got)
		}
		rec, _ := w.sim.Record(id)
		if rec.Custom["dynamic_1002"].Value != "juergen.gross@corp.example" {
			t.Errorf("login in Personio %q", rec.Custom["dynamic_1002"].Value)
		}
		raw := w.mustIdentity(id).Overrides["writeback:dynamic_1002"]
		var st writeState
		if err := json.Unmarshal([]byte(raw), &st); err != nil || !strings.Contains(st.Answer, "200") {
			t.Errorf("login state %q", raw)
		}
	})
}

func TestWritebackIgnoresEmailCase(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWritebackWorld(t, open, personio.APIv2)
		id := w.hire(person("Li", "Wei", personiotest.Attrs{"email": "Li.Wei@Corp.Example"}))
		w.sync()
		if rep := w.writeback(); rep != (WritebackReport{Written: 1}) {
			t.Fatalf("pass %+v, want only the login written", rep)
		}
		if rec, _ := w.sim.Record(id); rec.Email != "Li.Wei@Corp.Example" {
			t.Errorf("Personio's email was rewritten to %q for a case difference", rec.Email)
		}
	})
}

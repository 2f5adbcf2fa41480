package api_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// linked is the service with webhooks and write-back on, fed by a
// simulator that delivers webhooks to it.
type linked struct {
	t      *testing.T
	clock  *personiotest.Clock
	sim    *personiotest.Server
	dir    *store.Directory
	sched  *mirror.Scheduler
	hooks  *api.Webhooks
	wb     *mirror.Writeback
	people []string
}

const linkedConfig = `
mapping:
  userName: 'login(first_name + " " + last_name) + "@corp.example"'
  emails.work: 'login(first_name + " " + last_name) + "@corp.example"'
`

func newLinked(t *testing.T, hooks personiotest.WebhookOptions) *linked {
	t.Helper()
	ctx := context.Background()
	l := &linked{t: t, clock: personiotest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))}
	l.sim = personiotest.Start(t, personiotest.Options{Employees: -1, Now: l.clock.Now, Webhooks: hooks})
	for _, name := range [][2]string{{"Jürgen", "Groß"}, {"Ana", "Silva"}, {"Li", "Wei"}} {
		id, err := l.sim.Hire(personiotest.Attrs{"first_name": name[0], "last_name": name[1], "hire_date": "2024-01-01",
			"status": "active", "department": "Engineering", "office": "Berlin", "position": "Engineer"})
		if err != nil {
			t.Fatal(err)
		}
		l.people = append(l.people, id)
	}
	cfg, err := mirror.ParseConfig("test", []byte(linkedConfig))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := mirror.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rulesDoc yaml.Node
	if err := yaml.Unmarshal([]byte("- {field: email, from: emails.work, when: always}\n"), &rulesDoc); err != nil {
		t.Fatal(err)
	}
	rules, err := mirror.ParseWritebackConfig("test", rulesDoc.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	policy = policy.WithSourceFields(rules.PersonioFields()...)
	st := memory.New(memory.Options{Now: l.clock.Now})
	if l.dir, err = store.NewDirectory(ctx, st, store.DirectoryOptions{}); err != nil {
		t.Fatal(err)
	}
	client, err := personio.NewClient(personio.Config{BaseURL: l.sim.URL(), ClientID: l.sim.ClientID(), ClientSecret: l.sim.ClientSecret(),
		APIVersion: personio.APIv2, Attributes: policy.SourceFields(), Location: policy.Location(),
		NoRateLimit: true, Now: l.clock.Now, Sleep: l.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := mirror.NewEngine(mirror.EngineOptions{Policy: policy, Store: st, Directory: l.dir, Source: client, Namespace: store.DefaultNamespace, Now: l.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	l.sched = mirror.NewScheduler(engine, 15*time.Minute)
	if l.wb, err = mirror.NewWriteback(mirror.WritebackOptions{Config: rules, Writer: client, Directory: l.dir, Now: l.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if l.hooks, err = api.NewWebhooks(api.WebhookOptions{Token: webhookToken, Syncer: l.sched}); err != nil {
		t.Fatal(err)
	}
	h, err := api.NewRouter(api.Options{Store: st, Directory: l.dir, Scheduler: l.sched, Engine: engine, Webhooks: l.hooks, Now: l.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	l.sim.RegisterWebhook(srv.URL+api.WebhookPath, webhookToken)
	l.poll()
	return l
}

// poll is the scheduled sync.
func (l *linked) poll() {
	l.t.Helper()
	if _, err := l.sched.RunNow(context.Background(), mirror.RunOptions{Trigger: "schedule"}, true); err != nil {
		l.t.Fatalf("scheduled sync: %v", err)
	}
}

// settle lets every delivery arrive and hands the receiver's queue on.
func (l *linked) settle() {
	l.t.Helper()
	l.sim.WaitWebhooks()
	if err := l.hooks.Flush(context.Background()); err != nil {
		l.t.Fatal(err)
	}
}

func (l *linked) title(pid string) string {
	i, ok := l.dir.View().Identity(store.DefaultNamespace.IdentityID(pid))
	if !ok {
		l.t.Fatalf("no identity for %s", pid)
	}
	return i.Title
}

func TestWebhookEditReachesTheDirectory(t *testing.T) {
	l := newLinked(t, personiotest.WebhookOptions{DuplicateRate: 1})
	l.clock.Advance(time.Minute)
	if err := l.sim.Update(l.people[1], personiotest.Attrs{"position": "Lead"}); err != nil {
		t.Fatal(err)
	}
	l.settle()
	if got := l.title(l.people[1]); got != "Lead" {
		t.Fatalf("title %q after the webhook, want Lead", got)
	}
	if st := l.hooks.Stats(); st.Accepted != 1 || st.Duplicates != 1 || st.Batches != 1 {
		t.Errorf("stats %+v: want the doubled delivery deduplicated into one sync", st)
	}
}

func TestDroppedWebhooksAreCaughtByPolling(t *testing.T) {
	l := newLinked(t, personiotest.WebhookOptions{DropRate: 1})
	l.clock.Advance(time.Minute)
	if err := l.sim.Update(l.people[2], personiotest.Attrs{"position": "Lead"}); err != nil {
		t.Fatal(err)
	}
	l.settle()
	if got := l.title(l.people[2]); got == "Lead" {
		t.Fatal("the change arrived although its webhook was dropped")
	}
	l.clock.Advance(15 * time.Minute)
	l.poll()
	if got := l.title(l.people[2]); got != "Lead" {
		t.Fatalf("title %q after the scheduled sync, want Lead", got)
	}
}

func TestWritebackEchoDoesNotWriteAgain(t *testing.T) {
	l := newLinked(t, personiotest.WebhookOptions{})
	ctx := context.Background()
	rep, err := l.wb.Run(ctx)
	if err != nil || rep.Written != 3 {
		t.Fatalf("first pass %+v, %v: want three emails written", rep, err)
	}
	patches := l.sim.Calls("PATCH /v2/persons/{id}")
	l.settle() // Personio echoes each write as person.updated
	if st := l.hooks.Stats(); st.Accepted != 3 {
		t.Fatalf("echoes %+v, want one person.updated per write", st)
	}
	for range 3 {
		rep, err := l.wb.Run(ctx)
		if err != nil || rep != (mirror.WritebackReport{}) {
			t.Fatalf("pass after the echo %+v, %v: want nothing written", rep, err)
		}
		l.settle()
	}
	if got := l.sim.Calls("PATCH /v2/persons/{id}"); got != patches {
		t.Errorf("%d more PATCHes after the echoes: a write loop", got-patches)
	}
	rec, _ := l.sim.Record(l.people[0])
	if rec.Email != "juergen.gross@corp.example" {
		t.Errorf("Personio email %q", rec.Email)
	}
}

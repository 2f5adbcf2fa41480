package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var builtinTemplates embed.FS

// Languages are the built-in message languages.
func Languages() []string { return []string{"en", "de"} }

// payload is what one outbox message carries and its templates read. It
// holds only what its recipient needs to act.
type payload struct {
	Event     string         `json:"event"`
	Lang      string         `json:"lang"`
	At        time.Time      `json:"at"`
	Person    *PersonInfo    `json:"person,omitempty"`
	Run       *RunInfo       `json:"run,omitempty"`
	Stale     *StaleInfo     `json:"stale,omitempty"`
	Skipped   *SkippedPerson `json:"skipped,omitempty"`
	Record    *RecordInfo    `json:"record,omitempty"`
	Writeback *WritebackInfo `json:"writeback,omitempty"`
}

// PersonInfo is a joiner or leaver as their manager and IT see them.
type PersonInfo struct {
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName,omitempty"`
	StartDate   string `json:"startDate,omitempty"`
	EndDate     string `json:"endDate,omitempty"`
}

// RunInfo is a held or failing run as administrators see it.
type RunInfo struct {
	ID          string         `json:"id"`
	Target      string         `json:"target,omitempty"`
	Status      string         `json:"status"`
	Counts      map[string]int `json:"counts,omitempty"`
	Held        []HeldPerson   `json:"held,omitempty"`
	HeldTotal   int            `json:"heldTotal,omitempty"`
	Error       string         `json:"error,omitempty"`
	ReviewURL   string         `json:"reviewUrl"`
	LastSuccess time.Time      `json:"lastSuccess,omitzero"`
}

// StaleInfo says how old the directory's data is.
type StaleInfo struct {
	Age         string    `json:"age"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
}

// RecordInfo is a quarantined push record.
type RecordInfo struct {
	Target     string `json:"target"`
	Kind       string `json:"kind"`
	ResourceID string `json:"resourceId"`
	Error      string `json:"error,omitempty"`
}

// WritebackInfo is a write-back Personio refused.
type WritebackInfo struct {
	PersonioID string `json:"personioId"`
	UserName   string `json:"userName"`
	Attribute  string `json:"attribute"`
	Reason     string `json:"reason"`
}

// templateSet holds, per language, each event's text template and the HTML
// templates: the built-in layout and any per-event override.
type templateSet struct {
	text map[string]map[string]*texttemplate.Template // lang → event (and "digest")
	html map[string]map[string]*htmltemplate.Template // lang → event, or "" for the layout
}

// loadTemplates parses the built-in templates and, when dir is set, the
// overrides in dir/LANG/NAME.txt and dir/LANG/NAME.html, which replace the
// built-in ones of the same name. A broken template fails here, naming its
// file, not when a message is due.
func loadTemplates(dir string) (*templateSet, error) {
	ts := &templateSet{text: map[string]map[string]*texttemplate.Template{}, html: map[string]map[string]*htmltemplate.Template{}}
	layout, err := builtinTemplates.ReadFile("templates/mail.html")
	if err != nil {
		return nil, err
	}
	for _, lang := range Languages() {
		ts.text[lang], ts.html[lang] = map[string]*texttemplate.Template{}, map[string]*htmltemplate.Template{}
		for _, name := range append(Events(), "digest") {
			src, file, err := templateSource(dir, lang, name+".txt", true)
			if err != nil {
				return nil, err
			}
			t, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", file, err)
			}
			ts.text[lang][name] = t
			if src, file, err := templateSource(dir, lang, name+".html", false); err != nil {
				return nil, err
			} else if src != "" {
				t, err := htmltemplate.New(name).Parse(src)
				if err != nil {
					return nil, fmt.Errorf("template %s: %w", file, err)
				}
				ts.html[lang][name] = t
			}
		}
		t, err := htmltemplate.New("mail").Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("template mail.html: %w", err)
		}
		ts.html[lang][""] = t
	}
	return ts, nil
}

// templateSource finds a template: the override when there is one, else
// the built-in one (required says whether one must exist).
func templateSource(dir, lang, name string, required bool) (src, file string, err error) {
	if dir != "" {
		file = filepath.Join(dir, lang, name)
		b, err := os.ReadFile(file)
		if err == nil {
			return string(b), file, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", file, fmt.Errorf("template %s: %w", file, err)
		}
	}
	file = "templates/" + lang + "/" + name
	b, err := builtinTemplates.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return "", file, nil
	}
	if err != nil {
		return "", file, fmt.Errorf("built-in template %s: %w", file, err)
	}
	return string(b), "built-in " + file, nil
}

// rendered is a message's subject and bodies.
type rendered struct {
	Subject, Text, HTML string
}

func (ts *templateSet) lang(l string) string {
	if _, ok := ts.text[l]; ok {
		return l
	}
	return "en"
}

// render renders one event's message.
func (ts *templateSet) render(p payload) (rendered, error) {
	lang := ts.lang(p.Lang)
	t, ok := ts.text[lang][p.Event]
	if !ok {
		return rendered{}, fmt.Errorf("no template for event %q", p.Event)
	}
	var r rendered
	var err error
	if r.Subject, err = execText(t, "subject", p); err != nil {
		return r, err
	}
	if r.Text, err = execText(t, "text", p); err != nil {
		return r, err
	}
	r.Subject, r.Text = oneLine(r.Subject), tidy(r.Text)
	r.HTML, err = ts.renderHTML(lang, p.Event, r, p)
	return r, err
}

// line is the event's one-line form for digests.
func (ts *templateSet) line(p payload) (string, error) {
	t, ok := ts.text[ts.lang(p.Lang)][p.Event]
	if !ok {
		return "", fmt.Errorf("no template for event %q", p.Event)
	}
	s, err := execText(t, "line", p)
	return oneLine(s), err
}

// digestData feeds the digest template.
type digestData struct {
	Title string
	Count int
	Lines []string
	More  int
}

// maxDigestLines bounds a digest: beyond it the message says how many more
// there are, and the console has the rest.
const maxDigestLines = 200

func (ts *templateSet) renderDigest(lang, event string, lines []string) (rendered, error) {
	lang = ts.lang(lang)
	title, err := execText(ts.text[lang][event], "title", payload{})
	if err != nil {
		return rendered{}, err
	}
	d := digestData{Title: oneLine(title), Count: len(lines), Lines: lines}
	if len(lines) > maxDigestLines {
		d.Lines, d.More = lines[:maxDigestLines], len(lines)-maxDigestLines
	}
	var r rendered
	t := ts.text[lang]["digest"]
	if r.Subject, err = execText(t, "subject", d); err != nil {
		return r, err
	}
	if r.Text, err = execText(t, "text", d); err != nil {
		return r, err
	}
	r.Subject, r.Text = oneLine(r.Subject), tidy(r.Text)
	r.HTML, err = ts.renderHTML(lang, "digest", r, d)
	return r, err
}

// renderHTML uses the event's HTML override when there is one, else the
// layout around the text's paragraphs; html/template escapes everything.
func (ts *templateSet) renderHTML(lang, event string, r rendered, data any) (string, error) {
	var buf bytes.Buffer
	if t, ok := ts.html[lang][event]; ok {
		err := t.Execute(&buf, map[string]any{"Subject": r.Subject, "Text": r.Text, "Data": data})
		return buf.String(), err
	}
	var paras [][]string
	for _, p := range strings.Split(r.Text, "\n\n") {
		paras = append(paras, strings.Split(p, "\n"))
	}
	err := ts.html[lang][""].Execute(&buf, map[string]any{"Lang": lang, "Subject": r.Subject, "Paragraphs": paras})
	return buf.String(), err
}

func execText(t *texttemplate.Template, name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s/%s: %w", t.Name(), name, err)
	}
	return buf.String(), nil
}

// tidy trims the blank lines templates leave around conditionals.
func tidy(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

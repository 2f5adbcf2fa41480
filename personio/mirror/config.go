package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the company zone must load in minimal containers without /usr/share/zoneinfo

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/store"
)

// Config is the mirror's configuration file (CONFIG_FILE): how Personio
// records become identities and groups. Every field is optional; missing
// ones keep DefaultConfig's values. docs/configuration.md describes each key.
type Config struct {
	Mapping   Mapping         `yaml:"mapping"`
	Scope     Expr            `yaml:"scope"`
	Lifecycle LifecycleConfig `yaml:"lifecycle"`
	Groups    GroupsConfig    `yaml:"groups"`
	Guard     GuardConfig     `yaml:"guard"`
	SCIM      SCIMConfig      `yaml:"scim"`
	Sync      SyncConfig      `yaml:"sync"`

	name string // where the configuration came from, for error messages
}

// GuardConfig limits how much access one sync may take away or grant before
// an administrator has to approve it, and how many people missing from a
// listing it confirms one by one. docs/configuration.md explains each key.
type GuardConfig struct {
	// MaxPercent of the identities a sync may deactivate or remove; 100
	// switches the percentage limit off.
	MaxPercent float64 `yaml:"max_percent"`
	// MaxCount of identities a sync may deactivate or remove; 0 means no
	// count limit.
	MaxCount int `yaml:"max_count"`
	// MaxMembershipPercent of all group memberships a sync may remove from
	// identities that keep their access (moves, group rule changes, groups
	// removed); 100 switches the limit off.
	MaxMembershipPercent float64 `yaml:"max_membership_percent"`
	// MaxActivationPercent of the identities a sync may activate from
	// inactive or absent (joiners, rehires); 100 switches the limit off.
	MaxActivationPercent float64 `yaml:"max_activation_percent"`
	// MaxLookups is how many people missing from a full listing a sync
	// looks up by id to confirm they are gone; more missing fails the run,
	// as a listing that short is broken.
	MaxLookups int `yaml:"max_lookups"`
}

func defaultGuard() GuardConfig {
	return GuardConfig{MaxPercent: 10, MaxMembershipPercent: 10, MaxActivationPercent: 10, MaxLookups: 50}
}

// SCIMConfig says what SCIM clients may change.
type SCIMConfig struct {
	// Writable lists the attributes SCIM clients may override; their values
	// win over the mapping until a client clears them.
	Writable []string `yaml:"writable"`
}

// SyncConfig tunes the sync schedule beyond SYNC_INTERVAL.
type SyncConfig struct {
	// FullEvery is how often a sync reads every person instead of only those
	// Personio reports changed: a termination does not always bump a
	// person's modification time. 0 makes every sync a full one.
	FullEvery time.Duration `yaml:"full_every"`
}

// Expr is a CEL expression as written in the configuration, with the YAML
// line it stood on so that errors can point at it.
type Expr struct {
	Text string
	line int // 0 when the expression did not come from a file
}

// UnmarshalYAML takes any scalar: `active: true` and `scope: true` are
// expressions too.
func (e *Expr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return positioned(n.Line, "want a CEL expression as a string")
	}
	*e = Expr{Text: n.Value, line: n.Line}
	return nil
}

// MarshalYAML writes the expression text.
func (e Expr) MarshalYAML() (any, error) { return e.Text, nil }

// DefaultConfig is the configuration without a file: design section 4.
func DefaultConfig() Config {
	return Config{
		Mapping:   DefaultMapping(),
		Scope:     Expr{Text: "true"},
		Lifecycle: defaultLifecycle(),
		Groups:    defaultGroups(),
		Guard:     defaultGuard(),
		Sync:      SyncConfig{FullEvery: 24 * time.Hour},
	}
}

// LoadConfig reads and validates a configuration file. An empty path means
// no file: the defaults.
func LoadConfig(path string) (Config, error) {
	if path == "" {
		return DefaultConfig(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a configuration from YAML and checks everything but the
// expressions, which Compile checks. name (usually the file path) prefixes
// every error, which also gives the YAML line: "config.yaml:12: ...".
// Unknown keys are errors, so a typo cannot silently fall back to a default.
func ParseConfig(name string, data []byte) (Config, error) {
	cfg, _, err := ParseDocument(name, data, nil)
	return cfg, err
}

// ParseDocument reads the whole CONFIG_FILE: the mirror's own keys into
// Config, checked as ParseConfig does, and the top-level keys named in
// others (owned by other packages, such as "targets") handed back as YAML
// nodes with their positions. A top-level key that is neither is an error.
func ParseDocument(name string, data []byte, others []string) (Config, map[string]*yaml.Node, error) {
	cfg := DefaultConfig()
	cfg.name = name
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, nil, fileError(name, err, data, nil)
	}
	if errs := fractionsForWholeNumbers(name, &root); len(errs) > 0 {
		return Config{}, nil, errors.Join(errs...)
	}
	doc := document{Config: &cfg}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return cfg, nil, nil
	case err != nil:
		return Config{}, nil, fileError(name, err, data, &root)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return Config{}, nil, fmt.Errorf("%s: want one YAML document, found more", name)
	}
	sections, err := splitSections(name, documentContent(&root), doc.Rest, others)
	if err != nil {
		return Config{}, nil, err
	}
	if cfg.Mapping == nil { // `mapping:` with nothing under it
		cfg.Mapping = DefaultMapping()
	}
	v := validator{name: name, root: documentContent(&root)}
	cfg.validate(&v)
	if err := errors.Join(v.errs...); err != nil {
		return Config{}, nil, err
	}
	return cfg, sections, nil
}

// document is the whole file: the mirror's keys, and every other top-level
// key collected for splitSections.
type document struct {
	*Config `yaml:",inline"`
	Rest    map[string]yaml.Node `yaml:",inline"`
}

func splitSections(name string, root *yaml.Node, rest map[string]yaml.Node, others []string) (map[string]*yaml.Node, error) {
	sections := map[string]*yaml.Node{}
	var errs []error
	for i := 0; root != nil && root.Kind == yaml.MappingNode && i+1 < len(root.Content); i += 2 {
		key := root.Content[i]
		if _, ok := rest[key.Value]; !ok {
			continue
		}
		if !slices.Contains(others, key.Value) {
			known := sectionOf("mirror.Config")
			if len(others) > 0 {
				known = strings.TrimSuffix(known, ")") + ", " + strings.Join(others, ", ") + ")"
			}
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %s in %s", name, key.Line, key.Value, known))
			continue
		}
		sections[key.Value] = root.Content[i+1]
	}
	return sections, errors.Join(errs...)
}

// YAML renders the effective configuration, defaults included, for
// `personio-scim check-config`. It holds no secrets: credentials come from
// the environment, never from this file.
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	return buf.Bytes(), nil
}

func (c *Config) validate(v *validator) {
	c.Lifecycle.validate(v)
	c.Groups.validate(v)
	c.Guard.validate(v)
	c.SCIM.validate(v)
	if c.Sync.FullEvery < 0 {
		v.errorf("sync.full_every", "must not be negative")
	}
}

func (g GuardConfig) validate(v *validator) {
	for _, p := range []struct {
		key string
		pct float64
	}{{"guard.max_percent", g.MaxPercent}, {"guard.max_membership_percent", g.MaxMembershipPercent}, {"guard.max_activation_percent", g.MaxActivationPercent}} {
		if !(p.pct > 0 && p.pct <= 100) {
			v.errorf(p.key, "must be more than 0 and at most 100 (100 switches the limit off), got %v", p.pct)
		}
	}
	if g.MaxCount < 0 {
		v.errorf("guard.max_count", "must not be negative (0 means no count limit), got %d", g.MaxCount)
	}
	if g.MaxLookups < 0 || g.MaxLookups > maxLookupsLimit {
		v.errorf("guard.max_lookups", "must be from 0 to %d, got %d", maxLookupsLimit, g.MaxLookups)
	}
}

// maxLookupsLimit bounds guard.max_lookups: each lookup is one Personio
// call, and Personio allows a few hundred a minute.
const maxLookupsLimit = 10000

func (s SCIMConfig) validate(v *validator) {
	for i, name := range s.Writable {
		path := fmt.Sprintf("scim.writable[%d]", i)
		switch {
		case !slices.Contains(store.AttributeNames(), name):
			v.errorf(path, "unknown attribute %q; known: %s", name, strings.Join(store.AttributeNames(), ", "))
		case name == store.AttrActive:
			v.errorf(path, "active cannot be writable: only the lifecycle policy may grant access")
		case slices.Index(s.Writable, name) < i:
			v.errorf(path, "%s is listed twice", name)
		}
	}
}

// validator collects every problem in a configuration at once, each with
// the YAML line of the key it is about.
type validator struct {
	name string
	root *yaml.Node
	errs []error
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, configError(v.name, lineOf(v.root, path), path, fmt.Errorf(format, args...)))
}

func documentContent(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return doc
}

// lineOf finds the line of the value at a path such as "lifecycle.timezone"
// or "groups.rules[2].name"; 0 when the file does not set it.
func lineOf(n *yaml.Node, path string) int {
	for _, part := range strings.Split(path, ".") {
		key, index := part, -1
		if open := strings.IndexByte(part, '['); open >= 0 && strings.HasSuffix(part, "]") {
			i, err := strconv.Atoi(part[open+1 : len(part)-1])
			if err != nil {
				return 0
			}
			key, index = part[:open], i
		}
		if n = mappingValue(n, key); n == nil {
			return 0
		}
		if index >= 0 {
			if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
				return 0
			}
			n = n.Content[index]
		}
	}
	return n.Line
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// positioned makes an error the way the YAML decoder words its own, so that
// fileError can turn both into "name:line: message".
func positioned(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

// fileError rewrites the YAML library's "yaml: line 3: ..." and "line 3:
// field x not found in type mirror.T" into "name:3: ..." with words an
// administrator understands.
func fileError(name string, err error, data []byte, root *yaml.Node) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	errs := make([]error, 0, len(lines))
	for _, msg := range lines {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if before, goType, found := strings.Cut(msg, " not found in type "); found {
			msg = strings.Replace(before, "field ", "unknown key ", 1) + " in " + sectionOf(goType)
		}
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if num, text, found := strings.Cut(rest, ": "); found {
				if line, convErr := strconv.Atoi(num); convErr == nil {
					errs = append(errs, fmt.Errorf("%s:%s: %s", name, num, explainLine(data, root, line, text)))
					continue
				}
			}
		}
		errs = append(errs, fmt.Errorf("%s: %s", name, msg))
	}
	return errors.Join(errs...)
}

// sectionOf names the configuration section a Go type decodes.
func sectionOf(goType string) string {
	switch strings.TrimPrefix(goType, "mirror.") {
	case "Config":
		return "the top level (known: mapping, scope, lifecycle, groups, guard, scim, sync)"
	case "LifecycleConfig":
		return "lifecycle"
	case "GroupsConfig":
		return "groups"
	case "GroupKindConfig":
		return "a group kind (known: enabled, display_name)"
	case "RuleGroup":
		return "a rule group (known: name, display_name, description, when)"
	case "GuardConfig":
		return "guard"
	case "SCIMConfig":
		return "scim"
	case "SyncConfig":
		return "sync"
	}
	return goType
}

// MarshalYAML writes full_every as "24h" rather than Go's "24h0m0s".
func (s SyncConfig) MarshalYAML() (any, error) {
	text := s.FullEvery.String()
	text = strings.TrimSuffix(text, "0s")
	if strings.HasSuffix(text, "h0m") {
		text = strings.TrimSuffix(text, "0m")
	}
	if text == "" {
		text = "0s"
	}
	return struct {
		FullEvery string `yaml:"full_every"`
	}{text}, nil
}

package push

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults of a `targets:` entry; docs/configuration.md lists them.
const (
	DefaultReconcileEvery = 24 * time.Hour
	DefaultGuardPercent   = 10.0
	DefaultQuarantineAt   = 5
)

// TargetConfig is one entry of CONFIG_FILE's `targets:` list. The type's
// own section (`scim:`, `entra:`, `google:`) stays a YAML node for the
// type's Factory to decode.
type TargetConfig struct {
	Name string
	Type string
	// Live false is a dry run: requests are computed and recorded, none is
	// sent. A new target starts that way unless the entry says otherwise.
	Live bool
	// Scope selects who goes to this target (CEL over the identity);
	// empty means everyone.
	Scope string
	// Mapping adds or overrides target attributes: key → CEL over the
	// identity, evaluating to a string.
	Mapping        map[string]string
	ReconcileEvery time.Duration
	RateLimit      RateLimit
	Guard          Guard
	// QuarantineAfter is how many consecutive failures park a record.
	QuarantineAfter int
	// Section is the type's own mapping, nil when the entry has none.
	Section *yaml.Node
	// Line is where the entry starts in the file, for error messages.
	Line int
}

// RateLimit bounds the requests per second sent to one target; zero
// Rate means no limit.
type RateLimit struct {
	Rate  float64
	Burst int
}

// Guard limits how much one pass may deactivate or remove before an
// administrator approves it. MaxPercent is of the identities the target
// holds (100 switches it off); MaxCount 0 means no count limit.
type Guard struct {
	MaxPercent float64
	MaxCount   int
}

var targetNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

var targetKeys = []string{"name", "type", "live", "scope", "mapping", "reconcile_every", "rate_limit", "guard", "quarantine_after"}

// ParseTargets reads the `targets:` list of the configuration file named
// file. types are the target types the binary knows; an entry's type
// section is the key named like its type. Every problem is reported, each
// as "file:line: targets[i].key: message".
func ParseTargets(file string, node *yaml.Node, types []string) ([]TargetConfig, error) {
	if node == nil {
		return nil, nil
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil, nil
	}
	if node.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: targets: want a list of targets", file, node.Line)
	}
	p := targetParser{file: file, types: types}
	var out []TargetConfig
	seen := map[string]int{}
	for i, entry := range node.Content {
		tc, ok := p.entry(i, entry)
		if !ok {
			continue
		}
		if first, dup := seen[tc.Name]; dup {
			p.errorf(entry, "targets[%d].name: %q is already the name of targets[%d]", i, tc.Name, first)
			continue
		}
		seen[tc.Name] = i
		out = append(out, tc)
	}
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return out, nil
}

type targetParser struct {
	file  string
	types []string
	errs  []error
}

func (p *targetParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...)))
}

func (p *targetParser) entry(i int, n *yaml.Node) (TargetConfig, bool) {
	tc := TargetConfig{
		ReconcileEvery:  DefaultReconcileEvery,
		Guard:           Guard{MaxPercent: DefaultGuardPercent},
		QuarantineAfter: DefaultQuarantineAt,
		Line:            n.Line,
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "targets[%d]: want a mapping with name and type", i)
		return tc, false
	}
	before := len(p.errs)
	fields := map[string]*yaml.Node{}
	for k := 0; k+1 < len(n.Content); k += 2 {
		fields[n.Content[k].Value] = n.Content[k+1]
	}
	tc.Type = p.scalar(i, n, fields, "type")
	if !slices.Contains(p.types, tc.Type) {
		if tc.Type != "" {
			p.errorf(fields["type"], "targets[%d].type: unknown target type %q (known: %s)", i, tc.Type, strings.Join(p.types, ", "))
		}
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key := n.Content[k]
		if slices.Contains(targetKeys, key.Value) || key.Value == tc.Type {
			continue
		}
		if slices.Contains(p.types, key.Value) {
			p.errorf(key, "targets[%d].%s: this section belongs to type %s, but the entry's type is %q", i, key.Value, key.Value, tc.Type)
			continue
		}
		p.errorf(key, "targets[%d]: unknown key %q (known: %s, and the type's own section)", i, key.Value, strings.Join(targetKeys, ", "))
	}
	tc.Name = p.scalar(i, n, fields, "name")
	if tc.Name != "" && !targetNamePattern.MatchString(tc.Name) {
		p.errorf(fields["name"], "targets[%d].name: %q: want lower-case letters, digits, - and _ (at most 63), starting with a letter or digit", i, tc.Name)
	}
	if v, ok := fields["live"]; ok {
		b, err := strconv.ParseBool(v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			p.errorf(v, "targets[%d].live: want true or false", i)
		}
		tc.Live = b
	}
	if v, ok := fields["scope"]; ok {
		if v.Kind != yaml.ScalarNode {
			p.errorf(v, "targets[%d].scope: want a CEL expression as a string", i)
		}
		tc.Scope = v.Value
	}
	tc.Mapping = p.mapping(i, fields["mapping"])
	if v, ok := fields["reconcile_every"]; ok {
		d, err := time.ParseDuration(v.Value)
		if err != nil || d < time.Minute {
			p.errorf(v, "targets[%d].reconcile_every: want a duration of at least 1m, such as 24h", i)
		}
		tc.ReconcileEvery = d
	}
	tc.RateLimit = p.rateLimit(i, fields["rate_limit"])
	if v, ok := fields["guard"]; ok {
		tc.Guard = p.guard(i, v)
	}
	if v, ok := fields["quarantine_after"]; ok {
		q, err := strconv.Atoi(v.Value)
		if err != nil || q < 1 || q > 100 {
			p.errorf(v, "targets[%d].quarantine_after: want an integer from 1 to 100", i)
		}
		tc.QuarantineAfter = q
	}
	tc.Section = fields[tc.Type]
	if tc.Section != nil && tc.Section.Kind != yaml.MappingNode {
		p.errorf(tc.Section, "targets[%d].%s: want a mapping", i, tc.Type)
	}
	return tc, len(p.errs) == before
}

func (p *targetParser) scalar(i int, entry *yaml.Node, fields map[string]*yaml.Node, key string) string {
	v, ok := fields[key]
	if !ok || v.Value == "" {
		p.errorf(entry, "targets[%d]: %s is required", i, key)
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "targets[%d].%s: want a string", i, key)
		return ""
	}
	return v.Value
}

func (p *targetParser) mapping(i int, n *yaml.Node) map[string]string {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "targets[%d].mapping: want target attribute: CEL expression pairs", i)
		return nil
	}
	out := map[string]string{}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k], n.Content[k+1]
		if val.Kind != yaml.ScalarNode {
			p.errorf(val, "targets[%d].mapping.%s: want a CEL expression as a string", i, key.Value)
			continue
		}
		out[key.Value] = val.Value
	}
	return out
}

func (p *targetParser) rateLimit(i int, n *yaml.Node) RateLimit {
	if n == nil {
		return RateLimit{}
	}
	rl := RateLimit{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "targets[%d].rate_limit: want requests_per_second and burst", i)
		return rl
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k], n.Content[k+1]
		switch key.Value {
		case "requests_per_second":
			f, err := strconv.ParseFloat(val.Value, 64)
			if err != nil || f <= 0 || f > 10000 {
				p.errorf(val, "targets[%d].rate_limit.requests_per_second: want a number above 0 and at most 10000", i)
			}
			rl.Rate = f
		case "burst":
			b, err := strconv.Atoi(val.Value)
			if err != nil || b < 1 || b > 10000 {
				p.errorf(val, "targets[%d].rate_limit.burst: want an integer from 1 to 10000", i)
			}
			rl.Burst = b
		default:
			p.errorf(key, "targets[%d].rate_limit: unknown key %q (known: requests_per_second, burst)", i, key.Value)
		}
	}
	if rl.Rate > 0 && rl.Burst == 0 {
		rl.Burst = max(1, int(rl.Rate))
	}
	return rl
}

func (p *targetParser) guard(i int, n *yaml.Node) Guard {
	g := Guard{MaxPercent: DefaultGuardPercent}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "targets[%d].guard: want max_percent and max_count", i)
		return g
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k], n.Content[k+1]
		switch key.Value {
		case "max_percent":
			f, err := strconv.ParseFloat(val.Value, 64)
			if err != nil || f < 0 || f > 100 {
				p.errorf(val, "targets[%d].guard.max_percent: want a number from 0 to 100", i)
			}
			g.MaxPercent = f
		case "max_count":
			c, err := strconv.Atoi(val.Value)
			if err != nil || c < 0 {
				p.errorf(val, "targets[%d].guard.max_count: want a whole number, 0 for no count limit", i)
			}
			g.MaxCount = c
		default:
			p.errorf(key, "targets[%d].guard: unknown key %q (known: max_percent, max_count)", i, key.Value)
		}
	}
	return g
}

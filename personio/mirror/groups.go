package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"cel.dev/cel-go/cel"

	"github.com/personio-scim/personio-scim/personio"
)

// Group kinds; the kind is the prefix of a group's stable key.
const (
	kindDepartment  = "department"
	kindOffice      = "office"
	kindTeam        = "team"
	kindLegalEntity = "legal_entity"
	kindCostCenter  = "cost_center"
	kindRule        = "rule"
)

// valuePlaceholder is replaced by the department, office, ... name in a
// generated group's display name.
const valuePlaceholder = "{value}"

// GroupsConfig says which groups exist and who is in them.
type GroupsConfig struct {
	// IncludePrehire makes prehires members of their groups, so that their
	// access is ready on day one. Leavers are never members.
	IncludePrehire bool            `yaml:"include_prehire"`
	Department     GroupKindConfig `yaml:"department"`
	Office         GroupKindConfig `yaml:"office"`
	Team           GroupKindConfig `yaml:"team"`
	LegalEntity    GroupKindConfig `yaml:"legal_entity"`
	CostCenter     GroupKindConfig `yaml:"cost_center"`
	Rules          []RuleGroup     `yaml:"rules"`
}

// GroupKindConfig switches one kind of generated group (one group per
// distinct value, e.g. per department) on or off.
type GroupKindConfig struct {
	Enabled bool `yaml:"enabled"`
	// DisplayName is a template; {value} stands for the value, e.g.
	// "Dept {value}".
	DisplayName string `yaml:"display_name"`
}

// RuleGroup is a group whose members a CEL condition selects.
type RuleGroup struct {
	// Name is the group's stable identity (key "rule:<name>"): renaming it
	// makes a new group.
	Name string `yaml:"name"`
	// DisplayName is what identity providers show; defaults to Name.
	DisplayName string `yaml:"display_name,omitempty"`
	Description string `yaml:"description,omitempty"`
	When        Expr   `yaml:"when"`
}

// groupRef names a group a person belongs to. Key is stable and
// kind-qualified ("department:Engineering", "rule:berlin-engineers");
// display names may collide, which the engine resolves.
type groupRef struct {
	Key         string
	Kind        string
	DisplayName string
}

func defaultGroups() GroupsConfig {
	on := GroupKindConfig{Enabled: true, DisplayName: valuePlaceholder}
	off := GroupKindConfig{Enabled: false, DisplayName: valuePlaceholder}
	return GroupsConfig{IncludePrehire: true, Department: on, Office: on, Team: on, LegalEntity: off, CostCenter: off}
}

// generatedKind pairs a kind with its configuration.
type generatedKind struct {
	kind string
	cfg  GroupKindConfig
}

func (c GroupsConfig) kinds() []generatedKind {
	return []generatedKind{
		{kindDepartment, c.Department},
		{kindOffice, c.Office},
		{kindTeam, c.Team},
		{kindLegalEntity, c.LegalEntity},
		{kindCostCenter, c.CostCenter},
	}
}

// kindField is the record field a generated kind groups by.
func kindField(kind string) string {
	switch kind {
	case kindDepartment:
		return personio.FieldDepartment
	case kindOffice:
		return personio.FieldOffice
	case kindTeam:
		return personio.FieldTeam
	case kindLegalEntity:
		return personio.FieldLegalEntity
	}
	return personio.FieldCostCenters
}

func (c GroupsConfig) validate(v *validator) {
	for _, k := range c.kinds() {
		if !strings.Contains(k.cfg.DisplayName, valuePlaceholder) {
			v.errorf("groups."+k.kind+".display_name", "must contain %s, or every %s group would get the same name", valuePlaceholder, k.kind)
		}
	}
	for i, r := range c.Rules {
		path := fmt.Sprintf("groups.rules[%d]", i)
		if err := checkRuleName(r.Name); err != nil {
			v.errorf(path+".name", "%v", err)
		} else if slices.IndexFunc(c.Rules, func(o RuleGroup) bool { return o.Name == r.Name }) < i {
			v.errorf(path+".name", "rule group %q is defined twice", r.Name)
		}
		if strings.TrimSpace(r.When.Text) == "" {
			v.errorf(path, "when is missing: a rule group needs a condition")
		}
	}
}

// checkRuleName keeps rule keys readable wherever they are shown: the
// change log, the admin API, logs.
func checkRuleName(name string) error {
	switch {
	case name == "":
		return errors.New("name is missing")
	case strings.TrimSpace(name) != name:
		return errors.New("name must not start or end with spaces")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("name must not contain control characters")
	}
	return nil
}

// compiledGroups computes one person's groups.
type compiledGroups struct {
	generated []generatedKind // enabled kinds only
	rules     []compiledRule
}

type compiledRule struct {
	key, displayName string
	prg              program
}

func compileGroups(env *cel.Env, cfgName string, c GroupsConfig, refs *fieldRefs) (compiledGroups, []error) {
	var cg compiledGroups
	var errs []error
	for _, k := range c.kinds() {
		if k.cfg.Enabled {
			cg.generated = append(cg.generated, k)
			refs.fields[kindField(k.kind)] = true
		}
	}
	for i, r := range c.Rules {
		prg, checked, err := compileExpr(env, r.When.Text, cel.BoolType)
		if err != nil {
			errs = append(errs, configError(cfgName, r.When.line, fmt.Sprintf("groups.rules[%d].when", i), err))
			continue
		}
		refs.add(checked)
		display := r.DisplayName
		if display == "" {
			display = r.Name
		}
		cg.rules = append(cg.rules, compiledRule{key: kindRule + ":" + r.Name, displayName: display, prg: prg})
	}
	return cg, errs
}

// evaluate lists the groups of one person who is to be a member.
func (cg *compiledGroups) evaluate(ctx context.Context, act *recordActivation) ([]groupRef, error) {
	refs := make([]groupRef, 0, len(cg.generated)+len(cg.rules))
	for _, k := range cg.generated {
		for _, value := range kindValues(act.rec, k.kind) {
			value = strings.TrimSpace(value)
			key := k.kind + ":" + value
			if value == "" || slices.ContainsFunc(refs, func(g groupRef) bool { return g.Key == key }) {
				continue
			}
			display := value // the default display name, without a copy of the value per person
			if k.cfg.DisplayName != valuePlaceholder {
				display = strings.ReplaceAll(k.cfg.DisplayName, valuePlaceholder, value)
			}
			refs = append(refs, groupRef{Key: key, Kind: k.kind, DisplayName: display})
		}
	}
	for i := range cg.rules {
		r := &cg.rules[i]
		member, err := evalBool(ctx, r.prg, act)
		if err != nil {
			return nil, &personError{PersonID: act.rec.ID, Attribute: "group " + r.key, Err: err}
		}
		if member {
			refs = append(refs, groupRef{Key: r.key, Kind: kindRule, DisplayName: r.displayName})
		}
	}
	if len(refs) == 0 {
		return nil, nil // as before the slice was sized ahead
	}
	return refs, nil
}

func kindValues(rec *personio.Record, kind string) []string {
	switch kind {
	case kindDepartment:
		return []string{rec.Department}
	case kindOffice:
		return []string{rec.Office}
	case kindTeam:
		return []string{rec.Team}
	case kindLegalEntity:
		return []string{rec.LegalEntity}
	}
	return rec.CostCenters
}

package personio

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Custom attributes named by their label (custom["Language"]) are resolved
// when a fetch starts, not when the client is built: the service must start
// without waiting on Personio, and a label renamed in Personio is followed
// on the next run.

// ErrUnknownLabel means a configured custom attribute label is not in
// Personio's attribute listing.
var ErrUnknownLabel = errors.New("unknown custom attribute label")

// withLabels returns the attributes for one fetch. v1 resolves the labels
// to dynamic_N keys through the attribute listing, and an unknown label
// fails the fetch; v2 has no listing, but its custom_attributes carry their
// labels, so the decoder keeps those with a configured label.
func (c *Client) withLabels(ctx context.Context) (attributeSet, error) {
	if len(c.cfg.CustomLabels) == 0 && !c.cfg.AllCustom {
		return c.attrs, nil
	}
	if c.cfg.APIVersion == APIv2 {
		set := c.attrs.clone()
		set.labels = make(map[string]bool, len(c.cfg.CustomLabels))
		for _, l := range c.cfg.CustomLabels {
			set.labels[l] = true
		}
		set.allCustom = c.cfg.AllCustom
		return set, nil
	}
	listing, err := c.Attributes(ctx)
	if err != nil {
		return attributeSet{}, fmt.Errorf("resolve custom attribute labels: %w", err)
	}
	keys, err := resolveLabels(listing, c.cfg.CustomLabels, c.cfg.AllCustom)
	if err != nil {
		return attributeSet{}, err
	}
	set := c.attrs.clone()
	for _, k := range keys {
		set.fields[k] = true
	}
	return set, nil
}

// resolveLabels maps labels to the dynamic_N keys carrying them (all of a
// label's keys when two attributes share it); all adds every custom key.
func resolveLabels(listing []AttributeInfo, labels []string, all bool) ([]string, error) {
	byLabel := map[string][]string{}
	var every []string
	for _, a := range listing {
		if !IsCustomField(a.Key) {
			continue
		}
		byLabel[a.Label] = append(byLabel[a.Label], a.Key)
		every = append(every, a.Key)
	}
	keys := map[string]bool{}
	var unknown []string
	for _, l := range labels {
		ks, ok := byLabel[l]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", l))
			continue
		}
		for _, k := range ks {
			keys[k] = true
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: Personio's attribute listing has no custom attribute labelled %s (labels are case-sensitive; is it readable by this credential?)",
			ErrUnknownLabel, strings.Join(unknown, ", "))
	}
	if all {
		for _, k := range every {
			keys[k] = true
		}
	}
	return slices.Sorted(maps.Keys(keys)), nil
}

func (s attributeSet) clone() attributeSet {
	out := s
	out.fields = maps.Clone(s.fields)
	return out
}

// keepsCustom says whether a v2 custom attribute is wanted, by key or by
// label.
func (s attributeSet) keepsCustom(key, label string) bool {
	return s.fields[key] || s.allCustom || (label != "" && s.labels[label])
}

// hasCustom says whether any custom attribute is wanted.
func (s attributeSet) hasCustom() bool {
	return len(s.custom()) > 0 || len(s.labels) > 0 || s.allCustom
}

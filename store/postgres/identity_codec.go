package postgres

import (
	"fmt"

	"github.com/personio-scim/personio-scim/store"
)

// encodeAttributes keys the served attributes by their store names, so the
// stored object reads like the change log and needs no second field list.
func encodeAttributes(a *store.Attributes) []byte {
	names := store.AttributeNames()
	keys, values := make([]string, 0, len(names)), make([]string, 0, len(names))
	for _, name := range names {
		if v, _ := a.Get(name); v != "" {
			keys, values = append(keys, name), append(values, v)
		}
	}
	return appendFlatObject(make([]byte, 0, 512), keys, values)
}

func decodeAttributes(data []byte, a *store.Attributes) error {
	var unknown string
	err := eachMember(data, func(k, v string) {
		if !a.Set(k, v) && unknown == "" {
			unknown = k
		}
	})
	if err == nil && unknown != "" {
		err = fmt.Errorf("unknown attribute %q", unknown)
	}
	return err
}

// lifecycleFields pairs each lifecycle field with its stored name.
func lifecycleFields(l *store.Lifecycle) ([]string, []*string) {
	return []string{"state", "hireDate", "endDate", "inactiveSince", "removeAfter", "rule"},
		[]*string{(*string)(&l.State), &l.HireDate, &l.EndDate, &l.InactiveSince, &l.RemoveAfter, &l.Rule}
}

func encodeLifecycle(l *store.Lifecycle) []byte {
	names, fields := lifecycleFields(l)
	keys, values := make([]string, 0, len(names)+2), make([]string, 0, len(names)+2)
	for n, f := range fields {
		if *f != "" {
			keys, values = append(keys, names[n]), append(values, *f)
		}
	}
	for _, b := range []struct {
		name string
		set  bool
	}{{"scopeExcluded", l.ScopeExcluded}, {"vanishedSource", l.VanishedSource}} {
		if b.set {
			keys, values = append(keys, b.name), append(values, "true")
		}
	}
	return appendFlatObject(make([]byte, 0, 160), keys, values)
}

func decodeLifecycle(data []byte, l *store.Lifecycle) error {
	names, fields := lifecycleFields(l)
	var unknown string
	err := eachMember(data, func(k, v string) {
		switch k {
		case "scopeExcluded":
			l.ScopeExcluded = v == "true"
			return
		case "vanishedSource":
			l.VanishedSource = v == "true"
			return
		}
		for n, name := range names {
			if name == k {
				*fields[n] = v
				return
			}
		}
		if unknown == "" {
			unknown = k
		}
	})
	if err == nil && unknown != "" {
		err = fmt.Errorf("unknown lifecycle field %q", unknown)
	}
	return err
}

func decodeFlatMap(data []byte) (map[string]string, error) {
	if data == nil {
		return nil, nil
	}
	m := make(map[string]string, 16)
	err := eachMember(data, func(k, v string) { m[k] = v })
	return m, err
}

package postgres

import (
	"fmt"

	"github.com/personio-scim/personio-scim/store"
)

// encodeAttributes keys the served attributes by their store names, so the
// stored object reads like the change log and needs no second field list.
// names is store.AttributeNames, asked once by the caller: it makes a new
// slice, and a first sync encodes 100,000 identities.
func encodeAttributes(names []string, a *store.Attributes) []byte {
	return appendAttributes(make([]byte, 0, 512), names, a)
}

func appendAttributes(buf []byte, names []string, a *store.Attributes) []byte {
	buf = append(buf, '{')
	start := len(buf)
	for _, name := range names {
		if v, _ := a.Get(name); v != "" {
			if len(buf) > start {
				buf = append(buf, ',')
			}
			buf = append(appendJSONString(buf, name), ':')
			buf = appendJSONString(buf, v)
		}
	}
	return append(buf, '}')
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
	return appendLifecycle(make([]byte, 0, 160), l)
}

func appendLifecycle(buf []byte, l *store.Lifecycle) []byte {
	buf = append(buf, '{')
	start := len(buf)
	member := func(name, value string) {
		if len(buf) > start {
			buf = append(buf, ',')
		}
		buf = append(appendJSONString(buf, name), ':')
		buf = appendJSONString(buf, value)
	}
	names, fields := lifecycleFields(l)
	for n, f := range fields {
		if *f != "" {
			member(names[n], *f)
		}
	}
	if l.ScopeExcluded {
		member("scopeExcluded", "true")
	}
	if l.VanishedSource {
		member("vanishedSource", "true")
	}
	return append(buf, '}')
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

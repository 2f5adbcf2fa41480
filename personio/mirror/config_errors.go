package mirror

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlTypeError matches the YAML library's wording for a value of the
// wrong type, after fileError has taken the line off.
var yamlTypeError = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")

// explainLine rewrites one decoding message about line into words that name
// the key and say what it wants; data is the file, root its parsed tree (nil
// when it did not parse).
func explainLine(data []byte, root *yaml.Node, line int, text string) string {
	if strings.Contains(text, "found character that cannot start any token") && lineStartsWithTab(data, line) {
		return "a tab indents this line; YAML indents with spaces only"
	}
	m := yamlTypeError.FindStringSubmatch(text)
	if m == nil {
		return text
	}
	key := keyAtLine(root, line)
	if key == "" {
		key = "this value"
	}
	return fmt.Sprintf("%s: want %s, got %q", key, wantedValue(m[3]), m[2])
}

// wantedValue says in words what a Go type takes.
func wantedValue(goType string) string {
	switch goType {
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number (for example 30)"
	case "float64", "float32":
		return "a number (for example 10 or 2.5)"
	case "time.Duration":
		return "a duration such as 24h, 90m or 1h30m (units h, m, s; no days)"
	case "bool":
		return "true or false"
	case "string":
		return "a text value"
	}
	if strings.HasPrefix(goType, "[]") {
		return "a list"
	}
	if strings.HasPrefix(goType, "map[") || strings.HasPrefix(goType, "mirror.") {
		return "a section of key: value entries"
	}
	return goType
}

func lineStartsWithTab(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return false
	}
	return bytes.HasPrefix(bytes.TrimLeft(lines[line-1], " "), []byte("\t"))
}

// keyAtLine is the dotted path (lifecycle.retention_days) of the key whose
// value sits on line.
func keyAtLine(n *yaml.Node, line int) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return keyAtLine(n.Content[0], line)
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			if value.Line == line && value.Kind == yaml.ScalarNode {
				return key.Value
			}
			if inner := keyAtLine(value, line); inner != "" {
				return key.Value + "." + inner
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if inner := keyAtLine(item, line); inner != "" {
				return fmt.Sprintf("[%d].%s", i, inner)
			}
		}
	}
	return ""
}

// fractionsForWholeNumbers finds numbers with a fraction where the
// configuration wants a whole number: the YAML library would drop the
// fraction silently (retention_days: 60.5 becoming 60).
func fractionsForWholeNumbers(name string, root *yaml.Node) []error {
	var errs []error
	walkTyped(documentContent(root), reflect.TypeOf(Config{}), "", func(path string, n *yaml.Node, t reflect.Type) {
		if n.ShortTag() == "!!float" && isInteger(t) {
			errs = append(errs, fmt.Errorf("%s:%d: %s: want %s, got %s", name, n.Line, path, wantedValue("int"), n.Value))
		}
	})
	return errs
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t.String() != "time.Duration"
	}
	return false
}

// walkTyped visits every scalar of n with the Go type it decodes into,
// following yaml tags; what it cannot follow (custom decoders) it skips.
func walkTyped(n *yaml.Node, t reflect.Type, path string, visit func(string, *yaml.Node, reflect.Type)) {
	if n == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.ScalarNode:
		visit(path, n, t)
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := fields[n.Content[i].Value]; ok {
				walkTyped(n.Content[i+1], ft, joinPath(path, n.Content[i].Value), visit)
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkTyped(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value), visit)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			walkTyped(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), visit)
		}
	}
}

// yamlFields maps a struct's YAML keys to their types, inlined structs
// included.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for k, v := range yamlFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		fields[tag] = f.Type
	}
	return fields
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

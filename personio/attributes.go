package personio

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// attributeSet is the data-minimization decision of one client: the flat
// attributes it asks Personio for and keeps. Everything else a response
// carries is dropped while decoding.
type attributeSet struct {
	fields map[string]bool // standard field names and allowed dynamic_N keys
	// labels and allCustom select v2 custom attributes by label, or all of
	// them (v1 resolves both to keys in fields).
	labels    map[string]bool
	allCustom bool
}

// resolveAttributes checks the configured attribute names; nil means every
// standard field and no custom attribute. The id is always included because
// records are keyed by it.
func resolveAttributes(names []string) (attributeSet, error) {
	if names == nil {
		names = StandardFields()
	}
	set := attributeSet{fields: map[string]bool{FieldID: true}}
	standard := StandardFields()
	for _, name := range names {
		if !slices.Contains(standard, name) && !IsCustomField(name) {
			return attributeSet{}, fmt.Errorf("attribute %q: not a record field (want one of %s or dynamic_N)",
				name, strings.Join(standard, ", "))
		}
		set.fields[name] = true
	}
	return set, nil
}

func (s attributeSet) has(field string) bool { return s.fields[field] }

// hasAny reports whether at least one of the fields is selected.
func (s attributeSet) hasAny(fields ...string) bool {
	for _, f := range fields {
		if s.fields[f] {
			return true
		}
	}
	return false
}

// custom lists the selected custom attribute keys, sorted.
func (s attributeSet) custom() []string {
	var keys []string
	for name := range s.fields {
		if IsCustomField(name) {
			keys = append(keys, name)
		}
	}
	slices.Sort(keys)
	return keys
}

// v1Key names the v1 employee attribute that carries a record field.
func v1Key(field string) string {
	if f, ok := LookupField(field); ok {
		return f.V1Key
	}
	return field // custom attributes keep their dynamic_N key
}

// v1Projection is the attributes[] list sent to v1, sorted so that requests
// are reproducible.
func (s attributeSet) v1Projection() []string {
	out := make([]string, 0, len(s.fields))
	for field := range s.fields {
		out = append(out, v1Key(field))
	}
	slices.Sort(out)
	return out
}

// employmentFields are the record fields that v2 keeps on the employment
// rather than on the person.
func employmentFields() []string {
	var names []string
	for _, f := range recordFields {
		if f.V2Resource == V2Employment {
			names = append(names, f.Name)
		}
	}
	return names
}

// sensitiveGlobalIDs are universal ids (v1) and global ids (v2) of fields
// that must never be kept, whatever the credential exposes.
func isSensitiveGlobalID(id string) bool {
	switch strings.ToLower(id) {
	case "iban", "bic", "swift", "bank_name", "bank_account", "bank_account_number",
		"account_number", "account_holder", "salary", "fix_salary", "hourly_salary",
		"tax_id", "tax_number", "social_security_number":
		return true
	}
	return false
}

// isSensitiveCustom reports whether a custom attribute looks like bank or pay
// data and must be dropped even when the configuration asks for it. The label
// check catches custom fields whose global id is null; it works on words so
// that "Datenbank-Zugang" or "Public key" are not mistaken for bank data.
func isSensitiveCustom(globalID, label string) bool {
	if isSensitiveGlobalID(globalID) {
		return true
	}
	words := strings.FieldsFunc(strings.ToLower(label), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return slices.ContainsFunc(words, isSensitiveWord)
}

// isSensitiveWord matches German and English words for bank and pay data,
// including German compounds such as Bankverbindung, Stundenlohn, Jahresgehalt.
func isSensitiveWord(w string) bool {
	switch w {
	case "iban", "bic", "swift", "blz", "salary", "wage", "wages", "payroll":
		return true
	}
	for _, prefix := range []string{"bank", "konto", "gehalt", "lohn", "salär", "iban"} {
		if strings.HasPrefix(w, prefix) {
			return true
		}
	}
	for _, suffix := range []string{"gehalt", "lohn", "salary", "vergütung"} {
		if strings.HasSuffix(w, suffix) {
			return true
		}
	}
	return false
}

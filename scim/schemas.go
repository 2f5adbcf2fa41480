package scim

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/personio-scim/personio-scim/store"
)

// schemaSet holds the three schemas the server speaks.
type schemaSet struct {
	user, enterprise, group schema.Schema
}

// buildSchemas declares exactly the attributes the server serves.
//
// It is called twice. The published set, served on /Schemas, marks every
// attribute readOnly that comes from Personio and readWrite only what the
// configuration makes writable, because that is what a client can do. The
// set handed to the library for validating PUT and PATCH bodies marks
// everything a client may send as readWrite: the library silently drops
// readOnly values from PUT bodies, and the handlers need to see them to tell
// a whole-body PUT that leaves HR values alone (accepted) from one that
// changes them (refused with a mutability error).
func buildSchemas(writable func(storeName string) bool) schemaSet {
	mut := func(storeName string) schema.AttributeMutability {
		if writable(storeName) {
			return schema.AttributeMutabilityReadWrite()
		}
		return schema.AttributeMutabilityReadOnly()
	}
	anyMut := func(names ...string) schema.AttributeMutability {
		for _, n := range names {
			if writable(n) {
				return schema.AttributeMutabilityReadWrite()
			}
		}
		return schema.AttributeMutabilityReadOnly()
	}
	text := func(name, storeName, description string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: name, Mutability: mut(storeName), Description: optional.NewString(description),
		}))
	}
	return schemaSet{
		user: schema.Schema{
			ID:          userURN,
			Name:        optional.NewString("User"),
			Description: optional.NewString("A person employed in Personio."),
			Attributes: schema.Attributes{
				schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
					Name: "userName", Required: true, Uniqueness: schema.AttributeUniquenessServer(),
					Mutability:  mut(store.AttrUserName),
					Description: optional.NewString("Unique login; by default the Personio work email, lower-cased. Case-insensitive."),
				})),
				schema.ComplexCoreAttribute(schema.ComplexParams{
					Name:        "name",
					Mutability:  anyMut(store.AttrGivenName, store.AttrFamilyName, store.AttrMiddleName),
					Description: optional.NewString("The person's name from Personio."),
					SubAttributes: []schema.SimpleParams{
						schema.SimpleStringParams(schema.StringParams{Name: "givenName", Mutability: mut(store.AttrGivenName)}),
						schema.SimpleStringParams(schema.StringParams{Name: "familyName", Mutability: mut(store.AttrFamilyName)}),
						schema.SimpleStringParams(schema.StringParams{Name: "middleName", Mutability: mut(store.AttrMiddleName)}),
					},
				}),
				text("displayName", store.AttrDisplayName, "Name for display."),
				text("nickName", store.AttrNickName, "Preferred name."),
				text("title", store.AttrTitle, "Job title."),
				text("userType", store.AttrUserType, "Kind of employment."),
				text("preferredLanguage", store.AttrPreferredLanguage, "Preferred language, e.g. de-DE."),
				text("locale", store.AttrLocale, "Locale, e.g. de-DE."),
				text("timezone", store.AttrTimezone, "Time zone, e.g. Europe/Berlin."),
				schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
					Name: "active", Mutability: mut(store.AttrActive),
					Description: optional.NewString("Whether the person may sign in; set by the lifecycle policy. Leavers stay visible with false."),
				})),
				schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
					Name: "password", Mutability: schema.AttributeMutabilityWriteOnly(), Returned: schema.AttributeReturnedNever(),
					Description: optional.NewString("Accepted so that whole-body updates succeed, then discarded: never stored, never returned."),
				})),
				workEntryAttribute("emails", "The work email (type work, primary).", mut(store.AttrEmail)),
				workEntryAttribute("phoneNumbers", "The work phone number (type work, primary).", mut(store.AttrPhone)),
				schema.ComplexCoreAttribute(schema.ComplexParams{
					Name: "groups", MultiValued: true, Mutability: schema.AttributeMutabilityReadOnly(),
					Description: optional.NewString("Groups the person belongs to, computed from Personio."),
					SubAttributes: []schema.SimpleParams{
						schema.SimpleStringParams(schema.StringParams{Name: "value", CaseExact: true, Mutability: schema.AttributeMutabilityReadOnly()}),
						schema.SimpleReferenceParams(schema.ReferenceParams{Name: "$ref", ReferenceTypes: []schema.AttributeReferenceType{"Group"}, Mutability: schema.AttributeMutabilityReadOnly()}),
						schema.SimpleStringParams(schema.StringParams{Name: "display", Mutability: schema.AttributeMutabilityReadOnly()}),
						schema.SimpleStringParams(schema.StringParams{Name: "type", CanonicalValues: []string{"direct"}, Mutability: schema.AttributeMutabilityReadOnly()}),
					},
				}),
			},
		},
		enterprise: schema.Schema{
			ID:          enterpriseURN,
			Name:        optional.NewString("EnterpriseUser"),
			Description: optional.NewString("Organisational attributes from Personio."),
			Attributes: schema.Attributes{
				text("employeeNumber", store.AttrEmployeeNumber, "The Personio employee id."),
				text("costCenter", store.AttrCostCenter, "Cost center."),
				text("organization", store.AttrOrganization, "Legal entity."),
				text("division", store.AttrDivision, "Division."),
				text("department", store.AttrDepartment, "Department."),
				schema.ComplexCoreAttribute(schema.ComplexParams{
					Name: "manager", Mutability: mut(store.AttrManager),
					Description: optional.NewString("The person's supervisor in Personio."),
					SubAttributes: []schema.SimpleParams{
						schema.SimpleStringParams(schema.StringParams{Name: "value", CaseExact: true, Mutability: mut(store.AttrManager)}),
						schema.SimpleReferenceParams(schema.ReferenceParams{Name: "$ref", ReferenceTypes: []schema.AttributeReferenceType{"User"}, Mutability: mut(store.AttrManager)}),
						schema.SimpleStringParams(schema.StringParams{Name: "displayName", Mutability: schema.AttributeMutabilityReadOnly()}),
					},
				}),
			},
		},
		group: schema.Schema{
			ID:          groupURN,
			Name:        optional.NewString("Group"),
			Description: optional.NewString("A group computed from Personio by the group rules."),
			Attributes: schema.Attributes{
				schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
					Name: "displayName", Required: true, Uniqueness: schema.AttributeUniquenessServer(),
					Mutability:  mut(""),
					Description: optional.NewString("Unique group name. Case-insensitive."),
				})),
				schema.ComplexCoreAttribute(schema.ComplexParams{
					Name: "members", MultiValued: true, Mutability: mut(""),
					Description: optional.NewString("The group's members, computed from Personio."),
					SubAttributes: []schema.SimpleParams{
						schema.SimpleStringParams(schema.StringParams{Name: "value", CaseExact: true, Mutability: mut("")}),
						schema.SimpleReferenceParams(schema.ReferenceParams{Name: "$ref", ReferenceTypes: []schema.AttributeReferenceType{"User"}, Mutability: mut("")}),
						schema.SimpleStringParams(schema.StringParams{Name: "display", Mutability: schema.AttributeMutabilityReadOnly()}),
						schema.SimpleStringParams(schema.StringParams{Name: "type", CanonicalValues: []string{"User"}, Mutability: mut("")}),
					},
				}),
			},
		},
	}
}

func workEntryAttribute(name, description string, m schema.AttributeMutability) schema.CoreAttribute {
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Name: name, MultiValued: true, Mutability: m, Description: optional.NewString(description),
		SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{Name: "value", Mutability: m}),
			schema.SimpleStringParams(schema.StringParams{Name: "type", CanonicalValues: []string{workType}, Mutability: m}),
			schema.SimpleBooleanParams(schema.BooleanParams{Name: "primary", Mutability: m}),
		},
	})
}

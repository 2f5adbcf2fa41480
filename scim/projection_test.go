package scim

import (
	"slices"
	"testing"
)

func TestProjection(t *testing.T) {
	leaves := userLeaves()
	if len(leaves) != int(userLeafCount) || len(groupLeaves()) != int(groupLeafCount) {
		t.Fatalf("leaf tables out of step with their constants")
	}
	all := projection(1)<<userLeafCount - 1
	tests := []struct {
		name                string
		attributes, exclude []string
		want                projection
	}{
		{"default is everything", nil, nil, all},
		{"complex selects its parts", []string{"name"}, nil, uName},
		{"sub-attribute", []string{"emails.value"}, nil, 1 << uEmailValue},
		{"case and core URN prefix", []string{"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:UserName"}, nil, 1 << uUserName},
		{"whole extension", []string{enterpriseURN}, nil, uEnterprise},
		{"extension attribute with URN", []string{enterpriseURN + ":manager"}, nil, uManager},
		{"extension attribute without URN", []string{"department"}, nil, 1 << uDepartment},
		{"unknown names select nothing", []string{"shoeSize", " ", "id"}, nil, 0},
		{"exclusion", nil, []string{"meta", "groups"}, all &^ uMeta &^ uGroups},
		{"both", []string{"name", "meta"}, []string{"meta.version"}, uName | uMeta&^(1<<uMetaVersion)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newProjection(leaves, userURN, tt.attributes, tt.exclude); got != tt.want {
				t.Errorf("got %b, want %b", got, tt.want)
			}
		})
	}
}

func TestSplitAttributeList(t *testing.T) {
	got := splitAttributeList(" userName, ,emails.value,")
	if !slices.Equal(got, []string{"userName", "emails.value"}) {
		t.Errorf("got %q", got)
	}
}

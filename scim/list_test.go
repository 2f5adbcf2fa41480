package scim

import (
	"reflect"
	"testing"
)

func TestQueryValues(t *testing.T) {
	got, err := queryValues(`filter=displayName+eq+"R%26D;+Platform"&COUNT=5&count=7&startindex=2&flag&=x`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"filter": `displayName eq "R&D; Platform"`, "count": "5", "startindex": "2", "flag": "", "": "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := queryValues("filter=%zz"); err == nil {
		t.Error("broken escape accepted")
	}
}

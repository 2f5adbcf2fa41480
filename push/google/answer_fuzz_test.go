package google

import (
	"encoding/json"
	"testing"

	admin "google.golang.org/api/admin/directory/v1"
)

// FuzzUserAnswer feeds arbitrary user answers to the code that reads the
// repeated fields the client library leaves as untyped JSON. It must never
// panic, and the patch it builds must be valid JSON.
func FuzzUserAnswer(f *testing.F) {
	f.Add([]byte(`{"id":"1","primaryEmail":"a@example.com","name":{"givenName":"A","familyName":"B"},` +
		`"externalIds":[{"type":"organization","value":"1042"}],"relations":[{"type":"manager","value":"m@example.com"}],` +
		`"organizations":[{"primary":true,"title":"T","department":"D","costCenter":"C","name":"N"}]}`))
	f.Add([]byte(`{"externalIds":{"type":"organization"},"relations":"manager","organizations":[1,"x",null,{"primary":"yes"}]}`))
	f.Add([]byte(`{"externalIds":[{"type":7,"value":[]}],"relations":[null],"orgUnitPath":"//a//"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u admin.User
		if json.Unmarshal(data, &u) != nil {
			return
		}
		have := fieldsOf(&u)
		want := have
		want.PersonioID, want.Manager, want.Title = "1042", "x@example.com", "Title"
		patch, _ := userPatch(&u, have, want)
		if _, err := json.Marshal(patch); err != nil {
			t.Fatalf("patch does not encode: %v", err)
		}
		_ = personioIDOf(&u)
		_ = normalizeOU(u.OrgUnitPath)
	})
}

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

func TestWithoutSecrets(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"primaryEmail":"a@example.com","password":"s3cr3t-Pw_x","name":{}}`, `{"primaryEmail":"a@example.com","password":"[not shown]","name":{}}`},
		{`{"password":"with \"quote\"","x":1}`, `{"password":"[not shown]","x":1}`},
		{`{"password" : "spaced"}`, `{"password":"[not shown]"}`},
		{`{"email":"a@example.com"}`, `{"email":"a@example.com"}`},
		{`{"password":`, ``},
	}
	for _, tc := range tests {
		if got := string(withoutSecrets([]byte(tc.in))); got != tc.want {
			t.Errorf("withoutSecrets(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

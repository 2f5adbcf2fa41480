package scim

import (
	"net/http"
	"testing"
)

// Answers come from the outside; decoding them never panics and rejects
// what is not SCIM.
func FuzzDecodeAnswers(f *testing.F) {
	for _, s := range []string{
		`{"totalResults":1,"Resources":[{"id":"a","externalId":"1","members":[{"value":"u"}],"meta":{"version":"W/\"1\""}}]}`,
		`{"totalResults":3}`, `{"Resources":[]}`, `<html>`, `null`, `{"id":1}`, `[]`, ``,
	} {
		f.Add([]byte(s), 200)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		resp := response{status: status, header: http.Header{}, body: body}
		if found, err := decodeList(resp); err == nil {
			for _, r := range found {
				_ = r.memberIDs()
			}
		}
		_, _, _ = parseResource(resp)
		_ = resp.describe()
		_ = resp.garbage()
	})
}

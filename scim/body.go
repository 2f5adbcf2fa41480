package scim

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	scimerrors "github.com/elimity-com/scim/errors"
)

// readBody reads a request body of at most max bytes. The library reads
// bodies without a limit, the PATCH normaliser needs the bytes, and a
// body over the limit is refused with 413 before anything parses it. It
// reports false when it has answered the request.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	tooLarge := scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge,
		Detail: "The request body is larger than " + strconv.FormatInt(max, 10) + " bytes."}
	if r.ContentLength > max {
		writeError(w, tooLarge)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var limit *http.MaxBytesError
	switch {
	case errors.As(err, &limit):
		writeError(w, tooLarge)
		return nil, false
	case err != nil:
		writeError(w, badRequest(scimerrors.ScimTypeInvalidSyntax, "The request body could not be read."))
		return nil, false
	}
	return body, true
}

package scim

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// plainJSON is the media type a client may ask for instead of
// application/scim+json (RFC 7644 section 3.1 allows both).
const plainJSON = "application/json"

// wantsPlainJSON reports whether the Accept header prefers
// application/json to application/scim+json. Ties, wildcards and a
// missing header keep SCIM's own type.
func wantsPlainJSON(r *http.Request) bool {
	// Header.Get without canonicalising a name that already is canonical.
	var accept string
	if v := r.Header["Accept"]; len(v) > 0 {
		accept = v[0]
	}
	if !strings.Contains(accept, plainJSON) {
		return false
	}
	scimQ, jsonQ, wildQ := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if parsed, err := strconv.ParseFloat(v, 64); err == nil {
				q = parsed
			}
		}
		switch mt {
		case contentType:
			scimQ = max(scimQ, q)
		case plainJSON:
			jsonQ = max(jsonQ, q)
		case "*/*", "application/*":
			wildQ = max(wildQ, q)
		}
	}
	if scimQ < 0 {
		scimQ = wildQ
	}
	return jsonQ > 0 && jsonQ > scimQ
}

// mediaTypeWriter answers in application/json what the handlers write as
// application/scim+json, for a client that asked for it.
type mediaTypeWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *mediaTypeWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if ct := w.Header().Get("Content-Type"); strings.HasPrefix(ct, contentType) {
			w.Header().Set("Content-Type", plainJSON+ct[len(contentType):])
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *mediaTypeWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *mediaTypeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// negotiated returns w, wrapped when the client asked for application/json.
func negotiated(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if wantsPlainJSON(r) {
		return &mediaTypeWriter{ResponseWriter: w}
	}
	return w
}

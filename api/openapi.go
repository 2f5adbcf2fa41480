package api

import (
	_ "embed"
	"net/http"
)

// openAPI documents the admin API; a test checks that every route is in it.
//
//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPI)
}

package personiotest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode answer", http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, body)
}

// writeRaw writes an answer already encoded as JSON.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeV1Error writes v1's error shape {"success":false,"error":{...}}.
func writeV1Error(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{
		"success": false,
		"error":   map[string]any{"code": status, "message": message},
	})
}

// writeProblem writes v2's application/problem+json error shape.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	body, _ := json.Marshal(map[string]any{
		"personio_trace_id": newTokenValue()[5:17],
		"timestamp":         time.Now().UTC().Format(time.RFC3339),
		"errors": []map[string]any{{
			"title":  title,
			"detail": detail,
			"type":   "https://developer.personio.de/reference/errors#common." + problemType(status),
			"_meta":  map[string]any{},
		}},
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func problemType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	}
	return "internal_error"
}

// writeOAuthError writes the v2 token endpoint's OAuth error shape.
func writeOAuthError(w http.ResponseWriter, status int, code, description string, meta map[string]any) {
	if meta == nil {
		meta = map[string]any{}
	}
	body, _ := json.Marshal(map[string]any{
		"error": code, "error_description": description,
		"error_uri": "https://developer.personio.de/reference/errors#" + code,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "trace_id": newTokenValue()[5:17],
		"meta": meta,
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// The discovery endpoints are served here rather than by the library: its
// ServiceProviderConfig hard-codes sort and etag as unsupported, and its
// /Schemas would publish the schemas used for validation, in which every
// attribute looks writable.

func (h *handler) serveServiceProviderConfig(w http.ResponseWriter, r *http.Request) {
	base := h.baseURL(r)
	schemes := []map[string]any{{
		"type":             "oauthbearertoken",
		"name":             "Bearer token",
		"description":      "Authorization: Bearer <token>, with a token that has the scim:read scope (and scim:write for PUT and PATCH).",
		"specUri":          "https://www.rfc-editor.org/rfc/rfc6750",
		"documentationUri": h.opts.DocumentationURI,
		"primary":          true,
	}}
	if h.opts.BasicAuth {
		schemes = append(schemes, map[string]any{
			"type":             "httpbasic",
			"name":             "HTTP Basic",
			"description":      "HTTP Basic with the token as the password.",
			"specUri":          "https://www.rfc-editor.org/rfc/rfc7617",
			"documentationUri": h.opts.DocumentationURI,
			"primary":          false,
		})
	}
	writeJSON(w, map[string]any{
		"schemas":          []string{spcURN},
		"documentationUri": h.opts.DocumentationURI,
		"patch":            map[string]bool{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.opts.MaxResults},
		"changePassword":   map[string]bool{"supported": false},
		"sort":             map[string]bool{"supported": true},
		"etag":             map[string]bool{"supported": true},
		// RFC 9865: both paging methods; a cursor stays valid while it is
		// used at least once per SnapshotIdle.
		"pagination": map[string]any{
			"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": h.opts.PageSize, "maxPageSize": h.opts.MaxResults,
			"cursorTimeout": int(h.opts.SnapshotIdle.Seconds()),
		},
		"authenticationSchemes": schemes,
		"meta": map[string]string{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	})
}

func (h *handler) schemaResources(base string) []map[string]any {
	var out []map[string]any
	for _, s := range []struct {
		id  string
		doc map[string]any
	}{
		{userURN, h.published.user.ToMap()},
		{enterpriseURN, h.published.enterprise.ToMap()},
		{groupURN, h.published.group.ToMap()},
	} {
		s.doc["meta"] = map[string]string{"resourceType": "Schema", "location": base + "/Schemas/" + s.id}
		out = append(out, s.doc)
	}
	return out
}

func (h *handler) serveSchemas(w http.ResponseWriter, r *http.Request, id string) {
	all := h.schemaResources(h.baseURL(r))
	serveDiscovery(w, all, id, func(doc map[string]any) string { return doc["id"].(string) })
}

func (h *handler) resourceTypes(base string) []map[string]any {
	return []map[string]any{
		{
			"schemas":     []string{resourceTypeURN},
			"id":          "User",
			"name":        "User",
			"endpoint":    "/Users",
			"description": "People employed in Personio",
			"schema":      userURN,
			"schemaExtensions": []map[string]any{
				{"schema": enterpriseURN, "required": false},
			},
			"meta": map[string]string{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"},
		},
		{
			"schemas":          []string{resourceTypeURN},
			"id":               "Group",
			"name":             "Group",
			"endpoint":         "/Groups",
			"description":      "Groups computed from Personio",
			"schema":           groupURN,
			"schemaExtensions": []map[string]any{},
			"meta":             map[string]string{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Group"},
		},
	}
}

func (h *handler) serveResourceTypes(w http.ResponseWriter, r *http.Request, name string) {
	all := h.resourceTypes(h.baseURL(r))
	serveDiscovery(w, all, name, func(doc map[string]any) string { return doc["id"].(string) })
}

// serveDiscovery answers a discovery collection as a ListResponse, or one
// of its members when id is set.
func serveDiscovery(w http.ResponseWriter, all []map[string]any, id string, idOf func(map[string]any) string) {
	if id == "" {
		writeJSON(w, map[string]any{
			"schemas":      []string{listURN},
			"totalResults": len(all),
			"itemsPerPage": len(all),
			"startIndex":   1,
			"Resources":    all,
		})
		return
	}
	for _, doc := range all {
		if strings.EqualFold(idOf(doc), id) {
			writeJSON(w, doc)
			return
		}
	}
	writeError(w, notFound(url.PathEscape(id)))
}

// writeJSON writes a small, rarely requested document with encoding/json.
func writeJSON(w http.ResponseWriter, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, internalError())
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(bytes.TrimSuffix(body.Bytes(), []byte("\n")))
}

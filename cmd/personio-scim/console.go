package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/personio-scim/personio-scim/api/console"
)

// newConsole builds the web console from OIDC_ISSUER, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, OIDC_ADMIN_GROUPS, OIDC_ADMIN_EMAILS, OIDC_VIEWER_GROUPS,
// OIDC_VIEWER_EMAILS, OIDC_GROUPS_CLAIM, OIDC_SCOPES and PUBLIC_URL (getenv is
// os.Getenv outside tests). Without OIDC_ISSUER it signs people in only
// through one-time local-admin links (Console.LocalAdminLink), which the
// demo prints. Errors name the variable, never a value.
func newConsole(getenv func(string) string, logger *slog.Logger) (*console.Console, error) {
	list := func(name string) []string {
		var out []string
		for _, s := range strings.Split(getenv(name), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	cfg := console.Config{
		Issuer: strings.TrimSpace(getenv("OIDC_ISSUER")), ClientID: strings.TrimSpace(getenv("OIDC_CLIENT_ID")),
		ClientSecret: getenv("OIDC_CLIENT_SECRET"), PublicURL: strings.TrimRight(strings.TrimSpace(getenv("PUBLIC_URL")), "/"),
		AdminGroups: list("OIDC_ADMIN_GROUPS"), AdminEmails: list("OIDC_ADMIN_EMAILS"),
		ViewerGroups: list("OIDC_VIEWER_GROUPS"), ViewerEmails: list("OIDC_VIEWER_EMAILS"),
		GroupsClaim: strings.TrimSpace(getenv("OIDC_GROUPS_CLAIM")), ExtraScopes: list("OIDC_SCOPES"),
		Logger: logger,
	}
	c, err := console.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return c, nil
}

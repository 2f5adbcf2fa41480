package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

const tokenUsage = `Usage:
  personio-scim token create --name NAME --scope SCOPE[,SCOPE] [--expires 90d]   prints the secret once
  personio-scim token rotate --name NAME [--grace 24h] [--expires 90d]
        a new secret under the same name and scopes; the old one works until the grace ends
  personio-scim token list
  personio-scim token revoke ID

Scopes: scim:read, scim:write (SCIM only), admin (the admin API only).
`

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newCommand("token", stderr, tokenUsage)
	if err != nil {
		return err
	}
	if err := c.parse(args); err != nil {
		return err
	}
	if args = c.flags.Args(); len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	pg, err := openPostgres(ctx, c.env, "token")
	if err != nil {
		return err
	}
	defer pg.Close()
	if err := migrateUp(pg, newLogger(stderr, "text", slog.LevelWarn)); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, pg, args[1:], stdout, stderr)
	case "list":
		return tokenList(ctx, pg, stdout)
	case "rotate":
		return tokenRotate(ctx, pg, args[1:], stdout, stderr)
	case "revoke":
		if len(args) != 2 {
			fmt.Fprint(stderr, tokenUsage)
			return errUsage
		}
		if err := pg.RevokeToken(ctx, args[1], time.Now()); err != nil {
			return fmt.Errorf("revoke token %s: %w", args[1], err)
		}
		fmt.Fprintf(stdout, "revoked %s; services stop accepting it within 30 seconds\n", args[1])
		return nil
	}
	fmt.Fprintf(stderr, "unknown token action %q\n\n%s", args[0], tokenUsage)
	return errUsage
}

func tokenCreate(ctx context.Context, st store.Store, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "a name that says who uses the token, e.g. okta")
	scopes := fs.String("scope", store.ScopeSCIMRead, "comma-separated scopes: scim:read, scim:write, admin")
	expires := fs.String("expires", "", "lifetime, e.g. 90d or 720h (default: never expires)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	lifetime, err := parseLifetime("--expires", *expires)
	if err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprint(stderr, "token create: --name is required\n\n"+tokenUsage)
		return errUsage
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		s = strings.TrimSpace(s)
		if !store.ValidScope(s) {
			return fmt.Errorf("--scope: unknown scope %q (want scim:read, scim:write or admin)", s)
		}
		list = append(list, s)
	}
	t, secret, err := newToken(*name, list, lifetime, time.Now())
	if err != nil {
		return err
	}
	if err := st.CreateToken(ctx, t); err != nil {
		return fmt.Errorf("create token %q: %w", *name, err)
	}
	fmt.Fprintf(stderr, "created token %s (%s) with scopes %s; it is shown only this once:\n", t.ID, t.Name, strings.Join(list, ","))
	fmt.Fprintln(stdout, secret)
	return nil
}

// newToken makes a token and its secret; lifetime 0 never expires.
func newToken(name string, scopes []string, lifetime time.Duration, now time.Time) (store.Token, string, error) {
	secret, err := store.NewTokenSecret()
	if err != nil {
		return store.Token{}, "", err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return store.Token{}, "", err
	}
	t := store.Token{ID: "tok_" + hex.EncodeToString(id[:]), Name: name, Scopes: scopes, Hash: store.HashToken(secret), CreatedAt: now}
	if lifetime > 0 {
		t.ExpiresAt = now.Add(lifetime)
	}
	return t, secret, nil
}

// parseLifetime reads a duration that may be given in days (90d), since
// token lifetimes are.
func parseLifetime(flagName, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%s=%q: want a number of days such as 90d, or a duration such as 720h", flagName, v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a number of days such as 90d, or a duration such as 720h", flagName, v)
	}
	return d, nil
}

// tokenRotate gives a token's name and scopes to a fresh secret, so that
// an identity provider can be switched over before the old secret stops.
func tokenRotate(ctx context.Context, st store.Store, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the name of the token to rotate")
	grace := fs.String("grace", "24h", "how long the old secret keeps working, e.g. 24h or 7d")
	expires := fs.String("expires", "", "the new token's lifetime, e.g. 90d (default: never expires)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *name == "" {
		fmt.Fprint(stderr, "token rotate: --name is required\n\n"+tokenUsage)
		return errUsage
	}
	graceFor, err := parseLifetime("--grace", *grace)
	if err != nil {
		return err
	}
	lifetime, err := parseLifetime("--expires", *expires)
	if err != nil {
		return err
	}
	current, err := currentToken(ctx, st, *name)
	if err != nil {
		return err
	}
	now := time.Now()
	t, secret, err := newToken(*name, current.Scopes, lifetime, now)
	if err != nil {
		return err
	}
	if err := st.RotateToken(ctx, t, now.Add(graceFor), now); err != nil {
		return fmt.Errorf("rotate token %q: %w", *name, err)
	}
	fmt.Fprintf(stderr, "rotated %q: new token %s with scopes %s; the old secret works until %s. The new one is shown only this once:\n",
		*name, t.ID, strings.Join(t.Scopes, ","), now.Add(graceFor).UTC().Format(time.RFC3339))
	fmt.Fprintln(stdout, secret)
	return nil
}

// currentToken is the live token that carries name.
func currentToken(ctx context.Context, st store.Store, name string) (store.Token, error) {
	tokens, err := st.Tokens(ctx)
	if err != nil {
		return store.Token{}, err
	}
	for _, t := range tokens {
		if t.Name == name && t.RevokedAt.IsZero() && t.ReplacedAt.IsZero() {
			return t, nil
		}
	}
	return store.Token{}, fmt.Errorf("rotate token %q: no current token has that name (see token list)", name)
}

func orDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func tokenList(ctx context.Context, st store.Store, stdout io.Writer) error {
	tokens, err := st.Tokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.Format(time.RFC3339),
			orDash(t.ExpiresAt), orDash(t.LastUsedAt), orDash(t.RevokedAt))
	}
	return tw.Flush()
}

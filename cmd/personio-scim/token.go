package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

const tokenUsage = `Usage:
  personio-scim token create --name NAME --scope SCOPE[,SCOPE]   prints the secret once
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
	if err := fs.Parse(args); err != nil {
		return flagError(err)
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
	secret, err := store.NewTokenSecret()
	if err != nil {
		return err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	t := store.Token{ID: "tok_" + hex.EncodeToString(id[:]), Name: *name, Scopes: list, Hash: store.HashToken(secret), CreatedAt: time.Now()}
	if err := st.CreateToken(ctx, t); err != nil {
		return fmt.Errorf("create token %q: %w", *name, err)
	}
	fmt.Fprintf(stderr, "created token %s (%s) with scopes %s; it is shown only this once:\n", t.ID, t.Name, strings.Join(list, ","))
	fmt.Fprintln(stdout, secret)
	return nil
}

func tokenList(ctx context.Context, st store.Store, stdout io.Writer) error {
	tokens, err := st.Tokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
	for _, t := range tokens {
		revoked := "-"
		if !t.RevokedAt.IsZero() {
			revoked = t.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

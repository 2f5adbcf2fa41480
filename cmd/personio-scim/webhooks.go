package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
)

// webhookTokenVar holds the shared secret Personio sends in the
// Authorization header of every delivery.
const webhookTokenVar = "PERSONIO_WEBHOOK_TOKEN"

// minWebhookTokenLength keeps guessable webhook tokens out: anyone who
// knows it can make the service read Personio.
const minWebhookTokenLength = 20

const webhooksUsage = `Usage:
  personio-scim webhooks register [--url URL] [--events a,b] [--description TEXT] [--disabled] [--replace]
  personio-scim webhooks list
  personio-scim webhooks delete ID

register subscribes the service's /webhooks/personio to Personio's people
events through the v2 webhooks API, with PERSONIO_WEBHOOK_TOKEN as the token
Personio sends back in Authorization. The URL defaults to PUBLIC_URL +
/webhooks/personio. The same credential as for syncing is used, with API v2.
`

func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if wantsHelp(args) {
		fmt.Fprint(stdout, webhooksUsage)
		return nil
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, webhooksUsage)
		return errUsage
	}
	e, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "register":
		return registerWebhook(ctx, e, args[1:], stdout, stderr)
	case "list":
		return listWebhooks(ctx, e, stdout)
	case "delete":
		if len(args) != 2 {
			fmt.Fprint(stderr, webhooksUsage)
			return errUsage
		}
		return deleteWebhook(ctx, e, args[1], stdout)
	}
	fmt.Fprintf(stderr, "personio-scim webhooks: unknown action %q\n\n%s", args[0], webhooksUsage)
	return errUsage
}

// webhookClient is a v2 client whatever PERSONIO_API_VERSION says: the
// webhooks API exists only in v2, and the credential is the same.
func webhookClient(e env) (*personio.Client, error) {
	policy, _, err := loadPolicy(e)
	if err != nil {
		return nil, err
	}
	return newPersonioClient(e, policy, func(c *personio.Config) { c.APIVersion = personio.APIv2 })
}

func registerWebhook(ctx context.Context, e env, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("webhooks register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "where Personio delivers (default PUBLIC_URL + /webhooks/personio)")
	events := fs.String("events", strings.Join(personio.PeopleEvents(), ","), "comma-separated event names")
	description := fs.String("description", "personio-scim", "shown in Personio's webhook list")
	disabled := fs.Bool("disabled", false, "register the webhook disabled")
	replace := fs.Bool("replace", false, "delete webhooks with the same URL first (to rotate the token)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	token := os.Getenv(webhookTokenVar)
	if len(token) < minWebhookTokenLength {
		return fmt.Errorf("%s must be set to a random secret of at least %d characters (for example: openssl rand -hex 32); the service must run with the same value", webhookTokenVar, minWebhookTokenLength)
	}
	if *target == "" {
		if e.PublicURL == "" {
			return errors.New("give --url, or set PUBLIC_URL so that the webhook URL can be derived")
		}
		*target = strings.TrimSuffix(e.PublicURL, "/") + "/webhooks/personio"
	}
	client, err := webhookClient(e)
	if err != nil {
		return err
	}
	if *replace {
		if err := deleteByURL(ctx, client, *target, stdout); err != nil {
			return err
		}
	}
	w := personio.Webhook{URL: *target, Description: *description, Token: token, EnabledEvents: splitList(*events)}
	if *disabled {
		w.Status = personio.WebhookDisabled
	}
	created, err := client.CreateWebhook(ctx, w)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registered webhook %s: %s, %s, %d events\n", created.ID, created.URL, created.Status, len(created.EnabledEvents))
	return nil
}

func deleteByURL(ctx context.Context, client *personio.Client, target string, stdout io.Writer) error {
	hooks, err := client.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.URL != target {
			continue
		}
		if err := client.DeleteWebhook(ctx, h.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted webhook %s\n", h.ID)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func listWebhooks(ctx context.Context, e env, stdout io.Writer) error {
	client, err := webhookClient(e)
	if err != nil {
		return err
	}
	hooks, err := client.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	if len(hooks) == 0 {
		fmt.Fprintln(stdout, "no webhooks registered")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tURL\tEVENTS\tDESCRIPTION")
	for _, h := range hooks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.ID, h.Status, h.URL, strings.Join(h.EnabledEvents, ","), h.Description)
	}
	return tw.Flush()
}

func deleteWebhook(ctx context.Context, e env, id string, stdout io.Writer) error {
	client, err := webhookClient(e)
	if err != nil {
		return err
	}
	if err := client.DeleteWebhook(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted webhook %s\n", id)
	return nil
}

// webhookReceiver builds the /webhooks/personio receiver when
// PERSONIO_WEBHOOK_TOKEN is set, nil otherwise. Without Personio
// credentials there is nothing to sync, so the receiver stays off too.
func webhookReceiver(token string, sched *mirror.Scheduler, logger *slog.Logger) (*api.Webhooks, error) {
	switch {
	case token == "":
		return nil, nil
	case sched == nil:
		logger.Warn(webhookTokenVar + " is set but Personio credentials are not: webhooks are off")
		return nil, nil
	}
	hooks, err := api.NewWebhooks(api.WebhookOptions{Token: token, Syncer: sched, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", webhookTokenVar, err)
	}
	logger.Info("receiving Personio webhooks", "path", api.WebhookPath)
	return hooks, nil
}

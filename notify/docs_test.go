package notify_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/notify"
)

// TestDocumentedExampleParses keeps docs/notifications.md's example a
// configuration the service accepts, with the values it says.
func TestDocumentedExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../docs/notifications.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- notifications example: begin -->\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```\n<!-- notifications example: end -->")
	if !ok || !ok2 {
		t.Fatal("the example markers are missing from docs/notifications.md")
	}
	cfg, err := notify.ParseDocument("docs/notifications.md", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Channels) != 4 || cfg.Digest.Window != 15*time.Minute || cfg.Events[notify.EventLeaverDeactivated].To[1] != notify.ToManager ||
		cfg.Channels[0].SMTP.PasswordEnv != "SMTP_PASSWORD" || cfg.Retry.Max != time.Hour {
		t.Fatalf("the example parsed to %+v", cfg)
	}
	for _, ev := range notify.Events() {
		if !strings.Contains(string(doc), "`"+ev+"`") {
			t.Errorf("docs/notifications.md does not name the event %s", ev)
		}
	}
}

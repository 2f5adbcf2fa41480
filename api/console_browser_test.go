package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/personio-scim/personio-scim/store"
)

// chromium finds Debian's Chromium. Without it the browser tests fail in
// CI (CI=true, where .ci/run installs it) and skip, saying why, elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; the console's browser tests need it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed: the console's browser tests do not run here (they must in CI); apt-get install -y chromium")
	return ""
}

// screenshots is where page images go: CONSOLE_SCREENSHOTS, or the test's
// temporary directory.
func screenshots(t *testing.T) string {
	if dir := os.Getenv("CONSOLE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// newChrome starts a headless Chromium with an empty profile; each call is
// a separate browser, so sessions never leak between people.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// A ceiling so that a hung browser fails the test instead of the run.
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("%s took %v", what, time.Since(start)) }()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// shoot saves a screenshot of the page. Headless Chromium on a loaded
// machine has been seen to never answer a capture (once in a full test run
// on 2 cores, the page itself long rendered), so each attempt has its own
// deadline and a capture is asked for up to three times before the test
// fails.
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	var err error
	for range 3 {
		attempt, cancel := context.WithTimeout(ctx, 20*time.Second)
		png, err = chromedp.Run(attempt, chromedp.CaptureScreenshot())
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		t.Logf("screenshot %s: %v; asking again", name, err)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserSignIn opens path signed out, is sent to sign in, and signs in at
// the test provider's login form.
func browserSignIn(t *testing.T, ctx context.Context, s *consoleStack, path, email, shots string) {
	t.Helper()
	run(t, ctx, "open "+path, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.CSS(`a.signin`)))
	if shots != "" {
		shoot(t, ctx, shots, "sign-in")
	}
	run(t, ctx, "sign in at the IdP",
		chromedp.Click(chromedp.CSS(`a.signin`)),
		chromedp.WaitVisible(chromedp.ID(`email`)),
		chromedp.SendKeys(chromedp.ID(`email`), email),
		chromedp.SendKeys(chromedp.ID(`password`), password),
		chromedp.Click(chromedp.ID(`signin`)),
		chromedp.WaitVisible(chromedp.CSS(`form.who`)),
	)
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func TestBrowserApproveHeldRunAndReadWhy(t *testing.T) {
	chromium(t)
	s := newConsoleStack(t)
	shots := screenshots(t)
	ctx := newChrome(t)
	browserSignIn(t, ctx, s, "/admin/runs", adminEmail, shots)
	shoot(t, ctx, shots, "runs")

	run(t, ctx, "open the held run",
		chromedp.Click(chromedp.CSS(`tr.held a`)),
		chromedp.WaitVisible(chromedp.ID(`held`)))
	held := textOf(t, ctx, `#held`)
	for _, h := range s.held.Guard.Held {
		if !strings.Contains(held, h.UserName) || !strings.Contains(held, h.PersonioID) || !strings.Contains(held, h.Rule) {
			t.Fatalf("held table does not show %s (%s, %s): %s", h.UserName, h.PersonioID, h.Rule, held)
		}
	}
	if digest := textOf(t, ctx, `code.digest`); digest != s.held.Guard.PlanDigest {
		t.Fatalf("page shows digest %q, want %q", digest, s.held.Guard.PlanDigest)
	}
	shoot(t, ctx, shots, "run-held")

	// A form whose CSRF token was tampered with changes nothing.
	run(t, ctx, "approve with a forged CSRF token",
		chromedp.SetAttributeValue(chromedp.CSS(`form[action$="/approve"] input[name="csrf"]`), "value", "forged"),
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if msg := textOf(t, ctx, `p.error`); !strings.Contains(msg, "CSRF") {
		t.Fatalf("forged CSRF page says %q", msg)
	}
	if st := s.runStatus(); st != store.RunHeld {
		t.Fatalf("run is %s after a forged approval", st)
	}

	s.clock.Advance(time.Minute)
	run(t, ctx, "approve",
		chromedp.Navigate(s.url+"/admin/runs/"+s.held.RunID),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	if st := s.runStatus(); st != store.RunApproved {
		t.Fatalf("run is %s after the approval", st)
	}
	shoot(t, ctx, shots, "run-approved")
	for _, id := range s.leavers {
		if s.active(id) {
			t.Fatalf("person %s still active after the approval", id)
		}
	}

	// Search a leaver by Personio id and read why they are inactive.
	run(t, ctx, "search a person",
		chromedp.Navigate(s.url+"/admin/people"),
		chromedp.WaitVisible(chromedp.ID(`q`)),
		chromedp.SendKeys(chromedp.ID(`q`), s.leavers[0]),
		chromedp.Submit(chromedp.ID(`q`)),
		chromedp.WaitVisible(chromedp.CSS(`#people a`)))
	shoot(t, ctx, shots, "people")
	run(t, ctx, "open the person", chromedp.Click(chromedp.CSS(`#people a`)), chromedp.WaitVisible(chromedp.ID(`lifecycle`)))
	why := textOf(t, ctx, `#lifecycle`)
	if !strings.Contains(why, "Inactive") || !strings.Contains(why, "status-inactive") {
		t.Fatalf("person page says %q, want inactive because of status-inactive", why)
	}
	shoot(t, ctx, shots, "person")

	for _, p := range []struct{ path, name, sel string }{
		{"/admin/", "overview", "dl.counts"},
		{"/admin/groups", "groups", "h1"},
		{"/admin/audit?kind=identity", "audit", "form.filters"},
		{"/admin/targets", "targets", "h1"},
	} {
		run(t, ctx, "open "+p.path, chromedp.Navigate(s.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		shoot(t, ctx, shots, p.name)
	}
	run(t, ctx, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.url+"/admin/runs/"+s.held.RunID),
		chromedp.WaitVisible(chromedp.CSS(`h1`)))
	shoot(t, ctx, shots, "run-phone")
}

func TestBrowserViewerCannotApprove(t *testing.T) {
	chromium(t)
	s := newConsoleStack(t)
	shots := screenshots(t)
	ctx := newChrome(t)
	browserSignIn(t, ctx, s, "/admin/runs/"+s.held.RunID, viewerEmail, "")
	run(t, ctx, "open the held run", chromedp.WaitVisible(chromedp.ID(`held`)))
	forms, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('form[action$="/approve"]')).map(f => f.action)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(forms) != 0 {
		t.Fatalf("viewer sees approval forms %v", forms)
	}
	if role := textOf(t, ctx, `span.role`); role != "viewer" {
		t.Fatalf("role shown = %q", role)
	}
	shoot(t, ctx, shots, "run-viewer")
	if st := s.runStatus(); st != store.RunHeld {
		t.Fatalf("run is %s", st)
	}
}

func TestBrowserSessionExpiry(t *testing.T) {
	chromium(t)
	s := newConsoleStack(t)
	ctx := newChrome(t)
	browserSignIn(t, ctx, s, "/admin/runs/"+s.held.RunID, adminEmail, "")
	run(t, ctx, "open the run", chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button`)))
	s.clock.Advance(time.Hour + time.Second)
	run(t, ctx, "approve after expiry",
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if msg := textOf(t, ctx, `p.error`); !strings.Contains(msg, "expired") {
		t.Fatalf("expired approval page says %q", msg)
	}
	if st := s.runStatus(); st != store.RunHeld {
		t.Fatalf("run is %s after an expired session's approval", st)
	}
	run(t, ctx, "reload", chromedp.Navigate(s.url+"/admin/"), chromedp.WaitVisible(chromedp.CSS(`a.signin`)))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/admin/login") {
		t.Fatalf("after expiry /admin/ lands on %s, want the sign-in page", loc)
	}
}

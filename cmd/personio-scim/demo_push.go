package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/store"
)

// demoPushTypes are the push target types the demo can simulate, each
// with the name its target gets.
var demoPushTypes = map[string]string{"scim": "scim-simulator", "entra": "entra-simulator", "google": "google-simulator"}

// demoEmailDomain is the simulated company's mail domain, which the Google
// simulator must own for the target to create accounts in it.
const demoEmailDomain = "alpenwerk.example"

// demoPushTarget is the demo's SCIM push target.
const demoPushTarget = "scim-simulator"

// demoPushKinds is the demo's --push: alone it means the SCIM simulator;
// `--push entra`, `--push=scim,google` name the simulators to push to.
type demoPushKinds struct{ kinds []string }

func (p *demoPushKinds) String() string { return strings.Join(p.kinds, ",") }

// IsBoolFlag lets --push stand alone.
func (p *demoPushKinds) IsBoolFlag() bool { return true }

func (p *demoPushKinds) Set(v string) error {
	if v == "true" {
		v = "scim"
	}
	if v == "false" {
		p.kinds = nil
		return nil
	}
	for _, kind := range strings.Split(v, ",") {
		if err := p.add(strings.TrimSpace(kind)); err != nil {
			return err
		}
	}
	return nil
}

func (p *demoPushKinds) add(kind string) error {
	if _, ok := demoPushTypes[kind]; !ok {
		return fmt.Errorf("--push: %q is not a simulated target; want scim, entra or google", kind)
	}
	if !slices.Contains(p.kinds, kind) {
		p.kinds = append(p.kinds, kind)
	}
	return nil
}

// addArgs takes the words after the flags (`demo --push entra google`).
// The bare --push meant the SCIM simulator; naming others replaces it.
func (p *demoPushKinds) addArgs(args []string) error {
	if len(args) == 0 {
		return nil
	}
	if len(p.kinds) == 0 {
		return fmt.Errorf("demo: unexpected arguments %q; name push simulators after --push", args)
	}
	if len(p.kinds) == 1 && p.kinds[0] == "scim" {
		p.kinds = nil
	}
	for _, a := range args {
		if err := p.add(a); err != nil {
			return err
		}
	}
	return nil
}

// demoPush is one simulated push target, for the welcome.
type demoPush struct{ name, kind, url string }

// startPushTargets serves the simulators and describes a live target for
// each, as `targets:` entries in CONFIG_FILE would.
func (d *demo) startPushTargets(kinds []string) (serviceOptions, error) {
	var opts serviceOptions
	secrets := map[string]string{}
	for _, kind := range kinds {
		section, err := d.startPushSimulator(kind, secrets)
		if err != nil {
			return opts, err
		}
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(section), &node); err != nil {
			return opts, fmt.Errorf("demo %s target: %w", kind, err)
		}
		opts.targets = append(opts.targets, push.TargetConfig{
			Name: demoPushTypes[kind], Type: kind, Live: true, Guard: push.Guard{MaxPercent: push.DefaultGuardPercent},
			ReconcileEvery: push.DefaultReconcileEvery, QuarantineAfter: push.DefaultQuarantineAt, Section: node.Content[0],
		})
	}
	opts.getenv = func(k string) string {
		if v, ok := secrets[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	return opts, nil
}

// startPushSimulator serves one simulator on loopback and returns the
// target section that points at it; its secrets go into secrets.
func (d *demo) startPushSimulator(kind string, secrets map[string]string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for the %s simulator: %w", kind, err)
	}
	url := "http://" + ln.Addr().String()
	var handler http.Handler
	var section string
	switch kind {
	case "scim":
		token, err := store.NewTokenSecret()
		if err != nil {
			ln.Close()
			return "", err
		}
		d.scimSim = scimsim.New(scimsim.Options{Token: token, ETags: true})
		d.closers = append(d.closers, d.scimSim.Close)
		handler, secrets["DEMO_SCIM_PUSH_TOKEN"] = d.scimSim, token
		section = "base_url: " + url + "\ntoken_env: DEMO_SCIM_PUSH_TOKEN\n"
	case "entra":
		secret, err := store.NewTokenSecret()
		if err != nil {
			ln.Close()
			return "", err
		}
		// Entra's logs show outcomes minutes later; the demo's after seconds.
		o := entrasim.Options{TenantID: "demo-tenant", ClientID: "personio-scim-demo", ClientSecret: secret,
			ServicePrincipalID: "sp-demo", JobID: "API2AAD.demo.job", LogDelay: 5 * time.Second}
		d.entraSim = entrasim.New(o)
		handler, secrets["DEMO_ENTRA_SECRET"] = d.entraSim, secret
		section = fmt.Sprintf("tenant_id: %s\nclient_id: %s\nclient_secret_env: DEMO_ENTRA_SECRET\nservice_principal_id: %s\njob_id: %s\ngraph_url: %s/v1.0\ntoken_url: %s\n",
			o.TenantID, o.ClientID, o.ServicePrincipalID, o.JobID, url, d.entraSim.TokenURL(url))
	case "google":
		d.googleSim = googlesim.New(googlesim.Options{Domains: []string{demoEmailDomain}})
		key := filepath.Join(os.TempDir(), fmt.Sprintf("personio-scim-demo-google-%d.json", os.Getpid()))
		if err := os.WriteFile(key, d.googleSim.KeyJSON(url), 0o600); err != nil {
			ln.Close()
			return "", fmt.Errorf("write the Google simulator's key: %w", err)
		}
		d.closers = append(d.closers, func() { os.Remove(key) })
		handler, secrets["DEMO_GOOGLE_KEY"] = d.googleSim, key
		section = "credentials_file_env: DEMO_GOOGLE_KEY\nsubject: admin@" + demoEmailDomain + "\ndomain: " + demoEmailDomain + "\ncreate_org_units: true\nendpoint: " + url + "/\n"
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	d.closers = append(d.closers, func() { srv.Close() })
	d.pushes = append(d.pushes, demoPush{name: demoPushTypes[kind], kind: kind, url: url})
	return section, nil
}

// printPushes tells what the simulated targets are and how to look at them.
func (d *demo) printPushes(w io.Writer, base string) {
	if len(d.pushes) == 0 {
		return
	}
	fmt.Fprintln(w, "\nPushing: every identity (and group, where the target holds groups) goes to simulated targets:")
	for _, p := range d.pushes {
		fmt.Fprintf(w, "  %-17s %-6s simulator at %s (live)\n", p.name, p.kind, p.url)
	}
	first := d.pushes[0].name
	fmt.Fprintf(w, `See them, their records and what a push of one person sends:
  curl -H 'Authorization: Bearer %s' '%s/api/v1/targets'
  curl -H 'Authorization: Bearer %s' '%s/api/v1/targets/%s/records?limit=3'
  curl -H 'Authorization: Bearer %s' -X POST '%s/api/v1/targets/%s/preview?limit=1'
`, d.adminToken, base, d.adminToken, base, first, d.adminToken, base, first)
}

package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/personio-scim/personio-scim/api"
)

// version and commit are set at build time with
// -ldflags "-X main.version=… -X main.commit=…"; a plain go build falls back
// to the VCS stamp Go embeds.
var (
	version = "dev"
	commit  = ""
)

// buildInfo is what the running binary knows about its own build.
func buildInfo() api.BuildInfo {
	b := api.BuildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if b.Commit != "" {
		return b
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		b.Commit = "unknown"
		return b
	}
	b.Commit = vcsRevision(info.Settings)
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	return b
}

// vcsRevision is the commit Go stamped into the binary, marked when the
// tree had uncommitted changes.
func vcsRevision(settings []debug.BuildSetting) string {
	rev, dirty := "unknown", false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && rev != "unknown" {
		rev += "-dirty"
	}
	return rev
}

func printVersion(w io.Writer) {
	b := buildInfo()
	fmt.Fprintf(w, "personio-scim %s (commit %s, %s)\n", b.Version, b.Commit, b.GoVersion)
}

package main

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionCommand prints the build: the module version (a tag with go
// install; from a git checkout, Go's pseudo-version of the commit), the
// commit and the Go release, read from the binary's build information.
type VersionCommand struct{ m *Main }

// stampedVersion and stampedCommit are set with -ldflags -X by builds that
// have no .git to read (deploy/Dockerfile: the build context leaves it
// out); the build information wins when it has its own.
var stampedVersion, stampedCommit string

// Run prints one line.
func (c *VersionCommand) Run(_ context.Context, args []string) error {
	if len(args) > 0 {
		return &usageError{"version takes no arguments"}
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(c.m.Stdout, versionLine(bi, stampedVersion, stampedCommit))
	return nil
}

// versionLine is "foreman VERSION commit COMMIT GO": each part is always
// there, "unknown" when the build recorded none (a build with
// -buildvcs=false, or from a git worktree, which Go does not stamp).
func versionLine(bi *debug.BuildInfo, stampVersion, stampCommit string) string {
	v, rev, dirty, goVersion := "", "", false, runtime.Version()
	if bi != nil {
		if bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = cmp.Or(stampVersion, "(devel)")
	}
	if rev == "" {
		rev = cmp.Or(stampCommit, "unknown")
	}
	rev = rev[:min(12, len(rev))]
	if dirty {
		rev += "+modified"
	}
	return "foreman " + v + " commit " + rev + " " + goVersion
}

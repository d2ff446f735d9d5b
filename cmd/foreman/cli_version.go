package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionCommand prints the build: the module version (a tag with go
// install, "(devel)" from a checkout), the commit and the Go release, all
// read from the binary's build information, so there is nothing to stamp.
type VersionCommand struct{ m *Main }

// Run prints one line.
func (c *VersionCommand) Run(_ context.Context, args []string) error {
	if len(args) > 0 {
		return &usageError{"version takes no arguments"}
	}
	fmt.Fprintln(c.m.Stdout, versionLine())
	return nil
}

func versionLine() string {
	v, rev, dirty := "(unknown)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	line := "foreman " + v
	if rev != "" {
		line += " " + rev[:min(12, len(rev))]
		if dirty {
			line += "+modified"
		}
	}
	return line + " " + runtime.Version()
}

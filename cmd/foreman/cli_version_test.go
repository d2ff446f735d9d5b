package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The version line always names the version, the commit and the Go
// release: from the build information when it has them (go install, a
// clone), else from what a build stamped (the container image), else it
// says so.
func TestVersionLine(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, c := range []struct {
		name                string
		bi                  *debug.BuildInfo
		stampVersion, stamp string
		want                string
	}{
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: vcs("0123456789abcdef0123", "false")}, "", "", "foreman v1.2.3 commit 0123456789ab go1.26.8"},
		{"a clone with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202145005-c97c51721999+dirty"},
			Settings: vcs("c97c5172199960ecb56e62a5f5850de8cf597efe", "true")}, "", "",
			"foreman v0.0.0-20261202145005-c97c51721999+dirty commit c97c51721999+modified go1.26.8"},
		{"the image: stamped, no .git", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"v1.2.3-4-gc97c517", "c97c5172199960ecb56e62a5f5850de8cf597efe", "foreman v1.2.3-4-gc97c517 commit c97c51721999 go1.26.8"},
		{"the build info wins over a stamp", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: vcs("0123456789abcdef0123", "false")}, "v9", "ffff", "foreman v1.2.3 commit 0123456789ab go1.26.8"},
		{"nothing recorded", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "", "",
			"foreman (devel) commit unknown go1.26.8"},
		{"no build info", nil, "", "", "foreman (devel) commit unknown " + runtime.Version()},
	} {
		if got := versionLine(c.bi, c.stampVersion, c.stamp); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

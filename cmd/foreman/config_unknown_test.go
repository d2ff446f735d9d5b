package main

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

func TestUnknownSettingsNameTheClosest(t *testing.T) {
	got := unknownSettings([]string{
		"FOREMAN_MAXQUEUE=5", "FOREMAN_MAX_QUEUE=5", "FOREMAN_OLAMA_URL=x", "FOREMAN_URL=http://x",
		"FOREMAN_TOTALLY_DIFFERENT_THING=1", "PATH=/bin", "FOREMAN_TOKEN=t", "NOT_FOREMAN_X=1",
	})
	want := []unknownSetting{
		{"FOREMAN_MAXQUEUE", "FOREMAN_MAX_QUEUE"},
		{"FOREMAN_OLAMA_URL", "FOREMAN_OLLAMA_URL"},
		{"FOREMAN_TOTALLY_DIFFERENT_THING", ""},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("unknownSettings = %+v, want %+v", got, want)
	}
}

// Every variable docs/configuration.md documents is known, so none of
// them is ever reported as a misspelling.
func TestKnownSettingsCoverTheDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	known := knownSettings()
	for _, m := range regexp.MustCompile("`(FOREMAN_[A-Z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !slices.Contains(known, m[1]) {
			t.Errorf("%s is documented but not read by LoadConfig or the client commands", m[1])
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"FOREMAN_MAXQUEUE", "FOREMAN_MAX_QUEUE", 1}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

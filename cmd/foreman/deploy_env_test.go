package main

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// envExample is the settings file shipped for compose and systemd.
const envExample = "../../deploy/foreman.env.example"

// docDefaults reads the Daemon table of docs/configuration.md: each
// variable's default as the env file would spell it, "" when the default
// is none or is not a literal value (FOREMAN_BACKUP_DIR's is derived).
func docDefaults(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Daemon (`foreman serve`)\n")
	if !ok {
		t.Fatal("docs/configuration.md has no Daemon section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `(FOREMAN_[A-Z_]+)` \\| ([^|]*) \\|")
	literal := regexp.MustCompile("^`([^`<]*)`( \\(.*\\))?$") // `720h` (30 days) too
	var names []string
	defaults := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		names = append(names, m[1])
		if l := literal.FindStringSubmatch(strings.TrimSpace(m[2])); l != nil {
			defaults[m[1]] = l[1]
		} else {
			defaults[m[1]] = ""
		}
	}
	return names, defaults
}

// exampleSettings reads deploy/foreman.env.example: every setting is a
// commented-out KEY=default line, so that copying the file changes
// nothing, not even what the image or the unit sets.
func exampleSettings(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open(envExample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.Contains(line, "FOREMAN_") || !strings.Contains(line, "=") || strings.HasPrefix(line, "# ") {
			continue // prose
		}
		name, value, _ := strings.Cut(strings.TrimPrefix(line, "#"), "=")
		if !strings.HasPrefix(line, "#FOREMAN_") || !regexp.MustCompile(`^FOREMAN_[A-Z_]+$`).MatchString(name) || strings.ContainsAny(value, " \"'$") {
			t.Errorf("%s:%d: %q: want #FOREMAN_NAME=default (commented out, no quotes or spaces)", envExample, n, line)
			continue
		}
		if _, dup := values[name]; dup {
			t.Errorf("%s:%d: %s twice", envExample, n, name)
		}
		names = append(names, name)
		values[name] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names, values
}

// The env example, docs/configuration.md and the code agree: the same
// settings (every one LoadConfig reads), and the same defaults; loading
// the example's values gives the default configuration. A new setting, or
// a changed default, fails here until all three say it.
func TestEnvExampleMatchesDocsAndCode(t *testing.T) {
	docNames, docDefault := docDefaults(t)
	exNames, exValue := exampleSettings(t)
	var codeNames []string // the daemon's: what LoadConfig asks for
	LoadConfig(func(k string) string {
		if !slices.Contains(codeNames, k) {
			codeNames = append(codeNames, k)
		}
		return ""
	})
	for _, c := range []struct {
		what  string
		names []string
	}{{"the Daemon table of docs/configuration.md", docNames}, {envExample, exNames}} {
		for _, k := range codeNames {
			if !slices.Contains(c.names, k) {
				t.Errorf("%s is read by LoadConfig but missing from %s", k, c.what)
			}
		}
		for _, k := range c.names {
			if !slices.Contains(codeNames, k) {
				t.Errorf("%s is in %s but LoadConfig does not read it", k, c.what)
			}
		}
	}
	for _, k := range exNames {
		if want, ok := docDefault[k]; ok && exValue[k] != want {
			t.Errorf("%s: %s=%q, docs/configuration.md's default is %q", envExample, k, exValue[k], want)
		}
	}

	def, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(func(k string) string { return exValue[k] })
	if err != nil {
		t.Fatalf("the example's values do not load: %v", err)
	}
	if !reflect.DeepEqual(got, def) {
		t.Errorf("the example's values are not the defaults:\n got %+v\nwant %+v", got, def)
	}
}

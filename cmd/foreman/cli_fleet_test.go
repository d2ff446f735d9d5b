package main

import (
	"net"
	"strings"
	"testing"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// fleetEnv starts a daemon before each fake Ollama, each with one model,
// and returns their URLs and the fakes.
func fleetEnv(t *testing.T, models ...string) ([]string, []*ollamatest.Server) {
	t.Helper()
	var urls []string
	var fakes []*ollamatest.Server
	for _, m := range models {
		var ms []ollamatest.Model
		for _, d := range ollamatest.DefaultModels() {
			if d.Name == m {
				ms = append(ms, d)
			}
		}
		o := ollamatest.New(t, ollamatest.WithModels(ms...))
		env := cliEnv(t, o)
		urls, fakes = append(urls, env["FOREMAN_URL"]), append(fakes, o)
	}
	return urls, fakes
}

// deadURL is an address where nothing listens.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String()
}

// TestCLIFleet: FOREMAN_URL lists several daemons: submit routes and says
// where; jobs and ps merge with each daemon named; one down is reported on
// stderr, not fatal; cancel finds the job's daemon.
func TestCLIFleet(t *testing.T) {
	urls, fakes := fleetEnv(t, "tiny-a", "tiny-b")
	t.Cleanup(fakes[0].Block("").Release) // tiny-a jobs stay running
	dead := deadURL(t)
	env := map[string]string{"FOREMAN_URL": strings.Join(append(urls, dead), ","), "FOREMAN_TOKEN": cliToken}

	out, stderr, err := runCLI(t, env, "", "submit", "tiny-b", "routed")
	if err != nil || out != answer("tiny-b", "routed")+"\n" || !strings.Contains(stderr, " on "+urls[1]) {
		t.Fatalf("submit tiny-b: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	out, stderr, err = runCLI(t, env, "", "submit", "--async", "tiny-a", "later")
	id := strings.TrimSpace(out)
	if err != nil || len(id) != 26 || !strings.Contains(stderr, "job "+id+" on "+urls[0]) {
		t.Fatalf("submit --async tiny-a: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	if _, _, err := runCLI(t, env, "", "submit", "--async", "tiny-big", "x"); err == nil || !strings.Contains(err.Error(), "no daemon") {
		t.Fatalf("a model no daemon has: %v", err)
	}

	out, stderr, err = runCLI(t, env, "", "jobs")
	if err != nil {
		t.Fatalf("jobs with a daemon down: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "DAEMON") ||
		!strings.Contains(lines[1], id) || !strings.Contains(lines[1], urls[0]) || !strings.Contains(lines[2], urls[1]) {
		t.Fatalf("jobs:\n%s", out)
	}
	if !strings.Contains(stderr, dead+" did not answer") {
		t.Fatalf("jobs: the daemon down is not reported: %q", stderr)
	}

	out, stderr, err = runCLI(t, env, "", "ps")
	if err != nil || !strings.HasPrefix(out, "DAEMON") || !strings.Contains(out, urls[0]+"  ") ||
		!strings.Contains(out, urls[1]+"  ") || !strings.Contains(out, "(down)") || !strings.Contains(stderr, dead+" did not answer") {
		t.Fatalf("ps: %v\n%s\n%s", err, out, stderr)
	}
	// Daemon 0 holds the tiny-a job: running, or still waiting its turn.
	row := strings.Split(out, "\n")[1]
	if !strings.HasPrefix(row, urls[0]) || !(strings.Contains(row, id) || strings.HasSuffix(strings.TrimSpace(row), " 1")) {
		t.Fatalf("ps: daemon 0's row does not show its job:\n%s", out)
	}

	if out, stderr, err := runCLI(t, env, "", "cancel", id); err != nil || !strings.Contains(out, id) {
		t.Fatalf("cancel on its daemon: %v\n%s%s", err, out, stderr)
	}
}

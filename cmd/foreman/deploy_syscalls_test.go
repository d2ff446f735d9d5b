package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// The unit's SystemCallFilter and RestrictAddressFamilies fail a call
// foreman makes with EPERM: a service that starts and then breaks on its
// first backup. So the static binary serves a session under strace (start,
// a synchronous chat, a queued job, metrics, a backup, a healthcheck,
// SIGTERM), and every system call and socket family it used must be one
// the unit allows, as systemd-analyze expands the unit's groups.
func TestSystemdUnitAllowsWhatForemanCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it under strace (-short)")
	}
	strace, err1 := exec.LookPath("strace")
	analyze, err2 := exec.LookPath("systemd-analyze")
	if err1 != nil || err2 != nil {
		t.Skip("SKIPPED: needs strace and systemd-analyze (apt-get install strace systemd); the unit's system call filter is not checked")
	}
	if out, err := exec.Command(strace, "-qq", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: strace cannot trace here (%v: %s); the unit's system call filter is not checked", err, out)
	}
	allowed, families := unitFilter(t, analyze)

	bin := buildAsTheImage(t)
	o := ollamatest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	env := []string{"FOREMAN_LISTEN=" + addr, "FOREMAN_DATA_DIR=" + filepath.Join(dir, "data"), "FOREMAN_OLLAMA_URL=" + o.URL(),
		"FOREMAN_TOKEN=t", "FOREMAN_SHUTDOWN_GRACE=5s"}
	trace := filepath.Join(dir, "trace")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, log := startServing(t, ctx, env, strace, "-f", "-qq", "-o", trace, bin, "serve")
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	base := "http://" + addr
	call := func(method, path, body string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	call("POST", "/api/chat", `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`)
	id := regexp.MustCompile(`"job_id":"([^"]+)"`).FindStringSubmatch(call("POST", "/jobs", `{"model":"tiny-a","prompt":"hello"}`))
	if id == nil {
		t.Fatal("POST /jobs gave no job_id")
	}
	call("GET", "/jobs/"+id[1]+"/stream", "") // ends when the job does
	call("GET", "/metrics", "")
	call("POST", "/admin/backup", `{"name":"b1"}`)
	probe := exec.CommandContext(ctx, bin, "healthcheck")
	probe.Env = env
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck: %v %s", err, out)
	}
	// SIGTERM to foreman itself (strace's child), as systemd stops it.
	kids, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children")
	pid, _ := strconv.Atoi(strings.TrimSpace(string(kids)))
	if err != nil || pid == 0 {
		t.Fatalf("foreman's pid under strace: %q %v", kids, err)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve under strace: %v\n%s", err, log)
	}

	used, usedFamilies := traced(t, trace)
	if len(used) < 20 {
		t.Fatalf("only %d system calls traced: %v", len(used), used)
	}
	for _, sc := range used {
		if !allowed[sc] {
			t.Errorf("foreman calls %s, which deploy/foreman.service's SystemCallFilter refuses", sc)
		}
	}
	for _, f := range usedFamilies {
		if !slices.Contains(families, f) {
			t.Errorf("foreman opens %s sockets, which deploy/foreman.service's RestrictAddressFamilies refuses", f)
		}
	}
	t.Logf("%d system calls, all allowed: %s; socket families %v", len(used), strings.Join(used, " "), usedFamilies)
}

// unitFilter reads the unit's SystemCallFilter lines (allow lists, then
// ~deny lists) and RestrictAddressFamilies, with the @groups expanded by
// systemd-analyze syscall-filter.
func unitFilter(t *testing.T, analyze string) (map[string]bool, []string) {
	t.Helper()
	out, err := exec.Command(analyze, "syscall-filter").Output()
	if err != nil {
		t.Fatal(err)
	}
	groups, cur := map[string][]string{}, ""
	for _, line := range strings.Split(string(out), "\n") {
		switch l := strings.TrimSpace(line); {
		case strings.HasPrefix(line, "@"):
			cur = l
		case cur != "" && l != "" && !strings.HasPrefix(l, "#"):
			groups[cur] = append(groups[cur], l)
		}
	}
	var expand func(string, map[string]bool)
	expand = func(name string, into map[string]bool) {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return
		}
		for _, x := range groups[name] {
			expand(x, into)
		}
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	allowed, denied := map[string]bool{}, map[string]bool{}
	var families []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "SystemCallFilter="); ok {
			into := allowed
			if v, ok = strings.CutPrefix(v, "~"); ok {
				into = denied
			}
			for _, name := range strings.Fields(v) {
				expand(name, into)
			}
		}
		if v, ok := strings.CutPrefix(line, "RestrictAddressFamilies="); ok {
			families = append(families, strings.Fields(v)...)
		}
	}
	if len(allowed) == 0 || len(families) == 0 {
		t.Fatalf("%s has no SystemCallFilter allow list or no RestrictAddressFamilies", unitFile)
	}
	for sc := range denied {
		delete(allowed, sc)
	}
	return allowed, families
}

// traced lists the system calls and socket families in an strace -f log.
func traced(t *testing.T, path string) (calls, families []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	call := regexp.MustCompile(`^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]`)
	family := regexp.MustCompile(`^\d+\s+socket\((AF_[A-Z0-9]+)`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := call.FindStringSubmatch(sc.Text()); m != nil && !slices.Contains(calls, m[1]) {
			calls = append(calls, m[1])
		}
		if m := family.FindStringSubmatch(sc.Text()); m != nil && !slices.Contains(families, m[1]) {
			families = append(families, m[1])
		}
	}
	slices.Sort(calls)
	return calls, families
}

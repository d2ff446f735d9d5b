package main

import (
	"bufio"
	"context"
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// No Docker engine runs where these tests run, so the image is never built
// here. What can be checked without one is: the Dockerfile's shape, and
// its build command, run as is, giving a static binary whose HEALTHCHECK
// works with the image's settings.

const dockerfile = "../../deploy/Dockerfile"

// dockerInstructions reads the Dockerfile as instructions (continuation
// lines joined, comments dropped).
func dockerInstructions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\")
			continue
		}
		if cur += line; strings.TrimSpace(cur) != "" {
			out = append(out, strings.Join(strings.Fields(cur), " "))
		}
		cur = ""
	}
	return out
}

// runtimeInstructions returns the runtime stage's instructions (after
// the last FROM).
func runtimeInstructions(t *testing.T) []string {
	ins := dockerInstructions(t)
	last := 0
	for i, in := range ins {
		if strings.HasPrefix(in, "FROM ") {
			last = i
		}
	}
	return ins[last:]
}

func TestDockerfileRuntimeStage(t *testing.T) {
	rt := strings.Join(runtimeInstructions(t), "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FROM (gcr\.io/distroless/static\S*|scratch)\b`),
		regexp.MustCompile(`(?m)^USER [1-9][0-9]*(:[1-9][0-9]*)?$`), // numeric, not root
		regexp.MustCompile(`(?m)^EXPOSE 8080$`),
		regexp.MustCompile(`(?m)^VOLUME /data$`),
		regexp.MustCompile(`(?m)^ENV .*\bFOREMAN_LISTEN=0\.0\.0\.0:8080\b`),
		regexp.MustCompile(`(?m)^ENV .*\bFOREMAN_DATA_DIR=/data\b`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["/usr/local/bin/foreman", "healthcheck"\]$`),
		regexp.MustCompile(`(?m)^ENTRYPOINT \["/usr/local/bin/foreman"\]$`),
		regexp.MustCompile(`(?m)^CMD \["serve"\]$`),
	} {
		if !want.MatchString(rt) {
			t.Errorf("the runtime stage has no line matching %s:\n%s", want, rt)
		}
	}
	if strings.Contains(rt, "curl") || strings.Contains(rt, "wget") {
		t.Errorf("the runtime stage uses curl or wget:\n%s", rt)
	}
}

// The builder's Go is the release go.mod asks for.
func TestDockerfileGoMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	from := dockerInstructions(t)[0]
	if want := "FROM golang:" + string(m[1]) + " AS build"; from != want {
		t.Errorf("first stage %q, want %q", from, want)
	}
}

// imageEnv is the runtime stage's ENV settings.
func imageEnv(t *testing.T) map[string]string {
	env := map[string]string{}
	for _, in := range runtimeInstructions(t) {
		if rest, ok := strings.CutPrefix(in, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	return env
}

// buildAsTheImage runs the Dockerfile's build command as written (the
// version and commit build args set to test values) and returns the
// binary.
func buildAsTheImage(t *testing.T) string {
	t.Helper()
	var build string
	for _, in := range dockerInstructions(t) {
		if i := strings.Index(in, "CGO_ENABLED=0 go build "); i >= 0 && strings.HasPrefix(in, "RUN ") {
			build = in[i:]
		}
	}
	if build == "" {
		t.Fatal("the Dockerfile has no RUN ... CGO_ENABLED=0 go build")
	}
	bin := filepath.Join(t.TempDir(), "foreman")
	build = strings.NewReplacer("${VERSION}", "v9.8.7-test", "${COMMIT}", "0123456789abcdef0123456789abcdef01234567",
		"-o /out/foreman", "-o "+bin).Replace(build)
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	return bin
}

// The Dockerfile's own build command, run here as written, gives a
// static binary (no ELF interpreter, no dynamic section, no shared
// library): it runs on distroless static or scratch. It carries the
// stamped version, and the image's HEALTHCHECK, in the image's
// environment, finds the daemon it runs beside.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary (-short)")
	}
	bin := buildAsTheImage(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}

	out, err := exec.Command(bin, "version").Output()
	if want := "foreman v9.8.7-test commit 0123456789ab go"; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("version: %q, %v; want it to start %q", out, err, want)
	}

	// The image's settings, with its paths and port made this test's.
	env := imageEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	host, _, _ := net.SplitHostPort(env["FOREMAN_LISTEN"])
	env["FOREMAN_LISTEN"] = net.JoinHostPort(host, port)
	env["FOREMAN_DATA_DIR"] = filepath.Join(t.TempDir(), "data")
	env["FOREMAN_BACKUP_DIR"] = filepath.Join(t.TempDir(), "backups")
	env["FOREMAN_OLLAMA_URL"] = "http://127.0.0.1:1"
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serve, log := startServing(t, ctx, environ, bin, "serve")
	defer func() { serve.Process.Kill(); serve.Wait() }()
	if !strings.Contains(log.String(), "listening beyond loopback with no token") {
		t.Errorf("the image's settings without a token: no warning in\n%s", log)
	}
	probe := exec.Command(bin, "healthcheck")
	probe.Env = environ
	if out, err := probe.CombinedOutput(); err != nil {
		t.Errorf("HEALTHCHECK with the image's settings: %v\n%s\ndaemon:\n%s", err, out, log)
	}
}

// startServing starts argv (a foreman serve, maybe under another
// program) with env and returns once the daemon logs that it serves; log
// collects its standard error.
func startServing(t *testing.T, ctx context.Context, env []string, argv ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The daemon logs "foreman serving" once it listens: that is the signal.
	log, serving := &syncBuffer{}, make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), `msg="foreman serving"`) {
				close(serving)
			}
		}
	}()
	select {
	case <-serving:
	case <-ctx.Done():
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("%v did not start:\n%s", argv, log)
	}
	return cmd, log
}

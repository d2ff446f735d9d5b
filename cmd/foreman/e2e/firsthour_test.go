//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/ollama/ollama/api"
)

// cliRun is one run of the foreman binary as a command-line tool.
type cliRun struct {
	stdout, stderr string
	code           int
}

// runForeman runs the built binary with env (and PATH, HOME) and waits.
func runForeman(t *testing.T, env []string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(foremanBin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + suiteDir}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	r := cliRun{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("foreman %q: %v", args, err)
	}
	return r
}

// serveUntilServing runs `foreman serve` with env until it logs that it
// serves, stops it with SIGTERM and returns its log.
func serveUntilServing(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(foremanBin, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + suiteDir}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var log strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), `msg="foreman serving"`) {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	io.Copy(&log, pr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("foreman serve: %v\n%s", err, log.String())
	}
	return log.String()
}

// TestFirstHour walks what a new user does in their first hour, on a fresh
// daemon in front of the real Ollama: the README's quick start, then the
// cases of issue 11, each with the outcome the user should see.
func TestFirstHour(t *testing.T) {
	o := ownOllama(t, 0)
	hostport := strings.TrimPrefix(o.URL(), "http://")
	// The Ollama address as OLLAMA_HOST takes it (no scheme), and a
	// misspelt setting.
	f := ownForeman(t, o.URL(), "FOREMAN_OLLAMA_URL="+hostport, "FOREMAN_MAXQUEUE=5",
		"FOREMAN_DEFAULT_NUM_PREDICT=24")
	cliEnv := []string{"FOREMAN_URL=" + f.URL(), "FOREMAN_TOKEN=" + token, "FOREMAN_DATA_DIR=" + f.dataDir}
	cli := func(args ...string) cliRun { t.Helper(); return runForeman(t, cliEnv, args...) }
	ctx := testCtx(t, 10*time.Minute)
	hi := `"messages":[{"role":"user","content":"hi"}]`

	t.Run("settings: what was understood, and the misspelling named", func(t *testing.T) {
		log := f.Log()
		for _, want := range []string{
			`msg="ollama target" url=http://` + hostport + ` FOREMAN_OLLAMA_URL=` + hostport,
			`level=WARN msg="unknown setting ignored; did you mean FOREMAN_MAX_QUEUE?" var=FOREMAN_MAXQUEUE`,
		} {
			if !strings.Contains(log, want) {
				t.Errorf("start-up log lacks %s", want)
			}
		}
		if strings.Contains(log, "listening beyond loopback") {
			t.Errorf("a loopback daemon with a token warned about its listen address")
		}
	})

	t.Run("quick start: healthz, then an Ollama client through foreman", func(t *testing.T) {
		waitFor(t, 30*time.Second, "healthz not degraded", func() bool { d, err := f.Health(); return err == nil && !d })
		c := f.Client()
		list, err := c.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list.Models, func(m api.ListModelResponse) bool { return m.Name == "tiny-a:latest" }) {
			t.Fatalf("/api/tags through foreman lacks tiny-a: %+v", list.Models)
		}
		stream := false
		var got api.ChatResponse
		err = c.Chat(ctx, &api.ChatRequest{Model: "tiny-a", Stream: &stream, Options: fixedOptions(8),
			Messages: []api.Message{{Role: "user", Content: "hi"}}}, func(r api.ChatResponse) error { got = r; return nil })
		if err != nil || !got.Done || got.Message.Content == "" {
			t.Fatalf("chat through foreman: %v %+v", err, got)
		}
	})

	var jobID string
	t.Run("cli: submit prints the job id first, job shows it", func(t *testing.T) {
		// No num_predict: FOREMAN_DEFAULT_NUM_PREDICT bounds the answer of a
		// random-weight model, which would otherwise talk on and on.
		r := cli("submit", "tiny-a", "hello", "there")
		first, _, _ := strings.Cut(r.stderr, "\n")
		id, ok := strings.CutPrefix(first, "job ")
		if _, err := ulid.ParseStrict(id); r.code != 0 || !ok || err != nil || strings.TrimSpace(r.stdout) == "" {
			t.Fatalf("submit: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		jobID = id
		var detail struct {
			Job struct {
				State  string           `json:"state"`
				Result api.ChatResponse `json:"result"`
			} `json:"job"`
		}
		r = cli("job", id, "--json")
		if err := json.Unmarshal([]byte(r.stdout), &detail); err != nil || detail.Job.State != "done" ||
			(detail.Job.Result.DoneReason != "length" && detail.Job.Result.DoneReason != "stop") {
			t.Fatalf("foreman job --json: %v %+v\n%s", err, detail, r.stdout)
		}
		r = cli("job", id)
		for _, want := range []string{`(?m)^state\s+done$`, `(?m)^elapsed\s+\d`, `(?m)job\.succeeded$`} {
			if !regexp.MustCompile(want).MatchString(r.stdout) {
				t.Errorf("foreman job lacks %s:\n%s", want, r.stdout)
			}
		}
		if r = cli("jobs"); r.code != 0 || !strings.Contains(r.stdout, id) {
			t.Errorf("foreman jobs: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// An async job, then attached to by id.
		req := filepath.Join(t.TempDir(), "req.json")
		os.WriteFile(req, []byte(`{"model":"tiny-b","messages":[{"role":"user","content":"hi"}],"options":{"seed":1,"temperature":0,"num_predict":8}}`), 0o644)
		r = cli("submit", "--async", "--file", req)
		id = strings.TrimSpace(r.stdout)
		if _, err := ulid.ParseStrict(id); r.code != 0 || err != nil {
			t.Fatalf("submit --async: exit %d %q\n%s", r.code, r.stdout, r.stderr)
		}
		if r = cli("watch", id); r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Errorf("foreman watch: exit %d %q\n%s", r.code, r.stdout, r.stderr)
		}
		if r = cli("version"); r.code != 0 || !strings.HasPrefix(r.stdout, "foreman ") {
			t.Errorf("foreman version: exit %d %q", r.code, r.stdout)
		}
	})

	t.Run("cli: errors on one line with one prefix, usage only for usage mistakes", func(t *testing.T) {
		for _, c := range []struct {
			args  []string
			env   []string
			code  int
			want  string
			usage bool
		}{
			{[]string{"job", ulid.Make().String()}, cliEnv, 1, "foreman: 404 Not Found: ", false},
			{[]string{"submit", "--file", filepath.Join(t.TempDir(), "missing.json")}, cliEnv, 1, "foreman: read request: ", false},
			{[]string{"jobs", "--token", "wrong"}, cliEnv, 1, "refused the token", false},
			{[]string{"ps"}, []string{"FOREMAN_URL=" + f.URL()}, 1, "set FOREMAN_TOKEN (or --token)", false},
			{[]string{"backup", "--token", "wrong", filepath.Join(t.TempDir(), "b")}, cliEnv, 1, "refused the token", false},
			{[]string{"job"}, cliEnv, 2, "takes 1 argument", true},
		} {
			r := runForeman(t, c.env, c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "foreman: foreman") ||
				strings.Contains(r.stderr, "Usage:") != c.usage {
				t.Errorf("foreman %q: exit %d (want %d), stderr:\n%s", c.args, r.code, c.code, r.stderr)
			}
		}
	})

	t.Run("submission: the kind is inferred from the body, a contradiction refused", func(t *testing.T) {
		id := submit(t, f, `{"model":"tiny-a","prompt":"hi","options":{"seed":1,"temperature":0,"num_predict":8}}`)
		v := waitJob(t, f, id, 3*time.Minute)
		var res api.GenerateResponse
		json.Unmarshal(v.Result, &res)
		if v.Kind != "generate" || v.State != "done" || res.Response == "" || res.DoneReason == "load" {
			t.Fatalf("a generate-shaped body: kind %q state %q result %s", v.Kind, v.State, v.Result)
		}
		if r := raw(t, http.MethodPost, f.URL()+"/jobs", token, `{"model":"tiny-a","kind":"chat","prompt":"hi"}`); r.Status != http.StatusBadRequest {
			t.Fatalf("a kind the body contradicts: %d %s", r.Status, r.Body)
		}
	})

	t.Run("submission: a chat for an embedding-only model is refused at once, as Ollama refuses it", func(t *testing.T) {
		direct := raw(t, http.MethodPost, o.URL()+"/api/chat", "", `{"model":"tiny-embed","stream":false,`+hi+`}`)
		t0 := time.Now()
		via := raw(t, http.MethodPost, f.URL()+"/jobs", token, `{"model":"tiny-embed",`+hi+`}`)
		if via.Status != direct.Status || compact(via.Body) != compact(direct.Body) {
			t.Fatalf("POST /jobs: %d %s; Ollama: %d %s", via.Status, via.Body, direct.Status, direct.Body)
		}
		if d := time.Since(t0); d > 10*time.Second {
			t.Fatalf("the refusal took %s", d)
		}
	})

	t.Run("nothing runs forever: a job's timeout cuts an endless answer, foreman job says so", func(t *testing.T) {
		id := submit(t, f, `{"model":"tiny-big","prompt":"go on","options":{"num_predict":-1},"timeout":"3s"}`)
		// A job behind it shows its place and an ETA.
		next := submit(t, f, `{"model":"tiny-a","prompt":"hi","options":{"num_predict":4}}`)
		if r := cli("job", next); !regexp.MustCompile(`(?m)^position\s+\d+$`).MatchString(r.stdout) ||
			!regexp.MustCompile(`(?m)^eta\s+in \d`).MatchString(r.stdout) {
			if v := getJob(t, f, next); v.State == "queued" { // else it already ran: nothing to show
				t.Errorf("foreman job of a queued job:\n%s", r.stdout)
			}
		}
		v := waitJob(t, f, id, 2*time.Minute)
		if v.State != "failed" || v.Status != http.StatusGatewayTimeout || !strings.Contains(v.Error, "timed out after 3s") {
			t.Fatalf("job %+v", v)
		}
		r := cli("job", id)
		if !regexp.MustCompile(`(?m)^state\s+failed$`).MatchString(r.stdout) || !strings.Contains(r.stdout, "timed out after 3s") {
			t.Fatalf("foreman job:\n%s", r.stdout)
		}
	})

	t.Run("access log: a refused token leaves a trace, the token does not", func(t *testing.T) {
		if r := raw(t, http.MethodGet, f.URL()+"/api/tags", "not-the-token", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad token: %d", r.Status)
		}
		waitFor(t, 5*time.Second, "the access log line", func() bool {
			return strings.Contains(f.Log(), `msg=request part=api method=GET path=/api/tags status=401`)
		})
		if strings.Contains(f.Log(), "not-the-token") || strings.Contains(f.Log(), token) {
			t.Fatal("a token is in the log")
		}
	})

	t.Run("backup of the running daemon, inspected offline; the inspector writes nothing", func(t *testing.T) {
		// A name: the daemon writes it in its FOREMAN_BACKUP_DIR.
		r := cli("backup", "first-hour")
		dest, ok := strings.CutPrefix(strings.TrimSpace(r.stdout), "backup written to ")
		if r.code != 0 || !ok {
			t.Fatalf("backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := cli("log", "verify", "--data-dir", dest); r.code != 0 {
			t.Fatalf("log verify of the backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := cli("log", "job", jobID, "--data-dir", dest); r.code != 0 || !strings.Contains(r.stdout, "job.succeeded") {
			t.Fatalf("log job of the backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		empty := t.TempDir()
		r = cli("log", "dump", "--data-dir", empty)
		if ents, _ := os.ReadDir(empty); r.code != 1 || !strings.Contains(r.stderr, "holds no foreman store") || len(ents) != 0 {
			t.Fatalf("log dump of an empty dir: exit %d, %d files made\n%s", r.code, len(ents), r.stderr)
		}
	})

	t.Run("a bad setting stops serve with exit 2 before anything is created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		r := runForeman(t, []string{"FOREMAN_DATA_DIR=" + dir, "FOREMAN_WEBHOOK_SECRET=whsec_not base64!"}, "serve")
		if _, err := os.Stat(dir); r.code != 2 || !strings.Contains(r.stderr, "FOREMAN_WEBHOOK_SECRET") || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("exit %d, data dir %v, stderr:\n%s", r.code, err, r.stderr)
		}
	})

	t.Run("listening beyond loopback with no token warns", func(t *testing.T) {
		log := serveUntilServing(t, "FOREMAN_DATA_DIR="+filepath.Join(t.TempDir(), "data"), "FOREMAN_LISTEN=0.0.0.0:0",
			"FOREMAN_OLLAMA_URL="+hostport)
		if !strings.Contains(log, `level=WARN msg="listening beyond loopback with no token`) {
			t.Fatalf("no warning:\n%s", log)
		}
	})

	t.Run("Ollama stopped: the last known models, not an empty list", func(t *testing.T) {
		o.Stop()
		waitFor(t, 30*time.Second, "healthz degraded", func() bool { d, err := f.Health(); return err == nil && d })
		list, err := f.Client().List(ctx)
		if err != nil || !slices.ContainsFunc(list.Models, func(m api.ListModelResponse) bool { return m.Name == "tiny-a:latest" }) {
			t.Fatalf("/api/tags with Ollama down: %v %+v", err, list)
		}
	})
}

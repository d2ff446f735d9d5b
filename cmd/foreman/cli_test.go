package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

const cliToken = "cli-token"

// cliEnv starts a daemon in process before a fake Ollama and returns the
// environment a CLI user would have.
func cliEnv(t *testing.T, o *ollamatest.Server) map[string]string {
	t.Helper()
	addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": o.URL(),
		"FOREMAN_TOKEN": cliToken, "FOREMAN_SHUTDOWN_GRACE": "0s"})
	t.Cleanup(func() { stop() })
	return map[string]string{"FOREMAN_URL": "http://" + addr, "FOREMAN_TOKEN": cliToken}
}

// runCLI runs one command in process; stdin is its standard input.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	out, errb := &syncBuffer{}, &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: out, Stderr: errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = m.Run(ctx, args)
	return out.String(), errb.String(), err
}

// runJSON runs a command with --json and decodes its output into v.
func runJSON(t *testing.T, env map[string]string, v any, args ...string) {
	t.Helper()
	out, stderr, err := runCLI(t, env, "", append(args, "--json")...)
	if err != nil {
		t.Fatalf("foreman %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("foreman %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func answer(model, prompt string) string {
	return strings.Join(ollamatest.ChatAnswer(model, []ollama.Message{{Role: "user", Content: prompt}}, nil), "")
}

func TestCLISubmitStreamsAndPrints(t *testing.T) {
	o := ollamatest.New(t, ollamatest.WithChunkDelay(time.Millisecond))
	env := cliEnv(t, o)
	out, stderr, err := runCLI(t, env, "", "submit", "tiny-a", "tell", "me")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if want := answer("tiny-a", "tell me") + "\n"; out != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
	// The prompt from stdin, a generate job, JSON output.
	var j client.Job
	out, stderr, err = runCLI(t, env, "from stdin\n", "submit", "--generate", "--json", "tiny-b")
	if err != nil || json.Unmarshal([]byte(out), &j) != nil {
		t.Fatalf("%v\n%s%s", err, out, stderr)
	}
	want := strings.Join(ollamatest.Answer("tiny-b", "from stdin", nil), "")
	if j.State != client.StateDone || j.Kind != "generate" || (&client.Result{Job: j}).Text() != want {
		t.Fatalf("job %+v, text %q want %q", j, (&client.Result{Job: j}).Text(), want)
	}
	// A request file, async.
	file := filepath.Join(t.TempDir(), "req.json")
	os.WriteFile(file, []byte(`{"model":"tiny-a","messages":[{"role":"user","content":"filed"}],"priority":3}`), 0o644)
	var id struct {
		JobID string `json:"job_id"`
	}
	runJSON(t, env, &id, "submit", "--async", "--file", file)
	var detail jobDetail
	runJSON(t, env, &detail, "job", id.JobID)
	if detail.Job.JobID != id.JobID || detail.Job.Priority != 3 || len(detail.Events) == 0 || detail.Events[0].Type != "job.submitted" {
		t.Fatalf("job detail %+v", detail)
	}
	out, stderr, err = runCLI(t, env, "", "job", id.JobID)
	if err != nil || !strings.Contains(out, id.JobID) || !strings.Contains(out, "job.submitted") {
		t.Fatalf("foreman job: %v\n%s%s", err, out, stderr)
	}
}

func TestCLIFailedJob(t *testing.T) {
	o := ollamatest.New(t)
	env := cliEnv(t, o)
	o.FailNext(1, ollamatest.HTTPFault(400, "no such thing"))
	_, _, err := runCLI(t, env, "", "submit", "tiny-a", "x")
	if !errors.Is(err, client.ErrJobFailed) || exitCode(err) != ExitError {
		t.Fatalf("err = %v (exit %d), want a failed job, exit 1", err, exitCode(err))
	}
}

func TestCLIJobsCancelRetryPs(t *testing.T) {
	o := ollamatest.New(t)
	gate := o.Block("tiny-a")
	defer gate.Release()
	env := cliEnv(t, o)
	var a, b struct {
		JobID string `json:"job_id"`
	}
	runJSON(t, env, &a, "submit", "--async", "tiny-a", "first")
	<-gate.Arrived()
	runJSON(t, env, &b, "submit", "--async", "tiny-a", "second")

	var q client.Queue
	runJSON(t, env, &q, "ps")
	if q.Running == nil || q.Running.JobID != a.JobID || q.Waiting != 1 || len(q.Depth) != 1 || q.Depth[0].Model != "tiny-a" {
		t.Fatalf("ps %+v", q)
	}
	if out, _, err := runCLI(t, env, "", "ps"); err != nil || !strings.Contains(out, a.JobID) || !strings.Contains(out, "waiting: 1") {
		t.Fatalf("ps: %v\n%s", err, out)
	}

	var cancelled client.Job
	runJSON(t, env, &cancelled, "cancel", b.JobID)
	if cancelled.JobID != b.JobID {
		t.Fatalf("cancel printed %+v", cancelled)
	}
	// The worker takes the job out of the queue after the request.
	cl := client.New(env["FOREMAN_URL"], client.WithToken(cliToken), client.WithPollInterval(10*time.Millisecond))
	if _, err := cl.Wait(t.Context(), b.JobID); !errors.Is(err, client.ErrJobCancelled) {
		t.Fatalf("after cancel: %v", err)
	}
	var list client.JobList
	runJSON(t, env, &list, "jobs", "--state", "cancelled")
	if len(list.Jobs) != 1 || list.Jobs[0].JobID != b.JobID {
		t.Fatalf("jobs --state cancelled: %+v", list)
	}
	var retried client.Job
	runJSON(t, env, &retried, "retry", b.JobID)
	if retried.State != client.StateQueued {
		t.Fatalf("retry printed %+v", retried)
	}
	gate.Release()
	runJSON(t, env, &list, "jobs", "--model", "tiny-a", "--limit", "1")
	if len(list.Jobs) != 1 || list.Jobs[0].JobID != b.JobID || list.NextCursor == "" {
		t.Fatalf("jobs --limit 1: %+v", list)
	}
	out, _, err := runCLI(t, env, "", "jobs")
	if err != nil || !strings.Contains(out, "ATTEMPTS") || !strings.Contains(out, a.JobID) || !strings.Contains(out, b.JobID) {
		t.Fatalf("jobs: %v\n%s", err, out)
	}
	var rep client.Replay
	runJSON(t, env, &rep, "webhooks", "replay", "--from", "1", "--job", a.JobID)
	if rep.From != 1 || rep.RequestOffset == 0 {
		t.Fatalf("replay %+v", rep)
	}
}

func TestCLIHelpfulErrors(t *testing.T) {
	o := ollamatest.New(t)
	env := cliEnv(t, o)
	_, _, err := runCLI(t, map[string]string{"FOREMAN_URL": env["FOREMAN_URL"], "FOREMAN_TOKEN": "wrong"}, "", "jobs")
	if err == nil || !strings.Contains(err.Error(), "refused the token") || !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("bad token: %v", err)
	}
	_, _, err = runCLI(t, map[string]string{"FOREMAN_URL": env["FOREMAN_URL"]}, "", "ps")
	if err == nil || !strings.Contains(err.Error(), "set FOREMAN_TOKEN") {
		t.Fatalf("no token: %v", err)
	}
	_, _, err = runCLI(t, map[string]string{"FOREMAN_URL": "http://127.0.0.1:1"}, "", "jobs")
	if err == nil || !strings.Contains(err.Error(), "cannot reach the foreman daemon at http://127.0.0.1:1") || exitCode(err) != ExitError {
		t.Fatalf("unreachable: %v", err)
	}
	for _, args := range [][]string{{"job"}, {"cancel", "a", "b"}, {"submit"}, {"webhooks", "replay"}, {"jobs", "--bogus"}} {
		if _, _, err := runCLI(t, env, "", args...); exitCode(err) != ExitUsage {
			t.Errorf("foreman %v: err %v, exit %d, want %d", args, err, exitCode(err), ExitUsage)
		}
	}
}

package main

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

func TestProgressRows(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	started, eta := now.Add(-95*time.Second), now.Add(36*time.Second)
	n := 41
	rows := progressRows(now, &client.Job{StartedAt: &started, Tokens: &n, ETA: &eta, ETAConfidence: "low"})
	got := map[string]string{}
	for _, r := range rows {
		got[r[0]] = r[1]
	}
	if got["elapsed"] != "1m35s" || got["tokens"] != "41 so far" || !strings.HasPrefix(got["eta"], "in 36s (") ||
		!strings.Contains(got["eta"], "uncertain") {
		t.Fatalf("rows %q", rows)
	}
	finished := started.Add(3 * time.Second)
	if rows := progressRows(now, &client.Job{StartedAt: &started, FinishedAt: &finished}); len(rows) != 1 || rows[0][1] != "3s" {
		t.Fatalf("a finished job: %q", rows)
	}
}

func TestCLISubmitPrintsTheJobIDFirst(t *testing.T) {
	o := ollamatest.New(t)
	env := cliEnv(t, o)
	out, stderr, err := runCLI(t, env, "", "submit", "tiny-a", "hello")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	first, _, _ := strings.Cut(stderr, "\n")
	id, ok := strings.CutPrefix(first, "job ")
	if _, perr := ulid.ParseStrict(id); !ok || perr != nil {
		t.Fatalf("stderr does not begin with the job id: %q", stderr)
	}
	if out != answer("tiny-a", "hello")+"\n" {
		t.Fatalf("stdout %q", out)
	}
	var d jobDetail
	runJSON(t, env, &d, "job", id)
	if d.Job.State != client.StateDone {
		t.Fatalf("job %s: %+v", id, d.Job)
	}
}

// A running job shows its tokens so far, elapsed time and ETA; foreman
// watch attaches to its output and ends with the job.
func TestCLIJobProgressAndWatch(t *testing.T) {
	o := ollamatest.New(t)
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	o.OnChunk(func(model string, i int) {
		if i == 1 { // two chunks out: hold the answer here
			once.Do(func() { close(held) })
			<-release
		}
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	env := cliEnv(t, o)
	var sub struct {
		JobID string `json:"job_id"`
	}
	runJSON(t, env, &sub, "submit", "--async", "tiny-a", "tell", "me", "a", "long", "story")
	<-held
	cl := client.New(env["FOREMAN_URL"], client.WithToken(cliToken))
	deadline := time.Now().Add(10 * time.Second)
	for { // the worker relays the chunks the fake has flushed
		j, err := cl.Get(t.Context(), sub.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Tokens != nil && *j.Tokens == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tokens never reached 2: %+v", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
	out, stderr, err := runCLI(t, env, "", "job", sub.JobID)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{`(?m)^state\s+working$`, `(?m)^tokens\s+2 so far$`, `(?m)^elapsed\s+\d+s$`, `(?m)^eta\s+in \d+s \(`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("foreman job lacks %s:\n%s", want, out)
		}
	}
	type result struct {
		out, stderr string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		out, stderr, err := runCLI(t, env, "", "watch", sub.JobID)
		done <- result{out, stderr, err}
	}()
	close(release)
	res := <-done
	full := answer("tiny-a", "tell me a long story")
	if res.err != nil || res.out == "\n" || !strings.HasSuffix(full+"\n", res.out) {
		t.Fatalf("watch: %v, stdout %q (the answer is %q)\n%s", res.err, res.out, full, res.stderr)
	}
	// --follow is watch; on a finished job it prints the answer.
	out, _, err = runCLI(t, env, "", "job", "--follow", sub.JobID)
	if err != nil || out != full+"\n" {
		t.Fatalf("job --follow of a finished job: %v %q", err, out)
	}
}

package api

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// followHub runs the hub's log follower for the test.
func followHub(t *testing.T, b *testBundle) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.srv.cfg.Hub.Follow(ctx, b.log, b.log.LastOffset()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow: %v", err)
		}
	})
}

// The terminal events, appended by hand as a path that never tells the
// hub would (issue 12: a request the worker cannot read).
var ends = []struct {
	name string
	rec  func(id ulid.ULID) eventlog.Record
	msg  string
}{
	{"done", func(id ulid.ULID) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1}}
	}, ""},
	{"failed", func(id ulid.ULID) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobFailed, Payload: &eventlog.Failure{Error: "cannot read the request: blob missing"}}
	}, "cannot read the request: blob missing"},
	{"cancelled", func(id ulid.ULID) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobCancelled, Payload: &eventlog.Cancellation{Reason: "cancelled"}}
	}, "job cancelled"},
	{"expired", func(id ulid.ULID) eventlog.Record {
		return eventlog.Record{Job: id, Type: eventlog.JobExpired, Payload: &struct{}{}}
	}, "job expired"},
}

// waitSubmitted returns the id of the next job submitted after offset from.
func waitSubmitted(t *testing.T, l *eventlog.Log, from uint64) ulid.ULID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for seen := from; ; {
		if err := l.Wait(ctx, seen); err != nil {
			t.Fatal("no submission:", err)
		}
		var id ulid.ULID
		l.Scan(ctx, seen+1, 0, func(e eventlog.Event) error {
			seen = e.Offset
			if e.Type == eventlog.JobSubmitted {
				id = e.Job
			}
			return nil
		})
		if id != (ulid.ULID{}) {
			return id
		}
	}
}

func TestAnEndInTheLogReachesTheSyncCaller(t *testing.T) {
	for _, end := range ends {
		t.Run(end.name, func(t *testing.T) {
			b := setupJobs(t, nil)
			followHub(t, b)
			srv := httptest.NewServer(b.srv)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // before srv.Close, which waits for the handler
			from := b.log.LastOffset()
			type answer struct {
				status int
				body   string
				err    error
			}
			got := make(chan answer, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/chat", strings.NewReader(chatBody))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got <- answer{err: err}
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				got <- answer{resp.StatusCode, string(body), err}
			}()
			id := waitSubmitted(t, b.log, from)
			if _, err := b.log.Append(context.Background(), end.rec(id)); err != nil {
				t.Fatal(err)
			}
			select {
			case a := <-got:
				if a.err != nil {
					t.Fatal(a.err)
				}
				if end.msg != "" && (a.status != http.StatusBadGateway || !strings.Contains(a.body, end.msg)) {
					t.Fatalf("%d %s, want 502 with %q", a.status, a.body, end.msg)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the sync caller still waits after the job ended")
			}
		})
	}
}

func TestAnEndInTheLogReachesTheStreamReader(t *testing.T) {
	for _, end := range ends {
		t.Run(end.name, func(t *testing.T) {
			b := setupJobs(t, nil)
			followHub(t, b)
			srv := httptest.NewServer(b.srv)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // before srv.Close, which waits for the handler
			id := b.submit(t, chatBody)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/jobs/"+id+"/stream", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			// The headers came: the reader follows the running job.
			if _, err := b.log.Append(context.Background(), end.rec(ulid.MustParse(id))); err != nil {
				t.Fatal(err)
			}
			lines := make(chan []string, 1)
			go func() {
				var ls []string
				for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
					ls = append(ls, sc.Text())
				}
				lines <- ls
			}()
			select {
			case ls := <-lines:
				// The last line is the job's view: its error when it has one.
				if end.name == "failed" && (len(ls) != 1 || !strings.Contains(ls[0], end.msg)) ||
					end.name == "cancelled" && (len(ls) != 1 || !strings.Contains(ls[0], `"error"`)) {
					t.Fatalf("stream %q after %s", ls, end.name)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the stream reader still waits after the job ended")
			}
		})
	}
}

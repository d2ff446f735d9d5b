package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/api/webhook"
	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// TestShipSurvivesKillNineOfShipperAndNATS is issue 16's JetStream test: two
// daemons ship logs of 50,001 events each (100,002) to a real NATS server
// (its own process, JetStream on, store in a temp dir). Both daemons and
// the NATS server are killed with SIGKILL while shipping and started again
// on the same dirs and ports. Retention runs at every start with a TTL that
// expires every job, so it would delete whatever its watermarks allow.
// At the end every event of each log is in the stream exactly once, in
// offset order, and retention did delete a prefix of each log, none of it
// before it was shipped.
func TestShipSurvivesKillNineOfShipperAndNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills foreman and nats-server; skipped with -short")
	}
	const jobs = 16_667 // 3 events each: 50,001 per daemon
	bin := buildForeman(t)
	ns := startNATSProc(t)
	fake := ollamatest.New(t)
	daemons := map[string]*crashDaemon{}
	for _, node := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), "data")
		seedFinishedJobs(t, dir, jobs)
		d := &crashDaemon{t: t, bin: bin, addr: freeAddr(t), env: []string{
			"FOREMAN_DATA_DIR=" + dir, "FOREMAN_OLLAMA_URL=" + fake.URL(), "FOREMAN_SHUTDOWN_GRACE=0s",
			"FOREMAN_NATS_URL=" + ns.URL(), "FOREMAN_NODE=" + node,
			// Every finished job is past its TTL: retention expires them
			// all at each start and deletes all the log its watermarks let it.
			"FOREMAN_JOB_TTL=1ns",
		}}
		d.env = append(d.env, "FOREMAN_LISTEN="+d.addr)
		daemons[node] = d
		t.Cleanup(func() {
			d.kill()
			if t.Failed() {
				out := d.output()
				t.Logf("daemon %s output (last 6 KiB of %d bytes):\n%s", node, len(out), out[max(0, len(out)-6<<10):])
			}
		})
		d.start()
	}
	a, b := daemons["a"], daemons["b"]
	ns.watch = []*crashDaemon{a, b}
	want := uint64(3*jobs + jobs) // the seeded events and one job.expired per job

	// Faults, each when the stream shows shipping under way.
	ns.waitShipped(t, "a", 12_000)
	a.kill()
	ns.kill()
	ns.start() // b was shipping: it retries with backoff meanwhile
	a.start()  // retention sweeps at start, up to what the stream acked
	ns.waitShipped(t, "b", want/2)
	b.kill()
	ns.kill()
	ns.start()
	ns.waitShipped(t, "a", want*3/4)
	a.kill()
	a.start()
	b.start()

	for _, node := range []string{"a", "b"} {
		ns.waitShipped(t, node, want)
	}
	// A clean restart: retention sweeps at start, now that every cursor
	// (the webhook dispatcher's too) is past the expired history.
	for _, d := range []*crashDaemon{a, b} {
		d.stop()
		d.start()
		waitMetric(t, d, "foreman_eventlog_low_watermark", 2)
		waitMetric(t, d, "foreman_ship_offset", want)
		d.stop()
	}
	recs := ns.read(t)
	for _, node := range []string{"a", "b"} {
		l, err := eventlog.Open(eventlog.Config{Dir: envValue(daemons[node].env, "FOREMAN_DATA_DIR"), ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		got := recs[node]
		if l.LastOffset() != want || uint64(len(got)) != want {
			t.Errorf("node %s: log ends at %d, stream holds %d messages; want %d", node, l.LastOffset(), len(got), want)
		}
		for i, r := range got {
			if r.Event.Offset != uint64(i)+1 {
				t.Fatalf("node %s: stream message %d is offset %d, want %d (a gap, a duplicate or disorder)", node, i, r.Event.Offset, i+1)
			}
		}
		low := l.LowWatermark()
		if low <= 1 {
			t.Errorf("node %s: retention deleted nothing (low watermark %d): the test proves nothing", node, low)
		}
		// What is left of the log is what was shipped, body for body.
		err = l.Scan(context.Background(), low, 0, func(e eventlog.Event) error {
			body, err := eventlog.JSON(e)
			if err != nil {
				return err
			}
			var want eventlog.EventJSON
			if err := json.Unmarshal(body, &want); err != nil {
				return err
			}
			if r := got[e.Offset-1]; !reflect.DeepEqual(r.Event, want) {
				return fmt.Errorf("offset %d: stream has %+v, log %s", e.Offset, r.Event, body)
			}
			return nil
		})
		if err != nil {
			t.Errorf("node %s: %v", node, err)
		}
		t.Logf("node %s: %d events shipped exactly once in order; retention deleted offsets 1..%d", node, len(got), low-1)
	}
}

// waitMetric returns once the daemon's gauge reaches at least min
// (/metrics is how an operator sees it).
func waitMetric(t *testing.T, d *crashDaemon, name string, atLeast uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got uint64
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", d.URL()+"/metrics", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
					f, _ := strconv.ParseFloat(v, 64)
					got = uint64(f)
				}
			}
			resp.Body.Close()
			if got >= atLeast {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s %d after a minute, want %d", name, got, atLeast)
		case <-time.After(20 * time.Millisecond): // polling /metrics is how an operator learns
		}
	}
}

// seedFinishedJobs writes a data dir holding n finished jobs, every event
// settled by the webhook dispatcher.
func seedFinishedJobs(t *testing.T, dir string, n int) {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var recs []eventlog.Record
	for i := range n {
		job := ulid.Make()
		recs = append(recs,
			eventlog.Record{Job: job, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "tiny", Kind: eventlog.KindChat, MaxAttempts: 3,
				Request: []byte(`{"model":"tiny","messages":[{"role":"user","content":"job ` + strconv.Itoa(i) + `"}]}`)}},
			eventlog.Record{Job: job, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
			eventlog.Record{Job: job, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1}})
		if len(recs) >= 600 || i == n-1 {
			if _, err := l.Append(context.Background(), recs...); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	// The webhook dispatcher has settled them all (none has a webhook), so
	// that only the ship watermark can hold retention back.
	if err := l.SetCursor(webhook.CursorName, l.LastOffset()); err != nil {
		t.Fatal(err)
	}
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// natsProc is a real nats-server process over a fixed store dir and port.
type natsProc struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	done     chan struct{}
	t        *testing.T
	// watch are the daemons whose output waitShipped checks for the
	// shipper's warning that retention deleted unshipped events.
	watch []*crashDaemon
}

func startNATSProc(t *testing.T) *natsProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	_, port, _ := strings.Cut(freeAddr(t), ":")
	p := &natsProc{bin: bin, dir: t.TempDir(), t: t}
	p.port, _ = strconv.Atoi(port)
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *natsProc) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

// start runs the server and returns once it takes connections.
func (p *natsProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(p.port), "-js", "-sd", p.dir, "--http_port", "0")
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	p.done = done
	go func(c *exec.Cmd) { c.Wait(); close(done) }(p.cmd)
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect(p.URL(), nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return
		}
		select {
		case <-done:
			p.t.Fatalf("nats-server exited: %v", p.cmd.ProcessState)
		case <-time.After(10 * time.Millisecond): // polling is how a client learns a server is up
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("nats-server not up in 30s: %v", err)
		}
	}
}

// kill is SIGKILL.
func (p *natsProc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// waitShipped returns once the stream holds node's offset off.
func (p *natsProc) waitShipped(t *testing.T, node string, off uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nc, err := nats.Connect(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var last uint64
	for {
		if st, err := js.Stream(ctx, ship.DefaultStream); err == nil {
			if last, _, err = ship.LastOffset(ctx, st, node); err == nil && last >= off {
				return
			}
		}
		for _, d := range p.watch {
			if strings.Contains(d.output(), "deleted before they were shipped") {
				t.Fatalf("node %s: retention deleted events before they were shipped (stream at %d)", node, last)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node %s: stream at offset %d after 3 minutes, want %d", node, last, off)
		case <-time.After(20 * time.Millisecond): // polling the stream is how a reader learns
		}
	}
}

// read returns the stream's records per node.
func (p *natsProc) read(t *testing.T) map[string][]ship.Record {
	t.Helper()
	nc, err := nats.Connect(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	out := map[string][]ship.Record{}
	err = ship.Read(context.Background(), js, ship.DefaultStream, ship.Filter{}, func(r ship.Record) error {
		out[r.Node] = append(out[r.Node], r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

package ship

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship/natstest"
)

// openLog opens a real Pebble log on disk.
func openLog(t testing.TB) *eventlog.Log {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendJobs appends n events: jobs of submitted, started, succeeded.
func appendJobs(t testing.TB, l *eventlog.Log, n int) {
	t.Helper()
	ctx := context.Background()
	var recs []eventlog.Record
	var job ulid.ULID
	for i := range n {
		switch i % 3 {
		case 0:
			job = ulid.Make()
			recs = append(recs, eventlog.Record{Job: job, Type: eventlog.JobSubmitted,
				Payload: &eventlog.Submitted{Model: "tiny", Kind: eventlog.KindChat, Request: []byte(`{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`)}})
		case 1:
			recs = append(recs, eventlog.Record{Job: job, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}})
		case 2:
			recs = append(recs, eventlog.Record{Job: job, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{}})
		}
		if len(recs) == 512 {
			if _, err := l.Append(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if len(recs) > 0 {
		if _, err := l.Append(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
}

// runShipper runs a shipper until the test ends or stop is called.
func runShipper(t testing.TB, l Log, cfg Config) (s *Shipper, stop func()) {
	t.Helper()
	s, err := New(l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

func waitShipped(t testing.TB, s *Shipper, off uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.WaitShipped(ctx, off); err != nil {
		t.Fatalf("shipped %d of %d: %v", s.Shipped(), off, err)
	}
}

// readStream reads every record of the stream, per node.
func readStream(t testing.TB, url, stream string) map[string][]Record {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Record{}
	err = Read(context.Background(), js, stream, Filter{}, func(r Record) error {
		out[r.Node] = append(out[r.Node], r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkExactlyOnce fails unless recs are offsets first..last, once each, in
// stream order, with the log's JSON.
func checkExactlyOnce(t testing.TB, l *eventlog.Log, node string, recs []Record, first, last uint64) {
	t.Helper()
	if uint64(len(recs)) != last-first+1 {
		t.Errorf("node %s: %d messages, want %d (offsets %d..%d)", node, len(recs), last-first+1, first, last)
	}
	for i, r := range recs {
		if want := first + uint64(i); r.Event.Offset != want {
			t.Fatalf("node %s: message %d (stream seq %d) is offset %d, want %d", node, i, r.Seq, r.Event.Offset, want)
		}
	}
}

func TestShipsEveryEventInOrderAndResumesFromTheStream(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	l := openLog(t)
	appendJobs(t, l, 3000)
	cfg := Config{URL: srv.URL(), Node: "gpu1", Window: 256}
	s, stop := runShipper(t, l, cfg)
	waitShipped(t, s, 3000)
	stop()

	// Both sides restart: the shipper keeps no position, the stream tells.
	appendJobs(t, l, 1000)
	srv.Stop()
	srv.Restart()
	s, stop = runShipper(t, l, cfg)
	waitShipped(t, s, 4000)
	stop()
	if s.Sent() != 1000 {
		t.Errorf("second run sent %d messages, want the 1000 new ones", s.Sent())
	}
	recs := readStream(t, srv.URL(), DefaultStream)["gpu1"]
	checkExactlyOnce(t, l, "gpu1", recs, 1, 4000)
	// The body is the export JSON, the subject names node and type.
	e, err := l.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := eventlog.JSON(e)
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(context.Background(), recs[1].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Data, want) || m.Subject != "foreman.gpu1.job.started" || m.Header.Get(jetstream.MsgIDHeader) != "gpu1/2" {
		t.Errorf("message 2: subject %s id %s body %s; want foreman.gpu1.job.started gpu1/2 %s", m.Subject, m.Header.Get(jetstream.MsgIDHeader), m.Data, want)
	}
	if c, _ := l.Cursor(CursorName); c != 4000 {
		t.Errorf("ship cursor %d, want 4000", c)
	}
}

func TestNATSDownNeitherBlocksTheLogNorMovesTheWatermark(t *testing.T) {
	t.Parallel()
	port := natstest.FreePort(t)
	l := openLog(t)
	s, _ := runShipper(t, l, Config{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), Node: "n1", MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	appendJobs(t, l, 300) // returns: appends never wait for the shipper
	if c, _ := l.Cursor(CursorName); c != 0 || s.Shipped() != 0 || s.Connected() {
		t.Fatalf("nothing reached NATS, yet cursor %d shipped %d connected %v", c, s.Shipped(), s.Connected())
	}
	// NATS comes up on that port: the backoff loop finds it.
	srv := natstest.StartOnPort(t, port)
	waitShipped(t, s, 300)
	checkExactlyOnce(t, l, "n1", readStream(t, srv.URL(), DefaultStream)["n1"], 1, 300)
}

func TestRefusesAStreamHistoryThatIsNotThisLog(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	a := openLog(t)
	appendJobs(t, a, 30)
	s, stop := runShipper(t, a, Config{URL: srv.URL(), Node: "same"})
	waitShipped(t, s, 30)
	stop()

	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	for _, n := range []int{10, 60} { // shorter than what was shipped, then longer
		b := openLog(t)
		appendJobs(t, b, n)
		s, err := New(b, Config{URL: srv.URL(), Node: "same", Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		err = s.session(context.Background())
		if !errors.Is(err, ErrForeignLog) {
			t.Errorf("log of %d events under a node with 30 shipped: %v, want ErrForeignLog", n, err)
		}
		if c, _ := b.Cursor(CursorName); c != 0 {
			t.Errorf("cursor %d moved for a foreign log", c)
		}
	}
	if got := len(readStream(t, srv.URL(), DefaultStream)["same"]); got != 30 {
		t.Errorf("stream holds %d messages of node same, want 30", got)
	}
}

func TestTwoNodesShareTheStream(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	a, b := openLog(t), openLog(t)
	appendJobs(t, a, 500)
	appendJobs(t, b, 700)
	sa, _ := runShipper(t, a, Config{URL: srv.URL(), Node: "a", Window: 64})
	sb, _ := runShipper(t, b, Config{URL: srv.URL(), Node: "b", Window: 64})
	waitShipped(t, sa, 500)
	waitShipped(t, sb, 700)
	recs := readStream(t, srv.URL(), DefaultStream)
	checkExactlyOnce(t, a, "a", recs["a"], 1, 500)
	checkExactlyOnce(t, b, "b", recs["b"], 1, 700)
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Node: "a"}, "URL"},
		{Config{URL: "nats://h:4222"}, "Node"},
		{Config{URL: "nats://h:4222", Node: "a.b"}, "Node"},
		{Config{URL: "http://h:4222", Node: "a"}, "URL"},
		{Config{URL: "nats://h:4222", Node: "a", Stream: "A.B"}, "Stream"},
		{Config{URL: "nats://h:4222", Node: "a", Replicas: 7}, "Replicas"},
	} {
		err := c.cfg.Validate()
		if !errors.Is(err, ErrConfig) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	if err := (Config{URL: "nats://u:secret@h:4222,nats://h2:4222", Node: "gpu-1"}).Validate(); err != nil {
		t.Error(err)
	}
	if got := RedactURL("nats://u:secret@h:4222"); bytes.Contains([]byte(got), []byte("secret")) {
		t.Errorf("RedactURL kept the password: %s", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// A window whose middle was lost while later messages were stored (a
// JetStream leader change), and a daemon that died before sending it
// again: the next start finds the hole between its cursor and the stream's
// last message and fills it.
func TestRefillsOffsetsMissingBelowTheStreamsLastMessage(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	l := openLog(t)
	appendJobs(t, l, 20)
	cfg := Config{URL: srv.URL(), Node: "n1"}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := EnsureStream(ctx, js, DefaultStream, 1); err != nil {
		t.Fatal(err)
	}
	// What the dead daemon left: 1..20 but 5 and 12, its cursor at 3.
	pub, err := New(l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for off := uint64(1); off <= 20; off++ {
		if off == 5 || off == 12 {
			continue
		}
		e, _ := l.Get(off)
		m, _ := pub.message(e)
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SetCursor(CursorName, 3); err != nil {
		t.Fatal(err)
	}

	s, stop := runShipper(t, l, cfg)
	appendJobs(t, l, 3)
	waitShipped(t, s, 23)
	stop()
	recs := readStream(t, srv.URL(), DefaultStream)["n1"]
	var offs []uint64
	for _, r := range recs {
		offs = append(offs, r.Event.Offset)
	}
	want := []uint64{1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 5, 12, 21, 22, 23}
	if !slices.Equal(offs, want) {
		t.Errorf("stream offsets %v\nwant %v (the missing two sent again, once, before the new ones)", offs, want)
	}
	if c, _ := l.Cursor(CursorName); c != 23 {
		t.Errorf("cursor %d, want 23", c)
	}
}

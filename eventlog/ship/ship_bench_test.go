package ship

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship/natstest"
)

// BenchmarkShip ships a log of 100,000 events (jobs of submitted, started,
// succeeded with a short chat request) to a JetStream server running in
// the same process, one file-stored stream (R1) per iteration, and reports
// events/s and the bytes JetStream stores per event. docs/benchmarks.md
// has the figures:
//
//	go test ./eventlog/ship -run '^$' -bench Ship -benchtime 3x -cpu 2
func BenchmarkShip(b *testing.B) {
	const events = 100_000
	l := openLog(b)
	appendJobs(b, l, events)
	var body int
	if err := l.Scan(context.Background(), 0, 0, func(e eventlog.Event) error {
		j, err := eventlog.JSON(e)
		body += len(j)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	srv := natstest.Start(b)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	run := 0 // stream and node names never repeat, even with -count
	for _, window := range []int{256, DefaultWindow, 8192} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			var bytes, msgs uint64
			b.ReportAllocs()
			for range b.N {
				run++
				i := run
				stream := fmt.Sprintf("BENCH_%d_%d", window, i)
				if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
					Name: stream, Subjects: []string{fmt.Sprintf("%s.w%di%d.>", SubjectPrefix, window, i)}, Storage: jetstream.FileStorage,
				}); err != nil {
					b.Fatal(err)
				}
				s, stop := runShipper(b, l, Config{URL: srv.URL(), Stream: stream, Node: fmt.Sprintf("w%di%d", window, i), Window: window})
				waitShipped(b, s, events)
				stop()
				st, err := js.Stream(context.Background(), stream)
				if err != nil {
					b.Fatal(err)
				}
				info, err := st.Info(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				bytes, msgs = bytes+info.State.Bytes, msgs+info.State.Msgs
			}
			b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(bytes)/float64(msgs), "stored-B/event")
			b.ReportMetric(float64(body)/events, "json-B/event")
		})
	}
}

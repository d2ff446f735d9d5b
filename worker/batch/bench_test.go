package batch

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// BenchmarkAssemble measures writing the output file of a 50,000-line
// batch whose lines have all run (real Pebble on disk): reading each
// line's job view and answer, streaming both files into parts, and the
// append that ends the batch. s/batch is the whole assembly.
func BenchmarkAssemble(b *testing.B) {
	const lines = 50_000
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		l, err := eventlog.Open(eventlog.Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		p, err := projections.Open(context.Background(), l, l)
		if err != nil {
			b.Fatal(err)
		}
		d, err := New(Config{Log: l, Views: p, Models: models{"tiny-a": true, "tiny-b": true}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); p.Run(ctx) }()
		app := func(recs ...eventlog.Record) {
			if _, err := l.Append(ctx, recs...); err != nil {
				b.Fatal(err)
			}
		}
		file := ulid.Make()
		w := l.NewFileWriter(file)
		io.WriteString(w, chatLines(lines, "tiny-a", "tiny-b"))
		up, _ := w.Close()
		up.Purpose = "batch"
		app(eventlog.Record{Job: file, Type: eventlog.FileUploaded, Payload: &up})
		id := ulid.Make()
		app(eventlog.Record{Job: id, Type: eventlog.BatchCreated, Payload: &eventlog.BatchCreate{InputFile: eventlog.FileID(file),
			Endpoint: "/v1/chat/completions", CompletionWindow: "24h", ExpiresAt: time.Now().Add(time.Hour).UnixNano(), MaxAttempts: 3}})
		settle := func() {
			if err := p.WaitFor(ctx, l.LastOffset()); err != nil {
				b.Fatal(err)
			}
		}
		settle()
		if _, err := d.Pass(ctx); err != nil { // validates
			b.Fatal(err)
		}
		settle()
		bt, _ := p.Batch(id)
		if err := d.enqueue(ctx, bt); err != nil {
			b.Fatal(err)
		}
		var recs []eventlog.Record
		for n := 1; n <= lines; n++ {
			job := lineJob(id, n)
			body := fmt.Appendf(nil, `{"id":"chatcmpl-%d","object":"chat.completion","created":1,"model":"tiny-a","choices":[{"index":0,"message":{"role":"assistant","content":"an answer of a few words for line %d"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}`, n, n)
			key := eventlog.ArtifactBlob(job, "response")
			recs = append(recs, eventlog.Record{Job: job, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}},
				eventlog.Record{Job: job, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: body}},
					Payload: &eventlog.Artifact{Name: "response", ContentType: "application/json", Size: int64(len(body)), Blob: key}},
				eventlog.Record{Job: job, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1, Result: "response"}})
			if len(recs) >= 3000 {
				app(recs...)
				recs = recs[:0]
			}
		}
		app(recs...)
		settle()
		if bt, _ = p.Batch(id); bt.Settled() != lines {
			b.Fatalf("%d lines settled", bt.Settled())
		}
		b.StartTimer()
		t0 := time.Now()
		if err := d.assemble(ctx, bt, ""); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(time.Since(t0).Seconds(), "s/batch")
		settle()
		if bt, _ = p.Batch(id); bt.Status != projections.BatchCompleted || bt.Completed != lines {
			b.Fatalf("batch %s %d", bt.Status, bt.Completed)
		}
		stop()
		<-done
		l.Close()
		b.StartTimer()
	}
}

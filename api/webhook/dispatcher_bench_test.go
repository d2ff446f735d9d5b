package webhook

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/api"
	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/eventlog"
)

// BenchmarkDelivery measures webhook throughput end to end: b.N job events
// appended to a real log on disk (jobs submitted, started and succeeded,
// each with its result.json, as the worker writes them), delivered by a
// real dispatcher, with its default client and concurrency, to a loopback
// receiver that verifies both signatures, until every delivery is recorded
// as webhook.delivered.
//
//	go test -run '^$' -bench Delivery -benchtime 2000x ./api/webhook/
func BenchmarkDelivery(b *testing.B) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	l, err := eventlog.Open(eventlog.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()

	var got, bad atomic.Int64
	all := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := client.VerifySignature(secret, r.Header, body); err != nil {
			bad.Add(1)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		if got.Add(1) == int64(b.N) {
			close(all)
		}
	}))
	defer rcv.Close()

	d, err := New(Config{Log: l, Render: api.New(api.Config{Log: l, PublicURL: "http://foreman.test"}), Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { d.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	result := []byte(`{"model":"llama3.2","created_at":"2026-11-25T09:30:03.412Z","message":{"role":"assistant","content":"Blue light scatters most."},"done_reason":"stop","done":true,"eval_count":6}`)
	sum := sha256.Sum256(result)
	first := l.LastOffset() + 1
	b.ReportAllocs()
	b.ResetTimer()
	// Jobs of three delivered events (submitted, started, succeeded), the
	// last one cut short so that exactly b.N are delivered; appended in
	// groups as a busy worker would.
	var recs []eventlog.Record
	for n := 0; n < b.N; {
		id := ulid.Make()
		key := eventlog.ArtifactBlob(id, "result.json")
		recs = append(recs, eventlog.Record{Job: id, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{
			Model: "llama3.2", Kind: eventlog.KindChat, WebhookURL: rcv.URL + "/hook", MaxAttempts: 3}})
		n++
		if n < b.N {
			recs = append(recs, eventlog.Record{Job: id, Type: eventlog.JobStarted, Payload: &eventlog.Started{Attempt: 1}})
			n++
		}
		if n < b.N {
			recs = append(recs,
				eventlog.Record{Job: id, Type: eventlog.ArtifactStored, Blobs: []eventlog.Blob{{Key: key, Data: result}},
					Payload: &eventlog.Artifact{Name: "result.json", ContentType: "application/json", Size: int64(len(result)), SHA256: sum[:], Blob: key}},
				eventlog.Record{Job: id, Type: eventlog.JobSucceeded, Payload: &eventlog.Succeeded{Attempt: 1, Result: "result.json"}})
			n++
		}
		if len(recs) >= 64 || n == b.N {
			if _, err := l.Append(context.Background(), recs...); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d deliveries arrived (%d refused)", got.Load(), b.N, bad.Load())
	}
	// Done when every delivery is recorded, as a restart would see it.
	delivered, seen := 0, first-1
	for delivered < b.N {
		if err := l.Wait(ctx, seen); err != nil {
			b.Fatal(err)
		}
		err := l.Scan(ctx, seen+1, 0, func(e eventlog.Event) error {
			seen = e.Offset
			if e.Type == eventlog.WebhookDelivered {
				delivered++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if bad.Load() != 0 || got.Load() != int64(b.N) {
		b.Fatalf("%d deliveries verified, %d refused, want %d and none", got.Load(), bad.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

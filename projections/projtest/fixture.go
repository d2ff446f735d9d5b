// Package projtest builds realistic event logs for the projections'
// benchmarks and for cmd/foreman-bench, so that both measure the same
// fixture.
package projtest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// Models are the models fixture jobs target.
var Models = []string{"tiny-a", "tiny-b", "tiny-big"}

// The outcome mix, per mille of jobs. The rest succeed at the first attempt.
const (
	RetriedPerMille = 30 // one failed attempt, then success
	FailedPerMille  = 10 // a permanent failure at the first attempt
	QueuedPerMille  = 5  // still queued when the log ends
)

// AppendBatch is how many records BuildFixture hands to one Append: one
// synced batch each, so a large fixture builds in seconds.
const AppendBatch = 4096

// ResultArtifact is the artifact every succeeded job stores (as the worker
// does).
const ResultArtifact = "result.json"

// fate is what happens to one job.
type fate uint8

const (
	succeeds fate = iota
	retries
	fails
	queued
)

// events is the number of events a job with this fate writes.
func (f fate) events() int {
	switch f {
	case retries:
		return 6 // submitted, started, attempt_failed, started, artifact.stored, succeeded
	case fails:
		return 3 // submitted, started, failed
	case queued:
		return 1 // submitted
	}
	return 4 // submitted, started, artifact.stored, succeeded
}

// eventsPerKiloJob is the expected number of events per 1000 jobs.
const eventsPerKiloJob = (1000-RetriedPerMille-FailedPerMille-QueuedPerMille)*4 +
	RetriedPerMille*6 + FailedPerMille*3 + QueuedPerMille*1

// job is one planned job.
type job struct {
	id    ulid.ULID
	model string
	fate  fate
	sync  bool // came through /api/chat
	n     int  // per-job variety (ticket number)
}

// BuildFixture appends exactly events events to log: about events/4
// single-worker jobs over Models, submitted ahead of execution with a
// varying backlog, nearly all terminal (see the *PerMille constants), the
// last few still queued and none left working, so that a daemon starting
// on the log appends nothing. Records go to Append AppendBatch at a time.
// The same seed gives the same jobs and payloads; offsets' times come from
// the log. It returns the number of jobs.
func BuildFixture(ctx context.Context, log *eventlog.Log, events int, seed uint64) (jobs int, err error) {
	if events < 1 {
		return 0, fmt.Errorf("projtest: events must be at least 1, got %d", events)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	plan := planJobs(rng, events)
	w := &writer{ctx: ctx, log: log, rng: rng, buf: make([]eventlog.Record, 0, AppendBatch)}
	w.emit(plan)
	if err := w.flush(); err != nil {
		return 0, err
	}
	if w.n != events {
		return 0, fmt.Errorf("projtest: wrote %d events, planned %d", w.n, events)
	}
	return len(plan), nil
}

// planJobs draws the jobs' fates so that their events add up to exactly
// events: executed jobs first, then queued ones filling the remainder.
func planJobs(rng *rand.Rand, events int) []job {
	nQueued := max(1, events*QueuedPerMille/eventsPerKiloJob)
	budget := events - nQueued
	var fates []fate
	for {
		f := succeeds
		switch x := rng.IntN(1000 - QueuedPerMille); {
		case x < RetriedPerMille:
			f = retries
		case x < RetriedPerMille+FailedPerMille:
			f = fails
		}
		if f.events() > budget {
			break
		}
		budget -= f.events()
		fates = append(fates, f)
	}
	nQueued += budget
	for range nQueued {
		fates = append(fates, queued)
	}
	start := epoch.Add(-time.Duration(len(fates)) * time.Second)
	plan := make([]job, len(fates))
	for i, f := range fates {
		j := &plan[i]
		j.id = makeID(rng, start.Add(time.Duration(i)*time.Second))
		j.model = Models[rng.IntN(len(Models))]
		j.fate = f
		j.sync = f != queued && rng.IntN(4) == 0 // a queued sync job would be cancelled at start
		j.n = 10000 + rng.IntN(90000)
	}
	return plan
}

// epoch is when the last fixture job was submitted, as its ID says; a fixed
// time keeps IDs the same for a seed.
var epoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func makeID(rng *rand.Rand, t time.Time) ulid.ULID {
	var id ulid.ULID
	binary.BigEndian.PutUint64(id[8:], rng.Uint64())
	binary.BigEndian.PutUint16(id[6:], uint16(rng.Uint32()))
	if err := id.SetTime(ulid.Timestamp(t)); err != nil {
		panic(err) // times here are far below ulid.MaxTime
	}
	return id
}

// writer turns planned jobs into records and appends them in batches.
type writer struct {
	ctx context.Context
	log *eventlog.Log
	rng *rand.Rand
	buf []eventlog.Record
	n   int // events appended
	err error
}

// emit writes the jobs as one worker would: submissions run ahead of
// execution by a backlog that changes now and then; a failed attempt is
// retried after the next job.
func (w *writer) emit(plan []job) {
	executed := 0
	for executed < len(plan) && plan[executed].fate != queued {
		executed++
	}
	submitted, ran := 0, 0
	backlog := 1 + w.rng.IntN(64)
	retry := -1 // a job waiting for its second attempt
	for ran < executed && w.err == nil {
		if submitted < len(plan) && (submitted == ran || submitted-ran < backlog) {
			w.submit(&plan[submitted])
			submitted++
			continue
		}
		j := &plan[ran]
		ran++
		if j.fate == retries {
			w.attemptFails(j)
			if retry >= 0 {
				w.succeed(&plan[retry], 2)
			}
			retry = ran - 1
			continue
		}
		switch j.fate {
		case fails:
			w.fail(j)
		default:
			w.succeed(j, 1)
		}
		if retry >= 0 {
			w.succeed(&plan[retry], 2)
			retry = -1
		}
		if w.rng.IntN(256) == 0 {
			backlog = 1 + w.rng.IntN(64)
		}
	}
	if retry >= 0 {
		w.succeed(&plan[retry], 2)
	}
	for ; submitted < len(plan); submitted++ {
		w.submit(&plan[submitted])
	}
}

func (w *writer) submit(j *job) {
	body := chatRequest(w.rng, j)
	sum := sha256.Sum256(body)
	p := &eventlog.Submitted{
		Model: j.model, Kind: eventlog.KindChat, Request: body, RequestSize: len(body),
		RequestSHA256: sum[:], Priority: 0, Sync: j.sync, Submitter: "default", MaxAttempts: 3,
	}
	if !j.sync {
		p.Submitter = submitters[j.n%len(submitters)]
		bodySum := sha256.Sum256(append(body, `,"webhook_url":""`...))
		p.BodySHA256 = bodySum[:]
		if j.n%10 < 3 {
			p.IdempotencyKey = fmt.Sprintf("ticket-%d-%s", j.n, j.id.String()[20:])
		}
		if j.n%5 == 0 {
			p.WebhookURL = "https://hooks.example.internal/foreman/" + p.Submitter
		}
	}
	w.add(j.id, eventlog.JobSubmitted, p, nil)
}

func (w *writer) attemptFails(j *job) {
	w.add(j.id, eventlog.JobStarted, &eventlog.Started{Attempt: 1}, nil)
	w.add(j.id, eventlog.AttemptFailed, &eventlog.AttemptFailure{
		Attempt: 1, Retryable: true, Status: 0,
		Error:   `ollama: Post "http://127.0.0.1:11434/api/chat": read: connection reset by peer`,
		RetryAt: time.Now().Add(time.Second).UnixNano(),
	}, nil)
}

func (w *writer) fail(j *job) {
	w.add(j.id, eventlog.JobStarted, &eventlog.Started{Attempt: 1}, nil)
	msg := `model requires more system memory (9.4 GiB) than is available (7.1 GiB)`
	if j.model != "tiny-big" {
		msg = `invalid option provided: option "num_ctx" must be at most 32768`
	}
	w.add(j.id, eventlog.JobFailed, &eventlog.Failure{Attempt: 1, Error: msg, Status: 500}, nil)
}

func (w *writer) succeed(j *job, attempt int) {
	w.add(j.id, eventlog.JobStarted, &eventlog.Started{Attempt: attempt}, nil)
	result := chatResult(w.rng, j)
	sum := sha256.Sum256(result)
	key := eventlog.ArtifactBlob(j.id, ResultArtifact)
	w.add(j.id, eventlog.ArtifactStored, &eventlog.Artifact{
		Name: ResultArtifact, ContentType: "application/json", Size: int64(len(result)), SHA256: sum[:], Blob: key,
	}, []eventlog.Blob{{Key: key, Data: result}})
	w.add(j.id, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: attempt, Result: ResultArtifact}, nil)
}

func (w *writer) add(id ulid.ULID, typ eventlog.Type, payload any, blobs []eventlog.Blob) {
	if w.err != nil {
		return
	}
	w.buf = append(w.buf, eventlog.Record{Job: id, Type: typ, Payload: payload, Blobs: blobs})
	if len(w.buf) == cap(w.buf) {
		w.err = w.flush()
	}
}

func (w *writer) flush() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	evs, err := w.log.Append(w.ctx, w.buf...)
	if err != nil {
		return fmt.Errorf("projtest: append: %w", err)
	}
	if len(evs) != len(w.buf) {
		return errors.New("projtest: append returned fewer events than records")
	}
	w.n += len(evs)
	w.buf = w.buf[:0]
	return nil
}

var submitters = []string{"default", "ci", "batch", "support-bot"}

var topics = []string{
	"customer reports intermittent 502 errors from checkout after the 3.2 deploy",
	"invoice PDF shows the wrong VAT rate for customers in Austria since Monday",
	"password reset emails arrive after 20 minutes, sometimes not at all",
	"mobile app crashes on launch on Android 14 when offline mode is enabled",
	"bulk CSV import rejects files with a UTF-8 byte order mark",
	"dashboard latency charts are empty for the eu-west region since 02:00",
}

// chatRequest is a realistic ~300-byte /api/chat body.
func chatRequest(rng *rand.Rand, j *job) []byte {
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"system","content":"You are a support assistant. Answer in two sentences."},`+
		`{"role":"user","content":"Summarise ticket #%d: %s. Suggest the next step."}],"stream":false,"options":{"temperature":0.%d,"num_ctx":%d}}`,
		j.model, j.n, topics[rng.IntN(len(topics))], rng.IntN(10), 2048<<rng.IntN(3))
}

var answers = []string{
	"The errors started with the deploy, which points at the new connection pool settings. Roll back the pool size change and watch the 5xx rate.",
	"The tax table was updated without the regional override. Restore the override and reissue the affected invoices.",
	"The mail queue is backed up behind a retry storm. Drain the queue and lower the retry rate for the failing provider.",
	"The crash comes from reading the cache before it exists. Guard the first read and ship a hotfix build.",
}

// chatResult is a realistic ~400-byte final /api/chat answer.
func chatResult(rng *rand.Rand, j *job) []byte {
	prompt, eval := 60+rng.IntN(40), 30+rng.IntN(60)
	return fmt.Appendf(nil, `{"model":%q,"created_at":"2025-06-01T12:%02d:%02d.%09dZ","message":{"role":"assistant","content":%q},`+
		`"done_reason":"stop","done":true,"total_duration":%d,"load_duration":%d,"prompt_eval_count":%d,"prompt_eval_duration":%d,"eval_count":%d,"eval_duration":%d}`,
		j.model, rng.IntN(60), rng.IntN(60), rng.IntN(1e9), answers[rng.IntN(len(answers))],
		800e6+rng.IntN(2e9), 1e6+rng.IntN(50e6), prompt, prompt*400e3, eval, eval*20e6)
}

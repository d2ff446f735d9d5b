package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// jobReport is what `foreman log job ID --json` prints.
type jobReport struct {
	Job     string         `json:"job"`
	Removed int            `json:"removed_events"` // events below the low watermark
	Events  []exportRecord `json:"events"`
	View    *jobView       `json:"view"` // null when the job has no view
	// ViewNote says why View is null.
	ViewNote string `json:"view_note,omitempty"`
}

// jobView is a projections.Job for output: times as RFC3339Nano ("" when
// unset), digests as hex, the webhook URL redacted.
type jobView struct {
	State           string        `json:"state"`
	Model           string        `json:"model"`
	Kind            string        `json:"kind"`
	Priority        int           `json:"priority"`
	Sync            bool          `json:"sync"`
	Submitter       string        `json:"submitter"`
	WebhookURL      string        `json:"webhook_url"`
	IdempotencyKey  string        `json:"idempotency_key"`
	RequestSHA256   hexBytes      `json:"request_sha256"`
	SubmitOffset    uint64        `json:"submit_offset"`
	SubmittedAt     string        `json:"submitted_at"`
	StartedAt       string        `json:"started_at"`
	FinishedAt      string        `json:"finished_at"`
	RetryAt         string        `json:"retry_at"`
	Attempts        int           `json:"attempts"`
	Used            int           `json:"used"`
	MaxAttempts     int           `json:"max_attempts"`
	CancelRequested bool          `json:"cancel_requested"`
	LastError       string        `json:"last_error"`
	LastStatus      int           `json:"last_status"`
	Result          string        `json:"result"`
	Artifacts       []jobArtifact `json:"artifacts"`
	LastOffset      uint64        `json:"last_offset"`
}

type jobArtifact struct {
	Name        string   `json:"name"`
	ContentType string   `json:"content_type"`
	Size        int64    `json:"size"`
	SHA256      hexBytes `json:"sha256"`
	Blob        string   `json:"blob"`
	Offset      uint64   `json:"offset"`
}

func newJobView(j projections.Job) *jobView {
	ts := func(ns int64) string {
		if ns == 0 {
			return ""
		}
		return projections.Time(ns).Format(time.RFC3339Nano)
	}
	v := &jobView{
		State: string(j.State), Model: j.Model, Kind: string(j.Kind), Priority: j.Priority, Sync: j.Sync,
		Submitter: j.Submitter, WebhookURL: redactURL(j.WebhookURL), IdempotencyKey: j.IdempotencyKey,
		RequestSHA256: j.RequestSHA256, SubmitOffset: j.SubmitOffset,
		SubmittedAt: ts(j.SubmittedAt), StartedAt: ts(j.StartedAt), FinishedAt: ts(j.FinishedAt), RetryAt: ts(j.RetryAt),
		Attempts: j.Attempts, Used: j.Used, MaxAttempts: j.MaxAttempts, CancelRequested: j.CancelRequested,
		LastError: j.LastError, LastStatus: j.LastStatus, Result: j.Result, Artifacts: []jobArtifact{},
		LastOffset: j.LastOffset,
	}
	for _, a := range j.Artifacts {
		v.Artifacts = append(v.Artifacts, jobArtifact{
			Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, Blob: blobName(a.Blob), Offset: a.Offset,
		})
	}
	return v
}

// job prints one job's history as a timeline, then its final view as the
// projections' logic derives it from that history.
func (c *LogCommand) job(ctx context.Context, args []string) error {
	f := c.newLogFlags("job", "job [--data-dir DIR] [--json] ID")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		f.fs.Usage()
		return &usageError{"log job takes one job id"}
	}
	id, err := parseJobID("job id", pos[0])
	if err != nil {
		return err
	}
	l, err := c.openLog(*f.dataDir)
	if err != nil {
		return err
	}
	defer l.Close()
	offs, err := l.JobOffsets(id)
	if err != nil {
		return fmt.Errorf("job %s: %w", id, err)
	}
	if len(offs) == 0 {
		return fmt.Errorf("job %s is not in the log in %s: %w", id, *f.dataDir, eventlog.ErrNotFound)
	}
	rep := jobReport{Job: id.String(), Events: []exportRecord{}}
	var evs []eventlog.Event
	var details []string
	err = scanJob(ctx, l, id, 0, 0, func(e eventlog.Event) error {
		payload, err := renderPayload(e)
		if err != nil {
			return err
		}
		evs = append(evs, e)
		rep.Events = append(rep.Events, newExportRecord(e, payload))
		details = append(details, payload.human())
		return nil
	})
	if err != nil {
		return fmt.Errorf("job %s: %w", id, err)
	}
	rep.Removed = len(offs) - len(evs)
	view, err := replayJob(ctx, l, evs)
	switch {
	case err == nil:
		rep.View = newJobView(view)
	case !errors.Is(err, projections.ErrNotFound):
		return fmt.Errorf("job %s: replay: %w", id, err)
	case slices.ContainsFunc(evs, func(e eventlog.Event) bool { return e.Type == eventlog.JobExpired }):
		rep.ViewNote = "expired: the job's view was removed"
	case rep.Removed > 0:
		rep.ViewNote = "its submission is below the low watermark"
	default:
		rep.ViewNote = "no job.submitted event"
	}
	if *f.json {
		return writeJSON(c.m.Stdout, rep)
	}
	return c.printJob(rep, evs, details)
}

// replayJob applies one job's events to an empty scratch store with the
// projections' own logic and returns the resulting view.
func replayJob(ctx context.Context, l *eventlog.Log, evs []eventlog.Event) (projections.Job, error) {
	scratch, err := openScratch()
	if err != nil {
		return projections.Job{}, err
	}
	defer scratch.Close()
	src := &eventsSource{evs: evs, low: l.LowWatermark(), last: l.LastOffset()}
	p, err := projections.Open(ctx, src, scratch)
	if err != nil {
		return projections.Job{}, err
	}
	if len(evs) == 0 {
		return projections.Job{}, projections.ErrNotFound
	}
	return p.Job(evs[0].Job)
}

// eventsSource is a projections.Source holding only some events of a log
// (one job's), so replaying them costs no more than the job's history. A
// job's view depends on nothing but its own events.
type eventsSource struct {
	evs       []eventlog.Event
	low, last uint64
}

var _ projections.Source = (*eventsSource)(nil)

func (s *eventsSource) Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error {
	for _, e := range s.evs {
		if e.Offset < from || (to != 0 && e.Offset > to) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *eventsSource) LowWatermark() uint64 { return s.low }
func (s *eventsSource) LastOffset() uint64   { return s.last }

// Wait blocks until ctx ends: the events are fixed.
func (s *eventsSource) Wait(ctx context.Context, _ uint64) error {
	<-ctx.Done()
	return ctx.Err()
}

func (c *LogCommand) printJob(rep jobReport, evs []eventlog.Event, details []string) error {
	out := newOutput(c.m.Stdout)
	if len(evs) == 0 {
		fmt.Fprintf(out, "job %s: all %d events are below the low watermark\n", rep.Job, rep.Removed)
	} else {
		fmt.Fprintf(out, "job %s: %d events, offsets %d..%d\n", rep.Job, len(evs), evs[0].Offset, evs[len(evs)-1].Offset)
	}
	if rep.Removed > 0 && len(evs) > 0 {
		fmt.Fprintf(out, "(%d earlier events are below the low watermark; elapsed times count from the first shown)\n", rep.Removed)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	var start time.Time // the submission, else the first event shown
	if i := slices.IndexFunc(evs, func(e eventlog.Event) bool { return e.Type == eventlog.JobSubmitted }); i >= 0 {
		start = evs[i].Time
	} else if len(evs) > 0 {
		start = evs[0].Time
	}
	for i, e := range evs {
		fmt.Fprintf(tw, "  %d\t%s\t+%s\t%s\t%s\n", e.Offset, e.Time.UTC().Format(time.RFC3339Nano), elapsed(e.Time.Sub(start)), e.Type, details[i])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	fmt.Fprintln(out)
	if rep.View == nil {
		fmt.Fprintf(out, "view: none (%s)\n", rep.ViewNote)
		return out.flush()
	}
	printJobView(out, rep.View)
	return out.flush()
}

func printJobView(out output, v *jobView) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	line := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, args...)...)
	}
	line("state", "%s", v.State)
	if v.CancelRequested {
		line("cancel", "requested")
	}
	line("model", "%s", v.Model)
	line("kind", "%s", v.Kind)
	line("priority", "%d", v.Priority)
	if v.Submitter != "" {
		line("submitter", "%s", v.Submitter)
	}
	if v.WebhookURL != "" {
		line("webhook", "%s", v.WebhookURL)
	}
	line("attempts", "%d started, %d of %d counted", v.Attempts, v.Used, v.MaxAttempts)
	line("submitted", "%s", v.SubmittedAt)
	if v.StartedAt != "" {
		line("started", "%s", v.StartedAt)
	}
	if v.FinishedAt != "" {
		line("finished", "%s", v.FinishedAt)
	}
	if v.RetryAt != "" {
		line("retry at", "%s", v.RetryAt)
	}
	if v.LastError != "" {
		if v.LastStatus != 0 {
			line("last error", "%s (status %d)", v.LastError, v.LastStatus)
		} else {
			line("last error", "%s", v.LastError)
		}
	}
	if v.Result != "" {
		line("result", "%s", v.Result)
	}
	if len(v.Artifacts) == 0 {
		line("artifacts", "none")
	}
	tw.Flush()
	if len(v.Artifacts) > 0 {
		fmt.Fprintln(out, "artifacts:")
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, a := range v.Artifacts {
			fmt.Fprintf(tw, "  %s\t%s\t%d bytes\tsha256 %s\toffset %d\n", a.Name, a.ContentType, a.Size, a.SHA256, a.Offset)
		}
		tw.Flush()
	}
}

// elapsed renders a duration since submission compactly.
func elapsed(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship"
)

// FleetCommand reads the history the daemons of a fleet ship to NATS
// JetStream (FOREMAN_NATS_URL; docs/fleet-audit.md).
type FleetCommand struct{ m *Main }

const fleetUsage = `Usage: foreman fleet log --nats URL [--node N] [--job ID | --events] [--from TIME] [--json]

Reads the fleet's event history from the JetStream stream the daemons ship
to: by default, per node the events, offsets, gaps and jobs by state; with
--job, that job's timeline across nodes; with --events, every selected
event (--json: {"node","seq","event"} per line, the event in the export
format).

Flags:
`

// Run dispatches `foreman fleet log`.
func (c *FleetCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "log" {
		fmt.Fprint(c.m.Stderr, fleetUsage)
		return &usageError{"foreman fleet takes one command: log"}
	}
	fs := flag.NewFlagSet("foreman fleet log", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	url := fs.String("nats", c.m.Getenv("FOREMAN_NATS_URL"), "NATS server(s) (FOREMAN_NATS_URL)")
	stream := fs.String("stream", envOr(c.m.Getenv, "FOREMAN_NATS_STREAM", ship.DefaultStream), "stream (FOREMAN_NATS_STREAM)")
	creds := fs.String("creds", c.m.Getenv("FOREMAN_NATS_CREDS"), "NATS credentials file (FOREMAN_NATS_CREDS)")
	node := fs.String("node", "", "only this node's events")
	job := fs.String("job", "", "the timeline of this job")
	events := fs.Bool("events", false, "print every selected event instead of the summary (with --json: one record per line, for archiving)")
	from := fs.String("from", "", "events stored since TIME (RFC 3339, or a duration back from now: 24h)")
	asJSON := fs.Bool("json", false, "print JSON (with --job: one record per line)")
	fs.Usage = func() { fmt.Fprint(fs.Output(), fleetUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("foreman fleet log takes no arguments, got %q", fs.Args())}
	}
	if *url == "" {
		return &usageError{"foreman fleet log needs --nats URL (or FOREMAN_NATS_URL)"}
	}
	f := ship.Filter{Node: *node}
	if *from != "" {
		t, err := parseSince(*from, time.Now())
		if err != nil {
			return &usageError{fmt.Sprintf("--from %q: %v", *from, err)}
		}
		f.From = t
	}
	opts := []nats.Option{nats.Name("foreman fleet log"), nats.Timeout(5 * time.Second)}
	if *creds != "" {
		opts = append(opts, nats.UserCredentials(*creds))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", ship.RedactURL(*url), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if *job != "" || *events {
		return c.timeline(ctx, js, *stream, f, *job, *asJSON)
	}
	return c.summary(ctx, js, *stream, f, *asJSON)
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-12-01T00:00:00Z) or a duration (24h)")
}

// timeline prints one job's events (job "": every event), every node's,
// in stream order.
func (c *FleetCommand) timeline(ctx context.Context, js jetstream.JetStream, stream string, f ship.Filter, job string, asJSON bool) error {
	var recs []ship.Record
	err := ship.Read(ctx, js, stream, f, func(r ship.Record) error {
		if job == "" || r.Event.Job == job {
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(recs) == 0 && job != "" {
		return fmt.Errorf("job %s: no events in stream %s", job, stream)
	}
	if asJSON {
		for _, r := range recs {
			b, err := eventlog.MarshalCompact(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.m.Stdout, "%s\n", b)
		}
		return nil
	}
	tw := table(c.m.Stdout, "TIME", "NODE", "OFFSET", "TYPE", "DETAIL")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Event.Time, r.Node, r.Event.Offset, r.Event.Type, short(detail(r.Event.Payload), 80))
	}
	return tw.Flush()
}

// detail picks the payload fields a person scans a timeline for.
func detail(p any) string {
	m, _ := p.(map[string]any)
	var parts []string
	for _, k := range []string{"model", "attempt", "status", "error", "reason", "name", "submitter"} {
		if v, ok := m[k]; ok && v != "" && v != nil && v != float64(0) {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

// nodeSummary is what the stream holds of one node.
type nodeSummary struct {
	Node       string         `json:"node"`
	Events     int            `json:"events"`
	First      uint64         `json:"first_offset"`
	Last       uint64         `json:"last_offset"`
	Missing    uint64         `json:"missing"`    // offsets between First and Last not in the stream
	Duplicates int            `json:"duplicates"` // offsets seen more than once
	Disorder   int            `json:"out_of_order"`
	FirstTime  string         `json:"first_time"`
	LastTime   string         `json:"last_time"`
	Jobs       map[string]int `json:"jobs"` // by state; "expired" counts jobs whose history the node deleted
	states     map[string]string
	seen       map[uint64]bool
}

// jobState maps an event type to the job state it leaves ("" no change).
func jobState(t string) string {
	switch eventlog.Type(t) {
	case eventlog.JobSubmitted, eventlog.JobRequeued, eventlog.AttemptFailed, eventlog.JobInterrupted:
		return "queued"
	case eventlog.JobStarted:
		return "running"
	case eventlog.JobSucceeded:
		return "done"
	case eventlog.JobFailed:
		return "failed"
	case eventlog.JobCancelled:
		return "cancelled"
	}
	return ""
}

// summary prints, per node, the events, offsets and jobs by state.
func (c *FleetCommand) summary(ctx context.Context, js jetstream.JetStream, stream string, f ship.Filter, asJSON bool) error {
	nodes := map[string]*nodeSummary{}
	err := ship.Read(ctx, js, stream, f, func(r ship.Record) error {
		n := nodes[r.Node]
		if n == nil {
			n = &nodeSummary{Node: r.Node, First: r.Event.Offset, FirstTime: r.Event.Time, Jobs: map[string]int{},
				states: map[string]string{}, seen: map[uint64]bool{}}
			nodes[r.Node] = n
		}
		off := r.Event.Offset
		switch {
		case n.seen[off]:
			n.Duplicates++
		case off < n.Last:
			n.Disorder++
		}
		n.seen[off] = true
		n.Events++
		n.First, n.Last = min(n.First, off), max(n.Last, off)
		n.LastTime = r.Event.Time
		if r.Event.Type == string(eventlog.JobExpired) {
			n.Jobs["expired"]++
		} else if s := jobState(r.Event.Type); s != "" {
			n.states[r.Event.Job] = s
		}
		return nil
	})
	if err != nil {
		return err
	}
	var out []*nodeSummary
	for _, n := range nodes {
		n.Missing = n.Last - n.First + 1 - uint64(len(n.seen))
		for _, s := range n.states {
			n.Jobs[s]++
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *nodeSummary) int { return strings.Compare(a.Node, b.Node) })
	if asJSON {
		return (&remote{m: c.m}).printJSON(map[string]any{"stream": stream, "nodes": out})
	}
	if len(out) == 0 {
		fmt.Fprintf(c.m.Stdout, "stream %s holds no foreman events%s\n", stream, map[bool]string{true: " of that node", false: ""}[f.Node != ""])
		return nil
	}
	tw := table(c.m.Stdout, "NODE", "EVENTS", "OFFSETS", "MISSING", "DUPLICATES", "UNORDERED", "FIRST", "LAST", "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED", "EXPIRED")
	for _, n := range out {
		fmt.Fprintf(tw, "%s\t%d\t%d..%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", n.Node, n.Events, n.First, n.Last, n.Missing, n.Duplicates, n.Disorder,
			n.FirstTime, n.LastTime, n.Jobs["queued"], n.Jobs["running"], n.Jobs["done"], n.Jobs["failed"], n.Jobs["cancelled"], n.Jobs["expired"])
	}
	return tw.Flush()
}

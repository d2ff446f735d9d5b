package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// dump prints one line per event. A payload that does not decode is shown
// as such and the dump goes on; a broken envelope stops it.
func (c *LogCommand) dump(ctx context.Context, args []string) error {
	f := c.newLogFlags("dump", "dump [--data-dir DIR] [--from N] [--to N] [--job ID] [--type T[,T...]] [--json]")
	rng := addRangeFlags(f.fs)
	jobFlag := f.fs.String("job", "", "only this job's events (ULID)")
	typeFlag := f.fs.String("type", "", "only events of these types, comma-separated (e.g. job.failed)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		f.fs.Usage()
		return &usageError{fmt.Sprintf("log dump takes no arguments, got %q", pos)}
	}
	var job *ulid.ULID
	if *jobFlag != "" {
		id, err := parseJobID("--job", *jobFlag)
		if err != nil {
			return err
		}
		job = &id
	}
	var types []eventlog.Type
	for t := range strings.SplitSeq(*typeFlag, ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, eventlog.Type(t))
		}
	}
	if err := rng.valid(); err != nil {
		return err
	}
	l, err := c.openLog(*f.dataDir)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := rng.check(l); err != nil {
		return err
	}
	out := newOutput(c.m.Stdout)
	enc := newJSONLines(out)
	show := func(e eventlog.Event) error {
		if len(types) > 0 && !slices.Contains(types, e.Type) {
			return nil
		}
		payload, perr := renderPayload(e)
		if *f.json {
			r := newExportRecord(e, payload)
			if perr != nil {
				r.PayloadError = perr.Error()
			}
			return enc.Encode(r)
		}
		details := payload.human()
		if perr != nil {
			details = "PAYLOAD UNREADABLE: " + perr.Error()
		}
		_, err := fmt.Fprintf(out, "%d %s %s %s %s\n", e.Offset, e.Time.UTC().Format(time.RFC3339Nano), e.Job, e.Type, details)
		return err
	}
	if job != nil {
		err = scanJob(ctx, l, *job, *rng.from, *rng.to, show)
	} else {
		err = l.Scan(ctx, *rng.from, *rng.to, show)
	}
	if err != nil {
		out.Flush() // what was read so far is still useful
		return fmt.Errorf("dump: %w", err)
	}
	return out.flush()
}

// scanJob calls fn for each stored event of one job within [from, to]
// (0: unbounded), through the per-job index.
func scanJob(ctx context.Context, l *eventlog.Log, id ulid.ULID, from, to uint64, fn func(eventlog.Event) error) error {
	offs, err := l.JobOffsets(id)
	if err != nil {
		return err
	}
	from = max(from, l.LowWatermark())
	for _, off := range offs {
		if off < from || (to != 0 && off > to) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := l.Get(off)
		if err != nil {
			return err
		}
		if e.Job != id {
			return &eventlog.CorruptError{Offset: off, Reason: fmt.Sprintf("job index lists it under %s, the event belongs to %s", id, e.Job)}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

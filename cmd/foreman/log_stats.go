package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// logStats is what `foreman log stats` reports.
type logStats struct {
	DataDir      string         `json:"data_dir"`
	Events       uint64         `json:"events"`
	FirstOffset  uint64         `json:"first_offset"` // 0: no events
	LastOffset   uint64         `json:"last_offset"`
	LowWatermark uint64         `json:"low_watermark"`
	Jobs         int            `json:"jobs"`           // distinct job ids in the stored events
	JobsWithView int            `json:"jobs_with_view"` // jobs the projections know (not expired)
	ByType       map[string]int `json:"by_type"`
	ByState      map[string]int `json:"by_state"`
	DiskUsage    uint64         `json:"disk_usage_bytes"`
}

// stats counts events by type and jobs by state. States come from replaying
// the log into a scratch in-memory store with the projections' own logic,
// so the stored projection state is neither trusted nor touched.
func (c *LogCommand) stats(ctx context.Context, args []string) error {
	f := c.newLogFlags("stats", "stats [--data-dir DIR] [--json]")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		f.fs.Usage()
		return &usageError{fmt.Sprintf("log stats takes no arguments, got %q", pos)}
	}
	l, err := c.openLog(*f.dataDir)
	if err != nil {
		return err
	}
	defer l.Close()
	s := logStats{
		DataDir: *f.dataDir, LastOffset: l.LastOffset(), LowWatermark: l.LowWatermark(),
		ByType: map[string]int{}, ByState: map[string]int{}, DiskUsage: l.DiskUsage(),
	}
	for _, t := range eventlog.Types {
		s.ByType[string(t)] = 0
	}
	jobs := map[ulid.ULID]struct{}{}
	err = l.Scan(ctx, 0, 0, func(e eventlog.Event) error {
		if s.Events == 0 {
			s.FirstOffset = e.Offset
		}
		s.Events++
		s.ByType[string(e.Type)]++
		jobs[e.Job] = struct{}{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	s.Jobs = len(jobs)
	scratch, err := openScratch()
	if err != nil {
		return err
	}
	defer scratch.Close()
	p, err := projections.Open(ctx, l, scratch)
	if err != nil {
		return fmt.Errorf("stats: replay projections: %w", err)
	}
	for state, n := range p.Counts() {
		s.ByState[string(state)] = n
		s.JobsWithView += n
	}
	if *f.json {
		return writeJSON(c.m.Stdout, s)
	}
	return c.printStats(s)
}

func (c *LogCommand) printStats(s logStats) error {
	out := newOutput(c.m.Stdout)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "data dir:\t%s\n", s.DataDir)
	if s.Events == 0 {
		fmt.Fprintf(tw, "events:\t0\n")
	} else {
		fmt.Fprintf(tw, "events:\t%d (offsets %d..%d)\n", s.Events, s.FirstOffset, s.LastOffset)
	}
	fmt.Fprintf(tw, "low watermark:\t%d\n", s.LowWatermark)
	fmt.Fprintf(tw, "last offset:\t%d\n", s.LastOffset)
	fmt.Fprintf(tw, "jobs:\t%d (%d with a view)\n", s.Jobs, s.JobsWithView)
	fmt.Fprintf(tw, "size on disk:\t%s\n", humanBytes(s.DiskUsage))
	fmt.Fprintf(tw, "\nevents by type:\n")
	for _, t := range statsTypeOrder(s.ByType) {
		if n := s.ByType[t]; n > 0 {
			fmt.Fprintf(tw, "  %s\t%d\n", t, n)
		}
	}
	fmt.Fprintf(tw, "\njobs by state:\n")
	for _, st := range projections.States {
		fmt.Fprintf(tw, "  %s\t%d\n", st, s.ByState[string(st)])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return out.flush()
}

// statsTypeOrder lists the known types in lifecycle order, then any unknown
// ones (written by a newer foreman) sorted.
func statsTypeOrder(byType map[string]int) []string {
	var order, unknown []string
	for _, t := range eventlog.Types {
		order = append(order, string(t))
	}
	for t := range maps.Keys(byType) {
		if !slices.Contains(order, t) {
			unknown = append(unknown, t)
		}
	}
	slices.Sort(unknown)
	return append(order, unknown...)
}

// humanBytes renders n as bytes plus a binary-prefixed figure.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v, i = v/unit, i+1
	}
	return fmt.Sprintf("%d bytes (%.1f %ciB)", n, v, "KMGTP"[i])
}

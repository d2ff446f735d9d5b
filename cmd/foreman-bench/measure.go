package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/projections/projtest"
)

// Rebuild is a full projections rebuild from the low watermark.
type Rebuild struct {
	Events uint64 // events applied
	Took   time.Duration
}

// Rate is events per second.
func (r Rebuild) Rate() float64 { return float64(r.Events) / r.Took.Seconds() }

// MeasureRebuild opens the log in dir read-only and rebuilds the
// projections from it into an empty store on disk beside it, as a daemon
// rebuilding its projections writes to disk (an in-memory FS would charge
// its own slice growth to the rebuild).
func MeasureRebuild(ctx context.Context, dir string) (Rebuild, error) {
	src, err := eventlog.Open(eventlog.Config{Dir: dir, ReadOnly: true})
	if err != nil {
		return Rebuild{}, fmt.Errorf("rebuild: %w", err)
	}
	defer src.Close()
	scratchDir, err := os.MkdirTemp(filepath.Dir(dir), "rebuild-scratch-")
	if err != nil {
		return Rebuild{}, fmt.Errorf("rebuild: scratch store: %w", err)
	}
	defer os.RemoveAll(scratchDir)
	scratch, err := eventlog.Open(eventlog.Config{Dir: scratchDir})
	if err != nil {
		return Rebuild{}, fmt.Errorf("rebuild: scratch store: %w", err)
	}
	defer scratch.Close()
	cs := &countingSource{Log: src}
	t0 := time.Now()
	p, err := projections.Open(ctx, cs, scratch)
	took := time.Since(t0)
	if err != nil {
		return Rebuild{}, fmt.Errorf("rebuild: %w", err)
	}
	if p.Rebuilt == "" || p.Applied() != src.LastOffset() {
		return Rebuild{}, fmt.Errorf("rebuild: did not rebuild (reason %q, applied %d of %d)", p.Rebuilt, p.Applied(), src.LastOffset())
	}
	return Rebuild{Events: cs.n, Took: took}, nil
}

// Restart is the time foreman takes to open the log and the projections
// from their checkpoint, over several runs.
type Restart struct {
	Runs     []time.Duration
	Replayed uint64 // events after the checkpoint, replayed on each run
	Jobs     int    // jobs the projections count
	Active   int    // non-terminal jobs loaded into memory
}

// Median is the median run.
func (r Restart) Median() time.Duration {
	s := slices.Sorted(slices.Values(r.Runs))
	return s[len(s)/2]
}

// MeasureRestart times eventlog.Open + projections.Open on dir, runs times.
// Each run opens a fresh clone (projtest.CloneDir) so that every run
// replays the same tail and dir keeps its checkpoint.
func MeasureRestart(ctx context.Context, dir string, runs int) (Restart, error) {
	var r Restart
	for range max(runs, 1) {
		err := withClone(dir, func(clone string) error {
			t0 := time.Now()
			l, err := eventlog.Open(eventlog.Config{Dir: clone})
			if err != nil {
				return err
			}
			defer l.Close()
			cs := &countingSource{Log: l}
			p, err := projections.Open(ctx, cs, l)
			took := time.Since(t0)
			if err != nil {
				return err
			}
			if p.Rebuilt != "" {
				return fmt.Errorf("rebuilt instead of loading a checkpoint: %s", p.Rebuilt)
			}
			r.Runs, r.Replayed, r.Active = append(r.Runs, took), cs.n, len(p.Active())
			r.Jobs = 0
			for _, n := range p.Counts() {
				r.Jobs += n
			}
			return l.Close()
		})
		if err != nil {
			return Restart{}, fmt.Errorf("restart: %w", err)
		}
	}
	return r, nil
}

// withClone runs fn on a throwaway clone of dir, made beside it so that
// table files can be hard-linked.
func withClone(dir string, fn func(clone string) error) error {
	parent, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".foreman-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	clone := filepath.Join(parent, "data")
	if err := projtest.CloneDir(dir, clone); err != nil {
		return err
	}
	return fn(clone)
}

// countingSource counts the events the projections read.
type countingSource struct {
	*eventlog.Log
	n uint64
}

func (c *countingSource) Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error {
	return c.Log.Scan(ctx, from, to, func(e eventlog.Event) error {
		c.n++
		return fn(e)
	})
}

var _ projections.Source = (*countingSource)(nil)

package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// StartupConfig says what to measure.
type StartupConfig struct {
	Dir      string
	Foreman  string // foreman binary; "" builds ./cmd/foreman
	Restarts int    // restart runs; the median is reported
	Timeout  time.Duration
}

// Validate names the first bad field.
// rebuildRuns is how many full rebuilds are measured (the median counts).
const rebuildRuns = 3

func (c StartupConfig) Validate() error {
	switch {
	case c.Dir == "":
		return &usageError{"--dir is required"}
	case c.Restarts < 1:
		return &usageError{fmt.Sprintf("--restarts must be at least 1, got %d", c.Restarts)}
	}
	return nil
}

// StartupCommand measures start-up on a fixture.
type StartupCommand struct{ m *Main }

// register adds the measurement flags (all but --dir) to fs.
func (c *StartupConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Foreman, "foreman", "", "foreman binary to run (default: go build ./cmd/foreman)")
	fs.IntVar(&c.Restarts, "restarts", 3, "restart runs (the median is reported)")
	fs.DurationVar(&c.Timeout, "timeout", 2*time.Minute, "bound on the daemon's start and stop")
}

// Run parses flags, measures and prints the report.
func (c *StartupCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	cfg := StartupConfig{}
	fs.StringVar(&cfg.Dir, "dir", "", "fixture data dir (foreman-bench fixture)")
	cfg.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return runStartup(ctx, c.m, cfg)
}

// runStartup measures, prints the report, and returns ErrTargetMissed if
// a target was missed.
func runStartup(ctx context.Context, m *Main, cfg StartupConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	r, err := MeasureStartup(ctx, cfg, m.Stderr)
	if err != nil {
		return err
	}
	if err := r.WriteMarkdown(m.Stdout); err != nil {
		return err
	}
	if missed := r.Missed(); len(missed) > 0 {
		return fmt.Errorf("%w: %s", ErrTargetMissed, strings.Join(missed, ", "))
	}
	return nil
}

// MeasureStartup runs the three measurements on cfg.Dir, in an order that
// leaves it unchanged: the rebuild reads it read-only, the restarts and the
// daemon run on clones. Progress goes to progress.
func MeasureStartup(ctx context.Context, cfg StartupConfig, progress io.Writer) (Report, error) {
	if _, err := os.Stat(cfg.Dir); err != nil {
		return Report{}, fmt.Errorf("fixture: %w", err)
	}
	r := Report{Dir: cfg.Dir}
	foreman := cfg.Foreman
	if foreman == "" {
		tmp, err := os.MkdirTemp("", "foreman-bench-bin-")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(tmp)
		fmt.Fprintln(progress, "building foreman…")
		if foreman, err = BuildForeman(ctx, tmp); err != nil {
			return Report{}, err
		}
	}
	var err error
	fmt.Fprintf(progress, "full rebuild (%d runs)…\n", rebuildRuns)
	// The median of a few runs: one run on a shared 2-core machine swings
	// by a quarter either way.
	runs := make([]Rebuild, 0, rebuildRuns)
	for range rebuildRuns {
		rb, err := MeasureRebuild(ctx, cfg.Dir)
		if err != nil {
			return Report{}, err
		}
		runs = append(runs, rb)
	}
	slices.SortFunc(runs, func(a, b Rebuild) int { return cmp.Compare(a.Took, b.Took) })
	r.Rebuild = runs[len(runs)/2]
	r.Events = r.Rebuild.Events
	fmt.Fprintf(progress, "restart with checkpoint (%d runs)…\n", cfg.Restarts)
	if r.Restart, err = MeasureRestart(ctx, cfg.Dir, cfg.Restarts); err != nil {
		return Report{}, err
	}
	fmt.Fprintln(progress, "foreman serve…")
	if r.Serve, err = MeasureServe(ctx, ServeConfig{Foreman: foreman, Dir: cfg.Dir, Timeout: cfg.Timeout}); err != nil {
		return Report{}, err
	}
	return r, nil
}

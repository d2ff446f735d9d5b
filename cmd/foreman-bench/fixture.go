package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/projections/projtest"
)

// Fixture defaults.
const (
	DefaultEvents = 1_000_000
	// DefaultTail is how far the stored checkpoint lags the log end: one
	// projections flush interval, the most a crash leaves to replay apart
	// from unsynced state writes.
	DefaultTail = 4096
	DefaultSeed = 1
)

// FixtureConfig says what fixture to build.
type FixtureConfig struct {
	Dir    string
	Events int
	Tail   int // events after the stored checkpoint
	Seed   uint64
}

// Validate names the first bad field.
func (c FixtureConfig) Validate() error {
	switch {
	case c.Dir == "":
		return &usageError{"--dir is required"}
	case c.Events < 1:
		return &usageError{fmt.Sprintf("--events must be at least 1, got %d", c.Events)}
	case c.Tail < 0:
		return &usageError{fmt.Sprintf("--tail must not be negative, got %d", c.Tail)}
	}
	return nil
}

// Fixture describes a built fixture.
type Fixture struct {
	Dir        string
	Events     uint64
	Jobs       int
	Checkpoint uint64 // offset of the stored projections checkpoint
	Disk       int64  // bytes in Dir
	Build      time.Duration
}

// FixtureCommand builds a fixture log.
type FixtureCommand struct{ m *Main }

// Run parses flags and builds the fixture.
func (c *FixtureCommand) Run(ctx context.Context, args []string) error {
	cfg := FixtureConfig{}
	fs := flag.NewFlagSet("fixture", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.StringVar(&cfg.Dir, "dir", "", "data dir to create (must not exist or be empty)")
	fs.IntVar(&cfg.Events, "events", DefaultEvents, "events in the log")
	fs.IntVar(&cfg.Tail, "tail", DefaultTail, "events after the stored projections checkpoint")
	fs.Uint64Var(&cfg.Seed, "seed", DefaultSeed, "seed for jobs and payloads")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f, err := BuildFixture(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.m.Stdout, f)
	return nil
}

func (f Fixture) String() string {
	return fmt.Sprintf("fixture %s: %s events, %s jobs, %.0f MiB on disk, checkpoint at offset %s (tail %s), built in %s",
		f.Dir, commas(f.Events), commas(uint64(f.Jobs)), mib(f.Disk), commas(f.Checkpoint),
		commas(f.Events-f.Checkpoint), f.Build.Round(100*time.Millisecond))
}

// BuildFixture writes a fixture log of cfg.Events events into cfg.Dir (see
// projtest.BuildFixture) and stores a projections checkpoint cfg.Tail
// events before its end, as a daemon that crashed would leave it.
func BuildFixture(ctx context.Context, cfg FixtureConfig) (Fixture, error) {
	if err := cfg.Validate(); err != nil {
		return Fixture{}, err
	}
	if ents, err := os.ReadDir(cfg.Dir); err == nil && len(ents) > 0 {
		return Fixture{}, fmt.Errorf("fixture: %s is not empty", cfg.Dir)
	}
	t0 := time.Now()
	l, err := eventlog.Open(eventlog.Config{Dir: cfg.Dir})
	if err != nil {
		return Fixture{}, fmt.Errorf("fixture: %w", err)
	}
	defer l.Close()
	jobs, err := projtest.BuildFixture(ctx, l, cfg.Events, cfg.Seed)
	if err != nil {
		return Fixture{}, err
	}
	f := Fixture{Dir: cfg.Dir, Events: l.LastOffset(), Jobs: jobs}
	f.Checkpoint = f.Events - min(uint64(cfg.Tail), f.Events)
	if _, err := projections.Open(ctx, projtest.Until{Log: l, At: f.Checkpoint}, l); err != nil {
		return Fixture{}, fmt.Errorf("fixture: checkpoint: %w", err)
	}
	if err := l.Close(); err != nil {
		return Fixture{}, fmt.Errorf("fixture: close: %w", err)
	}
	f.Build = time.Since(t0)
	f.Disk, err = dirSize(cfg.Dir)
	return f, err
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

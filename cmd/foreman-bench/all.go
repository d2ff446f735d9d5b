package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// AllCommand builds a fixture in a temporary dir, measures start-up on it
// and removes it.
type AllCommand struct{ m *Main }

// Run parses flags and runs fixture then startup.
func (c *AllCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fx := FixtureConfig{}
	st := StartupConfig{}
	fs.IntVar(&fx.Events, "events", DefaultEvents, "events in the fixture log")
	fs.IntVar(&fx.Tail, "tail", DefaultTail, "events after the stored projections checkpoint")
	fs.Uint64Var(&fx.Seed, "seed", DefaultSeed, "seed for jobs and payloads")
	tmpParent := fs.String("tmp", "", "where to make the temporary fixture dir (default: the system temp dir)")
	st.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(*tmpParent, "foreman-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fx.Dir = filepath.Join(tmp, "data")
	st.Dir = fx.Dir
	if err := st.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stderr, "building a %s-event fixture…\n", commas(uint64(max(fx.Events, 0))))
	f, err := BuildFixture(ctx, fx)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.m.Stderr, f)
	return runStartup(ctx, c.m, st)
}

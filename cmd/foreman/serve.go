package main

import (
	"context"
	"flag"
)

// ServeCommand runs the daemon.
type ServeCommand struct {
	m *Main
	// ready, when set, receives the bound address (tests listen on :0).
	ready chan<- string
}

// Run parses flags, reads FOREMAN_* settings and serves until ctx ends.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("foreman serve", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.Usage = func() {
		fs.Output().Write([]byte("Usage: foreman serve\n\nSettings come from FOREMAN_* variables; see docs/configuration.md.\n"))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(c.m.Getenv)
	if err != nil {
		return err
	}
	logger, lw := newDaemonLogger(c.m.Stderr, cfg.LogLevel)
	defer lw.Close()
	var environ []string
	if c.m.Environ != nil {
		environ = c.m.Environ()
	}
	logSettings(logger, cfg, c.m.Getenv, environ)
	d, err := OpenDaemon(ctx, cfg, logger)
	if err != nil {
		return err
	}
	lw.Flush() // the start-up lines are out before the first request is served
	if c.ready != nil {
		c.ready <- d.Addr()
	}
	return d.Run(ctx)
}

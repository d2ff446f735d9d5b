package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/foreman-dev/foreman/api"
	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker"
)

// Daemon is a running foreman: the log, the projections following it, and
// the HTTP server.
type Daemon struct {
	cfg    Config
	logger *slog.Logger
	log    *eventlog.Log
	proj   *projections.Projections
	ln     net.Listener
	srv    *http.Server
}

// OpenDaemon opens the store, brings the projections to the end of the log,
// runs crash recovery and binds the listener. Nothing is served yet.
func OpenDaemon(ctx context.Context, cfg Config, logger *slog.Logger) (*Daemon, error) {
	d := &Daemon{cfg: cfg, logger: logger}
	l, err := eventlog.Open(eventlog.Config{Dir: cfg.DataDir, Logger: logger})
	if err != nil {
		return nil, startError(err)
	}
	d.log = l
	t0 := time.Now()
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		l.Close()
		return nil, startError(err)
	}
	d.proj = p
	logger.Info("projections ready", "offset", p.Applied(), "rebuilt", p.Rebuilt, "took", time.Since(t0).Round(time.Millisecond))
	rec, err := worker.Recover(ctx, l, p)
	if err == nil {
		err = p.CatchUp(ctx, 0)
	}
	if err != nil {
		l.Close()
		return nil, startError(err)
	}
	if rec != (worker.Recovery{}) {
		logger.Warn("recovered jobs interrupted by a restart", "cancelled", rec.Cancelled, "requeued", rec.Requeued, "failed", rec.Failed)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on FOREMAN_LISTEN=%s: %w", cfg.Listen, err)
	}
	d.ln = ln
	handler := api.New(api.Config{Tokens: cfg.Tokens, Backup: l, Logger: logger})
	d.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return d, nil
}

// startError explains the refusals an operator must act on.
func startError(err error) error {
	var ce *eventlog.CorruptError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("refusing to start: the event log is corrupt at offset %d (%s); run `foreman log verify` on a copy and restore from a backup: %w", ce.Offset, ce.Reason, err)
	case errors.Is(err, eventlog.ErrLocked):
		return fmt.Errorf("refusing to start: %w (is another foreman running?)", err)
	}
	return fmt.Errorf("start: %w", err)
}

// Addr is the bound listen address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Run serves until ctx ends, then shuts down cleanly: the listener stops,
// in-flight requests get a grace period, the projections write a final
// checkpoint and the store closes.
func (d *Daemon) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := d.proj.Run(runCtx); err != nil {
			errc <- fmt.Errorf("projections: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := d.srv.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	d.logger.Info("foreman serving", "addr", d.Addr(), "data_dir", d.cfg.DataDir, "offset", d.log.LastOffset())
	var err error
	select {
	case <-ctx.Done():
		d.logger.Info("shutting down")
	case err = <-errc:
	}
	shutCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownGrace)
	defer stop()
	if serr := d.srv.Shutdown(shutCtx); serr != nil {
		d.srv.Close()
	}
	cancel()
	wg.Wait()
	if cerr := d.proj.CatchUp(shutCtx, 0); err == nil {
		err = cerr
	}
	if cerr := d.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases a daemon that was opened but never run.
func (d *Daemon) Close() error {
	d.ln.Close()
	return d.log.Close()
}

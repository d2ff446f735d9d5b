package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/foreman-dev/foreman/api"
	"github.com/foreman-dev/foreman/api/metrics"
	"github.com/foreman-dev/foreman/api/webhook"
	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/eventlog/ship"
	"github.com/foreman-dev/foreman/projections"
	"github.com/foreman-dev/foreman/worker"
	"github.com/foreman-dev/foreman/worker/batch"
	"github.com/foreman-dev/foreman/worker/target"
)

// Daemon is a running foreman: the log, the projections following it, the
// worker and its target, the webhook dispatcher and the HTTP server.
type Daemon struct {
	cfg      Config
	logger   *slog.Logger
	log      *eventlog.Log
	proj     *projections.Projections
	inv      *target.Inventory
	worker   *worker.Worker
	batches  *batch.Driver // advances OpenAI batches (ADR-0031)
	webhooks *webhook.Dispatcher
	hub      *api.Hub
	hubFrom  uint64            // the log's end before serving: where the hub starts following
	retain   *worker.Retention // nil: FOREMAN_JOB_TTL=0 keeps jobs forever
	shipper  *ship.Shipper     // nil: FOREMAN_NATS_URL unset
	metrics  *metrics.Collector
	ln       net.Listener
	srv      *http.Server
	handlers inflight
	// drain is how long Run waits, after closing the server, for handlers
	// still running (their requests are cancelled by then).
	drain time.Duration
}

// defaultDrain bounds the wait for handlers after the server closed.
const defaultDrain = 5 * time.Second

// OpenDaemon opens the store, brings the projections to the end of the log,
// runs crash recovery, wires the parts and binds the listener. Nothing is
// served and no job runs yet.
func OpenDaemon(ctx context.Context, cfg Config, logger *slog.Logger) (d *Daemon, err error) {
	d = &Daemon{cfg: cfg, logger: logger, drain: defaultDrain}
	l, err := eventlog.Open(eventlog.Config{Dir: cfg.DataDir, FS: cfg.fs, Logger: logger})
	if err != nil {
		return nil, startError(err)
	}
	d.log = l
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	t0 := time.Now()
	p, err := projections.Open(ctx, l, l)
	if err != nil {
		return nil, startError(err)
	}
	d.proj = p
	logger.Info("projections ready", "offset", p.Applied(), "rebuilt", p.Rebuilt, "took", time.Since(t0).Round(time.Millisecond))
	rec, err := worker.Recover(ctx, l, p)
	if err == nil {
		err = p.CatchUp(ctx, 0)
	}
	if err != nil {
		return nil, startError(err)
	}
	if rec != (worker.Recovery{}) {
		logger.Warn("recovered jobs interrupted by a restart", "cancelled", rec.Cancelled, "requeued", rec.Requeued, "failed", rec.Failed)
	}
	if err := d.wire(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on FOREMAN_LISTEN=%s: %w", cfg.Listen, err)
	}
	lim := api.LimitConns(ln, api.ConnLimits{Total: cfg.MaxConns, PerAddr: cfg.MaxConnsPerIP})
	d.ln = lim
	if err := d.metrics.WatchConns(lim); err != nil {
		ln.Close()
		return nil, err
	}
	return d, nil
}

// wire builds the target client, inventory, worker, API and dispatcher.
func (d *Daemon) wire() error {
	cfg := d.cfg
	backupDir, err := filepath.Abs(cfg.BackupDir)
	if err != nil {
		return &ConfigError{"FOREMAN_BACKUP_DIR", cfg.BackupDir, err.Error()}
	}
	client, err := target.New(target.Config{URL: cfg.OllamaURL, Token: cfg.OllamaToken})
	if err != nil {
		return &ConfigError{"FOREMAN_OLLAMA_URL", cfg.OllamaURL, err.Error()}
	}
	d.inv = target.NewInventory(client, cfg.PollInterval, d.logger.With("part", "inventory"))
	hub := api.NewHub()
	d.hub, d.hubFrom = hub, d.log.LastOffset()
	d.metrics, err = metrics.New(metrics.Config{Log: d.log, Jobs: d.proj, Health: d.inv})
	if err != nil {
		return err
	}
	d.worker, err = worker.New(worker.Config{
		Log: d.log, Jobs: d.proj, Target: client, Residency: d.inv, Sink: hub,
		Policy:        worker.Policy{MaxSkips: cfg.MaxSkips, MaxWait: cfg.MaxWait},
		JobTimeout:    cfg.JobTimeout,
		ShutdownGrace: cfg.ShutdownGrace,
		EmbedModel:    cfg.EmbedModel,
		Logger:        d.logger.With("part", "worker"),
	})
	if err != nil {
		return err
	}
	guard, err := webhook.ParseAllow(slices.Collect(maps.Keys(cfg.WebhookAllow)))
	if err != nil {
		return &ConfigError{"FOREMAN_WEBHOOK_ALLOW", "", err.Error()}
	}
	batches, err := d.wireBatches(guard)
	if err != nil {
		return err
	}
	srv := api.New(api.Config{
		Batches: batches,
		Tokens:  cfg.Tokens, Health: d.inv, Backup: d.log, BackupDir: backupDir, Log: d.log, Jobs: d.proj, Hub: hub, MinFreeDisk: cfg.MinFreeDisk,
		Inventory: d.inv, Target: client, Scheduler: schedulerPort{d.worker.Scheduler()}, Retention: d.log,
		JobTimeout: cfg.JobTimeout, MaxJobTimeout: cfg.MaxJobTimeout, DefaultNumPredict: cfg.DefaultNumPredict,
		MaxBody: cfg.MaxBody, MaxAttempts: cfg.MaxAttempts, MaxQueue: cfg.MaxQueue,
		BodyTimeout: cfg.BodyTimeout, WriteTimeout: cfg.WriteTimeout,
		WebhookHosts: guard, PublicURL: cfg.PublicURL, Metrics: d.metrics.Handler(), Activity: d.metrics,
		Logger: d.logger.With("part", "api"),
	})
	d.webhooks, err = webhook.New(webhook.Config{Log: d.log, Render: srv, Secret: cfg.WebhookSecret,
		Backoff: cfg.WebhookBackoff, Timeout: cfg.WebhookTimeout, Guard: guard, Logger: d.logger.With("part", "webhooks")})
	if err != nil {
		return err
	}
	cursors := []string{webhook.CursorName}
	if cfg.Ship.On() {
		sc := cfg.Ship.config()
		sc.Logger = d.logger.With("part", "ship")
		if d.shipper, err = ship.New(d.log, sc); err != nil {
			return &ConfigError{"FOREMAN_NATS_URL", ship.RedactURL(cfg.Ship.URL), err.Error()}
		}
		cursors = append(cursors, ship.CursorName) // unshipped events stay
		if err := registerShipMetrics(d.metrics.Registry(), d.shipper); err != nil {
			return err
		}
	}
	if cfg.JobTTL > 0 {
		d.retain = worker.NewRetention(d.log, d.proj, worker.RetentionConfig{
			TTL: cfg.JobTTL, Cursors: cursors, Logger: d.logger.With("part", "retention"),
		})
	}
	d.srv = &http.Server{
		Handler:           d.handlers.track(srv),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return nil
}

// startError explains the refusals an operator must act on.
func startError(err error) error {
	var ce *eventlog.CorruptError
	var le *eventlog.LossError
	switch {
	case errors.As(err, &le):
		return fmt.Errorf("refusing to start: %w; restore the data dir from a backup, or run `foreman log repair --accept-loss` to record offsets %d..%d as lost", err, le.From, le.To)
	case errors.As(err, &ce) && ce.Offset == 0:
		return fmt.Errorf("refusing to start: the store is damaged (%s); run `foreman log verify` on a copy and restore from a backup: %w", ce.Reason, err)
	case errors.As(err, &ce):
		return fmt.Errorf("refusing to start: the event log is corrupt at offset %d (%s); run `foreman log verify` on a copy and restore from a backup: %w", ce.Offset, ce.Reason, err)
	case errors.Is(err, eventlog.ErrLocked):
		return fmt.Errorf("refusing to start: %w (is another foreman running?)", err)
	}
	return fmt.Errorf("start: %w", err)
}

// Addr is the bound listen address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Run serves until ctx ends or the event log fails, then shuts down: the
// listener stops and the worker takes no new job; in-flight requests and
// the running job get FOREMAN_SHUTDOWN_GRACE; then the dispatcher and the
// projections stop, the projections write a final checkpoint and the store
// closes, never while a handler still runs. A failed log (a commit that
// failed, ADR-0019) makes Run return an error, so the process exits
// non-zero for its supervisor once in-flight requests are answered.
func (d *Daemon) Run(ctx context.Context) error {
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	errc := make(chan error, 16) // at least one per goRun below, so that none blocks
	var bgWG, workWG sync.WaitGroup
	goRun := func(wg *sync.WaitGroup, name string, run func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun(&bgWG, "projections", func() error { return d.proj.Run(bg) })
	goRun(&bgWG, "inventory", func() error { return d.inv.Run(bg) })
	goRun(&bgWG, "webhooks", func() error { return d.webhooks.Run(bg) })
	goRun(&bgWG, "metrics", func() error { return d.metrics.Run(bg) })
	goRun(&bgWG, "hub", func() error { return d.hub.Follow(bg, d.log, d.hubFrom) })
	if d.retain != nil {
		goRun(&bgWG, "retention", func() error { return d.retain.Run(bg) })
	}
	if d.shipper != nil {
		goRun(&bgWG, "ship", func() error { return d.shipper.Run(bg) })
	}
	goRun(&workWG, "worker", func() error { return d.worker.Run(work) })
	goRun(&workWG, "batches", func() error { return d.batches.Run(work) })
	goRun(&workWG, "http", func() error {
		if err := d.srv.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	d.logger.Info("foreman serving", "addr", d.Addr(), "data_dir", d.cfg.DataDir, "offset", d.log.LastOffset(), "ollama", d.cfg.OllamaURL)
	var err error
	select {
	case <-ctx.Done():
		d.logger.Info("shutting down", "grace", d.cfg.ShutdownGrace)
	case <-d.log.Failed():
		err = fmt.Errorf("the event log failed: %w", d.log.Err())
		d.logger.Error("stopping: the event log failed; answering in-flight requests, then exiting", "err", d.log.Err())
	case err = <-errc:
		d.logger.Error("stopping after a fatal error", "err", err)
	}
	stopWork()
	shutCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownGrace+time.Second)
	defer stop()
	if serr := d.srv.Shutdown(shutCtx); serr != nil {
		d.srv.Close() // cancels the requests still running
	}
	running := d.handlers.wait(d.drain)
	workWG.Wait()
	stopBG()
	bgWG.Wait()
	close(errc)
	for e := range errc {
		if err == nil && !errors.Is(e, context.Canceled) {
			err = e
		}
	}
	if cerr := d.proj.CatchUp(context.WithoutCancel(ctx), 0); err == nil {
		err = cerr
	}
	if running > 0 {
		d.logger.Error("requests still running after the shutdown grace; leaving the store open", "requests", running)
		if err == nil {
			err = fmt.Errorf("shutdown: %d requests still running; the store was not closed (a restart recovers it)", running)
		}
		return err
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

// schedulerPort lets the API fork the worker's scheduler for its forecast.
type schedulerPort struct{ *worker.Scheduler }

func (p schedulerPort) Fork() api.Picker { return p.Scheduler.Fork() }

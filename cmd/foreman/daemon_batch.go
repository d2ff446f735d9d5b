package main

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/foreman-dev/foreman/api"
	apibatch "github.com/foreman-dev/foreman/api/batch"
	"github.com/foreman-dev/foreman/api/webhook"
	"github.com/foreman-dev/foreman/worker/batch"
)

// wireBatches builds the Batch API: its routes for the server and the
// driver that advances batches.
func (d *Daemon) wireBatches(guard *webhook.Guard) (http.Handler, error) {
	cfg := d.cfg
	var err error
	d.batches, err = batch.New(batch.Config{Log: d.log, Views: d.proj, Models: d.inv, MaxLines: cfg.Batch.MaxLines, FileTTL: cfg.Batch.FileTTL,
		Logger: d.logger.With("part", "batches")})
	if err != nil {
		return nil, err
	}
	prio := cfg.Batch.Priority
	return apibatch.New(apibatch.Config{Log: d.log, Views: d.proj, MaxFileBytes: cfg.Batch.MaxFileBytes,
		DefaultPriority: &prio, MaxAttempts: cfg.MaxAttempts, FileTTL: cfg.Batch.FileTTL, Caller: api.Caller,
		CheckWebhook: func(raw string) error {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("state_webhook_url is an absolute http(s) URL")
			}
			if !guard.AllowsHost(u.Hostname()) {
				return fmt.Errorf("host %q is not allowed (FOREMAN_WEBHOOK_ALLOW)", u.Hostname())
			}
			return nil
		},
		Logger: d.logger.With("part", "api")})
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// HealthcheckCommand asks a running daemon's /healthz and answers with its
// exit code, for a container's HEALTHCHECK or a supervisor's probe: an
// image then needs no curl. It runs beside the daemon, in its environment,
// so it finds the daemon where FOREMAN_LISTEN says (a wildcard address is
// asked on loopback). /healthz needs no token, so none is sent.
//
// A degraded daemon (Ollama unreachable, the disk low) is healthy unless
// --strict: it is up and keeps what it accepted, and restarting it, which
// is what an unhealthy container invites, mends neither (ADR-0032). The
// reasons are printed either way, so `docker inspect` shows them.
type HealthcheckCommand struct{ m *Main }

// healthAnswer is /healthz's body (api/health.go).
type healthAnswer struct {
	Status   string   `json:"status"`
	Degraded *bool    `json:"degraded"`
	Reasons  []string `json:"reasons"`
}

// errUnhealthy marks an answer that is not healthy; the message says why.
var errUnhealthy = errors.New("unhealthy")

// Run prints one line (ok, or degraded with the reasons) and returns nil,
// or an error (exit 1) when the daemon is down, failed, or not foreman.
func (c *HealthcheckCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("foreman healthcheck", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	url := fs.String("url", "", "the daemon's address (default: from FOREMAN_LISTEN, else "+DefaultURL+")")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	strict := fs.Bool("strict", false, "a degraded daemon is unhealthy too")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: foreman healthcheck [--url URL] [--timeout D] [--strict]\n\n"+
			"Exit 0 when the daemon's /healthz answers ok (degraded too, unless --strict), 1 otherwise.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &usageError{"healthcheck takes no arguments"}
	}
	if *timeout <= 0 {
		return &usageError{"healthcheck --timeout must be positive"}
	}
	base := *url
	if base == "" {
		var err error
		if base, err = healthURL(c.m.Getenv("FOREMAN_LISTEN")); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	h, err := askHealth(ctx, strings.TrimRight(base, "/")+"/healthz")
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", base, err)
	}
	if *h.Degraded {
		line := "degraded: " + strings.Join(h.Reasons, "; ")
		if *strict {
			return fmt.Errorf("healthcheck %s: %w: %s", base, errUnhealthy, line)
		}
		fmt.Fprintln(c.m.Stdout, line)
		return nil
	}
	fmt.Fprintln(c.m.Stdout, "ok")
	return nil
}

// healthURL is where the daemon listening on listen (FOREMAN_LISTEN; empty:
// the default) is asked: a wildcard or empty host on loopback.
func healthURL(listen string) (string, error) {
	if listen == "" {
		listen = DefaultConfig().Listen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return "", &ConfigError{"FOREMAN_LISTEN", listen, "want host:port with a fixed port (or pass --url)"}
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// askHealth GETs a /healthz URL and decodes foreman's answer; anything
// else (no answer, another server, a failed daemon) is an error.
func askHealth(ctx context.Context, url string) (healthAnswer, error) {
	var h healthAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return h, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return h, fmt.Errorf("read answer: %w", err)
	}
	if json.Unmarshal(body, &h) != nil || h.Status == "" || h.Degraded == nil {
		return h, fmt.Errorf("%w: status %d and not foreman's /healthz answer: %.100q", errUnhealthy, resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusOK || h.Status != "ok" {
		return h, fmt.Errorf("%w: status %d, %s: %s", errUnhealthy, resp.StatusCode, h.Status, strings.Join(h.Reasons, "; "))
	}
	return h, nil
}

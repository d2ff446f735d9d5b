package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/api/route"
)

// RouteConfig is `foreman route`'s configuration, read from
// FOREMAN_ROUTE_* variables (docs/configuration.md, "foreman route").
type RouteConfig struct {
	Listen          string            // FOREMAN_ROUTE_LISTEN
	Daemons         []route.Daemon    // FOREMAN_ROUTE_DAEMONS, tokens from FOREMAN_ROUTE_DAEMON_TOKEN(S)
	Tokens          map[string]string // FOREMAN_ROUTE_TOKEN / FOREMAN_ROUTE_TOKENS: the router's callers
	ForecastTimeout time.Duration     // FOREMAN_ROUTE_FORECAST_TIMEOUT
	MaxBody         int64             // FOREMAN_ROUTE_MAX_BODY
	ShutdownGrace   time.Duration     // FOREMAN_SHUTDOWN_GRACE
	LogLevel        slog.Level        // FOREMAN_LOG_LEVEL
}

// LoadRouteConfig reads the router's settings through getenv.
func LoadRouteConfig(getenv func(string) string) (RouteConfig, error) {
	c := RouteConfig{Listen: route.DefaultListen, Tokens: map[string]string{}, ForecastTimeout: route.DefaultForecastTimeout,
		MaxBody: route.DefaultMaxBody, ShutdownGrace: 30 * time.Second, LogLevel: slog.LevelInfo}
	if v := getenv("FOREMAN_ROUTE_LISTEN"); v != "" {
		c.Listen = v
	}
	daemons, shared := getenv("FOREMAN_ROUTE_DAEMONS"), getenv("FOREMAN_ROUTE_DAEMON_TOKEN")
	for _, u := range strings.Split(daemons, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			c.Daemons = append(c.Daemons, route.Daemon{URL: u, Token: shared})
		}
	}
	if v := getenv("FOREMAN_ROUTE_DAEMON_TOKENS"); v != "" {
		for _, pair := range strings.Split(v, ",") {
			u, tok, ok := strings.Cut(strings.TrimSpace(pair), "=")
			u = strings.TrimRight(u, "/")
			i := -1
			for j, d := range c.Daemons {
				if d.URL == u {
					i = j
				}
			}
			if !ok || tok == "" || i < 0 {
				return c, &ConfigError{"FOREMAN_ROUTE_DAEMON_TOKENS", "(redacted)", "want URL=token pairs separated by commas, each URL one of FOREMAN_ROUTE_DAEMONS"}
			}
			c.Daemons[i].Token = tok
		}
	}
	if v := getenv("FOREMAN_ROUTE_TOKEN"); v != "" {
		c.Tokens["default"] = v
	}
	if v := getenv("FOREMAN_ROUTE_TOKENS"); v != "" {
		for _, pair := range strings.Split(v, ",") {
			name, tok, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || name == "" || tok == "" {
				return c, &ConfigError{"FOREMAN_ROUTE_TOKENS", "(redacted)", "want name=token pairs separated by commas"}
			}
			c.Tokens[name] = tok
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"FOREMAN_ROUTE_FORECAST_TIMEOUT", &c.ForecastTimeout}, {"FOREMAN_SHUTDOWN_GRACE", &c.ShutdownGrace}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				return c, &ConfigError{d.name, v, "not a duration (e.g. 500ms, 2s)"}
			}
			*d.dst = x
		}
	}
	if v := getenv("FOREMAN_ROUTE_MAX_BODY"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return c, &ConfigError{"FOREMAN_ROUTE_MAX_BODY", v, "not a size (e.g. 32MiB, 1048576)"}
		}
		c.MaxBody = n
	}
	if v := getenv("FOREMAN_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, &ConfigError{"FOREMAN_LOG_LEVEL", v, "want debug, info, warn or error"}
		}
	}
	return c, c.Validate(daemons)
}

// Validate names the first bad setting; daemons is FOREMAN_ROUTE_DAEMONS
// as given.
func (c RouteConfig) Validate(daemons string) error {
	if len(c.Daemons) == 0 {
		return &ConfigError{"FOREMAN_ROUTE_DAEMONS", daemons, "want the daemons' URLs separated by commas (e.g. http://gpu1:8080,http://gpu2:8080)"}
	}
	if err := (route.Config{Daemons: c.Daemons}).Validate(); err != nil {
		return &ConfigError{"FOREMAN_ROUTE_DAEMONS", daemons, strings.TrimPrefix(err.Error(), route.ErrConfig.Error()+": Daemons: ")}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return &ConfigError{"FOREMAN_ROUTE_LISTEN", c.Listen, "want host:port"}
	}
	if c.ForecastTimeout <= 0 {
		return &ConfigError{"FOREMAN_ROUTE_FORECAST_TIMEOUT", c.ForecastTimeout.String(), "must be positive"}
	}
	if c.MaxBody <= 0 {
		return &ConfigError{"FOREMAN_ROUTE_MAX_BODY", fmt.Sprint(c.MaxBody), "must be positive"}
	}
	if c.ShutdownGrace < 0 {
		return &ConfigError{"FOREMAN_SHUTDOWN_GRACE", c.ShutdownGrace.String(), "must not be negative"}
	}
	return nil
}

// RouteCommand runs the stateless router in front of several daemons.
type RouteCommand struct {
	m *Main
	// ready, when set, receives the bound address (tests listen on :0).
	ready chan<- string
}

// Run reads the FOREMAN_ROUTE_* settings and serves until ctx ends.
func (c *RouteCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("foreman route", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.Usage = func() {
		fs.Output().Write([]byte("Usage: foreman route\n\nRoutes Ollama, /v1 and /jobs requests to the daemon expected to finish them first.\n" +
			"Settings come from FOREMAN_ROUTE_* variables (FOREMAN_ROUTE_DAEMONS is required); see docs/configuration.md.\n"))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadRouteConfig(c.m.Getenv)
	if err != nil {
		return err
	}
	logger, lw := newDaemonLogger(c.m.Stderr, cfg.LogLevel)
	defer lw.Close()
	logger = logger.With("part", "route")
	rt, err := route.New(route.Config{Daemons: cfg.Daemons, Tokens: cfg.Tokens, ForecastTimeout: cfg.ForecastTimeout,
		MaxBody: cfg.MaxBody, Logger: logger})
	if err != nil {
		return err
	}
	defer rt.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on FOREMAN_ROUTE_LISTEN=%s: %w", cfg.Listen, err)
	}
	var urls []string
	for _, d := range cfg.Daemons {
		urls = append(urls, d.URL)
	}
	logger.Info("routing", "listen", ln.Addr().String(), "daemons", strings.Join(urls, ","), "auth", len(cfg.Tokens) > 0)
	lw.Flush() // the start-up lines are out before the first request is served
	srv := &http.Server{Handler: rt, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if c.ready != nil {
		c.ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

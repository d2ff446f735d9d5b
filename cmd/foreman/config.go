package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the daemon's configuration, read from FOREMAN_* variables.
// docs/configuration.md lists every setting.
type Config struct {
	DataDir       string            // FOREMAN_DATA_DIR
	Listen        string            // FOREMAN_LISTEN
	OllamaURL     string            // FOREMAN_OLLAMA_URL
	OllamaToken   string            // FOREMAN_OLLAMA_TOKEN
	PollInterval  time.Duration     // FOREMAN_POLL_INTERVAL
	MaxAttempts   int               // FOREMAN_MAX_ATTEMPTS
	ShutdownGrace time.Duration     // FOREMAN_SHUTDOWN_GRACE
	Tokens        map[string]string // FOREMAN_TOKEN / FOREMAN_TOKENS: name → token
	LogLevel      slog.Level        // FOREMAN_LOG_LEVEL
}

// DefaultConfig returns the configuration with every default.
func DefaultConfig() Config {
	return Config{
		DataDir:       "./foreman-data",
		Listen:        "127.0.0.1:8080",
		OllamaURL:     "http://127.0.0.1:11434",
		PollInterval:  30 * time.Second,
		MaxAttempts:   3,
		ShutdownGrace: 30 * time.Second,
		Tokens:        map[string]string{},
		LogLevel:      slog.LevelInfo,
	}
}

// ConfigError names the variable that is wrong.
type ConfigError struct {
	Var, Value, Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Var, e.Value, e.Reason)
}

// LoadConfig reads the environment through getenv (os.Getenv in main).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("FOREMAN_DATA_DIR", &c.DataDir)
	str("FOREMAN_LISTEN", &c.Listen)
	str("FOREMAN_OLLAMA_URL", &c.OllamaURL)
	str("FOREMAN_OLLAMA_TOKEN", &c.OllamaToken)
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"FOREMAN_POLL_INTERVAL", &c.PollInterval}, {"FOREMAN_SHUTDOWN_GRACE", &c.ShutdownGrace}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				return c, &ConfigError{d.name, v, "not a duration (e.g. 30s, 5m)"}
			}
			*d.dst = x
		}
	}
	if v := getenv("FOREMAN_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, &ConfigError{"FOREMAN_MAX_ATTEMPTS", v, "not an integer"}
		}
		c.MaxAttempts = n
	}
	if v := getenv("FOREMAN_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, &ConfigError{"FOREMAN_LOG_LEVEL", v, "want debug, info, warn or error"}
		}
	}
	if v := getenv("FOREMAN_TOKEN"); v != "" {
		c.Tokens["default"] = v
	}
	if v := getenv("FOREMAN_TOKENS"); v != "" {
		for _, pair := range strings.Split(v, ",") {
			name, tok, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || name == "" || tok == "" {
				return c, &ConfigError{"FOREMAN_TOKENS", "(redacted)", "want name=token pairs separated by commas"}
			}
			c.Tokens[name] = tok
		}
	}
	return c, c.Validate()
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return &ConfigError{"FOREMAN_DATA_DIR", c.DataDir, "must not be empty"}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return &ConfigError{"FOREMAN_LISTEN", c.Listen, "want host:port"}
	}
	u, err := url.Parse(c.OllamaURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &ConfigError{"FOREMAN_OLLAMA_URL", c.OllamaURL, "want an absolute http(s) URL"}
	}
	if c.PollInterval <= 0 {
		return &ConfigError{"FOREMAN_POLL_INTERVAL", c.PollInterval.String(), "must be positive"}
	}
	if c.ShutdownGrace < 0 {
		return &ConfigError{"FOREMAN_SHUTDOWN_GRACE", c.ShutdownGrace.String(), "must not be negative"}
	}
	if c.MaxAttempts < 1 {
		return &ConfigError{"FOREMAN_MAX_ATTEMPTS", strconv.Itoa(c.MaxAttempts), "must be at least 1"}
	}
	return nil
}

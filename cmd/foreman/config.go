package main

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/foreman-dev/foreman/api"
	"github.com/foreman-dev/foreman/api/webhook"
	"github.com/foreman-dev/foreman/worker/target"
)

// Config is the daemon's configuration, read from FOREMAN_* variables.
// docs/configuration.md lists every setting.
type Config struct {
	DataDir        string            // FOREMAN_DATA_DIR
	Listen         string            // FOREMAN_LISTEN
	OllamaURL      string            // FOREMAN_OLLAMA_URL
	OllamaToken    string            // FOREMAN_OLLAMA_TOKEN
	PollInterval   time.Duration     // FOREMAN_POLL_INTERVAL
	MaxAttempts    int               // FOREMAN_MAX_ATTEMPTS
	ShutdownGrace  time.Duration     // FOREMAN_SHUTDOWN_GRACE
	Tokens         map[string]string // FOREMAN_TOKEN / FOREMAN_TOKENS: name → token
	LogLevel       slog.Level        // FOREMAN_LOG_LEVEL
	EmbedModel     string            // FOREMAN_EMBED_MODEL
	WebhookSecret  string            // FOREMAN_WEBHOOK_SECRET
	WebhookAllow   map[string]bool   // FOREMAN_WEBHOOK_ALLOW
	PublicURL      string            // FOREMAN_PUBLIC_URL
	MaxQueue       int               // FOREMAN_MAX_QUEUE
	MaxBody        int64             // FOREMAN_MAX_BODY
	JobTimeout     time.Duration     // FOREMAN_JOB_TIMEOUT
	MaxSkips       int               // FOREMAN_MAX_SKIPS
	MaxWait        time.Duration     // FOREMAN_MAX_WAIT
	JobTTL         time.Duration     // FOREMAN_JOB_TTL
	WebhookBackoff []time.Duration   // FOREMAN_WEBHOOK_BACKOFF
	WebhookTimeout time.Duration     // FOREMAN_WEBHOOK_TIMEOUT
	MaxConns       int               // FOREMAN_MAX_CONNS
	MaxConnsPerIP  int               // FOREMAN_MAX_CONNS_PER_ADDR
	BodyTimeout    time.Duration     // FOREMAN_BODY_TIMEOUT
	WriteTimeout   time.Duration     // FOREMAN_WRITE_TIMEOUT
	BackupDir      string            // FOREMAN_BACKUP_DIR
	// MaxJobTimeout bounds a job's own "timeout" (FOREMAN_MAX_JOB_TIMEOUT).
	MaxJobTimeout time.Duration
	// DefaultNumPredict caps the tokens of an answer whose request sets
	// no num_predict (FOREMAN_DEFAULT_NUM_PREDICT).
	DefaultNumPredict int
	MinFreeDisk       uint64 // FOREMAN_MIN_FREE_DISK
	// Ship is the FOREMAN_NATS_* settings (config_ship.go).
	Ship  shipSettings
	Batch BatchConfig // FOREMAN_BATCH_* (config_batch.go)

	fs vfs.FS // the store's filesystem; nil: the OS (tests inject faults)
}

// DefaultConfig returns the configuration with every default.
func DefaultConfig() Config {
	return Config{
		DataDir:        "./foreman-data",
		Listen:         "127.0.0.1:8080",
		OllamaURL:      "http://127.0.0.1:11434",
		PollInterval:   30 * time.Second,
		MaxAttempts:    3,
		ShutdownGrace:  30 * time.Second,
		Tokens:         map[string]string{},
		LogLevel:       slog.LevelInfo,
		WebhookAllow:   map[string]bool{},
		MaxQueue:       100_000,
		MaxBody:        32 << 20,
		MaxSkips:       8,
		MaxWait:        10 * time.Minute,
		JobTTL:         24 * time.Hour,
		WebhookBackoff: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second},
		WebhookTimeout: 15 * time.Second,
		MaxConns:       4096,
		MaxConnsPerIP:  256,
		BodyTimeout:    time.Minute,
		WriteTimeout:   time.Minute,
		// Nothing runs forever (docs/configuration.md says why these).
		JobTimeout:        DefaultJobTimeout,
		MaxJobTimeout:     DefaultMaxJobTimeout,
		DefaultNumPredict: DefaultNumPredict,
		MinFreeDisk:       api.DefaultMinFreeDisk,
		Batch:             defaultBatchConfig(),
	}
}

// The defaults that keep one runaway answer from holding the only worker.
const (
	DefaultJobTimeout    = 10 * time.Minute
	DefaultMaxJobTimeout = time.Hour
	// DefaultNumPredict is Ollama's default context length (num_ctx 4096):
	// an answer longer than the context the model was given has pushed
	// its own prompt out, and is almost always a loop.
	DefaultNumPredict = 4096
)

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
	c.BackupDir = defaultBackupDir(c.DataDir) // beside the data dir unless set
	str("FOREMAN_BACKUP_DIR", &c.BackupDir)
	str("FOREMAN_LISTEN", &c.Listen)
	str("FOREMAN_OLLAMA_URL", &c.OllamaURL)
	str("FOREMAN_OLLAMA_TOKEN", &c.OllamaToken)
	str("FOREMAN_EMBED_MODEL", &c.EmbedModel)
	str("FOREMAN_WEBHOOK_SECRET", &c.WebhookSecret)
	str("FOREMAN_PUBLIC_URL", &c.PublicURL)
	if u, err := parseOllamaURL(c.OllamaURL); err == nil {
		c.OllamaURL = u // Validate names a bad one
	}
	if v := getenv("FOREMAN_WEBHOOK_ALLOW"); v != "" {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.WebhookAllow[strings.ToLower(h)] = true
			}
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"FOREMAN_POLL_INTERVAL", &c.PollInterval}, {"FOREMAN_SHUTDOWN_GRACE", &c.ShutdownGrace},
		{"FOREMAN_JOB_TIMEOUT", &c.JobTimeout}, {"FOREMAN_MAX_WAIT", &c.MaxWait}, {"FOREMAN_JOB_TTL", &c.JobTTL},
		{"FOREMAN_WEBHOOK_TIMEOUT", &c.WebhookTimeout}, {"FOREMAN_MAX_JOB_TIMEOUT", &c.MaxJobTimeout},
		{"FOREMAN_BODY_TIMEOUT", &c.BodyTimeout}, {"FOREMAN_WRITE_TIMEOUT", &c.WriteTimeout}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				return c, &ConfigError{d.name, v, "not a duration (e.g. 30s, 5m)"}
			}
			*d.dst = x
		}
	}
	for _, d := range []struct {
		name string
		dst  *int
	}{{"FOREMAN_MAX_ATTEMPTS", &c.MaxAttempts}, {"FOREMAN_MAX_QUEUE", &c.MaxQueue}, {"FOREMAN_MAX_SKIPS", &c.MaxSkips},
		{"FOREMAN_MAX_CONNS", &c.MaxConns}, {"FOREMAN_MAX_CONNS_PER_ADDR", &c.MaxConnsPerIP},
		{"FOREMAN_DEFAULT_NUM_PREDICT", &c.DefaultNumPredict}} {
		if v := getenv(d.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return c, &ConfigError{d.name, v, "not an integer"}
			}
			*d.dst = n
		}
	}
	if v := getenv("FOREMAN_WEBHOOK_BACKOFF"); v != "" {
		c.WebhookBackoff = nil
		for _, part := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if err != nil || d <= 0 {
				return c, &ConfigError{"FOREMAN_WEBHOOK_BACKOFF", v, "want positive durations separated by commas (e.g. 1s,2s,4s,8s,16s)"}
			}
			c.WebhookBackoff = append(c.WebhookBackoff, d)
		}
	}
	if v := getenv("FOREMAN_MAX_BODY"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return c, &ConfigError{"FOREMAN_MAX_BODY", v, "not a size (e.g. 32MiB, 1048576)"}
		}
		c.MaxBody = n
	}
	if v := getenv("FOREMAN_MIN_FREE_DISK"); v != "" {
		n, err := parseSize(v)
		if err != nil || n < 0 {
			return c, &ConfigError{"FOREMAN_MIN_FREE_DISK", v, "not a size (e.g. 256MiB, 2GiB; 0: no guard)"}
		}
		c.MinFreeDisk = uint64(n)
	}
	if v := getenv("FOREMAN_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, &ConfigError{"FOREMAN_LOG_LEVEL", v, "want debug, info, warn or error"}
		}
	}
	var err error
	if c.Ship, err = loadShip(getenv); err != nil {
		return c, err
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
	if err := loadBatchConfig(getenv, &c.Batch); err != nil {
		return c, err
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
	if _, err := parseOllamaURL(c.OllamaURL); err != nil {
		return &ConfigError{"FOREMAN_OLLAMA_URL", c.OllamaURL, err.Error()}
	}
	if err := (&target.Config{URL: c.OllamaURL, Token: c.OllamaToken}).Validate(); err != nil {
		return &ConfigError{"FOREMAN_OLLAMA_URL", c.OllamaURL, err.Error()}
	}
	if _, err := webhook.ParseAllow(slices.Collect(maps.Keys(c.WebhookAllow))); err != nil {
		return &ConfigError{"FOREMAN_WEBHOOK_ALLOW", strings.Join(slices.Sorted(maps.Keys(c.WebhookAllow)), ","), err.Error()}
	}
	if _, err := webhook.Key(c.WebhookSecret); err != nil {
		return &ConfigError{"FOREMAN_WEBHOOK_SECRET", "(redacted)", err.Error()}
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
	if c.MaxQueue < 0 {
		return &ConfigError{"FOREMAN_MAX_QUEUE", strconv.Itoa(c.MaxQueue), "must not be negative (0: no cap)"}
	}
	if c.MaxBody < 1024 {
		return &ConfigError{"FOREMAN_MAX_BODY", strconv.FormatInt(c.MaxBody, 10), "must be at least 1KiB"}
	}
	if c.JobTimeout < 0 {
		return &ConfigError{"FOREMAN_JOB_TIMEOUT", c.JobTimeout.String(), "must not be negative (0: no bound)"}
	}
	if c.MaxJobTimeout < 0 {
		return &ConfigError{"FOREMAN_MAX_JOB_TIMEOUT", c.MaxJobTimeout.String(), "must not be negative (0: no maximum)"}
	}
	if c.MaxJobTimeout > 0 && c.JobTimeout > c.MaxJobTimeout {
		return &ConfigError{"FOREMAN_JOB_TIMEOUT", c.JobTimeout.String(), "must not exceed FOREMAN_MAX_JOB_TIMEOUT=" + c.MaxJobTimeout.String()}
	}
	if c.DefaultNumPredict < 0 {
		return &ConfigError{"FOREMAN_DEFAULT_NUM_PREDICT", strconv.Itoa(c.DefaultNumPredict), "must not be negative (0: no default cap)"}
	}
	if c.MaxSkips < 1 {
		return &ConfigError{"FOREMAN_MAX_SKIPS", strconv.Itoa(c.MaxSkips), "must be at least 1"}
	}
	if c.MaxWait <= 0 {
		return &ConfigError{"FOREMAN_MAX_WAIT", c.MaxWait.String(), "must be positive"}
	}
	if c.JobTTL < 0 {
		return &ConfigError{"FOREMAN_JOB_TTL", c.JobTTL.String(), "must not be negative (0: keep jobs forever)"}
	}
	if c.WebhookTimeout <= 0 {
		return &ConfigError{"FOREMAN_WEBHOOK_TIMEOUT", c.WebhookTimeout.String(), "must be positive"}
	}
	if c.MaxConns < 0 {
		return &ConfigError{"FOREMAN_MAX_CONNS", strconv.Itoa(c.MaxConns), "must not be negative (0: no cap)"}
	}
	if c.MaxConnsPerIP < 0 || (c.MaxConns > 0 && c.MaxConnsPerIP > c.MaxConns) {
		return &ConfigError{"FOREMAN_MAX_CONNS_PER_ADDR", strconv.Itoa(c.MaxConnsPerIP), "must be between 0 (no cap) and FOREMAN_MAX_CONNS"}
	}
	if c.BodyTimeout <= 0 {
		return &ConfigError{"FOREMAN_BODY_TIMEOUT", c.BodyTimeout.String(), "must be positive"}
	}
	if c.WriteTimeout <= 0 {
		return &ConfigError{"FOREMAN_WRITE_TIMEOUT", c.WriteTimeout.String(), "must be positive"}
	}
	if c.BackupDir != "" && within(c.BackupDir, c.DataDir) {
		return &ConfigError{"FOREMAN_BACKUP_DIR", c.BackupDir, "must not be FOREMAN_DATA_DIR or inside it"}
	}
	if err := c.Batch.Validate(); err != nil {
		return err
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &ConfigError{"FOREMAN_PUBLIC_URL", c.PublicURL, "want an absolute http(s) URL"}
		}
	}
	return c.Ship.validate()
}

// parseSize reads a byte count: 1048576, 512KiB, 32MiB, 1GiB (KB/MB/GB
// are taken as the binary units too).
func parseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return n * mult, nil
}

// defaultBackupDir is where POST /admin/backup and `foreman backup NAME`
// write when FOREMAN_BACKUP_DIR is not set: beside the data dir.
func defaultBackupDir(dataDir string) string {
	return filepath.Clean(dataDir) + "-backups"
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

package main

import (
	"strconv"
	"time"

	apibatch "github.com/foreman-dev/foreman/api/batch"
	"github.com/foreman-dev/foreman/worker/batch"
)

// BatchConfig holds the Batch API's settings (docs/configuration.md).
type BatchConfig struct {
	Priority     int           // FOREMAN_BATCH_PRIORITY: the lines' job priority
	MaxLines     int           // FOREMAN_BATCH_MAX_LINES
	MaxFileBytes int64         // FOREMAN_BATCH_MAX_FILE_BYTES
	FileTTL      time.Duration // FOREMAN_BATCH_FILE_TTL: ended batches and their files
}

func defaultBatchConfig() BatchConfig {
	return BatchConfig{Priority: apibatch.DefaultPriority, MaxLines: batch.DefaultMaxLines,
		MaxFileBytes: apibatch.DefaultMaxFileBytes, FileTTL: apibatch.DefaultFileTTL}
}

// loadBatchConfig reads the FOREMAN_BATCH_* variables into c.
func loadBatchConfig(getenv func(string) string, c *BatchConfig) error {
	for _, d := range []struct {
		name string
		dst  *int
	}{{"FOREMAN_BATCH_PRIORITY", &c.Priority}, {"FOREMAN_BATCH_MAX_LINES", &c.MaxLines}} {
		if v := getenv(d.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return &ConfigError{d.name, v, "not an integer"}
			}
			*d.dst = n
		}
	}
	if v := getenv("FOREMAN_BATCH_MAX_FILE_BYTES"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return &ConfigError{"FOREMAN_BATCH_MAX_FILE_BYTES", v, "not a size (e.g. 200MiB)"}
		}
		c.MaxFileBytes = n
	}
	if v := getenv("FOREMAN_BATCH_FILE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return &ConfigError{"FOREMAN_BATCH_FILE_TTL", v, "not a duration (e.g. 720h)"}
		}
		c.FileTTL = d
	}
	return nil
}

// Validate names the first bad Batch API setting.
func (c BatchConfig) Validate() error {
	switch {
	case c.MaxLines < 1:
		return &ConfigError{"FOREMAN_BATCH_MAX_LINES", strconv.Itoa(c.MaxLines), "must be at least 1"}
	case c.MaxFileBytes < 1:
		return &ConfigError{"FOREMAN_BATCH_MAX_FILE_BYTES", strconv.FormatInt(c.MaxFileBytes, 10), "must be positive"}
	case c.FileTTL < 0:
		return &ConfigError{"FOREMAN_BATCH_FILE_TTL", c.FileTTL.String(), "must not be negative (0: keep forever)"}
	}
	return nil
}

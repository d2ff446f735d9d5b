package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
)

// BackupCommand writes a consistent copy of the store. With the daemon
// stopped it copies the data dir directly; while the daemon runs (the data
// dir is locked) it asks the daemon, at FOREMAN_URL, to take a Pebble
// checkpoint, which the inspector can then read.
type BackupCommand struct{ m *Main }

// Run parses flags and writes the backup.
func (c *BackupCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("foreman backup", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	dataDir := fs.String("data-dir", envOr(c.m.Getenv, "FOREMAN_DATA_DIR", DefaultConfig().DataDir), "data dir of a stopped daemon")
	url := fs.String("url", envOr(c.m.Getenv, "FOREMAN_URL", "http://127.0.0.1:8080"), "address of a running daemon")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: foreman backup [--data-dir DIR] [--url URL] DEST\n\nDEST must not exist.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &usageError{"backup takes one destination directory"}
	}
	dest, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return err
	}
	l, err := eventlog.Open(eventlog.Config{Dir: *dataDir, ReadOnly: true})
	switch {
	case err == nil:
		defer l.Close()
		if err := l.Backup(ctx, dest); err != nil {
			return err
		}
	case errors.Is(err, eventlog.ErrLocked):
		if err := c.remote(ctx, *url, dest); err != nil {
			return fmt.Errorf("%s is in use and the daemon at %s could not back it up: %w", *dataDir, *url, err)
		}
	default:
		return err
	}
	fmt.Fprintf(c.m.Stdout, "backup written to %s\n", dest)
	return nil
}

func (c *BackupCommand) remote(ctx context.Context, base, dest string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"dir": dest})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/admin/backup", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok := c.m.Getenv("FOREMAN_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("daemon answered %s: %s", resp.Status, e.Error)
	}
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/api"
	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/eventlog"
)

// BackupCommand writes a consistent copy of the store. With the daemon
// stopped it copies the data dir directly; while the daemon runs (the data
// dir is locked) it asks the daemon, at FOREMAN_URL, to take a Pebble
// checkpoint, which the inspector can then read.
type BackupCommand struct{ m *Main }

// Run parses flags and writes the backup.
func (c *BackupCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("backup", "backup [--data-dir DIR] [--url URL] [--token TOKEN] DEST\n\n"+
		"Writes a consistent copy of the store to DEST, which must not exist: directly when the daemon is\n"+
		"stopped, else through the running daemon at --url (which writes DEST on its own machine, and only\n"+
		"directly inside its FOREMAN_BACKUP_DIR). A DEST without a slash is a name in FOREMAN_BACKUP_DIR.")
	dataDir := r.fs.String("data-dir", envOr(c.m.Getenv, "FOREMAN_DATA_DIR", DefaultConfig().DataDir), "data dir of a stopped daemon")
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	req := api.BackupRequest{Name: pos[0]}
	dest := filepath.Join(envOr(c.m.Getenv, "FOREMAN_BACKUP_DIR", defaultBackupDir(*dataDir)), pos[0])
	if strings.ContainsRune(pos[0], filepath.Separator) || pos[0] == "." || pos[0] == ".." {
		if dest, err = filepath.Abs(pos[0]); err != nil {
			return err
		}
		req = api.BackupRequest{Dir: dest}
	}
	l, err := eventlog.Open(eventlog.Config{Dir: *dataDir, ReadOnly: true})
	switch {
	case err == nil:
		defer l.Close()
		if err := l.Backup(ctx, dest); err != nil {
			return err
		}
	case errors.Is(err, eventlog.ErrLocked):
		if dest, err = c.remote(ctx, r, req); err != nil {
			return fmt.Errorf("%s is in use and the daemon could not back it up: %w", *dataDir, r.explain(err))
		}
	default:
		return err
	}
	if r.json {
		return r.printJSON(map[string]string{"dir": dest})
	}
	fmt.Fprintf(c.m.Stdout, "backup written to %s\n", dest)
	return nil
}

// remote asks the daemon for the backup (POST /admin/backup). Its errors
// are the client's, so the CLI's advice (token, address) applies.
func (c *BackupCommand) remote(ctx context.Context, r *remote, breq api.BackupRequest) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	body, _ := json.Marshal(breq)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(r.url, "/")+"/admin/backup", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", &client.UnreachableError{URL: r.url, Err: err}
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
		return "", &client.APIError{Status: resp.StatusCode, Message: e.Error}
	}
	var done struct {
		Dir string `json:"dir"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&done); err != nil || done.Dir == "" {
		return "", fmt.Errorf("the daemon's answer names no backup directory: %v", err)
	}
	return done.Dir, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

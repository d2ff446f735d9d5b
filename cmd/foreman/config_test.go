package main

import (
	"errors"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./foreman-data" || c.Listen != "127.0.0.1:8080" || c.OllamaURL != "http://127.0.0.1:11434" ||
		c.PollInterval != 30*time.Second || c.MaxAttempts != 3 || len(c.Tokens) != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"FOREMAN_LISTEN":             "nope",
		"FOREMAN_OLLAMA_URL":         "ftp://x",
		"FOREMAN_POLL_INTERVAL":      "often",
		"FOREMAN_MAX_ATTEMPTS":       "0",
		"FOREMAN_LOG_LEVEL":          "loud",
		"FOREMAN_TOKENS":             "novalue",
		"FOREMAN_SHUTDOWN_GRACE":     "-1s",
		"FOREMAN_MAX_QUEUE":          "-1",
		"FOREMAN_MAX_BODY":           "lots",
		"FOREMAN_JOB_TIMEOUT":        "-5s",
		"FOREMAN_MAX_SKIPS":          "0",
		"FOREMAN_MAX_WAIT":           "0s",
		"FOREMAN_PUBLIC_URL":         "example.com",
		"FOREMAN_WEBHOOK_BACKOFF":    "1s,soon",
		"FOREMAN_MAX_CONNS":          "-1",
		"FOREMAN_MAX_CONNS_PER_ADDR": "5000",
		"FOREMAN_BODY_TIMEOUT":       "0s",
		"FOREMAN_WRITE_TIMEOUT":      "soon",
		"FOREMAN_BACKUP_DIR":         "./foreman-data/backups",
		"FOREMAN_WEBHOOK_TIMEOUT":    "0s",
		"FOREMAN_WEBHOOK_ALLOW":      "hooks.example, 10.0.0.0/99",
	} {
		_, err := LoadConfig(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%s=%s: %v", name, value, err)
		}
		if exitCode(err) != ExitUsage {
			t.Errorf("%s: exit code %d", name, exitCode(err))
		}
	}
}

func TestConfigTokens(t *testing.T) {
	env := map[string]string{"FOREMAN_TOKEN": "t0", "FOREMAN_TOKENS": "ci=t1, ops=t2"}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens["default"] != "t0" || c.Tokens["ci"] != "t1" || c.Tokens["ops"] != "t2" {
		t.Fatalf("tokens %v", c.Tokens)
	}
}

func TestConfigServeSettings(t *testing.T) {
	env := map[string]string{
		"FOREMAN_MAX_BODY": "2MiB", "FOREMAN_MAX_QUEUE": "0", "FOREMAN_JOB_TIMEOUT": "90s",
		"FOREMAN_WEBHOOK_ALLOW": "Hooks.example.com, ci.local", "FOREMAN_PUBLIC_URL": "https://foreman.example.com",
		"FOREMAN_EMBED_MODEL": "nomic-embed-text", "FOREMAN_MAX_SKIPS": "3", "FOREMAN_MAX_WAIT": "1m",
		"FOREMAN_WEBHOOK_BACKOFF": "500ms, 30s", "FOREMAN_WEBHOOK_TIMEOUT": "3s",
		"FOREMAN_MAX_CONNS": "100", "FOREMAN_MAX_CONNS_PER_ADDR": "10", "FOREMAN_BODY_TIMEOUT": "5s", "FOREMAN_WRITE_TIMEOUT": "7s",
		"FOREMAN_BACKUP_DIR": "/srv/foreman-backups",
	}
	c, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxBody != 2<<20 || c.MaxQueue != 0 || c.JobTimeout != 90*time.Second || c.MaxSkips != 3 || c.MaxWait != time.Minute ||
		!c.WebhookAllow["hooks.example.com"] || !c.WebhookAllow["ci.local"] || c.EmbedModel != "nomic-embed-text" ||
		len(c.WebhookBackoff) != 2 || c.WebhookBackoff[1] != 30*time.Second || c.WebhookTimeout != 3*time.Second ||
		c.MaxConns != 100 || c.MaxConnsPerIP != 10 || c.BodyTimeout != 5*time.Second || c.WriteTimeout != 7*time.Second ||
		c.BackupDir != "/srv/foreman-backups" {
		t.Fatalf("settings: %+v", c)
	}
	for in, want := range map[string]int64{"1048576": 1 << 20, "512KiB": 512 << 10, "1 GiB": 1 << 30, "3M": 3 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

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
		"FOREMAN_LISTEN":         "nope",
		"FOREMAN_OLLAMA_URL":     "ftp://x",
		"FOREMAN_POLL_INTERVAL":  "often",
		"FOREMAN_MAX_ATTEMPTS":   "0",
		"FOREMAN_LOG_LEVEL":      "loud",
		"FOREMAN_TOKENS":         "novalue",
		"FOREMAN_SHUTDOWN_GRACE": "-1s",
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

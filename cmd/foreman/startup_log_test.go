package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeLogsWhatItUnderstoodAndWarns(t *testing.T) {
	env := map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": "127.0.0.1:1", "FOREMAN_MAXQUEUE": "5"}
	env["FOREMAN_LISTEN"] = "0.0.0.0:0"
	m, out := testMain(env)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- (&ServeCommand{m: m, ready: ready}).Run(ctx, nil) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("serve: %v\n%s", err, out)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	log := out.String()
	for _, want := range []string{
		`level=WARN msg="unknown setting ignored; did you mean FOREMAN_MAX_QUEUE?" var=FOREMAN_MAXQUEUE`,
		`msg="ollama target" url=http://127.0.0.1:1 FOREMAN_OLLAMA_URL=127.0.0.1:1`,
		`level=WARN msg="listening beyond loopback with no token`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}

func TestServeNoListenWarningOnLoopbackOrWithToken(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		if !loopbackOnly(listen) {
			t.Errorf("loopbackOnly(%q) = false", listen)
		}
	}
	for _, listen := range []string{":8080", "0.0.0.0:8080", "[::]:8080", "192.168.1.5:8080", "gpu-box:8080"} {
		if loopbackOnly(listen) {
			t.Errorf("loopbackOnly(%q) = true", listen)
		}
	}
}

// Every bad setting stops serve with exit 2 before the store is opened: the
// data dir is not even created.
func TestServeRefusesBadSettingsBeforeOpeningTheStore(t *testing.T) {
	for name, value := range map[string]string{
		"FOREMAN_WEBHOOK_SECRET": "whsec_not base64!",
		"FOREMAN_OLLAMA_URL":     "gpu-box:port",
		"FOREMAN_MAX_BODY":       "lots",
		"FOREMAN_LISTEN":         "nope",
	} {
		dir := filepath.Join(t.TempDir(), "store")
		m, out := testMain(map[string]string{"FOREMAN_DATA_DIR": dir, name: value})
		err := (&ServeCommand{m: m}).Run(t.Context(), nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != name || exitCode(err) != ExitUsage {
			t.Errorf("%s=%s: err %v (exit %d), want a ConfigError naming it, exit 2\n%s", name, value, err, exitCode(err), out)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s=%s: the data dir was created (%v)", name, value, err)
		}
		if strings.Contains(out.String()+err.Error(), "not base64!") {
			t.Errorf("%s: the secret's value was printed", name)
		}
	}
}

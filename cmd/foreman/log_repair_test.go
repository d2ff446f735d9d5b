package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/foreman-dev/foreman/eventlog"
)

// flipNewestWAL flips 64 bytes in the middle of the newest Pebble WAL of a
// closed data dir: Pebble then drops the rest of that WAL as a torn tail.
func flipNewestWAL(t *testing.T, dir string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(names) == 0 {
		t.Fatalf("no WAL in %s", dir)
	}
	slices.Sort(names)
	b, err := os.ReadFile(names[len(names)-1])
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(names[len(names)-1], b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedWALIsRefusedReportedAndRepaired: acknowledged events lost from
// a damaged WAL make serve refuse (exit 3, naming the range) and verify
// fail (exit 3); repair without --accept-loss changes nothing; with it the
// range becomes log.lost events and the log verifies again.
func TestDamagedWALIsRefusedReportedAndRepaired(t *testing.T) {
	f := newLogFixture(t)
	flipNewestWAL(t, f.dir)

	out, _, err := runLog(t, f.dir, "verify")
	var le *eventlog.LossError
	if !errors.As(err, &le) || le.To != f.last || exitCode(err) != ExitCorrupt {
		t.Fatalf("verify after WAL damage: %v (exit %d), want a loss ending at %d, exit 3", err, exitCode(err), f.last)
	}
	if !strings.Contains(out, "ack record:  FAILED") {
		t.Fatalf("verify output:\n%s", out)
	}
	jout, _, _ := runLog(t, f.dir, "verify", "--json")
	var rep verifyReport
	if err := json.Unmarshal([]byte(jout), &rep); err != nil || rep.OK || rep.LostFrom != le.From || rep.LostTo != le.To {
		t.Fatalf("verify --json: %+v %v", rep, err)
	}

	m, _ := testMain(map[string]string{"FOREMAN_DATA_DIR": f.dir, "FOREMAN_LISTEN": "127.0.0.1:0"})
	err = m.Run(context.Background(), []string{"serve"})
	if exitCode(err) != ExitCorrupt || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), "log repair --accept-loss") {
		t.Fatalf("serve on a damaged WAL: %v (exit %d)", err, exitCode(err))
	}

	if _, _, err := runLog(t, f.dir, "repair"); exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("repair without --accept-loss: %v", err)
	}
	if out := mustRunLog(t, f.dir, "repair", "--accept-loss"); !strings.Contains(out, "as lost") {
		t.Fatalf("repair output:\n%s", out)
	}
	if out := mustRunLog(t, f.dir, "verify"); !strings.HasSuffix(out, "ok\n") {
		t.Fatalf("verify after repair:\n%s", out)
	}
	if out := mustRunLog(t, f.dir, "dump", "--type", "log.lost"); strings.Count(out, "log.lost") != int(le.To-le.From+1) {
		t.Fatalf("dump of the lost range:\n%s", out)
	}
	if out := mustRunLog(t, f.dir, "repair", "--accept-loss"); !strings.Contains(out, "nothing to repair") {
		t.Fatalf("second repair:\n%s", out)
	}
}

// A damaged sstable makes log verify and serve fail with the typed
// corruption error and a clear message, never a panic trace.
func TestCorruptSSTableIsAClearError(t *testing.T) {
	f := newLogFixture(t)
	db := openPebble(t, f.dir)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	names, _ := filepath.Glob(filepath.Join(f.dir, "*.sst"))
	if len(names) == 0 {
		t.Fatal("no sstable after a flush")
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(b)-200; i += 512 { // every block, not the footer
			b[i] ^= 0xff
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := runLog(t, f.dir, "verify")
	if !errors.Is(err, eventlog.ErrCorrupt) || exitCode(err) != ExitCorrupt || !strings.Contains(err.Error(), "damaged on disk") {
		t.Fatalf("verify of a damaged sstable: %v (exit %d)", err, exitCode(err))
	}
	m, _ := testMain(map[string]string{"FOREMAN_DATA_DIR": f.dir, "FOREMAN_LISTEN": "127.0.0.1:0"})
	err = m.Run(context.Background(), []string{"serve"})
	if !errors.Is(err, eventlog.ErrCorrupt) || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("serve on a damaged sstable: %v", err)
	}
}

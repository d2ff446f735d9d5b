package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

func TestLogVerifyGoodLog(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	out := mustRunLog(t, f.dir, "verify")
	for _, want := range []string{"15 checked, offsets 1..15", "checkpoint at offset 15", "state keys match a rebuild", "ok\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify lacks %q:\n%s", want, out)
		}
	}
	var rep verifyReport
	if err := json.Unmarshal([]byte(mustRunLog(t, f.dir, "verify", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	// At least the checkpoint and the views of A, B and C.
	if !rep.OK || rep.Events != f.last || rep.FirstOffset != 1 || rep.LastOffset != f.last ||
		rep.Checkpoint != f.last || rep.StateKeys < 4 || rep.Error != "" {
		t.Fatalf("verify --json: %+v", rep)
	}
}

func TestLogVerifyWithoutCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openLogForTest(t, dir)
	if _, err := l.Append(t.Context(), eventlog.Record{Job: [16]byte{1}, Type: eventlog.JobSubmitted, Payload: &eventlog.Submitted{Model: "m"}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if out := mustRunLog(t, dir, "verify"); !strings.Contains(out, "no checkpoint stored") {
		t.Fatalf("verify without projections:\n%s", out)
	}
}

func TestLogVerifyNamesTheCorruptOffset(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	db := openPebble(t, f.dir)
	v, closer, err := db.Get(eventKeyOf(3))
	if err != nil {
		t.Fatal(err)
	}
	truncated := append([]byte(nil), v[:len(v)/2]...)
	closer.Close()
	if err := db.Set(eventKeyOf(3), truncated, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()

	out, _, err := runLog(t, f.dir, "verify")
	var ce *eventlog.CorruptError
	if !errors.As(err, &ce) || ce.Offset != 3 || exitCode(err) != ExitCorrupt || !strings.Contains(err.Error(), "offset 3") {
		t.Fatalf("verify of a corrupt log: %v (exit %d)", err, exitCode(err))
	}
	if !strings.Contains(out, "2 good, offsets 1..2") || !strings.Contains(out, "FAILED at offset 3") {
		t.Fatalf("verify output:\n%s", out)
	}
	out, _, err = runLog(t, f.dir, "verify", "--json")
	var rep verifyReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatal(jerr)
	}
	if exitCode(err) != ExitCorrupt || rep.OK || rep.BadOffset != 3 || !strings.Contains(rep.Error, "offset 3") {
		t.Fatalf("verify --json: %+v (%v)", rep, err)
	}
}

func TestLogVerifyCatchesAnUndecodablePayload(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	l := openLogForTest(t, f.dir)
	orig, err := l.Get(4)
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	bad := orig
	bad.Payload = []byte{0x93, 1, 2, 3} // an array where a map belongs
	overwrite(t, f.dir, eventKeyOf(4), encodeTestEvent(t, bad))
	_, _, err = runLog(t, f.dir, "verify")
	var ce *eventlog.CorruptError
	if !errors.As(err, &ce) || ce.Offset != 4 || exitCode(err) != ExitCorrupt {
		t.Fatalf("verify: %v", err)
	}
}

func TestLogVerifyCatchesTimeGoingBackwards(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	l := openLogForTest(t, f.dir)
	orig, err := l.Get(5)
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	orig.Time = orig.Time.Add(-time.Hour)
	overwrite(t, f.dir, eventKeyOf(5), encodeTestEvent(t, orig))
	_, _, err = runLog(t, f.dir, "verify")
	var ce *eventlog.CorruptError
	if !errors.As(err, &ce) || ce.Offset != 5 || !strings.Contains(err.Error(), "before the previous") {
		t.Fatalf("verify: %v", err)
	}
}

func TestLogVerifyNamesTheTamperedStateKey(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t)
	key := append([]byte("p/j/"), f.b[:]...)
	overwrite(t, f.dir, key, []byte{0x80}) // an empty map: not what a rebuild writes
	out, _, err := runLog(t, f.dir, "verify")
	var me *projections.MismatchError
	if !errors.As(err, &me) || exitCode(err) != ExitCorrupt || !strings.Contains(err.Error(), "j/"+f.b.String()) {
		t.Fatalf("verify of tampered state: %v (exit %d)", err, exitCode(err))
	}
	if !strings.Contains(out, "15 checked") || !strings.Contains(out, "FAILED at state key j/"+f.b.String()) {
		t.Fatalf("verify output:\n%s", out)
	}
	out, _, _ = runLog(t, f.dir, "verify", "--json")
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.BadKey != "j/"+f.b.String() {
		t.Fatalf("verify --json: %+v", rep)
	}
}

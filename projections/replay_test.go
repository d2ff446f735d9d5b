package projections

import (
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func TestReplayGivesTheStateAfterEachEvent(t *testing.T) {
	b := setup(t)
	id := ulid.Make()
	b.append(t, submitted(id, "m"), rec(id, eventlog.JobStarted, &eventlog.Started{Attempt: 1}),
		rec(id, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 1, Result: "result.json"}))
	hist, err := b.log.JobEvents(id)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []State{Queued, Working, Done} {
		j, err := Replay(hist, hist[i].Offset)
		if err != nil || j.State != want {
			t.Fatalf("after event %d: %v %v, want %s", i, j, err, want)
		}
	}
	if j, _ := Replay(nil, 0); j != nil {
		t.Fatal("empty history gave a job")
	}
}

package projections

import (
	"context"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// TestRunsSurviveARestartAndMatchARebuild: the last RunsKept done runs are
// kept as jobs finish, in small bursts and in one, read back at start
// without looking through the jobs, and the same as a rebuild learns.
func TestRunsSurviveARestartAndMatchARebuild(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var want []string
	for i := range RunsKept + 80 {
		id := ulid.Make()
		model := []string{"a", "b", "c"}[i%3]
		recs := []eventlog.Record{submitted(id, model), rec(id, eventlog.JobStarted, &eventlog.Started{Attempt: 1})}
		if i%7 == 0 { // some fail: not runs
			recs = append(recs, rec(id, eventlog.JobFailed, &eventlog.Failure{Attempt: 1, Error: "x"}))
		} else {
			recs = append(recs, rec(id, eventlog.JobSucceeded, &eventlog.Succeeded{Attempt: 1}))
			want = append(want, model)
		}
		if i%5 == 0 {
			b.append(t, recs...) // a flush now and then; the rest in larger bursts
		} else if _, err := b.log.Append(context.Background(), recs...); err != nil {
			t.Fatal(err)
		}
	}
	b.append(t, submitted(ulid.Make(), "a")) // then a deep queue hides the done jobs from a listing
	want = want[len(want)-RunsKept:]
	models := func(rs []Run) []string {
		var out []string
		for i, r := range rs {
			if r.StartedAt == 0 || r.FinishedAt < r.StartedAt || (i > 0 && r.Offset <= rs[i-1].Offset) {
				t.Fatalf("run %d: %+v", i, r)
			}
			out = append(out, r.Model)
		}
		return out
	}
	if got := models(b.p.Runs()); !slices.Equal(got, want) {
		t.Fatalf("live runs %v, want %v", got, want)
	}
	before := b.p.Runs()
	b.reopen(t)
	if got := b.p.Runs(); !slices.Equal(got, before) {
		t.Fatalf("after a restart:\n%v\nwant\n%v", got, before)
	}
	s, err := eventlog.Open(eventlog.Config{Dir: "scratch", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rebuilt, err := Open(context.Background(), b.log, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := rebuilt.Runs(); !slices.Equal(got, before) {
		t.Fatalf("a rebuild learns other runs:\n%v\nwant\n%v", got, before)
	}
}

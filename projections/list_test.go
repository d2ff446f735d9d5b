package projections

import (
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func TestListNewestFirstWithFiltersAndPages(t *testing.T) {
	b := setup(t)
	var ids []ulid.ULID
	for i := range 7 {
		id := ulid.Make()
		ids = append(ids, id)
		model := "a"
		if i%2 == 1 {
			model = "b"
		}
		b.append(t, submitted(id, model))
	}
	b.append(t, rec(ids[0], eventlog.JobCancelled, &eventlog.Cancellation{}))
	var got []ulid.ULID
	var before ulid.ULID
	for page := 0; ; page++ {
		jobs, next, err := b.p.List(Filter{Limit: 3, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		if next == (ulid.ULID{}) {
			break
		}
		before = next
	}
	if len(got) != 7 || got[0] != ids[6] || got[6] != ids[0] {
		t.Fatalf("pages gave %d jobs, first %s", len(got), got[0])
	}
	jobs, _, _ := b.p.List(Filter{Model: "b"})
	if len(jobs) != 3 {
		t.Fatalf("model filter: %d", len(jobs))
	}
	jobs, _, _ = b.p.List(Filter{State: Cancelled})
	if len(jobs) != 1 || jobs[0].ID != ids[0] {
		t.Fatalf("state filter: %+v", jobs)
	}
}

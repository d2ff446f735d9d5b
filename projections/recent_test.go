package projections

import (
	"testing"

	"github.com/oklog/ulid/v2"
)

func TestRecentViewsIsABoundedTwoGenerationCache(t *testing.T) {
	var r recentViews
	first := ulid.Make()
	r.put(first, &Job{ID: first, State: Done})
	if j, ok := r.get(first); !ok || j.ID != first {
		t.Fatal("a finished view is not kept")
	}
	active := ulid.Make()
	r.put(active, &Job{ID: active, State: Queued})
	if _, ok := r.get(active); ok {
		t.Fatal("an active view is kept (it lives in Projections.active)")
	}
	for range 2 * recentGeneration {
		id := ulid.Make()
		r.put(id, &Job{ID: id, State: Failed})
	}
	if _, ok := r.get(first); ok {
		t.Fatal("the oldest view survived two full generations")
	}
	if n := len(r.young) + len(r.old); n > 2*recentGeneration {
		t.Fatalf("%d views kept", n)
	}
	last := ulid.Make()
	r.put(last, &Job{ID: last, State: Done})
	r.put(last, nil) // expired
	if _, ok := r.get(last); ok {
		t.Fatal("a deleted view is still served")
	}
}

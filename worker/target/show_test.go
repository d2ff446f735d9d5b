package target_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/types/model"

	"github.com/foreman-dev/foreman/worker/target"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

func TestInventoryRelaysTheTargetsBytes(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t, ollamatest.WithExtraFields(map[string]any{"x_future": 1}))
	inv := newInventory(t, s)
	// No poll yet: the first ask polls.
	tags, err := inv.TagsJSON(t.Context())
	if err != nil || strings.Count(string(tags), `"x_future":1`) != 5 {
		t.Fatalf("tags %s, %v", tags, err)
	}
	ps, err := inv.PsJSON(t.Context())
	if err != nil || string(ps) != `{"models":[],"x_future":1}` {
		t.Fatalf("ps %s, %v", ps, err)
	}
	// Down: the last answers still.
	s.SetDown(true)
	if err := inv.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh succeeded while down")
	}
	if again, err := inv.TagsJSON(t.Context()); err != nil || string(again) != string(tags) {
		t.Fatalf("tags while down: %s, %v", again, err)
	}
}

func TestInventoryWithNoAnswerYetSaysSo(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	s.SetDown(true)
	inv := newInventory(t, s)
	for _, get := range []func() ([]byte, error){
		func() ([]byte, error) { return inv.TagsJSON(t.Context()) },
		func() ([]byte, error) { return inv.PsJSON(t.Context()) },
	} {
		b, err := get()
		if b != nil || !errors.Is(err, target.ErrNoInventory) || !errors.Is(err, target.ErrUnreachable) {
			t.Fatalf("%s, %v: want ErrNoInventory and the poll's error", b, err)
		}
	}
	s.SetDown(false) // the next ask polls again
	if _, err := inv.TagsJSON(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestInventoryShowIsCachedPerDigest(t *testing.T) {
	t.Parallel()
	s := ollamatest.New(t)
	inv := newInventory(t, s)
	ctx := t.Context()
	if err := inv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sh, err := inv.Show(ctx, "tiny-embed")
		if err != nil || !slices.Equal(sh.Capabilities, []model.Capability{model.CapabilityEmbedding}) {
			t.Fatalf("Show = %+v, %v", sh.Capabilities, err)
		}
	}
	if n := s.Requests("/api/show"); n != 1 {
		t.Fatalf("%d /api/show calls for one model, want 1", n)
	}
	// The model changes on the target (a new digest): asked again.
	s.AddModel(ollamatest.Model{Name: "tiny-embed", Digest: strings.Repeat("1", 64),
		Capabilities: []model.Capability{model.CapabilityCompletion, model.CapabilityTools}})
	if err := inv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := inv.Show(ctx, "tiny-embed:latest")
	if err != nil || !slices.Contains(sh.Capabilities, model.CapabilityTools) || s.Requests("/api/show") != 2 {
		t.Fatalf("after the model changed: %v, %v, %d calls", sh.Capabilities, err, s.Requests("/api/show"))
	}
	// Down: the cached answer still serves.
	s.SetDown(true)
	if sh, err := inv.Show(ctx, "tiny-embed"); err != nil || !slices.Contains(sh.Capabilities, model.CapabilityTools) {
		t.Fatalf("while down: %v, %v", sh.Capabilities, err)
	}
	if _, err := inv.Show(ctx, "tiny-a"); !errors.Is(err, target.ErrUnreachable) {
		t.Fatalf("never shown, down: %v", err)
	}
}

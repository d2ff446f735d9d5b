package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	ollama "github.com/ollama/ollama/api"
	ollamamodel "github.com/ollama/ollama/types/model"
)

// fakeInventory knows a fixed set of models, all of them completion
// models unless shows says otherwise.
type fakeInventory struct {
	models map[string]bool
	// shows overrides Show per model (short name); a missing model is a
	// completion model.
	shows map[string]ollama.ShowResponse
	// tags and ps, when set, are the raw answers; down makes them fail
	// when unset.
	tags, ps []byte
	down     bool
}

func (f *fakeInventory) list() []ollama.ListModelResponse {
	var out []ollama.ListModelResponse
	for m := range f.models {
		out = append(out, ollama.ListModelResponse{Name: m + ":latest", Model: m + ":latest"})
	}
	return out
}

func (f *fakeInventory) TagsJSON(context.Context) ([]byte, error) {
	if f.tags != nil || f.down {
		return f.tags, f.downErr(f.tags)
	}
	return json.Marshal(ollama.ListResponse{Models: f.list()})
}

func (f *fakeInventory) PsJSON(context.Context) ([]byte, error) {
	if f.ps != nil || f.down {
		return f.ps, f.downErr(f.ps)
	}
	return []byte(`{"models":[]}`), nil
}

func (f *fakeInventory) downErr(b []byte) error {
	if b == nil {
		return errors.New("no model list from the ollama target yet: connection refused")
	}
	return nil
}

func (f *fakeInventory) Running() []ollama.ProcessModelResponse { return nil }
func (f *fakeInventory) Has(m string) bool                      { return f.models[strings.TrimSuffix(m, ":latest")] }
func (f *fakeInventory) HasOrRefresh(_ context.Context, m string) (bool, error) {
	return f.models[strings.TrimSuffix(m, ":latest")], nil
}

func (f *fakeInventory) Show(_ context.Context, m string) (ollama.ShowResponse, error) {
	if f.down {
		return ollama.ShowResponse{}, errors.New("connection refused")
	}
	if s, ok := f.shows[strings.TrimSuffix(m, ":latest")]; ok {
		return s, nil
	}
	return ollama.ShowResponse{Capabilities: []ollamamodel.Capability{ollamamodel.CapabilityCompletion}}, nil
}

// The target's own bytes are relayed (fields foreman does not know
// included); with no answer yet, a 502, never an empty list.
func TestTagsAndPsRelayTheTargetsBytes(t *testing.T) {
	tags := []byte(`{"models":[{"name":"tiny-a:latest","model":"tiny-a:latest","x_new":{"a":1}}],"x_top":true}`)
	ps := []byte(`{"models":[{"name":"tiny-a:latest","x_vram_detail":[1,2]}]}`)
	inv := &fakeInventory{models: map[string]bool{"tiny-a": true}, tags: tags, ps: ps}
	b := setupJobs(t, func(c *Config) { c.Inventory = inv })
	for path, want := range map[string][]byte{"/api/tags": tags, "/api/ps": ps} {
		w := b.do(t, "GET", path, "")
		if w.Code != 200 || w.Body.String() != string(want) || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: %d %q %q, want the target's bytes", path, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
	}
	inv.tags, inv.ps, inv.down = nil, nil, true
	for _, path := range []string{"/api/tags", "/api/ps"} {
		w := b.do(t, "GET", path, "")
		if msg := errorOf(t, w); w.Code != http.StatusBadGateway || !strings.Contains(msg, "ollama target unreachable") || !strings.Contains(msg, "connection refused") {
			t.Errorf("%s with no inventory: %d %s", path, w.Code, w.Body.String())
		}
	}
}

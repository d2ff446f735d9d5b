package ollamatest

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/ollama/ollama/api"
)

func TestEmbedIsNormalisedAndDeterministic(t *testing.T) {
	t.Parallel()
	s := New(t)
	var r api.EmbedResponse
	if err := json.Unmarshal(post(t, s, "/api/embed", `{"model":"tiny-embed","input":["hello","world","hello"]}`), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Embeddings) != 3 || len(r.Embeddings[0]) != 64 {
		t.Fatalf("%d vectors", len(r.Embeddings))
	}
	var norm float64
	for _, f := range r.Embeddings[0] {
		norm += float64(f) * float64(f)
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Fatalf("|v|² = %v, want 1", norm)
	}
	if !slices.Equal(r.Embeddings[0], r.Embeddings[2]) || slices.Equal(r.Embeddings[0], r.Embeddings[1]) {
		t.Fatal("same text must give the same vector, different text another")
	}
	var legacy api.EmbeddingResponse
	if err := json.Unmarshal(post(t, s, "/api/embeddings", `{"model":"tiny-embed","prompt":"hello"}`), &legacy); err != nil {
		t.Fatal(err)
	}
	if len(legacy.Embedding) != 64 || math.Abs(legacy.Embedding[0]) <= math.Abs(float64(r.Embeddings[0][0])) {
		t.Fatalf("legacy vector should be the same direction, not normalised: %v vs %v", legacy.Embedding[0], r.Embeddings[0][0])
	}
}

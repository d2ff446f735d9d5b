package ollamatest

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

func chat(t *testing.T, s *Server, model, extra string) api.ChatResponse {
	t.Helper()
	var r api.ChatResponse
	b := post(t, s, "/api/chat", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"stream":false`+extra+`}`)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEverySwitchIsALoadWithMaxLoadedOne(t *testing.T) {
	t.Parallel()
	s := New(t)
	for _, m := range []string{"tiny-a", "tiny-a", "tiny-b", "tiny-a"} {
		chat(t, s, m, "")
	}
	if s.Loads() != 3 || s.LoadsOf("tiny-a") != 2 || s.LoadsOf("tiny-b:latest") != 1 {
		t.Fatalf("loads %d, tiny-a %d, tiny-b %d", s.Loads(), s.LoadsOf("tiny-a"), s.LoadsOf("tiny-b"))
	}
	if got := s.Loaded(); !slices.Equal(got, []string{"tiny-a:latest"}) {
		t.Fatalf("Loaded = %v", got)
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	s := New(t, WithMaxLoaded(2))
	chat(t, s, "tiny-a", "")
	chat(t, s, "tiny-b", "")
	chat(t, s, "tiny-a", "")
	chat(t, s, "tiny-big", "") // evicts tiny-b, used longest ago
	if got := s.Loaded(); !slices.Equal(got, []string{"tiny-big:latest", "tiny-a:latest"}) {
		t.Fatalf("Loaded = %v", got)
	}
	if s.Loads() != 3 {
		t.Fatalf("Loads = %d, want 3", s.Loads())
	}
}

func TestKeepAliveZeroUnloadsAfterTheRequest(t *testing.T) {
	t.Parallel()
	s := New(t)
	if r := chat(t, s, "tiny-a", `,"keep_alive":0`); r.DoneReason != "stop" || r.Message.Content == "" {
		t.Fatalf("answer %+v", r)
	}
	if len(s.Loaded()) != 0 || s.Loads() != 1 {
		t.Fatalf("Loaded %v, loads %d", s.Loaded(), s.Loads())
	}
}

func TestUnloadWithoutPromptDoesNotLoad(t *testing.T) {
	t.Parallel()
	s := New(t)
	post(t, s, "/api/generate", `{"model":"tiny-a"}`)
	post(t, s, "/api/generate", `{"model":"tiny-a","keep_alive":0}`)
	if len(s.Loaded()) != 0 || s.Loads() != 1 {
		t.Fatalf("Loaded %v, loads %d", s.Loaded(), s.Loads())
	}
}

func TestLoadDelayIsCountedAsLoadDuration(t *testing.T) {
	t.Parallel()
	const d = 30 * time.Millisecond
	s := New(t, WithLoadDelay(d))
	if r := chat(t, s, "tiny-a", ""); r.LoadDuration < d {
		t.Fatalf("cold load_duration %v, want at least %v", r.LoadDuration, d)
	}
	if r := chat(t, s, "tiny-a", ""); r.LoadDuration >= d {
		t.Fatalf("warm load_duration %v, want less than %v", r.LoadDuration, d)
	}
}

func TestPsListsLoadedWithExpiry(t *testing.T) {
	t.Parallel()
	s := New(t, WithMaxLoaded(2))
	chat(t, s, "tiny-a", "")
	chat(t, s, "tiny-b", `,"keep_alive":"10m"`)
	resp, err := http.Get(s.URL() + "/api/ps")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ps api.ProcessResponse
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil {
		t.Fatal(err)
	}
	if len(ps.Models) != 2 || ps.Models[0].Name != "tiny-b:latest" || ps.Models[1].Name != "tiny-a:latest" {
		t.Fatalf("ps %+v, want tiny-b (expires later) first", ps.Models)
	}
	if left := time.Until(ps.Models[0].ExpiresAt); left < 9*time.Minute || left > 10*time.Minute {
		t.Fatalf("tiny-b expires in %v, want about 10m", left)
	}
	if ps.Models[1].ContextLength != 2048 || ps.Models[1].Size != 1669632 {
		t.Fatalf("tiny-a %+v", ps.Models[1])
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/foreman-dev/foreman/client"
	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// routeBundle is three daemons, each over its own fake Ollama with its
// own models and token, and a router in front of them.
type routeBundle struct {
	fakes   []*ollamatest.Server
	daemons []string         // URLs
	direct  []*client.Client // one per daemon, with its token
	stop    []func() error   // the daemons'
	router  string           // URL
	env     map[string]string
}

const routeToken = "route-app-token"

// setupRoute: daemon 0 has tiny-a; 1 tiny-a and tiny-b; 2 tiny-b and
// tiny-embed.
func setupRoute(t *testing.T) *routeBundle {
	t.Helper()
	b := &routeBundle{}
	var tokens []string
	for i, names := range [][]string{{"tiny-a"}, {"tiny-a", "tiny-b"}, {"tiny-b", "tiny-embed"}} {
		var ms []ollamatest.Model
		for _, m := range ollamatest.DefaultModels() {
			if slices.Contains(names, m.Name) {
				ms = append(ms, m)
			}
		}
		o := ollamatest.New(t, ollamatest.WithModels(ms...), ollamatest.WithChunkDelay(time.Millisecond))
		tok := "daemon-token-" + string(rune('0'+i))
		addr, stop := startServe(t, map[string]string{"FOREMAN_DATA_DIR": t.TempDir(), "FOREMAN_OLLAMA_URL": o.URL(),
			"FOREMAN_TOKEN": tok, "FOREMAN_SHUTDOWN_GRACE": "0s"})
		u := "http://" + addr
		stopped := false
		b.stop = append(b.stop, func() error {
			if stopped {
				return nil
			}
			stopped = true
			return stop()
		})
		t.Cleanup(func() { b.stop[i]() })
		b.fakes, b.daemons = append(b.fakes, o), append(b.daemons, u)
		b.direct = append(b.direct, client.New(u, client.WithToken(tok), client.WithPolling()))
		tokens = append(tokens, u+"="+tok)
	}
	b.env = map[string]string{"FOREMAN_ROUTE_DAEMONS": strings.Join(b.daemons, ","),
		"FOREMAN_ROUTE_DAEMON_TOKENS": strings.Join(tokens, ","), "FOREMAN_ROUTE_TOKENS": "app=" + routeToken,
		"FOREMAN_ROUTE_LISTEN": "127.0.0.1:0", "FOREMAN_SHUTDOWN_GRACE": "0s"}
	b.router = startRoute(t, b.env)
	return b
}

// startRoute runs foreman route in process until the test ends.
func startRoute(t *testing.T, env map[string]string) string {
	t.Helper()
	m, out := testMain(env)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- (&RouteCommand{m: m, ready: ready}).Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("route: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case err := <-errc:
		t.Fatalf("route did not start: %v\n%s", err, out)
	}
	return ""
}

func (b *routeBundle) ollama(t *testing.T) *ollama.Client {
	u, _ := url.Parse(b.router)
	return ollama.NewClient(u, &http.Client{Transport: bearer{routeToken}})
}

// on is the index of the daemon that holds job id.
func (b *routeBundle) on(t *testing.T, id string) int {
	t.Helper()
	for i, c := range b.direct {
		if _, err := c.Get(t.Context(), id); err == nil {
			return i
		}
	}
	t.Fatalf("job %s is on no daemon", id)
	return -1
}

// TestRouteUnderTheOllamaClient: the official client sees one Ollama with
// every daemon's models; chat streams chunk by chunk through the router;
// a model no daemon has is Ollama's 404.
func TestRouteUnderTheOllamaClient(t *testing.T) {
	b := setupRoute(t)
	oc := b.ollama(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	tags, err := oc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range tags.Models {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if want := []string{"tiny-a:latest", "tiny-b:latest", "tiny-embed:latest"}; !slices.Equal(names, want) {
		t.Fatalf("tags %v, want %v", names, want)
	}

	// The fakes hold each answer after its first chunk until the client
	// has that chunk: a router that buffered the stream would never
	// deliver it.
	first := make(chan struct{})
	for _, o := range b.fakes {
		o.OnChunk(func(_ string, i int) {
			if i == 0 {
				select {
				case <-first:
				case <-ctx.Done():
				}
			}
		})
	}
	msgs := []ollama.Message{{Role: "user", Content: "stream me"}}
	var got strings.Builder
	chunks := 0
	err = oc.Chat(ctx, &ollama.ChatRequest{Model: "tiny-b", Messages: msgs}, func(r ollama.ChatResponse) error {
		if chunks == 0 {
			close(first)
		}
		chunks++
		got.WriteString(r.Message.Content)
		return nil
	})
	if err != nil || ctx.Err() != nil {
		t.Fatalf("chat: %v (%v)", err, ctx.Err())
	}
	if want := strings.Join(ollamatest.ChatAnswer("tiny-b", msgs, nil), ""); got.String() != want || chunks < 3 {
		t.Fatalf("chat: %q in %d chunks, want %q streamed", got.String(), chunks, want)
	}

	stream := false
	var gen ollama.GenerateResponse
	if err := oc.Generate(ctx, &ollama.GenerateRequest{Model: "tiny-a", Prompt: "once", Stream: &stream}, func(r ollama.GenerateResponse) error {
		gen = r
		return nil
	}); err != nil || gen.Response != strings.Join(ollamatest.Answer("tiny-a", "once", nil), "") || !gen.Done {
		t.Fatalf("generate: %+v, %v", gen, err)
	}
	emb, err := oc.Embed(ctx, &ollama.EmbedRequest{Model: "tiny-embed", Input: "x"})
	if err != nil || len(emb.Embeddings) != 1 {
		t.Fatalf("embed (only daemon 2 has the model): %+v, %v", emb, err)
	}
	if _, err := oc.Show(ctx, &ollama.ShowRequest{Model: "tiny-embed"}); err != nil {
		t.Fatalf("show: %v", err)
	}
	if _, err := oc.ListRunning(ctx); err != nil {
		t.Fatalf("ps: %v", err)
	}
	var se ollama.StatusError
	err = oc.Chat(ctx, &ollama.ChatRequest{Model: "nope", Messages: msgs}, func(ollama.ChatResponse) error { return nil })
	if !errors.As(err, &se) || se.StatusCode != 404 || !strings.Contains(se.ErrorMessage, "not found") {
		t.Fatalf("unknown model: %v", err)
	}
	if resp, err := http.Get(b.router + "/api/tags"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestRouteJobs: POST /jobs goes to the daemon with the model and the
// shortest queue; /jobs/{id} reaches the daemon that holds the job, from
// a fresh router too (it keeps nothing); a daemon down, new jobs go to the
// others and the lists name it.
func TestRouteJobs(t *testing.T) {
	b := setupRoute(t)
	for _, o := range b.fakes {
		t.Cleanup(o.Block("").Release)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for range 3 {
		if _, err := b.direct[0].Enqueue(ctx, client.Request{Body: json.RawMessage(`{"model":"tiny-a","prompt":"deep"}`), Kind: "generate"}); err != nil {
			t.Fatal(err)
		}
	}
	rc := client.New(b.router, client.WithToken(routeToken), client.WithPolling())
	id, err := rc.Enqueue(ctx, client.Request{Body: json.RawMessage(`{"model":"tiny-a","prompt":"routed"}`), Kind: "generate"})
	if err != nil {
		t.Fatal(err)
	}
	if on := b.on(t, id); on != 1 {
		t.Fatalf("tiny-a went to daemon %d, want 1 (daemon 0 has 3 queued)", on)
	}
	fresh := startRoute(t, b.env)
	j, err := client.New(fresh, client.WithToken(routeToken)).Get(ctx, id)
	if err != nil || j.JobID != id {
		t.Fatalf("GET through a fresh router: %+v, %v", j, err)
	}
	if err := rc.Cancel(ctx, id); err != nil {
		t.Fatalf("cancel through the router: %v", err)
	}
	if _, err := rc.Get(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}

	// Idempotency-Key through the router: once, whatever the daemon.
	keyed := client.Request{Body: json.RawMessage(`{"model":"tiny-b","prompt":"once"}`), Kind: "generate", IdempotencyKey: "k1"}
	k1, err := rc.Enqueue(ctx, keyed)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := rc.Enqueue(ctx, keyed); err != nil || again != k1 {
		t.Fatalf("same key again: %s, %v, want %s", again, err, k1)
	}

	if err := b.stop[1](); err != nil {
		t.Fatal(err)
	}
	after, err := rc.Enqueue(ctx, client.Request{Body: json.RawMessage(`{"model":"tiny-a","prompt":"after"}`), Kind: "generate"})
	if err != nil || b.on(t, after) != 0 {
		t.Fatalf("tiny-a with daemon 1 down: %v", err)
	}
	resp, err := http.NewRequestWithContext(ctx, "GET", b.router+"/jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Set("Authorization", "Bearer "+routeToken)
	r, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var l struct {
		Jobs        []client.JobSummary
		Unreachable []string
	}
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || json.Unmarshal(body, &l) != nil || !slices.Equal(l.Unreachable, []string{b.daemons[1]}) {
		t.Fatalf("GET /jobs with daemon 1 down: %d %s", r.StatusCode, body)
	}
	for _, j := range l.Jobs {
		if j.Daemon == "" || j.Daemon == b.daemons[1] {
			t.Fatalf("row %+v", j)
		}
	}
	if tags, err := b.ollama(t).List(ctx); err != nil || len(tags.Models) != 3 {
		t.Fatalf("tags with daemon 1 down: %v", err)
	}
	hr, err := http.Get(b.router + "/healthz") // no token needed
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Body.Close()
	var h struct {
		Status   string
		Degraded bool
		Daemons  []struct {
			URL string
			Up  bool
		}
	}
	if json.NewDecoder(hr.Body).Decode(&h) != nil || hr.StatusCode != 200 || !h.Degraded || len(h.Daemons) != 3 ||
		h.Daemons[1].Up || !h.Daemons[0].Up || h.Daemons[1].URL != b.daemons[1] {
		t.Fatalf("healthz with daemon 1 down: %d %+v", hr.StatusCode, h)
	}
}

// TestRouteUnderTheOpenAIClient: the official OpenAI client through the
// router gets what it gets from one target (streaming included), the
// models of every daemon once each, and OpenAI's 404 for a model none has.
func TestRouteUnderTheOpenAIClient(t *testing.T) {
	b := setupRoute(t)
	ctx := t.Context()
	via := openai.NewClient(option.WithBaseURL(b.router+"/v1/"), option.WithAPIKey(routeToken), option.WithMaxRetries(0))
	direct := openai.NewClient(option.WithBaseURL(b.fakes[1].URL()+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))

	for _, model := range []string{"tiny-a", "tiny-b"} {
		got, err := via.Chat.Completions.New(ctx, chatParams(model))
		if err != nil {
			t.Fatal(err)
		}
		want, err := direct.Chat.Completions.New(ctx, chatParams(model))
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Message.Content != want.Choices[0].Message.Content || got.Model != model {
			t.Fatalf("%s through the router %+v\nstraight %+v", model, got, want)
		}
	}
	stream := func(c openai.Client) (string, int) {
		s := c.Chat.Completions.NewStreaming(ctx, chatParams("tiny-a"))
		acc := openai.ChatCompletionAccumulator{}
		n := 0
		for s.Next() {
			acc.AddChunk(s.Current())
			n++
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return acc.Choices[0].Message.Content, n
	}
	gotText, gotN := stream(via)
	wantText, wantN := stream(direct)
	if gotText != wantText || gotN != wantN || gotN < 3 {
		t.Fatalf("streamed %q in %d chunks through the router, %q in %d straight", gotText, gotN, wantText, wantN)
	}
	cp := openai.CompletionNewParams{Model: "tiny-a", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("why")},
		MaxTokens: openai.Int(5), Seed: openai.Int(1)}
	if gc, err := via.Completions.New(ctx, cp); err != nil || gc.Object != "text_completion" || gc.Choices[0].Text == "" {
		t.Fatalf("completion %+v, %v", gc, err)
	}
	rp := responses.ResponseNewParams{Model: "tiny-b", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		MaxOutputTokens: openai.Int(5)}
	if gr, err := via.Responses.New(ctx, rp); err != nil || gr.Status != "completed" || gr.OutputText() == "" {
		t.Fatalf("response %+v, %v", gr, err)
	}
	ep := openai.EmbeddingNewParams{Model: "tiny-embed", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello"}}}
	if ge, err := via.Embeddings.New(ctx, ep); err != nil || len(ge.Data) != 1 {
		t.Fatalf("embeddings (only daemon 2 has the model): %+v, %v", ge, err)
	}

	l, err := via.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range l.Data {
		ids = append(ids, strings.TrimSuffix(m.ID, ":latest"))
	}
	slices.Sort(ids)
	if want := []string{"tiny-a", "tiny-b", "tiny-embed"}; !slices.Equal(ids, want) {
		t.Fatalf("models %v, want %v", ids, want)
	}
	if m, err := via.Models.Get(ctx, "tiny-embed"); err != nil || m.ID != "tiny-embed" {
		t.Fatalf("model: %+v, %v", m, err)
	}
	var apiErr *openai.Error
	if _, err := via.Chat.Completions.New(ctx, chatParams("nope")); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Message != "model 'nope' not found" {
		t.Fatalf("a model no daemon has: %v", err)
	}
	if _, err := via.Models.Get(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("GET /v1/models/nope: %v", err)
	}
}

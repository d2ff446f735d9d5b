// Package ollamatest is a fake Ollama server for tests. It speaks the wire
// format of the real Ollama v0.17.4 (status codes, content types, error
// bodies and NDJSON streams as captured in shared/real-ollama/samples), so
// code tested against it behaves the same against the real thing, and it
// injects the faults the real thing only shows under load: runner crashes
// mid-stream, cut connections, hangs, model swaps and a server that is down.
//
// Answers are deterministic: the same model, prompt and options always give
// the same chunks (see Answer), so tests can assert exact output.
package ollamatest

import (
	"cmp"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Version is what GET /api/version reports.
const Version = "0.17.4"

// Server is a running fake Ollama on 127.0.0.1. All methods are safe to
// call while requests are in flight.
type Server struct {
	cfg  config
	http *http.Server
	addr string // host:port, kept across SetDown so the URL stays valid

	mu       sync.Mutex
	models   map[string]Model // by normalized name
	order    []string         // normalized names in listing order
	res      residency
	requests map[string][]Request
	faults   []pendingFault
	gates    map[string]*Gate
	onChunk  func(model string, i int)
	// inflight and maxInflight count inference requests (MaxInFlight).
	inflight, maxInflight int

	net netState
}

// config is what the Options set.
type config struct {
	models     []Model
	maxLoaded  int
	loadDelay  time.Duration
	chunkDelay time.Duration
	extra      map[string]any
}

// Option configures a Server.
type Option func(*config)

// WithModels replaces the default model set (DefaultModels).
func WithModels(models ...Model) Option {
	return func(c *config) { c.models = models }
}

// WithMaxLoaded sets how many models stay resident at once, like
// OLLAMA_MAX_LOADED_MODELS. Default 1: every switch of model is a swap.
func WithMaxLoaded(n int) Option {
	return func(c *config) { c.maxLoaded = n }
}

// WithLoadDelay makes every model load take d (waited on a timer), so
// swaps cost time the way they do on a real server.
func WithLoadDelay(d time.Duration) Option {
	return func(c *config) { c.loadDelay = d }
}

// WithChunkDelay waits d before each streamed chunk.
func WithChunkDelay(d time.Duration) Option {
	return func(c *config) { c.chunkDelay = d }
}

// New starts a fake Ollama on a free loopback port. When t is not nil the
// server is closed at the end of the test; otherwise call Close.
func New(t testing.TB, opts ...Option) *Server {
	if t != nil {
		t.Helper()
	}
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.maxLoaded = cmp.Or(max(cfg.maxLoaded, 0), 1)
	if cfg.models == nil {
		cfg.models = DefaultModels()
	}
	s := &Server{
		cfg:      cfg,
		models:   make(map[string]Model),
		requests: make(map[string][]Request),
		gates:    make(map[string]*Gate),
	}
	for _, m := range cfg.models {
		m = m.withDefaults()
		key := normalize(m.Name)
		if _, dup := s.models[key]; !dup {
			s.order = append(s.order, key)
		}
		s.models[key] = m
	}
	s.res.init()
	s.http = &http.Server{
		Handler:   s.routes(),
		ConnState: s.trackConn,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if t != nil {
			t.Fatalf("ollamatest: listen: %v", err)
		}
		panic("ollamatest: listen: " + err.Error())
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234. It stays the
// same across SetDown.
func (s *Server) URL() string { return "http://" + s.addr }

// Close stops the server, cutting any request still in flight and
// releasing every gate. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	gates := make([]*Gate, 0, len(s.gates))
	for _, g := range s.gates {
		gates = append(gates, g)
	}
	s.mu.Unlock()
	for _, g := range gates {
		g.Release()
	}
	s.net.close(s.http)
}

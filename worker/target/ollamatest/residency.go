package ollamatest

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
)

// defaultKeepAlive is how long a model stays loaded after a request
// without keep_alive, as in Ollama.
const defaultKeepAlive = 5 * time.Minute

// maxKeepAlive caps "forever" (a negative keep_alive) so expires_at stays
// a sane time.
const maxKeepAlive = 100 * 365 * 24 * time.Hour

// residency is which models are loaded, guarded by Server.mu. Like Ollama
// with OLLAMA_MAX_LOADED_MODELS, loading a model past the limit evicts the
// least recently used one. Unlike Ollama, the fake never waits for the
// evicted model's requests to finish: they run on.
type residency struct {
	loaded  map[string]*resident // by normalized name
	clock   int64                // use counter, for LRU
	loads   int
	loadsOf map[string]int
}

type resident struct {
	name     string
	lastUsed int64
	inUse    int
	expires  time.Time
	ready    chan struct{} // closed when the load delay is over
}

func (r *residency) init() {
	r.loaded = make(map[string]*resident)
	r.loadsOf = make(map[string]int)
}

func (r *residency) unload(key string) { delete(r.loaded, key) }

// expire drops idle models whose keep_alive ran out.
func (r *residency) expire(now time.Time) {
	for k, m := range r.loaded {
		if m.inUse == 0 && now.After(m.expires) {
			delete(r.loaded, k)
		}
	}
}

// evictOne drops the least recently used model, idle ones first.
func (r *residency) evictOne() {
	var victim *resident
	for _, m := range r.loaded {
		if victim == nil || evictsBefore(m, victim) {
			victim = m
		}
	}
	if victim != nil {
		delete(r.loaded, victim.name)
	}
}

func evictsBefore(a, b *resident) bool {
	if (a.inUse == 0) != (b.inUse == 0) {
		return a.inUse == 0
	}
	return a.lastUsed < b.lastUsed
}

// acquire makes key resident for one request, loading it (and waiting
// LoadDelay) if it is not, and returns how long the request waited for it.
// Call release when the request is over.
func (s *Server) acquire(ctx context.Context, key string) (time.Duration, error) {
	start := time.Now()
	s.mu.Lock()
	r := &s.res
	r.expire(start)
	r.clock++
	m, ok := r.loaded[key]
	if !ok {
		for len(r.loaded) >= s.cfg.maxLoaded {
			r.evictOne()
		}
		m = &resident{name: key, ready: make(chan struct{})}
		r.loaded[key] = m
		r.loads++
		r.loadsOf[key]++
		go s.finishLoad(m)
	}
	m.lastUsed = r.clock
	m.inUse++
	m.expires = start.Add(defaultKeepAlive)
	s.mu.Unlock()
	select {
	case <-m.ready:
	case <-ctx.Done():
		s.release(key, nil)
		return 0, context.Cause(ctx)
	}
	return max(time.Since(start), time.Microsecond), nil
}

// finishLoad marks m ready after the load delay, on a timer.
func (s *Server) finishLoad(m *resident) {
	if d := s.cfg.loadDelay; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		<-t.C
	}
	close(m.ready)
}

// release ends one request's use of key; keepAlive (nil: the default)
// sets when it expires, and 0 unloads it now.
func (s *Server) release(key string, keepAlive *api.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.res.loaded[key]
	if !ok {
		return
	}
	m.inUse--
	d := defaultKeepAlive
	if keepAlive != nil {
		d = min(keepAlive.Duration, maxKeepAlive)
	}
	if d == 0 && m.inUse == 0 {
		delete(s.res.loaded, key)
		return
	}
	m.expires = time.Now().Add(d)
}

// Loads is how many times any model was loaded.
func (s *Server) Loads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res.loads
}

// LoadsOf is how many times model ("x" or "x:latest") was loaded.
func (s *Server) LoadsOf(model string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res.loadsOf[normalize(model)]
}

// Loaded names the resident models ("x:latest"), most recently used first.
func (s *Server) Loaded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.expire(time.Now())
	ms := s.residents()
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}

func (s *Server) residents() []*resident {
	ms := make([]*resident, 0, len(s.res.loaded))
	for _, m := range s.res.loaded {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *resident) int { return int(b.lastUsed - a.lastUsed) })
	return ms
}

// handlePs answers GET /api/ps: loaded models, latest expiry first, as
// Ollama sorts them.
func (s *Server) handlePs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.res.expire(time.Now())
	out := api.ProcessResponse{Models: []api.ProcessModelResponse{}}
	for _, rm := range s.residents() {
		m := s.models[rm.name]
		out.Models = append(out.Models, api.ProcessModelResponse{
			Name: m.Name, Model: m.Name, Size: m.LoadedSize, Digest: m.Digest,
			Details: m.Details, ExpiresAt: rm.expires, ContextLength: m.ContextLength,
		})
	}
	s.mu.Unlock()
	slices.SortStableFunc(out.Models, func(a, b api.ProcessModelResponse) int { return b.ExpiresAt.Compare(a.ExpiresAt) })
	writeJSON(w, http.StatusOK, s.withExtra(out))
}

// unloadNow is keep_alive 0 without a prompt: the model leaves memory at
// once, without being loaded first.
func (s *Server) unloadNow(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.res.loaded[key]; ok && m.inUse == 0 {
		delete(s.res.loaded, key)
	}
}

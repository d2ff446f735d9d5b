package ollamatest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// route is one path's handler. Inference routes run a model and take the
// faults of FailNext.
type route struct {
	methods   []string
	inference bool
	h         http.HandlerFunc
}

type faultKey struct{}

// routes is the fake's router. It is not http.ServeMux because Ollama's
// (gin's) 404 and 405 answers differ from ServeMux's.
func (s *Server) routes() http.Handler {
	post := []string{http.MethodPost}
	get := []string{http.MethodGet, http.MethodHead}
	table := map[string]route{
		"/":                    {methods: get, h: s.handleRoot},
		"/api/version":         {methods: get, h: s.handleVersion},
		"/api/tags":            {methods: get, h: s.handleTags},
		"/api/ps":              {methods: get, h: s.handlePs},
		"/api/show":            {methods: post, h: s.handleShow},
		"/api/delete":          {methods: []string{http.MethodDelete}, h: s.handleDelete},
		"/api/pull":            {methods: post, h: s.handlePull},
		"/api/chat":            {methods: post, inference: true, h: s.handleChat},
		"/api/generate":        {methods: post, inference: true, h: s.handleGenerate},
		"/api/embed":           {methods: post, inference: true, h: s.handleEmbed},
		"/api/embeddings":      {methods: post, inference: true, h: s.handleEmbeddings},
		"/v1/chat/completions": {methods: post, inference: true, h: s.handleOpenAIChat},
		"/v1/completions":      {methods: post, inference: true, h: s.handleOpenAICompletions},
		"/v1/responses":        {methods: post, inference: true, h: s.handleOpenAIResponses},
		"/v1/embeddings":       {methods: post, inference: true, h: s.handleOpenAIEmbeddings},
		"/v1/models":           {methods: []string{http.MethodGet}, h: s.handleOpenAIModels},
		"/v1/models/:model":    {methods: []string{http.MethodGet}, h: s.handleOpenAIModel},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			return
		}
		defer s.net.active.Done()
		s.record(r)
		rt, ok := table[r.URL.Path]
		if rest, found := strings.CutPrefix(r.URL.Path, "/v1/models/"); found && rest != "" && !strings.Contains(rest, "/") {
			rt, ok = table["/v1/models/:model"] // gin's :model: one segment
		}
		if !ok {
			writeText(w, http.StatusNotFound, "404 page not found")
			return
		}
		if !slices.Contains(rt.methods, r.Method) {
			w.Header().Set("Allow", strings.Join(rt.methods, ", "))
			writeText(w, http.StatusMethodNotAllowed, "405 method not allowed")
			return
		}
		if rt.inference {
			s.running(1)
			defer s.running(-1)
		}
		if f, ok := s.takeFault(r.URL.Path, rt.inference); ok {
			switch f.kind {
			case faultHTTP:
				if strings.HasPrefix(r.URL.Path, "/v1/") {
					writeOpenAIError(w, f.status, f.message)
				} else {
					writeError(w, f.status, f.message)
				}
				return
			case faultHang:
				<-r.Context().Done()
				return
			default:
				r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
			}
		}
		rt.h(w, r)
	})
}

// faultOf is the mid-answer fault a request carries, if any.
func faultOf(r *http.Request) (Fault, bool) {
	f, ok := r.Context().Value(faultKey{}).(Fault)
	return f, ok
}

// enter counts a running handler, unless the server is closed.
func (s *Server) enter() bool {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	if s.net.closed {
		return false
	}
	s.net.active.Add(1)
	return true
}

// record keeps the request and restores its body for the handler.
func (s *Server) record(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[r.URL.Path] = append(s.requests[r.URL.Path], Request{
		Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body,
	})
}

// Requests is how many requests arrived for path (e.g. "/api/tags"),
// whatever their answer.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests[path])
}

// Received lists the requests that arrived for path, oldest first.
func (s *Server) Received(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests[path])
}

// LastRequest is the body of the last request for path; nil if none.
func (s *Server) LastRequest(path string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.requests[path]
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1].Body
}

// handleRoot answers GET and HEAD / like Ollama.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	const body = "Ollama is running"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", "17")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// handleVersion answers GET /api/version.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": Version})
}

// running counts the inference requests being answered, keeping the most
// seen at once.
func (s *Server) running(d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight += d
	s.maxInflight = max(s.maxInflight, s.inflight)
}

// MaxInFlight is the most inference requests (chat, generate, embed and
// their /v1 routes) the server was answering at once: 1 for a client that
// sends them one at a time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInflight
}

package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
)

// ollamaRoutes registers the Ollama-compatible surface. Chat and generate
// go through the queue; embeddings, show and version go straight to the
// target (ADR-0013); tags and ps come from the inventory.
func (s *Server) ollamaRoutes() {
	r, a := s.router, s.auth.require
	r.GET("/", a(s.root))
	r.HEAD("/", a(s.root))
	r.GET("/api/version", a(s.forward))
	r.GET("/api/tags", a(s.tags))
	r.GET("/api/ps", a(s.ps))
	r.POST("/api/show", a(s.forward))
	r.POST("/api/embed", a(s.forward))
	r.POST("/api/embeddings", a(s.forward))
	r.POST("/api/chat", a(s.submits(s.syncJob("chat"))))
	r.POST("/api/generate", a(s.submits(s.syncJob("generate"))))
	for _, rt := range []struct{ method, path string }{
		{"POST", "/api/pull"}, {"POST", "/api/push"}, {"POST", "/api/create"},
		{"POST", "/api/copy"}, {"DELETE", "/api/delete"},
		{"POST", "/api/blobs/:digest"}, {"HEAD", "/api/blobs/:digest"},
	} {
		r.Handle(rt.method, rt.path, a(notServed))
	}
}

func (s *Server) root(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, "Ollama is running")
	}
}

// tags and ps relay the target's last answer as it sent it: clients see
// the fields foreman does not know, and while the target is unreachable
// they still see its models. With no answer yet, they get a 502 as an
// Ollama client would see an unreachable server, never an empty list that
// says there are no models.
func (s *Server) tags(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.relayInventory(w, r, s.cfg.Inventory.TagsJSON)
}

func (s *Server) ps(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.relayInventory(w, r, s.cfg.Inventory.PsJSON)
}

func (s *Server) relayInventory(w http.ResponseWriter, r *http.Request, get func(context.Context) ([]byte, error)) {
	raw, err := get(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		writeError(w, http.StatusBadGateway, "ollama target unreachable: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(raw)
}

// forward proxies a request that bypasses the queue, relaying the target's
// status, content type and body as they come (embeddings run concurrently
// with the worker's job).
func (s *Server) forward(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	resp, err := s.cfg.Target.Forward(r.Context(), r.Method, r.URL.Path, body)
	if err != nil {
		if errors.Is(r.Context().Err(), context.Canceled) {
			return
		}
		writeError(w, http.StatusBadGateway, "ollama target unreachable: "+err.Error())
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body)
}

// copyFlushing copies a possibly streamed body, flushing as it goes.
func copyFlushing(w http.ResponseWriter, r io.Reader) {
	f, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// readBody reads a bounded body: 413 past MaxBody, 408 when it does not
// arrive within BodyTimeout (the deadline ServeHTTP set).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Body == nil {
		return nil, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err == nil {
		// Lift the deadline: the server's own read of the connection,
		// which notices a caller that leaves, must not time out while a
		// sync job waits in the queue.
		http.NewResponseController(w).SetReadDeadline(time.Time{})
	}
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestTimeout, fmt.Sprintf("request body not received within %s (FOREMAN_BODY_TIMEOUT)", s.cfg.BodyTimeout))
		return nil, false
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes (FOREMAN_MAX_BODY)", mbe.Limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return nil, false
	}
	return body, true
}

func notServed(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	writeError(w, http.StatusNotImplemented, fmt.Sprintf("foreman does not serve %s %s: manage models on the Ollama host itself (ADR-0020)", r.Method, r.URL.Path))
}

package ollamatest

import (
	"fmt"
	"sync"
)

// faultKind says what a Fault does.
type faultKind int

const (
	faultHTTP faultKind = iota + 1
	faultErrorAfter
	faultCutAfter
	faultHang
	faultStopAfter
)

// Fault is a failure injected into a request. Make one with HTTPFault,
// ErrorAfter, CutAfter or Hang.
type Fault struct {
	kind    faultKind
	status  int
	message string
	after   int
}

// HTTPFault answers status with {"error": message} (the OpenAI error shape
// on /v1 routes) before reading the request any further.
func HTTPFault(status int, message string) Fault {
	return Fault{kind: faultHTTP, status: status, message: message}
}

// ErrorAfter is a runner crash after k chunks: a streamed answer gets 200,
// k chunks, then {"error": RunnerCrash} and no done line; an answer that is
// not streamed gets 500 with that body. This is what the real server did
// when its runner was killed (samples stream-runner-killed-midstream and
// nonstream-runner-killed).
func ErrorAfter(k int) Fault { return Fault{kind: faultErrorAfter, after: k, message: RunnerCrash} }

// CutAfter closes the connection after k chunks, with no final line (for
// an answer that is not streamed: before any answer).
func CutAfter(k int) Fault { return Fault{kind: faultCutAfter, after: k} }

// StopAfter ends the answer cleanly after k chunks with no done line and
// no error, as the real server does when it cuts a degenerate answer at
// its repeat limit (30 identical tokens in a row); an answer that is not
// streamed gets 200 with the text so far and "done": false.
func StopAfter(k int) Fault { return Fault{kind: faultStopAfter, after: k} }

// Hang sends nothing until the client gives up (its request context ends)
// or the server is closed or set down.
func Hang() Fault { return Fault{kind: faultHang} }

func (f Fault) String() string {
	switch f.kind {
	case faultHTTP:
		return fmt.Sprintf("HTTPFault(%d, %q)", f.status, f.message)
	case faultErrorAfter:
		return fmt.Sprintf("ErrorAfter(%d)", f.after)
	case faultCutAfter:
		return fmt.Sprintf("CutAfter(%d)", f.after)
	case faultStopAfter:
		return fmt.Sprintf("StopAfter(%d)", f.after)
	case faultHang:
		return "Hang()"
	}
	return "Fault(none)"
}

// pendingFault is a fault waiting for its next n requests.
type pendingFault struct {
	path  string // "" : any inference route
	left  int
	fault Fault
}

// FailNext makes the next n requests to a model-running route (/api/chat,
// /api/generate, /api/embed, /api/embeddings and /v1 chat, completions and
// embeddings) fail with f. Faults queue: after these n, an earlier or
// later FailNext applies in call order. A fault is used up when a request
// takes it, even if the request fails before the fault would show (an
// unknown model, say).
func (s *Server) FailNext(n int, f Fault) { s.failOn("", n, f) }

// FailPath is FailNext for requests to exactly path, any route
// (e.g. "/api/tags").
func (s *Server) FailPath(path string, n int, f Fault) { s.failOn(path, n, f) }

func (s *Server) failOn(path string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, pendingFault{path: path, left: n, fault: f})
}

// takeFault returns the fault for a request to path, if one is pending.
func (s *Server) takeFault(path string, inference bool) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		p := &s.faults[i]
		if p.path == path || p.path == "" && inference {
			f := p.fault
			if p.left--; p.left == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f, true
		}
	}
	return Fault{}, false
}

// OnChunk calls fn after each streamed chunk has been flushed to the
// client: model as the request named it, i from 0. fn runs on the
// request's goroutine, so a test can act exactly between two chunks (cancel
// a context, SetDown) and the stream waits until fn returns. nil removes it.
func (s *Server) OnChunk(fn func(model string, i int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChunk = fn
}

func (s *Server) chunkHook() func(string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onChunk
}

// Gate holds requests for a model in flight: they are accepted and the
// model loaded, then they wait before answering until Release.
type Gate struct {
	s       *Server
	key     string
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

// Block makes requests for model wait at a gate until it is released;
// model "" blocks every model. Blocking a model already blocked returns
// the same gate.
func (s *Server) Block(model string) *Gate {
	key := ""
	if model != "" {
		key = normalize(model)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.gates[key]; ok {
		return g
	}
	g := &Gate{s: s, key: key, arrived: make(chan struct{}, 1024), release: make(chan struct{})}
	s.gates[key] = g
	return g
}

// Arrived receives once for each request that reached the gate.
func (g *Gate) Arrived() <-chan struct{} { return g.arrived }

// Release lets waiting and later requests through and removes the gate.
func (g *Gate) Release() {
	g.once.Do(func() {
		close(g.release)
		g.s.mu.Lock()
		if g.s.gates[g.key] == g {
			delete(g.s.gates, g.key)
		}
		g.s.mu.Unlock()
	})
}

// gateFor returns the gate a request for key must pass, if any.
func (s *Server) gateFor(key string) *Gate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.gates[key]; ok {
		return g
	}
	return s.gates[""]
}

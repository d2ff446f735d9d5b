package ollamatest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ollama/ollama/api"
)

// run is one model run, the part chat and generate share: load the model,
// pass the gate, produce the answer's tokens (streamed or not), and apply
// the request's fault.
type run struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	model     string // as the request named it
	key       string // normalized
	stream    bool
	keepAlive *api.Duration
	ans       answer
	// chunk is the line for one piece; final the done line, given the
	// metrics and the text it carries ("" when streamed, all of it if not).
	chunk func(piece string) any
	final func(m api.Metrics, reason, text string) any
}

func (x *run) serve() {
	ctx := x.r.Context()
	start := time.Now()
	load, err := x.s.acquire(ctx, x.key)
	if err != nil {
		return // the client is gone
	}
	defer x.s.release(x.key, x.keepAlive)
	if !x.s.passGate(ctx, x.key) {
		return
	}
	fault, _ := faultOf(x.r)
	promptDone := time.Now()
	if x.stream {
		x.w.Header().Set("Content-Type", contentNDJSON)
		x.w.WriteHeader(http.StatusOK)
	}
	hook := x.s.chunkHook()
	var text []byte
	for i, p := range x.ans.pieces {
		if x.faultAt(fault, i, text) {
			return
		}
		if !sleep(ctx, x.s.cfg.chunkDelay) {
			return
		}
		text = append(text, p...)
		if x.stream {
			x.emit(x.chunk(p))
			if hook != nil {
				hook(x.model, i)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
	if x.faultAt(fault, len(x.ans.pieces), text) {
		return
	}
	now := time.Now()
	m := api.Metrics{
		TotalDuration:      now.Sub(start),
		LoadDuration:       load,
		PromptEvalCount:    x.ans.promptEval,
		PromptEvalDuration: max(promptDone.Sub(start)-load, time.Microsecond),
		EvalCount:          len(x.ans.pieces),
		EvalDuration:       max(now.Sub(promptDone), time.Microsecond),
	}
	switch {
	case x.stream:
		x.emit(x.final(m, x.ans.doneReason, ""))
	default:
		writeJSON(x.w, http.StatusOK, x.final(m, x.ans.doneReason, string(text)))
	}
}

// emit writes one streamed chunk, an NDJSON line (on /v1, the route's
// writer turns it into an SSE frame).
func (x *run) emit(v any) {
	writeLine(x.w, v)
}

// faultAt applies a mid-answer fault due before piece i and reports
// whether the answer is over.
func (x *run) faultAt(f Fault, i int, text []byte) bool {
	if f.after != i || f.kind != faultErrorAfter && f.kind != faultCutAfter && f.kind != faultStopAfter {
		return false
	}
	switch f.kind {
	case faultCutAfter:
		cut(x.w, x.stream)
		return true
	case faultStopAfter:
		if !x.stream {
			var v map[string]any
			_ = json.Unmarshal(mustJSON(x.final(api.Metrics{}, "", string(text))), &v)
			v["done"] = false
			delete(v, "done_reason")
			writeJSON(x.w, http.StatusOK, v)
		}
		return true
	}
	switch {
	case x.stream:
		writeLine(x.w, map[string]string{"error": f.message})
	default:
		writeError(x.w, http.StatusInternalServerError, f.message)
	}
	return true
}

// cut closes the client's connection: a stream (flushed first) ends with
// no final chunk; an answer not yet started never comes.
func cut(w http.ResponseWriter, flush bool) {
	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush()
	}
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
	}
}

// passGate waits at the model's gate, if it is blocked. It reports false
// if the request ended first.
func (s *Server) passGate(ctx context.Context, key string) bool {
	g := s.gateFor(key)
	if g == nil {
		return true
	}
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
		return true
	case <-ctx.Done():
		return false
	}
}

// sleep waits d on a timer, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

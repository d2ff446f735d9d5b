package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// openAIShaped wraps a /v1 route so that the errors foreman writes itself
// in Ollama's shape ({"error":"msg"}: a missing token, a body too large or
// too slow, a full disk or queue, an unreachable target) reach the OpenAI
// SDKs in OpenAI's, {"error":{"message","type","param","code"}}, which is
// what they read. Answers already in OpenAI's shape (the target's own,
// relayed) pass as they are.
func openAIShaped(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		ow := &openAIErrorWriter{ResponseWriter: w}
		defer ow.finish()
		h(ow, r, ps)
	}
}

// openAIErrorWriter holds back an error status until its body shows
// whether it needs reshaping.
type openAIErrorWriter struct {
	http.ResponseWriter
	pending int // an error status not yet written
	done    bool
}

func (o *openAIErrorWriter) WriteHeader(status int) {
	if o.done || o.pending != 0 {
		return
	}
	if status >= 400 && strings.HasPrefix(o.Header().Get("Content-Type"), "application/json") {
		o.pending = status
		return
	}
	o.done = true
	o.ResponseWriter.WriteHeader(status)
}

func (o *openAIErrorWriter) Write(b []byte) (int, error) {
	if o.pending == 0 {
		o.done = true
		return o.ResponseWriter.Write(b)
	}
	status := o.pending
	o.pending, o.done = 0, true
	var e struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error == nil { // not Ollama's shape: as it is
		o.ResponseWriter.WriteHeader(status)
		return o.ResponseWriter.Write(b)
	}
	oe := &openAIError{status: status, msg: *e.Error}
	switch status {
	case http.StatusUnauthorized:
		oe.code = "invalid_api_key"
	case http.StatusTooManyRequests:
		oe.code = "rate_limit_exceeded"
	}
	writeOpenAIError(o.ResponseWriter, oe)
	return len(b), nil
}

// finish writes a held status that no body followed.
func (o *openAIErrorWriter) finish() {
	if o.pending != 0 {
		o.ResponseWriter.WriteHeader(o.pending)
	}
}

// Flush and Unwrap keep streaming, deadlines and hijacking working
// through the wrapper (http.ResponseController).
func (o *openAIErrorWriter) Flush() {
	if o.pending == 0 {
		http.NewResponseController(o.ResponseWriter).Flush()
	}
}

func (o *openAIErrorWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

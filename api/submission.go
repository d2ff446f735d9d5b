package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/oklog/ulid/v2"
	ollama "github.com/ollama/ollama/api"
	ollamamodel "github.com/ollama/ollama/types/model"

	"github.com/foreman-dev/foreman/eventlog"
)

// requestError is a refusal with Ollama's status and message.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// shape is what a chat or generate request asks of its model, for the
// checks Ollama makes before it runs anything.
type shape struct {
	kind   eventlog.Kind
	model  string
	unload bool // no messages or prompt and keep_alive 0: Ollama checks nothing
	empty  bool // no messages or prompt: the request only loads the model
	think  *ollama.ThinkValue
	tools  bool // chat with tools
	suffix bool // generate with a suffix
	opts   map[string]any
}

// parseOllama checks a chat or generate body the way Ollama does, with the
// same types, so that malformed JSON and wrong field types get Ollama's
// own messages, and returns what it asks of the model.
func parseOllama(kind eventlog.Kind, body []byte) (shape, error) {
	sh := shape{kind: kind}
	if len(bytes.TrimSpace(body)) == 0 {
		return sh, &requestError{http.StatusBadRequest, "missing request body"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var keepAlive *ollama.Duration
	if kind == eventlog.KindGenerate {
		var req ollama.GenerateRequest
		if err := dec.Decode(&req); err != nil {
			return sh, &requestError{http.StatusBadRequest, err.Error()}
		}
		sh.model, sh.empty, sh.think, sh.suffix, sh.opts, keepAlive = req.Model, req.Prompt == "", req.Think, req.Suffix != "", req.Options, req.KeepAlive
		if !ollamamodel.ParseName(sh.model).IsValid() { // Ollama answers generate without a (valid) model with 404
			return sh, &requestError{http.StatusNotFound, fmt.Sprintf("model '%s' not found", sh.model)}
		}
	} else {
		var req ollama.ChatRequest
		if err := dec.Decode(&req); err != nil {
			return sh, &requestError{http.StatusBadRequest, err.Error()}
		}
		sh.model, sh.empty, sh.think, sh.tools, sh.opts, keepAlive = req.Model, len(req.Messages) == 0, req.Think, len(req.Tools) > 0, req.Options, req.KeepAlive
		if !ollamamodel.ParseName(sh.model).IsValid() { // "" and "bad name!!" alike, as Ollama
			return sh, &requestError{http.StatusBadRequest, "model is required"}
		}
	}
	sh.unload = sh.empty && keepAlive != nil && keepAlive.Duration == 0
	return sh, nil
}

// submission builds the job.submitted record (eventlog.SubmittedRecord).
func submission(id ulid.ULID, p eventlog.Submitted, body []byte) eventlog.Record {
	return eventlog.SubmittedRecord(id, &p, body)
}

// fitTarget makes the checks every generating request passes before it is
// queued, whichever route it came by: the target has the model, the model
// can do what is asked, and the output is capped (FOREMAN_DEFAULT_NUM_PREDICT).
// It returns the body to store.
func (s *Server) fitTarget(r *http.Request, sh shape, body []byte) ([]byte, error) {
	if err := s.modelKnown(r, sh.model); err != nil {
		return nil, err
	}
	if err := s.checkCapabilities(r.Context(), sh); err != nil {
		return nil, err
	}
	return s.capOutput(r.Context(), sh, body)
}

// modelKnown refuses a model the target does not have, re-polling once.
func (s *Server) modelKnown(r *http.Request, model string) error {
	ok, err := s.cfg.Inventory.HasOrRefresh(r.Context(), model)
	if err != nil && !ok {
		return &requestError{http.StatusBadGateway, fmt.Sprintf("cannot check model %q: ollama target unreachable: %v", model, err)}
	}
	if !ok {
		return &requestError{http.StatusNotFound, fmt.Sprintf("model '%s' not found", model)}
	}
	return nil
}

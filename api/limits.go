package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/eventlog"
)

// Nothing runs forever: a job's attempt is bounded in time (the worker's
// FOREMAN_JOB_TIMEOUT, or the job's own "timeout" up to
// FOREMAN_MAX_JOB_TIMEOUT), and its output in tokens (options.num_predict,
// FOREMAN_DEFAULT_NUM_PREDICT when the caller set none). A random-weight
// model, or a real one caught in a repetition loop, otherwise holds the
// only worker until someone notices.

// parseTimeout reads POST /jobs "timeout": a duration ("90s", "10m") or a
// number of seconds, as Ollama reads keep_alive.
func parseTimeout(raw json.RawMessage) (time.Duration, error) {
	bad := func(why string) error {
		return &requestError{http.StatusBadRequest, fmt.Sprintf(`field "timeout": %s`, why)}
	}
	var d time.Duration
	var s string
	var secs float64
	switch {
	case json.Unmarshal(raw, &s) == nil:
		x, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return 0, bad(fmt.Sprintf("%q is not a duration (e.g. \"90s\", \"10m\")", s))
		}
		d = x
	case json.Unmarshal(raw, &secs) == nil:
		if secs > float64(1<<62)/float64(time.Second) {
			return 0, bad("too long")
		}
		d = time.Duration(secs * float64(time.Second))
	default:
		return 0, bad(`want a duration such as "90s", or seconds`)
	}
	if d <= 0 {
		return 0, bad("must be positive")
	}
	return d, nil
}

// checkTimeout refuses a job's timeout above FOREMAN_MAX_JOB_TIMEOUT.
func (s *Server) checkTimeout(d time.Duration) error {
	if s.cfg.MaxJobTimeout > 0 && d > s.cfg.MaxJobTimeout {
		return &requestError{http.StatusBadRequest, fmt.Sprintf(`field "timeout": %s is over the maximum of %s (FOREMAN_MAX_JOB_TIMEOUT)`, d, s.cfg.MaxJobTimeout)}
	}
	return nil
}

// capOutput adds options.num_predict = DefaultNumPredict to a request that
// generates and sets no num_predict, neither itself nor through its
// model's Modelfile (/api/show parameters): a caller's or a model's own
// limit, even -1 (no limit), is never overridden. The answer that reaches
// the cap ends as Ollama ends it, done with done_reason "length".
func (s *Server) capOutput(ctx context.Context, sh shape, body []byte) ([]byte, error) {
	if s.cfg.DefaultNumPredict <= 0 || sh.empty || sh.kind == eventlog.KindOpenAIEmbedding {
		return body, nil
	}
	if _, set := sh.opts["num_predict"]; set {
		return body, nil
	}
	if show, err := s.cfg.Inventory.Show(ctx, sh.model); err == nil && setsParameter(show.Parameters, "num_predict") {
		return body, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, &requestError{http.StatusBadRequest, err.Error()}
	}
	if field := openAICapField(sh.kind); field != "" {
		// The OpenAI field Ollama turns into num_predict (sh.opts is
		// the converted request's: the caller set none).
		m[field] = json.RawMessage(strconv.Itoa(s.cfg.DefaultNumPredict))
		return json.Marshal(m)
	}
	opts := map[string]json.RawMessage{}
	if raw, ok := m["options"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, &requestError{http.StatusBadRequest, err.Error()}
		}
	}
	opts["num_predict"] = json.RawMessage(strconv.Itoa(s.cfg.DefaultNumPredict))
	var err error
	if m["options"], err = json.Marshal(opts); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// openAICapField is the /v1 field that caps a kind's output; "" for the
// native kinds and embeddings.
func openAICapField(kind eventlog.Kind) string {
	switch kind {
	case eventlog.KindOpenAIChat, eventlog.KindOpenAICompletion:
		return "max_tokens"
	case eventlog.KindOpenAIResponse:
		return "max_output_tokens"
	}
	return ""
}

// setsParameter reports whether /api/show's parameters text (one
// "name value" per line) sets name.
func setsParameter(params, name string) bool {
	for _, line := range strings.Split(params, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

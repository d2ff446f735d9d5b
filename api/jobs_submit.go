package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// jobFields are foreman's own fields in a POST /jobs body; they are taken
// out before the request is stored, and never reach the target.
type jobFields struct {
	Kind       eventlog.Kind
	WebhookURL string
	Priority   int
	Timeout    time.Duration // 0: the daemon's
}

// splitJobBody separates foreman's fields from the Ollama request, which
// keeps the caller's own text: the members are found without decoding
// them (objectMembers), and the request is decoded once, by parseOllama.
func splitJobBody(body []byte) (jobFields, []byte, error) {
	var f jobFields
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil, &requestError{http.StatusBadRequest, "missing request body"}
	}
	if !json.Valid(body) || body[skipSpace(body, 0)] != '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return f, nil, &requestError{http.StatusBadRequest, "invalid JSON: " + err.Error()}
		}
		return f, nil, &requestError{http.StatusBadRequest, "the body must be a JSON object"}
	}
	ms := objectMembers(body)
	var drop []int
	shape := make(map[string]json.RawMessage, 2) // what inferKind looks at
	for i, m := range ms {
		var err error
		switch m.name {
		case "kind":
			err = fieldValue(m, &f.Kind)
		case "state_webhook_url":
			err = fieldValue(m, &f.WebhookURL)
		case "priority":
			err = fieldValue(m, &f.Priority)
		case "timeout":
			f.Timeout, err = parseTimeout(m.value)
		case "messages", "prompt":
			shape[m.name] = m.value
			continue
		default:
			continue
		}
		if err != nil {
			return f, nil, err
		}
		drop = append(drop, i)
	}
	if f.Kind != "" && f.Kind != eventlog.KindChat && f.Kind != eventlog.KindGenerate && !openAIKind(f.Kind) {
		return f, nil, &requestError{http.StatusBadRequest, fmt.Sprintf(`field "kind": want "chat", "generate", "openai.chat", "openai.completion", "openai.response" or "openai.embedding", got %q`, f.Kind)}
	}
	if openAIKind(f.Kind) {
		// An OpenAI body is stored as the caller wrote it, foreman's
		// fields taken out; its kind is named, never inferred.
		return f, withoutMembers(body, ms, drop), nil
	}
	kind, err := inferKind(f.Kind, shape)
	if err != nil {
		return f, nil, err
	}
	f.Kind = kind
	return f, withoutMembers(body, ms, drop), nil
}

// fieldValue decodes one of foreman's fields.
func fieldValue(m member, dst any) error {
	if err := json.Unmarshal(m.value, dst); err != nil {
		return &requestError{http.StatusBadRequest, fmt.Sprintf("field %q: %v", m.name, err)}
	}
	return nil
}

// checkWebhookURL accepts absolute http(s) URLs, on the allowlist if any.
func (s *Server) checkWebhookURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &requestError{http.StatusBadRequest, `field "state_webhook_url": want an absolute http(s) URL`}
	}
	if s.cfg.WebhookHosts != nil && !s.cfg.WebhookHosts.AllowsHost(u.Hostname()) {
		return &requestError{http.StatusBadRequest, fmt.Sprintf(`field "state_webhook_url": host %q is not allowed (FOREMAN_WEBHOOK_ALLOW; link-local and metadata addresses only when listed)`, u.Hostname())}
	}
	return nil
}

// submitJob serves POST /jobs. The 202 is sent only once the submission is
// synced and the projections include it, so that a GET right after finds
// the job.
func (s *Server) submitJob(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if k := r.Header.Get("Idempotency-Key"); len(k) > MaxIdempotencyKey {
		dropBody(w, r)
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Idempotency-Key is %d bytes: the limit is %d", len(k), MaxIdempotencyKey))
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	f, req, err := splitJobBody(body)
	var sh shape
	switch {
	case err == nil && openAIKind(f.Kind):
		sh, err = openAIShape(f.Kind, req)
	case err == nil:
		sh, err = parseOllama(f.Kind, req)
	}
	if err == nil {
		err = s.checkWebhookURL(f.WebhookURL)
	}
	if err == nil {
		err = s.checkTimeout(f.Timeout)
	}
	if err == nil {
		req, err = s.fitTarget(r, sh, req)
	}
	if err != nil {
		s.refuse(w, err)
		return
	}
	caller, key := Caller(r.Context()), r.Header.Get("Idempotency-Key")
	sum := sha256.Sum256(body)
	ctx := r.Context()
	if key != "" {
		unlock := s.keys.lock(caller + "\x00" + key)
		defer unlock()
		// The key is free again only once the projections show this
		// job: a caller that leaves early must not let a retry with the
		// same key in before then, or the retry makes a second job.
		ctx = context.WithoutCancel(ctx)
		if id, ok, err := s.cfg.Jobs.Idempotent(caller, key); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		} else if ok {
			if j, err := s.cfg.Jobs.Job(id); err == nil && !bytes.Equal(j.BodySHA256, sum[:]) {
				writeError(w, http.StatusConflict, "Idempotency-Key was already used with a different body")
				return
			}
			writeJSON(w, http.StatusAccepted, map[string]string{"job_id": id.String()})
			return
		}
	}
	if retry, full := s.queueFull(r.Context()); full {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("queue is full (%d jobs waiting, FOREMAN_MAX_QUEUE)", s.cfg.MaxQueue))
		return
	}
	id := ulid.Make()
	evs, err := s.cfg.Log.Append(ctx, submission(id, eventlog.Submitted{
		Model: sh.model, Kind: f.Kind, WebhookURL: f.WebhookURL, Priority: f.Priority,
		IdempotencyKey: key, BodySHA256: sum[:], Submitter: caller, MaxAttempts: s.cfg.MaxAttempts,
		Timeout: int64(f.Timeout),
	}, req))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot store the job: "+err.Error())
		return
	}
	// Without a key the 202 goes out as soon as the job is durable: reads
	// wait for the projections instead (readLatest), so a GET right after
	// still finds it. With a key, the key stays locked until the
	// projections show the job (above).
	if key != "" {
		if err := s.cfg.Jobs.WaitFor(ctx, evs[0].Offset); err != nil && !errors.Is(err, projections.ErrStopped) {
			return // the caller left; the job is durable all the same
		}
	}
	w.Header().Set("Location", "/jobs/"+id.String())
	writeAccepted(w, id)
}

// writeAccepted writes POST /jobs's 202, {"job_id":"…"}, as writeJSON
// would, without encoding a map for each of many submissions.
func writeAccepted(w http.ResponseWriter, id ulid.ULID) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	b := make([]byte, 0, 48)
	b = append(b, `{"job_id":"`...)
	b = append(b, id.String()...)
	w.Write(append(b, "\"}\n"...))
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes (as
// the large public APIs do); the key is stored with the job.
const MaxIdempotencyKey = 255

// keyLocks serializes work per idempotency key.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

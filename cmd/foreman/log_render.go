package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

// This file turns an event payload into an ordered list of fields that both
// the human renderings (dump, job) and the JSON export use, so the two never
// disagree. docs/export-format.md documents the JSON side.

// field is one key of a rendered payload.
type field struct {
	key string
	val any
}

// fields is a payload rendered in a fixed key order; it marshals as a JSON
// object in that order.
type fields []field

// MarshalJSON writes the fields as one object, keys in order.
func (fs fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshalJSON(f.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalJSON(f.val)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// human renders the non-zero fields as space-separated key=value pairs.
func (fs fields) human() string {
	var parts []string
	for _, f := range fs {
		if _, ok := f.val.(jsonOnly); ok || f.val == nil || reflect.ValueOf(f.val).IsZero() {
			continue
		}
		parts = append(parts, f.key+"="+humanValue(f.val))
	}
	return strings.Join(parts, " ")
}

func humanValue(v any) string {
	switch v := v.(type) {
	case fmt.Stringer:
		return v.String()
	case string:
		return quoteIfNeeded(v)
	case bool, int, int64, uint64, uint8:
		return fmt.Sprint(v)
	}
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// quoteIfNeeded leaves a plain word as is and quotes anything else, so that
// key=value pairs stay unambiguous.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '=' || r == '\\' || r == utf8.RuneError || r > '~'
	}) {
		return strconv.Quote(s)
	}
	return s
}

// marshalJSON is json.Marshal without HTML escaping and without the
// trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// requestBody is an inline request: embedded JSON when it is valid JSON,
// else base64; a human rendering shows only its size.
type requestBody []byte

func (r requestBody) MarshalJSON() ([]byte, error) {
	switch {
	case r == nil:
		return []byte("null"), nil
	case json.Valid(r):
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil { // one export line per event
			return nil, err
		}
		return b.Bytes(), nil
	}
	return json.Marshal([]byte(r))
}

func (r requestBody) String() string { return fmt.Sprintf("%dB", len(r)) }

// encoding says how MarshalJSON renders the body.
func (r requestBody) encoding() string {
	switch {
	case r == nil:
		return "none"
	case json.Valid(r):
		return "json"
	}
	return "base64"
}

// hexBytes is a digest: hex in JSON, abbreviated for humans.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h hexBytes) String() string {
	s := hex.EncodeToString(h)
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// unixNanos is a time stored as unix nanoseconds; it renders as RFC 3339
// text (JSON null when unset), since the integers exceed what a float64
// JSON reader holds exactly.
type unixNanos int64

func (u unixNanos) MarshalJSON() ([]byte, error) {
	if u == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(u.String())
}

func (u unixNanos) String() string { return time.Unix(0, int64(u)).UTC().Format(time.RFC3339Nano) }

// jsonOnly is a field that only the JSON rendering shows.
type jsonOnly string

// redactURL keeps a webhook URL's scheme, host and path, and drops its
// query, fragment and user info, where tokens live.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "[redacted]"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}

// blobName renders a blob key readably: the 16 raw job id bytes of request
// and artifact keys become the ULID text (r/<ULID>, a/<ULID>/<name>).
func blobName(k string) string {
	if len(k) >= 2+len(ulid.ULID{}) && (k[:2] == "r/" || k[:2] == "a/") {
		var id ulid.ULID
		copy(id[:], k[2:18])
		switch rest := k[18:]; {
		case k[0] == 'r' && rest == "":
			return "r/" + id.String()
		case k[0] == 'a' && utf8.ValidString(rest):
			return "a/" + id.String() + "/" + rest
		}
	}
	if utf8.ValidString(k) {
		return k
	}
	return "base64:" + base64.StdEncoding.EncodeToString([]byte(k))
}

// renderPayload decodes e's payload with its struct and returns its fields
// in struct order, followed by any keys a newer foreman added (sorted).
// Unknown types are decoded generically. A payload that does not decode is
// a *eventlog.CorruptError.
func renderPayload(e eventlog.Event) (fields, error) {
	known, err := knownFields(e)
	if err != nil {
		return nil, err
	}
	generic, err := decodeGeneric(e.Payload)
	if err != nil {
		if known != nil {
			return known, nil // the struct decoded; nothing more to add
		}
		return nil, &eventlog.CorruptError{Offset: e.Offset, Reason: fmt.Sprintf("payload of %s: %v", e.Type, err)}
	}
	m, isMap := generic.(map[string]any)
	if known == nil && !isMap {
		return fields{{"value", generic}}, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !slices.ContainsFunc(known, func(f field) bool { return f.key == k }) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := known
	if out == nil {
		out = fields{}
	}
	for _, k := range keys {
		out = append(out, field{k, m[k]})
	}
	return out, nil
}

// knownFields returns nil fields for a type this foreman does not know.
func knownFields(e eventlog.Event) (fields, error) {
	switch e.Type {
	case eventlog.JobSubmitted:
		var p eventlog.Submitted
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		req := requestBody(p.Request)
		return fields{
			{"model", p.Model}, {"kind", string(p.Kind)},
			{"request", req}, {"request_encoding", jsonOnly(req.encoding())},
			{"request_blob", blobName(p.RequestBlob)}, {"request_size", p.RequestSize},
			{"request_sha256", hexBytes(p.RequestSHA256)}, {"webhook_url", redactURL(p.WebhookURL)},
			{"idempotency_key", p.IdempotencyKey}, {"priority", p.Priority}, {"sync", p.Sync},
			{"submitter", p.Submitter}, {"max_attempts", p.MaxAttempts},
		}, nil
	case eventlog.JobStarted:
		var p eventlog.Started
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"attempt", p.Attempt}}, nil
	case eventlog.AttemptFailed:
		var p eventlog.AttemptFailure
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"attempt", p.Attempt}, {"retryable", p.Retryable}, {"error", p.Error},
			{"status", p.Status}, {"retry_at", unixNanos(p.RetryAt)}}, nil
	case eventlog.JobSucceeded:
		var p eventlog.Succeeded
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"attempt", p.Attempt}, {"result", p.Result}}, nil
	case eventlog.JobFailed:
		var p eventlog.Failure
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"attempt", p.Attempt}, {"error", p.Error}, {"status", p.Status}}, nil
	case eventlog.CancelRequested:
		var p eventlog.CancelRequest
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"reason", p.Reason}, {"by", p.By}}, nil
	case eventlog.JobCancelled:
		var p eventlog.Cancellation
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"reason", p.Reason}}, nil
	case eventlog.ArtifactStored:
		var p eventlog.Artifact
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"name", p.Name}, {"content_type", p.ContentType}, {"size", p.Size},
			{"sha256", hexBytes(p.SHA256)}, {"blob", blobName(p.Blob)}}, nil
	case eventlog.JobInterrupted:
		var p eventlog.Interruption
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"attempt", p.Attempt}, {"reason", p.Reason}, {"requeued", p.Requeued},
			{"counts_attempt", p.CountsAttempt}}, nil
	case eventlog.JobExpired:
		var p eventlog.Expiry
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"reason", p.Reason}}, nil
	case eventlog.JobRequeued:
		var p eventlog.Requeue
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"reason", p.Reason}, {"by", p.By}}, nil
	case eventlog.WebhookAttempted, eventlog.WebhookDelivered, eventlog.WebhookGaveUp:
		var p eventlog.WebhookAttempt
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return fields{{"event", p.Event}, {"attempt", p.Attempt}, {"status", p.Status}, {"error", p.Error}}, nil
	}
	return nil, nil
}

// decodeGeneric decodes msgpack without a schema into values encoding/json
// accepts: maps with string keys, binary as base64, NaN and ±Inf as strings.
func decodeGeneric(payload []byte) (any, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(payload))
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	v, err := dec.DecodeInterface()
	if err != nil {
		return nil, err
	}
	return jsonSafe(v), nil
}

func jsonSafe(v any) any {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			m[ks] = jsonSafe(x)
		}
		return m
	case map[string]any:
		for k, x := range v {
			v[k] = jsonSafe(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = jsonSafe(x)
		}
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprint(v)
		}
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Sprint(v)
		}
	}
	return v
}

// exportRecord is one line of `foreman log export` and `dump --json`.
type exportRecord struct {
	Offset  uint64 `json:"offset"`
	Time    string `json:"time"`
	Job     string `json:"job"`
	Type    string `json:"type"`
	Version uint8  `json:"version"`
	Payload any    `json:"payload"`
	// PayloadError is set by dump (never by export) for a payload that does
	// not decode; Payload is then null.
	PayloadError string `json:"payload_error,omitempty"`
}

func newExportRecord(e eventlog.Event, payload fields) exportRecord {
	r := exportRecord{
		Offset: e.Offset, Time: e.Time.UTC().Format(time.RFC3339Nano), Job: e.Job.String(),
		Type: string(e.Type), Version: e.Version,
	}
	if payload != nil {
		r.Payload = payload
	}
	return r
}

// newJSONLines returns an encoder writing one compact object per line.
func newJSONLines(o output) *json.Encoder {
	enc := json.NewEncoder(o)
	enc.SetEscapeHTML(false)
	return enc
}

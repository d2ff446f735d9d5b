package eventlog

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// The JSON form of an event lives here, beside the payload structs, so that
// every reader of the log (foreman log export/dump, GET /events, GET
// /jobs/{id}/events) renders it the same way. docs/export-format.md is its
// contract: fields are added, never renamed.

// EventJSON is one event as JSON.
type EventJSON struct {
	Offset  uint64 `json:"offset"`
	Time    string `json:"time"`
	Job     string `json:"job"`
	Type    string `json:"type"`
	Version uint8  `json:"version"`
	// Payload is the decoded payload: Fields when rendered, a generic
	// map[string]any when a client reads the JSON back; nil (null) when
	// it does not decode.
	Payload any `json:"payload"`
	// PayloadError is set, by readers that go on past an undecodable
	// payload, instead of Payload.
	PayloadError string `json:"payload_error,omitempty"`
}

// NewEventJSON renders e's envelope around already rendered payload fields
// (nil: a null payload).
func NewEventJSON(e Event, payload Fields) EventJSON {
	r := EventJSON{
		Offset: e.Offset, Time: e.Time.UTC().Format(time.RFC3339Nano), Job: e.Job.String(),
		Type: string(e.Type), Version: e.Version,
	}
	if payload != nil {
		r.Payload = payload
	}
	return r
}

// RenderEvent renders e. A payload that does not decode gives a record
// with a null payload and PayloadError set, and the *CorruptError, so that
// the caller chooses between stopping and going on.
func RenderEvent(e Event) (EventJSON, error) {
	fs, err := PayloadFields(e)
	r := NewEventJSON(e, fs)
	if err != nil {
		r.PayloadError = err.Error()
	}
	return r, err
}

// JSON returns e as one compact JSON object without a trailing newline and
// without HTML escaping; an undecodable payload is an error.
func JSON(e Event) ([]byte, error) {
	r, err := RenderEvent(e)
	if err != nil {
		return nil, err
	}
	return MarshalCompact(r)
}

// MarshalCompact is json.Marshal without HTML escaping (a "<" in a prompt
// stays "<") and without the encoder's trailing newline.
func MarshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Field is one key of a rendered payload. JSONOnly marks a key that only
// the JSON rendering shows (human renderings skip it).
type Field struct {
	Key      string
	Value    any
	JSONOnly bool
}

// Fields is a payload rendered in a fixed key order; it marshals as a JSON
// object in that order (nil: null).
type Fields []Field

// MarshalJSON writes the fields as one object, keys in order.
func (fs Fields) MarshalJSON() ([]byte, error) {
	if fs == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := MarshalCompact(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := MarshalCompact(f.Value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// PayloadFields decodes e's payload with its struct and returns its fields
// in struct order, followed by any keys a newer foreman added (sorted).
// Unknown types are decoded generically. A payload that does not decode is
// a *CorruptError.
func PayloadFields(e Event) (Fields, error) {
	known, err := knownFields(e)
	if err != nil {
		return nil, err
	}
	generic, err := decodeGeneric(e.Payload)
	if err != nil {
		if known != nil {
			return known, nil // the struct decoded; nothing more to add
		}
		return nil, &CorruptError{Offset: e.Offset, Reason: fmt.Sprintf("payload of %s: %v", e.Type, err)}
	}
	m, isMap := generic.(map[string]any)
	if known == nil && !isMap {
		return Fields{{Key: "value", Value: generic}}, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !slices.ContainsFunc(known, func(f Field) bool { return f.Key == k }) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := known
	if out == nil {
		out = Fields{}
	}
	for _, k := range keys {
		out = append(out, Field{Key: k, Value: m[k]})
	}
	return out, nil
}

// RedactURL keeps a webhook URL's scheme, host and path, and drops its
// query, fragment and user info, where tokens live. A URL without a scheme
// and host becomes "[redacted]".
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "[redacted]"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}

// BlobName renders a blob key readably: the 16 raw job id bytes of request
// and artifact keys become the ULID text (r/<ULID>, a/<ULID>/<name>);
// a file part's key becomes f/<ULID>/<index>; another key that is not UTF-8 becomes base64:<standard base64>.
func BlobName(k string) string {
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
	if len(k) == 2+len(ulid.ULID{})+4 && k[:2] == "f/" {
		var id ulid.ULID
		copy(id[:], k[2:18])
		return fmt.Sprintf("f/%s/%d", id, binary.BigEndian.Uint32([]byte(k[18:])))
	}
	if utf8.ValidString(k) {
		return k
	}
	return "base64:" + base64.StdEncoding.EncodeToString([]byte(k))
}

// HexBytes is a digest: lowercase hex in JSON, abbreviated by String.
type HexBytes []byte

// MarshalJSON writes the digest as hex ("" when empty).
func (h HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h HexBytes) String() string {
	s := hex.EncodeToString(h)
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// requestBody is an inline request: embedded JSON when it is valid JSON,
// else base64; String shows only its size.
type requestBody []byte

func (r requestBody) MarshalJSON() ([]byte, error) {
	switch {
	case r == nil:
		return []byte("null"), nil
	case json.Valid(r):
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil { // one line per event
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

// knownFields returns nil fields for a type this foreman does not know.
func knownFields(e Event) (Fields, error) {
	f := func(k string, v any) Field { return Field{Key: k, Value: v} }
	switch e.Type {
	case JobSubmitted:
		var p Submitted
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		req := requestBody(p.Request)
		fs := Fields{
			f("model", p.Model), f("kind", string(p.Kind)),
			f("request", req), {Key: "request_encoding", Value: req.encoding(), JSONOnly: true},
			f("request_blob", BlobName(p.RequestBlob)), f("request_size", p.RequestSize),
			f("request_sha256", HexBytes(p.RequestSHA256)), f("webhook_url", RedactURL(p.WebhookURL)),
			f("idempotency_key", p.IdempotencyKey), f("priority", p.Priority), f("sync", p.Sync),
			f("submitter", p.Submitter), f("max_attempts", p.MaxAttempts),
			f("body_sha256", HexBytes(p.BodySHA256)),
		}
		if p.Batch != "" { // a batch line's; absent for other jobs, so older outputs stay as they were
			fs = append(fs, f("batch", p.Batch), f("custom_id", p.CustomID), f("line", p.Line))
		}
		return fs, nil
	case JobStarted:
		var p Started
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("attempt", p.Attempt)}, nil
	case AttemptFailed:
		var p AttemptFailure
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("attempt", p.Attempt), f("retryable", p.Retryable), f("error", p.Error),
			f("status", p.Status), f("retry_at", unixNanos(p.RetryAt))}, nil
	case JobSucceeded:
		var p Succeeded
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		fs := Fields{f("attempt", p.Attempt), f("result", p.Result)}
		if p.Status != 0 { // the OpenAI kinds only
			fs = append(fs, f("status", p.Status))
		}
		return fs, nil
	case JobFailed:
		var p Failure
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		fs := Fields{f("attempt", p.Attempt), f("error", p.Error), f("status", p.Status)}
		if p.Result != "" { // the OpenAI kinds only
			fs = append(fs, f("result", p.Result))
		}
		return fs, nil
	case CancelRequested:
		var p CancelRequest
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("reason", p.Reason), f("by", p.By)}, nil
	case JobCancelled:
		var p Cancellation
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("reason", p.Reason)}, nil
	case ArtifactStored:
		var p Artifact
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("name", p.Name), f("content_type", p.ContentType), f("size", p.Size),
			f("sha256", HexBytes(p.SHA256)), f("blob", BlobName(p.Blob))}, nil
	case JobInterrupted:
		var p Interruption
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("attempt", p.Attempt), f("reason", p.Reason), f("requeued", p.Requeued),
			f("counts_attempt", p.CountsAttempt)}, nil
	case JobExpired:
		var p Expiry
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("reason", p.Reason)}, nil
	case JobRequeued:
		var p Requeue
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("reason", p.Reason), f("by", p.By)}, nil
	case WebhookAttempted, WebhookDelivered, WebhookGaveUp:
		var p WebhookAttempt
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("event", p.Event), f("attempt", p.Attempt), f("status", p.Status), f("error", p.Error),
			f("replay", p.Replay)}, nil
	case WebhookReplay:
		var p Replay
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("from", p.From), f("to", p.To), f("job", jobID(p.Job)), f("by", p.By)}, nil
	case LogLost:
		var p Lost
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("from", p.From), f("to", p.To), f("by", p.By)}, nil
	case BatchCreated:
		var p BatchCreate
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("input_file", p.InputFile), f("endpoint", p.Endpoint), f("completion_window", p.CompletionWindow),
			f("expires_at", unixNanos(p.ExpiresAt)), f("metadata", p.Metadata), f("priority", p.Priority),
			f("webhook_url", RedactURL(p.WebhookURL)), f("submitter", p.Submitter), f("max_attempts", p.MaxAttempts)}, nil
	case FileUploaded:
		var p FileUpload
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("filename", p.Filename), f("purpose", p.Purpose), f("bytes", p.Bytes), f("parts", p.Parts),
			f("sha256", HexBytes(p.SHA256)), f("lines", p.Lines), f("batch", p.Batch), f("submitter", p.Submitter)}, nil
	case FilePart:
		var p Part
		if err := e.Decode(&p); err != nil {
			return nil, err
		}
		return Fields{f("index", p.Index), f("size", p.Size), f("blob", BlobName(p.Blob))}, nil
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

// jobID renders a job id held as its 16 bytes as the ULID text, like the
// envelope's own job; "" when absent, hex when it is not 16 bytes long.
func jobID(b []byte) any {
	switch len(b) {
	case 0:
		return ""
	case len(ulid.ULID{}):
		return ulid.ULID(b).String()
	}
	return HexBytes(b)
}

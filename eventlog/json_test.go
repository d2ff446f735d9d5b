package eventlog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// TestJSONRendersStoredEvents renders events read back from a real store
// on disk, as GET /events and foreman log export see them.
func TestJSONRendersStoredEvents(t *testing.T) {
	t.Parallel()
	l, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	job := ulid.Make()
	sub := &Submitted{Model: "tiny-a", Kind: KindChat, Request: []byte("{\n \"model\": \"tiny-a\", \"p\": \"<b>\"\n}"),
		RequestSHA256: []byte{0xab, 0xcd}, WebhookURL: "https://u:pw@hooks.example:8443/x?token=secret#f", Priority: 2}
	evs, err := l.Append(t.Context(), Record{Job: job, Type: JobSubmitted, Payload: sub},
		Record{Job: job, Type: AttemptFailed, Payload: &AttemptFailure{Attempt: 1, Error: "boom", RetryAt: 1_700_000_000_000_000_001}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := l.JobEvents(job)
	if err != nil || len(stored) != 2 {
		t.Fatalf("job events: %v %v", stored, err)
	}
	b, err := JSON(stored[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"offset":1,"time":"` + evs[0].Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") + `","job":"` + job.String() +
		`","type":"job.submitted","version":1,"payload":{"model":"tiny-a","kind":"chat","request":{"model":"tiny-a","p":"<b>"},` +
		`"request_encoding":"json","request_blob":"","request_size":0,"request_sha256":"abcd",` +
		`"webhook_url":"https://hooks.example:8443/x","idempotency_key":"","priority":2,"sync":false,"submitter":"","max_attempts":0,"body_sha256":""}}`
	if string(b) != want {
		t.Fatalf("submitted:\n got %s\nwant %s", b, want)
	}
	if strings.Contains(string(b), "secret") || strings.Contains(string(b), "pw") {
		t.Fatal("webhook credentials leaked")
	}
	b, err = JSON(stored[1])
	if err != nil || !strings.Contains(string(b), `"payload":{"attempt":1,"retryable":false,"error":"boom","status":0,"retry_at":"2023-11-14T22:13:20.000000001Z"}`) {
		t.Fatalf("attempt failed: %s %v", b, err)
	}
}

func TestRenderEventKeepsAnUndecodablePayloadAsAnError(t *testing.T) {
	t.Parallel()
	e := Event{Offset: 4, Job: ulid.Make(), Type: JobStarted, Version: 1, Payload: []byte{0x93, 1, 2, 3}}
	r, err := RenderEvent(e)
	if err == nil || r.Payload != nil || !strings.Contains(r.PayloadError, "offset 4") {
		t.Fatalf("record %+v err %v", r, err)
	}
	b, _ := MarshalCompact(r)
	if !strings.Contains(string(b), `"payload":null,"payload_error":`) {
		t.Fatalf("json %s", b)
	}
	if _, err := JSON(e); err == nil {
		t.Fatal("JSON of an undecodable payload succeeded")
	}
}

func TestPayloadFieldsFromANewerForeman(t *testing.T) {
	t.Parallel()
	raw, err := msgpack.Marshal(map[any]any{1: "int key", "f": 1.5, "list": []any{"a", map[string]any{"b": true}}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := PayloadFields(Event{Offset: 7, Type: "job.newer", Payload: raw})
	if b, _ := json.Marshal(fs); err != nil || string(b) != `{"1":"int key","f":1.5,"list":["a",{"b":true}]}` {
		t.Fatalf("generic payload %s %v", b, err)
	}
	newer, _ := msgpack.Marshal(map[string]any{"attempt": 2, "zeta": "z", "alpha": 1})
	fs, err = PayloadFields(Event{Type: JobStarted, Payload: newer})
	if b, _ := json.Marshal(fs); err != nil || string(b) != `{"attempt":2,"alpha":1,"zeta":"z"}` {
		t.Fatalf("known type with new keys %s %v", b, err)
	}
	scalar, _ := msgpack.Marshal("just a string")
	fs, err = PayloadFields(Event{Type: "job.newer", Payload: scalar})
	if b, _ := json.Marshal(fs); err != nil || string(b) != `{"value":"just a string"}` {
		t.Fatalf("scalar payload: %s %v", b, err)
	}
	if _, err = PayloadFields(Event{Offset: 9, Type: "job.newer", Payload: []byte{0xc1}}); err == nil || !strings.Contains(err.Error(), "offset 9") {
		t.Fatalf("undecodable generic payload: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                   "",
		"https://hooks.example/x?token=abc":  "https://hooks.example/x",
		"https://u:p@hooks.example:8443/a/b": "https://hooks.example:8443/a/b",
		"http://hooks.example/x#frag":        "http://hooks.example/x",
		"http://hooks.example":               "http://hooks.example",
		"hooks.example/x?token=abc":          "[redacted]",
		"::not a url":                        "[redacted]",
		"https://hooks.example/a%2Fb?k=v":    "https://hooks.example/a%2Fb",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBlobName(t *testing.T) {
	t.Parallel()
	id := ulid.Make()
	for in, want := range map[string]string{
		RequestBlob(id):                 "r/" + id.String(),
		ArtifactBlob(id, "result.json"): "a/" + id.String() + "/result.json",
		"plain/key":                     "plain/key",
		"x\xff":                         "base64:eP8=",
		"":                              "",
	} {
		if got := BlobName(in); got != want {
			t.Errorf("BlobName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestBody(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in       []byte
		json, en string
	}{
		{nil, `null`, "none"},
		{[]byte("{\n \"a\": [1, 2]\n}\n"), `{"a":[1,2]}`, "json"},
		{[]byte(`"str"`), `"str"`, "json"},
		{[]byte{0xff}, `"/w=="`, "base64"},
		{[]byte("{not json"), `"e25vdCBqc29u"`, "base64"},
	} {
		b, err := json.Marshal(requestBody(c.in))
		if err != nil || string(b) != c.json || requestBody(c.in).encoding() != c.en {
			t.Errorf("request %q: %s %s (%v), want %s %s", c.in, b, requestBody(c.in).encoding(), err, c.json, c.en)
		}
	}
}

func TestUnixNanos(t *testing.T) {
	t.Parallel()
	if b, _ := json.Marshal(unixNanos(0)); string(b) != "null" {
		t.Fatalf("unset: %s", b)
	}
	if b, _ := json.Marshal(unixNanos(1_700_000_000_000_000_001)); string(b) != `"2023-11-14T22:13:20.000000001Z"` {
		t.Fatalf("set: %s", b)
	}
}

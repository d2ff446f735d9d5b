package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

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
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBlobName(t *testing.T) {
	t.Parallel()
	id := ulid.Make()
	for in, want := range map[string]string{
		eventlog.RequestBlob(id):                 "r/" + id.String(),
		eventlog.ArtifactBlob(id, "result.json"): "a/" + id.String() + "/result.json",
		"plain/key":                              "plain/key",
		"x\xff":                                  "base64:eP8=",
		"":                                       "",
	} {
		if got := blobName(in); got != want {
			t.Errorf("blobName(%q) = %q, want %q", in, got, want)
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

func TestRenderPayloadGeneric(t *testing.T) {
	t.Parallel()
	raw, err := msgpack.Marshal(map[any]any{1: "int key", "f": 1.5, "list": []any{"a", map[string]any{"b": true}}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := renderPayload(eventlog.Event{Offset: 7, Type: "job.newer", Payload: raw})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"1":"int key","f":1.5,"list":["a",{"b":true}]}`; string(b) != want {
		t.Fatalf("generic payload %s, want %s", b, want)
	}
	if h := fs.human(); h != `1="int key" f=1.5 list=["a",{"b":true}]` {
		t.Fatalf("human: %s", h)
	}
	scalar, _ := msgpack.Marshal("just a string")
	fs, err = renderPayload(eventlog.Event{Type: "job.newer", Payload: scalar})
	if b, _ := json.Marshal(fs); err != nil || string(b) != `{"value":"just a string"}` {
		t.Fatalf("scalar payload: %s %v", b, err)
	}
	_, err = renderPayload(eventlog.Event{Offset: 9, Type: "job.newer", Payload: []byte{0xc1}})
	if err == nil || !strings.Contains(err.Error(), "offset 9") {
		t.Fatalf("undecodable generic payload: %v", err)
	}
}

func TestQuoteIfNeeded(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain": "plain", "": `""`, "two words": `"two words"`, "a=b": `"a=b"`, "é": `"é"`, "tab\t": `"tab\t"`,
	} {
		if got := quoteIfNeeded(in); got != want {
			t.Errorf("quoteIfNeeded(%q) = %s, want %s", in, got, want)
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

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

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

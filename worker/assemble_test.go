package worker

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestAssembleChatStreamEqualsNonStream(t *testing.T) {
	// From ../shared/real-ollama/samples/chat-stream.txt.
	lines := []string{
		`{"model":"tiny-a","created_at":"2026-11-23T19:50:38.961800224Z","message":{"role":"assistant","content":"ollama"},"done":false}`,
		`{"model":"tiny-a","created_at":"2026-11-23T19:50:38.969654951Z","message":{"role":"assistant","content":" the"},"done":false}`,
		`{"model":"tiny-a","created_at":"2026-11-23T19:50:38.970002174Z","message":{"role":"assistant","content":"cd"},"done":false}`,
		`{"model":"tiny-a","created_at":"2026-11-23T19:50:38.972644158Z","message":{"role":"assistant","content":"4"},"done":false}`,
		`{"model":"tiny-a","created_at":"2026-11-23T19:50:38.973669535Z","message":{"role":"assistant","content":"1"},"done":false}`,
		`{"model":"tiny-a","created_at":"2026-11-23T19:50:38.973795402Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","total_duration":17673008,"load_duration":3748442,"prompt_eval_count":22,"prompt_eval_duration":496890,"eval_count":8,"eval_duration":12018438,"future_field":{"x":1}}`,
	}
	a := &assembler{kind: "chat"}
	for _, l := range lines {
		if err := a.add([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := a.result()
	if !ok {
		t.Fatal("no result")
	}
	var m map[string]any
	json.Unmarshal(got, &m)
	msg := m["message"].(map[string]any)
	if msg["content"] != "ollama thecd41" || msg["role"] != "assistant" || m["done_reason"] != "length" || m["eval_count"] != 8.0 {
		t.Fatalf("assembled %s", got)
	}
	if !reflect.DeepEqual(m["future_field"], map[string]any{"x": 1.0}) {
		t.Fatalf("unknown field lost: %s", got)
	}
}

func TestAssembleGenerateAndNonStream(t *testing.T) {
	a := &assembler{kind: "generate"}
	a.add([]byte(`{"model":"m","response":"he","done":false}`))
	a.add([]byte(`{"model":"m","response":"llo","done":false}`))
	if _, ok := a.result(); ok {
		t.Fatal("result before done")
	}
	a.add([]byte(`{"model":"m","response":"","done":true,"context":[1,2]}`))
	got, _ := a.result()
	var m map[string]any
	json.Unmarshal(got, &m)
	if m["response"] != "hello" || m["context"] == nil {
		t.Fatalf("assembled %s", got)
	}
	// A stream:false answer is one done chunk and comes back unchanged.
	one := `{"model":"m","response":"whole","done":true}`
	b := &assembler{kind: "generate"}
	b.add([]byte(one))
	got, _ = b.result()
	var x, y any
	json.Unmarshal(got, &x)
	json.Unmarshal([]byte(one), &y)
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("non-stream changed: %s", got)
	}
	if err := b.add([]byte("not json")); err == nil {
		t.Fatal("bad chunk accepted")
	}
}

package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// checkMembers compares objectMembers and withoutMembers with what
// encoding/json makes of the same object.
func checkMembers(t *testing.T, body []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	if !json.Valid(body) || body[skipSpace(body, 0)] != '{' || json.Unmarshal(body, &want) != nil {
		return
	}
	ms := objectMembers(body)
	got := map[string]json.RawMessage{}
	var drop []int
	for i, m := range ms {
		got[m.name] = m.value
		if !json.Valid(m.value) {
			t.Fatalf("member %q: value %q is not one JSON value", m.name, m.value)
		}
		if i%2 == 1 {
			drop = append(drop, i)
		}
	}
	if !reflect.DeepEqual(norm(t, got), norm(t, want)) {
		t.Fatalf("objectMembers(%s) = %v, want %v", body, got, want)
	}
	out := withoutMembers(body, ms, drop)
	var kept map[string]json.RawMessage
	if err := json.Unmarshal(out, &kept); err != nil {
		t.Fatalf("withoutMembers(%s) = %s: %v", body, out, err)
	}
	wantKept := map[string]json.RawMessage{}
	for i, m := range ms {
		if i%2 == 0 {
			wantKept[m.name] = m.value
		}
	}
	if !reflect.DeepEqual(norm(t, kept), norm(t, wantKept)) {
		t.Fatalf("withoutMembers(%s) = %s, want the even members %v", body, out, wantKept)
	}
}

// norm compacts each raw value so that spacing does not count.
func norm(t *testing.T, m map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			t.Fatal(err)
		}
		out[k] = b.String()
	}
	return out
}

var memberSeeds = []string{
	`{}`,
	` { } `,
	`{"model":"tiny-a","messages":[{"role":"user","content":"hi, {there} [x] \"q\" \\"}],"priority":3}`,
	"{\n\t\"a\" : 1 ,\r\n \"b\":-2.5e3,\"c\":true,\"d\":false,\"e\":null,\"f\":{\"g\":[[],{}]}}",
	`{"pri\u006frity":1,"x":"\u00e9\ud83d\ude00","a":1,"a":2}`,
	`{"kind":"chat","timeout":"90s","state_webhook_url":"http://x/y","options":{"seed":1}} `,
}

func TestObjectMembers(t *testing.T) {
	for _, s := range memberSeeds {
		checkMembers(t, []byte(s))
	}
	ms := objectMembers([]byte(`{"a" : [1,{"b":"}"}] , "c":"d"}`))
	if len(ms) != 2 || ms[0].name != "a" || string(ms[0].value) != `[1,{"b":"}"}]` || ms[1].name != "c" || string(ms[1].value) != `"d"` {
		t.Fatalf("members = %+v", ms)
	}
	if got := withoutMembers([]byte(`{"a":1, "b":2}`), objectMembers([]byte(`{"a":1, "b":2}`)), nil); string(got) != `{"a":1, "b":2}` {
		t.Fatalf("nothing dropped: %s, want the body as it came", got)
	}
}

func FuzzObjectMembers(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkMembers(t, body) })
}

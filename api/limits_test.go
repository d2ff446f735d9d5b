package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/eventlog"
)

func (b *testBundle) stored(t *testing.T, id string) eventlog.Submitted {
	t.Helper()
	hist, err := b.log.JobEvents(ulid.MustParse(id))
	if err != nil || len(hist) == 0 {
		t.Fatalf("history of %s: %v", id, err)
	}
	var sub eventlog.Submitted
	if err := hist[0].Decode(&sub); err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestSubmitTimeout(t *testing.T) {
	b := setupJobs(t, func(c *Config) { c.MaxJobTimeout = time.Hour })
	for body, want := range map[string]time.Duration{
		`{"model":"tiny-a","messages":[],"timeout":"90s"}`: 90 * time.Second,
		`{"model":"tiny-a","messages":[],"timeout":30}`:    30 * time.Second,
		`{"model":"tiny-a","messages":[],"timeout":"1h"}`:  time.Hour,
		`{"model":"tiny-a","messages":[]}`:                 0,
	} {
		sub := b.stored(t, b.submit(t, body))
		if time.Duration(sub.Timeout) != want || strings.Contains(string(sub.Request), "timeout") {
			t.Errorf("%s: stored timeout %s, request %s", body, time.Duration(sub.Timeout), sub.Request)
		}
	}
	before := b.log.LastOffset()
	for body, msg := range map[string]string{
		`{"model":"tiny-a","messages":[],"timeout":"61m"}`:  `1h1m0s is over the maximum of 1h0m0s (FOREMAN_MAX_JOB_TIMEOUT)`,
		`{"model":"tiny-a","messages":[],"timeout":"-1s"}`:  `must be positive`,
		`{"model":"tiny-a","messages":[],"timeout":0}`:      `must be positive`,
		`{"model":"tiny-a","messages":[],"timeout":"soon"}`: `"soon" is not a duration`,
		`{"model":"tiny-a","messages":[],"timeout":true}`:   `want a duration`,
		`{"model":"tiny-a","messages":[],"timeout":1e300}`:  `too long`,
	} {
		w := b.do(t, "POST", "/jobs", body)
		if got := errorOf(t, w); w.Code != http.StatusBadRequest || !strings.Contains(got, `field "timeout": `+msg) {
			t.Errorf("%s: %d %q", body, w.Code, got)
		}
	}
	if b.log.LastOffset() != before {
		t.Fatal("a refused timeout was queued")
	}
}

// A request that sets no num_predict gets the default cap; a caller's or
// the model's own is never overridden.
func TestSubmitCapsOutputWhenTheCallerSetNone(t *testing.T) {
	inv := &fakeInventory{models: map[string]bool{"tiny-a": true, "capped": true}, shows: map[string]ollama.ShowResponse{
		"capped": {Capabilities: capsOf("completion").Capabilities, Parameters: "stop                           \"</s>\"\nnum_predict                    128"},
	}}
	b := setupJobs(t, func(c *Config) { c.DefaultNumPredict = 4096; c.Inventory = inv })
	const hi = `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		body string
		want any // options.num_predict stored; nil: absent
		seed bool
	}{
		{`{"model":"tiny-a",` + hi + `}`, 4096.0, false},
		{`{"model":"tiny-a","prompt":"hi"}`, 4096.0, false},
		{`{"model":"tiny-a",` + hi + `,"options":{"seed":1}}`, 4096.0, true},
		{`{"model":"tiny-a",` + hi + `,"options":null}`, 4096.0, false},
		{`{"model":"tiny-a",` + hi + `,"options":{"num_predict":7,"seed":1}}`, 7.0, true},
		{`{"model":"tiny-a",` + hi + `,"options":{"num_predict":-1}}`, -1.0, false},
		{`{"model":"tiny-a","messages":[]}`, nil, false}, // loads the model; nothing to cap
		{`{"model":"capped",` + hi + `}`, nil, false},    // its Modelfile sets num_predict
	} {
		sub := b.stored(t, b.submit(t, tc.body))
		var req struct {
			Options map[string]any `json:"options"`
		}
		if err := json.Unmarshal(sub.Request, &req); err != nil {
			t.Fatal(err)
		}
		got := req.Options["num_predict"]
		if got != tc.want || tc.seed && req.Options["seed"] != 1.0 {
			t.Errorf("%s: stored %s", tc.body, sub.Request)
		}
	}
	// Off: nothing added.
	b = setupJobs(t, nil)
	if sub := b.stored(t, b.submit(t, `{"model":"tiny-a",`+hi+`}`)); strings.Contains(string(sub.Request), "num_predict") {
		t.Fatalf("cap added with DefaultNumPredict 0: %s", sub.Request)
	}
}

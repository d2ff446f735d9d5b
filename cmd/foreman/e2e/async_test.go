//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// An async job's stored result equals what a direct "stream": false call
// returns, and every webhook delivery verifies under both schemes.
func TestAsyncJobWebhook(t *testing.T) {
	o, f := shared(t)
	recv := newReceiver(t)
	cases := []struct{ kind, path, ollamaBody string }{
		{"chat", "/api/chat", `{"model":"tiny-a","messages":[{"role":"user","content":"tell me a story"}],"options":{"seed":3,"temperature":0,"num_predict":20}`},
		{"generate", "/api/generate", `{"model":"tiny-b","prompt":"the quick brown fox","options":{"seed":3,"temperature":0,"num_predict":20}`},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			want := raw(t, http.MethodPost, o.URL()+c.path, "", c.ollamaBody+`,"stream":false}`)
			if want.Status != http.StatusOK {
				t.Fatalf("direct call: %d %s", want.Status, want.Body)
			}
			id := submit(t, f, c.ollamaBody+fmt.Sprintf(`,"kind":%q,"state_webhook_url":%q}`, c.kind, recv.URL()))
			job := waitJob(t, f, id, 2*time.Minute)
			if job.State != "done" || job.Attempts != 1 {
				t.Fatalf("job: %+v", job)
			}
			if err := sameJSON(job.Result, want.Body); err != nil {
				t.Errorf("GET /jobs/{id} result vs direct stream:false: %v", err)
			}

			done := recv.WaitEvent(t, id, "succeeded", 30*time.Second)
			if err := sameJSON(done.Payload.Result, job.Result); err != nil {
				t.Errorf("webhook result vs GET /jobs/{id}: %v", err)
			}
			if done.Payload.State != "done" {
				t.Errorf("succeeded delivery has state %q", done.Payload.State)
			}
			// started may still be in flight when succeeded arrives
			// (deliveries are independent); wait for the three.
			waitFor(t, 30*time.Second, "submitted, started, succeeded deliveries", func() bool {
				ev := events(recv.For(id))
				return slices.Contains(ev, "submitted") && slices.Contains(ev, "started") && slices.Contains(ev, "succeeded")
			})
			// Deliveries may arrive out of order (ADR-0005); their offsets
			// give the order of the history.
			off := map[string]uint64{}
			for _, d := range recv.For(id) {
				off[d.Payload.Event] = d.Payload.Offset
			}
			if !(off["submitted"] < off["started"] && off["started"] < off["succeeded"]) {
				t.Errorf("offsets do not follow the history: %v", off)
			}
			for _, d := range recv.For(id) {
				if err := verifySignatures(d, []byte(webhookKey)); err != nil {
					t.Errorf("%s delivery: %v", d.Payload.Event, err)
				}
				if wid := d.Header.Get("webhook-id"); !strings.HasPrefix(wid, "evt_") || !strings.HasSuffix(wid, "_"+id) {
					t.Errorf("%s delivery: webhook-id %q", d.Payload.Event, wid)
				}
				if d.Payload.Event == "succeeded" {
					continue
				}
				if d.Payload.Result != nil {
					t.Errorf("%s delivery carries a result", d.Payload.Event)
				}
			}
			// A tampered body must not verify (the check above is not vacuous).
			bad := done
			bad.Body = append([]byte(nil), done.Body...)
			bad.Body[len(bad.Body)/2] ^= 1
			if verifySignatures(bad, []byte(webhookKey)) == nil {
				t.Error("a tampered delivery verified")
			}

			// GET /jobs/{id}/stream of a finished job is the result.
			s := raw(t, http.MethodGet, f.URL()+"/jobs/"+id+"/stream", token, "")
			if lines := ndjsonLines(s.Body); s.Status != http.StatusOK || len(lines) != 1 || sameJSON(lines[0], want.Body) != nil {
				t.Errorf("GET /jobs/{id}/stream: %d %s", s.Status, s.Body)
			}
			var res map[string]any
			if err := json.Unmarshal(job.Result, &res); err != nil || res["done"] != true {
				t.Errorf("result is not a done answer: %s", job.Result)
			}
		})
	}
}

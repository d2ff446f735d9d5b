package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

func TestSubmitInfersTheKind(t *testing.T) {
	b := setupJobs(t, nil)
	for _, tc := range []struct {
		name, body string
		want       eventlog.Kind
	}{
		{"prompt is a generate", `{"model":"tiny-a","prompt":"hi"}`, eventlog.KindGenerate},
		{"messages is a chat", `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}]}`, eventlog.KindChat},
		{"empty messages is a chat", `{"model":"tiny-a","messages":[]}`, eventlog.KindChat},
		{"empty prompt is a generate", `{"model":"tiny-a","prompt":""}`, eventlog.KindGenerate},
		{"kind settles both", `{"model":"tiny-a","kind":"generate","prompt":"hi","messages":[]}`, eventlog.KindGenerate},
		{"kind for a load", `{"model":"tiny-a","kind":"chat"}`, eventlog.KindChat},
		{"kind generate for a load", `{"model":"tiny-a","kind":"generate"}`, eventlog.KindGenerate},
		{"null prompt is absent", `{"model":"tiny-a","prompt":null,"messages":[]}`, eventlog.KindChat},
	} {
		id := b.submit(t, tc.body)
		if v := b.get(t, id); v.Kind != string(tc.want) {
			t.Errorf("%s: kind %q, want %q", tc.name, v.Kind, tc.want)
		}
		hist, _ := b.log.JobEvents(ulid.MustParse(id))
		var sub eventlog.Submitted
		if err := hist[0].Decode(&sub); err != nil || sub.Kind != tc.want || strings.Contains(string(sub.Request), `"kind"`) {
			t.Errorf("%s: stored kind %q request %s (%v)", tc.name, sub.Kind, sub.Request, err)
		}
	}
}

func TestSubmitRefusesAnAmbiguousOrContradictedKind(t *testing.T) {
	b := setupJobs(t, nil)
	for _, tc := range []struct {
		name, body string
		msg        []string
	}{
		{"neither", `{"model":"tiny-a"}`, []string{`neither "messages"`, `"prompt"`, `"kind"`}},
		{"both", `{"model":"tiny-a","prompt":"hi","messages":[]}`, []string{`both "messages"`, `"prompt"`, `"kind"`}},
		{"chat kind, generate body", `{"model":"tiny-a","kind":"chat","prompt":"hi"}`, []string{`"kind" is "chat"`, `"prompt"`}},
		{"generate kind, chat body", `{"model":"tiny-a","kind":"generate","messages":[]}`, []string{`"kind" is "generate"`, `"messages"`}},
	} {
		w := b.do(t, "POST", "/jobs", tc.body)
		msg := errorOf(t, w)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", tc.name, w.Code, w.Body.String())
		}
		for _, m := range tc.msg {
			if !strings.Contains(msg, m) {
				t.Errorf("%s: message %q does not name %s", tc.name, msg, m)
			}
		}
	}
	if n := b.log.LastOffset(); n != 0 {
		t.Fatalf("refused submissions appended %d events", n)
	}
}

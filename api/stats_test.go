package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/api/metrics"
)

type fixedActivity metrics.Window

func (f fixedActivity) Window() metrics.Window              { return metrics.Window(f) }
func (fixedActivity) WaitFor(context.Context, uint64) error { return nil }

func TestStatsAreTheLastHoursNumbers(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		win  metrics.Window
		want StatsView
	}{
		{"an hour", metrics.Window{Since: now.Add(-time.Hour), Finished: 90, Failed: 3, Swaps: 4, Waits: 100, WaitSum: 250 * time.Second},
			StatsView{Since: now.Add(-time.Hour), WindowSeconds: 3600, JobsFinished: 90, JobsFailed: 3, JobsPerMinute: 1.5, Swaps: 4, Waits: 100, MeanWaitSeconds: 2.5}},
		// Started 20 s ago: the rate is over a minute, not 20 s.
		{"just started", metrics.Window{Since: now.Add(-20 * time.Second), Finished: 3},
			StatsView{Since: now.Add(-20 * time.Second), WindowSeconds: 20, JobsFinished: 3, JobsPerMinute: 3}},
	} {
		s := New(Config{Tokens: map[string]string{"ui": "tok"}, Activity: fixedActivity(tc.win), Now: func() time.Time { return now }})
		r := httptest.NewRequest("GET", "/stats", nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%s: without a token %d", tc.name, w.Code)
		}
		r.Header.Set("Authorization", "Bearer tok")
		w = httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var got StatsView
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
			t.Fatalf("%s: %d %s", tc.name, w.Code, w.Body.String())
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	w := httptest.NewRecorder()
	New(Config{}).ServeHTTP(w, httptest.NewRequest("GET", "/stats", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("no collector: %d", w.Code)
	}
}

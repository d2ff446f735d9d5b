package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// forecastDaemon answers GET /queue?model= with a fixed forecast; eta 0
// means the model is not available, a negative one a 500, hang never.
func forecastDaemon(t *testing.T, eta time.Duration, waiting int, hang bool) *httptest.Server {
	t.Helper()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang {
			<-r.Context().Done()
			return
		}
		if eta < 0 {
			http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
			return
		}
		f := Forecast{Model: r.URL.Query().Get("model"), Available: eta > 0}
		if f.Available {
			at := now.Add(eta)
			f.ETA, f.Position = &at, waiting+1
		}
		json.NewEncoder(w).Encode(Queue{Waiting: waiting, Forecast: &f})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFleetForecastOrder: earliest ETA first, ties to the fewest waiting;
// then the daemons without the model, then those that did not answer in
// time (a hung daemon costs the forecast timeout, no more).
func TestFleetForecastOrder(t *testing.T) {
	t.Parallel()
	daemons := []*httptest.Server{
		forecastDaemon(t, 10*time.Second, 5, false), // 0
		forecastDaemon(t, 0, 0, false),              // 1: no model
		forecastDaemon(t, 10*time.Second, 2, false), // 2: ties 0, fewer waiting
		forecastDaemon(t, -1, 0, false),             // 3: error
		forecastDaemon(t, 0, 0, true),               // 4: hangs
		forecastDaemon(t, 5*time.Second, 9, false),  // 5: earliest
	}
	var urls []string
	for _, d := range daemons {
		urls = append(urls, d.URL)
	}
	f := NewFleet(urls, WithForecastTimeout(100*time.Millisecond))
	t0 := time.Now()
	chs := f.Forecast(context.Background(), "m")
	if took := time.Since(t0); took > 5*time.Second {
		t.Fatalf("a hung daemon held the forecast %v", took)
	}
	var got []string
	for _, ch := range chs {
		got = append(got, ch.Client.BaseURL())
	}
	want := []string{urls[5], urls[2], urls[0], urls[1], urls[3], urls[4]}
	if len(got) != len(want) {
		t.Fatalf("%d choices", len(got))
	}
	for i := range want[:4] {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	for _, ch := range chs[4:] {
		if ch.Err == nil {
			t.Fatalf("%s: no error", ch.Client.BaseURL())
		}
	}
	_, err := NewFleet([]string{urls[1], urls[3]}).candidates(context.Background(), "m")
	var re *RouteError
	if !errors.As(err, &re) || !errors.Is(err, ErrNoDaemon) || !errors.Is(re.Daemons[urls[1]], errNoModel) || len(re.Daemons) != 2 {
		t.Fatalf("no daemon can take it: %v", err)
	}
}

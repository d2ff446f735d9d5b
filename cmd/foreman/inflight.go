package main

import (
	"net/http"
	"sync"
	"time"
)

// inflight counts running HTTP handlers, so that shutdown never closes the
// store under one: http.Server.Close does not wait for handlers, and
// Pebble panics on use after Close.
type inflight struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0 while someone waits
}

// track wraps h so that its calls are counted.
func (f *inflight) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		defer f.leave()
		h.ServeHTTP(w, r)
	})
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 && f.zero != nil {
		close(f.zero)
		f.zero = nil
	}
}

// wait blocks until no handler runs or timeout passes, and returns how
// many still run.
func (f *inflight) wait(timeout time.Duration) int {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return 0
	}
	if f.zero == nil {
		f.zero = make(chan struct{})
	}
	zero := f.zero
	f.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-zero:
		return 0
	case <-t.C:
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.n
	}
}

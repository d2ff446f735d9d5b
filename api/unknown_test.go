package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRefusalsLeakNothing: the 401, 404 and 405 answers are fixed texts
// whatever is asked; they echo no part of the request (path, query,
// token) and name no route, version or server.
func TestRefusalsLeakNothing(t *testing.T) {
	s := New(Config{Tokens: map[string]string{"ci": "tok-ci"}, Backup: &fakeBackup{}})
	const canary = "c4n4ry"
	fixed := map[int][]string{
		401: {`{"error":"unauthorized: missing bearer token","status":"unauthorized: missing bearer token"}` + "\n",
			`{"error":"unauthorized: invalid bearer token","status":"unauthorized: invalid bearer token"}` + "\n"},
		404: {"404 page not found"},
		405: {"405 method not allowed"},
	}
	allowed := map[string]bool{"Content-Type": true, "Www-Authenticate": true, "Connection": true, "Allow": true}
	for _, path := range []string{"/" + canary, "/api/" + canary, "/jobs/" + canary + "/x/y", "/admin/" + canary,
		"/%2e%2e/" + canary, "/healthz/" + canary, "/api/chat?q=" + canary, "/.env", "/debug/pprof/"} {
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "OPTIONS"} {
			for _, tok := range []string{"", "tok-ci", canary} {
				r := httptest.NewRequest(method, path, strings.NewReader(canary))
				r.Header.Set("X-Canary", canary)
				if tok != "" {
					r.Header.Set("Authorization", "Bearer "+tok)
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				if w.Code < 400 {
					continue // a real route, served
				}
				name := method + " " + path + " token " + tok
				texts, ok := fixed[w.Code]
				if !ok {
					if w.Code == 400 || w.Code == 413 { // a route that exists and checked its input
						continue
					}
					t.Fatalf("%s: %d %q", name, w.Code, w.Body.String())
				}
				body := w.Body.String()
				found := false
				for _, f := range texts {
					found = found || body == f
				}
				if !found {
					t.Errorf("%s: %d body %q is not the fixed text", name, w.Code, body)
				}
				for k, v := range w.Header() {
					if !allowed[k] || strings.Contains(strings.Join(v, ","), canary) {
						t.Errorf("%s: header %s: %q", name, k, v)
					}
				}
			}
		}
	}
}

package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesTheEmbeddedPageWithItsPolicy(t *testing.T) {
	h := Handler("/ui")
	for path, want := range map[string]string{
		"/ui/":          "text/html",
		"/ui/app.js":    "text/javascript",
		"/ui/style.css": "text/css",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), want) {
			t.Fatalf("GET %s: %d %q", path, w.Code, w.Header().Get("Content-Type"))
		}
		if got := w.Header().Get("Content-Security-Policy"); got != CSP {
			t.Fatalf("GET %s: CSP %q", path, got)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Fatalf("GET %s: headers %v", path, w.Header())
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ui/nope.js", nil))
	if w.Code != http.StatusNotFound || w.Header().Get("Content-Security-Policy") != CSP {
		t.Fatalf("missing file: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
}

// TestPolicyForbidsInlineCodeAndOtherOrigins: the directives the page's
// safety rests on are there, and the page needs nothing they forbid.
func TestPolicyForbidsInlineCodeAndOtherOrigins(t *testing.T) {
	for _, d := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "form-action 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, d) {
			t.Errorf("CSP lacks %q: %s", d, CSP)
		}
	}
	if strings.Contains(CSP, "unsafe-") || strings.Contains(CSP, "http") {
		t.Errorf("CSP allows inline code or another origin: %s", CSP)
	}
	// The files follow it: no inline script or style, no handler
	// attribute, nothing from another origin, no HTML built from strings.
	for _, name := range []string{"static/index.html", "static/app.js", "static/style.css"} {
		f, err := files.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(f)
		f.Close()
		src := string(raw)
		for _, bad := range []string{"<script>", "<style", " onclick=", " onload=", "style=\"", "http://", "https://", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(src, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

// Package ui is the dashboard served at /ui/: plain HTML, CSS and
// JavaScript embedded in the binary, with no build step and nothing
// fetched from another origin, so it works offline and on an air-gapped
// GPU box. The files carry no data and need no token; the page asks for
// one and reads everything from the API with it (docs/ui.md).
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// CSP is the Content-Security-Policy of every /ui/ answer: scripts and
// styles only from the page's own files (no inline code, no eval), data
// only from the daemon itself, no framing. Together with the page
// inserting job data as text, a prompt or an output can never run.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the dashboard's files for paths under prefix (e.g.
// "/ui"), with the security headers on every answer, 404s included.
func Handler(prefix string) http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// Embedded files have no modification time: revalidate each
		// load, so a new binary's page is never mixed with an old script.
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

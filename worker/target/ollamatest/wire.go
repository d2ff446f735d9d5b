package ollamatest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Content types exactly as Ollama (gin) sends them.
const (
	contentJSON   = "application/json; charset=utf-8"
	contentNDJSON = "application/x-ndjson"
)

// mustJSON marshals v like gin does (json.Marshal: HTML-escaped, no
// trailing newline). The fake only marshals its own types.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("ollamatest: marshal: " + err.Error())
	}
	return b
}

// writeJSON writes one JSON object, as gin's c.JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}

// writeError writes Ollama's {"error":"msg"}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeText writes a text/plain answer, as gin's 404 and 405 pages.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeLine writes one NDJSON line and flushes it to the client.
func writeLine(w http.ResponseWriter, v any) {
	_, _ = w.Write(append(mustJSON(v), '\n'))
	_ = http.NewResponseController(w).Flush()
}

// decode reads the request body as gin's ShouldBindJSON does (a streaming
// decoder, so errors carry the decoder's own text) and answers 400 the way
// Ollama does when it fails. It reports whether v was filled.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := decodeBody(r, v)
	switch {
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "missing request body")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func decodeBody(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

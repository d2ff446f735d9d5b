package api

import (
	"encoding/json"
	"net/http"
	"time"
)

// writeJSON writes v with Ollama's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes an error the way Ollama does: {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeLine writes one NDJSON line.
func writeLine(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Write(append(b, '\n'))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// dropBody answers without reading the body the request announced: the
// connection is closed after the answer, and the read deadline is set in
// the past so that the server does not wait for the body before closing.
// A caller that never sends its body then holds nothing. Call it before
// writing the status.
func dropBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	http.NewResponseController(w).SetReadDeadline(time.Now())
}

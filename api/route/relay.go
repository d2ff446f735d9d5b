package route

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/foreman-dev/foreman/client"
)

// errorShape writes an error the way the route's clients expect it.
type errorShape int

const (
	ollamaErrors errorShape = iota // {"error": "..."}
	openAIErrors                   // {"error": {"message", "type", "code"}}
)

func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	shape := ollamaErrors
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		shape = openAIErrors
	}
	writeErrorShape(w, shape, status, msg)
}

func writeErrorShape(w http.ResponseWriter, shape errorShape, status int, msg string) {
	var v any = map[string]string{"error": msg}
	if shape == openAIErrors {
		typ := "invalid_request_error"
		if status >= 500 {
			typ = "api_error"
		}
		v = map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}}
	}
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readBody reads a request body up to MaxBody.
func (rt *Router) readBody(w http.ResponseWriter, r *http.Request, shape errorShape) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.cfg.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeErrorShape(w, shape, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mbe.Limit))
		return nil, false
	case err != nil:
		writeErrorShape(w, shape, http.StatusBadRequest, "read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// modelOf is the "model" of a JSON request body.
func modelOf(body []byte) (string, error) {
	var v struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("invalid JSON body: %w", err)
	}
	if v.Model == "" {
		return "", errors.New("model is required")
	}
	return v.Model, nil
}

// byModel routes a request by its body's model: to the daemon with the
// earliest forecast among those that have it, or the next when one cannot
// be reached; the answer, streamed or not, is relayed as it comes.
func (rt *Router) byModel(shape errorShape) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := rt.readBody(w, r, shape)
		if !ok {
			return
		}
		model, err := modelOf(body)
		if err != nil {
			writeErrorShape(w, shape, http.StatusBadRequest, err.Error())
			return
		}
		cands, err := rt.candidates(r.Context(), model)
		if err != nil {
			rt.routeFailed(w, shape, model, err)
			return
		}
		rt.relayTo(w, r, cands, body, shape)
	}
}

// candidates are the daemons that have model, best forecast first.
func (rt *Router) candidates(ctx context.Context, model string) ([]string, error) {
	var out []string
	why := map[string]error{}
	for _, ch := range rt.fleet.Forecast(ctx, model) {
		switch {
		case ch.Err != nil:
			why[ch.Client.BaseURL()] = ch.Err
		case !ch.Forecast.Available:
			why[ch.Client.BaseURL()] = errNoModel
		default:
			out = append(out, ch.Client.BaseURL())
		}
	}
	if len(out) == 0 {
		return nil, &client.RouteError{Model: model, Daemons: why}
	}
	return out, nil
}

var errNoModel = errors.New("model not available")

// routeFailed answers a request no daemon can take: 404 when every daemon
// answered and none has the model (Ollama's words), else 502.
func (rt *Router) routeFailed(w http.ResponseWriter, shape errorShape, model string, err error) {
	var re *client.RouteError
	if errors.As(err, &re) {
		for _, e := range re.Daemons {
			if !errors.Is(e, errNoModel) {
				rt.cfg.Logger.Warn("no daemon can take the request", "model", model, "err", err)
				writeErrorShape(w, shape, http.StatusBadGateway, err.Error())
				return
			}
		}
		writeErrorShape(w, shape, http.StatusNotFound, fmt.Sprintf("model '%s' not found", model))
		return
	}
	writeErrorShape(w, shape, http.StatusBadGateway, err.Error())
}

// relayTo sends the request to the first daemon of urls that can be
// reached and relays its answer.
func (rt *Router) relayTo(w http.ResponseWriter, r *http.Request, urls []string, body []byte, shape errorShape) {
	var lastErr error
	for i, u := range urls {
		resp, err := rt.send(r, u, r.URL.Path, body)
		if err != nil {
			lastErr = err
			if notSent(err) && r.Context().Err() == nil {
				continue // it never reached the daemon: the next may take it
			}
			break
		}
		if busy(resp.StatusCode) && i+1 < len(urls) {
			// Refused without queueing (its queue is full, its log
			// unavailable): the next daemon may take it.
			rt.cfg.Logger.Info("daemon busy, trying the next", "daemon", u, "status", resp.StatusCode)
			resp.Body.Close()
			continue
		}
		rt.relay(w, resp)
		return
	}
	if r.Context().Err() != nil {
		return // the caller left
	}
	writeErrorShape(w, shape, http.StatusBadGateway, "no daemon answered: "+lastErr.Error())
}

// busy: a daemon's answer that it took nothing (429, 503), so another
// may be asked.
func busy(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// hopHeaders are not forwarded (RFC 9110 7.6.1), nor the caller's token.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Authorization", "Content-Length"}

// send makes the request to the daemon at base, with the daemon's token.
func (rt *Router) send(r *http.Request, base, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	target := base + path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, rd)
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if tok := rt.daemons[base].Token; tok != "" {
		out.Header.Set("Authorization", "Bearer "+tok)
	}
	return rt.http.Do(out)
}

// relay writes a daemon's answer as it comes: status, headers, and the
// body flushed after each read, so NDJSON and SSE streams stay streams.
func (rt *Router) relay(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "Connection" || k == "Keep-Alive" || k == "Transfer-Encoding" {
			continue
		}
		w.Header()[k] = vs
	}
	if resp.ContentLength >= 0 && resp.Header.Get("Content-Encoding") == "" {
		w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the caller left; closing the body ends the daemon's side
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// notSent: the request never reached the daemon.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// first relays a request to the first daemon that answers (GET /,
// /api/version: the same on every daemon of a fleet).
func (rt *Router) first(w http.ResponseWriter, r *http.Request) {
	var urls []string
	for _, d := range rt.cfg.Daemons {
		urls = append(urls, d.URL)
	}
	var lastErr error
	for _, u := range urls {
		resp, err := rt.send(r, rt.trim(u), r.URL.Path, nil)
		if err != nil {
			lastErr = err
			continue
		}
		rt.relay(w, resp)
		return
	}
	writeError(w, r, http.StatusBadGateway, "no daemon answered: "+lastErr.Error())
}

func (rt *Router) trim(u string) string { return strings.TrimRight(u, "/") }

// healthz is the router's own health: which daemons answer /healthz.
func (rt *Router) healthz(w http.ResponseWriter, r *http.Request) {
	type daemonHealth struct {
		URL   string `json:"url"`
		Up    bool   `json:"up"`
		Error string `json:"error,omitempty"`
	}
	out := make([]daemonHealth, len(rt.cfg.Daemons))
	done := make(chan struct{}, len(out))
	ctx, cancel := context.WithTimeout(r.Context(), rt.cfg.ForecastTimeout)
	defer cancel()
	for i, d := range rt.cfg.Daemons {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i].URL = rt.trim(d.URL)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, out[i].URL+"/healthz", nil)
			resp, err := rt.http.Do(req)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			resp.Body.Close()
			out[i].Up = resp.StatusCode == http.StatusOK
			if !out[i].Up {
				out[i].Error = resp.Status
			}
		}()
	}
	up := 0
	for range out {
		<-done
	}
	for _, d := range out {
		if d.Up {
			up++
		}
	}
	status, code := "ok", http.StatusOK
	if up == 0 {
		status, code = "failed", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "degraded": up < len(out), "daemons": out})
}

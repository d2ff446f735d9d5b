// Package target talks to the one Ollama server foreman fronts: running
// queued requests, forwarding the routes that bypass the queue, and keeping
// the model inventory.
package target

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	ollama "github.com/ollama/ollama/api"
	ollamamodel "github.com/ollama/ollama/types/model"
)

// DefaultURL is where Ollama listens by default.
const DefaultURL = "http://127.0.0.1:11434"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// Config wires a Client.
type Config struct {
	URL   string // FOREMAN_OLLAMA_URL
	Token string // FOREMAN_OLLAMA_TOKEN, sent as a bearer token if set
	// HTTP is the client used; nil: one with no overall timeout (answers
	// stream for minutes; attempts are bounded by their context).
	HTTP *http.Client
}

// Validate names the bad field.
func (c *Config) Validate() error {
	u, err := url.Parse(cmp.Or(c.URL, DefaultURL))
	if err != nil {
		return fmt.Errorf("target: Config.URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("target: Config.URL %q: want http(s)://host:port", c.URL)
	}
	return nil
}

// Client is an HTTP client for one Ollama server.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := cfg.HTTP
	if h == nil {
		h = &http.Client{}
	}
	return &Client{base: strings.TrimRight(cmp.Or(cfg.URL, DefaultURL), "/"), token: cfg.Token, http: h}, nil
}

// URL is the target's base URL.
func (c *Client) URL() string { return c.base }

// Forward sends a request and returns the answer unread. Only a network
// failure is an error (a *ConnError); any status is returned as is.
func (c *Client) Forward(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return nil, cause
		}
		return nil, &ConnError{Op: method + " " + path, Err: err}
	}
	return resp, nil
}

// Run posts body to path and calls onChunk with each line of the answer as
// it arrives (the whole body, once, when the answer is not streamed; each
// whole frame, without its blank line, of a text/event-stream answer). It
// returns the last line. A non-200 answer is an *HTTPError, an error line
// inside a stream a *StreamError, a network failure a *ConnError; when ctx
// ends, its cause is returned. An error from onChunk stops the request and
// is returned as is.
func (c *Client) Run(ctx context.Context, path string, body []byte, onChunk func(line []byte) error) ([]byte, error) {
	resp, err := c.Forward(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readHTTPError(ctx, resp)
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	sse := isEventStream(resp.Header.Get("Content-Type"))
	var last, frame []byte
	for {
		line, err := rd.ReadBytes('\n')
		// Lines already buffered still read after ctx ends: stop at once,
		// so a cancelled run neither sees more chunks nor ends in success.
		if cause := context.Cause(ctx); cause != nil {
			return nil, cause
		}
		if sse {
			// A Server-Sent Events frame is its lines up to a blank line;
			// it is passed whole ("event: x\ndata: {...}").
			if line = bytes.TrimRight(line, "\r\n"); len(line) > 0 {
				if len(frame) > 0 {
					frame = append(frame, '\n')
				}
				frame = append(frame, line...)
			}
			if len(line) == 0 || err != nil {
				if len(frame) > 0 {
					if cerr := onChunk(frame); cerr != nil {
						return nil, cerr
					}
					last, frame = frame, nil
				}
			}
		} else if line = bytes.TrimSpace(line); len(line) > 0 {
			if msg, ok := errorLine(line); ok {
				return nil, &StreamError{Message: msg}
			}
			if cerr := onChunk(line); cerr != nil {
				return nil, cerr
			}
			last = line
		}
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return nil, cause
			}
			return nil, &ConnError{Op: "POST " + path, Err: fmt.Errorf("answer cut off: %w", err)}
		}
	}
}

// errorLine reports whether line is Ollama's {"error": "..."} without done.
func errorLine(line []byte) (string, bool) {
	if !bytes.Contains(line, []byte(`"error"`)) {
		return "", false
	}
	var v struct {
		Error *string `json:"error"`
		Done  bool    `json:"done"`
	}
	if json.Unmarshal(line, &v) != nil || v.Error == nil || v.Done {
		return "", false
	}
	return *v.Error, true
}

func readHTTPError(ctx context.Context, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		return &ConnError{Op: resp.Request.Method + " " + resp.Request.URL.Path, Err: err}
	}
	msg := strings.TrimSpace(string(body))
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			msg = s
		} else {
			var o struct{ Message string }
			if json.Unmarshal(e.Error, &o) == nil && o.Message != "" {
				msg = o.Message
			}
		}
	}
	return &HTTPError{Status: resp.StatusCode, Message: msg, Body: body, ContentType: resp.Header.Get("Content-Type")}
}

// isEventStream reports whether a Content-Type is Server-Sent Events (the
// streamed answers of Ollama's /v1 routes).
func isEventStream(ct string) bool {
	return strings.HasPrefix(strings.TrimSpace(strings.ToLower(ct)), "text/event-stream")
}

// maxInventoryBody bounds a tags, ps or show answer.
const maxInventoryBody = 64 << 20

// call sends a request and decodes a 200 answer into v. It returns the
// answer's bytes as they came, so that they can be relayed with the fields
// foreman does not know.
func (c *Client) call(ctx context.Context, method, path string, body []byte, v any) ([]byte, error) {
	resp, err := c.Forward(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readHTTPError(ctx, resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxInventoryBody))
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return nil, cause
		}
		return nil, &ConnError{Op: method + " " + path, Err: fmt.Errorf("decode: %w", err)}
	}
	return raw, nil
}

// get decodes a GET answer into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	_, err := c.call(ctx, http.MethodGet, path, nil, v)
	return err
}

// Tags lists the models the target has (GET /api/tags).
func (c *Client) Tags(ctx context.Context) ([]ollama.ListModelResponse, error) {
	r, _, err := c.TagsRaw(ctx)
	return r.Models, err
}

// TagsRaw is Tags with the answer's own bytes.
func (c *Client) TagsRaw(ctx context.Context) (ollama.ListResponse, []byte, error) {
	var r ollama.ListResponse
	raw, err := c.call(ctx, http.MethodGet, "/api/tags", nil, &r)
	return r, raw, err
}

// Ps lists the models loaded now (GET /api/ps).
func (c *Client) Ps(ctx context.Context) ([]ollama.ProcessModelResponse, error) {
	r, _, err := c.PsRaw(ctx)
	return r.Models, err
}

// PsRaw is Ps with the answer's own bytes.
func (c *Client) PsRaw(ctx context.Context) (ollama.ProcessResponse, []byte, error) {
	var r ollama.ProcessResponse
	raw, err := c.call(ctx, http.MethodGet, "/api/ps", nil, &r)
	return r, raw, err
}

// Show describes a model (POST /api/show). Only the small fields are
// kept: capabilities, parameters, details and the remote host; not the
// tensors, model info, template or modelfile.
func (c *Client) Show(ctx context.Context, name string) (ollama.ShowResponse, error) {
	body, err := json.Marshal(ollama.ShowRequest{Model: name})
	if err != nil {
		return ollama.ShowResponse{}, err
	}
	var r struct {
		Parameters   string                   `json:"parameters"`
		Details      ollama.ModelDetails      `json:"details"`
		Capabilities []ollamamodel.Capability `json:"capabilities"`
		RemoteModel  string                   `json:"remote_model"`
		RemoteHost   string                   `json:"remote_host"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/api/show", body, &r); err != nil {
		return ollama.ShowResponse{}, err
	}
	return ollama.ShowResponse{Parameters: r.Parameters, Details: r.Details, Capabilities: r.Capabilities,
		RemoteModel: r.RemoteModel, RemoteHost: r.RemoteHost}, nil
}

// Version is the target's version (GET /api/version).
func (c *Client) Version(ctx context.Context) (string, error) {
	var r struct {
		Version string `json:"version"`
	}
	if err := c.get(ctx, "/api/version", &r); err != nil {
		return "", err
	}
	return r.Version, nil
}

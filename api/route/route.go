// Package route is `foreman route`: a stateless router in front of several
// foreman daemons, for clients that take one URL (Open WebUI, the OpenAI
// SDKs, the Ollama client). It serves the Ollama and /v1 routes and /jobs,
// sends each generating request to the daemon expected to finish it first
// (their GET /queue?model= forecasts, asked concurrently), relays answers
// and streams byte for byte, merges the model lists, and forwards
// /jobs/{id} to the daemon that holds the job. It keeps nothing on disk:
// each job lives in one daemon's log (ADR-0033).
//
// It imports the public client only, never the daemon's packages.
package route

import (
	"cmp"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// Defaults of the router's settings.
const (
	DefaultListen          = "127.0.0.1:8070"
	DefaultMaxBody         = 32 << 20
	DefaultForecastTimeout = client.DefaultForecastTimeout
)

// Daemon is one foreman daemon behind the router.
type Daemon struct {
	URL   string // its base URL, e.g. http://gpu1:8080
	Token string // the bearer token the router presents to it
}

// Config is the router's configuration (FOREMAN_ROUTE_* settings).
type Config struct {
	Daemons []Daemon
	// Tokens are the router's own callers: name → token. Empty: anyone
	// who reaches the listen address may call.
	Tokens map[string]string
	// ForecastTimeout bounds the wait for the daemons' forecasts.
	ForecastTimeout time.Duration
	// MaxBody bounds a request body the router reads to route it.
	MaxBody int64
	Logger  *slog.Logger
}

// ErrConfig is a bad Config; the error names the field.
var ErrConfig = errors.New("bad router configuration")

// Validate names the first bad setting.
func (c Config) Validate() error {
	if len(c.Daemons) == 0 {
		return fmt.Errorf("%w: Daemons: at least one daemon is needed", ErrConfig)
	}
	seen := map[string]bool{}
	for _, d := range c.Daemons {
		u, err := url.Parse(d.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: Daemons: %q is not an http(s) URL", ErrConfig, d.URL)
		}
		if seen[d.URL] {
			return fmt.Errorf("%w: Daemons: %q is listed twice", ErrConfig, d.URL)
		}
		seen[d.URL] = true
	}
	for name, tok := range c.Tokens {
		if name == "" || tok == "" {
			return fmt.Errorf("%w: Tokens: a name or token is empty", ErrConfig)
		}
	}
	if c.ForecastTimeout < 0 || c.MaxBody < 0 {
		return fmt.Errorf("%w: ForecastTimeout and MaxBody must not be negative", ErrConfig)
	}
	return nil
}

// Router is the HTTP handler.
type Router struct {
	cfg     Config
	fleet   *client.Fleet
	daemons map[string]Daemon // by URL
	http    *http.Client      // relays
	mux     *http.ServeMux
}

// New returns a router of cfg's daemons.
func New(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.ForecastTimeout = cmp.Or(cfg.ForecastTimeout, DefaultForecastTimeout)
	cfg.MaxBody = cmp.Or(cfg.MaxBody, DefaultMaxBody)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	rt := &Router{cfg: cfg, daemons: map[string]Daemon{}, http: &http.Client{Transport: tr}, mux: http.NewServeMux()}
	var members []*client.Client
	for _, d := range cfg.Daemons {
		d.URL = strings.TrimRight(d.URL, "/")
		rt.daemons[d.URL] = d
		members = append(members, client.New(d.URL, client.WithToken(d.Token), client.WithHTTPClient(rt.http),
			client.WithForecastTimeout(cfg.ForecastTimeout), client.WithPolling()))
	}
	rt.fleet = client.NewFleetOf(members...)
	rt.routes()
	return rt, nil
}

// Close lets go of idle connections to the daemons.
func (rt *Router) Close() { rt.http.CloseIdleConnections() }

func (rt *Router) routes() {
	m := rt.mux
	m.HandleFunc("GET /healthz", rt.healthz)
	for _, p := range []string{"/api/chat", "/api/generate", "/api/embed", "/api/embeddings", "/api/show"} {
		m.HandleFunc("POST "+p, rt.byModel(ollamaErrors))
	}
	for _, p := range []string{"/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings"} {
		m.HandleFunc("POST "+p, rt.byModel(openAIErrors))
	}
	m.HandleFunc("GET /api/tags", rt.tags)
	m.HandleFunc("GET /api/ps", rt.ps)
	m.HandleFunc("GET /v1/models", rt.models)
	m.HandleFunc("GET /v1/models/{model...}", rt.model)
	m.HandleFunc("GET /api/version", rt.first)
	m.HandleFunc("GET /{$}", rt.first)
	m.HandleFunc("HEAD /{$}", rt.first)
	m.HandleFunc("POST /jobs", rt.submit)
	m.HandleFunc("GET /jobs", rt.list)
	m.HandleFunc("GET /queue", rt.queue)
	m.HandleFunc("/jobs/{id}", rt.job)
	m.HandleFunc("/jobs/{id}/{rest...}", rt.job)
	m.HandleFunc("/", rt.unserved)
}

// ServeHTTP checks the caller's token, then routes.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/healthz" && !rt.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="foreman route"`)
		writeError(w, r, http.StatusUnauthorized, "unauthorized")
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// authorized checks the bearer token against the router's own.
func (rt *Router) authorized(r *http.Request) bool {
	if len(rt.cfg.Tokens) == 0 {
		return true
	}
	return rt.caller(r) != ""
}

// caller names the caller's token ("" when none matches).
func (rt *Router) caller(r *http.Request) string {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	for name, tok := range rt.cfg.Tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			return name
		}
	}
	return ""
}

// unserved answers the routes the router does not serve: they are one
// daemon's (its log, webhooks, backups, metrics).
func (rt *Router) unserved(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotImplemented, fmt.Sprintf("%s %s is not served by foreman route: ask a daemon directly", r.Method, r.URL.Path))
}

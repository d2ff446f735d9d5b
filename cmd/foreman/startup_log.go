package main

import (
	"log/slog"
	"net"
	"strings"
)

// logSettings says at start-up what foreman understood of its settings and
// warns about the ones a person most likely did not mean: a misspelt
// FOREMAN_* variable (ignored otherwise), and a listen address beyond
// loopback with no token, which serves the GPU to the network unguarded.
func logSettings(logger *slog.Logger, cfg Config, getenv func(string) string, environ []string) {
	for _, u := range unknownSettings(environ) {
		if u.Closest != "" {
			logger.Warn("unknown setting ignored; did you mean "+u.Closest+"?", "var", u.Name, "closest", u.Closest)
		} else {
			logger.Warn("unknown setting ignored (docs/configuration.md lists them)", "var", u.Name)
		}
	}
	logger.Info("ollama target", "url", cfg.OllamaURL, "FOREMAN_OLLAMA_URL", getenv("FOREMAN_OLLAMA_URL"))
	if len(cfg.Tokens) == 0 && !loopbackOnly(cfg.Listen) {
		logger.Warn("listening beyond loopback with no token: anyone who can reach this address can use the GPU and read every job; set FOREMAN_TOKEN or FOREMAN_TOKENS, or listen on 127.0.0.1",
			"listen", cfg.Listen)
	}
}

// loopbackOnly reports whether a host:port listen address accepts only
// local connections. An empty host (":8080") is every interface.
func loopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

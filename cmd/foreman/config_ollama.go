package main

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ollamaDefaultPort is where Ollama listens when OLLAMA_HOST names no port.
const ollamaDefaultPort = "11434"

// parseOllamaURL reads FOREMAN_OLLAMA_URL in the forms Ollama's own
// OLLAMA_HOST accepts (envconfig.Host), so a value copied from there
// works here: the scheme is optional (http), and so is the port (11434
// without a scheme, the scheme's own port with one): "127.0.0.1:11555",
// "gpu-box", ":11434", "[::1]:11434", "https://ollama.example.com/base".
// Unlike Ollama it refuses a bad port instead of quietly using the default.
// It returns the absolute URL foreman will use.
func parseOllamaURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	scheme, hostport, ok := strings.Cut(s, "://")
	defaultPort := ollamaDefaultPort
	switch {
	case !ok:
		scheme, hostport = "http", s
	case scheme == "http":
		defaultPort = "80"
	case scheme == "https":
		defaultPort = "443"
	default:
		return "", errors.New("want http or https (or no scheme: host, host:port)")
	}
	hostport, path, _ := strings.Cut(hostport, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil { // no port: a bare host or IP
		host, port = strings.Trim(hostport, "[]"), defaultPort
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", errors.New("bad port " + strconv.Quote(port))
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}
	if path != "" {
		u.Path = "/" + path
	}
	if _, err := url.Parse(u.String()); err != nil || strings.ContainsAny(host, " /?#@") {
		return "", errors.New("want an http(s) URL, host:port or a bare host")
	}
	return u.String(), nil
}

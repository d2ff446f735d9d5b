package main

import "testing"

func TestParseOllamaURLAcceptsOllamaHostForms(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:11555":               "http://127.0.0.1:11555",
		"gpu-box":                       "http://gpu-box:11434",
		"gpu-box:8000":                  "http://gpu-box:8000",
		":11500":                        "http://127.0.0.1:11500",
		"0.0.0.0":                       "http://0.0.0.0:11434",
		"[::1]:11434":                   "http://[::1]:11434",
		"::1":                           "http://[::1]:11434",
		"http://127.0.0.1:11434":        "http://127.0.0.1:11434",
		"http://gpu-box":                "http://gpu-box:80",
		"https://ollama.example.com":    "https://ollama.example.com:443",
		"https://proxy.example.com/oll": "https://proxy.example.com:443/oll",
		" 127.0.0.1:11555 ":             "http://127.0.0.1:11555",
	} {
		got, err := parseOllamaURL(in)
		if err != nil || got != want {
			t.Errorf("parseOllamaURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "gpu-box:port", "gpu-box:99999", "http://a b:1"} {
		if got, err := parseOllamaURL(bad); err == nil {
			t.Errorf("parseOllamaURL(%q) = %q, want an error", bad, got)
		}
	}
}

func TestConfigOllamaURLHostPort(t *testing.T) {
	c, err := LoadConfig(func(k string) string {
		if k == "FOREMAN_OLLAMA_URL" {
			return "127.0.0.1:11555"
		}
		return ""
	})
	if err != nil || c.OllamaURL != "http://127.0.0.1:11555" {
		t.Fatalf("FOREMAN_OLLAMA_URL=127.0.0.1:11555: %q, %v", c.OllamaURL, err)
	}
}

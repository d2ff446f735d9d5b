package main

import (
	"errors"
	"testing"
	"time"
)

func TestRouteConfig(t *testing.T) {
	env := map[string]string{
		"FOREMAN_ROUTE_DAEMONS":          "http://gpu1:8080/, http://gpu2:8080",
		"FOREMAN_ROUTE_DAEMON_TOKEN":     "shared",
		"FOREMAN_ROUTE_DAEMON_TOKENS":    "http://gpu2:8080=own=",
		"FOREMAN_ROUTE_TOKENS":           "webui=w1,sdk=s1",
		"FOREMAN_ROUTE_FORECAST_TIMEOUT": "250ms",
	}
	c, err := LoadRouteConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Daemons) != 2 || c.Daemons[0].URL != "http://gpu1:8080" || c.Daemons[0].Token != "shared" ||
		c.Daemons[1].Token != "own=" || c.Tokens["webui"] != "w1" || c.Tokens["sdk"] != "s1" ||
		c.ForecastTimeout != 250*time.Millisecond || c.Listen != "127.0.0.1:8070" {
		t.Fatalf("config %+v", c)
	}
	for name, bad := range map[string]map[string]string{
		"FOREMAN_ROUTE_DAEMONS":          {},
		"FOREMAN_ROUTE_DAEMON_TOKENS":    {"FOREMAN_ROUTE_DAEMONS": "http://a:1", "FOREMAN_ROUTE_DAEMON_TOKENS": "http://b:1=x"},
		"FOREMAN_ROUTE_TOKENS":           {"FOREMAN_ROUTE_DAEMONS": "http://a:1", "FOREMAN_ROUTE_TOKENS": "nopair"},
		"FOREMAN_ROUTE_FORECAST_TIMEOUT": {"FOREMAN_ROUTE_DAEMONS": "http://a:1", "FOREMAN_ROUTE_FORECAST_TIMEOUT": "0s"},
		"FOREMAN_ROUTE_LISTEN":           {"FOREMAN_ROUTE_DAEMONS": "http://a:1", "FOREMAN_ROUTE_LISTEN": "nohost"},
	} {
		_, err := LoadRouteConfig(func(k string) string { return bad[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%v: %v, want an error naming %s", bad, err, name)
		}
	}
	for _, bad := range []string{"gpu1:8080", "http://a:1,http://a:1", "ftp://x"} {
		_, err := LoadRouteConfig(func(k string) string { return map[string]string{"FOREMAN_ROUTE_DAEMONS": bad}[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != "FOREMAN_ROUTE_DAEMONS" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

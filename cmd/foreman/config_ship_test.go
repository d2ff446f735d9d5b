package main

import (
	"errors"
	"slices"
	"testing"
)

func TestShipSettingsAreCheckedOnlyWhenOn(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	// Off: a bad node name is not looked at.
	c, err := LoadConfig(env(map[string]string{"FOREMAN_NODE": "a.b"}))
	if err != nil || c.Ship.On() {
		t.Fatalf("shipping off: %v, on=%v", err, c.Ship.On())
	}
	c, err = LoadConfig(env(map[string]string{"FOREMAN_NATS_URL": "nats://n1:4222,nats://n2:4222", "FOREMAN_NODE": "gpu-a"}))
	if err != nil || !c.Ship.On() || c.Ship.Stream != "FOREMAN_EVENTS" || c.Ship.Node != "gpu-a" {
		t.Fatalf("%+v %v", c.Ship, err)
	}
	for _, bad := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"FOREMAN_NATS_URL": "http://n1:4222", "FOREMAN_NODE": "a"}, "FOREMAN_NATS_URL"},
		{map[string]string{"FOREMAN_NATS_URL": "nats://n1:4222", "FOREMAN_NODE": "gpu.a"}, "FOREMAN_NODE"},
		{map[string]string{"FOREMAN_NATS_URL": "nats://n1:4222", "FOREMAN_NODE": "a", "FOREMAN_NATS_STREAM": "A.B"}, "FOREMAN_NATS_STREAM"},
		{map[string]string{"FOREMAN_NATS_URL": "nats://n1:4222", "FOREMAN_NODE": "a", "FOREMAN_NATS_REPLICAS": "three"}, "FOREMAN_NATS_REPLICAS"},
		{map[string]string{"FOREMAN_NATS_URL": "nats://n1:4222", "FOREMAN_NODE": "a", "FOREMAN_NATS_REPLICAS": "9"}, "FOREMAN_NATS_REPLICAS"},
		{map[string]string{"FOREMAN_NATS_URL": "nats://n1:4222", "FOREMAN_NODE": "a", "FOREMAN_NATS_CREDS": "/nonexistent/x.creds"}, "FOREMAN_NATS_CREDS"},
	} {
		_, err := LoadConfig(env(bad.env))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != bad.name {
			t.Errorf("%v: %v, want a ConfigError naming %s", bad.env, err, bad.name)
		}
	}
	known := knownSettings()
	for _, k := range []string{"FOREMAN_NATS_URL", "FOREMAN_NATS_STREAM", "FOREMAN_NODE", "FOREMAN_NATS_REPLICAS", "FOREMAN_NATS_CREDS"} {
		if !slices.Contains(known, k) {
			t.Errorf("%s is not a known setting", k)
		}
	}
}

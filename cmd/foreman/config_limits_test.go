package main

import (
	"errors"
	"testing"
	"time"
)

// Nothing runs forever by default: FOREMAN_JOB_TIMEOUT used to be off.
func TestConfigLimitsDefaults(t *testing.T) {
	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.JobTimeout != 10*time.Minute || c.MaxJobTimeout != time.Hour || c.DefaultNumPredict != 4096 {
		t.Fatalf("job timeout %s, max %s, num_predict %d", c.JobTimeout, c.MaxJobTimeout, c.DefaultNumPredict)
	}
	env := map[string]string{"FOREMAN_JOB_TIMEOUT": "0", "FOREMAN_MAX_JOB_TIMEOUT": "0", "FOREMAN_DEFAULT_NUM_PREDICT": "0"}
	if c, err = LoadConfig(func(k string) string { return env[k] }); err != nil || c.JobTimeout != 0 || c.MaxJobTimeout != 0 || c.DefaultNumPredict != 0 {
		t.Fatalf("all off: %+v, %v", c, err)
	}
}

func TestConfigLimitsErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"FOREMAN_MAX_JOB_TIMEOUT": "-1s"}, "FOREMAN_MAX_JOB_TIMEOUT"},
		{map[string]string{"FOREMAN_MAX_JOB_TIMEOUT": "soon"}, "FOREMAN_MAX_JOB_TIMEOUT"},
		{map[string]string{"FOREMAN_JOB_TIMEOUT": "2h"}, "FOREMAN_JOB_TIMEOUT"},
		{map[string]string{"FOREMAN_DEFAULT_NUM_PREDICT": "-1"}, "FOREMAN_DEFAULT_NUM_PREDICT"},
		{map[string]string{"FOREMAN_DEFAULT_NUM_PREDICT": "lots"}, "FOREMAN_DEFAULT_NUM_PREDICT"},
	} {
		_, err := LoadConfig(func(k string) string { return tc.env[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != tc.name || exitCode(err) != ExitUsage {
			t.Errorf("%v: %v", tc.env, err)
		}
	}
}

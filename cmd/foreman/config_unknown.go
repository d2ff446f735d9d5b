package main

import (
	"strings"
)

// clientSetting is the FOREMAN_* variable read by the client commands and
// not by the daemon; it is no misspelling when set in its environment.
const clientSetting = "FOREMAN_URL"

// knownSettings lists every FOREMAN_* variable foreman reads. The daemon's
// and the router's are collected by running LoadConfig and LoadRouteConfig
// against an empty environment, so a new setting is known the moment
// either reads it.
func knownSettings() []string {
	seen := map[string]bool{}
	known := []string{clientSetting}
	collect := func(k string) string {
		if !seen[k] {
			seen[k] = true
			known = append(known, k)
		}
		return ""
	}
	LoadConfig(collect)
	LoadRouteConfig(collect)
	return known
}

// unknownSetting is a FOREMAN_* variable nothing reads, with the known one
// it most resembles ("" when none is close).
type unknownSetting struct {
	Name, Closest string
}

// unknownSettings returns the FOREMAN_* variables of environ (KEY=VALUE
// entries, as os.Environ) that foreman does not read: most likely a
// misspelt setting, which would otherwise be silently ignored.
func unknownSettings(environ []string) []unknownSetting {
	known := knownSettings()
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	var out []unknownSetting
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "FOREMAN_") || isKnown[name] {
			continue
		}
		u := unknownSetting{Name: name}
		best := len(name)/2 + 1 // beyond half the name changed, it is no typo
		for _, k := range known {
			if d := editDistance(name, k); d < best {
				best, u.Closest = d, k
			}
		}
		out = append(out, u)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (setting names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// volatile reports whether a field differs between two runs of the same
// request by nature: timestamps and timings.
func volatile(key string) bool {
	return key == "created_at" || strings.HasSuffix(key, "_duration")
}

// stable decodes JSON and drops the volatile fields at every depth.
func stable(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // compare numbers as written, not as float64
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w in %q", err, data)
	}
	return strip(v), nil
}

func strip(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if volatile(k) {
				delete(x, k)
			} else {
				x[k] = strip(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = strip(x[i])
		}
	}
	return v
}

// sameJSON compares two JSON documents apart from created_at and the
// *_duration fields; the error shows both sides.
func sameJSON(a, b []byte) error {
	va, err := stable(a)
	if err != nil {
		return err
	}
	vb, err := stable(b)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(va, vb) {
		ja, _ := json.Marshal(va)
		jb, _ := json.Marshal(vb)
		return fmt.Errorf("JSON differs (apart from created_at, *_duration):\n  foreman: %s\n  ollama:  %s", ja, jb)
	}
	return nil
}

// sameValues is sameJSON on two Go values as the official client decoded them.
func sameValues(a, b any) error {
	ja, err := json.Marshal(a)
	if err != nil {
		return err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return sameJSON(ja, jb)
}

// ndjsonLines splits a streamed body into its non-empty lines.
func ndjsonLines(body []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(body, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

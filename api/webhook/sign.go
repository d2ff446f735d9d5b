// Package webhook delivers a job's events to its state_webhook_url, driven
// from the event log: at least once, with backoff, signed, and replayable
// from any offset (docs/webhooks.md).
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Key returns the HMAC key for a secret: its bytes, except that a secret
// written whsec_<base64> (the Standard Webhooks form) is decoded first.
func Key(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("webhook secret: whsec_ value is not base64: %w", err)
		}
		return k, nil
	}
	return []byte(secret), nil
}

// Sign sets both signature schemes on a delivery: foreman's own
// X-Foreman-Signature (hex HMAC of the body, as the original foreman sent)
// and the Standard Webhooks webhook-id/-timestamp/-signature headers.
func Sign(h http.Header, key []byte, id string, unix int64, body []byte) {
	ts := strconv.FormatInt(unix, 10)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	if key == nil {
		return
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	h.Set("X-Foreman-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	m = hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// VerifySignature checks a webhook delivery from foreman, for receivers
// written by users. secret is the daemon's FOREMAN_WEBHOOK_SECRET, raw or
// in the Standard Webhooks form whsec_<base64>. foreman signs every
// delivery twice (ADR-0005): X-Foreman-Signature "sha256=<hex HMAC of the
// body>" and webhook-signature "v1,<base64 HMAC of id.timestamp.body>".
// The delivery verifies when at least one of them is present and every
// one present is right; otherwise the error matches ErrBadSignature.
//
// It does not judge the webhook-timestamp's age: a receiver that wants to
// refuse old deliveries compares it with its clock (replays keep their
// webhook-id but are signed with a fresh timestamp).
func VerifySignature(secret string, h http.Header, body []byte) error {
	key, err := webhookKey(secret)
	if err != nil {
		return err
	}
	fsig, ssig := h.Get("X-Foreman-Signature"), h.Get("webhook-signature")
	if fsig == "" && ssig == "" {
		return fmt.Errorf("%w: no X-Foreman-Signature or webhook-signature header", ErrBadSignature)
	}
	if fsig != "" {
		got, err := hex.DecodeString(strings.TrimPrefix(fsig, "sha256="))
		if err != nil || !hmac.Equal(got, mac(key, body)) {
			return fmt.Errorf("%w: X-Foreman-Signature", ErrBadSignature)
		}
	}
	if ssig != "" {
		want := mac(key, []byte(h.Get("webhook-id")+"."+h.Get("webhook-timestamp")+"."), body)
		ok := false
		for _, s := range strings.Fields(ssig) { // several, space-separated, during a key rotation
			v, sig, _ := strings.Cut(s, ",")
			got, err := base64.StdEncoding.DecodeString(sig)
			if v == "v1" && err == nil && hmac.Equal(got, want) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%w: webhook-signature", ErrBadSignature)
		}
	}
	return nil
}

// webhookKey decodes a whsec_ secret as the daemon does.
func webhookKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("webhook secret: whsec_ value is not base64: %w", err)
		}
		return k, nil
	}
	return []byte(secret), nil
}

func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
)

// signed signs body with both schemes, written out independently of
// verify.go; verify_external_test.go checks against the daemon's signer.
func signed(secret string, body []byte) http.Header {
	h := http.Header{}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	h.Set("X-Foreman-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	h.Set("webhook-id", "evt_1_X")
	h.Set("webhook-timestamp", "1700000000")
	m = hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("evt_1_X.1700000000."))
	m.Write(body)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return h
}

func TestVerifySignatureSchemes(t *testing.T) {
	body := []byte(`{"event":"succeeded"}`)
	h := signed("k", body)
	if err := VerifySignature("k", h, body); err != nil {
		t.Fatalf("both schemes: %v", err)
	}
	only := func(keep string) http.Header {
		c := h.Clone()
		for _, k := range []string{"X-Foreman-Signature", "Webhook-Signature"} {
			if k != http.CanonicalHeaderKey(keep) {
				c.Del(k)
			}
		}
		return c
	}
	for _, k := range []string{"X-Foreman-Signature", "webhook-signature"} {
		if err := VerifySignature("k", only(k), body); err != nil {
			t.Errorf("only %s: %v", k, err)
		}
	}
	rotated := h.Clone()
	rotated.Set("webhook-signature", "v1,b2xk "+h.Get("webhook-signature"))
	if err := VerifySignature("k", rotated, body); err != nil {
		t.Errorf("several webhook-signature values: %v", err)
	}
	bad := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
	}{
		{"wrong secret", "other", h, body},
		{"tampered body", "k", h, []byte(`{"event":"failed"}`)},
		{"no signature", "k", http.Header{}, body},
		{"one scheme wrong", "k", func() http.Header { c := h.Clone(); c.Set("X-Foreman-Signature", "sha256=00"); return c }(), body},
		{"timestamp changed", "k", func() http.Header { c := h.Clone(); c.Set("webhook-timestamp", "1"); return c }(), body},
	}
	for _, tc := range bad {
		if err := VerifySignature(tc.secret, tc.h, tc.body); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", tc.name, err)
		}
	}
}

func TestVerifySignatureWhsecSecret(t *testing.T) {
	key := []byte{0, 1, 2, 250}
	body := []byte(`{}`)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	if err := VerifySignature(secret, signed(string(key), body), body); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature("whsec_!!", signed("x", body), body); err == nil || errors.Is(err, ErrBadSignature) {
		t.Fatalf("a malformed whsec_ secret: err = %v", err)
	}
}

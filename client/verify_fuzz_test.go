package client_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/foreman-dev/foreman/api/webhook"
	"github.com/foreman-dev/foreman/client"
)

// FuzzVerify checks client.VerifySignature against the daemon's signer
// (api/webhook has no verifier of its own) on arbitrary secrets, ids,
// timestamps, bodies and headers. It never panics; a body signed by
// webhook.Sign verifies; a changed body, a wrong key or a header
// signature that is not the right HMAC never does. Seeds live in
// testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	f.Add("plain secret", "evt_7_01J", int64(1764000000), []byte(`{"event":"succeeded"}`), uint(3), byte(1), "", "")
	f.Add("whsec_"+base64.StdEncoding.EncodeToString([]byte("binary\x00key")), "evt_1_X", int64(-1), []byte{}, uint(0), byte(0x80),
		"sha256=00", "v1,AAAA v2,xyz")
	f.Add("whsec_not base64!", "", int64(0), []byte("x"), uint(0), byte(0), "sha256=zz", "v1")
	f.Add("", "id.with.dots", int64(42), []byte("body"), uint(9), byte(0xff), "deadbeef", "v1,"+strings.Repeat("A", 44))
	f.Add(strings.Repeat("k", 100), "evt", int64(1), bytes.Repeat([]byte{0}, 70), uint(69), byte(2), "", " ")
	f.Fuzz(func(t *testing.T, secret, id string, ts int64, body []byte, pos uint, flip byte, fsig, ssig string) {
		key, keyErr := webhook.Key(secret)
		// Arbitrary headers: accepted only if every signature present is right.
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", itoa(ts))
		h.Set("X-Foreman-Signature", fsig)
		h.Set("webhook-signature", ssig)
		err := client.VerifySignature(secret, h, body)
		if keyErr != nil {
			if err == nil {
				t.Fatalf("secret %q does not decode (%v) yet a delivery verified", secret, keyErr)
			}
			return
		}
		if err == nil {
			if fsig == "" && ssig == "" {
				t.Fatal("verified without any signature")
			}
			if fsig != "" && !foremanSigOK(key, fsig, body) {
				t.Fatalf("accepted a wrong X-Foreman-Signature %q", fsig)
			}
			if ssig != "" && !standardSigOK(key, id, itoa(ts), ssig, body) {
				t.Fatalf("accepted a wrong webhook-signature %q", ssig)
			}
		} else if !errors.Is(err, client.ErrBadSignature) {
			t.Fatalf("a refusal that is not ErrBadSignature: %v", err)
		}

		// Signed by the daemon: verifies, and each scheme alone verifies.
		h = http.Header{}
		webhook.Sign(h, key, id, ts, body)
		if err := client.VerifySignature(secret, h, body); err != nil {
			t.Fatalf("a delivery signed by the daemon does not verify: %v", err)
		}
		for _, only := range []string{"X-Foreman-Signature", "webhook-signature"} {
			one := h.Clone()
			one.Del(only)
			if err := client.VerifySignature(secret, one, body); err != nil {
				t.Fatalf("signed delivery without %s: %v", only, err)
			}
		}
		// Any change to the body is refused.
		mutants := [][]byte{append(bytes.Clone(body), 'x')}
		if len(body) > 0 {
			mutants = append(mutants, body[:len(body)-1])
			if flip != 0 {
				m := bytes.Clone(body)
				m[pos%uint(len(m))] ^= flip
				mutants = append(mutants, m)
			}
		}
		for _, m := range mutants {
			if err := client.VerifySignature(secret, h, m); !errors.Is(err, client.ErrBadSignature) {
				t.Fatalf("body %q signed, %q verified: %v", body, m, err)
			}
		}
		// Another key is refused. A changed byte gives a key HMAC treats
		// as different (an appended zero byte would not: keys are padded).
		other := []byte("x")
		if len(key) > 0 {
			other = bytes.Clone(key)
			other[0] ^= 1
		}
		if err := client.VerifySignature("whsec_"+base64.StdEncoding.EncodeToString(other), h, body); !errors.Is(err, client.ErrBadSignature) {
			t.Fatalf("verified with the wrong key: %v", err)
		}
	})
}

func itoa(n int64) string {
	h := http.Header{}
	webhook.Sign(h, nil, "", n, nil) // the daemon's own timestamp formatting
	return h.Get("webhook-timestamp")
}

func hmacOf(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// foremanSigOK is the X-Foreman-Signature check, written independently.
func foremanSigOK(key []byte, sig string, body []byte) bool {
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	return err == nil && hmac.Equal(got, hmacOf(key, string(body)))
}

// standardSigOK is the Standard Webhooks check: one of the space-separated
// v1 signatures is the HMAC of id.timestamp.body.
func standardSigOK(key []byte, id, ts, sigs string, body []byte) bool {
	want := hmacOf(key, id+"."+ts+".", string(body))
	for _, s := range strings.Fields(sigs) {
		if v, b64, ok := strings.Cut(s, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

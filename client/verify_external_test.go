package client_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/foreman-dev/foreman/api/webhook"
	"github.com/foreman-dev/foreman/client"
)

// TestVerifyAgreesWithTheDaemon signs with the daemon's own signer.
func TestVerifyAgreesWithTheDaemon(t *testing.T) {
	body := []byte(`{"event":"succeeded","job_id":"01J"}`)
	for _, secret := range []string{"plain secret", "whsec_" + base64.StdEncoding.EncodeToString([]byte("binary\x00key"))} {
		key, err := webhook.Key(secret)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		webhook.Sign(h, key, "evt_7_01J", 1764000000, body)
		if err := client.VerifySignature(secret, h, body); err != nil {
			t.Errorf("secret %q: %v", secret, err)
		}
		if err := client.VerifySignature("wrong", h, body); !errors.Is(err, client.ErrBadSignature) {
			t.Errorf("secret %q with a wrong secret: err = %v", secret, err)
		}
	}
}

package client_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// TestParseDelivery reads a golden delivery signed by the daemon's signer.
func TestParseDelivery(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "docs", "testdata", "webhook-failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := webhook.Key("s3cret")
	h := http.Header{}
	webhook.Sign(h, key, "evt_55_01JDQ80A2C4E6G8J0K2M4P6R8T", time.Now().Unix(), body)
	d, err := client.ParseDelivery("s3cret", h, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Event != "failed" || d.State != client.StateFailed || d.Offset != 55 || d.Attempt != 2 || d.Error == "" {
		t.Fatalf("delivery %+v", d)
	}
	tampered := bytes.Replace(body, []byte(`"attempt":2`), []byte(`"attempt":3`), 1)
	if _, err := client.ParseDelivery("s3cret", h, tampered); !errors.Is(err, client.ErrBadSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if _, err := client.ParseDelivery("", nil, []byte("{")); err == nil {
		t.Fatal("a malformed body parsed")
	}
}

package client_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// delivery is client.Delivery: the job fields it shares with
// GET /jobs/{id} plus the event's own.
type delivery = client.Delivery

// readGolden decodes a payload written by api/webhook's golden test, the
// same file docs/webhooks.md shows.
func readGolden(t *testing.T, name string) delivery {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a field the daemon added must be known here too
	var d delivery
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func TestGoldenWebhookStarted(t *testing.T) {
	d := readGolden(t, "webhook-started.json")
	if d.JobID != "01JDQ7ZK8M4T2V6X9B3N5R7P1C" || d.Event != "started" || d.State != client.StateWorking || d.Offset != 42 {
		t.Fatalf("got job %s event %s state %s offset %d", d.JobID, d.Event, d.State, d.Offset)
	}
	if want := time.Date(2026, 11, 25, 9, 30, 0, 250e6, time.UTC); !d.Time.Equal(want) || d.Attempt != 1 || d.Model != "llama3.2" || d.Kind != "chat" {
		t.Fatalf("got time %v attempt %d model %s kind %s", d.Time, d.Attempt, d.Model, d.Kind)
	}
	if client.Terminal(d.State) || d.Result.Result != nil || d.Artifacts != nil || d.Error != "" {
		t.Fatalf("a non-terminal delivery carries terminal fields: %+v", d)
	}
}

func TestGoldenWebhookSucceeded(t *testing.T) {
	d := readGolden(t, "webhook-succeeded.json")
	if d.JobID != "01JDQ7ZK8M4T2V6X9B3N5R7P1C" || d.Event != "succeeded" || d.State != client.StateDone || d.Offset != 44 {
		t.Fatalf("got job %s event %s state %s offset %d", d.JobID, d.Event, d.State, d.Offset)
	}
	const text = "Rayleigh scattering: air molecules scatter short (blue) wavelengths of sunlight far more than long ones."
	if got := d.Text(); got != text {
		t.Fatalf("result text %q", got)
	}
	chat, err := d.Chat()
	if err != nil || !chat.Done || chat.Message.Role != "assistant" || chat.EvalCount != 24 {
		t.Fatalf("result as an Ollama chat response: %+v, %v", chat, err)
	}
	if d.Error != "" || d.Status != 0 {
		t.Fatalf("a done job carries error %q status %d", d.Error, d.Status)
	}
	// result.json is inline, its bytes those of "result" and its digest right.
	if len(d.Artifacts) != 1 {
		t.Fatalf("artifacts %+v", d.Artifacts)
	}
	a := d.Artifacts[0]
	sum := sha256.Sum256(a.Data)
	if a.Name != "result.json" || a.ContentType != "application/json" || a.URL != "" ||
		a.Size != int64(len(a.Data)) || a.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("artifact %s %s size %d (data %d) sha256 %s url %q", a.Name, a.ContentType, a.Size, len(a.Data), a.SHA256, a.URL)
	}
	if !bytes.Equal(a.Data, d.Result.Result) {
		t.Fatalf("artifact data and result differ:\n%s\n%s", a.Data, d.Result.Result)
	}
}

func TestGoldenWebhookFailed(t *testing.T) {
	d := readGolden(t, "webhook-failed.json")
	if d.JobID != "01JDQ80A2C4E6G8J0K2M4P6R8T" || d.Event != "failed" || d.State != client.StateFailed || d.Offset != 55 {
		t.Fatalf("got job %s event %s state %s offset %d", d.JobID, d.Event, d.State, d.Offset)
	}
	if d.Error != "model requires more system memory (9.6 GiB) than is available (7.1 GiB)" || d.Status != 500 || d.Attempt != 2 {
		t.Fatalf("got error %q status %d attempt %d", d.Error, d.Status, d.Attempt)
	}
	if d.Result.Result != nil || d.Artifacts == nil || len(d.Artifacts) != 0 {
		t.Fatalf("a failed job: result %s artifacts %+v, want none and []", d.Result.Result, d.Artifacts)
	}
}

// TestDocumentedSignaturesVerify checks the signing example of
// docs/webhooks.md with VerifySignature, and that one changed byte fails.
func TestDocumentedSignaturesVerify(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "docs", "testdata", "webhook-started.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_42_01JDQ7ZK8M4T2V6X9B3N5R7P1C")
	h.Set("webhook-timestamp", "1795599001")
	h.Set("webhook-signature", "v1,iVU8Pa4zs3/qIXRQ10tqAfa1JLGVCQoxj9pxYS/pFMY=")
	h.Set("X-Foreman-Signature", "sha256=28f4d59693fc4e234487b859916230d88fa042d321ed44adda77283079a79262")
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	if err := client.VerifySignature(secret, h, body); err != nil {
		t.Fatal(err)
	}
	for _, only := range []string{"webhook-signature", "X-Foreman-Signature"} {
		one := h.Clone()
		one.Del(only)
		if err := client.VerifySignature(secret, one, body); err != nil {
			t.Fatalf("without %s: %v", only, err)
		}
	}
	tampered := bytes.Replace(body, []byte(`"attempt":1`), []byte(`"attempt":2`), 1)
	if err := client.VerifySignature(secret, h, tampered); !errors.Is(err, client.ErrBadSignature) {
		t.Fatalf("a changed body: %v, want ErrBadSignature", err)
	}
}

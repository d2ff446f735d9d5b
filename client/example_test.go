package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
)

// Submit blocks until the job is done: a webhook receiver on a random
// loopback port tells it when to look, polling covers the rest.
func ExampleClient_Submit() {
	c := client.New("http://127.0.0.1:8080",
		client.WithToken(os.Getenv("FOREMAN_TOKEN")),
		client.WithWebhookSecret(os.Getenv("FOREMAN_WEBHOOK_SECRET")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := c.Submit(ctx, client.Request{Chat: &ollama.ChatRequest{
		Model:    "llama3.2",
		Messages: []ollama.Message{{Role: "user", Content: "Why is the sky blue?"}},
	}})
	var we *client.WaitError
	switch {
	case errors.As(err, &we):
		log.Printf("gave up waiting; job %s goes on", we.JobID)
		return
	case errors.Is(err, client.ErrJobFailed):
		log.Fatal(err)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(res.Text())
}

// Enqueue and Wait split Submit in two, e.g. to store the id first.
func ExampleClient_Enqueue() {
	c := client.New("http://127.0.0.1:8080", client.WithToken(os.Getenv("FOREMAN_TOKEN")), client.WithPollInterval(5*time.Second))
	ctx := context.Background()
	id, err := c.Enqueue(ctx, client.Request{
		Generate:       &ollama.GenerateRequest{Model: "llama3.2", Prompt: "A haiku about queues"},
		IdempotencyKey: "haiku-2026-12-02",
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Wait(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Text())
}

// Stream prints a running job's tokens as the model produces them.
func ExampleClient_Stream() {
	c := client.New("http://127.0.0.1:8080")
	err := c.Stream(context.Background(), "01JDQ4Z6V8X9Y0A1B2C3D4E5F6", func(line json.RawMessage) error {
		var chunk ollama.ChatResponse
		if err := json.Unmarshal(line, &chunk); err != nil {
			return err
		}
		if !chunk.Done {
			fmt.Print(chunk.Message.Content)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// VerifySignature checks deliveries in a receiver of your own.
func ExampleVerifySignature() {
	secret := os.Getenv("FOREMAN_WEBHOOK_SECRET")
	http.HandleFunc("POST /foreman", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if err := client.VerifySignature(secret, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent) // dedupe by webhook-id, order by "offset"
	})
}

// APIError carries the daemon's status and message.
func ExampleAPIError() {
	c := client.New("http://127.0.0.1:8080", client.WithToken("wrong"))
	_, err := c.List(context.Background(), client.ListOptions{State: client.StateFailed})
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		log.Fatal("check FOREMAN_TOKEN: ", ae.Message)
	}
}

// A job that ended failed or cancelled comes back with its Result and a
// *JobError that errors.Is matches against ErrJobFailed or ErrJobCancelled.
func ExampleJobError() {
	var err error = &client.JobError{JobID: "01J", State: client.StateFailed, Message: "model crashed", Status: 500}
	fmt.Println(errors.Is(err, client.ErrJobFailed), errors.Is(err, client.ErrJobCancelled))
	fmt.Println(err)
	fmt.Println(client.Terminal(client.StateFailed), client.Terminal(client.StateWorking))
	// Output:
	// true false
	// job 01J failed: model crashed
	// true false
}

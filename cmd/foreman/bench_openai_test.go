package main

import (
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// BenchmarkOpenAIChat is BenchmarkSyncChat for /v1/chat/completions, with
// the official OpenAI Go client: one non-streamed call (ns/op), and one
// streamed call whose time to the first content frame is ttft-µs, against
// the fake Ollama directly and through foreman with an empty queue (a
// durable job, the queue, the worker, the hub, the result artifact). The
// differences are foreman's overhead per call and on the first token.
func BenchmarkOpenAIChat(b *testing.B) {
	fake := ollamatest.New(b, ollamatest.WithMaxLoaded(4))
	base := benchDaemon(b, fake, map[string]string{})
	params := openai.ChatCompletionNewParams{
		Model:     "tiny-a",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		MaxTokens: openai.Int(8),
	}
	targets := []struct{ name, url string }{{"direct", fake.URL()}, {"foreman", base}}
	client := func(u string) openai.Client {
		return openai.NewClient(option.WithBaseURL(u+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	}
	for _, tc := range targets {
		c := client(tc.url)
		b.Run("call/"+tc.name, func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				if _, err := c.Chat.Completions.New(ctx, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, tc := range targets {
		c := client(tc.url)
		b.Run("stream/"+tc.name, func(b *testing.B) {
			ctx := b.Context()
			var ttft time.Duration
			for b.Loop() {
				start := time.Now()
				s := c.Chat.Completions.NewStreaming(ctx, params)
				first := true
				for s.Next() {
					if ch := s.Current(); first && len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
						ttft += time.Since(start)
						first = false
					}
				}
				if err := s.Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ttft.Microseconds())/float64(b.N), "ttft-µs")
		})
	}
}

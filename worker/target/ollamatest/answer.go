package ollamatest

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/ollama/ollama/api"
)

// DefaultTokens is how many tokens an answer has when num_predict is not
// set. The answer then ends with done_reason "stop"; with num_predict it
// ends with "length", as the real tiny models always do.
const DefaultTokens = 8

// RunnerCrash is what Ollama says when its runner dies mid-answer.
const RunnerCrash = "an error was encountered while running the model: unexpected EOF"

// pieces are the fake vocabulary: short bits like the real tiny models'
// random output.
var pieces = []string{
	"ollama", " the", "cd", "4", "1", " n", " wh", "gl", "A", "jc", " world", "kc", ",", "p",
	" t", "H", "co", " j", "not", "hl", "wo", "that", "hu", " a", "hj", " o", "iy", "dr",
	"ja", "hw", "im", "eg", "gt", "aq", "ds", "fy", " s", "this", "gs", " tha", "F", "gp",
}

// answer is the deterministic output for a rendered prompt: one piece per
// token, one token per streamed chunk.
type answer struct {
	pieces     []string
	doneReason string // "stop" or "length"
	promptEval int    // prompt_eval_count
}

func (a answer) text() string { return strings.Join(a.pieces, "") }

// Answer is the text pieces, one per streamed chunk, that the fake answers
// a generate request with. Options are the request's ("num_predict",
// "seed"). Tests use it to predict output exactly.
func Answer(model, prompt string, options map[string]any) []string {
	return makeAnswer(model, prompt, options).pieces
}

// ChatAnswer is Answer for a chat request.
func ChatAnswer(model string, messages []api.Message, options map[string]any) []string {
	return makeAnswer(model, chatPrompt(messages), options).pieces
}

// chatPrompt renders messages the way the fake's template does.
func chatPrompt(messages []api.Message) string {
	var b strings.Builder
	for _, m := range messages {
		b.WriteString("<|" + m.Role + "|>" + m.Content + "</s>")
	}
	return b.String()
}

func makeAnswer(model, prompt string, options map[string]any) answer {
	opts := api.DefaultOptions()
	_ = opts.FromMap(options) // bad options were refused before
	n, reason := DefaultTokens, "stop"
	if opts.NumPredict > 0 {
		n, reason = opts.NumPredict, "length"
	}
	h := fnv.New64a()
	h.Write([]byte(normalize(model) + "\x00" + strconv.Itoa(opts.Seed) + "\x00" + prompt))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x6f6c6c616d61))
	a := answer{pieces: make([]string, n), doneReason: reason}
	for i := range a.pieces {
		a.pieces[i] = pieces[rng.IntN(len(pieces))]
	}
	a.promptEval = 21 + len(strings.Fields(prompt))
	return a
}

// tokenIDs is a deterministic list of n token ids, for generate's context.
func tokenIDs(seed string, n int) []int {
	h := fnv.New64a()
	h.Write([]byte(seed))
	rng := rand.New(rand.NewPCG(h.Sum64(), 1))
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 259 + rng.IntN(757-259)
	}
	return ids
}

func splitWords(s string) []string { return strings.Fields(s) }

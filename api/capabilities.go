package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	ollamamodel "github.com/ollama/ollama/types/model"

	"github.com/foreman-dev/foreman/eventlog"
)

// checkCapabilities refuses at submission what the target would refuse
// only once the job reached it, maybe minutes later: a model that cannot
// do what the request asks (a chat to an embedding-only model, tools,
// think, a generate suffix). The model's capabilities are what the
// target's /api/show says (cached by the inventory); the status, message
// and order of the checks are Ollama's own (server/routes.go, v0.17.4).
// When the capabilities cannot be learnt (an older Ollama without them,
// a target that is down and was never asked), nothing is refused here and
// the target has the last word, as before.
//
// Images need nothing: Ollama v0.17.4 does not check vision, and runs an
// image request on any completion model.
func (s *Server) checkCapabilities(ctx context.Context, sh shape) error {
	if sh.unload || sh.kind == eventlog.KindOpenAIEmbedding { // any model embeds
		return nil
	}
	show, err := s.cfg.Inventory.Show(ctx, sh.model)
	if err != nil {
		s.cfg.Logger.Debug("cannot learn the model's capabilities; leaving the check to the target", "model", sh.model, "err", err)
		return nil
	}
	if len(show.Capabilities) == 0 || show.RemoteHost != "" { // unknown, or a cloud model Ollama does not check
		return nil
	}
	has := func(c ollamamodel.Capability) bool { return slices.Contains(show.Capabilities, c) }
	refuse := func(format string, args ...any) error {
		return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
	}
	verb := "chat"
	if sh.kind == eventlog.KindGenerate || sh.kind == eventlog.KindOpenAICompletion {
		verb = "generate"
		// Only a harmony (gpt-oss) model, which thinks, takes a level.
		if sh.think.IsString() && !has(ollamamodel.CapabilityThinking) {
			return refuse("think value %q is not supported for this model", sh.think.String())
		}
	}
	if sh.think.Bool() && !has(ollamamodel.CapabilityThinking) {
		return refuse("%q does not support thinking", sh.model)
	}
	if !has(ollamamodel.CapabilityCompletion) {
		return refuse("%q does not support %s", sh.model, verb)
	}
	var missing []string
	for _, want := range []struct {
		asked bool
		c     ollamamodel.Capability
	}{{sh.tools, ollamamodel.CapabilityTools}, {sh.suffix, ollamamodel.CapabilityInsert}} {
		if want.asked && !has(want.c) {
			missing = append(missing, string(want.c))
		}
	}
	if len(missing) > 0 { // Ollama names the model in full here
		return refuse("%s does not support %s", ollamamodel.ParseName(sh.model).String(), strings.Join(missing, "\n"))
	}
	return nil
}

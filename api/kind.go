package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/foreman-dev/foreman/eventlog"
)

// inferKind tells a chat from a generate request in a POST /jobs body by
// its shape: "messages" is a chat, "prompt" a generate. Before, a body
// without "kind" was taken for a chat whatever it held, so a generate
// request ran as an empty chat and ended "done" with nothing; now a body
// that says neither or both is refused unless "kind" settles it, and a
// "kind" the body contradicts is refused too.
func inferKind(kind eventlog.Kind, body map[string]json.RawMessage) (eventlog.Kind, error) {
	has := func(name string) bool {
		raw, ok := body[name]
		return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	}
	chat, gen := has("messages"), has("prompt")
	switch {
	case kind == eventlog.KindChat && gen && !chat:
		return "", &requestError{http.StatusBadRequest, `field "kind" is "chat" but the body is a generate request: it has "prompt" and no "messages"`}
	case kind == eventlog.KindGenerate && chat && !gen:
		return "", &requestError{http.StatusBadRequest, `field "kind" is "generate" but the body is a chat request: it has "messages" and no "prompt"`}
	case kind != "":
		return kind, nil
	case chat && gen:
		return "", &requestError{http.StatusBadRequest, `the body has both "messages" (a chat) and "prompt" (a generate): remove one, or set "kind"`}
	case chat:
		return eventlog.KindChat, nil
	case gen:
		return eventlog.KindGenerate, nil
	}
	return "", &requestError{http.StatusBadRequest, fmt.Sprintf(`the body has neither "messages" (a chat) nor "prompt" (a generate): add one, or set "kind" (%q or %q) for a request that only loads the model`, eventlog.KindChat, eventlog.KindGenerate)}
}

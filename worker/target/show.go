package target

import (
	"context"

	ollama "github.com/ollama/ollama/api"
)

// shown is a model's /api/show answer, kept while its digest stays the
// same: what a model can do changes only when the model does.
type shown struct {
	digest string
	resp   ollama.ShowResponse
}

// Show is what the target says of model (its capabilities, parameters and
// remote host; Client.Show), asked once per digest and then answered from
// the cache, also while the target is unreachable. The first ask for a
// model costs one /api/show.
func (inv *Inventory) Show(ctx context.Context, model string) (ollama.ShowResponse, error) {
	key := Normalize(model)
	inv.mu.Lock()
	digest := inv.digestLocked(key)
	s, ok := inv.shows[key]
	inv.mu.Unlock()
	if ok && s.digest == digest {
		return s.resp, nil
	}
	resp, err := inv.c.Show(ctx, model)
	if err != nil {
		if ok { // the target cannot say now; what it said last is still the best answer
			return s.resp, nil
		}
		return ollama.ShowResponse{}, err
	}
	inv.mu.Lock()
	if inv.shows == nil {
		inv.shows = map[string]shown{}
	}
	inv.shows[key] = shown{digest: digest, resp: resp}
	inv.mu.Unlock()
	return resp, nil
}

// digestLocked is the listed digest of the model named key; "" if none.
func (inv *Inventory) digestLocked(key string) string {
	for _, m := range inv.models {
		if Normalize(m.Name) == key || Normalize(m.Model) == key {
			return m.Digest
		}
	}
	return ""
}

// forgetShows drops the answers of models that are gone or changed.
func (inv *Inventory) forgetShows() {
	for key, s := range inv.shows {
		if inv.digestLocked(key) != s.digest {
			delete(inv.shows, key)
		}
	}
}

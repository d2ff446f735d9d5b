package ollamatest

import "encoding/json"

// WithExtraFields adds fields a newer Ollama might send to the /api/tags
// and /api/ps answers: at the top level and in each model entry. Tests use
// it to check that fields unknown to the client reach callers.
func WithExtraFields(fields map[string]any) Option {
	return func(c *config) { c.extra = fields }
}

// withExtra is v as JSON with the extra fields added; v itself when none.
func (s *Server) withExtra(v any) any {
	if len(s.cfg.extra) == 0 {
		return v
	}
	var m map[string]any
	if err := json.Unmarshal(mustJSON(v), &m); err != nil {
		panic("ollamatest: " + err.Error())
	}
	add := func(o map[string]any) {
		for k, x := range s.cfg.extra {
			o[k] = x
		}
	}
	add(m)
	if models, ok := m["models"].([]any); ok {
		for _, e := range models {
			if o, ok := e.(map[string]any); ok {
				add(o)
			}
		}
	}
	return m
}

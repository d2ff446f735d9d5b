package client

import (
	"context"
	"net/http"

	ollama "github.com/ollama/ollama/api"
)

// Tags lists the target's models, from foreman's inventory (GET /api/tags).
func (c *Client) Tags(ctx context.Context) (*ollama.ListResponse, error) {
	var v ollama.ListResponse
	if err := c.call(ctx, http.MethodGet, "/api/tags", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Ps lists the models loaded in the target (GET /api/ps).
func (c *Client) Ps(ctx context.Context) (*ollama.ProcessResponse, error) {
	var v ollama.ProcessResponse
	if err := c.call(ctx, http.MethodGet, "/api/ps", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Embed computes embeddings (POST /api/embed). Embeddings bypass the queue
// and run beside the current job (ADR-0013).
func (c *Client) Embed(ctx context.Context, req *ollama.EmbedRequest) (*ollama.EmbedResponse, error) {
	var v ollama.EmbedResponse
	if err := c.call(ctx, http.MethodPost, "/api/embed", req, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// auth checks bearer tokens. Every token is compared in constant time, and
// all of them are tried, so timing reveals neither a token nor which one
// matched.
type auth struct {
	names  []string
	tokens [][]byte
}

func newAuth(tokens map[string]string) *auth {
	a := &auth{}
	for name, tok := range tokens {
		a.names = append(a.names, name)
		a.tokens = append(a.tokens, []byte(tok))
	}
	return a
}

type callerKey struct{}

// Caller is the name of the token that authenticated the request ("" when
// auth is off).
func Caller(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

func (a *auth) require(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if len(a.tokens) == 0 {
			h(w, r, ps)
			return
		}
		got, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="foreman"`)
			unauthorized(w, r, "unauthorized: missing bearer token")
			return
		}
		match := -1
		for i, tok := range a.tokens {
			if subtle.ConstantTimeCompare([]byte(got), tok) == 1 {
				match = i
			}
		}
		if match < 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="foreman", error="invalid_token"`)
			unauthorized(w, r, "unauthorized: invalid bearer token")
			return
		}
		noteCaller(r.Context(), a.names[match])
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, a.names[match])), ps)
	}
}

// bearer takes the token from an Authorization header. The scheme is
// case-insensitive (RFC 7235 section 2.1), so "bearer" and "BEARER" work.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(tok, " "), true
}

// unauthorized answers 401 with the message twice, because the clients
// people point at foreman read different keys:
//   - "error": Ollama's error shape, read by ollama-js, ollama-python and
//     foreman's own client/ (readAPIError).
//   - "status": the official Go client (github.com/ollama/ollama/api,
//     checkError) decodes a 401 into AuthorizationError, whose untagged
//     Status field matches "status"; without it the user sees "something
//     went wrong, please see the ollama server logs for details".
//
// Tested in cmd/foreman/ollamaclient_test.go (Go client) and
// client/e2e_test.go.
//
// The body, if any, is never read and the connection is closed: a caller
// without a token must not hold a connection by announcing a body it
// never sends.
func unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Connection", "close")
	dropBody(w, r)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg, "status": msg})
}

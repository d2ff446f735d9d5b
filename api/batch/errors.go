package batch

import (
	"encoding/json"
	"net/http"
)

// apiError is OpenAI's error body: {"error": {message, type, param, code}}.
type apiError struct {
	status  int
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

// invalid is a 400 invalid_request_error about param.
func invalid(param, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Message: msg, Type: "invalid_request_error", Param: str(param)}
}

// notFound is OpenAI's 404 for an unknown object.
func notFound(msg, param string) *apiError {
	return &apiError{status: http.StatusNotFound, Message: msg, Type: "invalid_request_error", Param: str(param)}
}

func serverError(msg string) *apiError {
	return &apiError{status: http.StatusInternalServerError, Message: msg, Type: "server_error"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]*apiError{"error": e})
}

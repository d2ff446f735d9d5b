#!/bin/bash
# Capture the real Ollama's /v1 (OpenAI-compatible) answers into
# ./samples/ (status line, headers, body), in the format of
# ../shared/real-ollama/probe.sh. Needs the kit's models (tiny-a, tiny-b,
# tiny-embed) on $OLLAMA_HOST (default 127.0.0.1:11555).
set -u
H=http://${OLLAMA_HOST:-127.0.0.1:11555}
D=${SAMPLES_DIR:-$(cd "$(dirname "$0")" && pwd)/samples}
mkdir -p "$D"
c() { # c NAME curl-args...
  local name=$1; shift
  { echo "### curl $*"; curl -sS -i --max-time 120 "$@"; echo; } > "$D/$name.txt" 2>&1
}
J=(-H 'Content-Type: application/json')
c v1-chat-nonstream            $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":8}'
c v1-chat-stream               $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"stream":true}'
c v1-chat-stream-usage         $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}'
c v1-chat-unknown-model        $H/v1/chat/completions "${J[@]}" -d '{"model":"nope","messages":[{"role":"user","content":"hi"}]}'
c v1-chat-unknown-model-stream $H/v1/chat/completions "${J[@]}" -d '{"model":"nope","messages":[{"role":"user","content":"hi"}],"stream":true}'
c v1-chat-malformed-json       $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-a","messages":['
c v1-chat-empty-body           -X POST $H/v1/chat/completions
c v1-chat-missing-model        $H/v1/chat/completions "${J[@]}" -d '{"messages":[{"role":"user","content":"hi"}]}'
c v1-chat-no-messages          $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-a","messages":[]}'
c v1-chat-bad-field-type       $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-a","messages":"hi"}'
c v1-chat-on-embed-model       $H/v1/chat/completions "${J[@]}" -d '{"model":"tiny-embed","messages":[{"role":"user","content":"hi"}]}'
c v1-chat-get-method           $H/v1/chat/completions
c v1-completions-nonstream     $H/v1/completions "${J[@]}" -d '{"model":"tiny-a","prompt":"why is the sky blue","max_tokens":8,"seed":42}'
c v1-completions-stream        $H/v1/completions "${J[@]}" -d '{"model":"tiny-a","prompt":"why is the sky blue","max_tokens":8,"stream":true}'
c v1-completions-stream-usage  $H/v1/completions "${J[@]}" -d '{"model":"tiny-a","prompt":"why is the sky blue","max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}'
c v1-completions-unknown-model $H/v1/completions "${J[@]}" -d '{"model":"nope","prompt":"hi"}'
c v1-completions-missing-model  $H/v1/completions "${J[@]}" -d '{"prompt":"hi"}'
c v1-completions-on-embed-model $H/v1/completions "${J[@]}" -d '{"model":"tiny-embed","prompt":"hi"}'
c v1-completions-malformed-json $H/v1/completions "${J[@]}" -d '{"model":'
c v1-responses-nonstream       $H/v1/responses "${J[@]}" -d '{"model":"tiny-a","input":"hi","max_output_tokens":8}'
c v1-responses-stream          $H/v1/responses "${J[@]}" -d '{"model":"tiny-a","input":"hi","max_output_tokens":8,"stream":true}'
c v1-responses-unknown-model   $H/v1/responses "${J[@]}" -d '{"model":"nope","input":"hi"}'
c v1-embeddings                $H/v1/embeddings "${J[@]}" -d '{"model":"tiny-embed","input":"hi"}'
c v1-embeddings-multi          $H/v1/embeddings "${J[@]}" -d '{"model":"tiny-embed","input":["hello","world"]}'
c v1-embeddings-unknown-model  $H/v1/embeddings "${J[@]}" -d '{"model":"nope","input":"hi"}'
c v1-embeddings-missing-model  $H/v1/embeddings "${J[@]}" -d '{"input":"hi"}'
c v1-embeddings-malformed-json $H/v1/embeddings "${J[@]}" -d 'not json'
c v1-embeddings-empty-input    $H/v1/embeddings "${J[@]}" -d '{"model":"tiny-embed","input":[]}'
c v1-models                    $H/v1/models
c v1-models-get                $H/v1/models/tiny-a
c v1-models-get-tag            $H/v1/models/tiny-a:latest
c v1-models-get-unknown        $H/v1/models/nope
c v1-models-get-slash          $H/v1/models/library/tiny-a
c v1-unknown-path              $H/v1/nope
c v1-unknown-path-post         $H/v1/nope "${J[@]}" -d '{}'
c v1-head-models               -I $H/v1/models
c v1-options-chat              -X OPTIONS $H/v1/chat/completions
c v1-patch-chat                -X PATCH $H/v1/chat/completions

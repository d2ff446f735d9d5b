#!/usr/bin/env bash
# Regenerates docs/ui.png, the dashboard's picture in the README: the browser
# suite's TestScreenshot starts the real daemon in front of the fake Ollama,
# fills it with jobs, and saves what headless Chromium shows (~30 s).
# Needs Debian's chromium (apt-get install -y chromium) or FOREMAN_CHROMIUM.
set -euo pipefail
cd "$(dirname "$0")/.."
FOREMAN_UI_SCREENSHOT="$PWD/docs/ui.png" \
  go test -tags browser -count=1 -run '^TestScreenshot$' -v ./cmd/foreman/browser/ | grep -E '^(---|ok|FAIL|PASS)|wrote'

#!/usr/bin/env bash
# `make run`: migrate the SQLite database under instance/, load the Gresik demo data, start the
# local fake of Google's sign-in endpoints (so parent sign-in works out of the box) and serve
# http://127.0.0.1:5000. Development only: never with real credentials.
#   BIN               virtualenv bin directory (default .venv/bin)
#   PORT              API port (default 5000)
#   FAKE_GOOGLE_PORT  port of the fake Google server (default 8931)
# A service account (GOOGLE_APPLICATION_CREDENTIALS) or FIREBASE_FAKE_GOOGLE_URL already set
# is left alone: then no fake is started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PORT=${PORT:-5000}
FAKE_GOOGLE_PORT=${FAKE_GOOGLE_PORT:-8931}
export FLASK_APP=posyandu
mkdir -p instance

"$BIN/flask" db upgrade
"$BIN/flask" demo load

fake_pid=""
cleanup() { if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT INT TERM

if [ -z "${GOOGLE_APPLICATION_CREDENTIALS:-}" ] && [ -z "${FIREBASE_FAKE_GOOGLE_URL:-}" ]; then
  url="http://127.0.0.1:${FAKE_GOOGLE_PORT}"
  if ! "$BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/_fake/health', timeout=1)" "$url" 2>/dev/null; then
    "$BIN/python" -m posyandu.devtools.fake_google --port "$FAKE_GOOGLE_PORT" > instance/fake_google.log 2>&1 &
    fake_pid=$!
    for _ in $(seq 1 50); do
      grep -q FAKE_GOOGLE_READY instance/fake_google.log 2>/dev/null && break
      kill -0 "$fake_pid" 2>/dev/null || { cat instance/fake_google.log >&2; exit 1; }
      sleep 0.2
    done
  fi
  export FIREBASE_FAKE_GOOGLE_URL="$url"
  echo "Parent sign-in (development): local fake of Google at $url"
  echo "  TOKEN=\$($BIN/flask demo parent-token)   # the demo parent, +6281311110001"
  echo "  curl -s -X POST http://127.0.0.1:$PORT/api/v1/auth/firebase -H 'Content-Type: application/json' -d \"{\\\"id_token\\\": \\\"\$TOKEN\\\"}\""
fi

"$BIN/flask" run --host 127.0.0.1 --port "$PORT"

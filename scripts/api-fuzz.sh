#!/usr/bin/env bash
# api-fuzz.sh — schemathesis against a live `myvid dev`, over every operation of
# GET /v1/openapi.json, positive and negative cases, every check. Passes only with
# no server error and no answer that breaks the document. See docs/API_FUZZ.md.
#
#   MYVID_BIN=target/debug/myvid scripts/api-fuzz.sh
#
# Environment:
#   MYVID_BIN           the built myvid binary (required)
#   MYVID_VENV          virtualenv with schemathesis (default ~/.cache/myvid-venv;
#                       scripts/install-deps.sh test installs it)
#   API_FUZZ_EXAMPLES   test cases per operation and phase (default 60)
#   API_FUZZ_SEED       hypothesis seed (default fixed, so CI runs are repeatable)
#   API_FUZZ_MAX_TIME   time budget for the schemathesis run in seconds (default 240)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${MYVID_BIN:?set MYVID_BIN to the built myvid binary}
venv=${MYVID_VENV:-$HOME/.cache/myvid-venv}
examples=${API_FUZZ_EXAMPLES:-60}
seed=${API_FUZZ_SEED:-20261201}
max_time=${API_FUZZ_MAX_TIME:-240}
st="$venv/bin/schemathesis"
[ -x "$st" ] || { echo "api-fuzz: $st is missing (run scripts/install-deps.sh test)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT

# A server of its own on a free port, with a fresh data directory. It prints one line,
# `myvid listening on <url>`, when it is ready.
"$bin" dev --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/^myvid listening on //p' "$work/stdout")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "api-fuzz: the server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "api-fuzz: the server did not start" >&2; exit 1; }
echo "api-fuzz: server $url (pid $server_pid)"

# A user and a token, so that the authenticated operations run past the 401.
token=$("$venv/bin/python" - "$url" <<'PY'
import json, sys, urllib.request
body = json.dumps({"username": "fuzzer", "email": "fuzzer@example.org", "password": "fuzzer-password"}).encode()
req = urllib.request.Request(sys.argv[1] + "/v1/auth/signup", body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["token"])
PY
)

# Logging out would end the one session every other operation uses: that operation is
# covered by myvid/tests/accounts.rs instead.
status=0
"$st" --config-file scripts/api-fuzz.toml run "$url/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --exclude-path /v1/auth/logout \
  --mode all \
  --max-examples "$examples" \
  --max-time "$max_time" \
  --seed "$seed" \
  --generation-database none \
  --workers 2 \
  --request-timeout 10 \
  --no-color \
  --report junit --report-dir "$work/report" || status=$?

# A 5xx leaves an `internal error` line in the log: show them whatever schemathesis said.
if grep -q 'internal error' "$work/server.log"; then
  echo "api-fuzz: the server logged internal errors:" >&2
  grep 'internal error' "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"

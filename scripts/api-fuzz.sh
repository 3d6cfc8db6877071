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

# Public videos to list, search and fetch: the sample catalogue of external videos.
"$bin" import --data-dir "$work/data" infra/sample-catalogue.json >/dev/null 2>"$work/import.log" \
  || { cat "$work/import.log" >&2; echo "api-fuzz: the import failed" >&2; exit 1; }

# A server of its own on a free port, with a fresh data directory. It prints one line,
# `myvid listening on <url>`, when it is ready.
# Thousands of cases come from one address: the abuse limits get rates no run reaches
# (they still run and are documented: every limited call lists its 429), and refused
# log-ins answer at once instead of after the 400 ms floor.
generous='{burst = 1000000, per_minute = 1000000}'
for limit in LOGIN_PER_IP LOGIN_PER_ACCOUNT SIGNUP_PER_IP UPLOAD_PER_IP STREAM_PER_IP SEARCH_PER_IP CONNECT_PER_IP WHIP_PER_IP \
    FOLLOW_PER_IP VIEW_PER_IP NOTIFY_PER_IP CHAT_TOKEN_PER_IP; do
  export "MYVID_LIMITS__$limit=$generous"
done
export MYVID_LIMITS__FAILED_LOGIN_MS=0
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

# A new user's bearer token, so that the authenticated operations run past the 401.
new_token() {
  "$venv/bin/python" - "$url" "$1" <<'PY'
import json, sys, urllib.request
url, name = sys.argv[1], sys.argv[2]
body = json.dumps({"username": name, "email": f"{name}@example.org", "password": f"{name}-password"}).encode()
req = urllib.request.Request(url + "/v1/auth/signup", body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["token"])
PY
}

# One worker: with two, CPython 3.11's `ast` module (which hypothesis calls to describe
# its filters) can fail with "AST constructor recursion depth mismatch" in the tool
# itself, which reads as an error of the run.
# Run from the temporary directory, where schemathesis keeps its per-project cache.
config="$PWD/scripts/api-fuzz.toml"
fuzz() {
  (cd "$work" && "$st" --config-file "$config" run "$url/v1/openapi.json" \
    --mode all \
    --seed "$seed" \
    --generation-database none \
    --workers 1 \
    --request-timeout 10 \
    --no-color \
    "$@")
}

status=0
# Every operation but log-out, which would end the session all the others use...
fuzz --header "Authorization: Bearer $(new_token fuzzer)" --exclude-path /v1/auth/logout \
  --max-examples "$examples" --max-time "$max_time" \
  --report junit --report-dir "$work/report" || status=$?
# ...and log-out on its own, with a session of its own (after the first case it
# answers 401, which the document lists).
fuzz --header "Authorization: Bearer $(new_token logout-fuzzer)" --include-path /v1/auth/logout \
  --max-examples 20 --max-time 60 || status=$?

# A 5xx leaves an `internal error` line in the log: show them whatever schemathesis said.
if grep -q 'internal error' "$work/server.log"; then
  echo "api-fuzz: the server logged internal errors:" >&2
  grep 'internal error' "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"

#!/usr/bin/env bash
# down.sh BASE_DIR [N...]
#
# Stops the nodes that up.sh started in BASE_DIR: all of them, or only the node numbers given
# (1-based). Returns once every one of those mariadbd processes has exited.
#
#   MYVID_DB_STOP_SIGNAL   TERM (default): a clean shutdown, one node at a time, highest
#                          number first (nodes that leave a Galera cluster together wait out
#                          each other's suspect timeout); KILL: all at once, like a crash
#   MYVID_DB_STOP_TIMEOUT  seconds to wait after TERM before sending KILL (default 30)
#
# Only PIDs whose /proc/PID/cmdline is mariadbd with that node's my.cnf are signalled (a pid
# file left behind by a crash never hits another process). State-transfer helpers still
# working in a node's directory (SST script, rsync daemon, socat) are killed as well.
# Stopping a node that is already down is not an error.
set -euo pipefail
LOG_TAG=down
. "$(dirname "$0")/lib.sh"

BASE_DIR=$(cd "${1:?usage: down.sh BASE_DIR [N...]}" 2>/dev/null && pwd -P) || die "no such directory: $1"
shift
SIGNAL=${MYVID_DB_STOP_SIGNAL:-TERM}
STOP_TIMEOUT=${MYVID_DB_STOP_TIMEOUT:-30}
case $SIGNAL in TERM | KILL) ;; *) die "MYVID_DB_STOP_SIGNAL must be TERM or KILL, not $SIGNAL" ;; esac

nodes=()
if [ $# -gt 0 ]; then
  for n in "$@"; do
    case $n in '' | *[!0-9]*) die "node numbers are 1, 2, ...: not $n" ;; esac
    [ -d "$BASE_DIR/node$n" ] || die "no node $n in $BASE_DIR"
    nodes+=("$n")
  done
else
  for d in "$BASE_DIR"/node[0-9]*; do [ -d "$d" ] && nodes+=("${d##*/node}"); done
fi
# highest node first
mapfile -t nodes < <(printf '%s\n' "${nodes[@]}" | sort -rn)

# TERM, then wait; KILL whatever is left after STOP_TIMEOUT.
terminate() {
  kill -TERM "$@" 2>/dev/null || true
  if ! wait_gone "$STOP_TIMEOUT" "$@"; then
    log "still running ${STOP_TIMEOUT}s after TERM, sending KILL: $*"
    kill -KILL "$@" 2>/dev/null || true
    wait_gone 10 "$@" || die "did not exit after KILL: $*"
  fi
}

stopped=()
for n in "${nodes[@]}"; do
  [ -n "$n" ] || continue
  mapfile -t pids < <(node_server_pids "$BASE_DIR/node$n")
  [ ${#pids[@]} -gt 0 ] || continue
  stopped+=("${pids[@]}")
  if [ "$SIGNAL" = TERM ]; then terminate "${pids[@]}"; fi
done
if [ "$SIGNAL" = KILL ] && [ ${#stopped[@]} -gt 0 ]; then
  kill -KILL "${stopped[@]}" 2>/dev/null || true
  wait_gone 10 "${stopped[@]}" || die "did not exit after KILL: ${stopped[*]}"
fi

helpers=()
for n in "${nodes[@]}"; do
  [ -n "$n" ] || continue
  mapfile -t found < <(node_helper_pids "$BASE_DIR/node$n")
  helpers+=("${found[@]}")
done
if [ ${#helpers[@]} -gt 0 ]; then
  kill -KILL "${helpers[@]}" 2>/dev/null || true
  wait_gone 10 "${helpers[@]}" || true
fi
log "stopped (${SIGNAL}): ${stopped[*]:-none}${helpers[*]:+; state-transfer helpers: ${helpers[*]}}"

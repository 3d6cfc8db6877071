#!/usr/bin/env bash
# start-node.sh NODE_DIR [--wait] [MARIADBD_ARG...]
#
# Starts one node made by up.sh (again, e.g. after down.sh or a kill -9), detached from the
# caller: mariadbd gets its own session and writes to NODE_DIR/{error,stdout}.log.
# BASE_DIR/nodeN/start.sh is a one-line wrapper around this script.
#
#   --wait         return once the node serves queries (Galera: Synced and wsrep_ready=ON)
#   MARIADBD_ARG   extra server options, e.g. --wsrep-new-cluster (used by up.sh)
#
# Exit status: 0 started; 1 already running, died while starting or timed out;
# 75 died because one of its ports was taken.
#
# A node that crashed has "seqno: -1" in grastate.dat, and would then ask for a full state
# copy (SST). So before starting it, mariadbd --wsrep-recover reads the last committed
# position from InnoDB; passed as --wsrep-start-position, it lets the node fetch only the
# write-sets it missed (IST) from the others.
set -euo pipefail
LOG_TAG=start-node
. "$(dirname "$0")/lib.sh"

NODE_DIR=$(cd "${1:?usage: start-node.sh NODE_DIR [--wait] [MARIADBD_ARG...]}" && pwd -P)
shift
WAIT=0
if [ "${1:-}" = --wait ]; then WAIT=1; shift; fi
server_args=("$@")

# NODE_WSREP (on|off), NODE_RUN_AS (user or empty), NODE_TIMEOUT (seconds)
. "$NODE_DIR/node.env"
user_args=()
[ -n "$NODE_RUN_AS" ] && user_args=(--user="$NODE_RUN_AS")

running=$(node_server_pids "$NODE_DIR")
[ -z "$running" ] || die "$NODE_DIR is already running (pid $running)"

if [ "$NODE_WSREP" = on ] && grep -qs '^seqno: *-1' "$NODE_DIR/data/grastate.dat"; then
  position=$(mariadbd --defaults-file="$NODE_DIR/my.cnf" "${user_args[@]}" --wsrep-recover --disable-log-error 2>&1 |
    sed -n 's/.*WSREP: Recovered position: *//p' | tail -n 1)
  if [ -n "$position" ]; then
    server_args+=("--wsrep-start-position=$position")
  else
    log "no recovered position for $NODE_DIR; it will need a full state transfer"
  fi
fi

# Not a process group leader here, so setsid does not fork: $! is mariadbd itself.
setsid mariadbd --defaults-file="$NODE_DIR/my.cnf" "${user_args[@]}" "${server_args[@]}" \
  </dev/null >>"$NODE_DIR/stdout.log" 2>&1 &
pid=$!
echo "$pid" >"$NODE_DIR/launcher.pid"
[ $WAIT = 1 ] || exit 0

if [ "$NODE_WSREP" = on ]; then
  ready_query="SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_ready')"
  ready_answer="Synced ON"
else
  ready_query="SELECT 'up'"
  ready_answer="up"
fi
deadline=$(( $(date +%s) + NODE_TIMEOUT ))
while :; do
  if ! proc_running "$pid"; then
    node_port_clash "$NODE_DIR" && { log "$NODE_DIR: a port is taken"; exit "$EXIT_PORT_TAKEN"; }
    log "$NODE_DIR: mariadbd died; end of its error.log:"
    tail -n 20 "$NODE_DIR/error.log" >&2 || true
    exit 1
  fi
  # sorted by variable name: local_state_comment, then ready
  answer=$(node_sql "$NODE_DIR" "$ready_query" 2>/dev/null | LC_ALL=C sort | cut -f2 | tr '\n' ' ' || true)
  [ "${answer% }" = "$ready_answer" ] && exit 0
  [ "$(date +%s)" -lt $deadline ] || die "$NODE_DIR: not ready after ${NODE_TIMEOUT}s (state: ${answer:-no answer})"
  sleep 0.1
done

#!/usr/bin/env bash
# down.sh BASE_DIR [--purge] [N...]
#
# Stops the daemons that up.sh started in BASE_DIR: all of them (radosgw, the OSDs, then the
# manager and the monitor), or only the OSDs numbered N (from 0). Returns once every one of
# those processes has exited. Stopping a daemon that is already down is not an error.
#
#   --purge                KILL everything at once (the data is thrown away anyway) and
#                          remove BASE_DIR (only a directory up.sh made: it holds .myvid-s3)
#   MYVID_S3_STOP_SIGNAL   TERM (default): a clean shutdown; KILL: like a crash
#   MYVID_S3_STOP_TIMEOUT  seconds to wait after TERM before sending KILL (default 15)
#
# Only PIDs whose /proc/PID/cmdline is that daemon started with BASE_DIR/ceph.conf are
# signalled (see daemon_pid in lib.sh).
set -euo pipefail
LOG_TAG=s3-down
. "$(dirname "$0")/lib.sh"

BASE_DIR=$(cd "${1:?usage: down.sh BASE_DIR [--purge] [N...]}" 2>/dev/null && pwd -P) ||
  { log "no such directory: $1 (nothing to stop)"; exit 0; }
shift
PURGE=0
if [ "${1:-}" = --purge ]; then PURGE=1; shift; fi
SIGNAL=${MYVID_S3_STOP_SIGNAL:-TERM}
[ $PURGE = 0 ] || SIGNAL=KILL
STOP_TIMEOUT=${MYVID_S3_STOP_TIMEOUT:-15}
case $SIGNAL in TERM | KILL) ;; *) die "MYVID_S3_STOP_SIGNAL must be TERM or KILL, not $SIGNAL" ;; esac

osds=()
if [ $# -gt 0 ]; then
  [ $PURGE = 0 ] || die "--purge stops the whole cluster: give no OSD numbers"
  for n in "$@"; do
    case $n in '' | *[!0-9]*) die "OSD numbers are 0, 1, ...: not $n" ;; esac
    [ -d "$BASE_DIR/osd$n" ] || die "no osd.$n in $BASE_DIR"
    osds+=("osd.$n")
  done
  groups=("${osds[*]}")
else
  for d in "$BASE_DIR"/osd[0-9]*; do [ -d "$d" ] && osds+=("osd.${d##*/osd}"); done
  # radosgw first (its clients get a clean close), the monitor last (the others report to it)
  groups=("client.rgw" "${osds[*]}" "mgr.x mon.a")
  [ "$SIGNAL" = KILL ] && groups=("client.rgw ${osds[*]} mgr.x mon.a")
fi

stopped=()
for group in "${groups[@]}"; do
  pids=()
  for name in $group; do
    pid=$(daemon_pid "$BASE_DIR" "$name")
    [ -n "$pid" ] && pids+=("$pid")
  done
  [ ${#pids[@]} -gt 0 ] || continue
  stopped+=("${pids[@]}")
  kill -CONT "${pids[@]}" 2>/dev/null || true   # a paused daemon cannot act on TERM
  kill -"$SIGNAL" "${pids[@]}" 2>/dev/null || true
  if ! wait_gone "$STOP_TIMEOUT" "${pids[@]}"; then
    [ "$SIGNAL" = TERM ] && log "still running ${STOP_TIMEOUT}s after TERM, sending KILL: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 10 "${pids[@]}" || die "did not exit after KILL: ${pids[*]}"
  fi
done
log "stopped (${SIGNAL}): ${stopped[*]:-none}"

if [ $PURGE = 1 ]; then
  if [ -f "$BASE_DIR/.myvid-s3" ]; then
    rm -rf -- "$BASE_DIR"
    log "removed $BASE_DIR"
  else
    log "not removing $BASE_DIR: up.sh did not make it (no .myvid-s3)"
  fi
fi

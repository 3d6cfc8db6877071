#!/usr/bin/env bash
# start-osd.sh BASE_DIR N [--wait]
#
# Starts osd.N of the cluster up.sh made in BASE_DIR (again, e.g. after down.sh BASE_DIR N or
# a kill -9), detached from the caller. With bluestore it finds its data where it left it and
# then catches up with the writes it missed from the other OSDs.
# BASE_DIR/osdN/start.sh [--wait] is a one-line wrapper around this script.
#
#   --wait   return once the monitors mark the OSD up (its placement groups may still be
#            peering or recovering: wait for `ceph pg stat` if that matters)
#
# Exit status: 0 started; 1 already running, died while starting or timed out.
set -euo pipefail
LOG_TAG=start-osd
. "$(dirname "$0")/lib.sh"

BASE_DIR=$(cd "${1:?usage: start-osd.sh BASE_DIR N [--wait]}" && pwd -P)
N=${2:?usage: start-osd.sh BASE_DIR N [--wait]}
case $N in '' | *[!0-9]*) die "OSD numbers are 0, 1, ...: not $N" ;; esac
[ -d "$BASE_DIR/osd$N" ] || die "no osd.$N in $BASE_DIR"
WAIT=0
[ "${3:-}" = --wait ] && WAIT=1
OSD_TIMEOUT=60
. "$BASE_DIR/cluster.settings"

running=$(daemon_pid "$BASE_DIR" "osd.$N")
[ -z "$running" ] || die "osd.$N is already running (pid $running)"
start_daemon "$BASE_DIR" "osd.$N"
pid=$(cat "$BASE_DIR/run/osd.$N.pid")
[ $WAIT = 1 ] || exit 0

deadline=$(( $(date +%s) + OSD_TIMEOUT ))
while :; do
  if ! proc_running "$pid"; then
    log "osd.$N died; end of its log:"
    tail -n 20 "$BASE_DIR/log/osd.$N.log" >&2 || true
    exit 1
  fi
  state=$(osd_state "$BASE_DIR" "$N")
  [ "$state" = up ] && exit 0
  [ "$(date +%s)" -lt $deadline ] || die "osd.$N not up after ${OSD_TIMEOUT}s (state: ${state:-no answer})"
  sleep 0.2
done

#!/usr/bin/env bash
# watchdog.sh OWNER_PID BASE_DIR
#
# Started (detached) by up.sh when MYVID_S3_OWNER_PID is set, typically to the test process
# that owns the cluster. Once a second it checks that process; when it is gone (killed by a
# timeout, aborted, Ctrl-C) it kills the daemons in BASE_DIR and removes BASE_DIR, unless
# MYVID_KEEP_S3 is set. It exits quietly as soon as BASE_DIR disappears (the normal end: the
# owner cleaned up itself). A recycled PID is told apart by its start time.
set -uo pipefail
LOG_TAG=s3-watchdog
. "$(dirname "$0")/lib.sh"

OWNER=${1:?usage: watchdog.sh OWNER_PID BASE_DIR}
BASE_DIR=${2:?usage: watchdog.sh OWNER_PID BASE_DIR}

# field 22 of /proc/PID/stat (20 after the ") " that ends the command name)
start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

owner_start=$(start_time "$OWNER")
[ -n "$owner_start" ] || exit 0
while [ -f "$BASE_DIR/.myvid-s3" ]; do
  if proc_running "$OWNER" && [ "$(start_time "$OWNER")" = "$owner_start" ]; then
    sleep 1
    continue
  fi
  if [ -z "${MYVID_KEEP_S3:-}" ]; then
    "$CEPH_SCRIPTS/down.sh" "$BASE_DIR" --purge >/dev/null 2>&1 || true
  else
    MYVID_S3_STOP_SIGNAL=KILL "$CEPH_SCRIPTS/down.sh" "$BASE_DIR" >/dev/null 2>&1 || true
  fi
  exit 0
done

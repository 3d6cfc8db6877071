# lib.sh — helpers shared by the test object-store scripts in this directory.
# Sourced (not run) by up.sh, down.sh, start-osd.sh and watchdog.sh; callers set LOG_TAG.
#
# Nothing here signals a process. Every daemon is started in the foreground (-f) by these
# scripts, which record its PID in BASE_DIR/run/NAME.pid; daemon_pid only returns a PID whose
# /proc/PID/cmdline is that daemon started with BASE_DIR's ceph.conf, so a stale pid file can
# never point a signal at an unrelated process.

CEPH_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

# Exit status meaning "a port was already taken": the caller should pick other ports and retry.
EXIT_PORT_TAKEN=75

_log_start=$(date +%s%N)
log() {
  local ms=$(( ($(date +%s%N) - _log_start) / 1000000 ))
  printf '[%s +%d.%03ds] %s\n' "${LOG_TAG:-ceph}" $((ms / 1000)) $((ms % 1000)) "$*" >&2
}
die() { log "error: $*"; exit 1; }

# True when PID exists and has not exited (zombies count as gone).
proc_running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# The command line of PID with NULs turned into spaces, plus a trailing space.
proc_cmdline() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null; }

# The program that runs daemon NAME (mon.a, mgr.x, osd.N, client.rgw).
daemon_program() {
  case $1 in
    mon.*) echo ceph-mon ;;
    mgr.*) echo ceph-mgr ;;
    osd.*) echo ceph-osd ;;
    client.rgw) echo radosgw ;;
    *) return 1 ;;
  esac
}

# The PID of daemon NAME of cluster BASE_DIR if it is running, checked against its command
# line (program, --conf BASE_DIR/ceph.conf, --name NAME); prints nothing otherwise.
daemon_pid() {
  local base=$1 name=$2 pid cmd program
  program=$(daemon_program "$name") || return 0
  pid=$(cat "$base/run/$name.pid" 2>/dev/null) || return 0
  case $pid in '' | *[!0-9]*) return 0 ;; esac
  cmd=$(proc_cmdline "$pid") || return 0
  case $cmd in
    *"$program --conf $base/ceph.conf --name $name "*) proc_running "$pid" && echo "$pid" ;;
  esac
  return 0
}

# Starts daemon NAME of cluster BASE_DIR in the foreground, detached from the caller (its own
# session), output to BASE_DIR/log/NAME.out, and records its PID in BASE_DIR/run/NAME.pid.
# Not a process group leader here, so setsid does not fork: $! is the daemon itself.
start_daemon() {
  local base=$1 name=$2 program
  shift 2
  program=$(daemon_program "$name") || die "unknown daemon $name"
  setsid "$program" --conf "$base/ceph.conf" --name "$name" -f "$@" \
    </dev/null >>"$base/log/$name.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$base/run/$name.pid"
  disown "$pid"   # not the caller's job: no "Killed" notice from bash when it is stopped
  # Until the forked shell has exec'd the daemon, /proc/PID/cmdline is still bash's and
  # daemon_pid would call it dead: return only once it is the daemon (or has exited).
  local tries=0
  while [ -z "$(daemon_pid "$base" "$name")" ] && proc_running "$pid" && [ $tries -lt 250 ]; do
    sleep 0.02
    tries=$((tries + 1))
  done
}

# Waits until none of the given PIDs is running; returns 1 after SECS seconds.
wait_gone() {
  local secs=$1 p left
  shift
  local deadline=$(( $(date +%s%N) + secs * 1000000000 ))
  while :; do
    left=0
    for p in "$@"; do proc_running "$p" && left=1; done
    [ $left = 0 ] && return 0
    [ "$(date +%s%N)" -lt $deadline ] || return 1
    sleep 0.05
  done
}

# The ceph CLI against cluster BASE_DIR, never waiting more than SECS seconds.
ceph_t() {
  local base=$1 secs=$2
  shift 2
  timeout -k 2 "$secs" ceph --conf "$base/ceph.conf" --connect-timeout "$secs" "$@"
}

# "up" or "down" for osd.N in the monitors' OSD map (empty when unknown).
osd_state() {
  ceph_t "$1" 10 osd dump 2>/dev/null | awk -v osd="osd.$2" '$1 == osd { print $2; exit }'
}

# lib.sh — helpers shared by the test-database scripts in this directory.
# Sourced (not run) by up.sh, down.sh, start-node.sh and watchdog.sh; callers set LOG_TAG.
#
# Nothing here signals a process: callers find PIDs with node_server_pids / node_helper_pids,
# which only return processes whose /proc/PID/cmdline names that node's directory, so a
# stale pid file can never point a signal at an unrelated process.

GALERA_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# mariadbd lives in /usr/sbin, which is not on every user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

# Exit status meaning "a port was already taken": the caller should pick other ports and retry.
EXIT_PORT_TAKEN=75

_log_start=$(date +%s%N)
log() {
  local ms=$(( ($(date +%s%N) - _log_start) / 1000000 ))
  printf '[%s +%d.%03ds] %s\n' "${LOG_TAG:-galera}" $((ms / 1000)) $((ms % 1000)) "$*" >&2
}
die() { log "error: $*"; exit 1; }

# The Galera provider library, or nothing when galera-4 is not installed.
galera_provider() {
  local f
  for f in /usr/lib/galera/libgalera_smm.so /usr/lib/libgalera_smm.so /usr/lib64/galera-4/libgalera_smm.so \
           /usr/lib64/galera/libgalera_smm.so; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# True when PID exists and has not exited (a zombie has released its ports and files,
# and some container inits reap orphans late).
proc_running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# The command line of PID with NULs turned into spaces (fails when PID is gone).
proc_cmdline() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null; }

# PIDs of the running mariadbd of node directory D, from its pid files, each verified to
# be mariadbd started with D's my.cnf. Prints nothing when the node is down.
node_server_pids() {
  local d=$1 f p cmd seen=" "
  for f in "$d/launcher.pid" "$d/mysqld.pid"; do
    p=$(cat "$f" 2>/dev/null) || continue
    case $p in '' | *[!0-9]*) continue ;; esac
    case $seen in *" $p "*) continue ;; esac
    cmd=$(proc_cmdline "$p") || continue
    case $cmd in
      *mariadbd*"--defaults-file=$d/my.cnf"*) proc_running "$p" && { echo "$p"; seen+="$p "; } ;;
    esac
  done
}

# PIDs of state-transfer helpers (SST script, rsync daemon, socat, mariabackup) working in D.
node_helper_pids() {
  local d=$1 pd cmd
  for pd in /proc/[0-9]*; do
    cmd=$(proc_cmdline "${pd#/proc/}") || continue
    case $cmd in *"$d/"*) ;; *) continue ;; esac
    case $cmd in
      *wsrep_sst_* | rsync\ * | */rsync\ * | socat\ * | */socat\ * | mariabackup\ * | */mariabackup\ *)
        echo "${pd#/proc/}" ;;
    esac
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

# Runs one SQL text as root over node D's unix socket; prints tab-separated rows.
node_sql() {
  local d=$1
  shift
  mariadb --defaults-file="$d/my.cnf" --connect-timeout=2 -N -B -e "$*"
}

# True when node D's mariadbd gave up because a port was taken.
node_port_clash() { grep -qsE 'Address already in use|Can.t start server: Bind on TCP/IP port' "$1/error.log"; }

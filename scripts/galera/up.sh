#!/usr/bin/env bash
# up.sh BASE_DIR
#
# Starts MyVid's test database on 127.0.0.1: a 3-node MariaDB Galera cluster (default), a
# 1-node one, or one plain MariaDB without Galera. BASE_DIR must be empty or absent, and at
# most 80 characters long (unix socket paths are limited). Stop it with down.sh BASE_DIR.
#
# Environment (port lists hold one port per node, separated by spaces; tests pick free ports):
#   MYVID_DB_CLIENT_PORTS  SQL client ports                                      (required)
#   MYVID_DB_PEER_PORTS    Galera group communication (gcomm) ports              (required with Galera)
#   MYVID_DB_IST_PORTS     ports where a rejoining node receives missed write-sets (IST)  (idem)
#   MYVID_DB_SST_PORTS     ports where a joining node receives a full copy (rsync SST)    (idem)
#   MYVID_DB_NODES         3 (default) or 1
#   MYVID_DB_WSREP         on (default) | off: a plain MariaDB, no Galera (needs MYVID_DB_NODES=1)
#   MYVID_DB_JOIN          auto (default): fast, falling back to sst once | fast | sst
#   MYVID_DB_TIMEOUT       seconds allowed per phase (default 60; fast mode gets 20)
#   MYVID_DB_RUN_AS        user that runs mariadbd when this runs as root (default mysql)
#   MYVID_DB_OWNER_PID     when set, watchdog.sh stops the nodes and removes BASE_DIR once that
#                          process is gone (a test binary that died without cleaning up)
#
# On success (exit 0) every node serves queries (Galera: Primary, Synced, all nodes in the
# cluster); database `myvid` and user myvid/myvid (from 127.0.0.1 and localhost, ALL on *.*,
# since tests create one database each) exist and were checked over TCP on every node; and
# BASE_DIR/cluster.env lists ports, sockets and my.cnf paths. Exit 75: a port was taken, try
# again with other ports. Other failures kill what was started; logs stay in BASE_DIR/node*/.
#
# Per node: BASE_DIR/nodeN/{my.cnf,node.env,start.sh,data/,mysqld.sock,mysqld.pid,error.log}.
# BASE_DIR/nodeN/start.sh [--wait] starts that node again (see start-node.sh).
#
# How Galera nodes get their first state:
#   fast  no state transfer at all. One mariadb-install-db, its datadir copied to every node,
#         every node given the same grastate.dat (cluster UUID, seqno 0) and a gvwstate.dat that
#         describes a primary component of all the nodes; started together, Galera's pc.recovery
#         restores that component. One to two seconds on an idle machine.
#   sst   the classic way: the first node bootstraps a new cluster, the others join one by one
#         and receive a full copy by rsync. Slower (≈ 10 s) but makes no assumptions.
# As root, mariadbd runs as MYVID_DB_RUN_AS: it refuses root without --user, and the rsync SST
# daemon started by root switches to "nobody" and then cannot write the datadir.
set -euo pipefail
LOG_TAG=db-up
. "$(dirname "$0")/lib.sh"

# ---- settings ---------------------------------------------------------------------------
BASE_DIR=${1:?usage: up.sh BASE_DIR}
NODES=${MYVID_DB_NODES:-3}
WSREP=${MYVID_DB_WSREP:-on}
JOIN=${MYVID_DB_JOIN:-auto}
TIMEOUT=${MYVID_DB_TIMEOUT:-60}
FAST_TIMEOUT=20
DB_NAME=myvid DB_USER=myvid DB_PASSWORD=myvid

case $NODES in 1 | 3) ;; *) die "MYVID_DB_NODES must be 1 or 3, not $NODES" ;; esac
case $WSREP in on | off) ;; *) die "MYVID_DB_WSREP must be on or off, not $WSREP" ;; esac
case $JOIN in auto | fast | sst) ;; *) die "MYVID_DB_JOIN must be auto, fast or sst, not $JOIN" ;; esac
[ "$WSREP" = on ] || [ "$NODES" = 1 ] || die "MYVID_DB_WSREP=off is a single server: set MYVID_DB_NODES=1"

# read_ports NAME ARRAY: the ports in variable NAME into ARRAY, checked: NODES numbers.
read_ports() {
  local name=$1 value p
  local -n into=$2
  value=${!name:-}
  [ -n "$value" ] || die "$name is required (one port per node)"
  read -r -a into <<<"$value"
  [ ${#into[@]} = "$NODES" ] || die "$name has ${#into[@]} ports for $NODES nodes: '$value'"
  for p in "${into[@]}"; do
    case $p in '' | *[!0-9]*) die "$name: not a port: $p" ;; esac
    [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "$name: not a port: $p"
  done
}
CLIENT_PORTS=() PEER_PORTS=() IST_PORTS=() SST_PORTS=()
read_ports MYVID_DB_CLIENT_PORTS CLIENT_PORTS
if [ "$WSREP" = on ]; then
  read_ports MYVID_DB_PEER_PORTS PEER_PORTS
  read_ports MYVID_DB_IST_PORTS IST_PORTS
  read_ports MYVID_DB_SST_PORTS SST_PORTS
fi
ALL_PORTS=("${CLIENT_PORTS[@]}" "${PEER_PORTS[@]}" "${IST_PORTS[@]}" "${SST_PORTS[@]}")
[ "$(printf '%s\n' "${ALL_PORTS[@]}" | sort -u | wc -l)" = ${#ALL_PORTS[@]} ] ||
  die "the same port is given twice: ${ALL_PORTS[*]}"

for tool in mariadbd mariadb mariadb-install-db; do
  command -v "$tool" >/dev/null || die "$tool not found: install mariadb-server (scripts/install-deps.sh test)"
done
PROVIDER=""
if [ "$WSREP" = on ]; then
  PROVIDER=$(galera_provider) || die "the Galera library is missing: install galera-4 (scripts/install-deps.sh test)"
  command -v rsync >/dev/null || die "rsync not found: install rsync (scripts/install-deps.sh test)"
fi

mkdir -p "$BASE_DIR"
BASE_DIR=$(cd "$BASE_DIR" && pwd -P)
[ -z "$(ls -A "$BASE_DIR")" ] || die "$BASE_DIR is not empty"
[ ${#BASE_DIR} -le 80 ] || die "$BASE_DIR is longer than 80 characters (unix socket paths)"
touch "$BASE_DIR/.myvid-db"   # marks the directory as ours (watchdog.sh removes only such)

RUN_AS=""
if [ "$(id -u)" = 0 ]; then
  RUN_AS=${MYVID_DB_RUN_AS:-mysql}
  id "$RUN_AS" >/dev/null 2>&1 || die "user $RUN_AS does not exist (set MYVID_DB_RUN_AS)"
  chown "$RUN_AS:" "$BASE_DIR"
  if command -v runuser >/dev/null; then
    runuser -u "$RUN_AS" -- test -w "$BASE_DIR" ||
      die "$RUN_AS cannot write $BASE_DIR (is every parent directory searchable?)"
  fi
fi

if [ -n "${MYVID_DB_OWNER_PID:-}" ]; then
  setsid "$GALERA_SCRIPTS/watchdog.sh" "$MYVID_DB_OWNER_PID" "$BASE_DIR" </dev/null >/dev/null 2>&1 &
fi

# A port somebody already listens on would only make a node die later: say so now.
for p in "${ALL_PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    log "port $p is already in use"
    exit "$EXIT_PORT_TAKEN"
  fi
done

node_dir() { echo "$BASE_DIR/node$1"; }   # nodes are numbered 1..NODES here

# ---- per-node files ---------------------------------------------------------------------
write_my_cnf() { # N
  local n=$1 d peers="" k
  d=$(node_dir "$n")
  cat >"$d/my.cnf" <<CNF
# MyVid test database, node $n of $NODES (written by scripts/galera/up.sh)
[client]
socket=$d/mysqld.sock
port=${CLIENT_PORTS[n - 1]}
user=root

[mysqld]
datadir=$d/data
socket=$d/mysqld.sock
pid-file=$d/mysqld.pid
log-error=$d/error.log
# A server deletes every "#sql*" file in its tmpdir when it starts: with the default /tmp,
# servers starting at the same time (parallel tests) would remove each other's temporary tables.
tmpdir=$d/tmp
port=${CLIENT_PORTS[n - 1]}
bind-address=127.0.0.1
skip-name-resolve
performance_schema=OFF
default_storage_engine=InnoDB
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
# sql_mode: the server default
max_connections=300
# full-text search finds one-letter words and stopwords too
innodb_ft_min_token_size=1
innodb_ft_enable_stopword=OFF
ft_min_word_len=1
# small and fast: test data, no durability across a host crash
innodb_buffer_pool_size=32M
innodb_log_file_size=8M
innodb_log_buffer_size=4M
innodb_flush_log_at_trx_commit=2
key_buffer_size=1M
aria_pagecache_buffer_size=8M
# what Galera requires
binlog_format=ROW
innodb_autoinc_lock_mode=2
CNF
  if [ "$WSREP" = off ]; then
    echo "wsrep_on=OFF" >>"$d/my.cnf"
    return
  fi
  for k in $(seq 1 "$NODES"); do peers+="${peers:+,}127.0.0.1:${PEER_PORTS[k - 1]}"; done
  # Timers: fast membership changes on loopback. A node that stops answering is suspected
  # after 2 s (default 5 s: that long, writes stall when a node dies); inactive_timeout must
  # stay above suspect_timeout.
  local timers="evs.join_retrans_period=PT0.1S;evs.inactive_check_period=PT0.1S;evs.keepalive_period=PT0.3S"
  timers+=";evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S"
  cat >>"$d/my.cnf" <<CNF

wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=myvid-test
wsrep_cluster_address=gcomm://$peers
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:${PEER_PORTS[n - 1]}
wsrep_node_incoming_address=127.0.0.1:${CLIENT_PORTS[n - 1]}
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:${SST_PORTS[n - 1]}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:${PEER_PORTS[n - 1]};ist.recv_addr=127.0.0.1:${IST_PORTS[n - 1]};gcache.size=32M;$timers"
CNF
}

make_node() { # N: an empty node directory with my.cnf, node.env and start.sh
  local n=$1 d
  d=$(node_dir "$n")
  mkdir -p "$d/tmp"
  write_my_cnf "$n"
  printf 'NODE_WSREP=%s\nNODE_RUN_AS=%s\nNODE_TIMEOUT=%s\n' "$WSREP" "$RUN_AS" "$TIMEOUT" >"$d/node.env"
  printf '#!/usr/bin/env bash\n# start.sh [--wait]: start node %s again (see %s)\nexec %q %q "$@"\n' \
    "$n" "$GALERA_SCRIPTS/start-node.sh" "$GALERA_SCRIPTS/start-node.sh" "$d" >"$d/start.sh"
  chmod +x "$d/start.sh"
}

install_datadir() { # N
  local d
  d=$(node_dir "$1")
  give_to_run_as "$d"
  mariadb-install-db --no-defaults ${RUN_AS:+--user="$RUN_AS"} --datadir="$d/data" --tmpdir="$d/tmp" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    --innodb-log-file-size=8M --innodb-buffer-pool-size=32M >"$d/install.log" 2>&1 ||
    { tail -n 20 "$d/install.log" >&2; die "mariadb-install-db failed"; }
}

give_to_run_as() { [ -z "$RUN_AS" ] || chown -R "$RUN_AS:" "$@"; }

# ---- starting and waiting ---------------------------------------------------------------
failed=1
cleanup() {
  [ $failed = 1 ] || return 0
  MYVID_DB_STOP_SIGNAL=KILL "$GALERA_SCRIPTS/down.sh" "$BASE_DIR" >/dev/null 2>&1 || true
  log "failed; nodes killed, logs in $BASE_DIR/node*/error.log"
}
trap cleanup EXIT

start_node() { # N [mariadbd args]: start detached (no wait)
  local n=$1
  shift
  "$(node_dir "$n")/start.sh" "$@"
}

# node_died N: true (and logs why) when node N's mariadbd is gone; exits 75 on a port clash.
node_died() {
  local d
  d=$(node_dir "$1")
  proc_running "$(cat "$d/launcher.pid")" && return 1
  if node_port_clash "$d"; then
    log "node$1: a port is taken"
    exit "$EXIT_PORT_TAKEN"
  fi
  log "node$1 died; end of its error.log:"
  tail -n 20 "$d/error.log" >&2 || true
  return 0
}

# node_state N: one line that is "ready" once node N can take the application's queries.
node_state() {
  local q="SHOW GLOBAL STATUS WHERE Variable_name IN
           ('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_ready')"
  [ "$WSREP" = on ] || q="SELECT 'up'"
  local answer
  answer=$(node_sql "$(node_dir "$1")" "$q" 2>/dev/null | LC_ALL=C sort | cut -f2 | tr '\n' ' ' || true)
  answer=${answer% }
  # sorted by name: cluster_size cluster_status local_state_comment ready
  case $answer in "$NODES Primary Synced ON" | up) echo ready ;; *) echo "${answer:-no answer}" ;; esac
}

# wait_ready SECS N...: until all the given nodes are ready; 1 when one died or time ran out.
wait_ready() {
  local deadline=$(( $(date +%s) + $1 )) n state
  shift
  for n in "$@"; do
    while state=$(node_state "$n"); [ "$state" != ready ]; do
      node_died "$n" && return 1
      [ "$(date +%s)" -lt $deadline ] || { log "node$n not ready in time (state: $state)"; return 1; }
      sleep 0.1
    done
  done
}

# wait_synced N: node N has finished joining (while the cluster is still growing).
wait_synced() {
  local deadline=$(( $(date +%s) + TIMEOUT )) d
  d=$(node_dir "$1")
  until [ "$(node_sql "$d" "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)" = Synced ]; do
    node_died "$1" && return 1
    [ "$(date +%s)" -lt $deadline ] || { log "node$1 not Synced in time"; return 1; }
    sleep 0.1
  done
}

up_plain() {
  install_datadir 1
  give_to_run_as "$BASE_DIR"
  start_node 1 || return 1
  wait_ready "$TIMEOUT" 1
}

up_fast() {
  local n k cluster
  log "fast start: one mariadb-install-db for all nodes"
  install_datadir 1
  for n in $(seq 2 "$NODES"); do cp -a "$(node_dir 1)/data" "$(node_dir "$n")/data" || return 1; done
  cluster=$(cat /proc/sys/kernel/random/uuid)
  local members=()
  for n in $(seq 1 "$NODES"); do members+=("$(cat /proc/sys/kernel/random/uuid)"); done
  for n in $(seq 1 "$NODES"); do
    local data
    data=$(node_dir "$n")/data
    printf '# GALERA saved state\nversion: 2.1\nuuid:    %s\nseqno:   0\nsafe_to_bootstrap: 0\n' \
      "$cluster" >"$data/grastate.dat"
    {
      echo "my_uuid: ${members[n - 1]}"
      echo "#vwbeg"
      echo "view_id: 3 ${members[0]} $NODES"   # 3 = a primary view
      echo "bootstrap: 0"
      for k in "${members[@]}"; do echo "member: $k 0"; done
      echo "#vwend"
    } >"$data/gvwstate.dat"
  done
  give_to_run_as "$BASE_DIR"
  log "starting $NODES nodes together (primary component restored from gvwstate.dat)"
  for n in $(seq 1 "$NODES"); do start_node "$n" || return 1; done
  wait_ready "$FAST_TIMEOUT" $(seq 1 "$NODES")
}

up_sst() {
  local n
  log "sst start: node1 bootstraps, the others join by rsync"
  install_datadir 1
  for n in $(seq 2 "$NODES"); do mkdir -p "$(node_dir "$n")/data"; done
  give_to_run_as "$BASE_DIR"
  start_node 1 --wsrep-new-cluster || return 1
  wait_synced 1 || return 1
  for n in $(seq 2 "$NODES"); do
    log "node$n joining"
    start_node "$n" || return 1
    wait_synced "$n" || return 1
  done
  wait_ready "$TIMEOUT" $(seq 1 "$NODES")
}

for n in $(seq 1 "$NODES"); do make_node "$n"; done
if [ "$WSREP" = off ]; then
  up_plain || die "the server did not start"
elif [ "$NODES" = 1 ] || [ "$JOIN" = sst ]; then
  up_sst || die "the cluster did not form"
elif [ "$JOIN" = fast ]; then
  up_fast || die "the cluster did not form"
elif ! up_fast; then
  log "fast start failed; starting again the classic way"
  MYVID_DB_STOP_SIGNAL=KILL "$GALERA_SCRIPTS/down.sh" "$BASE_DIR" >/dev/null
  mkdir "$BASE_DIR/failed-fast"
  for n in $(seq 1 "$NODES"); do mv "$(node_dir "$n")" "$BASE_DIR/failed-fast/"; make_node "$n"; done
  up_sst || die "the cluster did not form"
fi
log "$NODES node(s) ready"

# ---- application database and user ------------------------------------------------------
node_sql "$(node_dir 1)" "
  CREATE DATABASE IF NOT EXISTS $DB_NAME;
  CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
  CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
  GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1';
  GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';" || die "creating database and user failed"
# Replicated DDL is applied on the other nodes a moment later: check each one over TCP.
for n in $(seq 1 "$NODES"); do
  deadline=$(( $(date +%s) + TIMEOUT ))
  until [ "$(mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"${CLIENT_PORTS[n - 1]}" -u"$DB_USER" \
      --password="$DB_PASSWORD" --connect-timeout=2 -N -B \
      -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$DB_NAME'" 2>/dev/null)" = 1 ]; do
    [ "$(date +%s)" -lt $deadline ] || die "user $DB_USER cannot see database $DB_NAME on node$n"
    sleep 0.05
  done
done

{
  echo "# written by scripts/galera/up.sh"
  echo "MYVID_DB_BASE_DIR=$BASE_DIR"
  echo "MYVID_DB_HOST=127.0.0.1"
  echo "MYVID_DB_NODES=$NODES"
  echo "MYVID_DB_WSREP=$WSREP"
  echo "MYVID_DB_CLIENT_PORTS=\"${CLIENT_PORTS[*]}\""
  if [ "$WSREP" = on ]; then
    echo "MYVID_DB_PEER_PORTS=\"${PEER_PORTS[*]}\""
    echo "MYVID_DB_IST_PORTS=\"${IST_PORTS[*]}\""
    echo "MYVID_DB_SST_PORTS=\"${SST_PORTS[*]}\""
  fi
  for n in $(seq 1 "$NODES"); do
    echo "MYVID_DB_NODE${n}_PORT=${CLIENT_PORTS[n - 1]}"
    echo "MYVID_DB_NODE${n}_SOCKET=$(node_dir "$n")/mysqld.sock"
    echo "MYVID_DB_NODE${n}_CNF=$(node_dir "$n")/my.cnf"
  done
  echo "MYVID_DB_USER=$DB_USER"
  echo "MYVID_DB_PASSWORD=$DB_PASSWORD"
  echo "MYVID_DB_DATABASE=$DB_NAME"
} >"$BASE_DIR/cluster.env"

failed=0
log "ready: mariadb -h127.0.0.1 -P${CLIENT_PORTS[0]} -u$DB_USER -p$DB_PASSWORD $DB_NAME"

#!/usr/bin/env bash
# up.sh BASE_DIR
#
# Starts MyVid's test object store on 127.0.0.1: a one-host Ceph cluster (1 monitor,
# 1 manager, 6 OSDs) whose S3 data pool is erasure coded, k=4 m=2, one chunk per OSD, with
# radosgw serving S3 over plain HTTP. BASE_DIR must be empty or absent. Stop it with
# down.sh BASE_DIR [--purge].
#
# Environment (tests pick free ports):
#   MYVID_S3_MON_PORT      monitor, msgr v2 protocol                              (required)
#   MYVID_S3_MON_V1_PORT   monitor, legacy msgr v1 protocol                       (required)
#   MYVID_S3_RGW_PORT      S3 (radosgw) HTTP port                                 (required)
#   MYVID_S3_OSD_PORTS     MIN-MAX: where the OSDs and the manager listen (each OSD takes 8
#                          ports, the manager 2; a port in use is skipped)        (required)
#   MYVID_S3_OSDS          number of OSDs (default 6, at least EC k+m = 6)
#   MYVID_S3_OSD_STORE     bluestore (default: a sparse file per OSD, data survives a restart)
#                          | memstore (in RAM, lost when the OSD dies)
#   MYVID_S3_OSD_SIZE      size of each OSD's sparse file (default 2G; only written blocks use disk)
#   MYVID_S3_TIMEOUT       seconds allowed per phase (default 90)
#   MYVID_S3_ACCESS_KEY    the S3 user's keys (defaults: fixed test keys)
#   MYVID_S3_SECRET_KEY
#   MYVID_S3_OWNER_PID     when set, watchdog.sh kills the cluster and removes BASE_DIR once that
#                          process is gone (a test binary that died without cleaning up)
#
# Durability settings, chosen so that any 2 of the 6 OSDs may be down and all S3 I/O still
# works: the EC pool's min_size is k (4; Ceph's default k+1 stops I/O at the second failure),
# the replicated RGW metadata and index pools keep 4 copies and need 2. With 3 OSDs down,
# requests to the affected placement groups hang (Ceph blocks rather than failing).
#
# On success (exit 0) all placement groups are active+clean, S3 answered a signed request
# with the user's keys, and BASE_DIR/env.sh exports MYVID_S3_ENDPOINT, MYVID_S3_ACCESS_KEY,
# MYVID_S3_SECRET_KEY, MYVID_S3_REGION, CEPH_CONF (and the same as AWS_* variables).
# Exit 75: a monitor or S3 port was taken, try again with other ports. Other failures kill
# what was started; logs stay in BASE_DIR/log.
#
# Layout: BASE_DIR/{ceph.conf,keyring,env.sh,mon/,mgr/,rgw/,run/*.pid,log/}, one directory
# per OSD: BASE_DIR/osdN/ (N from 0) with its sparse file `block` and start.sh, which starts
# that OSD again after a kill (see start-osd.sh).
set -euo pipefail
LOG_TAG=s3-up
. "$(dirname "$0")/lib.sh"

# ---- settings ---------------------------------------------------------------------------
BASE_DIR=${1:?usage: up.sh BASE_DIR}
OSDS=${MYVID_S3_OSDS:-6}
STORE=${MYVID_S3_OSD_STORE:-bluestore}
OSD_SIZE=${MYVID_S3_OSD_SIZE:-2G}
TIMEOUT=${MYVID_S3_TIMEOUT:-90}
ACCESS_KEY=${MYVID_S3_ACCESS_KEY:-MYVIDTESTACCESSKEY01}
SECRET_KEY=${MYVID_S3_SECRET_KEY:-myvid-test-secret-key-0123456789abcdef}
REGION=us-east-1
EC_K=4 EC_M=2 EC_PGS=16 REPL_PGS=8
S3_UID=myvid

port_var() { # NAME: the port in variable NAME, checked
  local value=${!1:-}
  [ -n "$value" ] || die "$1 is required"
  case $value in *[!0-9]*) die "$1: not a port: $value" ;; esac
  [ "$value" -ge 1 ] && [ "$value" -le 65535 ] || die "$1: not a port: $value"
  echo "$value"
}
MON_PORT=$(port_var MYVID_S3_MON_PORT)
MON_V1_PORT=$(port_var MYVID_S3_MON_V1_PORT)
RGW_PORT=$(port_var MYVID_S3_RGW_PORT)
OSD_PORTS=${MYVID_S3_OSD_PORTS:-}
[[ $OSD_PORTS =~ ^([0-9]+)-([0-9]+)$ ]] || die "MYVID_S3_OSD_PORTS must be MIN-MAX, not '$OSD_PORTS'"
OSD_PORT_MIN=${BASH_REMATCH[1]} OSD_PORT_MAX=${BASH_REMATCH[2]}
[ "$OSD_PORT_MIN" -ge 1024 ] && [ "$OSD_PORT_MAX" -le 65535 ] &&
  [ $((OSD_PORT_MAX - OSD_PORT_MIN + 1)) -ge $((OSDS * 8 + 2)) ] ||
  die "MYVID_S3_OSD_PORTS $OSD_PORTS: need at least $((OSDS * 8 + 2)) ports above 1023"
for p in "$MON_PORT" "$MON_V1_PORT" "$RGW_PORT"; do
  [ "$p" -lt "$OSD_PORT_MIN" ] || [ "$p" -gt "$OSD_PORT_MAX" ] || die "port $p lies in MYVID_S3_OSD_PORTS"
done
[ "$MON_PORT" != "$MON_V1_PORT" ] && [ "$MON_PORT" != "$RGW_PORT" ] && [ "$MON_V1_PORT" != "$RGW_PORT" ] ||
  die "the same port is given twice: $MON_PORT $MON_V1_PORT $RGW_PORT"
case $OSDS in '' | *[!0-9]*) die "MYVID_S3_OSDS: not a number: $OSDS" ;; esac
[ "$OSDS" -ge $((EC_K + EC_M)) ] || die "MYVID_S3_OSDS must be at least $((EC_K + EC_M))"
case $STORE in bluestore | memstore) ;; *) die "MYVID_S3_OSD_STORE must be bluestore or memstore, not $STORE" ;; esac
OSD_BYTES=$(numfmt --from=iec "$OSD_SIZE" 2>/dev/null) || die "MYVID_S3_OSD_SIZE: not a size: $OSD_SIZE"

for tool in ceph-mon ceph-mgr ceph-osd radosgw ceph radosgw-admin ceph-authtool monmaptool curl; do
  command -v "$tool" >/dev/null ||
    die "$tool not found: install ceph-mon ceph-osd ceph-mgr radosgw ceph-common curl (scripts/install-deps.sh test)"
done

mkdir -p "$BASE_DIR"
BASE_DIR=$(cd "$BASE_DIR" && pwd -P)
[ -z "$(ls -A "$BASE_DIR")" ] || die "$BASE_DIR is not empty"
touch "$BASE_DIR/.myvid-s3"   # marks the directory as ours (watchdog.sh and down.sh --purge remove only such)
mkdir -p "$BASE_DIR"/{run,log,crash,mon,mgr,rgw}

if [ -n "${MYVID_S3_OWNER_PID:-}" ]; then
  setsid "$CEPH_SCRIPTS/watchdog.sh" "$MYVID_S3_OWNER_PID" "$BASE_DIR" </dev/null >/dev/null 2>&1 &
fi

# A port somebody already listens on would only make a daemon die later: say so now.
for p in "$MON_PORT" "$MON_V1_PORT" "$RGW_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    log "port $p is already in use"
    exit "$EXIT_PORT_TAKEN"
  fi
done

failed=1
cleanup() {
  [ $failed = 1 ] || return 0
  MYVID_S3_STOP_SIGNAL=KILL "$CEPH_SCRIPTS/down.sh" "$BASE_DIR" >/dev/null 2>&1 || true
  log "failed; daemons killed, logs in $BASE_DIR/log"
}
trap cleanup EXIT

# wait_for SECS WHAT CMD...: until CMD succeeds; dies after SECS seconds. CMD's output is
# dropped; a CMD that finds waiting pointless sets `fatal` to why (or `port_taken=1`) and fails.
fatal='' port_taken=0
wait_for() {
  local deadline=$(( $(date +%s) + $1 )) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $port_taken = 0 ] || { log "$what: a port it needs is taken"; exit "$EXIT_PORT_TAKEN"; }
    [ -z "$fatal" ] || die "$fatal"
    [ "$(date +%s)" -lt $deadline ] || die "timed out waiting for $what (logs in $BASE_DIR/log)"
    sleep 0.2
  done
}

# ---- configuration and keys -------------------------------------------------------------
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$BASE_DIR/ceph.conf
cat >"$CONF" <<CONF
# MyVid test object store (written by scripts/ceph/up.sh)
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]
public network = 127.0.0.0/8
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
# one keyring with every entity's key: this cluster lives for one test
keyring = $BASE_DIR/keyring
run dir = $BASE_DIR/run
# the scripts keep their own pid files (run/NAME.pid) of the foreground daemons
pid file =
admin socket = $BASE_DIR/run/\$name.asok
log file = $BASE_DIR/log/\$name.log
crash dir = $BASE_DIR/crash
# one host: place copies and chunks on different OSDs, not hosts
osd crush chooseleaf type = 0
osd pool default size = 4
osd pool default min size = 2
osd pool default pg num = $REPL_PGS
osd pool default pgp num = $REPL_PGS
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon warn on insecure global id reclaim = false
# commit map changes at once rather than batching them for a second: setting up takes
# dozens of them
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $BASE_DIR/mon
# Every OSD is on this host: count failure reports per OSD, not per host, or a dead OSD is
# only marked down after mon_osd_report_timeout (900 s).
mon osd reporter subtree level = osd
mon osd min down reporters = 1
# the disk holding BASE_DIR may be fairly full; that is no reason to stop
mon data avail warn = 2
mon data avail crit = 1
# a killed OSD stays "in": no data moves to other OSDs while a test has it down
mon osd down out interval = 0

[mgr]
mgr data = $BASE_DIR/mgr
# only the modules Ceph always runs
mgr initial modules =
# daemons report placement group states every second (default 5): waits for active+clean
# end sooner
mgr stats period = 1

[osd]
osd data = $BASE_DIR/osd\$id
osd objectstore = $STORE
# bluestore links osdN/block to this file
bluestore block path = $BASE_DIR/osd\$id/block.img
bluestore block create = true
bluestore block size = $OSD_BYTES
memstore device bytes = $OSD_BYTES
# small: six OSDs share one test machine
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 67108864
osd op num shards = 2
osd op num threads per shard = 2
# the file-backed device counts as a disk, whose default recovery sleep makes rebuilds slow
osd recovery sleep hdd = 0
osd recovery sleep = 0

[client.rgw]
rgw data = $BASE_DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw thread pool size = 64
rgw enable usage log = false
# a clean stop (SIGTERM) finishes within 5 s
rgw exit timeout secs = 5
CONF

KEYRING=$BASE_DIR/keyring
ceph-authtool --create-keyring "$KEYRING" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$KEYRING" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
ceph-authtool "$KEYRING" --gen-key -n mgr.x --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
ceph-authtool "$KEYRING" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
for n in $(seq 0 $((OSDS - 1))); do
  ceph-authtool "$KEYRING" --gen-key -n "osd.$n" \
    --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
done

# Per OSD: its directory, a uuid and start.sh.
OSD_UUIDS=()
for n in $(seq 0 $((OSDS - 1))); do
  d=$BASE_DIR/osd$n
  mkdir -p "$d"
  OSD_UUIDS+=("$(cat /proc/sys/kernel/random/uuid)")
  printf '#!/usr/bin/env bash\n# start.sh [--wait]: start osd.%s again (see %s)\nexec %q %q %s "$@"\n' \
    "$n" "$CEPH_SCRIPTS/start-osd.sh" "$CEPH_SCRIPTS/start-osd.sh" "$BASE_DIR" "$n" >"$d/start.sh"
  chmod +x "$d/start.sh"
done
printf 'OSD_TIMEOUT=%s\n' "$TIMEOUT" >"$BASE_DIR/cluster.settings"

# ---- monitor, and the OSDs' file systems (in parallel: mkfs needs no monitor) -------------
log "creating the monitor and $OSDS $STORE OSDs"
mkfs_pids=()
for n in $(seq 0 $((OSDS - 1))); do
  ceph-osd --conf "$CONF" --name "osd.$n" --mkfs --osd-uuid "${OSD_UUIDS[n]}" --no-mon-config \
    >>"$BASE_DIR/log/osd.$n.out" 2>&1 &
  mkfs_pids+=($!)
done
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]" \
  --enable-all-features --set-min-mon-release pacific "$BASE_DIR/monmap" >/dev/null
ceph-mon --conf "$CONF" --name mon.a --mkfs --monmap "$BASE_DIR/monmap" --keyring "$KEYRING" \
  >>"$BASE_DIR/log/mon.a.out" 2>&1 || die "ceph-mon --mkfs failed (see $BASE_DIR/log/mon.a.out)"
start_daemon "$BASE_DIR" mon.a
mon_up() {
  [ -n "$(daemon_pid "$BASE_DIR" mon.a)" ] || {
    grep -qs 'Address already in use' "$BASE_DIR/log/mon.a.log" && port_taken=1
    fatal="the monitor died (see $BASE_DIR/log/mon.a.log)"
    return 1
  }
  ceph_t "$BASE_DIR" 5 mon stat
}
wait_for "$TIMEOUT" "the monitor" mon_up
log "monitor up"

# ---- OSD map entries and pools, in one ceph session -------------------------------------
{
  for n in $(seq 0 $((OSDS - 1))); do echo "osd new ${OSD_UUIDS[n]} $n"; done
  echo "osd erasure-code-profile set myvid-ec k=$EC_K m=$EC_M crush-failure-domain=osd plugin=jerasure technique=reed_sol_van"
  echo "osd pool create default.rgw.buckets.data $EC_PGS $EC_PGS erasure myvid-ec"
  # k, not k+1: I/O goes on with m OSDs down (a write then has no spare chunk until they are back)
  echo "osd pool set default.rgw.buckets.data min_size $EC_K"
  # RGW would create these when first needed; made now, they exist before any fault
  for p in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
           default.rgw.buckets.index default.rgw.buckets.non-ec; do
    echo "osd pool create $p $REPL_PGS $REPL_PGS replicated"
    echo "osd pool application enable $p rgw"
  done
  echo "osd pool application enable default.rgw.buckets.data rgw"
} >"$BASE_DIR/setup.ceph"
ceph_t "$BASE_DIR" "$TIMEOUT" <"$BASE_DIR/setup.ceph" >"$BASE_DIR/log/setup.log" 2>&1 ||
  die "setting up OSDs and pools failed (see $BASE_DIR/log/setup.log)"
log "pools created: EC k=$EC_K m=$EC_M min_size $EC_K; replicated size 4 min_size 2"

# ---- manager, OSDs, radosgw --------------------------------------------------------------
start_daemon "$BASE_DIR" mgr.x
for i in "${!mkfs_pids[@]}"; do
  wait "${mkfs_pids[i]}" || die "ceph-osd --mkfs of osd.$i failed (see $BASE_DIR/log/osd.$i.out)"
done
log "OSD file systems made"
for n in $(seq 0 $((OSDS - 1))); do start_daemon "$BASE_DIR" "osd.$n"; done
start_daemon "$BASE_DIR" client.rgw

osds_up() {
  local up
  up=$(ceph_t "$BASE_DIR" 10 osd stat 2>/dev/null | sed -n 's/.* \([0-9]*\) up.*/\1/p')
  [ "$up" = "$OSDS" ]
}
wait_for "$TIMEOUT" "$OSDS OSDs up" osds_up
log "$OSDS OSDs up"

rgw_answers() {
  [ -n "$(daemon_pid "$BASE_DIR" client.rgw)" ] || {
    grep -qs 'Address already in use' "$BASE_DIR/log/client.rgw.log" && port_taken=1
    fatal="radosgw died (see $BASE_DIR/log/client.rgw.log)"
    return 1
  }
  curl -sf -m 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/"
}
wait_for "$TIMEOUT" "radosgw on port $RGW_PORT" rgw_answers
log "radosgw answers on 127.0.0.1:$RGW_PORT"

timeout -k 2 "$TIMEOUT" radosgw-admin --conf "$CONF" user create --uid="$S3_UID" --display-name="MyVid tests" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$BASE_DIR/log/user.log" 2>&1 ||
  die "creating the S3 user failed (see $BASE_DIR/log/user.log)"
# a signed request (ListBuckets) with the new keys
signed_ok() {
  # (curl 7.88 signs only with the payload hash given in x-amz-content-sha256)
  curl -sf -m 5 -o /dev/null --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$RGW_PORT/"
}
wait_for "$TIMEOUT" "a signed S3 request to succeed" signed_ok
log "S3 user $S3_UID works"

pgs_clean() { # every placement group active+clean
  ceph_t "$BASE_DIR" 10 pg stat 2>/dev/null | grep -Eq '^([0-9]+) pgs: \1 active\+clean;'
}
wait_for "$TIMEOUT" "all placement groups active+clean" pgs_clean
log "all placement groups active+clean"

cat >"$BASE_DIR/env.sh" <<ENV
# written by scripts/ceph/up.sh; source it
export MYVID_S3_BASE_DIR=$BASE_DIR
export MYVID_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export MYVID_S3_ACCESS_KEY=$ACCESS_KEY
export MYVID_S3_SECRET_KEY=$SECRET_KEY
export MYVID_S3_REGION=$REGION
export MYVID_S3_OSDS=$OSDS
export CEPH_CONF=$CONF
export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_DEFAULT_REGION=$REGION
ENV

failed=0
log "ready: source $BASE_DIR/env.sh; S3 at http://127.0.0.1:$RGW_PORT"

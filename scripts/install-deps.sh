#!/usr/bin/env bash
# install-deps.sh [run|test] — install what MyVid needs on Debian 12, idempotently.
#   run:  ffmpeg (ffprobe checks uploads at publish)
#   test: the above, plus Debian's chromium, the client's npm packages (playwright-core)
#         and, in a virtualenv ($MYVID_VENV, default ~/.cache/myvid-venv), aiortc from
#         PyPI for the WHIP/WHEP interop tests and schemathesis for the API fuzzing
#         (scripts/api-fuzz.sh) (a virtualenv because Debian's Python refuses
#         system-wide pip installs), and MariaDB + Galera + rsync for the database tests
#         (tools/galera-harness starts its own servers on free ports, see scripts/galera),
#         and Ceph (monitor, manager, OSD, radosgw, CLI) + curl for the S3 tests
#         (tools/ceph-harness starts its own cluster on free ports, see scripts/ceph)
# Installs only what is missing; uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
venv=${MYVID_VENV:-$HOME/.cache/myvid-venv}
aiortc_version=1.16.0
schemathesis_version=4.32.5

need=()
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
if [ "$what" = test ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  # Debian splits venv's pip bootstrap into python3-venv.
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
  # mariadbd is in /usr/sbin, which is not on every user's PATH.
  [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
  [ -f /usr/lib/galera/libgalera_smm.so ] || need+=(galera-4)
  command -v rsync >/dev/null 2>&1 || need+=(rsync)
  # the test object store (scripts/ceph); the daemons live in /usr/bin
  command -v ceph-mon >/dev/null 2>&1 || need+=(ceph-mon)
  command -v ceph-osd >/dev/null 2>&1 || need+=(ceph-osd)
  command -v ceph-mgr >/dev/null 2>&1 || need+=(ceph-mgr)
  command -v radosgw >/dev/null 2>&1 || need+=(radosgw)
  { command -v ceph && command -v radosgw-admin; } >/dev/null 2>&1 || need+=(ceph-common)
  command -v curl >/dev/null 2>&1 || need+=(curl)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "install-deps: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  # mariadb-server's package scripts start the distro's own server (port 3306, the default
  # socket), and the Ceph packages start their targets and ceph-crash. The tests never use
  # them, and starting them fails in containers without an init system, which would fail
  # the whole install: so while installing, a policy-rc.d (the Debian switch for "do not
  # start services now") keeps them from starting, unless the machine already has a policy
  # of its own. A server that does run is harmless: the test servers use their own ports,
  # sockets and configuration files.
  policy=/usr/sbin/policy-rc.d
  if [[ " ${need[*]} " =~ \ (mariadb-server|ceph-mon|ceph-osd|ceph-mgr|radosgw|ceph-common)\  ]] && [ ! -e "$policy" ]; then
    trap '$sudo rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# temporary, from MyVid scripts/install-deps.sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "${policy:-}" ] && grep -qs 'from MyVid' "$policy"; then $sudo rm -f "$policy"; trap - EXIT; fi
fi

if [ "$what" = test ]; then
  command -v npm >/dev/null 2>&1 || { echo "install-deps: npm (Node.js 20) is required for the browser tests" >&2; exit 1; }
  # npm ci is exact (package-lock.json) and starts from a clean node_modules every time.
  (cd client-js && npm ci --no-audit --no-fund --loglevel=error)
  # aiortc (an independent WebRTC stack) for client-js/tests/interop: pinned, and
  # installed only when the virtualenv lacks that version.
  if [ "$("$venv/bin/python" -c 'import aiortc; print(aiortc.__version__)' 2>/dev/null)" != "$aiortc_version" ]; then
    echo "install-deps: aiortc==$aiortc_version into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "aiortc==$aiortc_version"
  fi
  # schemathesis for scripts/api-fuzz.sh: pinned, into the same virtualenv.
  if [ "$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("schemathesis"))' 2>/dev/null)" != "$schemathesis_version" ]; then
    echo "install-deps: schemathesis==$schemathesis_version into $venv" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
  fi
fi

#!/usr/bin/env bash
# install-deps.sh [run|test] — install what MyVid needs on Debian 12, idempotently.
#   run:  ffmpeg (ffprobe checks uploads at publish)
#   test: the above, plus Debian's chromium and the client's npm packages (playwright-core)
# Installs only what is missing; uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}

need=()
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
if [ "$what" = test ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "install-deps: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$what" = test ]; then
  command -v npm >/dev/null 2>&1 || { echo "install-deps: npm (Node.js 20) is required for the browser tests" >&2; exit 1; }
  # npm ci is exact (package-lock.json) and starts from a clean node_modules every time.
  (cd client-js && npm ci --no-audit --no-fund --loglevel=error)
fi

#!/usr/bin/env bash
# run.sh [myvid dev flags…] — build MyVid and serve it on http://127.0.0.1:8080 with
# embedded storage in ./myvid-data (installs ffmpeg first if it is missing).
# Example: scripts/run.sh --listen 127.0.0.1:9000 --data-dir /tmp/myvid
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh" run
exec cargo run --release --locked --manifest-path "$here/Cargo.toml" -p myvid -- dev "$@"

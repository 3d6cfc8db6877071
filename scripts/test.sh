#!/usr/bin/env bash
# test.sh — install what the tests need, then run every check and test:
# rustfmt, clippy, the Rust unit and integration tests (real server on port 0, real
# ffmpeg/ffprobe, real MariaDB and 3-node Galera clusters on free loopback ports started
# by tools/galera-harness; a real erasure-coded Ceph S3 store by tools/ceph-harness), and
# the end-to-end browser tests (headless Debian Chromium), VOD, transcoding into HLS
# and adaptive playback with hls.js, live, live with every
# role its own process on Galera, recordings (also through packet loss and an SFU
# crash), objects on Ceph S3 while OSDs fail, live through TURN,
# WHIP/WHEP interoperability with aiortc, and schemathesis over the OpenAPI document
# against a live server (scripts/api-fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

scripts/install-deps.sh test

echo "== rustfmt"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== browser end-to-end tests"
# `cargo test` has just built the binary (its integration tests run it); building it
# again with `cargo build` would resolve features differently and recompile much.
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/myvid"
[ -x "$bin" ] || { echo "test.sh: $bin was not built by cargo test" >&2; exit 1; }
(cd client-js && MYVID_BIN="$bin" npm test)
echo "== HLS player test (hls.js in Chromium on a two-rung ladder: quality menu, fallback to the original)"
(cd client-js && npm run test:hls)
echo "== transcoding end-to-end test (upload → worker → HLS ladder read by ffprobe; hls.js plays it and switches renditions in Chromium)"
(cd client-js && MYVID_BIN="$bin" npm run test:transcode)
echo "== resumable upload end-to-end test (200 MB in parts from Chromium, a page reload half way, SHA-256 checked)"
(cd client-js && MYVID_BIN="$bin" npm run test:resumable)
echo "== managing a video (edit with the 200 counter, unlisted plays by link but is listed nowhere, delete through the dialog)"
(cd client-js && MYVID_BIN="$bin" npm run test:manage)
echo "== screenshots of home, channel, watch and live, light and dark, desktop and phone (layout and accessibility checks)"
(cd client-js && MYVID_BIN="$bin" npm run test:screens)
echo "== live streaming end-to-end tests (Chromium broadcaster and viewers through the SFU)"
(cd client-js && MYVID_BIN="$bin" npm run test:live)
echo "== simulcast in the browser (three layers sent; viewers capped differently decode different layers and switch when their caps change)"
(cd client-js && MYVID_BIN="$bin" npm run test:simulcast)
echo "== recording end-to-end tests (a Chromium broadcast becomes a stored video that plays whole; with 5 % packet loss it still decodes)"
(cd client-js && MYVID_BIN="$bin" npm run test:recording)
echo "== SFU crash test (the SFU killed mid-stream: its stored segments become a video missing at most 10 s)"
(cd client-js && MYVID_BIN="$bin" npm run test:sfu-crash)
echo "== endpoint failover test (two endpoints, one killed while live)"
(cd client-js && MYVID_BIN="$bin" npm run test:failover)
echo "== live chat end-to-end test (a broadcaster and two viewers on two endpoints: rate limit, sign-in, delete, mute)"
(cd client-js && MYVID_BIN="$bin" npm run test:chat)
echo "== roles on a Galera cluster (two APIs on different database nodes, endpoint, SFU; Chromium live)"
(cd client-js && MYVID_BIN="$bin" npm run test:galera)
echo "== objects on an erasure-coded Ceph S3 store while OSDs fail (Chromium playback and upload)"
(cd client-js && MYVID_BIN="$bin" npm run test:s3)
echo "== TURN end-to-end test (a relay-only Chromium viewer through the endpoint's TURN server)"
(cd client-js && MYVID_BIN="$bin" npm run test:turn)
echo "== live notifications end-to-end test (myvid dev + myvid api on one data dir, Chromium)"
(cd client-js && MYVID_BIN="$bin" npm run test:notify)
echo "== WHIP/WHEP interoperability tests (aiortc publisher and viewer, Chromium)"
(cd client-js && MYVID_BIN="$bin" PYTHON="${MYVID_VENV:-$HOME/.cache/myvid-venv}/bin/python" npm run test:interop)
echo "== API fuzzing (schemathesis over /v1/openapi.json, every operation, every check)"
MYVID_BIN="$bin" scripts/api-fuzz.sh

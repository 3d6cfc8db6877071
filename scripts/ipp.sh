#!/usr/bin/env bash
# Instructions per forwarded packet of the media plane, from callgrind: a figure that
# does not move with the load on this shared machine (it has no hardware counters for
# `perf stat`). Runs sfu/benches/ipp.rs (one publisher and N viewers on the virtual-time
# network, real ICE/DTLS/SRTP through rtc) under callgrind twice, with F and 2F measured
# frames, counting only inside the plane's own functions; the difference divided by the
# difference in forwarded packets leaves out set-up and warm-up.
#
#   scripts/ipp.sh [viewers] [frames]        (defaults 200 and 150)
#
# Prints one line: viewers=… forwarded=… ir_per_pkt=… allocs_per_pkt=…
# Needs valgrind (apt-get install valgrind). Caveat: valgrind 3.19 does not emulate
# AVX-512 or VAES, so AES runs its AES-NI path under callgrind: compare builds with each
# other, not instruction counts with wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
viewers=${1:-200}
frames=${2:-150}
command -v valgrind >/dev/null || { echo "ipp.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
bin=$(cargo bench --locked --no-run -p myvid-sfu --bench ipp --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "ipp" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "ipp.sh: the ipp bench did not build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Callgrind counts inside these, the plane's entry points. A toggle flips collection on
# entry and exit, so none of them may call another (a wildcard such as `MediaPlane::*`
# would match `flush` inside `poll_transmit` and switch counting off there).
toggles=()
for f in handle_datagram handle_timeout poll_transmit poll_event poll_timeout; do
  toggles+=("--toggle-collect=myvid_sfu::media::plane::MediaPlane::$f")
done

# run FRAMES: prints "<instructions> <forwarded> <allocations>"
run() {
  local out="$work/cg.$1"
  local line
  line=$(valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no "${toggles[@]}" \
    "$bin" "$viewers" "$1" 2>/dev/null | grep '^viewers=')
  local ir fwd allocs
  ir=$(sed -n 's/^totals: //p' "$out")
  fwd=$(sed 's/.*forwarded=\([0-9]*\).*/\1/' <<<"$line")
  allocs=$(sed 's/.*allocations=\([0-9]*\).*/\1/' <<<"$line")
  echo "$ir $fwd $allocs"
}
read -r ir1 fwd1 al1 < <(run "$frames")
read -r ir2 fwd2 al2 < <(run $((frames * 2)))
python3 - "$viewers" "$ir1" "$fwd1" "$al1" "$ir2" "$fwd2" "$al2" <<'PY'
import sys
viewers, ir1, fwd1, al1, ir2, fwd2, al2 = map(int, sys.argv[1:])
fwd = fwd2 - fwd1
if fwd <= 0:
    sys.exit("ipp.sh: the longer run forwarded no more packets")
print(f"viewers={viewers} forwarded={fwd} ir_per_pkt={(ir2 - ir1) / fwd:.0f} allocs_per_pkt={(al2 - al1) / fwd:.2f}")
PY

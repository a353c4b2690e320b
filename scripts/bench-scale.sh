#!/usr/bin/env bash
# Measures lint and plan at several sizes of the synthetic domain (examples/gen_workspace.rs):
#   lint       - vnext lint --no-cache (every file read, parsed and validated: a CI run)
#   initial    - rm -rf generated .vnext-cache; vnext plan (the new domain, nothing cached)
#   no-op      - vnext plan with nothing changed (warm .vnext-cache; the committed migration
#                has settled, so its checksum is remembered)
#   one-change - flow-00000@1.1.0.json (one workflow, a new version) added, vnext plan; then
#                the new migration removed and state.json and vnext.sum restored (the committed
#                migration itself is never touched, as in a checkout that adds one file)
# Every run prints one line: op, workflows, binary, wall s, user s, sys s, peak RSS MB.
# Usage: scripts/bench-scale.sh [SIZES...]   (default 100 1000 5000 10000)
# RUNS (default 2) runs of each; VNEXT (default target/release/vnext) is the binary; with
# VNEXT_B set, the two binaries run alternately (A, B, A, B, ...), each on its own copy of the
# same generated workspace (their caches have different keys and would evict each other).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-$(mktemp -d)}
runs=${RUNS:-2}
a=${VNEXT:-target/release/vnext}
binaries=("$a")
[ -n "${VNEXT_B:-}" ] && binaries+=("$VNEXT_B")
[ -x target/release/examples/gen_workspace ] || cargo build --release --quiet --example gen_workspace
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 5000 10000)

timed() { # op size binary command...
  local op=$1 size=$2 bin=$3
  shift 3
  /usr/bin/time -f "%e %U %S %M" "$@" 2>&1 >/dev/null | tail -n 1 |
    awk -v op="$op" -v n="$size" -v bin="$bin" '{ printf "%-10s %6d %s %6.2f s  user %6.2f  sys %5.2f  %5.0f MB\n", op, n, bin, $1, $2, $3, $4/1024 }'
}

for size in "${sizes[@]}"; do
  src="$work/ws-$size"
  [ -d "$src" ] || target/release/examples/gen_workspace --workflows "$size" --out "$src" >/dev/null
  flow=core/Workflows/group-000/flow-00000.json
  sed -e '0,/"version": "1.0.0"/s//"version": "1.1.0"/' -e 's/Workflow 0"/Workflow 0, revised"/' "$src/$flow" > "$work/flow-00000@1.1.0.json"
  for i in "${!binaries[@]}"; do
    rm -rf "$work/ws-$size-$i" && cp -r "$src" "$work/ws-$size-$i"
    rm -rf "$work/ws-$size-$i/generated" "$work/ws-$size-$i/.vnext-cache"
  done
  each() { # op command-for-binary-i...
    local op=$1
    shift
    for run in $(seq "$runs"); do
      for i in "${!binaries[@]}"; do
        "$@" "$op" "$i" "$work/ws-$size-$i"
      done
    done
  }
  lint() { timed "$1" "$size" "${binaries[$2]}" "${binaries[$2]}" lint --no-cache -C "$3"; }
  initial() {
    rm -rf "$3/generated" "$3/.vnext-cache"
    timed "$1" "$size" "${binaries[$2]}" "${binaries[$2]}" plan -C "$3"
  }
  noop() { timed "$1" "$size" "${binaries[$2]}" "${binaries[$2]}" plan -C "$3"; }
  change() {
    local gen="$3/generated/bench"
    cp "$work/flow-00000@1.1.0.json" "$3/core/Workflows/group-000/"
    timed "$1" "$size" "${binaries[$2]}" "${binaries[$2]}" plan -C "$3"
    rm "$3/core/Workflows/group-000/flow-00000@1.1.0.json" "$gen"/0002_*.sql
    cp "$3/state.json.saved" "$gen/state.json"
    cp "$3/vnext.sum.saved" "$gen/vnext.sum"
  }
  each lint lint
  each initial initial
  sleep 3 # the migration settles; a warm-up plan of each binary fills its caches
  for i in "${!binaries[@]}"; do
    "${binaries[$i]}" plan -C "$work/ws-$size-$i" >/dev/null
    cp "$work/ws-$size-$i/generated/bench/state.json" "$work/ws-$size-$i/state.json.saved"
    cp "$work/ws-$size-$i/generated/bench/vnext.sum" "$work/ws-$size-$i/vnext.sum.saved"
  done
  each no-op noop
  each one-change change
  for i in "${!binaries[@]}"; do rm -rf "$work/ws-$size-$i"; done
done

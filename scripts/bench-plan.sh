#!/usr/bin/env bash
# Measures `vnext plan` on a synthetic domain of 1,000 workflows (5,000 components):
#   initial   - planning the new domain (generated/ empty)
#   no-op     - planning again with nothing changed
#   one-change- planning after one workflow got a new version
# Prints the median wall time and peak memory of 5 runs each (after one warm-up run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin vnext --example gen_workspace
work=${BENCH_DIR:-$(mktemp -d)}
ws="$work/ws-plan"
rm -rf "$ws"
target/release/examples/gen_workspace --workflows 1000 --out "$ws" >/dev/null
vnext=target/release/vnext

median() {
  sort -n | awk -v label="$1" 'NR==3 { printf "plan %-10s median %.2f s, peak %.0f MB\n", label, $1, $2/1024 }'
}

$vnext plan -C "$ws" >/dev/null
for run in 1 2 3 4 5; do
  rm -rf "$ws/generated"
  /usr/bin/time -f "%e %M" $vnext plan -C "$ws" 2>&1 >/dev/null | tail -n 1
done | median initial
cp -r "$ws/generated" "$work/generated.initial"

$vnext plan -C "$ws" >/dev/null
for run in 1 2 3 4 5; do
  /usr/bin/time -f "%e %M" $vnext plan -C "$ws" 2>&1 >/dev/null | tail -n 1
done | median no-op

flow="$ws/core/Workflows/group-000/flow-00000.json"
sed -e '0,/"version": "1.0.0"/s//"version": "1.1.0"/' -e 's/Workflow 0"/Workflow 0, revised"/' "$flow" > "$work/flow-00000@1.1.0.json"
for run in 0 1 2 3 4 5; do
  rm -rf "$ws/generated" && cp -r "$work/generated.initial" "$ws/generated"
  cp "$work/flow-00000@1.1.0.json" "$ws/core/Workflows/group-000/"
  /usr/bin/time -f "%e %M" $vnext plan -C "$ws" 2>&1 >/dev/null | tail -n 1
  rm "$ws/core/Workflows/group-000/flow-00000@1.1.0.json"
done | tail -n 5 | median one-change

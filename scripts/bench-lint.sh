#!/usr/bin/env bash
# Measures `vnext lint` on synthetic workspaces of 5,000 and 50,000 components, without the
# cache (every file read, parsed and validated: a CI run) and with a warm cache (pre-commit).
# Prints the median wall time and peak memory of 5 runs each (after one warm-up run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin vnext --example gen_workspace
work=${BENCH_DIR:-$(mktemp -d)}
for workflows in 1000 10000; do
  ws="$work/ws-$workflows"
  [ -d "$ws" ] || target/release/examples/gen_workspace --workflows "$workflows" --out "$ws" >/dev/null
  for mode in --no-cache cached; do
    flag=$([ "$mode" = cached ] && echo "" || echo "--no-cache")
    target/release/vnext lint $flag -C "$ws" >/dev/null
    for run in 1 2 3 4 5; do
      /usr/bin/time -f "%e %M" target/release/vnext lint $flag -C "$ws" 2>&1 >/dev/null | tail -n 1
    done | sort -n | awk -v n=$((workflows * 5)) -v mode="$mode" \
      'NR==3 { printf "lint %6d components (%s): median %.2f s, peak %.0f MB\n", n, mode, $1, $2/1024 }'
  done
done

#!/usr/bin/env bash
# Measures `vnext lint` on one 600 KB YAML workflow with 2,000 errors (1,000 states, each with a
# misspelt key and, on its transition or as its sub type, an invalid value), in human and JSON
# output. Prints the median wall time and peak memory of 5 runs each (after one warm-up run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin vnext
ws=${BENCH_DIR:-$(mktemp -d)}/errors
if [ ! -d "$ws" ]; then
  mkdir -p "$ws/core/Workflows"
  echo '{"domain": "bench", "paths": {"componentsRoot": "core"}}' >"$ws/vnext.config.json"
  {
    printf 'key: errors\nversion: "1.0.0"\ndomain: bench\nflow: sys-flows\nflowVersion: "1.0.0"\n'
    printf 'tags: [bench]\nattributes:\n  type: F\n  labels:\n    - label: A workflow full of mistakes\n'
    printf '      language: en\n  startTransition:\n    key: start\n    target: s-0\n    triggerType: 0\n'
    printf '    versionStrategy: Major\n    labels:\n      - label: Start\n        language: en\n  states:\n'
    awk -v n=1000 'BEGIN {
      for (i = 0; i < n; i++) {
        printf "    - key: s-%d\n      stateType: %d\n      versionStrategy: Major\n", i, (i == 0 ? 1 : (i == n - 1 ? 3 : 2))
        printf "      labels:\n        - label: State number %d of the benchmark workflow, with a realistic label\n", i
        printf "          language: en\n        - label: Durum %d, karsilastirma icin uzun bir etiket\n          language: tr\n", i
        printf "      descripton: this key is misspelt on purpose\n"
        if (i < n - 1) {
          printf "      transitions:\n        - key: next-%d\n          target: s-%d\n          triggerType: 0\n", i, i + 1
          printf "          versionStrategy: Majr\n          labels:\n"
          printf "            - label: Go on to the next state of the benchmark\n              language: en\n"
          printf "            - label: Sonraki duruma gec\n              language: tr\n"
        } else {
          printf "      subType: 11\n"
        }
      }
    }'
  } >"$ws/core/Workflows/errors.yaml"
fi
echo "$(wc -c <"$ws/core/Workflows/errors.yaml") bytes, $(target/release/vnext lint --no-cache -C "$ws" | tail -n 1 || true)"
for format in human json; do
  target/release/vnext lint --no-cache --format "$format" -C "$ws" >/dev/null || true
  for run in 1 2 3 4 5; do
    # lint exits 1 (the file has errors); time's own line is the last one.
    { /usr/bin/time -f "%e %M" target/release/vnext lint --no-cache --format "$format" -C "$ws" 2>&1 >/dev/null || true; } | tail -n 1
  done | sort -n | awk -v format="$format" \
    'NR==3 { printf "lint, 2,000 errors in one file (%s): median %.2f s, peak %.0f MB\n", format, $1, $2/1024 }'
done

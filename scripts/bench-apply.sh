#!/usr/bin/env bash
# Measures `vnext apply` and `vnext drift` on a synthetic domain (default 1,000 workflows,
# 5,000 components; WORKFLOWS=300 for the smaller one):
#   initial  - `vnext apply` of platform + domain on an empty database, against
#              `psql -X -v ON_ERROR_STOP=1 -f` running the same files on another one
#              (RUNS rounds, default 3; the order alternates each round)
#   no-op    - `vnext apply` again with nothing pending (5 runs, median)
#   drift    - `vnext drift` on that database, cold (--no-cache) and warm (its cache filled by
#              one run before), 5 runs each, median
# SESSIONS=N passes --sessions N to vnext apply (default: its own choice); VNEXT_BIN=<path>
# measures another vnext binary.
# Needs PostgreSQL at $VNEXT_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
runs=${RUNS:-3}
source "$(dirname "$0")/bench-workspace.sh"
sessions=()
[ -n "${SESSIONS:-}" ] && sessions=(--sessions "$SESSIONS")
# The workspace's copy of the platform migrations (with the migration plan added there for
# the domain's runtime release) and the domain's: the files apply runs, in its order.
files=()
for f in "$ws"/generated/platform/0*.sql "$ws"/generated/bench/0*.sql; do files+=(-f "$f"); done

fresh() {
  psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" -c "CHECKPOINT"
}

now() { date +%s.%N; }

run_psql() {
  fresh vnext_bench_psql
  local start end
  start=$(now)
  psql -X -q -v ON_ERROR_STOP=1 -d "$base/vnext_bench_psql" "${files[@]}" >/dev/null
  end=$(now)
  awk "BEGIN { print $end - $start }" >> "$work/psql.times"
}

run_vnext() {
  fresh vnext_bench_apply
  local start end
  start=$(now)
  DATABASE_URL="$base/vnext_bench_apply" "$vnext" apply -q -C "$ws" "${sessions[@]}" >/dev/null
  end=$(now)
  awk "BEGIN { print $end - $start }" >> "$work/vnext.times"
}

# Whoever runs second pays for the first one's checkpoint and dropped database, so the order
# alternates; the medians are compared.
rm -f "$work/psql.times" "$work/vnext.times"
for run in $(seq 1 "$runs"); do
  if [ $((run % 2)) = 1 ]; then run_vnext; run_psql; else run_psql; run_vnext; fi
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "$workflows workflows, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "initial psql -f runs: $(paste -sd' ' "$work/psql.times")"
echo "initial vnext apply runs: $(paste -sd' ' "$work/vnext.times")"
paste "$work/vnext.times" "$work/psql.times" | awk '{ printf "%.2f ", $1 / $2 } END { print "(ratio of each round)" }'
awk -v p="$(median "$work/psql.times")" -v a="$(median "$work/vnext.times")" 'BEGIN { printf "initial: median psql -f %.1f s, vnext apply %.1f s (ratio %.2f)\n", p, a, a / p }'

for run in 1 2 3 4 5; do
  /usr/bin/time -f "%e" env DATABASE_URL="$base/vnext_bench_apply" "$vnext" apply -q -C "$ws" 2>&1 >/dev/null | tail -n 1
done | sort -n | awk 'NR==3 { printf "no-op apply: median %.2f s\n", $1 }'

# drift cold (every layout's expected side built on the server), then warm (from the cache
# in the workspace's .vnext-cache/, filled by the first warm run, which is not counted).
DATABASE_URL="$base/vnext_bench_apply" "$vnext" drift -C "$ws" >/dev/null
for kind in cold warm; do
  flags=(--no-cache)
  [ "$kind" = warm ] && flags=(-C "$ws")
  for run in 1 2 3 4 5; do
    /usr/bin/time -f "%e" env DATABASE_URL="$base/vnext_bench_apply" "$vnext" drift "${flags[@]}" 2>&1 >/dev/null | tail -n 1
  done | sort -n | tee "$work/drift-$kind.times" | awk -v kind="$kind" 'NR==3 { printf "drift %s: median %.2f s\n", kind, $1 }'
  echo "drift $kind runs: $(paste -sd' ' "$work/drift-$kind.times")"
done

[ -n "${KEEP:-}" ] || psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS vnext_bench_psql WITH (FORCE)" -c "DROP DATABASE IF EXISTS vnext_bench_apply WITH (FORCE)"

#!/usr/bin/env bash
# Measures `vnext apply` and `vnext drift` on a database of 1,000 workflows (5,000 components):
#   initial  - `vnext apply` of platform + domain on an empty database, against
#              `psql -X -v ON_ERROR_STOP=1 -f` running the same two files on another one
#   no-op    - `vnext apply` again with nothing pending (5 runs, median)
#   drift    - `vnext drift` on that database (5 runs, median)
# Needs PostgreSQL at $VNEXT_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin vnext --example gen_workspace
server=${VNEXT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
base=${server%/*}
work=${BENCH_DIR:-$(mktemp -d)}
ws="$work/ws-apply"
[ -d "$ws/generated" ] || {
  rm -rf "$ws"
  target/release/examples/gen_workspace --workflows 1000 --out "$ws" >/dev/null
  target/release/vnext plan --no-cache -C "$ws" >/dev/null
}
vnext=$PWD/target/release/vnext
platform=$(mktemp -d)
# The built-in platform migration, as a file psql can run.
cp generated/platform/0001_initial.sql "$platform/"

fresh() {
  psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" -c "CHECKPOINT"
}

seconds() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -n 1; }

run_psql() {
  fresh vnext_bench_psql
  start=$(date +%s.%N)
  psql -X -q -v ON_ERROR_STOP=1 -d "$base/vnext_bench_psql" -f "$platform/0001_initial.sql" -f "$ws"/generated/bench/0001_*.sql >/dev/null
  end=$(date +%s.%N)
  awk "BEGIN { print $end - $start }" >> "$work/psql.times"
}

run_vnext() {
  fresh vnext_bench_apply
  DATABASE_URL="$base/vnext_bench_apply" seconds "$vnext" apply -C "$ws" >> "$work/vnext.times"
}

# Whoever runs second pays for the first one's checkpoint and dropped database, so the order
# alternates; the medians are compared.
rm -f "$work/psql.times" "$work/vnext.times"
for run in 1 2 3; do
  if [ $((run % 2)) = 1 ]; then run_vnext; run_psql; else run_psql; run_vnext; fi
done
psql_median=$(sort -n "$work/psql.times" | sed -n 2p)
vnext_median=$(sort -n "$work/vnext.times" | sed -n 2p)
echo "initial psql -f runs: $(sort -n "$work/psql.times" | tr '\n' ' ')"
echo "initial vnext apply runs: $(sort -n "$work/vnext.times" | tr '\n' ' ')"
awk -v p="$psql_median" -v a="$vnext_median" 'BEGIN { printf "initial: median psql -f %.1f s, vnext apply %.1f s (ratio %.2f)\n", p, a, a / p }'

for run in 1 2 3 4 5; do
  DATABASE_URL="$base/vnext_bench_apply" seconds "$vnext" apply -C "$ws"
done | sort -n | awk 'NR==3 { printf "no-op apply: median %.2f s\n", $1 }'

for run in 1 2 3 4 5; do
  DATABASE_URL="$base/vnext_bench_apply" seconds "$vnext" drift
done | sort -n | awk 'NR==3 { printf "drift: median %.2f s\n", $1 }'

psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS vnext_bench_psql WITH (FORCE)" -c "DROP DATABASE IF EXISTS vnext_bench_apply WITH (FORCE)"

#!/usr/bin/env bash
# Measures `vnext drift` beside migra on a synthetic domain (default 1,000 workflows):
#   live   - a database built by `vnext apply` (platform + domain)
#   fresh  - a database built from the same files by `psql -X -v ON_ERROR_STOP=1 -f`
#   migra  - `migra --unsafe <live> <fresh>`: migra comparing the live database with the fresh
#            one (what it would change to make live match fresh)
#   drift  - `vnext drift` on the live database: cold (`--no-cache`: every layout's expected
#            side built on the server), and warm (from `.vnext-cache/drift/`, after one run
#            that filled it)
# The three are run in turn, RUNS rounds (default 5), the order rotating each round; each run
# is timed by /usr/bin/time (wall seconds, user CPU seconds, peak KB). migra is installed into
# target/migra-venv with pinned versions (it is deprecated; SQLAlchemy 2 needs the
# postgresql+psycopg2 URL). KEEP=1 keeps both databases, and then reuses them next time.
# BENCH_DIR=<dir> keeps the generated workspace between runs; VNEXT_BIN=<path> measures another
# vnext binary (one without --no-cache then runs cold every time). DB_PREFIX=<name> names the
# two databases (default vnext_bench_drift). MIGRA=0 leaves migra out (it takes minutes at
# 1,000 workflows): then MIGRA_MEDIAN=<seconds>, an earlier median, gives the ratios.
# The warm runs read the live schemas from `.vnext-cache/drift/` too: a schema an earlier run
# found settled is not described while its change stamp is the same.
# Needs PostgreSQL at $VNEXT_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
runs=${RUNS:-5}
source "$(dirname "$0")/bench-workspace.sh"

venv=$PWD/target/migra-venv
[ "${MIGRA:-1}" = 0 ] || [ -x "$venv/bin/migra" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q migra==3.0.1663481299 schemainspect==3.1.1663587362 \
    sqlbag==0.1.1617247075 SQLAlchemy==2.1.9 psycopg2-binary==2.9.13
}

prefix=${DB_PREFIX:-vnext_bench_drift}
live=${prefix}_live_$workflows
fresh=${prefix}_fresh_$workflows
with_migra=${MIGRA:-1}
exists() { [ "$(psql -X -At -d "$server" -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
fresh_db() {
  psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}
if ! exists "$live" || [ -z "${KEEP:-}" ]; then
  fresh_db "$live"
  DATABASE_URL="$base/$live" "$vnext" apply -q -C "$ws" >/dev/null
fi
if [ "$with_migra" != 0 ] && { ! exists "$fresh" || [ -z "${KEEP:-}" ]; }; then
  fresh_db "$fresh"
  # The files apply ran: the workspace's platform copy, then the domain's.
  files=()
  for f in "$ws"/generated/platform/0*.sql "$ws"/generated/bench/0*.sql; do files+=(-f "$f"); done
  psql -X -q -v ON_ERROR_STOP=1 -d "$base/$fresh" "${files[@]}" >/dev/null
fi
psql -X -q -d "$server" -c "CHECKPOINT"

migra_url() { echo "${base/postgres:\/\//postgresql+psycopg2://}/$1"; }
timed() { # name, command...: appends "wall user KB exit" to $work/<name>.times
  local name=$1 status=0
  shift
  /usr/bin/time -q -o "$work/$name.last" -f '%e %U %M' "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  echo "$(cat "$work/$name.last") $status" >>"$work/$name.times"
}
run_migra() { [ "$with_migra" != 0 ] || return 0; timed migra "$venv/bin/migra" --unsafe "$(migra_url "$live")" "$(migra_url "$fresh")"; }
run_cold() { timed cold env DATABASE_URL="$base/$live" "$vnext" drift --no-cache; }
run_warm() { timed warm env DATABASE_URL="$base/$live" "$vnext" drift -C "$ws"; }

rm -f "$work"/{first,migra,cold,warm}.times
rm -rf "$ws/.vnext-cache/drift"
# The first run with the cache empty fills it (and is timed on its own).
timed first env DATABASE_URL="$base/$live" "$vnext" drift -C "$ws"
for run in $(seq 1 "$runs"); do
  case $((run % 3)) in
    1) run_migra; run_cold; run_warm ;;
    2) run_cold; run_warm; run_migra ;;
    0) run_warm; run_migra; run_cold ;;
  esac
done

echo "$workflows workflows, load average $(cut -d' ' -f1-3 /proc/loadavg)"
summary() { # name: runs, then the range and median of wall and user seconds
  sort -n "$work/$1.times" | awk -v name="$1" '
    { wall[NR] = $1; user[NR] = $2; kb[NR] = $3; code[NR] = $4; line = line sprintf("%s ", $1) }
    END {
      m = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
      printf "%-6s wall %s- %s s (median %.2f), runs: %s\n", name, wall[1], wall[NR], m, line
    }'
  awk '{ printf "%s/%s/%s/exit %s  ", $1, $2, $3, $4 } END { print "(wall s/user s/peak KB/exit, in run order)" }' "$work/$1.times"
}
echo "first vnext drift (cache empty, filled): $(cat "$work/first.times")  (wall s, user s, peak KB, exit)"
summary cold
summary warm
[ "$with_migra" = 0 ] || summary migra
median() { cut -d' ' -f1 "$work/$1.times" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
if [ "$with_migra" != 0 ]; then m=$(median migra); else m=${MIGRA_MEDIAN:-}; fi
[ -z "$m" ] || awk -v m="$m" -v c="$(median cold)" -v w="$(median warm)" \
  'BEGIN { printf "ratio of medians to migra: vnext drift cold %.3f, warm %.3f\n", c / m, w / m }'
echo "vnext drift exit codes: $(awk '{ print $4 }' "$work/cold.times" "$work/warm.times" | sort | uniq -c | tr '\n' ' ')(0: no drift)"
[ "$with_migra" = 0 ] || echo "migra output: $(wc -l <"$work/migra.out") lines, exit codes $(awk '{ print $4 }' "$work/migra.times" | sort | uniq -c | tr '\n' ' ')(0: no differences, 2: differences)"
if [ -s "$work/migra.out" ]; then echo "migra's first lines:"; head -n 5 "$work/migra.out"; fi
if [ -s "$work/migra.err" ]; then echo "migra's error output:"; tail -n 5 "$work/migra.err"; fi

[ -n "${KEEP:-}" ] || psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS $live WITH (FORCE)" -c "DROP DATABASE IF EXISTS $fresh WITH (FORCE)"

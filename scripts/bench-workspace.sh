# Sourced by bench-apply.sh and bench-drift.sh (with `runs` defaulted by the caller): builds the
# release binaries and sets `server`, `base`, `workflows`, `work`, `ws` (a synthetic domain of
# WORKFLOWS workflows, generated and planned once per BENCH_DIR) and `vnext` (VNEXT_BIN or
# this checkout's release build).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet --bin vnext --example gen_workspace
server=${VNEXT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
base=${server%/*}
workflows=${WORKFLOWS:-1000}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
ws="$work/ws-apply-$workflows"
[ -d "$ws/generated" ] || {
  rm -rf "$ws"
  target/release/examples/gen_workspace --workflows "$workflows" --out "$ws" >/dev/null
  target/release/vnext plan --no-cache -C "$ws" >/dev/null
}
vnext=${VNEXT_BIN:-$PWD/target/release/vnext}

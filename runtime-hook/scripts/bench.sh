#!/usr/bin/env bash
# Runtime hook overhead: wall-clock table (examples/bench.rs) and, when
# valgrind is installed, instructions per uncontended lock+unlock, which do
# not depend on machine load. Output is Markdown for BENCHMARKS-hook.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
REG="${LOCKLENS_DEBIAN_REGISTRY:-/usr/share/cargo/registry}"
DEBIAN=(--config 'source.crates-io.replace-with="debian"' --config "source.debian.directory=\"$REG\"")
FEATURES=()
if compgen -G "$REG/parking_lot-[0-9]*" >/dev/null; then FEATURES=(--features parking_lot); fi
cargo build --offline --release --example bench "${FEATURES[@]}" "${DEBIAN[@]}" >&2
BIN="$CARGO_TARGET_DIR/release/examples/bench"

echo "command: \`bash runtime-hook/scripts/bench.sh\` (BENCH_ROUNDS=${BENCH_ROUNDS:-8})"; echo; echo "date: $(date -u +%Y-%m-%dT%H:%MZ), nproc: $(nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), rustc: $(rustc --version | cut -d' ' -f2), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
BENCH_ROUNDS="${BENCH_ROUNDS:-8}" "$BIN" 2>/dev/null
echo

if command -v valgrind >/dev/null; then
  ir() { BENCH_ONLY=$2 BENCH_OPS=$3 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" --mode "$1" 2>&1 \
           | awk '/Collected/ {gsub(",", "", $4); print $4}'; }
  modes=(std off on)
  [ ${#FEATURES[@]} -gt 0 ] && modes+=(pl pl-off pl-on)
  echo "| mode | instructions per uncontended lock+unlock (valgrind) |"
  echo "| --- | ---: |"
  for m in "${modes[@]}"; do
    a=$(ir "$m" uncontended 10000); b=$(ir "$m" uncontended 30000)
    # 15 runs of (30000 - 10000) more operations
    echo "| $m | $(( (b - a) / (20000 * 15) )) |"
  done
fi
